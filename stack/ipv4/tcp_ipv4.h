// net/ipv4/tcp_ipv4.c: the IPv4 entry of TCP.
#pragma once

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

}  // namespace nettwin
