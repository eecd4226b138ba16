// net/ipv4/tcp_ipv4.c: the IPv4 entry of TCP.
#pragma once

#include <cstdint>

namespace nettwin {

class Net;
struct SkBuff;
struct Sock;
struct InetTimewaitSock;
struct SockaddrIn;

// The inet_protos handler for IPPROTO_TCP: header and checksum checks, socket
// lookup, and a reset for a segment no socket takes.
int tcp_v4_rcv(SkBuff* skb);
// tcp_checksum_complete: true when the segment (skb->data at the TCP header)
// does not sum to zero with its pseudo header.
bool tcp_checksum_complete(const SkBuff* skb);
// tcp_v4_fill_cb: TCP_SKB_CB from the header (skb->data at it), IP's control block kept in header.h4.
void tcp_v4_fill_cb(SkBuff* skb);
// tcp_v4_early_demux: an established socket's cached input route for skb.
void tcp_v4_early_demux(SkBuff* skb);
// tcp_v4_err (tcp_protocol.err_handler): an ICMP error quoting one of our
// segments (skb->data at the quoted IP header). A handshake in progress
// dies with the error (hard errors only: unreachables, parameter problem,
// time exceeded); a connection keeps it as sk_err_soft, or sk_err with IP_RECVERR.
int tcp_v4_err(SkBuff* skb, uint32_t info);
// tcp_v4_mtu_reduced: the MSS follows a smaller path MTU (tp->mtu_info).
void tcp_v4_mtu_reduced(Sock* sk);

// tcp_v4_send_reset: the RST answering skb (reason: sk_rst_reason's name; sk
// the socket it comes from, or null).
void tcp_v4_send_reset(Net& net, SkBuff* skb, const char* reason, const Sock* sk = nullptr);
// tcp_v4_send_ack: a bare ACK (with a timestamp option when tsecr is not 0)
// answering skb, sent by the control socket.
void tcp_v4_send_ack(Net& net, const Sock* sk, const SkBuff* skb, uint32_t seq, uint32_t ack, uint32_t win,
                     uint32_t tsval, uint32_t tsecr, int oif, uint8_t tos);
// tcp_twsk_unique: may connecting sk reuse the 4-tuple of TIME_WAIT sock tw?
// Only with timestamps on it; from bind()/connect() with a fixed port (twp
// false) always, from the ephemeral search (twp) only under tcp_tw_reuse (2:
// loopback only) once tcp_tw_reuse_delay has passed. Then sk starts its
// sequence above the old connection's and takes its ts_recent.
bool tcp_twsk_unique(Sock* sk, InetTimewaitSock* tw, bool twp);
// tcp_v4_timewait_ack: the ACK a TIME_WAIT sock answers with (oow: TCP_TW_ACK_OOW).
void tcp_v4_timewait_ack(Net& net, InetTimewaitSock* tw, const SkBuff* skb, bool oow);

// tcp_v4_connect (tcp_prot.connect): route, source address, local port
// (inet_hash_connect), ISN and timestamp offset, state SYN_SENT, then
// tcp_connect. 0 or -errno (EINVAL, EAFNOSUPPORT, ENETUNREACH, EADDRNOTAVAIL).
int tcp_v4_connect(Sock* sk, const SockaddrIn* usin, int addr_len);

}  // namespace nettwin
