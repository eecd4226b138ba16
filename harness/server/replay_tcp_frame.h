// Reading the TCP header of a captured IPv4 Ethernet frame, for the replay's
// pieces that follow TCP connections (replay_tcp_shift, replay_listeners).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nettwin::server {

constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

inline uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) { return uint32_t(get16(p)) << 16 | get16(p + 2); }

// The TCP header of an IPv4 Ethernet frame: offset of the IP and TCP headers, or 0.
struct TcpAt {
  size_t ip = 0, tcp = 0, end = 0;  // end: the TCP header's end (options included)
};
inline TcpAt find_tcp(std::span<const uint8_t> f) {
  constexpr size_t kEthHeaderLen = 14;
  constexpr uint8_t kProtoTcp = 6;
  if (f.size() < kEthHeaderLen + 20 || get16(&f[12]) != 0x0800 || f[14] >> 4 != 4) return {};
  const size_t ihl = size_t(f[14] & 0x0f) * 4;
  if (ihl < 20 || f[14 + 9] != kProtoTcp || (get16(&f[14 + 6]) & 0x1fff) != 0) return {};
  const size_t tcp = kEthHeaderLen + ihl;
  if (f.size() < tcp + 20) return {};
  const size_t end = tcp + size_t(f[tcp + 12] >> 4) * 4;
  if (end < tcp + 20 || end > f.size()) return {};
  return {kEthHeaderLen, tcp, end};
}

}  // namespace nettwin::server
