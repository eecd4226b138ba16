// net/ipv4/udp.c: the UDP protocol (udp_prot), its receive handler and its
// ICMP error handler, and the early demux of connected sockets.
#pragma once

#include <cstdint>

#include "core/skbuff.h"
#include "socket/sock.h"

namespace nettwin {

extern Proto udp_prot;

inline constexpr unsigned UDP_HLEN = 8;

// net_protocol udp_protocol: .handler and .err_handler.
int udp_rcv(SkBuff* skb);
// udp_err: skb->data is the ICMP payload (the offending IP header); info the
// ICMP info word. 0, or -ENOENT when no socket sent the offending datagram.
int udp_err(SkBuff* skb, uint32_t info);
// udp_v4_early_demux: a connected socket's cached input route, so that its
// datagrams skip the route lookup. true when skb->dst was set.
bool udp_v4_early_demux(SkBuff* skb);

// __udp4_lib_lookup: the socket a datagram goes to, or null.
Sock* udp4_lib_lookup(Net& net, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr, uint16_t dport,
                      int dif, const SkBuff* skb);

}  // namespace nettwin
