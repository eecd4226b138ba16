// Typed, bounds-checked views of Ethernet, ARP, IPv4 and ICMP headers.
// A view is made only by parse(), which checks that the header fits in the
// bytes given; accessors then read and write through wire/bytes.h. No view
// ever reads past the span it was made from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/bytes.h"

namespace nettwin::wire {

inline constexpr size_t ETH_ALEN = 6;
inline constexpr size_t ETH_HLEN = 14;
inline constexpr size_t VLAN_HLEN = 4;
inline constexpr uint16_t ETH_P_IP = 0x0800;
inline constexpr uint16_t ETH_P_ARP = 0x0806;
inline constexpr uint16_t ETH_P_802_3_MIN = 0x0600;

struct EthHdr {
  uint8_t* p;
  static std::optional<EthHdr> parse(std::span<uint8_t> b) {
    if (b.size() < ETH_HLEN) return std::nullopt;
    return EthHdr{b.data()};
  }
  MacAddr h_dest() const { return load_mac(p); }
  MacAddr h_source() const { return load_mac(p + 6); }
  uint16_t h_proto() const { return load_be16(p + 12); }
  void set_h_dest(const MacAddr& m) { store_mac(p, m); }
  void set_h_source(const MacAddr& m) { store_mac(p + 6, m); }
  void set_h_proto(uint16_t v) { store_be16(p + 12, v); }
};

// ARP for Ethernet/IPv4: the fixed 8-byte arphdr plus two MAC+IPv4 pairs.
inline constexpr size_t ARP_HDR_LEN = 8;
inline constexpr size_t ARP_ETH_IP_LEN = ARP_HDR_LEN + 2 * (ETH_ALEN + 4);  // arp_hdr_len(dev) = 28
inline constexpr uint16_t ARPHRD_ETHER = 1;
inline constexpr uint16_t ARPOP_REQUEST = 1;
inline constexpr uint16_t ARPOP_REPLY = 2;

struct ArpHdr {
  uint8_t* p;
  // The fixed part only: hrd/pro/hln/pln/op.
  static std::optional<ArpHdr> parse(std::span<uint8_t> b) {
    if (b.size() < ARP_ETH_IP_LEN) return std::nullopt;
    return ArpHdr{b.data()};
  }
  uint16_t ar_hrd() const { return load_be16(p); }
  uint16_t ar_pro() const { return load_be16(p + 2); }
  uint8_t ar_hln() const { return p[4]; }
  uint8_t ar_pln() const { return p[5]; }
  uint16_t ar_op() const { return load_be16(p + 6); }
  MacAddr sha() const { return load_mac(p + 8); }
  Ipv4Addr sip() const { return load_be32(p + 14); }
  MacAddr tha() const { return load_mac(p + 18); }
  Ipv4Addr tip() const { return load_be32(p + 24); }
  void set_fixed(uint16_t hrd, uint16_t pro, uint8_t hln, uint8_t pln, uint16_t op) {
    store_be16(p, hrd);
    store_be16(p + 2, pro);
    p[4] = hln;
    p[5] = pln;
    store_be16(p + 6, op);
  }
  void set_sha(const MacAddr& m) { store_mac(p + 8, m); }
  void set_sip(Ipv4Addr a) { store_be32(p + 14, a); }
  void set_tha(const MacAddr& m) { store_mac(p + 18, m); }
  void set_tip(Ipv4Addr a) { store_be32(p + 24, a); }
};

inline constexpr size_t IPV4_MIN_HLEN = 20;
inline constexpr uint16_t IP_DF = 0x4000;
inline constexpr uint16_t IP_MF = 0x2000;
inline constexpr uint16_t IP_OFFSET = 0x1fff;
inline constexpr uint8_t IPPROTO_ICMP = 1;
inline constexpr uint8_t IPPROTO_IGMP = 2;
inline constexpr uint8_t IPPROTO_TCP = 6;
inline constexpr uint8_t IPPROTO_UDP = 17;

// The first 20 bytes of an IPv4 header. ihl()/tot_len() are whatever the
// bytes say: checking them against the packet is ip_rcv_core's job.
struct Iphdr {
  uint8_t* p;
  static std::optional<Iphdr> parse(std::span<uint8_t> b) {
    if (b.size() < IPV4_MIN_HLEN) return std::nullopt;
    return Iphdr{b.data()};
  }
  uint8_t version() const { return p[0] >> 4; }
  uint8_t ihl() const { return p[0] & 0x0f; }
  uint8_t tos() const { return p[1]; }
  uint16_t tot_len() const { return load_be16(p + 2); }
  uint16_t id() const { return load_be16(p + 4); }
  uint16_t frag_off() const { return load_be16(p + 6); }
  uint8_t ttl() const { return p[8]; }
  uint8_t protocol() const { return p[9]; }
  uint16_t check() const { return load_be16(p + 10); }
  Ipv4Addr saddr() const { return load_be32(p + 12); }
  Ipv4Addr daddr() const { return load_be32(p + 16); }
  void set_version_ihl(uint8_t version, uint8_t ihl) { p[0] = uint8_t((version << 4) | (ihl & 0x0f)); }
  void set_tos(uint8_t v) { p[1] = v; }
  void set_tot_len(uint16_t v) { store_be16(p + 2, v); }
  void set_id(uint16_t v) { store_be16(p + 4, v); }
  void set_frag_off(uint16_t v) { store_be16(p + 6, v); }
  void set_ttl(uint8_t v) { p[8] = v; }
  void set_protocol(uint8_t v) { p[9] = v; }
  void set_check(uint16_t v) { store_be16(p + 10, v); }
  void set_saddr(Ipv4Addr a) { store_be32(p + 12, a); }
  void set_daddr(Ipv4Addr a) { store_be32(p + 16, a); }
};

inline constexpr size_t ICMP_HLEN = 8;
inline constexpr uint8_t ICMP_ECHOREPLY = 0;
inline constexpr uint8_t ICMP_DEST_UNREACH = 3;
inline constexpr uint8_t ICMP_ECHO = 8;
inline constexpr uint8_t ICMP_TIMESTAMP = 13;
inline constexpr uint8_t ICMP_ADDRESS = 17;
inline constexpr uint8_t ICMP_ADDRESSREPLY = 18;
inline constexpr uint8_t NR_ICMP_TYPES = 18;
inline constexpr uint8_t ICMP_PROT_UNREACH = 2;
// The rest of include/uapi/linux/icmp.h's types and codes.
inline constexpr uint8_t ICMP_SOURCE_QUENCH = 4;
inline constexpr uint8_t ICMP_REDIRECT = 5;
inline constexpr uint8_t ICMP_TIME_EXCEEDED = 11;
inline constexpr uint8_t ICMP_PARAMETERPROB = 12;
inline constexpr uint8_t ICMP_TIMESTAMPREPLY = 14;
inline constexpr uint8_t ICMP_INFO_REQUEST = 15;
inline constexpr uint8_t ICMP_INFO_REPLY = 16;
inline constexpr uint8_t ICMP_NET_UNREACH = 0;
inline constexpr uint8_t ICMP_HOST_UNREACH = 1;
inline constexpr uint8_t ICMP_PORT_UNREACH = 3;
inline constexpr uint8_t ICMP_FRAG_NEEDED = 4;
inline constexpr uint8_t ICMP_SR_FAILED = 5;
inline constexpr uint8_t NR_ICMP_UNREACH = 15;
inline constexpr uint8_t ICMP_REDIR_NET = 0;
inline constexpr uint8_t ICMP_REDIR_HOST = 1;
inline constexpr uint8_t ICMP_PKT_FILTERED = 13;
inline constexpr uint8_t ICMP_EXC_TTL = 0;
inline constexpr uint8_t ICMP_EXC_FRAGTIME = 1;

struct Icmphdr {
  uint8_t* p;
  static std::optional<Icmphdr> parse(std::span<uint8_t> b) {
    if (b.size() < ICMP_HLEN) return std::nullopt;
    return Icmphdr{b.data()};
  }
  uint8_t type() const { return p[0]; }
  uint8_t code() const { return p[1]; }
  uint16_t checksum() const { return load_be16(p + 2); }
  uint16_t echo_id() const { return load_be16(p + 4); }
  uint16_t echo_sequence() const { return load_be16(p + 6); }
  uint32_t rest() const { return load_be32(p + 4); }
  void set_type(uint8_t v) { p[0] = v; }
  void set_code(uint8_t v) { p[1] = v; }
  void set_checksum(uint16_t v) { store_be16(p + 2, v); }
  void set_rest(uint32_t v) { store_be32(p + 4, v); }
};

}  // namespace nettwin::wire
