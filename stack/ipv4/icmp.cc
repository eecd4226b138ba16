// net/ipv4/icmp.c: icmp_rcv and its handlers (echo, unreach → the protocol's
// err_handler, discard), and the senders: icmp_reply for echo replies,
// __icmp_send for errors (icmp_route_lookup, the global and per-destination
// rate limits), both leaving through icmp_push_reply → ip_local_out.
#include <algorithm>
#include <cstring>
#include <span>

#include "core/jiffies.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ipv4.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr unsigned kLLReservedSpace = 16;  // LL_RESERVED_SPACE of an Ethernet device
constexpr uint8_t IPTOS_PREC_INTERNETCONTROL = 0xc0;
constexpr wire::Ipv4Addr INADDR_DUMMY = 0xc0000008;  // 192.0.0.8, the ICMP source of last resort
constexpr uint64_t XRLIM_BURST_FACTOR = 6;
constexpr uint8_t ICMP_EXT_ECHO = 42;
constexpr uint8_t ICMP_EXT_ECHOREPLY = 43;

enum class IcmpHandler : uint8_t { ping_rcv, discard, unreach, redirect, echo, timestamp };

// icmp_pointers: what icmp_rcv does with each type, and which types are errors.
struct IcmpControl {
  IcmpHandler handler;
  bool error;
};
constexpr IcmpControl icmp_pointers[wire::NR_ICMP_TYPES + 1] = {
    {IcmpHandler::ping_rcv, false},  {IcmpHandler::discard, true},  {IcmpHandler::discard, true},
    {IcmpHandler::unreach, true},    {IcmpHandler::unreach, true},  {IcmpHandler::redirect, true},
    {IcmpHandler::discard, true},    {IcmpHandler::discard, true},  {IcmpHandler::echo, false},
    {IcmpHandler::discard, true},    {IcmpHandler::discard, true},  {IcmpHandler::unreach, true},
    {IcmpHandler::unreach, true},    {IcmpHandler::timestamp, false}, {IcmpHandler::discard, false},
    {IcmpHandler::discard, false},   {IcmpHandler::discard, false}, {IcmpHandler::discard, false},
    {IcmpHandler::discard, false},
};

bool icmp_is_error(int type) { return type >= 0 && type <= wire::NR_ICMP_TYPES && icmp_pointers[type].error; }

// struct icmp_bxm: the message to send. The payload is copied from the skb
// that caused it (icmp_glue_bits); extra holds timestamp words.
struct IcmpBxm {
  uint8_t type;
  uint8_t code;
  uint32_t rest;  // the echo id/sequence, or the error's info word
  std::span<const uint8_t> payload;
  const IpReplyOptions* replyopts = nullptr;  // IP options echoed from the request
};

// ip_append_data for the ICMP socket, then __ip_make_skb: the head skb holds
// the IP header and as much as fits in the MTU (rounded to 8); what is left
// goes into frag_list skbs cut at the same size, so that ip_fragment finds
// them in fragment geometry.
SkBuff* icmp_build_skb(Net& net, const IcmpBxm& m, const Flowi4& fl4, DstEntry* rt, uint8_t tos) {
  const unsigned optlen = m.replyopts ? m.replyopts->opt.optlen : 0;
  const unsigned hlen = wire::IPV4_MIN_HLEN + optlen;
  const unsigned length = unsigned(wire::ICMP_HLEN + m.payload.size());
  const unsigned mtu = ipv4_mtu(rt);  // ip_setup_cork: the ICMP socket uses the path MTU
  const unsigned maxfraglen = ((mtu - hlen) & ~7u) + hlen;
  // The ICMP header and payload as one stream of bytes, checksummed whole.
  uint8_t ich[wire::ICMP_HLEN];
  wire::Icmphdr icmph{ich};
  icmph.set_type(m.type);
  icmph.set_code(m.code);
  icmph.set_checksum(0);
  icmph.set_rest(m.rest);
  uint64_t sum = wire::csum_partial(ich, wire::ICMP_HLEN);
  if (!m.payload.empty())
    sum = wire::csum_partial(m.payload.data(), m.payload.size(), sum);  // the header is 8 bytes: even
  icmph.set_checksum(wire::csum_fold(sum));
  // Bytes [from, from + n) of that stream: the header's part, then the payload's.
  auto copy_out = [&](uint8_t* to, unsigned from, unsigned n) {
    if (from < wire::ICMP_HLEN) {
      const unsigned h = std::min(n, unsigned(wire::ICMP_HLEN) - from);
      std::memcpy(to, ich + from, h);
      to += h;
      from += h;
      n -= h;
    }
    if (n) std::memcpy(to, m.payload.data() + (from - wire::ICMP_HLEN), n);
  };

  const unsigned first = std::min(length, maxfraglen - hlen);
  SkBuff* skb = net.pool.alloc_skb(hlen + first + kLLReservedSpace);
  skb_reserve(skb, int(kLLReservedSpace));
  skb_reset_network_header(skb);
  uint8_t* p = skb_put(skb, hlen + first);
  skb_set_transport_header(skb, int(hlen));
  copy_out(p + hlen, 0, first);
  SkBuff** tail = &skb_shinfo(skb)->frag_list;
  for (unsigned done = first; done < length;) {
    const unsigned n = std::min(length - done, maxfraglen - hlen);
    SkBuff* frag = net.pool.alloc_skb(hlen + n + kLLReservedSpace);
    skb_reserve(frag, int(kLLReservedSpace + hlen));  // room for the header ip_fragment copies
    skb_reset_network_header(frag);
    copy_out(skb_put(frag, n), done, n);
    frag->dst = rt;
    *tail = frag;
    tail = &frag->next;
    skb->len += n;
    skb->data_len += n;
    done += n;
  }

  wire::Iphdr iph{p};
  iph.set_version_ihl(4, uint8_t(hlen / 4));
  iph.set_tos(tos);
  iph.set_frag_off(0);  // the ICMP socket is IP_PMTUDISC_DONT: never DF
  iph.set_id(ip_select_ident(net));
  iph.set_ttl(uint8_t(net.sysctl.ip_default_ttl));
  iph.set_protocol(wire::IPPROTO_ICMP);
  iph.set_saddr(fl4.saddr);
  iph.set_daddr(fl4.daddr);
  if (optlen) {
    std::memcpy(p + wire::IPV4_MIN_HLEN, m.replyopts->data, optlen);
    ip_options_build(net, p, m.replyopts->opt, fl4.saddr);
  }
  skb->ip_summed = CHECKSUM_NONE;
  skb->dst = rt;
  skb->dev = rt->dev;
  skb->protocol = wire::ETH_P_IP;
  return skb;
}

// out_type is what __ip_make_skb counts (icmp_out_count): the ICMP socket is
// SOCK_RAW, so it takes the flow's fl4_icmp_type, not the header's type.
// icmp_route_lookup sets it to the error's type; icmp_reply leaves it 0, so
// Linux counts every reply, a timestamp reply too, as an echo reply
// (Icmp.OutEchoReps, IcmpMsg.OutType0; recorded: icmp_timestamp_request).
void icmp_push_reply(Net& net, const IcmpBxm& m, const Flowi4& fl4, DstEntry* rt, uint8_t tos, uint8_t out_type) {
  SkBuff* skb = icmp_build_skb(net, m, fl4, rt, tos);
  net.mib.icmp.OutType[out_type]++;
  net.mib.icmp.OutMsgs++;
  checkpoint(net.tracer, "icmp_push_reply", skb);
  ip_local_out(net, skb);
}

// icmp_global_allow: the netns-wide bucket of icmp_msgs_burst credits,
// refilled at icmp_msgs_per_sec (in whole jiffies, at most once per 20 ms).
bool icmp_global_allow(Net& net) {
  IcmpGlobal& g = net.icmp_global;
  if (g.credit > 0) return true;
  const uint64_t now = ns_to_jiffies(net.engine.now());
  const uint64_t delta = g.stamped ? std::min<uint64_t>(now - g.stamp_jiffies, HZ) : HZ;
  if (delta < HZ / 50) return false;
  const int64_t incr = net.sysctl.icmp_msgs_per_sec * int64_t(delta) / int64_t(HZ);
  if (!incr) return false;
  g.stamp_jiffies = now;
  g.stamped = true;
  g.credit = int(std::min<int64_t>(g.credit + incr, net.sysctl.icmp_msgs_burst));
  return true;
}

// icmp_global_consume: a random 0..2 credits per message sent (Linux 6.18),
// from the seeded generator.
void icmp_global_consume(Net& net) {
  const int credits = int(net.rng.below(3));
  if (credits) net.icmp_global.credit -= credits;
}

// icmpv4_mask_allow: types outside icmp_ratemask, and PMTU discovery, are never limited.
bool icmpv4_mask_allow(Net& net, int type, int code) {
  if (type > wire::NR_ICMP_TYPES) return true;
  if (type == wire::ICMP_DEST_UNREACH && code == wire::ICMP_FRAG_NEEDED) return true;
  return !((1ll << type) & net.sysctl.icmp_ratemask);
}

bool icmpv4_global_allow(Net& net, int type, int code, bool* apply_ratelimit) {
  if (icmpv4_mask_allow(net, type, code)) return true;
  if (icmp_global_allow(net)) {
    *apply_ratelimit = true;
    return true;
  }
  net.mib.icmp.OutRateLimitGlobal++;
  return false;
}

// inet_peer_xrlim_allow: a token bucket per destination, counted in jiffies,
// XRLIM_BURST_FACTOR timeouts deep; a new peer starts full (rate_last 60 s
// in the past). No peer (none could be made) means no limit.
bool inet_peer_xrlim_allow(Net& net, InetPeer* peer, uint64_t timeout) {
  if (!peer) return true;
  const uint64_t now = ns_to_jiffies(net.engine.now());
  uint64_t token = peer->rate_tokens;
  const uint64_t delta = now - peer->rate_last;
  if (delta) {
    peer->rate_last = now;
    token = std::min(token + delta, XRLIM_BURST_FACTOR * timeout);
  }
  bool rc = false;
  if (token >= timeout) {
    token -= timeout;
    rc = true;
  }
  peer->rate_tokens = token;
  return rc;
}

bool icmpv4_xrlim_allow(Net& net, DstEntry* rt, const Flowi4& fl4, bool apply_ratelimit) {
  if (!apply_ratelimit) return true;
  bool rc = true;
  if (!(rt->dev && (rt->dev->flags & IFF_LOOPBACK)))  // no limit on loopback
    rc = inet_peer_xrlim_allow(net, inet_getpeer_v4(net, fl4.daddr),
                               msecs_to_jiffies(uint64_t(net.sysctl.icmp_ratelimit)));
  if (!rc)
    net.mib.icmp.OutRateLimitHost++;
  else
    icmp_global_consume(net);
  return rc;
}

// inet_select_addr(dev, dst, RT_SCOPE_LINK): dev's address on dst's subnet,
// else its primary one.
wire::Ipv4Addr icmp_select_addr(const NetDevice* dev, wire::Ipv4Addr dst) {
  if (!dev || dev->ifa_list.empty()) return 0;
  for (const auto& ifa : dev->ifa_list)
    if (((dst ^ ifa.ifa_local) & ifa.ifa_mask) == 0) return ifa.ifa_local;
  return dev->ifa_list.front().ifa_local;
}

// fib_compute_spec_dst: the address to answer from. A packet for one of our
// addresses is answered from it; one to a broadcast or multicast address from
// the preferred source of the route back to the sender (a FIB lookup as from
// lo), or without one the receiving device's address toward the sender.
wire::Ipv4Addr fib_compute_spec_dst(const SkBuff* skb) {
  wire::Iphdr iph{skb_network_header(skb)};
  const DstEntry* rt = skb->dst;
  if (!(rt->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)) && (rt->rt_flags & RTCF_LOCAL)) return iph.daddr();
  if (!wire::ipv4_is_zeronet(iph.saddr())) {
    Flowi4 fl4;
    fl4.iif = LOOPBACK_IFINDEX;
    fl4.daddr = iph.saddr();
    fl4.tos = iph.tos() & 0xfc;
    FibResult res;
    if (fib_lookup(dev_net(skb->dev), fl4, &res) == 0 && res.route) {
      // fib_result_prefsrc
      const FibRoute* r = res.route;
      return r->prefsrc ? r->prefsrc : icmp_select_addr(r->dev, r->gw);
    }
  }
  return icmp_select_addr(skb->dev, iph.saddr());
}

// icmp_reply: answer (an echo) with the request's TOS, from the address it
// was sent to, rate limited like any other ICMP.
void icmp_reply(Net& net, SkBuff* skb, const IcmpBxm& m) {
  checkpoint(net.tracer, "icmp_reply", skb);
  IpReplyOptions replyopts;
  if (!ip_options_echo(net, &replyopts, skb)) return;
  IcmpBxm mo = m;
  mo.replyopts = &replyopts;
  bool apply_ratelimit = false;
  if (!icmpv4_global_allow(net, m.type, m.code, &apply_ratelimit)) return;
  wire::Iphdr iph{skb_network_header(skb)};
  Flowi4 fl4;
  fl4.daddr = iph.saddr();
  fl4.saddr = fib_compute_spec_dst(skb);
  fl4.mark = skb->mark;
  fl4.tos = iph.tos() & 0xfc;  // flowi4_dscp
  fl4.proto = wire::IPPROTO_ICMP;
  DstEntry* rt = ip_route_output_key(net, fl4);
  if (!rt) return;
  constexpr uint8_t fl4_icmp_type = 0;  // icmp_reply's flow is zeroed and never given a type
  if (icmpv4_xrlim_allow(net, rt, fl4, apply_ratelimit)) icmp_push_reply(net, mo, fl4, rt, iph.tos(), fl4_icmp_type);
}

SkbDropReason icmp_echo(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "icmp_echo", skb);
  if (net.sysctl.icmp_echo_ignore_all) return SkbDropReason::NOT_DROPPED_YET;
  wire::Icmphdr icmph{skb_transport_header(skb)};
  IcmpBxm m{wire::ICMP_ECHOREPLY, icmph.code(), icmph.rest(), std::span<const uint8_t>(skb->data, skb->len)};
  icmp_reply(net, skb, m);
  return SkbDropReason::NOT_DROPPED_YET;
}

// inet_current_timestamp: milliseconds since midnight UT on CLOCK_REALTIME.
// The twin's realtime clock is its virtual clock counted from the Unix epoch:
// virtual time 0 is 1970-01-01 00:00:00 UTC, so a replay starts at midnight.
// Linux's values are the recording machine's wall clock; the comparator holds
// each side's to its own clock (compare.TIME_FIELDS), not to the other's bytes.
uint32_t inet_current_timestamp(const Net& net) {
  constexpr uint64_t ns_per_ms = 1000000, ms_per_day = 86400000;
  return uint32_t((net.engine.now() / ns_per_ms) % ms_per_day);
}

// icmp_timestamp: originate copied, receive and transmit the current time.
SkbDropReason icmp_timestamp(Net& net, SkBuff* skb) {
  if (skb->len < 4) {
    net.mib.icmp.InErrors++;
    return SkbDropReason::PKT_TOO_SMALL;
  }
  uint8_t times[12];
  std::memcpy(times, skb->data, 4);
  const uint32_t ms = inet_current_timestamp(net);
  wire::store_be32(times + 4, ms);
  wire::store_be32(times + 8, ms);
  wire::Icmphdr icmph{skb_transport_header(skb)};
  icmp_reply(net, skb, IcmpBxm{wire::ICMP_TIMESTAMPREPLY, 0, icmph.rest(), std::span<const uint8_t>(times, 12)});
  return SkbDropReason::NOT_DROPPED_YET;
}

// icmp_socket_deliver: the quoted header plus 8 bytes must be there; raw
// sockets (none yet), then the err_handler of the quoted datagram's protocol.
void icmp_socket_deliver(Net& net, SkBuff* skb, uint32_t info) {
  const wire::Iphdr iph{skb->data};
  if (!pskb_may_pull(skb, iph.ihl() * 4u + 8)) {
    net.mib.icmp.InErrors++;
    return;
  }
  if (IcmpErrHandler h = net.icmp_err_handlers[iph.protocol()]) h(skb, info);
}

// icmp_unreach (dest unreachable, source quench, time exceeded, parameter
// problem): checks, then the error goes to the protocol of the quoted datagram.
SkbDropReason icmp_unreach(Net& net, SkBuff* skb) {
  SkbDropReason reason = SkbDropReason::NOT_DROPPED_YET;
  uint32_t info = 0;
  if (!pskb_may_pull(skb, wire::IPV4_MIN_HLEN)) {
    net.mib.icmp.InErrors++;
    return SkbDropReason::NOT_SPECIFIED;
  }
  wire::Icmphdr icmph{skb_transport_header(skb)};
  wire::Iphdr iph{skb->data};
  if (iph.ihl() < 5) {  // mangled
    net.mib.icmp.InErrors++;
    return SkbDropReason::IP_INHDR;
  }
  switch (icmph.type()) {
    case wire::ICMP_DEST_UNREACH:
      if ((icmph.code() & 15) == wire::ICMP_FRAG_NEEDED) {
        switch (net.sysctl.ip_no_pmtu_disc) {
          case 2:
            return reason;
          case 3:
            // icmp_tag_validation: only protocols that can check the quote (none here).
            return reason;
          case 0:
            info = icmph.rest() & 0xffff;  // the next-hop MTU
            break;
          default:
            break;
        }
      }
      if (icmph.code() > wire::NR_ICMP_UNREACH) return reason;
      break;
    case wire::ICMP_PARAMETERPROB:
      info = icmph.rest() >> 24;  // the pointer
      break;
    case wire::ICMP_TIME_EXCEEDED:
      if (icmph.code() == wire::ICMP_EXC_FRAGTIME) return reason;
      break;
    default:
      break;
  }
  // An error about a broadcast is some router's confusion: ignored.
  if (net.sysctl.icmp_ignore_bogus_error_responses == 0 &&
      inet_addr_type_dev_table(net, skb->dev, iph.daddr()) == RTN_BROADCAST)
    return reason;
  icmp_socket_deliver(net, skb, info);
  return reason;
}

// icmp_redirect: the route cache is not kept here; the protocol hears of it.
SkbDropReason icmp_redirect(Net& net, SkBuff* skb) {
  if (skb->len < wire::IPV4_MIN_HLEN) {
    net.mib.icmp.InErrors++;
    return SkbDropReason::PKT_TOO_SMALL;
  }
  icmp_socket_deliver(net, skb, wire::Icmphdr{skb_transport_header(skb)}.rest());
  return SkbDropReason::NOT_DROPPED_YET;
}

// icmp_route_lookup: the route for an ICMP error. The first lookup answers to
// the sender; unless that is one of our own addresses, a second flow decoded
// in reverse from the offending datagram (xfrm_decode_session_reverse) is
// routed too and, when that works, is the one used.
DstEntry* icmp_route_lookup(Net& net, Flowi4& fl4, SkBuff* skb_in, const wire::Iphdr& iph, wire::Ipv4Addr saddr,
                            uint8_t tos, uint32_t mark) {
  fl4 = Flowi4{};
  fl4.daddr = iph.saddr();  // no source route option: ipc.opt is empty
  fl4.saddr = saddr;
  fl4.mark = mark;
  fl4.tos = tos & 0xfc;  // the flow carries the DSCP only (recorded: unknown_proto_tos_ecn)
  fl4.proto = wire::IPPROTO_ICMP;
  DstEntry* rt = ip_route_output_key(net, fl4);
  if (!rt) return nullptr;
  NetDevice* route_lookup_dev = skb_in->dev ? skb_in->dev : (skb_in->dst ? skb_in->dst->dev : nullptr);
  if (inet_addr_type_dev_table(net, route_lookup_dev, fl4.daddr) == RTN_LOCAL) return rt;

  // _decode_session4(skb_in, reverse): the flow the offending datagram would answer.
  Flowi4 fl4_dec;
  fl4_dec.mark = skb_in->mark;
  fl4_dec.oif = skb_in->skb_iif;
  fl4_dec.proto = iph.protocol();
  fl4_dec.daddr = iph.saddr();
  fl4_dec.saddr = iph.daddr();
  fl4_dec.tos = iph.tos() & 0xfc;
  const uint8_t* th = skb_network_header(skb_in) + iph.ihl() * 4u;
  if (!(iph.frag_off() & (wire::IP_MF | wire::IP_OFFSET)) &&
      (iph.protocol() == wire::IPPROTO_UDP || iph.protocol() == wire::IPPROTO_TCP) && th + 4 <= skb_tail_pointer(skb_in)) {
    fl4_dec.sport = wire::load_be16(th + 2);  // reversed
    fl4_dec.dport = wire::load_be16(th);
  }
  DstEntry* rt2 = nullptr;
  if (inet_addr_type_dev_table(net, route_lookup_dev, fl4_dec.saddr) == RTN_LOCAL) {
    rt2 = ip_route_output_key(net, fl4_dec);
  } else {
    // Not for us (forwarded): route it as if it came back in. The output
    // lookup toward its destination is the one Linux 6.18 traces here: the
    // original direction, any source allowed.
    Flowi4 fl4_2;
    fl4_2.daddr = fl4_dec.saddr;
    fl4_2.saddr = fl4_dec.daddr;
    fl4_2.proto = fl4_dec.proto;
    fl4_2.flags = FLOWI_FLAG_ANYSRC;
    DstEntry* out = ip_route_output_key(net, fl4_2);
    if (!out) return rt;
    DstEntry* saved = skb_in->dst;
    skb_in->dst = nullptr;
    SkbDropReason reason;
    ip_route_input_noref(skb_in, fl4_dec.daddr, fl4_dec.saddr, tos & 0xfc, out->dev, &reason);
    skb_in->dst = saved;
    // The reverse input route is looked up (and traced) but not used: errors
    // about forwarded packets leave from the first route's source address
    // (recordings forward_ttl_expired, forward_redirect, forward_frag_needed).
    return rt;
  }
  if (!rt2) return rt;
  fl4 = fl4_dec;
  return rt2;
}

}  // namespace

void icmp_send(SkBuff* skb_in, int type, int code, uint32_t info) {
  DstEntry* rt = skb_in->dst;
  if (!rt) return;
  Net& net = dev_net(rt->dev ? rt->dev : skb_in->dev);
  // The original header must be there: icmp_send is called from odd places.
  uint8_t* nh = skb_network_header(skb_in);
  if (skb_in->network_header == SKB_HEADER_UNSET || nh < skb_in->head ||
      nh + wire::IPV4_MIN_HLEN > skb_tail_pointer(skb_in))
    return;
  wire::Iphdr iph{nh};
  // No replies to link-level broadcast/multicast, nor to protocol-level ones.
  if (skb_in->pkt_type != PACKET_HOST) return;
  if (rt->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)) return;
  // Only about fragment 0.
  if (iph.frag_off() & wire::IP_OFFSET) return;
  // Never an error about an ICMP error (an unknown type counts as an error).
  if (icmp_is_error(type) && iph.protocol() == wire::IPPROTO_ICMP) {
    const uint8_t* itp = nh + iph.ihl() * 4u;
    if (itp + 1 > skb_tail_pointer(skb_in)) return;
    if (*itp > wire::NR_ICMP_TYPES || icmp_pointers[*itp].error) return;
  }
  bool apply_ratelimit = false;
  if (!(skb_in->dev && (skb_in->dev->flags & IFF_LOOPBACK)) &&
      !icmpv4_global_allow(net, type, code, &apply_ratelimit))
    return;

  // Source: the address it was sent to when it was ours, else the route's.
  wire::Ipv4Addr saddr = iph.daddr();
  if (!(rt->rt_flags & RTCF_LOCAL)) {
    saddr = 0;
    if (rt->rt_is_input && net.sysctl.icmp_errors_use_inbound_ifaddr) {
      NetDevice* dev = net.dev_get_by_index(skb_in->skb_iif ? skb_in->skb_iif : (skb_in->dev ? skb_in->dev->ifindex : 0));
      if (dev) saddr = icmp_select_addr(dev, iph.saddr());
    }
  }
  // Errors go with precedence "internetwork control"; other kinds keep the TOS.
  // RT_TOS (IPTOS_TOS_MASK 0x1e, recorded: unknown_proto_tos_ecn) plus precedence 6.
  const uint8_t tos = icmp_is_error(type) ? uint8_t((iph.tos() & 0x1e) | IPTOS_PREC_INTERNETCONTROL) : iph.tos();
  IpReplyOptions replyopts;
  if (!ip_options_echo(net, &replyopts, skb_in)) return;
  Flowi4 fl4;
  DstEntry* out = icmp_route_lookup(net, fl4, skb_in, iph, saddr, tos, skb_in->mark);
  if (!out) return;
  if (!icmpv4_xrlim_allow(net, out, fl4, apply_ratelimit)) return;
  // RFC 1812: as much of the offending datagram as fits in 576 bytes.
  int room = int(std::min(out->dev->mtu, 576u)) - int(wire::IPV4_MIN_HLEN) - int(replyopts.opt.optlen) -
             int(wire::ICMP_HLEN);
  if (room <= int(wire::IPV4_MIN_HLEN)) return;
  const size_t have = size_t(skb_tail_pointer(skb_in) - nh);
  if (!fl4.saddr) fl4.saddr = INADDR_DUMMY;
  trace_icmp_send(net.tracer, skb_in, type, code);
  IcmpBxm m{uint8_t(type), uint8_t(code), info, std::span<const uint8_t>(nh, std::min(have, size_t(room))),
            &replyopts};
  icmp_push_reply(net, m, fl4, out, tos, uint8_t(type));  // icmp_route_lookup's fl4_icmp_type
}

// icmp_err, icmp_protocol's err_handler: an error about an ICMP message we
// sent. Errors about anything but our echo replies go to ping_err, which
// finds no ping socket here. About an echo reply, a redirect or a frag-needed
// routes the quoted flow (ipv4_redirect / ipv4_update_pmtu's
// __ip_route_output_key); a frag-needed leaves a PMTU exception on it. What
// Linux does with a redirect for a gatewayed route is not modeled.
// info: the next-hop MTU of a frag-needed (0 when ip_no_pmtu_disc ignores it).
int icmp_err(SkBuff* skb, uint32_t info) {
  Net& net = dev_net(skb->dev);
  const wire::Iphdr iph{skb->data};
  const uint8_t quoted_type = skb->data[iph.ihl() * 4u];
  if (quoted_type != wire::ICMP_ECHOREPLY) return 0;
  const wire::Icmphdr icmph{skb_transport_header(skb)};
  if ((icmph.type() == wire::ICMP_DEST_UNREACH && icmph.code() == wire::ICMP_FRAG_NEEDED) ||
      icmph.type() == wire::ICMP_REDIRECT) {
    Flowi4 fl4;  // __build_flow_key with no socket
    fl4.daddr = iph.daddr();
    fl4.saddr = iph.saddr();
    fl4.tos = iph.tos() & 0xfc;  // the DSCP, as the other flows here
    fl4.proto = wire::IPPROTO_ICMP;
    DstEntry* rt = ip_route_output_key(net, fl4);
    // ipv4_update_pmtu: an MTU no larger than the route's becomes a PMTU
    // exception on the route (looked up again to hang it on).
    if (rt && icmph.type() == wire::ICMP_DEST_UNREACH) __ip_rt_update_pmtu(net, rt, fl4, info);
  }
  return 0;
}

void icmp_register_err_handler(Net& net, uint8_t protocol, IcmpErrHandler handler) {
  net.icmp_err_handlers[protocol] = handler;
}

int icmp_rcv(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  checkpoint(net.tracer, "icmp_rcv", skb);
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  net.mib.icmp.InMsgs++;
  // skb_checksum_simple_validate: skipped when the device vouched for it.
  if (skb->ip_summed != CHECKSUM_UNNECESSARY && wire::csum_fold(wire::csum_partial(skb->data, skb->len)) != 0) {
    reason = SkbDropReason::ICMP_CSUM;
    net.mib.icmp.InCsumErrors++;
    goto error;
  }
  if (!skb_pull(skb, wire::ICMP_HLEN)) goto error;
  {
    wire::Icmphdr icmph{skb_transport_header(skb)};
    const uint8_t type = icmph.type();
    net.mib.icmp.InType[type]++;
    if (type == ICMP_EXT_ECHO) {
      // RFC 8335 PROBE: icmp_echo, which answers only with icmp_echo_enable_probe
      // (not offered here: 0 is the only value) and otherwise just consumes it.
      reason = net.sysctl.icmp_echo_enable_probe ? SkbDropReason::NOT_SPECIFIED : SkbDropReason::NOT_DROPPED_YET;
      goto success_check;
    }
    if (skb->dst->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)) {
      // RFC 1122 3.2.2.6 / 3.2.2.8: echo and timestamp to broadcast may be ignored.
      if ((type == wire::ICMP_ECHO || type == wire::ICMP_TIMESTAMP) && net.sysctl.icmp_echo_ignore_broadcasts) {
        reason = SkbDropReason::INVALID_PROTO;
        goto error;
      }
      if (type != wire::ICMP_ECHO && type != wire::ICMP_TIMESTAMP && type != wire::ICMP_ADDRESS &&
          type != wire::ICMP_ADDRESSREPLY) {
        reason = SkbDropReason::INVALID_PROTO;
        goto error;
      }
    }
    if (type == wire::ICMP_ECHOREPLY || type == ICMP_EXT_ECHOREPLY) {
      // 6.18: ping_rcv takes the skb before the type range check and frees it
      // itself (no ping sockets here): NO_SOCKET at ping_rcv, not an InError.
      kfree_skb(skb, SkbDropReason::NO_SOCKET, "ping_rcv");
      return NET_RX_DROP;
    }
    if (type > wire::NR_ICMP_TYPES) {
      reason = SkbDropReason::UNHANDLED_PROTO;
      goto error;
    }
    switch (icmp_pointers[type].handler) {
      case IcmpHandler::ping_rcv:  // reached only through the check above
        reason = SkbDropReason::NO_SOCKET;
        break;
      case IcmpHandler::echo:
        reason = icmp_echo(net, skb);
        break;
      case IcmpHandler::timestamp:
        reason = icmp_timestamp(net, skb);
        break;
      case IcmpHandler::unreach:
        reason = icmp_unreach(net, skb);
        break;
      case IcmpHandler::redirect:
        reason = icmp_redirect(net, skb);
        break;
      case IcmpHandler::discard:
        reason = SkbDropReason::NOT_DROPPED_YET;  // pretend it was a success
        break;
    }
  }
success_check:
  if (reason == SkbDropReason::NOT_DROPPED_YET) {
    consume_skb(skb, "icmp_rcv");
    return NET_RX_SUCCESS;
  }
  kfree_skb(skb, reason, "icmp_rcv");
  return NET_RX_DROP;
error:
  net.mib.icmp.InErrors++;
  kfree_skb(skb, reason, "icmp_rcv");
  return NET_RX_DROP;
}

}  // namespace nettwin
