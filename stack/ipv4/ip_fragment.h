// Fragmentation (ip_output.c: ip_fragment, ip_do_fragment) and reassembly
// (ip_fragment.c: ip_defrag).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/skbuff.h"
#include "ipv4/inet_frag.h"

namespace nettwin {

class Net;

// ip_defrag: 0 when skb now holds the whole datagram (linear, network header
// at data), else the skb is queued or freed and belongs to the caller no more.
int ip_defrag(Net& net, SkBuff* skb, uint32_t user);
// How many reassembly queues exist (tests, counters).
size_t ip_frag_queues(const Net& net);

using IpFragOutput = int (*)(Net& net, SkBuff* skb);
// ip_fragment: DF set and not allowed to fragment → ICMP fragmentation needed
// (FragFails, PKT_TOO_BIG); else ip_do_fragment.
int ip_fragment(Net& net, SkBuff* skb, unsigned mtu, IpFragOutput output);
// ip_do_fragment: the fast path over a well-formed frag_list, the slow path
// copying otherwise; each fragment goes to output.
int ip_do_fragment(Net& net, SkBuff* skb, unsigned mtu, IpFragOutput output);

}  // namespace nettwin
