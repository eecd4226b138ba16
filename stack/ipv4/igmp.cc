// net/ipv4/igmp.c: igmp_rcv, the receive side only. The stack joins no
// multicast group but 224.0.0.1 (which queries never report), so a message is
// consumed or freed as Linux does and changes nothing else: a query that
// igmp_heard_query takes is consumed; everything else (short, bad checksum,
// reports to us by unicast, other types) is freed with kfree_skb.
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ipv4.h"
#include "wire/checksum.h"

namespace nettwin {

namespace {

constexpr unsigned kIgmpHdrLen = 8;        // struct igmphdr
constexpr unsigned kIgmpV3QueryLen = 12;   // struct igmpv3_query without sources
constexpr uint8_t IGMP_HOST_MEMBERSHIP_QUERY = 0x11;

// igmp_heard_query's verdict: true when the query is bogus (dropped by the caller).
bool igmp_query_dropped(const SkBuff* skb) {
  const unsigned len = skb->len;
  if (len == kIgmpHdrLen) return false;     // IGMPv1 (code 0) or v2 query
  if (len < kIgmpV3QueryLen) return true;   // "ignore bogus packet; freed by caller"
  const unsigned nsrcs = unsigned(skb->data[10]) << 8 | skb->data[11];
  return nsrcs && !pskb_may_pull(skb, kIgmpV3QueryLen + 4 * nsrcs);
}

}  // namespace

int igmp_rcv(SkBuff* skb) {
  bool dropped = true;
  if (pskb_may_pull(skb, kIgmpHdrLen) &&
      (skb->ip_summed == CHECKSUM_UNNECESSARY || wire::csum_fold(wire::csum_partial(skb->data, skb->len)) == 0)) {
    if (skb->data[0] == IGMP_HOST_MEMBERSHIP_QUERY) dropped = igmp_query_dropped(skb);
    // Reports count only when multicast or broadcast, and we hold no group.
  }
  if (dropped)
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "igmp_rcv");
  else
    consume_skb(skb, "igmp_rcv");
  return 0;
}

}  // namespace nettwin
