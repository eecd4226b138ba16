// Frame builders and a small fixture shared by the stack's tests. Frames are
// built byte by byte here (not with the stack's own wire/ code), so a bug in
// the stack's header code cannot hide itself in the expectations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stack.h"

namespace nettwin::test {

using Bytes = std::vector<uint8_t>;

inline const std::array<uint8_t, 6> kDutMac = {0x02, 0, 0, 0, 0x01, 0x02};
inline const std::array<uint8_t, 6> kTesterMac = {0x02, 0, 0, 0, 0x01, 0x01};
inline constexpr uint32_t kDutIp = 0xc6336402;     // 198.51.100.2
inline constexpr uint32_t kTesterIp = 0xc6336401;  // 198.51.100.1

uint16_t inet_csum(const uint8_t* p, size_t n);
Bytes arp_request(uint32_t sip, uint32_t tip, const std::array<uint8_t, 6>& sha = kTesterMac);
// Ethernet + IPv4 (20 bytes) + ICMP echo request with payload.
Bytes icmp_echo_request(uint16_t id, uint16_t seq, const Bytes& payload, uint8_t tos = 0, uint8_t ttl = 64,
                        const std::array<uint8_t, 6>& dst_mac = kDutMac, uint32_t saddr = kTesterIp,
                        uint32_t daddr = kDutIp);
// Ethernet + IPv4 + UDP from the tester to the DUT, checksum right (or as given).
Bytes udp_frame(uint16_t sport, uint16_t dport, const Bytes& payload, int check = -1, uint32_t daddr = kDutIp,
                const std::array<uint8_t, 6>& dst_mac = kDutMac);
Bytes hex(const std::string& s);
uint16_t be16(const Bytes& b, size_t off);
// Append in network byte order.
inline void put16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, uint16_t(v >> 16));
  put16(b, uint16_t(v));
}
uint32_t be32(const Bytes& b, size_t off);

// A stack with one device configured like the recordings' DUT.
struct Dut {
  explicit Dut(DeviceKind kind, uint64_t seed = 1, unsigned rx_ring = 256, unsigned tx_ring = 256);
  Stack stack;
  std::string dev = "ntdut0";
  std::vector<TraceEvent> events;
  int sub = 0;
  void trace(bool checkpoints = false);
  InjectResult inject(const Bytes& frame);
  uint64_t counter(const std::string& name) const;
  std::vector<const TraceEvent*> named(const std::string& name) const;
  std::string field(const TraceEvent& ev, const std::string& key) const;
};

}  // namespace nettwin::test
