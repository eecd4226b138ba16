// net/ipv4/icmp.c: icmp_rcv, echo (icmp_echo → icmp_reply) and errors
// (__icmp_send), both leaving through icmp_push_reply → ip_local_out.
#include <algorithm>
#include <cstring>
#include <span>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ipv4.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr unsigned kLLReservedSpace = 16;

// What icmp_push_reply sends: an IP header (no options), the ICMP header and
// a payload copied from the skb that caused it.
struct IcmpReply {
  uint8_t type;
  uint8_t code;
  uint32_t rest;  // the echo id/sequence, or the error's "unused"/info word
  uint8_t tos;
  std::span<const uint8_t> payload;
};

void icmp_out_count(Net& net, uint8_t type) {
  net.mib.icmp.OutType[type]++;
  net.mib.icmp.OutMsgs++;
}

void icmp_push_reply(Net& net, const IcmpReply& r, const Flowi4& fl4, DstEntry* rt) {
  const unsigned ip_len = unsigned(wire::IPV4_MIN_HLEN + wire::ICMP_HLEN + r.payload.size());
  SkBuff* skb = net.pool.alloc_skb(ip_len + kLLReservedSpace);
  skb_reserve(skb, int(kLLReservedSpace));
  skb_reset_network_header(skb);
  uint8_t* p = skb_put(skb, ip_len);
  skb_set_transport_header(skb, int(wire::IPV4_MIN_HLEN));
  wire::Iphdr iph{p};
  iph.set_version_ihl(4, 5);
  iph.set_tos(r.tos);
  iph.set_id(ip_select_ident(net));
  iph.set_frag_off(0);  // the ICMP socket uses IP_PMTUDISC_DONT: no DF
  iph.set_ttl(uint8_t(net.sysctl.ip_default_ttl));
  iph.set_protocol(wire::IPPROTO_ICMP);
  iph.set_saddr(fl4.saddr);
  iph.set_daddr(fl4.daddr);
  uint8_t* ic = p + wire::IPV4_MIN_HLEN;
  wire::Icmphdr icmph{ic};
  icmph.set_type(r.type);
  icmph.set_code(r.code);
  icmph.set_checksum(0);
  icmph.set_rest(r.rest);
  if (!r.payload.empty()) std::memcpy(ic + wire::ICMP_HLEN, r.payload.data(), r.payload.size());
  icmph.set_checksum(wire::csum_fold(wire::csum_partial(ic, wire::ICMP_HLEN + r.payload.size())));
  skb->ip_summed = CHECKSUM_NONE;
  skb->dst = rt;
  skb->dev = rt->dev;
  skb->protocol = wire::ETH_P_IP;
  icmp_out_count(net, r.type);
  checkpoint(net.tracer, "icmp_push_reply", skb);
  ip_local_out(net, skb);
}

// icmp_reply: answer with the request's TOS, from the address it was sent to.
void icmp_reply(Net& net, SkBuff* skb, const IcmpReply& r) {
  checkpoint(net.tracer, "icmp_reply", skb);
  wire::Iphdr iph{skb_network_header(skb)};
  Flowi4 fl4;
  fl4.daddr = iph.saddr();
  fl4.saddr = iph.daddr();  // fib_compute_spec_dst for a locally delivered packet
  fl4.mark = skb->mark;
  fl4.tos = iph.tos() & 0xfc;
  fl4.proto = wire::IPPROTO_ICMP;
  DstEntry* rt = ip_route_output_key(net, fl4);
  if (!rt) return;
  icmp_push_reply(net, r, fl4, rt);
}

SkbDropReason icmp_echo(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "icmp_echo", skb);
  if (net.sysctl.icmp_echo_ignore_all) return SkbDropReason::NOT_DROPPED_YET;
  wire::Icmphdr icmph{skb_transport_header(skb)};
  IcmpReply r{wire::ICMP_ECHOREPLY, 0, icmph.rest(), wire::Iphdr{skb_network_header(skb)}.tos(),
              std::span<const uint8_t>(skb->data, skb->len)};
  icmp_reply(net, skb, r);
  return SkbDropReason::NOT_DROPPED_YET;
}

// inet_peer_xrlim_allow: a token bucket per destination, refilled by
// elapsed time, XRLIM_BURST_FACTOR (6) timeouts deep.
bool icmpv4_xrlim_allow(Net& net, uint8_t type, wire::Ipv4Addr daddr) {
  if (type > wire::NR_ICMP_TYPES || !((net.sysctl.icmp_ratemask >> type) & 1)) return true;
  InetPeer& peer = net.inet_peers[daddr];
  const uint64_t timeout = uint64_t(net.sysctl.icmp_ratelimit) * 1000000ull;
  const uint64_t now = net.engine.now();
  uint64_t token = peer.seen ? peer.rate_tokens + (now - peer.rate_last) : 6 * timeout;
  token = std::min(token, 6 * timeout);
  peer.seen = true;
  peer.rate_last = now;
  if (token >= timeout) {
    peer.rate_tokens = token - timeout;
    return true;
  }
  peer.rate_tokens = token;
  return false;
}

}  // namespace

void icmp_send(SkBuff* skb_in, int type, int code, uint32_t info) {
  Net& net = dev_net(skb_in->dev);
  DstEntry* rt = skb_in->dst;
  if (!rt) return;
  const uint8_t* nh = skb_network_header(skb_in);
  if (nh < skb_in->head || nh + wire::IPV4_MIN_HLEN > skb_tail_pointer(skb_in)) return;
  wire::Iphdr iph{const_cast<uint8_t*>(nh)};
  // No errors about broadcasts, about frames not for us, or about non-first fragments.
  if (rt->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)) return;
  if (skb_in->pkt_type != PACKET_HOST) return;
  if (iph.frag_off() & wire::IP_OFFSET) return;
  // Never an error about an ICMP error.
  if (iph.protocol() == wire::IPPROTO_ICMP) {
    const uint8_t* ich = nh + iph.ihl() * 4u;
    if (ich + 1 > skb_tail_pointer(skb_in)) return;
    const uint8_t t = ich[0];
    if (t > wire::NR_ICMP_TYPES || !(t == 0 || t == 8 || t == 13 || t == 14 || t == 17 || t == 18)) return;
  }
  if (!icmpv4_xrlim_allow(net, uint8_t(type), iph.saddr())) return;

  Flowi4 fl4;
  fl4.daddr = iph.saddr();
  fl4.saddr = (rt->rt_flags & RTCF_LOCAL) ? iph.daddr() : 0;
  fl4.tos = (iph.tos() & 0x1c) | 0xc0;  // RT_TOS(tos) | IPTOS_PREC_INTERNETCONTROL
  fl4.proto = wire::IPPROTO_ICMP;
  DstEntry* out = ip_route_output_key(net, fl4);
  if (!out) return;
  trace_icmp_send(net.tracer, skb_in, type, code);
  // As much of the offending datagram as fits in 576 bytes.
  const size_t room = 576 - wire::IPV4_MIN_HLEN - wire::ICMP_HLEN;
  const size_t have = size_t(skb_tail_pointer(skb_in) - nh);
  IcmpReply r{uint8_t(type), uint8_t(code), info, uint8_t(fl4.tos), std::span<const uint8_t>(nh, std::min(have, room))};
  icmp_push_reply(net, r, fl4, out);
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
    net.mib.icmp.InErrors++;
    kfree_skb(skb, reason, "icmp_rcv");
    return NET_RX_DROP;
  }
  if (!skb_pull(skb, wire::ICMP_HLEN)) {
    net.mib.icmp.InErrors++;
    kfree_skb(skb, reason, "icmp_rcv");
    return NET_RX_DROP;
  }
  wire::Icmphdr icmph{skb_transport_header(skb)};
  const uint8_t type = icmph.type();
  net.mib.icmp.InType[type]++;
  if (type > wire::NR_ICMP_TYPES) {
    net.mib.icmp.InErrors++;
    kfree_skb(skb, SkbDropReason::UNHANDLED_PROTO, "icmp_rcv");
    return NET_RX_DROP;
  }
  if (skb->dst->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)) {
    const bool echo_like = type == wire::ICMP_ECHO || type == wire::ICMP_TIMESTAMP;
    if ((echo_like && net.sysctl.icmp_echo_ignore_broadcasts) ||
        (!echo_like && type != wire::ICMP_ADDRESS && type != wire::ICMP_ADDRESSREPLY)) {
      net.mib.icmp.InErrors++;
      kfree_skb(skb, SkbDropReason::INVALID_PROTO, "icmp_rcv");
      return NET_RX_DROP;
    }
  }
  if (type == wire::ICMP_ECHOREPLY) {
    reason = SkbDropReason::NO_SOCKET;  // ping_rcv: there are no ping sockets yet
  } else if (type == wire::ICMP_ECHO) {
    reason = icmp_echo(net, skb);
  } else {
    reason = SkbDropReason::NOT_DROPPED_YET;  // icmp_discard and friends: nothing to do
  }
  if (reason == SkbDropReason::NOT_DROPPED_YET) {
    consume_skb(skb, "icmp_rcv");
    return NET_RX_SUCCESS;
  }
  kfree_skb(skb, reason, "icmp_rcv");
  return NET_RX_DROP;
}

}  // namespace nettwin
