// net/ipv4/ip_output.c: __ip_local_out → dst_output → ip_output →
// ip_finish_output → ip_finish_output2 → neighbour output.
#include "core/dev.h"
#include "core/neighbour.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ip_fragment.h"
#include "ipv4/ip_cb.h"
#include "ipv4/ipv4.h"
#include "netfilter/nf_hook.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

uint16_t ip_select_ident(Net& net) { return uint16_t(net.rng.next()); }

namespace {

int ip_finish_output2(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_finish_output2", skb);
  DstEntry* rt = skb->dst;
  NetDevice* dev = rt->dev;
  // Counted here, after fragmentation: each fragment is one transmit.
  net.mib.ip.OutTransmits++;
  net.mib.ip.OutOctets += skb->len;
  wire::Ipv4Addr nexthop = rt->rt_uses_gateway ? rt->rt_gw4 : wire::Iphdr{skb_network_header(skb)}.daddr();
  // __ipv4_neigh_lookup_noref / arp_constructor: loopback and point-to-point
  // devices have one neighbour, keyed 0.0.0.0.
  if (dev->flags & IFF_LOOPBACK) nexthop = 0;
  NeighbourEntry* n = neigh_lookup(net.arp_tbl, nexthop, dev);  // __ipv4_neigh_lookup_noref
  if (!n) n = __neigh_create(net.arp_tbl, nexthop, dev, false);
  if (!n) {  // the neighbour table is full
    kfree_skb(skb, SkbDropReason::NEIGH_CREATEFAIL, "ip_finish_output2");
    return -22;  // -EINVAL
  }
  return neigh_output(n, skb);
}

int ip_finish_output(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_finish_output", skb);
  if (skb->len > skb->dst->dev->mtu) return ip_fragment(net, skb, skb->dst->dev->mtu, ip_finish_output2);
  return ip_finish_output2(net, skb);
}

}  // namespace

int ip_output(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_output", skb);
  NetDevice* dev = skb->dst->dev;
  skb->dev = dev;
  skb->protocol = wire::ETH_P_IP;
  return NF_HOOK_COND(NF_INET_POST_ROUTING, net, skb, nullptr, dev, ip_finish_output,
                      !(IPCB(skb)->flags & IPSKB_REROUTED));
}

namespace {

// dev_loopback_xmit: the copy goes back up through the out device's receive
// path as PACKET_LOOPBACK, its dst kept (no second route lookup).
int dev_loopback_xmit(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "dev_loopback_xmit", skb);
  skb_reset_mac_header(skb);
  skb_pull(skb, unsigned(skb_network_offset(skb)));
  skb->pkt_type = PACKET_LOOPBACK;
  if (skb->ip_summed == CHECKSUM_NONE) skb->ip_summed = CHECKSUM_UNNECESSARY;
  Engine& engine = net.engine;
  netif_rx(skb);
  // netif_rx from process context (a socket's send) is local_bh_disable /
  // local_bh_enable around the enqueue: the backlog runs before we go on.
  if (!engine.in_softirq()) engine.do_softirq();
  return 0;
}

int ip_mc_finish_output(Net& net, SkBuff* skb) { return dev_loopback_xmit(net, skb); }

}  // namespace

int ip_mc_output(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_mc_output", skb);
  NetDevice* dev = skb->dst->dev;
  skb->dev = dev;
  skb->protocol = wire::ETH_P_IP;
  // A broadcast is looped back for local listeners, then sent.
  if (skb->dst->rt_flags & RTCF_BROADCAST) {
    if (SkBuff* newskb = skb_clone(skb))
      NF_HOOK(NF_INET_POST_ROUTING, net, newskb, nullptr, dev, ip_mc_finish_output);
  }
  return NF_HOOK_COND(NF_INET_POST_ROUTING, net, skb, nullptr, dev, ip_finish_output,
                      !(IPCB(skb)->flags & IPSKB_REROUTED));
}

int ip_local_out(Net& net, SkBuff* skb) {
  // __ip_local_out: final length and checksum, then the LOCAL_OUT hook.
  wire::Iphdr iph{skb_network_header(skb)};
  iph.set_tot_len(uint16_t(skb->len));
  iph.set_check(0);
  iph.set_check(wire::ip_fast_csum(skb_network_header(skb), iph.ihl()));
  skb->protocol = wire::ETH_P_IP;
  net.mib.ip.OutRequests++;
  checkpoint(net.tracer, "__ip_local_out", skb);
  // The LOCAL_OUT hook (nf_hook in __ip_local_out), then dst_output.
  const int err = nf_hook(NF_INET_LOCAL_OUT, net, skb, nullptr, skb->dst->dev);
  return err == 1 ? dst_output(net, skb) : err;
}

}  // namespace nettwin
