#include "pcap_input.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace nettwin::server {

namespace {

constexpr int kClassicPcapMajor = 2;            // pcapng reports its section's version, 1
constexpr uint64_t kPcapFileHeaderLen = 24;     // struct pcap_file_header
constexpr uint64_t kPcapLinkTypeOffset = 20;    // pcap_file_header.linktype
constexpr uint64_t kPcapRecordHeaderLen = 16;   // struct pcap_sf_pkthdr
constexpr size_t kReadBuffer = 1 << 20;

std::string at(const std::string& name, uint64_t offset, const std::string& what) {
  return name + ": offset " + std::to_string(offset) + ": " + what;
}

// libpcap says "truncated dump file; tried to read N ... bytes, only got M"
// (or "truncated pcapng dump file; ...") when the file ends inside a record.
bool is_cut_short(const char* message) { return std::strstr(message, "truncated") != nullptr; }

}  // namespace

std::variant<std::unique_ptr<PcapInput>, std::string> PcapInput::open(const std::string& path) {
  const bool from_stdin = path == "-";
  const std::string name = from_stdin ? "stdin" : path;
  // Our own stream with a large buffer: libpcap's reads then cost no syscall each.
  FILE* file = from_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (!file) return at(name, 0, std::strerror(errno));
  std::setvbuf(file, nullptr, _IOFBF, kReadBuffer);
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Nanosecond precision whatever the file holds, so virtual time loses nothing.
  pcap_t* handle =
      pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!handle) {
    std::fclose(file);  // libpcap closes it only once it owns it
    return at(name, 0, errbuf);
  }
  const bool classic = pcap_major_version(handle) == kClassicPcapMajor;
  const int link = pcap_datalink(handle);
  if (link != DLT_EN10MB) {
    const char* link_name = pcap_datalink_val_to_name(link);
    const uint64_t offset = classic ? kPcapLinkTypeOffset : 0;
    pcap_close(handle);
    return at(name, offset,
              "link type " + std::to_string(link) + " (" + (link_name ? link_name : "unknown") +
                  "): replay needs Ethernet (EN10MB)");
  }
  return std::unique_ptr<PcapInput>(new PcapInput(name, handle));
}

PcapInput::PcapInput(std::string name, pcap_t* handle)
    : name_(std::move(name)),
      handle_(handle),
      classic_(pcap_major_version(handle) == kClassicPcapMajor) {
  if (classic_) offset_ = kPcapFileHeaderLen;
}

PcapInput::~PcapInput() { pcap_close(handle_); }

bool PcapInput::is_same_file(const std::string& path) const {
  struct stat input {}, other {};
  if (fstat(fileno(pcap_file(handle_)), &input) != 0 || stat(path.c_str(), &other) != 0)
    return false;
  return input.st_dev == other.st_dev && input.st_ino == other.st_ino;
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
    error = position() + ": " + why;
    return is_cut_short(why) ? Next::Cut : Next::Error;
  }
  ++number_;
  record.number = number_;
  record.ts_ns = uint64_t(header->ts.tv_sec) * 1'000'000'000u + uint64_t(header->ts.tv_usec);
  record.wire_len = header->len;
  record.offset = offset_;
  record.data = std::span(data, header->caplen);
  if (classic_) *offset_ += kPcapRecordHeaderLen + header->caplen;
  return Next::Record;
}

}  // namespace nettwin::server
