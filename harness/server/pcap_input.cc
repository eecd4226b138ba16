#include "pcap_input.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "pcap_input_link.h"

namespace nettwin::server {

namespace {

constexpr int kClassicPcapMajor = 2;            // pcapng reports its section's version, 1
constexpr uint64_t kPcapFileHeaderLen = 24;     // struct pcap_file_header
constexpr uint64_t kPcapLinkTypeOffset = 20;    // pcap_file_header.linktype
constexpr uint64_t kPcapRecordHeaderLen = 16;   // struct pcap_sf_pkthdr
constexpr unsigned kReadBuffer = 1 << 20;

std::string at(const std::string& name, uint64_t offset, const std::string& what) {
  return name + ": offset " + std::to_string(offset) + ": " + what;
}

// libpcap says "truncated dump file; tried to read N ... bytes, only got M"
// (or "truncated pcapng dump file; ...") when the file ends inside a record.
bool is_cut_short(const char* message) { return std::strstr(message, "truncated") != nullptr; }

// libpcap reads a stdio stream; this one reads through zlib, which passes a
// file that is not gzip-compressed through as it is.
ssize_t gz_read(void* cookie, char* buffer, size_t size) {
  const int n = gzread(static_cast<gzFile>(cookie), buffer, unsigned(std::min<size_t>(size, 1u << 30)));
  if (n < 0) errno = EIO;
  return n;
}
// Only ftell's question (where are we?) is answered: the decompressed offset.
int gz_seek(void* cookie, off64_t* offset, int whence) {
  if (whence != SEEK_CUR || *offset != 0) return -1;
  *offset = gztell(static_cast<gzFile>(cookie));
  return 0;
}
int gz_close(void* cookie) { return gzclose(static_cast<gzFile>(cookie)) == Z_OK ? 0 : EOF; }

// What zlib says went wrong, if anything ("" for nothing or a plain end of data).
std::string gz_problem(gzFile gz) {
  if (!gz) return "";
  int code = Z_OK;
  const char* message = gzerror(gz, &code);
  if (code == Z_OK || code == Z_BUF_ERROR || !message) return "";
  return std::string(" (gzip: ") + message + ")";
}

}  // namespace

std::variant<std::unique_ptr<PcapInput>, std::string> PcapInput::open(const std::string& path) {
  const bool from_stdin = path == "-";
  const std::string name = from_stdin ? "stdin" : path;
  const int fd = from_stdin ? dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return at(name, 0, std::strerror(errno));
  struct stat file {};
  if (fstat(fd, &file) != 0 || S_ISDIR(file.st_mode)) {
    const int why = S_ISDIR(file.st_mode) ? EISDIR : errno;
    ::close(fd);
    return at(name, 0, std::strerror(why));
  }
  // Only gzip goes through zlib (and a pipe, whose first bytes cannot be looked at
  // without taking them): a plain file is read by stdio itself.
  unsigned char magic[2] = {};
  const bool plain = pread(fd, magic, sizeof magic, 0) == 2 && !(magic[0] == 0x1f && magic[1] == 0x8b);
  gzFile gz = nullptr;
  FILE* stream = nullptr;
  if (plain) {
    stream = fdopen(fd, "rb");
    if (!stream) {
      const int why = errno;
      ::close(fd);
      return at(name, 0, std::strerror(why));
    }
  } else {
    gz = gzdopen(fd, "rb");
    if (!gz) {
      ::close(fd);
      return at(name, 0, "cannot read through zlib");
    }
    gzbuffer(gz, kReadBuffer);  // large reads: one syscall per MiB
    stream = fopencookie(gz, "rb", cookie_io_functions_t{gz_read, nullptr, gz_seek, gz_close});
    if (!stream) {
      gzclose(gz);
      return at(name, 0, std::strerror(errno));
    }
  }
  std::setvbuf(stream, nullptr, _IOFBF, kReadBuffer);
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Nanosecond precision whatever the file holds, so virtual time loses nothing.
  pcap_t* handle =
      pcap_fopen_offline_with_tstamp_precision(stream, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!handle) {
    const std::string problem = errbuf + gz_problem(gz);
    std::fclose(stream);  // libpcap closes it only once it owns it
    return at(name, 0, problem);
  }
  const bool classic = pcap_major_version(handle) == kClassicPcapMajor;
  const int link = pcap_datalink(handle);
  if (!is_replayable_link(link)) {
    const char* link_name = pcap_datalink_val_to_name(link);
    const uint64_t offset = classic ? kPcapLinkTypeOffset : 0;
    pcap_close(handle);
    return at(name, offset,
              "link type " + std::to_string(link) + " (" + (link_name ? link_name : "unknown") +
                  "): replay takes Ethernet, Linux cooked (SLL, SLL2), loopback (NULL, LOOP) "
                  "and raw IP (RAW, IPV4)");
  }
  return std::unique_ptr<PcapInput>(new PcapInput(name, handle, gz, file));
}

PcapInput::PcapInput(std::string name, pcap_t* handle, ::gzFile_s* gz, const struct stat& file)
    : name_(std::move(name)),
      handle_(handle),
      gz_(gz),
      link_type_(pcap_datalink(handle)),
      file_dev_(file.st_dev),
      file_ino_(file.st_ino),
      file_size_(S_ISREG(file.st_mode) ? uint64_t(file.st_size) : 0),
      classic_(pcap_major_version(handle) == kClassicPcapMajor) {
  if (classic_) offset_ = kPcapFileHeaderLen;
}

PcapInput::~PcapInput() { pcap_close(handle_); }

bool PcapInput::is_same_file(const std::string& path) const {
  struct stat other {};
  if (stat(path.c_str(), &other) != 0) return false;
  return file_dev_ == uint64_t(other.st_dev) && file_ino_ == uint64_t(other.st_ino);
}

uint64_t PcapInput::file_position() const {
  const auto position = gz_ ? int64_t(gzoffset(gz_)) : int64_t(std::ftell(pcap_file(handle_)));
  return position < 0 ? 0 : uint64_t(position);
}

std::string PcapInput::position() const {
  std::string where = name_ + ": ";
  if (offset_) where += "offset " + std::to_string(*offset_) + ": ";
  return where + "record " + std::to_string(number_ + 1);
}

PcapInput::Next PcapInput::next(PcapRecord& record, std::string& error) {
  if (!classic_) {
    const long position = std::ftell(pcap_file(handle_));
    offset_.reset();
    if (position >= 0) offset_ = uint64_t(position);
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(handle_, &header, &data);
  if (rc == PCAP_ERROR_BREAK) return Next::End;
  if (rc != 1) {
    const char* why = pcap_geterr(handle_);
    error = position() + ": " + why + gz_problem(gz_);
    return is_cut_short(why) ? Next::Cut : Next::Error;
  }
  ++number_;
  record.number = number_;
  record.ts_ns = uint64_t(header->ts.tv_sec) * 1'000'000'000u + uint64_t(header->ts.tv_usec);
  record.offset = offset_;
  std::string why;
  const auto frame = to_ethernet(link_type_, std::span(data, header->caplen), header->len, frame_, why);
  // A record too short for its link header is an empty frame: too short to inject.
  record.data = frame ? frame->data : std::span<const uint8_t>();
  record.wire_len = frame ? frame->wire_len : header->len;
  if (classic_) *offset_ += kPcapRecordHeaderLen + header->caplen;
  return Next::Record;
}

}  // namespace nettwin::server
