#include "pcap_input.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace nettwin::server {

namespace {

constexpr uint32_t kPcapMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kPcapMagicNano = 0xa1b23c4d;
constexpr uint64_t kPcapLinkTypeOffset = 20;  // pcap_file_header.linktype
constexpr uint64_t kPcapRecordHeaderLen = 16;  // struct pcap_sf_pkthdr
constexpr size_t kReadBuffer = 1 << 20;

std::string at(const std::string& path, uint64_t offset, const std::string& what) {
  return path + ": offset " + std::to_string(offset) + ": " + what;
}

// True for a classic (not pcapng) file, whose header has the link type at byte 20.
bool is_classic_pcap(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  uint8_t b[4] = {};
  const bool got = std::fread(b, 1, 4, f) == 4;
  std::fclose(f);
  if (!got) return false;
  const uint32_t le = b[0] | b[1] << 8 | b[2] << 16 | uint32_t(b[3]) << 24;
  const uint32_t be = b[3] | b[2] << 8 | b[1] << 16 | uint32_t(b[0]) << 24;
  for (uint32_t magic : {kPcapMagicMicro, kPcapMagicNano})
    if (le == magic || be == magic) return true;
  return false;
}

}  // namespace

std::variant<std::unique_ptr<PcapInput>, std::string> PcapInput::open(const std::string& path) {
  // Our own stream with a large buffer: libpcap's reads then cost no syscall each.
  FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return at(path, 0, std::strerror(errno));
  std::setvbuf(file, nullptr, _IOFBF, kReadBuffer);
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Nanosecond precision whatever the file holds, so virtual time loses nothing.
  pcap_t* handle =
      pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!handle) {
    std::fclose(file);  // libpcap closes it only once it owns it
    return at(path, 0, errbuf);
  }
  const bool classic = is_classic_pcap(path);
  const int link = pcap_datalink(handle);
  if (link != DLT_EN10MB) {
    const char* name = pcap_datalink_val_to_name(link);
    const uint64_t offset = classic ? kPcapLinkTypeOffset : 0;
    pcap_close(handle);
    return at(path, offset,
              "link type " + std::to_string(link) + " (" + (name ? name : "unknown") +
                  "): replay needs Ethernet (EN10MB)");
  }
  return std::unique_ptr<PcapInput>(new PcapInput(path, handle, classic));
}

PcapInput::PcapInput(std::string path, pcap_t* handle, bool classic)
    : path_(std::move(path)), handle_(handle), classic_(classic) {
  // libpcap reads the file through this stdio stream: after the file header it
  // stands at the first record.
  const long start = std::ftell(pcap_file(handle_));
  offset_ = start < 0 ? 0 : uint64_t(start);
}

PcapInput::~PcapInput() { pcap_close(handle_); }

PcapInput::Next PcapInput::next(PcapRecord& record, std::string& error) {
  if (!classic_) {
    const long position = std::ftell(pcap_file(handle_));
    offset_ = position < 0 ? 0 : uint64_t(position);
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(handle_, &header, &data);
  if (rc == PCAP_ERROR_BREAK) return Next::End;
  if (rc != 1) {
    error = at(path_, offset_, pcap_geterr(handle_));
    return Next::Error;
  }
  record.ts_ns = uint64_t(header->ts.tv_sec) * 1'000'000'000u + uint64_t(header->ts.tv_usec);
  record.wire_len = header->len;
  record.offset = offset_;
  record.data = std::span(data, header->caplen);
  if (classic_) offset_ += kPcapRecordHeaderLen + header->caplen;
  return Next::Record;
}

}  // namespace nettwin::server
