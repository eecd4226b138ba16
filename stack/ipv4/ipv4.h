// The IPv4 functions the layers call each other through, after net/ipv4/.
#pragma once

#include <cstdint>

#include "core/dst.h"
#include "core/skbuff.h"
#include "wire/bytes.h"

namespace nettwin {

class Net;
struct NetDevice;
struct PacketType;
struct NeighbourEntry;
struct Flowi4;

// arp.c
int arp_rcv(SkBuff* skb, NetDevice* dev, PacketType* pt, NetDevice* orig_dev);
void arp_solicit(NeighbourEntry* n, SkBuff* skb);
void arp_constructor(NeighbourEntry* n);
void arp_error_report(NeighbourEntry* n, SkBuff* skb);

// ip_input.c
int ip_rcv(SkBuff* skb, NetDevice* dev, PacketType* pt, NetDevice* orig_dev);
int ip_local_deliver(SkBuff* skb);

// route.c
// ip_route_input_noref: sets skb's dst; 0 or a drop reason's negative errno
// with *reason set.
int ip_route_input_noref(SkBuff* skb, wire::Ipv4Addr daddr, wire::Ipv4Addr saddr, uint8_t tos, NetDevice* dev,
                         SkbDropReason* reason);
// ip_route_output_key: an output dst for fl4 (saddr filled in when 0), or null.
DstEntry* ip_route_output_key(Net& net, Flowi4& fl4);
int ip_error(SkBuff* skb);

// ip_output.c
int ip_local_out(Net& net, SkBuff* skb);
int ip_output(Net& net, SkBuff* skb);
// The next IP ID from the seeded generator (ip_select_ident).
uint16_t ip_select_ident(Net& net);

// icmp.c
int icmp_rcv(SkBuff* skb);
// __icmp_send: an ICMP error about skb_in (its network header must be set).
void icmp_send(SkBuff* skb_in, int type, int code, uint32_t info);

}  // namespace nettwin
