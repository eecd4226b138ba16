// net/ipv4/route.c: input routing (ip_route_input_slow and its helpers
// __mkroute_input, ip_error) and output routing (ip_route_output_key_hash_rcu),
// with the dsts cached on the FIB entries as Linux caches them on the nexthop.
#include <algorithm>

#include "core/jiffies.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ip_cb.h"
#include "ipv4/ipv4.h"
#include "socket/sock.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

// inet_select_addr: the device's first address in dst's subnet, else its primary.
wire::Ipv4Addr inet_select_addr(const NetDevice* dev, wire::Ipv4Addr dst) {
  if (!dev || dev->ifa_list.empty()) return 0;
  for (const auto& ifa : dev->ifa_list)
    if (((dst ^ ifa.ifa_local) & ifa.ifa_mask) == 0) return ifa.ifa_local;
  return dev->ifa_list.front().ifa_local;
}

constexpr int kEINVAL = 22, kEXDEV = 18, kEHOSTUNREACH = 113, kENETUNREACH = 101, kEACCES = 13;

int ip_rt_bug(Net&, SkBuff* skb) {
  kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "ip_rt_bug");
  return 0;
}

void set_local_input(DstEntry* dst, NetDevice* dev, uint8_t type, unsigned flags) {
  dst->dev = dev;
  dst->input = ip_local_deliver;
  dst->output = ip_rt_bug;
  dst->rt_type = type;
  dst->rt_flags = flags | RTCF_LOCAL;
  dst->error = 0;
  dst->rt_is_input = true;
}

// __fib_validate_source: the reverse route toward saddr must be unicast; 1
// when saddr is directly connected through dev (nh scope host), 0 otherwise.
int __fib_validate_source(Net& net, SkBuff* skb, wire::Ipv4Addr src, wire::Ipv4Addr dst, uint8_t tos, int oif,
                          NetDevice* dev, int rpf) {
  Flowi4 fl4;
  fl4.iif = oif ? oif : LOOPBACK_IFINDEX;
  fl4.daddr = src;
  fl4.saddr = dst;
  fl4.tos = tos;
  fl4.mark = 0;
  (void)skb;
  const bool no_addr = dev->ifa_list.empty();
  FibResult res;
  if (fib_lookup(net, fl4, &res) != 0) return rpf ? -kEXDEV : 0;  // last_resort
  if (res.type != RTN_UNICAST && (res.type != RTN_LOCAL || !in_dev_accept_local(net, dev))) return -kEINVAL;
  if (res.route->dev == dev) return res.route->nh_scope >= RT_SCOPE_HOST;
  if (no_addr) return rpf ? -kEXDEV : 0;
  if (rpf == 1) return -kEXDEV;
  fl4.oif = dev->ifindex;
  int ret = 0;
  if (fib_lookup(net, fl4, &res, true) == 0 && res.type == RTN_UNICAST) ret = res.route->nh_scope >= RT_SCOPE_HOST;
  return ret;
}

// fib_validate_source: with rp_filter off and no redirect to consider, only a
// source that is one of our own addresses is refused (no route lookup).
int fib_validate_source(Net& net, SkBuff* skb, wire::Ipv4Addr src, wire::Ipv4Addr dst, uint8_t tos, int oif,
                        NetDevice* dev) {
  const int rpf = in_dev_rpfilter(net, dev);
  if (!rpf && (dev->ifindex != oif || !in_dev_tx_redirects(net, dev))) {
    if (in_dev_accept_local(net, dev)) return 0;
    if (net.fib.has_custom_rules) return __fib_validate_source(net, skb, src, dst, tos, oif, dev, rpf);
    return inet_lookup_ifaddr(net, src) ? -kEINVAL : 0;
  }
  return __fib_validate_source(net, skb, src, dst, tos, oif, dev, rpf);
}

// fib_validate_source_reason
SkbDropReason validate_source_reason(int err) {
  if (err >= 0) return SkbDropReason::NOT_DROPPED_YET;
  return err == -kEXDEV ? SkbDropReason::IP_RPFILTER : SkbDropReason::IP_LOCAL_SOURCE;
}

// __mkroute_input: a forwarding dst (input ip_forward, output ip_output),
// cached on the route; IPSKB_DOREDIRECT when the packet leaves by the device
// it came in on toward a next hop on the sender's own link.
SkbDropReason __mkroute_input(Net& net, SkBuff* skb, const FibResult& res, NetDevice* in_dev, wire::Ipv4Addr daddr,
                              wire::Ipv4Addr saddr, uint8_t tos) {
  (void)daddr;
  FibRoute* r = res.route;
  NetDevice* out_dev = r->dev;
  int err = fib_validate_source(net, skb, saddr, daddr, tos, out_dev->ifindex, in_dev);
  if (err < 0) return validate_source_reason(err);
  if (out_dev == in_dev && err && in_dev_tx_redirects(net, out_dev) && skb->protocol == wire::ETH_P_IP) {
    if (net.sysctl.shared_media || inet_addr_onlink(out_dev, saddr, r->gw)) IPCB(skb)->flags |= IPSKB_DOREDIRECT;
  }
  if (skb->protocol != wire::ETH_P_IP) {
    // Not IP (ARP): no route when it would go back out the same device.
    if (out_dev == in_dev) return SkbDropReason::NOT_SPECIFIED;
  }
  if (!r->rth_input_valid) {
    DstEntry& d = r->rth_input;
    d.dev = out_dev;
    d.input = ip_forward;
    d.output = ip_output;
    d.rt_type = res.type;
    d.rt_flags = 0;
    d.error = 0;
    d.rt_gw4 = r->gw;
    d.rt_uses_gateway = r->gw != 0;
    d.rt_is_input = true;
    d.metrics = r->fib_metrics;  // rt_set_nexthop: dst_init_metrics
    r->rth_input_valid = true;
  }
  skb_dst_set_noref(skb, &r->rth_input);
  return SkbDropReason::NOT_DROPPED_YET;
}

// The local_input label with res.type RTN_UNREACHABLE: a per-device dst whose
// input is ip_error, carrying the errno that decides what ip_error does.
void no_route(SkBuff* skb, NetDevice* dev, int err) {
  DstEntry* dst = &dev->rt_unreach_input;
  set_local_input(dst, dev, RTN_UNREACHABLE, 0);
  dst->input = ip_error;
  dst->error = err;
  dst->rt_flags &= ~RTCF_LOCAL;
  skb_dst_set_noref(skb, dst);
}

// ip_route_input_slow: the martian checks, the FIB lookup, then local input,
// broadcast input, forwarding, or an ip_error dst.
SkbDropReason ip_route_input_slow(SkBuff* skb, wire::Ipv4Addr daddr, wire::Ipv4Addr saddr, uint8_t tos,
                                  NetDevice* dev) {
  Net& net = dev_net(dev);
  const bool forwarding = in_dev_forward(net, dev);
  if (wire::ipv4_is_multicast(saddr) || wire::ipv4_is_lbcast(saddr)) return SkbDropReason::IP_INVALID_SOURCE;
  bool broadcast = wire::ipv4_is_lbcast(daddr) || (saddr == 0 && daddr == 0);
  if (!broadcast) {
    if (wire::ipv4_is_zeronet(saddr)) return SkbDropReason::IP_INVALID_SOURCE;
    if (wire::ipv4_is_zeronet(daddr)) return SkbDropReason::IP_INVALID_DEST;
    if ((wire::ipv4_is_loopback(daddr) || wire::ipv4_is_loopback(saddr)) && !net.sysctl.route_localnet)
      return SkbDropReason::IP_LOCALNET;
    Flowi4 fl4;
    fl4.iif = dev->ifindex;
    fl4.mark = skb->mark;
    fl4.tos = tos;
    fl4.daddr = daddr;
    fl4.saddr = saddr;
    FibResult res;
    int err = fib_lookup(net, fl4, &res);
    if (err != 0) {
      no_route(skb, dev, forwarding ? err : -kEHOSTUNREACH);
      return SkbDropReason::NOT_DROPPED_YET;
    }
    if (res.type == RTN_BROADCAST) {
      broadcast = true;
    } else if (res.type == RTN_LOCAL) {
      SkbDropReason reason = validate_source_reason(fib_validate_source(net, skb, saddr, daddr, tos, 0, dev));
      if (reason != SkbDropReason::NOT_DROPPED_YET) return reason;
      FibRoute* r = res.route;
      if (!r->rth_input_valid) {
        set_local_input(&r->rth_input, r->dev, RTN_LOCAL, 0);
        r->rth_input_valid = true;
      }
      skb_dst_set_noref(skb, &r->rth_input);
      return SkbDropReason::NOT_DROPPED_YET;
    } else if (!forwarding) {
      no_route(skb, dev, -kEHOSTUNREACH);
      return SkbDropReason::NOT_DROPPED_YET;
    } else if (res.type != RTN_UNICAST) {
      return SkbDropReason::IP_INVALID_DEST;  // martian_destination
    } else {
      return __mkroute_input(net, skb, res, dev, daddr, saddr, tos);
    }
  }
  // brd_input
  if (skb->protocol != wire::ETH_P_IP) return SkbDropReason::INVALID_PROTO;
  if (!wire::ipv4_is_zeronet(saddr)) {
    SkbDropReason reason = validate_source_reason(fib_validate_source(net, skb, saddr, 0, tos, 0, dev));
    if (reason != SkbDropReason::NOT_DROPPED_YET) return reason;
  }
  set_local_input(&dev->rt_brd_input, dev, RTN_BROADCAST, RTCF_BROADCAST);
  skb_dst_set_noref(skb, &dev->rt_brd_input);
  return SkbDropReason::NOT_DROPPED_YET;
}

}  // namespace

// ip_error: the input of a dst that has no route. With forwarding off only
// counted; with it on, answered with destination unreachable (rate limited
// per source by the inet_peer's token bucket, ip_rt_error_cost / _burst).
int ip_error(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  const int err = -skb->dst->error;
  if (!in_dev_forward(net, skb->dev)) {
    if (err == kEHOSTUNREACH) {
      reason = SkbDropReason::IP_INADDRERRORS;
      net.mib.ip.InAddrErrors++;
    } else if (err == kENETUNREACH) {
      reason = SkbDropReason::IP_INNOROUTES;
      net.mib.ip.InNoRoutes++;
    }
  } else {
    int code = -1;
    switch (err) {
      case kEHOSTUNREACH: code = wire::ICMP_HOST_UNREACH; break;
      case kENETUNREACH:
        code = wire::ICMP_NET_UNREACH;
        reason = SkbDropReason::IP_INNOROUTES;
        net.mib.ip.InNoRoutes++;
        break;
      case kEACCES: code = wire::ICMP_PKT_FILTERED; break;
      default: break;
    }
    if (code >= 0) {
      const uint64_t now = ns_to_jiffies(net.engine.now());
      InetPeer& peer = *inet_getpeer_v4(net, wire::Iphdr{skb_network_header(skb)}.saddr());
      const uint64_t cost = HZ, burst = 5 * HZ;  // ip_rt_error_cost, ip_rt_error_burst
      peer.rate_tokens = std::min(burst, peer.rate_tokens + (now - peer.rate_last));
      peer.rate_last = now;
      bool send = peer.rate_tokens >= cost;
      if (send) peer.rate_tokens -= cost;
      if (send) icmp_send(skb, wire::ICMP_DEST_UNREACH, code, 0);
    }
  }
  checkpoint(net.tracer, "ip_error", skb, "drop");
  kfree_skb(skb, reason, "ip_error");
  return 0;
}

// ip_rt_send_redirect: ICMP host redirect to the sender, at most
// ip_rt_redirect_number (9) of them, the k-th waiting ip_rt_redirect_load << k
// jiffies after the last; ip_rt_redirect_silence quiet jiffies start over.
void ip_rt_send_redirect(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  DstEntry* rt = skb->dst;
  if (!in_dev_tx_redirects(net, rt->dev)) return;
  wire::Iphdr iph{skb_network_header(skb)};
  constexpr uint64_t redirect_load = HZ / 50, redirect_number = 9, redirect_silence = redirect_load << (9 + 1);
  const uint64_t now = ns_to_jiffies(net.engine.now());
  InetPeer& peer = *inet_getpeer_v4(net, iph.saddr());
  // time_after: a signed difference, as jiffies wrap (and a new peer's rate_last is in the past).
  auto time_after = [](uint64_t a, uint64_t b) { return int64_t(a - b) > 0; };
  if (time_after(now, peer.rate_last + redirect_silence)) {
    peer.rate_tokens = 0;
    peer.n_redirects = 0;
  }
  if (peer.n_redirects >= redirect_number) {
    peer.rate_last = now;
    return;
  }
  if (peer.n_redirects == 0 || time_after(now, peer.rate_last + (redirect_load << peer.n_redirects))) {
    const wire::Ipv4Addr gw = rt->rt_uses_gateway ? rt->rt_gw4 : iph.daddr();  // rt_nexthop
    inet_peer_hold(&peer);  // Linux's RCU read side: the peer outlives icmp_send's own lookups
    icmp_send(skb, wire::ICMP_REDIRECT, wire::ICMP_REDIR_HOST, gw);
    peer.rate_last = now;
    ++peer.n_redirects;
    inet_putpeer(&peer);
  }
}

int ip_route_input_noref(SkBuff* skb, wire::Ipv4Addr daddr, wire::Ipv4Addr saddr, uint8_t tos, NetDevice* dev,
                         SkbDropReason* reason) {
  if (wire::ipv4_is_multicast(daddr)) {
    // ip_route_input_rcu: no multicast group is joined and mc forwarding is off.
    *reason = SkbDropReason::NOT_SPECIFIED;
    return -kEINVAL;
  }
  *reason = ip_route_input_slow(skb, daddr, saddr, tos, dev);
  return *reason == SkbDropReason::NOT_DROPPED_YET ? 0 : -kEINVAL;
}

namespace {

NetDevice* ip_dev_find(Net& net, wire::Ipv4Addr addr) {
  for (const auto& d : net.devices)
    for (const auto& ifa : d->ifa_list)
      if (ifa.ifa_local == addr) return d.get();
  return nullptr;
}

// __mkroute_output for a limited broadcast (no FIB entry): a per-device dst
// that loops a copy back (ip_mc_output) and sends the packet out of dev.
DstEntry* mkroute_output_lbcast(NetDevice* dev) {
  DstEntry& d = dev->rt_brd_output;
  d.dev = dev;
  d.input = ip_local_deliver;
  d.output = (dev->flags & IFF_LOOPBACK) ? ip_output : ip_mc_output;
  d.rt_type = RTN_BROADCAST;
  d.rt_flags = RTCF_BROADCAST | RTCF_LOCAL;
  d.rt_gw4 = 0;
  d.rt_uses_gateway = false;
  d.rt_is_input = false;
  return &d;
}

}  // namespace

namespace {
// __mkroute_output: a loopback source may not leave by a real device.
bool loopback_src_off_loopback(const Flowi4& fl4, const NetDevice* dev_out) {
  return wire::ipv4_is_loopback(fl4.saddr) && !(dev_out->flags & IFF_LOOPBACK);
}
}  // namespace

Flowi4 ip_rt_build_flow_key(const Sock* sk) {
  Flowi4 fl4;
  fl4.oif = sk->sk_bound_dev_if;
  fl4.daddr = sk->inet_daddr;
  fl4.saddr = sk->inet_saddr;
  fl4.proto = uint8_t(sk->sk_protocol);
  fl4.tos = sk->tos & 0xfc;
  fl4.sport = sk->inet_sport;
  fl4.dport = sk->inet_dport;
  return fl4;
}

namespace {

// net->loopback_dev: the loopback device, when there is one and it is up.
NetDevice* loopback_dev(Net& net) {
  NetDevice* lo = nullptr;
  for (const auto& d : net.devices)
    if ((d->flags & IFF_LOOPBACK) && d->is_up()) lo = d.get();
  return lo;
}

// An output route to ourselves, through lo (rt_dst_alloc for RTN_LOCAL).
void set_local_output(DstEntry& d, NetDevice* lo) {
  d.dev = lo;
  d.input = ip_local_deliver;
  d.output = ip_output;
  d.rt_type = RTN_LOCAL;
  d.rt_flags = RTCF_LOCAL;
  d.rt_gw4 = 0;
  d.rt_uses_gateway = false;
  d.rt_is_input = false;
}

}  // namespace

DstEntry* ip_route_output_key(Net& net, Flowi4& fl4, int* err) {
  if (err) *err = -kENETUNREACH;
  fl4.iif = LOOPBACK_IFINDEX;
  fl4.scope = RT_SCOPE_UNIVERSE;
  if (fl4.saddr) {
    if (wire::ipv4_is_multicast(fl4.saddr) || wire::ipv4_is_lbcast(fl4.saddr) || wire::ipv4_is_zeronet(fl4.saddr))
      return nullptr;
    // A limited broadcast from one of our addresses leaves by that address's device, unrouted.
    if (!fl4.oif && wire::ipv4_is_lbcast(fl4.daddr)) {
      NetDevice* dev = ip_dev_find(net, fl4.saddr);
      if (!dev) return nullptr;
      fl4.oif = dev->ifindex;
      return mkroute_output_lbcast(dev);
    }
    // __ip_dev_find: the source must be ours, unless the flow may use any source.
    if (!(fl4.flags & FLOWI_FLAG_ANYSRC) && !ip_dev_find(net, fl4.saddr)) return nullptr;
  }
  if (fl4.oif) {
    NetDevice* dev = net.dev_get_by_index(fl4.oif);
    if (!dev || !dev->is_up()) return nullptr;
    if (wire::ipv4_is_lbcast(fl4.daddr)) {
      if (!fl4.saddr) fl4.saddr = inet_select_addr(dev, 0);
      if (loopback_src_off_loopback(fl4, dev)) {
        if (err) *err = -kEINVAL;
        return nullptr;
      }
      return mkroute_output_lbcast(dev);
    }
    // IGMP with an output device: straight out of it, no FIB lookup (and none
    // traced), from a link-scope source (ip_route_output_key_hash_rcu's
    // make_route). Linux does the same for link-local multicast destinations,
    // which still take the FIB here.
    if (fl4.proto == wire::IPPROTO_IGMP && !wire::ipv4_is_multicast(fl4.daddr) && fl4.daddr) {
      if (!fl4.saddr) fl4.saddr = inet_select_addr(dev, 0);
      if (loopback_src_off_loopback(fl4, dev)) {
        if (err) *err = -kEINVAL;
        return nullptr;
      }
      DstEntry& d = dev->rt_igmp_output;
      d = DstEntry{};
      d.dev = dev;
      d.output = ip_output;
      d.rt_type = RTN_UNSPEC;  // __mkroute_output keeps the empty fib_result's type
      return &d;
    }
  }
  if (!fl4.daddr) {
    // No destination: to ourselves, from the source or else 127.0.0.1, through
    // the loopback device, without a FIB lookup (ip_route_output_key_hash_rcu).
    fl4.daddr = fl4.saddr;
    if (!fl4.daddr) fl4.daddr = fl4.saddr = 0x7f000001;
    NetDevice* lo = loopback_dev(net);
    if (!lo) return nullptr;
    fl4.oif = lo->ifindex;
    set_local_output(lo->rt_local_output, lo);
    return &lo->rt_local_output;
  }
  FibResult res;
  if (fib_lookup(net, fl4, &res) != 0) return nullptr;
  FibRoute* r = res.route;
  if (res.type == RTN_LOCAL) {
    // To ourselves: through the loopback device (net->loopback_dev), when there is one.
    NetDevice* lo = loopback_dev(net);
    if (!lo) return nullptr;
    if (!fl4.saddr) fl4.saddr = r->prefsrc ? r->prefsrc : fl4.daddr;
    fl4.oif = lo->ifindex;
    if (!r->rth_output_valid) {
      set_local_output(r->rth_output, lo);
      r->rth_output.metrics = r->fib_metrics;
      r->rth_output_valid = true;
    }
    return &r->rth_output;
  }
  if (!fl4.saddr) fl4.saddr = r->prefsrc ? r->prefsrc : inet_select_addr(r->dev, fl4.daddr);
  if (loopback_src_off_loopback(fl4, r->dev)) {
    if (err) *err = -kEINVAL;
    return nullptr;
  }
  if (!r->rth_output_valid) {
    DstEntry& d = r->rth_output;
    d.dev = r->dev;
    d.input = nullptr;
    const bool brd = res.type == RTN_BROADCAST;
    d.output = brd && !(r->dev->flags & IFF_LOOPBACK) ? ip_mc_output : ip_output;
    d.input = brd ? ip_local_deliver : nullptr;
    d.rt_type = res.type;
    d.rt_flags = brd ? unsigned(RTCF_BROADCAST | RTCF_LOCAL) : 0u;
    d.rt_gw4 = r->gw;
    d.rt_uses_gateway = r->gw != 0;
    d.rt_is_input = false;
    d.metrics = r->fib_metrics;  // rt_set_nexthop: dst_init_metrics
    r->rth_output_valid = true;
  }
  // find_exception: a destination with a learnt path MTU has its own route
  // (rt_bind_exception); an expired exception is forgotten.
  const uint64_t now = ns_to_jiffies(net.engine.now());
  auto& ex = r->exceptions;
  for (auto it = ex.begin(); it != ex.end(); ++it) {
    FibNhException& fnhe = **it;
    if (fnhe.fnhe_daddr != fl4.daddr) continue;
    if (fnhe.fnhe_expires && now >= fnhe.fnhe_expires) {
      ex.erase(it);  // ip_del_fnhe (the route cached in it goes with it)
      break;
    }
    if (!fnhe.fnhe_rth_output_valid) {
      fnhe.fnhe_rth_output = r->rth_output;
      fnhe.fnhe_rth_output_valid = true;
    }
    fnhe.fnhe_rth_output.rt_pmtu = fnhe.fnhe_pmtu;
    fnhe.fnhe_rth_output.rt_mtu_locked = fnhe.fnhe_mtu_locked;  // rt_bind_exception
    fnhe.fnhe_rth_output.expires = fnhe.fnhe_expires;
    return &fnhe.fnhe_rth_output;
  }
  return &r->rth_output;
}

namespace {
constexpr uint32_t ip_rt_min_pmtu = 512 + 20 + 20;         // net.ipv4.route.min_pmtu
constexpr uint64_t ip_rt_mtu_expires = 10 * 60 * HZ;       // net.ipv4.route.mtu_expires
}  // namespace

unsigned ip_dst_mtu_maybe_forward(const DstEntry* dst, bool forwarding) {
  unsigned mtu = forwarding && !ip_mtu_locked(dst) ? 0 : dst->rt_pmtu;
  if (mtu && ns_to_jiffies(dev_net(dst->dev).engine.now()) >= dst->expires) mtu = 0;
  if (!mtu) mtu = dst_metric(dst, RTAX_MTU);
  if (!mtu) {
    mtu = dst->dev->mtu;
    // A locked MTU without a value: 576 toward a gateway (ip_dst_mtu_maybe_forward).
    if (ip_mtu_locked(dst) && dst->rt_uses_gateway && mtu > 576) mtu = 576;
  }
  return std::min<unsigned>(mtu, 0xFFFFu);  // IP_MAX_MTU
}

unsigned ipv4_mtu(const DstEntry* dst) { return ip_dst_mtu_maybe_forward(dst, false); }

bool ip_sk_use_pmtu(const Sock* sk) { return sk->pmtudisc < IP_PMTUDISC_PROBE_; }

unsigned ip_skb_dst_mtu(SkBuff* skb) {
  const DstEntry* dst = skb->dst;
  if (!skb->sk || ip_sk_use_pmtu(skb->sk))
    return ip_dst_mtu_maybe_forward(dst, IPCB(skb)->flags & IPSKB_FORWARDED);
  return std::min<unsigned>(dst->dev->mtu, 0xFFFFu);
}

bool ip_dont_fragment(const Sock* sk, const DstEntry* dst) {
  return sk->pmtudisc == IP_PMTUDISC_DO_ || (sk->pmtudisc == IP_PMTUDISC_WANT_ && !ip_mtu_locked(dst));
}

unsigned dst_metric_advmss(const DstEntry* dst) {
  if (const uint32_t advmss = dst_metric(dst, RTAX_ADVMSS)) return advmss;
  constexpr unsigned header_size = 20 + 20;  // sizeof(struct tcphdr) + sizeof(struct iphdr)
  constexpr unsigned ip_rt_min_advmss = 256;  // net.ipv4.route.min_adv_mss
  return std::min(std::max(ipv4_mtu(dst) - header_size, ip_rt_min_advmss), 0xFFFFu - header_size);
}

void __ip_rt_update_pmtu(Net& net, const DstEntry* dst, Flowi4& fl4, uint32_t mtu) {
  const uint32_t old_mtu = ipv4_mtu(dst);
  if (ip_mtu_locked(dst)) return;
  if (old_mtu < mtu) return;
  bool lock = false;
  if (mtu < ip_rt_min_pmtu) {
    lock = true;  // the exception locks it: no DF on what follows (ip_dont_fragment)
    mtu = std::min(old_mtu, ip_rt_min_pmtu);
  }
  FibResult res;
  if (fib_lookup(net, fl4, &res) != 0 || res.type != RTN_UNICAST) return;
  // update_or_create_fnhe.
  const uint64_t expires = ns_to_jiffies(net.engine.now()) + ip_rt_mtu_expires;
  for (auto& fnhe : res.route->exceptions) {
    if (fnhe->fnhe_daddr != fl4.daddr) continue;
    fnhe->fnhe_pmtu = mtu;
    fnhe->fnhe_mtu_locked = lock;
    fnhe->fnhe_expires = std::max<uint64_t>(1, expires);
    return;
  }
  auto fnhe = std::make_unique<FibNhException>();
  fnhe->fnhe_daddr = fl4.daddr;
  fnhe->fnhe_pmtu = mtu;
  fnhe->fnhe_mtu_locked = lock;
  fnhe->fnhe_expires = std::max<uint64_t>(1, expires);
  res.route->exceptions.push_back(std::move(fnhe));
}


}  // namespace nettwin
