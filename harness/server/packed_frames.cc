#include "packed_frames.h"

static_assert(std::endian::native == std::endian::little, "packed blobs are read and written in host order");

namespace nettwin::server {

PackedCount count_packed(std::string_view blob, size_t max_frames) {
  PackedCount out;
  size_t offset = 0;
  while (offset < blob.size()) {
    const std::string where = "packed record " + std::to_string(out.frames) + " at byte offset " + std::to_string(offset);
    if (out.frames == max_frames) {
      out.error = where + ": more than " + std::to_string(max_frames) + " frames in one blob";
      return out;
    }
    if (blob.size() - offset < kPackedLengthBytes) {
      out.error = where + ": its length is cut short (" + std::to_string(blob.size() - offset) +
                  " bytes left, a length takes 4)";
      return out;
    }
    uint32_t len;
    std::memcpy(&len, blob.data() + offset, sizeof len);
    if (len == 0) {
      out.error = where + ": zero length";
      return out;
    }
    offset += kPackedLengthBytes;
    if (len > blob.size() - offset) {
      out.error = where + ": length " + std::to_string(len) + " runs past the end of the blob (" +
                  std::to_string(blob.size() - offset) + " bytes left)";
      return out;
    }
    offset += len;
    ++out.frames;
  }
  return out;
}

void append_packed_wire(std::string& out, int32_t ifindex, uint64_t time_ns, std::span<const uint8_t> frame) {
  const uint32_t len = static_cast<uint32_t>(frame.size());
  char header[kPackedWireHeaderBytes];
  std::memcpy(header, &len, 4);
  std::memcpy(header + 4, &ifindex, 4);
  std::memcpy(header + 8, &time_ns, 8);
  out.append(header, sizeof header);
  out.append(reinterpret_cast<const char*>(frame.data()), frame.size());
}

}  // namespace nettwin::server
