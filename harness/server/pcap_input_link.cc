#include "pcap_input_link.h"

#include <algorithm>
#include <iterator>
#include <tuple>
#include <utility>

namespace nettwin::server {

namespace {

constexpr size_t kEthHeaderLen = 14;
constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthArp = 0x0806;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr size_t kSllHeaderLen = 16;   // struct sll_header
constexpr size_t kSll2HeaderLen = 20;  // struct sll2_header
constexpr size_t kNullHeaderLen = 4;   // the address family
constexpr uint8_t kPacketBroadcast = 1;  // sll_pkttype PACKET_BROADCAST
constexpr uint32_t kAfInet = 2;          // AF_INET, the same on every system
// AF_INET6 as BSD loopback captures write it: Linux, NetBSD/OpenBSD, FreeBSD, macOS.
constexpr uint32_t kAfInet6[] = {10, 24, 28, 30};
constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kArpIpv4Len = 28;  // Ethernet/IPv4 ARP body
constexpr Mac kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// An IPv4 destination's MAC: broadcast, its multicast group (RFC 1112), or its made-up MAC.
Mac mac_of_destination(uint32_t addr) {
  if (addr == 0xffffffffu) return kBroadcast;
  if (addr >> 28 == 0xe)
    return {0x01, 0x00, 0x5e, uint8_t(addr >> 16 & 0x7f), uint8_t(addr >> 8), uint8_t(addr)};
  return mac_of_ipv4(addr);
}

// The family word of a NULL capture is in the capturing host's byte order, LOOP's in network order.
uint16_t ethertype_of_family(const uint8_t* p, bool network_order) {
  uint32_t family = be32(p);
  if (!network_order && family > 0xffff)
    family = uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0];
  if (family == kAfInet) return kEthIpv4;
  if (std::find(std::begin(kAfInet6), std::end(kAfInet6), family) != std::end(kAfInet6)) return kEthIpv6;
  return 0;
}

void put_mac(uint8_t* at, const Mac& mac) { std::copy(mac.begin(), mac.end(), at); }

// ARP's sender and target hardware addresses made up from their IPv4 addresses
// (an all-zero target, as in a request, stays zero); returns the Ethernet
// source and destination such a frame has.
std::pair<Mac, Mac> rewrite_arp(uint8_t* arp) {
  const bool ethernet_ipv4 = be16(arp) == 1 && be16(arp + 2) == kEthIpv4 && arp[4] == 6 && arp[5] == 4;
  if (!ethernet_ipv4) return {mac_of_ipv4(0), kBroadcast};
  const Mac sender = mac_of_ipv4(be32(arp + 14));
  const Mac target = mac_of_ipv4(be32(arp + 24));
  put_mac(arp + 8, sender);
  if (std::any_of(arp + 18, arp + 24, [](uint8_t b) { return b != 0; })) put_mac(arp + 18, target);
  const bool request = be16(arp + 6) == 1;
  return {sender, request ? kBroadcast : target};
}

}  // namespace

bool is_replayable_link(int dlt) {
  switch (dlt) {
    case kDltEthernet: case kDltLinuxSll: case kDltLinuxSll2: case kDltNull: case kDltLoop:
    case kDltRaw: case kDltIpv4:
      return true;
    default:
      return false;
  }
}

Mac mac_of_ipv4(uint32_t addr) {
  return {0x02, 0x00, uint8_t(addr >> 24), uint8_t(addr >> 16), uint8_t(addr >> 8), uint8_t(addr)};
}

std::optional<EtherFrame> to_ethernet(int dlt, std::span<const uint8_t> data, uint32_t wire_len,
                                      std::vector<uint8_t>& buffer, std::string& why) {
  if (dlt == kDltEthernet) return EtherFrame{data, wire_len};
  size_t header = 0;
  uint16_t ethertype = 0;
  bool broadcast = false;
  auto too_short = [&](size_t need, const char* what) {
    why = std::to_string(data.size()) + " bytes: shorter than " + what + " (" + std::to_string(need) + " bytes)";
    return std::nullopt;
  };
  switch (dlt) {
    case kDltLinuxSll:
      header = kSllHeaderLen;
      if (data.size() < header) return too_short(header, "a Linux cooked (SLL) header");
      broadcast = be16(data.data()) == kPacketBroadcast;
      ethertype = be16(data.data() + 14);
      break;
    case kDltLinuxSll2:
      header = kSll2HeaderLen;
      if (data.size() < header) return too_short(header, "a Linux cooked (SLL2) header");
      broadcast = data[10] == kPacketBroadcast;
      ethertype = be16(data.data());
      break;
    case kDltNull:
    case kDltLoop:
      header = kNullHeaderLen;
      if (data.size() < header) return too_short(header, "a loopback (NULL) header");
      ethertype = ethertype_of_family(data.data(), dlt == kDltLoop);
      break;
    case kDltRaw:
    case kDltIpv4:
      if (data.empty()) return too_short(1, "an IP version");
      ethertype = data[0] >> 4 == 4 ? kEthIpv4 : data[0] >> 4 == 6 ? kEthIpv6 : 0;
      break;
    default:
      why = "link type " + std::to_string(dlt) + " is not replayable";
      return std::nullopt;
  }
  const auto payload = data.subspan(header);
  buffer.assign(kEthHeaderLen, 0);
  buffer.insert(buffer.end(), payload.begin(), payload.end());
  uint8_t* frame = buffer.data();
  Mac dst = mac_of_ipv4(0), src = mac_of_ipv4(0);
  if (ethertype == kEthIpv4 && payload.size() >= kIpv4MinHeader) {
    src = mac_of_ipv4(be32(payload.data() + 12));
    dst = mac_of_destination(be32(payload.data() + 16));
  } else if (ethertype == kEthArp && payload.size() >= kArpIpv4Len) {
    std::tie(src, dst) = rewrite_arp(frame + kEthHeaderLen);
  }
  if (broadcast) dst = kBroadcast;
  put_mac(frame, dst);
  put_mac(frame + 6, src);
  frame[12] = uint8_t(ethertype >> 8);
  frame[13] = uint8_t(ethertype);
  const uint32_t eth_wire_len = wire_len >= header ? uint32_t(wire_len - header + kEthHeaderLen) : uint32_t(buffer.size());
  return EtherFrame{std::span<const uint8_t>(buffer), eth_wire_len};
}

}  // namespace nettwin::server
