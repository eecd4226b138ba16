// include/net/tcp_ecn.h and the classic-ECN helpers of tcp_input.c / tcp_output.c
// (RFC 3168 as Linux 6.18 runs it): negotiation on the SYN, SYN-ACK and the
// request sock, ECT(0) on new data, ECE echoed while the peer's CE waits for its
// CWR, and CWR on the first new data after a reduction. Accurate ECN (tcp_ecn 3
// and up) is not modelled: the sysctl stops at 2.
#pragma once

#include <cstdint>

namespace nettwin {

struct DstEntry;
struct Sock;
struct SkBuff;
struct TcpSock;
struct RequestSock;
class Net;

// The IP header's ECN field (include/net/inet_ecn.h).
enum : uint8_t { INET_ECN_NOT_ECT = 0, INET_ECN_ECT_1 = 1, INET_ECN_ECT_0 = 2, INET_ECN_CE = 3, INET_ECN_MASK = 3 };

// tcp_ecn_mode_rfc3168 / tcp_ecn_mode_any / tcp_ecn_disabled.
bool tcp_ecn_mode_rfc3168(const TcpSock* tp);
bool tcp_ecn_mode_any(const TcpSock* tp);

// tcp_ecn_create_request: a SYN with ECE|CWR, itself Not-ECT, is ECN-capable when
// tcp_ecn is on (1 or 2) or the route (dst) has features ecn: the request
// remembers it for the SYN-ACK and the child.
// th is the SYN's TCP header, ip_dsfield its IP TOS byte.
bool tcp_ecn_create_request(const Net& net, const uint8_t* th, uint8_t ip_dsfield, const DstEntry* dst = nullptr);
// tcp_ecn_make_synack: ECE in the SYN-ACK of an ECN-capable request.
uint8_t tcp_ecn_make_synack(bool ecn_ok, uint8_t th_flags);
// tcp_ecn_openreq_child: the child of an ECN-capable request starts in RFC 3168 mode.
void tcp_ecn_openreq_child(TcpSock* tp, bool ecn_ok);

// tcp_ecn_send_syn: tcp_ecn 1 asks for ECN: ECE|CWR on the SYN, RFC 3168 mode
// until the SYN-ACK says otherwise.
void tcp_ecn_send_syn(Sock* sk, SkBuff* skb);
// tcp_ecn_clear_syn: a retransmitted SYN goes without ECE|CWR (tcp_ecn_fallback).
void tcp_ecn_clear_syn(Sock* sk, SkBuff* skb);
// tcp_ecn_rcv_synack: a SYN-ACK with ECE alone keeps ECN; without ECE (or with
// all of AE|CWR|ECE) it is off. The other combinations answer Accurate ECN,
// which is not modelled: ECN is off for them too.
void tcp_ecn_rcv_synack(TcpSock* tp, uint8_t th_flags);

// tcp_ecn_send: on an established connection, new data leaves ECT(0) with CWR
// when one is queued; pure ACKs and retransmissions leave Not-ECT; ECE while
// the peer owes us a CWR. th is the TCP header being built, hdr_len its length.
void tcp_ecn_send(Sock* sk, SkBuff* skb, uint8_t* th, unsigned hdr_len);

// tcp_data_ecn_check: received data's ECN field. CE: demand CWR (ECE on our
// ACKs) and ACK quickly; ECT: ECN seen; Not-ECT after ECT (a retransmission,
// probably): ACK quickly.
void tcp_data_ecn_check(Sock* sk, const SkBuff* skb);
// tcp_ecn_received_counters: every segment an established socket takes counts
// its ECN field (received_ce, received_ecn_bytes for len payload bytes); ECT or
// CE marks ECN as seen unless RFC 3168 ECN is on (which sees it on data only,
// tcp_data_ecn_check): without ECN too, as 6.18 does (tcp_ecn_not_requested).
// Accurate ECN's feedback demands are not modelled.
void tcp_ecn_received_counters(Sock* sk, const SkBuff* skb, uint32_t len);
// tcp_ecn_accept_cwr (from tcp_ack): a segment with CWR, a pure ACK too, ends
// the ECE echo; one with data is acked at once.
void tcp_ecn_accept_cwr(Sock* sk, const SkBuff* skb);
// tcp_ecn_rcv_ecn_echo: an ACK (not a SYN) with ECE on an RFC 3168 connection.
bool tcp_ecn_rcv_ecn_echo(const TcpSock* tp, uint8_t th_flags);
// tcp_ecn_queue_cwr: the next new data carries CWR (RFC 3168 mode only).
void tcp_ecn_queue_cwr(TcpSock* tp);
// tcp_ecn_withdraw_cwr: an undone reduction owes no CWR.
void tcp_ecn_withdraw_cwr(TcpSock* tp);

}  // namespace nettwin
