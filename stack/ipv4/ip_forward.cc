// net/ipv4/ip_forward.c: the input of a forwarding dst. TTL check (time
// exceeded), DF against the out device's MTU (fragmentation needed), TTL
// decrement with an incremental checksum, the redirect, the FORWARD hook,
// then dst_output.
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ip_cb.h"
#include "ipv4/ipv4.h"
#include "netfilter/nf_hook.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

// ip_decrease_ttl: RFC 1624 incremental update of the header checksum.
void ip_decrease_ttl(uint8_t* iph) {
  uint32_t check = wire::load_be16(iph + 10);
  check += 0x0100;
  wire::store_be16(iph + 10, uint16_t(check + (check >= 0xffff)));
  iph[8]--;
}

// ip_exceeds_mtu: DF set and longer than the MTU (not GSO here).
bool ip_exceeds_mtu(const SkBuff* skb, unsigned mtu) {
  if (skb->len <= mtu) return false;
  return wire::Iphdr{skb_network_header(skb)}.frag_off() & wire::IP_DF;
}

int ip_forward_finish(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_forward_finish", skb);
  // IPSTATS_MIB_OUTFORWDATAGRAMS is not in /proc/net/snmp; ForwDatagrams there counts inbound.
  skb->tstamp = 0;             // skb_clear_tstamp
  return dst_output(net, skb);
}

}  // namespace

int ip_forward(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  checkpoint(net.tracer, "ip_forward", skb);
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  DstEntry* rt = skb->dst;
  if (skb->pkt_type != PACKET_HOST) goto drop;
  if (wire::Iphdr{skb_network_header(skb)}.ttl() <= 1) {
    // Tell the sender its packet died.
    net.mib.ip.InHdrErrors++;
    icmp_send(skb, wire::ICMP_TIME_EXCEEDED, wire::ICMP_EXC_TTL, 0);
    reason = SkbDropReason::IP_INHDR;
    goto drop;
  }
  IPCB(skb)->flags |= IPSKB_FORWARDED;
  net.mib.ip.ForwDatagrams++;  // IPSTATS_MIB_INFORWDATAGRAMS: what /proc/net/snmp shows
  {
    // ip_forward_use_pmtu 0: the route's MTU metric or the device's, no path MTU.
    const unsigned mtu = ip_dst_mtu_maybe_forward(rt, true);
    if (ip_exceeds_mtu(skb, mtu)) {
      net.mib.ip.FragFails++;
      icmp_send(skb, wire::ICMP_DEST_UNREACH, wire::ICMP_FRAG_NEEDED, mtu);
      reason = SkbDropReason::PKT_TOO_BIG;
      goto drop;
    }
  }
  // skb_cow: the header is about to change; a shared buffer gets a private copy.
  if (skb_cloned(skb)) pskb_expand_head(skb, 0, 0);
  ip_decrease_ttl(skb_network_header(skb));
  if (IPCB(skb)->flags & IPSKB_DOREDIRECT) ip_rt_send_redirect(skb);
  return NF_HOOK(NF_INET_FORWARD, net, skb, skb->dev, rt->dev, ip_forward_finish);
drop:
  checkpoint(net.tracer, "ip_forward", skb, "drop");
  kfree_skb(skb, reason, "ip_forward");
  return NET_RX_DROP;
}

}  // namespace nettwin
