// struct inet_skb_parm: what IP keeps in skb->cb while the skb is in its hands
// (IPCB(skb)). ip_rcv_core zeroes it.
#pragma once

#include <cstdint>

#include "core/skbuff.h"

namespace nettwin {

enum : uint16_t {
  IPSKB_FORWARDED = 1u << 0,
  IPSKB_XFRM_TUNNEL_SIZE = 1u << 1,
  IPSKB_XFRM_TRANSFORMED = 1u << 2,
  IPSKB_FRAG_COMPLETE = 1u << 3,
  IPSKB_REROUTED = 1u << 4,
  IPSKB_DOREDIRECT = 1u << 5,
  IPSKB_FRAG_PMTU = 1u << 6,
};

// struct ip_options as ip_rcv_options leaves it: offsets (from the IP header)
// of the options found, and what a reply must fill in.
struct IpOptions {
  uint8_t optlen = 0;
  uint8_t rr = 0, ts = 0, srr = 0, router_alert = 0, cipso = 0;
  bool rr_needaddr = false, ts_needaddr = false, ts_needtime = false;
};

struct InetSkbParm {
  int iif;
  uint16_t flags;
  uint16_t frag_max_size;
  IpOptions opt;  // Linux keeps it between iif and flags; the place does not matter here
};
static_assert(sizeof(InetSkbParm) <= sizeof(SkBuff::cb));

inline InetSkbParm* IPCB(SkBuff* skb) { return reinterpret_cast<InetSkbParm*>(skb->cb); }

}  // namespace nettwin
