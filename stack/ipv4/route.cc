// net/ipv4/route.c: input routing (ip_route_input_slow) and output routing
// (ip_route_output_key_hash_rcu), with the dsts cached on the FIB entries.
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ipv4.h"
#include "wire/headers.h"

namespace nettwin {

static int ip_rt_bug(Net&, SkBuff* skb) {
  kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "ip_rt_bug");
  return 0;
}

int ip_error(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  if (!net.sysctl.ip_forward) {
    switch (-skb->dst->error) {
      case 113:  // EHOSTUNREACH
        reason = SkbDropReason::IP_INADDRERRORS;
        net.mib.ip.InAddrErrors++;
        break;
      case 101:  // ENETUNREACH
        reason = SkbDropReason::IP_INNOROUTES;
        break;
    }
  }
  checkpoint(net.tracer, "ip_error", skb, "drop");
  kfree_skb(skb, reason, "ip_error");
  return 0;
}

static void set_local_input(DstEntry* dst, NetDevice* dev, uint8_t type, unsigned flags) {
  dst->dev = dev;
  dst->input = ip_local_deliver;
  dst->output = ip_rt_bug;
  dst->rt_type = type;
  dst->rt_flags = flags | RTCF_LOCAL;
  dst->error = 0;
}

// fib_validate_source with rp_filter off: only a local source address is refused.
static SkbDropReason fib_validate_source(Net& net, wire::Ipv4Addr saddr) {
  if (net.sysctl.rp_filter == 0 && !net.sysctl.accept_local && inet_lookup_ifaddr(net, saddr))
    return SkbDropReason::IP_LOCAL_SOURCE;
  return SkbDropReason::NOT_DROPPED_YET;
}

int ip_route_input_noref(SkBuff* skb, wire::Ipv4Addr daddr, wire::Ipv4Addr saddr, uint8_t tos, NetDevice* dev,
                         SkbDropReason* reason) {
  Net& net = dev_net(dev);
  *reason = SkbDropReason::NOT_DROPPED_YET;
  if (wire::ipv4_is_multicast(daddr)) {
    *reason = SkbDropReason::NOT_SPECIFIED;  // no multicast group is joined
    return -22;
  }
  if (wire::ipv4_is_multicast(saddr) || wire::ipv4_is_lbcast(saddr)) {
    *reason = SkbDropReason::IP_INVALID_SOURCE;
    return -22;
  }
  bool broadcast = wire::ipv4_is_lbcast(daddr) || (saddr == 0 && daddr == 0);
  if (!broadcast) {
    if (wire::ipv4_is_zeronet(saddr)) {
      *reason = SkbDropReason::IP_INVALID_SOURCE;
      return -22;
    }
    if (wire::ipv4_is_zeronet(daddr)) {
      *reason = SkbDropReason::IP_INVALID_DEST;
      return -22;
    }
    if (!net.sysctl.route_localnet && (wire::ipv4_is_loopback(daddr) || wire::ipv4_is_loopback(saddr))) {
      *reason = wire::ipv4_is_loopback(daddr) ? SkbDropReason::IP_INVALID_DEST : SkbDropReason::IP_INVALID_SOURCE;
      return -22;
    }
    Flowi4 fl4;
    fl4.iif = dev->ifindex;
    fl4.mark = skb->mark;
    fl4.tos = tos;
    fl4.daddr = daddr;
    fl4.saddr = saddr;
    FibResult res;
    int err = fib_lookup(net, fl4, &res);
    if (err == 0 && res.type == RTN_BROADCAST) {
      broadcast = true;
    } else if (err == 0 && res.type == RTN_LOCAL) {
      *reason = fib_validate_source(net, saddr);
      if (*reason != SkbDropReason::NOT_DROPPED_YET) return -22;
      FibRoute* r = res.route;
      if (!r->rth_input_valid) {
        set_local_input(&r->rth_input, r->dev, RTN_LOCAL, 0);
        r->rth_input_valid = true;
      }
      skb_dst_set_noref(skb, &r->rth_input);
      return 0;
    } else {
      // No route, or not ours: with forwarding off (the only setting this
      // stack has so far) both become -EHOSTUNREACH and ip_error drops it.
      err = -113;
      DstEntry* dst = &dev->rt_unreach_input;
      set_local_input(dst, dev, RTN_UNREACHABLE, 0);
      dst->input = ip_error;
      dst->error = err;
      dst->rt_flags &= ~RTCF_LOCAL;
      skb_dst_set_noref(skb, dst);
      return 0;
    }
  }
  // brd_input
  if (skb->protocol != wire::ETH_P_IP) {
    *reason = SkbDropReason::INVALID_PROTO;
    return -22;
  }
  if (!wire::ipv4_is_zeronet(saddr)) {
    *reason = fib_validate_source(net, saddr);
    if (*reason != SkbDropReason::NOT_DROPPED_YET) return -22;
  }
  set_local_input(&dev->rt_brd_input, dev, RTN_BROADCAST, RTCF_BROADCAST);
  skb_dst_set_noref(skb, &dev->rt_brd_input);
  return 0;
}

DstEntry* ip_route_output_key(Net& net, Flowi4& fl4) {
  fl4.iif = LOOPBACK_IFINDEX;
  fl4.scope = RT_SCOPE_UNIVERSE;
  if (fl4.saddr) {
    if (wire::ipv4_is_multicast(fl4.saddr) || wire::ipv4_is_lbcast(fl4.saddr) || wire::ipv4_is_zeronet(fl4.saddr))
      return nullptr;
    if (!inet_lookup_ifaddr(net, fl4.saddr)) return nullptr;
  }
  FibResult res;
  if (fib_lookup(net, fl4, &res) != 0) return nullptr;
  FibRoute* r = res.route;
  if (res.type == RTN_LOCAL) return nullptr;  // to ourselves: needs the loopback device
  if (!fl4.saddr) fl4.saddr = r->prefsrc;
  if (!r->rth_output_valid) {
    DstEntry& d = r->rth_output;
    d.dev = r->dev;
    d.input = nullptr;
    d.output = ip_output;
    d.rt_type = res.type;
    d.rt_flags = res.type == RTN_BROADCAST ? unsigned(RTCF_BROADCAST) : 0u;
    d.rt_gw4 = r->gw;
    d.rt_uses_gateway = r->gw != 0;
    r->rth_output_valid = true;
  }
  return &r->rth_output;
}

}  // namespace nettwin
