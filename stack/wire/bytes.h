// Big-endian loads and stores on byte spans: the only way wire/ touches
// packet bytes, so there is no unaligned or type-punned access anywhere.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace nettwin::wire {

using MacAddr = std::array<uint8_t, 6>;
using Ipv4Addr = uint32_t;  // host byte order: 198.51.100.2 is 0xc6336402

inline uint16_t load_be16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
inline uint32_t load_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline MacAddr load_mac(const uint8_t* p) { return {p[0], p[1], p[2], p[3], p[4], p[5]}; }
inline void store_mac(uint8_t* p, const MacAddr& m) {
  for (size_t i = 0; i < m.size(); ++i) p[i] = m[i];
}

// Canonical text forms (traces/README.md): dotted quad, lowercase colon MAC.
std::string format_ipv4(Ipv4Addr a);
std::string format_mac(const MacAddr& m);
// Strict parsers: false on anything that is not exactly the canonical shape.
bool parse_ipv4(const std::string& text, Ipv4Addr* out);
bool parse_mac(const std::string& text, MacAddr* out);

inline bool is_multicast_ether_addr(const MacAddr& m) { return (m[0] & 0x01) != 0; }
inline bool is_broadcast_ether_addr(const MacAddr& m) {
  return (m[0] & m[1] & m[2] & m[3] & m[4] & m[5]) == 0xff;
}
inline bool ipv4_is_multicast(Ipv4Addr a) { return (a & 0xf0000000u) == 0xe0000000u; }
inline bool ipv4_is_lbcast(Ipv4Addr a) { return a == 0xffffffffu; }
// Since Linux 5.3 only 0.0.0.0 itself (0/8 became assignable unicast); the
// recording martian_source shows 0.1.2.3 routed like any address.
inline bool ipv4_is_zeronet(Ipv4Addr a) { return a == 0; }
inline bool ipv4_is_loopback(Ipv4Addr a) { return (a & 0xff000000u) == 0x7f000000u; }

}  // namespace nettwin::wire
