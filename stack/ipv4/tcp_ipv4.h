// net/ipv4/tcp_ipv4.c: the IPv4 entry of TCP.
#pragma once

#include <cstdint>

namespace nettwin {

struct SkBuff;

// The inet_protos handler for IPPROTO_TCP: header and checksum checks, socket
// lookup, and a reset for a segment no socket takes.
int tcp_v4_rcv(SkBuff* skb);
// tcp_checksum_complete: true when the segment (skb->data at the TCP header)
// does not sum to zero with its pseudo header.
bool tcp_checksum_complete(const SkBuff* skb);
// tcp_v4_early_demux: an established socket's cached input route for skb.
void tcp_v4_early_demux(SkBuff* skb);
// tcp_v4_err (tcp_protocol.err_handler): an ICMP error quoting one of our
// segments (skb->data at the quoted IP header). A handshake in progress
// dies with the error (hard errors only: unreachables, parameter problem,
// time exceeded); a connection keeps it as sk_err_soft, or sk_err with IP_RECVERR.
int tcp_v4_err(SkBuff* skb, uint32_t info);

}  // namespace nettwin
