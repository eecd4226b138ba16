#include "packed_blobs.h"

#include "core/trace_text.h"

static_assert(std::endian::native == std::endian::little, "packed blobs are read and written in host order");

namespace nettwin::server {

PackedCount count_packed(std::string_view blob, size_t max_frames) {
  PackedCount out;
  size_t offset = 0;
  while (offset < blob.size()) {
    // Built only for an error: the walk itself allocates nothing.
    auto where = [&] { return "packed record " + std::to_string(out.frames) + " at byte offset " + std::to_string(offset); };
    if (out.frames == max_frames) {
      out.error = where() + ": more than " + std::to_string(max_frames) + " frames in one blob";
      return out;
    }
    if (blob.size() - offset < kPackedLengthBytes) {
      out.error = where() + ": its length is cut short (" + std::to_string(blob.size() - offset) +
                  " bytes left, a length takes 4)";
      return out;
    }
    uint32_t len;
    std::memcpy(&len, blob.data() + offset, sizeof len);
    if (len == 0) {
      out.error = where() + ": zero length";
      return out;
    }
    const size_t left = blob.size() - offset - kPackedLengthBytes;
    if (len > left) {
      out.error = where() + ": length " + std::to_string(len) + " runs past the end of the blob (" +
                  std::to_string(left) + " bytes left)";
      return out;
    }
    offset += kPackedLengthBytes + len;
    ++out.frames;
  }
  return out;
}

namespace {
template <class T>
void append_number(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}
}  // namespace

void append_packed_wire(std::string& out, int32_t ifindex, uint64_t time_ns, std::span<const uint8_t> frame) {
  append_number(out, static_cast<uint32_t>(frame.size()));
  append_number(out, ifindex);
  append_number(out, time_ns);
  out.append(reinterpret_cast<const char*>(frame.data()), frame.size());
}

void append_packed_event(std::string& out, const TraceEvent& event) {
  const size_t start = out.size();
  append_number(out, uint32_t{0});  // the length, filled in below
  append_number(out, event.time_ns);
  append_number(out, event.skb);
  append_number(out, static_cast<uint16_t>(event.name.size()));
  out += event.name;
  append_number(out, static_cast<uint16_t>(event.fields.size()));
  for (const auto& [key, value] : event.fields) {
    append_number(out, static_cast<uint16_t>(key.size()));
    out += key;
    append_number(out, static_cast<uint32_t>(value.size()));
    out += value;
  }
  const uint32_t len = static_cast<uint32_t>(out.size() - start - 4);
  std::memcpy(out.data() + start, &len, 4);
}

void append_packed_record(std::string& out, const TraceRecord& record) {
  const size_t start = out.size();
  append_number(out, uint32_t{0});  // the length, filled in below
  append_number(out, record.time_ns());
  append_number(out, record.skb());
  const size_t name_at = out.size();
  append_number(out, uint16_t{0});
  if (record.checkpoint()) out += "checkpoint:";
  out += record.point_name();
  const uint16_t name_len = static_cast<uint16_t>(out.size() - name_at - 2);
  std::memcpy(out.data() + name_at, &name_len, 2);
  append_number(out, static_cast<uint16_t>(record.size()));
  for (const TraceField& field : record) {
    const size_t key_len = std::strlen(field.name);
    append_number(out, static_cast<uint16_t>(key_len));
    out.append(field.name, key_len);
    const size_t value_at = out.size();
    append_number(out, uint32_t{0});  // the value's length, filled in once it is written
    append_trace_field_text(out, field);
    const uint32_t value_len = static_cast<uint32_t>(out.size() - value_at - 4);
    std::memcpy(out.data() + value_at, &value_len, 4);
  }
  const uint32_t len = static_cast<uint32_t>(out.size() - start - 4);
  std::memcpy(out.data() + start, &len, 4);
}

}  // namespace nettwin::server
