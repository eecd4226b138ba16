// Reading a capture for replay, with the byte offset and number of every
// record, so that a broken file is reported as "FILE: offset N: what went wrong".
// Classic pcap and pcapng (libpcap), either of them gzip-compressed (zlib reads
// a file that is not compressed as it is; offsets count the decompressed
// bytes), of the link types pcap_input_link.h turns into Ethernet frames.
#pragma once

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

struct gzFile_s;  // zlib's gzFile

namespace nettwin::server {

struct PcapRecord {
  uint64_t number = 0;   // 1 for the first record, as Wireshark numbers frames
  uint64_t ts_ns = 0;    // capture time, nanoseconds since the epoch
  uint32_t wire_len = 0; // length on the wire (data may be shorter: snaplen)
  std::optional<uint64_t> offset;  // byte offset of the record header (unknown: pcapng on a pipe)
  std::span<const uint8_t> data;   // the Ethernet frame, valid until the next call to next()
};

class PcapInput {
 public:
  // Opens a classic pcap or pcapng file, gzip-compressed or not, of one of the
  // link types is_replayable_link() takes; "-" reads standard input, and a pipe
  // or FIFO works as well as a file.
  // Returns the reader or a message naming the file and the offset.
  static std::variant<std::unique_ptr<PcapInput>, std::string> open(const std::string& path);
  ~PcapInput();

  // The name used in messages: the path, or "stdin" for "-".
  const std::string& name() const { return name_; }

  // True if `path` names the very file being read (same device and inode:
  // through a symlink, a hard link or stdin redirected from it).
  bool is_same_file(const std::string& path) const;

  // The capture's link type (DLT_), before its frames are made Ethernet frames.
  int link_type() const { return link_type_; }
  // How far into the file (its compressed bytes, for a .gz) reading has got, and
  // the file's size (0 for a pipe): what a progress bar shows.
  uint64_t file_position() const;
  uint64_t file_size() const { return file_size_; }

  // Cut: the last record ends before its header or data does (a capture cut
  // short); Error: a record libpcap refuses. Both leave `error` saying
  // "FILE: offset N: record K: ..." and end the input.
  enum class Next { Record, End, Cut, Error };
  Next next(PcapRecord& record, std::string& error);

 private:
  PcapInput(std::string name, pcap_t* handle, ::gzFile_s* gz, const struct stat& file);
  // Where the next record starts: "FILE: offset N: record K" (offset left out when unknown).
  std::string position() const;

  std::string name_;
  pcap_t* handle_;
  ::gzFile_s* gz_;  // what libpcap's stream reads through (closed with it); null for a plain file
  int link_type_;
  uint64_t file_dev_, file_ino_, file_size_;
  std::vector<uint8_t> frame_;  // a record made an Ethernet frame
  // Classic pcap records are a 16-byte header and caplen bytes, so the offset is
  // counted here; pcapng blocks vary, so it is asked of the stream (one lseek),
  // which a pipe cannot answer.
  bool classic_;
  std::optional<uint64_t> offset_;
  uint64_t number_ = 0;  // records returned so far
};

}  // namespace nettwin::server
