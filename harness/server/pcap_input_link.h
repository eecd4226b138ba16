// The link types real captures have, turned into the Ethernet frames the ring
// takes. An Ethernet capture passes as it is. A Linux cooked capture (SLL,
// SLL2: `tcpdump -i any`), a BSD loopback one (NULL, LOOP) or a raw IP one
// (RAW, IPV4) carries no Ethernet header, so one is made up: every host's MAC
// is 02:00 followed by its IPv4 address (02:00:c6:33:64:02 for 198.51.100.2),
// a broadcast or multicast destination gets its Ethernet group address, and an
// ARP frame's own hardware addresses are rewritten the same way, so that a
// host keeps one MAC throughout.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "text_parse.h"

namespace nettwin::server {

// libpcap's DLT_ values for these link types (pcap/dlt.h); LINKTYPE_RAW (101)
// reads as DLT_RAW and LINKTYPE_LOOP (108) as DLT_LOOP on Linux.
constexpr int kDltNull = 0;
constexpr int kDltEthernet = 1;
constexpr int kDltRaw = 12;
constexpr int kDltLoop = 108;
constexpr int kDltLinuxSll = 113;
constexpr int kDltIpv4 = 228;
constexpr int kDltLinuxSll2 = 276;

bool is_replayable_link(int dlt);

// The made-up MAC of a host of a capture without Ethernet headers.
Mac mac_of_ipv4(uint32_t addr);

struct EtherFrame {
  std::span<const uint8_t> data;  // the Ethernet frame (valid until the next call)
  uint32_t wire_len = 0;          // its length on the wire (the capture's, re-headed)
};

// The record `data` (captured on `dlt`, `wire_len` long on the wire) as an
// Ethernet frame, built in `buffer` when a header is made up. nullopt when the
// record is too short for its link header; `why` then says so.
std::optional<EtherFrame> to_ethernet(int dlt, std::span<const uint8_t> data, uint32_t wire_len,
                                      std::vector<uint8_t>& buffer, std::string& why);

}  // namespace nettwin::server
