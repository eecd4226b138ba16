// struct dst_entry with struct rtable folded in: what a route lookup hands the
// skb. input/output are the seams Linux has (ip_local_deliver, ip_output...).
#pragma once

#include <array>
#include <cstdint>

#include "core/jiffies.h"
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

// The route metrics (include/uapi/linux/rtnetlink.h RTAX_*): what `ip route ...
// initcwnd 20 rto_min 100ms` sets, kept per fib_info and copied into each dst
// (dst_init_metrics). Slot RTAX_LOCK holds the locked metrics as 1 << RTAX_x.
enum : int {
  RTAX_LOCK = 1,
  RTAX_MTU = 2,
  RTAX_WINDOW = 3,
  RTAX_RTT = 4,
  RTAX_RTTVAR = 5,
  RTAX_SSTHRESH = 6,
  RTAX_CWND = 7,
  RTAX_ADVMSS = 8,
  RTAX_REORDERING = 9,
  RTAX_HOPLIMIT = 10,
  RTAX_INITCWND = 11,
  RTAX_FEATURES = 12,
  RTAX_RTO_MIN = 13,
  RTAX_INITRWND = 14,
  RTAX_QUICKACK = 15,
  RTAX_CC_ALGO = 16,
  RTAX_FASTOPEN_NO_COOKIE = 17,
  RTAX_MAX = 17,
};
enum : uint32_t {
  RTAX_FEATURE_ECN = 1u << 0,
  DST_FEATURE_ECN_CA = 1u << 31,  // the route's congestion control wants ECN (ip_metrics_convert)
  DST_FEATURE_ECN_MASK = RTAX_FEATURE_ECN | DST_FEATURE_ECN_CA,
};
using DstMetrics = std::array<uint32_t, RTAX_MAX>;  // metrics[RTAX_x - 1]

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
  bool rt_mtu_locked = false;  // that MTU was below ip_rt_min_pmtu: locked (no DF)
  uint64_t expires = 0;
  DstMetrics metrics{};  // the route's (dst_init_metrics), 0: unset
};

// dst_metric_raw / dst_metric: a metric of the route (0: unset).
inline uint32_t dst_metric(const DstEntry* dst, int metric) { return dst->metrics[metric - 1]; }
inline bool dst_metric_locked(const DstEntry* dst, int metric) {
  return dst && (dst_metric(dst, RTAX_LOCK) & (1u << metric));
}
inline uint32_t dst_feature(const DstEntry* dst, uint32_t feature) { return dst_metric(dst, RTAX_FEATURES) & feature; }
// dst_metric_rtt: a time metric (kept in ms) in jiffies.
inline uint32_t dst_metric_rtt(const DstEntry* dst, int metric) {
  return uint32_t(msecs_to_jiffies(dst_metric(dst, metric)));
}

inline DstEntry* skb_dst(const SkBuff* skb) { return skb->dst; }
inline void skb_dst_set_noref(SkBuff* skb, DstEntry* dst) { skb->dst = dst; }
inline bool skb_valid_dst(const SkBuff* skb) { return skb->dst != nullptr; }
inline int dst_input(SkBuff* skb) { return skb->dst->input(skb); }
inline int dst_output(Net& net, SkBuff* skb) { return skb->dst->output(net, skb); }

}  // namespace nettwin
