// net/ipv4/tcp_ipv4.c: the IPv4 entry of TCP.
#pragma once

namespace nettwin {

struct SkBuff;

// The inet_protos handler for IPPROTO_TCP: header and checksum checks, socket
// lookup, and a reset for a segment no socket takes.
int tcp_v4_rcv(SkBuff* skb);

}  // namespace nettwin
