#include "packed_blobs.h"

#include "core/trace_text.h"
#include "reply_budget.h"

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
template <class T>
char* put_number(char* p, T value) {
  std::memcpy(p, &value, sizeof value);
  return p + sizeof value;
}
// Copies n bytes 16 at a time: from a source padded for it, into room with
// 16 bytes to spare.
char* put_padded(char* p, const char* from, size_t n) {
  for (size_t i = 0; i < n; i += 16) std::memcpy(p + i, from + i, 16);
  return p + n;
}
constexpr std::string_view kCheckpointPrefix = "checkpoint:";

// A TraceRecord read the way a StoredRecordView reads.
class RecordParts {
 public:
  explicit RecordParts(const TraceRecord& r) : r_(r) {}
  bool checkpoint() const { return r_.checkpoint(); }
  const char* point_name() const { return r_.point_name(); }
  uint64_t time_ns() const { return r_.time_ns(); }
  uint64_t skb() const { return r_.skb(); }
  size_t size() const { return r_.size(); }
  const char* key(size_t i) const { return r_[i].name; }
  size_t text_room() const {
    size_t n = 0;
    for (const TraceField& f : r_) n += trace_field_text_max(f);
    return n;
  }
  template <class Fn>
  void for_each_field(Fn&& fn) const {
    for (size_t i = 0; i < r_.size(); ++i) fn(i, r_[i]);
  }

 private:
  const TraceRecord& r_;
};
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

template <class R>
const PackedRecordWriter::Shape& PackedRecordWriter::shape_of(const R& record) {
  Shape& shape = shapes_[(reinterpret_cast<uintptr_t>(record.point_name()) >> 3) % kShapes];
  bool same = shape.point == record.point_name() && shape.checkpoint == record.checkpoint() &&
              shape.fields == record.size();
  for (size_t i = 0; same && i < record.size(); ++i) same = shape.keys[i] == record.key(i);
  if (same) return shape;
  shape.point = record.point_name();
  shape.checkpoint = record.checkpoint();
  shape.fields = record.size();
  const size_t point_len = std::strlen(record.point_name());
  shape.name_len = (shape.checkpoint ? kCheckpointPrefix.size() : 0) + point_len;
  std::string& b = shape.bytes;
  b.clear();
  append_number(b, uint16_t(shape.name_len));
  if (shape.checkpoint) b += kCheckpointPrefix;
  b.append(record.point_name(), point_len);
  append_number(b, uint16_t(record.size()));
  shape.text_len = 0;
  for (size_t i = 0; i < record.size(); ++i) {
    shape.keys[i] = record.key(i);
    shape.key_at[i] = uint16_t(b.size());
    const size_t key_len = std::strlen(shape.keys[i]);
    append_number(b, uint16_t(key_len));
    b.append(shape.keys[i], key_len);
    shape.text_len += key_len;
  }
  shape.key_at[record.size()] = uint16_t(b.size());
  b.append(16, '\0');  // put_padded reads up to 15 bytes past the end
  return shape;
}

size_t PackedRecordWriter::append(const TraceRecord& record) { return append_parts(RecordParts(record)); }

size_t PackedRecordWriter::append(const StoredRecordView& record) { return append_parts(record); }

template <class R>
size_t PackedRecordWriter::append_parts(const R& record) {
  const Shape& shape = shape_of(record);
  const char* const bytes = shape.bytes.data();
  const size_t head_len = shape.key_at[0];  // name length, name, field count
  // The room the record may take at most, 16 to spare for put_padded (counted in shape.bytes).
  const size_t room = 4 + 8 + 8 + shape.bytes.size() + 4 * shape.fields + record.text_room();
  last_ = out_.size();
  char small[1024];
  char* const start = room <= sizeof small ? small : (out_.resize(last_ + room), out_.data() + last_);
  char* p = start + 4;  // the length, filled in below
  p = put_number(p, record.time_ns());
  p = put_number(p, record.skb());
  p = put_padded(p, bytes, head_len);
  size_t text = shape.text_len;
  record.for_each_field([&](size_t i, const TraceField& f) {
    p = put_padded(p, bytes + shape.key_at[i], size_t(shape.key_at[i + 1] - shape.key_at[i]));
    char* value = p + 4;
    char* value_end = write_trace_field_text(value, f);
    put_number(p, uint32_t(value_end - value));
    text += size_t(value_end - value);
    p = value_end;
  });
  put_number(start, uint32_t(p - start - 4));
  if (start == small) out_.append(small, size_t(p - small));
  else out_.resize(last_ + size_t(p - start));
  return trace_event_bytes(shape.name_len, shape.fields, text);
}

}  // namespace nettwin::server
