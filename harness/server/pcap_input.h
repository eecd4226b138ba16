// Reading a pcap file for replay, with the byte offset of every record so that
// a broken file is reported as "FILE: offset N: what went wrong".
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>

namespace nettwin::server {

struct PcapRecord {
  uint64_t ts_ns = 0;    // capture time, nanoseconds since the epoch
  uint32_t wire_len = 0; // length on the wire (data may be shorter: snaplen)
  uint64_t offset = 0;   // byte offset of the record header in the file
  std::span<const uint8_t> data;  // valid until the next call to next()
};

class PcapInput {
 public:
  // Opens a classic pcap or pcapng file of Ethernet frames (LINKTYPE_ETHERNET).
  // Returns the reader or a message naming the file and the offset.
  static std::variant<std::unique_ptr<PcapInput>, std::string> open(const std::string& path);
  ~PcapInput();

  enum class Next { Record, End, Error };
  // On Error, `error` names the file, the offset of the bad record and the cause.
  Next next(PcapRecord& record, std::string& error);

 private:
  PcapInput(std::string path, pcap_t* handle, bool classic);

  std::string path_;
  pcap_t* handle_;
  // Classic pcap records are a 16-byte header and caplen bytes, so the offset is
  // counted here; pcapng blocks vary, so it is asked of the stream (one lseek).
  bool classic_;
  uint64_t offset_ = 0;
};

}  // namespace nettwin::server
