// The GSO callbacks of IPv4 and TCP (net/ipv4/af_inet.c inet_gso_segment,
// net/ipv4/tcp_offload.c tcp4_gso_segment / tcp_gso_segment).
#pragma once

#include <cstdint>

#include "core/skbuff.h"

namespace nettwin {

// inet_gso_segment: skb's data at its IP header. Each segment gets its own IP
// ID (counting up from the GSO skb's), tot_len and header checksum.
SkBuff* inet_gso_segment(SkBuff* skb, uint64_t features);
// tcp4_gso_segment: skb's data at its TCP header (the inet_offloads entry).
SkBuff* tcp4_gso_segment(SkBuff* skb, uint64_t features);
// tcp_gso_segment: cut at gso_size; seq counts up, PSH and FIN only on the
// last, CWR only on the first, each segment's checksum made in software.
SkBuff* tcp_gso_segment(SkBuff* skb, uint64_t features);

}  // namespace nettwin
