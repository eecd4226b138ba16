// struct dst_entry with struct rtable folded in: what a route lookup hands the
// skb. input/output are the seams Linux has (ip_local_deliver, ip_output...).
#pragma once

#include <cstdint>

#include "core/skbuff.h"
#include "wire/bytes.h"

namespace nettwin {

class Net;
struct NetDevice;
struct SkBuff;

enum : unsigned {
  RTCF_BROADCAST = 0x10000000,
  RTCF_MULTICAST = 0x20000000,
  RTCF_LOCAL = 0x80000000,
};

struct DstEntry {
  NetDevice* dev = nullptr;
  int (*input)(SkBuff* skb) = nullptr;
  int (*output)(Net& net, SkBuff* skb) = nullptr;
  int error = 0;  // dst.error (an -errno), read by ip_error
  bool rt_is_input = false;
  // struct rtable
  uint8_t rt_type = 0;  // RTN_*
  unsigned rt_flags = 0;
  bool rt_uses_gateway = false;
  wire::Ipv4Addr rt_gw4 = 0;
  // A route exception's learnt path MTU (0: none) and when it expires (jiffies).
  uint32_t rt_pmtu = 0;
  uint64_t expires = 0;
};

inline DstEntry* skb_dst(const SkBuff* skb) { return skb->dst; }
inline void skb_dst_set_noref(SkBuff* skb, DstEntry* dst) { skb->dst = dst; }
inline bool skb_valid_dst(const SkBuff* skb) { return skb->dst != nullptr; }
inline int dst_input(SkBuff* skb) { return skb->dst->input(skb); }
inline int dst_output(Net& net, SkBuff* skb) { return skb->dst->output(net, skb); }

}  // namespace nettwin
