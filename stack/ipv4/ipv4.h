// The IPv4 functions the layers call each other through, after net/ipv4/.
#pragma once

#include <cstdint>

#include "core/dst.h"
#include "core/skbuff.h"
#include "ipv4/ip_cb.h"
#include "wire/bytes.h"

namespace nettwin {

class Net;
struct NetDevice;
struct PacketType;
struct NeighbourEntry;
struct Flowi4;
struct Sock;

// arp.c
int arp_rcv(SkBuff* skb, NetDevice* dev, PacketType* pt, NetDevice* orig_dev);
void arp_solicit(NeighbourEntry* n, SkBuff* skb);
void arp_constructor(NeighbourEntry* n);
void arp_error_report(NeighbourEntry* n, SkBuff* skb);

// ip_input.c
int ip_rcv(SkBuff* skb, NetDevice* dev, PacketType* pt, NetDevice* orig_dev);
int ip_local_deliver(SkBuff* skb);
// __ip_options_echo: the options a reply to skb carries (record route and
// timestamp copied with a slot for us, padded to 4 bytes); false when they
// cannot be echoed.
struct IpReplyOptions {
  IpOptions opt;
  uint8_t data[40] = {};
};
bool ip_options_echo(Net& net, IpReplyOptions* dopt, const SkBuff* skb);
// ip_options_build: fill the reply's slots (our address, the time) in the
// header at iph, whose options were copied from opt.
void ip_options_build(Net& net, uint8_t* iph, const IpOptions& opt, wire::Ipv4Addr saddr);

// ip_rcv_options (with ip_options.c's compile): NOT_DROPPED_YET, or why the
// datagram must be dropped (IP_INHDR for a malformed option, answered with ICMP
// parameter problem; NOT_SPECIFIED for source routing, which is refused).
SkbDropReason ip_rcv_options(SkBuff* skb, NetDevice* dev);

// route.c
// ip_route_input_noref: sets skb's dst; 0 or a drop reason's negative errno
// with *reason set.
int ip_route_input_noref(SkBuff* skb, wire::Ipv4Addr daddr, wire::Ipv4Addr saddr, uint8_t tos, NetDevice* dev,
                         SkbDropReason* reason);
// ip_route_output_key: an output dst for fl4 (saddr filled in when 0), or null.
// err (when given) gets Linux's errno for a null: -EINVAL for a loopback source
// leaving by a device that is not loopback (__mkroute_output), else -ENETUNREACH.
DstEntry* ip_route_output_key(Net& net, Flowi4& fl4, int* err = nullptr);
// ip_rt_build_flow_key: a connected socket's flow (its bound device, addresses,
// ports, protocol and DSCP), as its routes are looked up.
Flowi4 ip_rt_build_flow_key(const Sock* sk);
// ip_dst_mtu_maybe_forward: a route exception's unexpired path MTU (not when
// forwarding, with ip_forward_use_pmtu 0, unless the MTU is locked), else the
// route's mtu metric, else the device's.
unsigned ip_dst_mtu_maybe_forward(const DstEntry* dst, bool forwarding);
// ipv4_mtu (dst_mtu): the MTU of a locally sent packet's route.
unsigned ipv4_mtu(const DstEntry* dst);
// ip_sk_use_pmtu: the socket sizes its datagrams by the route's MTU (below IP_PMTUDISC_PROBE).
bool ip_sk_use_pmtu(const Sock* sk);
// ip_skb_dst_mtu: the MTU ip_finish_output fragments at.
unsigned ip_skb_dst_mtu(SkBuff* skb);
// ip_mtu_locked: `mtu lock N` on the route, or a learnt path MTU below ip_rt_min_pmtu
// (rt_mtu_locked): no path MTU learnt, no DF.
inline bool ip_mtu_locked(const DstEntry* dst) { return dst->rt_mtu_locked || dst_metric_locked(dst, RTAX_MTU); }
// ip_dont_fragment: DF under IP_PMTUDISC_DO, and under WANT unless the route locks its MTU.
bool ip_dont_fragment(const Sock* sk, const DstEntry* dst);
// dst_metric_advmss: the route's advmss metric, else ipv4_default_advmss
// (the path MTU less 40, at least 256).
unsigned dst_metric_advmss(const DstEntry* dst);
// __ip_rt_update_pmtu: a path MTU learnt for fl4's destination, kept as a route
// exception (not below ip_rt_min_pmtu, for ip_rt_mtu_expires); never raised.
void __ip_rt_update_pmtu(Net& net, const DstEntry* dst, Flowi4& fl4, uint32_t mtu);
int ip_error(SkBuff* skb);

// ip_forward.c
int ip_forward(SkBuff* skb);
// ip_rt_send_redirect (route.c): ICMP redirect to the sender, rate limited.
void ip_rt_send_redirect(SkBuff* skb);

// ip_output.c
int ip_local_out(Net& net, SkBuff* skb);
// ip_send_unicast_reply: a TCP reply (th, len bytes, checksum filled in here)
// to skb from the per-netns control socket: skb's IP options echoed, routed
// back from the address it was sent to (oif, tos & ~ECN), DF with ID 0 and the
// default TTL. False when the options cannot be echoed or there is no route.
bool ip_send_unicast_reply(Net& net, const SkBuff* skb, uint8_t* th, unsigned len, uint8_t tos, int oif);
int ip_output(Net& net, SkBuff* skb);
// ip_mc_output: for a broadcast route, a copy looped back to us (dev_loopback_xmit), then ip_output's path.
int ip_mc_output(Net& net, SkBuff* skb);
// ip_queue_xmit: a connected socket's segment (skb->data at the transport
// header) gets its IP header, routed by the socket's cached route.
int ip_queue_xmit(Sock* sk, SkBuff* skb);
// The next IP ID from the seeded generator (ip_select_ident).
uint16_t ip_select_ident(Net& net);

// icmp.c
int icmp_rcv(SkBuff* skb);
// igmp.c: the receive side (no group memberships beyond all-hosts).
int igmp_rcv(SkBuff* skb);
// __icmp_send: an ICMP error about skb_in (its network header must be set).
// info is the header's last word in host order (icmp_send's htonl(info)).
void icmp_send(SkBuff* skb_in, int type, int code, uint32_t info);
// net_protocol->err_handler (udp_err, ...): an ICMP error arrived whose quoted
// datagram was of this protocol; skb->data is at the quoted IP header.
using IcmpErrHandler = int (*)(SkBuff* skb, uint32_t info);
void icmp_register_err_handler(Net& net, uint8_t protocol, IcmpErrHandler handler);
// icmp_protocol's err_handler: an ICMP error quoting an ICMP message.
int icmp_err(SkBuff* skb, uint32_t info);

}  // namespace nettwin
