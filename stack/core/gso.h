// net/core/gso.c and the GSO tests of include/linux/netdevice.h: which skbs a
// device cannot take as they are, and skb_gso_segment, which cuts them into
// the segments it can (through the protocol's gso_segment callbacks).
#pragma once

#include <cstdint>

#include "core/skbuff.h"

namespace nettwin {

// net_gso_ok / skb_gso_ok: the device segments this gso_type itself.
bool net_gso_ok(uint64_t features, uint32_t gso_type);
bool skb_gso_ok(const SkBuff* skb, uint64_t features);
// netif_needs_gso: a GSO skb the device cannot segment, or whose checksum it
// cannot finish, is segmented in software.
bool netif_needs_gso(const SkBuff* skb, uint64_t features);

// skb_gso_segment (__skb_gso_segment): skb's data at its MAC header; returns
// the list of segments (linked by next, data at their MAC headers), or
// nullptr when no protocol could segment it. skb itself is left to the caller.
SkBuff* skb_gso_segment(SkBuff* skb, uint64_t features);
// skb_mac_gso_segment: the network protocol's gso_segment, from the MAC header.
SkBuff* skb_mac_gso_segment(SkBuff* skb, uint64_t features);

// skb_gso_validate_network_len: every segment's network length fits mtu.
bool skb_gso_validate_network_len(const SkBuff* skb, unsigned mtu);

}  // namespace nettwin
