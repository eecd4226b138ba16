// net/ipv4/ip_output.c: __ip_local_out → dst_output → ip_output →
// ip_finish_output → ip_finish_output2 → neighbour output.
#include <algorithm>

#include "core/dev.h"
#include "core/gso.h"
#include "core/neighbour.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/fib.h"
#include "ipv4/ip_fragment.h"
#include "ipv4/ip_cb.h"
#include "ipv4/ipv4.h"
#include "netfilter/nf_hook.h"
#include "socket/sock.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

uint16_t ip_select_ident(Net& net) { return uint16_t(net.rng.next()); }

namespace {

// sock_confirm_neigh (include/net/sock.h): the socket's pending confirmation
// is spent on this neighbour.
void sock_confirm_neigh(SkBuff* skb, NeighbourEntry* n) {
  if (!skb->dst_pending_confirm) return;
  if (skb->sk) skb->sk->sk_dst_pending_confirm = false;
  neigh_confirm(n);
}

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
  sock_confirm_neigh(skb, n);
  return neigh_output(n, skb);
}

// ip_finish_output_gso: a GSO skb goes on whole when each of its segments
// fits the MTU (the common case: TCP cut it to the MSS); otherwise it is
// segmented here and each segment fragmented as it needs.
int ip_finish_output_gso(Net& net, SkBuff* skb, unsigned mtu) {
  if (skb_gso_validate_network_len(skb, mtu)) return ip_finish_output2(net, skb);
  // skb_gso_segment wants the data at a MAC header: here it is the IP header.
  skb_reset_mac_header(skb);
  SkBuff* segs = skb_gso_segment(skb, skb->dev->features & ~(uint64_t(~0u) << NETIF_F_GSO_SHIFT));
  if (!segs) {
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "ip_finish_output_gso");
    return -12;  // -ENOMEM
  }
  consume_skb(skb, "ip_finish_output_gso");
  int ret = 0;
  while (segs) {
    SkBuff* nskb = segs->next;
    segs->next = nullptr;
    const int err = segs->len > mtu ? ip_fragment(net, segs, mtu, ip_finish_output2) : ip_finish_output2(net, segs);
    if (err && ret == 0) ret = err;
    segs = nskb;
  }
  return ret;
}

int ip_finish_output(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_finish_output", skb);
  const unsigned mtu = ip_skb_dst_mtu(skb);
  if (skb_is_gso(skb)) return ip_finish_output_gso(net, skb, mtu);
  if (skb->len > mtu) return ip_fragment(net, skb, mtu, ip_finish_output2);
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

int ip_queue_xmit(Sock* sk, SkBuff* skb) {
  Net& net = *sk->net;
  // __sk_dst_check: the connected route, looked up again only when it was reset.
  DstEntry* rt = sk->sk_dst_cache;
  if (!rt) {
    Flowi4 fl4 = ip_rt_build_flow_key(sk);  // ip_route_output_ports
    rt = ip_route_output_key(net, fl4);
    if (!rt) {
      net.mib.ip.OutNoRoutes++;
      kfree_skb(skb, SkbDropReason::IP_OUTNOROUTES, "__ip_queue_xmit");
      return -113;  // -EHOSTUNREACH
    }
    sk->sk_dst_cache = rt;  // sk_setup_caps
  }
  skb->dst = rt;
  skb_push(skb, wire::IPV4_MIN_HLEN);
  skb_reset_network_header(skb);
  wire::Iphdr iph{skb->data};
  iph.set_version_ihl(4, 5);
  iph.set_tos(sk->tos);
  iph.set_frag_off(ip_dont_fragment(sk, rt) ? wire::IP_DF : 0);
  iph.set_ttl(uint8_t(sk->uc_ttl >= 0 ? sk->uc_ttl : net.sysctl.ip_default_ttl));
  iph.set_protocol(uint8_t(sk->sk_protocol));
  iph.set_saddr(sk->inet_saddr);
  iph.set_daddr(sk->inet_daddr);
  // ip_select_ident_segs: a connected socket numbers its datagrams from
  // inet_id (random at connect/accept), one per segment.
  const unsigned segs = skb_shinfo(skb)->gso_segs ? skb_shinfo(skb)->gso_segs : 1;
  iph.set_id(sk->inet_id);
  sk->inet_id = uint16_t(sk->inet_id + segs);
  skb->priority = sk->sk_priority;
  skb->protocol = wire::ETH_P_IP;
  skb->dev = rt->dev;
  checkpoint(net.tracer, "__ip_queue_xmit", skb);
  return ip_local_out(net, skb);
}

bool ip_send_unicast_reply(Net& net, const SkBuff* skb, uint8_t* th, unsigned len, uint8_t tos, int oif) {
  constexpr unsigned kLLReservedSpace = 16;  // LL_RESERVED_SPACE of an Ethernet device
  wire::Iphdr in{skb_network_header(skb)};
  IpReplyOptions replyopts;
  if (!ip_options_echo(net, &replyopts, skb)) return false;
  const unsigned optlen = replyopts.opt.optlen;
  const unsigned hlen = unsigned(wire::IPV4_MIN_HLEN) + optlen;
  Flowi4 fl4;
  fl4.daddr = in.saddr();
  fl4.saddr = in.daddr();
  fl4.proto = wire::IPPROTO_TCP;
  fl4.tos = tos & 0xfc;  // inet_sk(ctl_sk)->tos = arg->tos & ~INET_ECN_MASK
  fl4.sport = wire::load_be16(th);
  fl4.dport = wire::load_be16(th + 2);
  fl4.oif = oif;
  DstEntry* rt = ip_route_output_key(net, fl4);
  if (!rt) return false;
  const uint64_t sum = wire::csum_tcpudp_nofold(fl4.saddr, fl4.daddr, len, wire::IPPROTO_TCP);
  wire::store_be16(th + 16, wire::csum_fold(wire::csum_partial(th, len, sum)));

  SkBuff* nskb = net.pool.alloc_skb(hlen + len + kLLReservedSpace);
  skb_reserve(nskb, int(kLLReservedSpace));
  skb_reset_network_header(nskb);
  uint8_t* p = skb_put(nskb, hlen + len);
  skb_set_transport_header(nskb, int(hlen));
  wire::Iphdr iph{p};
  iph.set_version_ihl(4, uint8_t(hlen / 4));
  iph.set_tos(tos & 0xfc);
  iph.set_frag_off(wire::IP_DF);
  iph.set_id(0);  // ip_select_ident_segs: DF and a control socket with no daddr
  iph.set_ttl(uint8_t(net.sysctl.ip_default_ttl));
  iph.set_protocol(wire::IPPROTO_TCP);
  iph.set_saddr(fl4.saddr);
  iph.set_daddr(fl4.daddr);
  if (optlen) {
    std::copy(replyopts.data, replyopts.data + optlen, p + wire::IPV4_MIN_HLEN);
    ip_options_build(net, p, replyopts.opt, fl4.saddr);
  }
  std::copy(th, th + len, p + hlen);
  nskb->ip_summed = CHECKSUM_NONE;
  nskb->dst = rt;
  nskb->dev = rt->dev;
  nskb->protocol = wire::ETH_P_IP;
  checkpoint(net.tracer, "ip_send_unicast_reply", nskb);
  ip_local_out(net, nskb);
  return true;
}

}  // namespace nettwin
