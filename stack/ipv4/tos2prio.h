// ip_tos2prio / rt_tos2priority (include/net/route.h, net/ipv4/route.c): the
// skb->priority Linux gives a packet from its IP TOS (ip_forward, IP_TOS),
// which pfifo_fast's priomap turns into a band.
#pragma once

#include <cstdint>

namespace nettwin {

enum : uint8_t {
  TC_PRIO_BESTEFFORT = 0,
  TC_PRIO_FILLER = 1,
  TC_PRIO_BULK = 2,
  TC_PRIO_INTERACTIVE_BULK = 4,
  TC_PRIO_INTERACTIVE = 6,
  TC_PRIO_CONTROL = 7,
};

// Indexed by the four TOS bits (IPTOS_TOS(tos) >> 1); ECN_OR_COST(x) is x.
inline constexpr uint8_t ip_tos2prio[16] = {
    TC_PRIO_BESTEFFORT,       TC_PRIO_BESTEFFORT,       TC_PRIO_BESTEFFORT,       TC_PRIO_BESTEFFORT,
    TC_PRIO_BULK,             TC_PRIO_BULK,             TC_PRIO_BULK,             TC_PRIO_BULK,
    TC_PRIO_INTERACTIVE,      TC_PRIO_INTERACTIVE,      TC_PRIO_INTERACTIVE,      TC_PRIO_INTERACTIVE,
    TC_PRIO_INTERACTIVE_BULK, TC_PRIO_INTERACTIVE_BULK, TC_PRIO_INTERACTIVE_BULK, TC_PRIO_INTERACTIVE_BULK,
};

inline constexpr uint8_t IPTOS_TOS_MASK = 0x1E;
inline uint8_t rt_tos2priority(uint8_t tos) { return ip_tos2prio[(tos & IPTOS_TOS_MASK) >> 1]; }

}  // namespace nettwin
