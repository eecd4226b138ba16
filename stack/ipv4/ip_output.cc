// net/ipv4/ip_output.c: __ip_local_out → dst_output → ip_output →
// ip_finish_output → ip_finish_output2 → neighbour output.
#include "core/neighbour.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ipv4.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

uint16_t ip_select_ident(Net& net) { return uint16_t(net.rng.next()); }

namespace {

int ip_finish_output2(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_finish_output2", skb);
  DstEntry* rt = skb->dst;
  NetDevice* dev = rt->dev;
  const wire::Ipv4Addr nexthop = rt->rt_uses_gateway ? rt->rt_gw4 : wire::Iphdr{skb_network_header(skb)}.daddr();
  NeighbourEntry* n = neigh_lookup(net.arp_tbl, nexthop, dev);  // __ipv4_neigh_lookup_noref
  if (!n) n = __neigh_create(net.arp_tbl, nexthop, dev, false);
  return neigh_output(n, skb);
}

int ip_finish_output(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_finish_output", skb);
  if (skb->len > skb->dst->dev->mtu) {
    // ip_fragment is not part of this stack yet: what is too big is not sent.
    net.mib.ip.OutDiscards++;
    kfree_skb(skb, SkbDropReason::PKT_TOO_BIG, "__ip_finish_output");
    return -90;  // -EMSGSIZE
  }
  return ip_finish_output2(net, skb);
}

}  // namespace

int ip_output(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_output", skb);
  NetDevice* dev = skb->dst->dev;
  net.mib.ip.OutTransmits++;
  net.mib.ip.OutOctets += skb->len;
  skb->dev = dev;
  skb->protocol = wire::ETH_P_IP;
  return ip_finish_output(net, skb);  // NF_HOOK_COND(NF_INET_POST_ROUTING)
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
  return dst_output(net, skb);
}

}  // namespace nettwin
