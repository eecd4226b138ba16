// Loss recovery shared by tcp_input.cc, tcp_output.cc and tcp_timer.cc: the
// include/net/tcp.h helpers, tcp_mark_skb_lost (tcp_input.c),
// tcp_newreno_mark_lost (tcp_recovery.c), tcp_xmit_retransmit_queue
// (tcp_output.c).
#pragma once

#include <cstdint>

#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_sock.h"

namespace nettwin {

struct Sock;
struct SkBuff;

// tcp_is_sack / tcp_is_reno: SACK negotiated or not (Reno counts duplicate
// ACKs in sacked_out instead of SACKed segments).
inline bool tcp_is_sack(const TcpSock* tp) { return tp->rx_opt.sack_ok; }
inline bool tcp_is_reno(const TcpSock* tp) { return !tcp_is_sack(tp); }
// tcp_left_out: segments that have left the network, SACKed or lost.
inline uint32_t tcp_left_out(const TcpSock* tp) { return tp->sacked_out + tp->lost_out; }
// tcp_in_cwnd_reduction: CWR and Recovery shrink cwnd by PRR.
inline bool tcp_in_cwnd_reduction(const TcpSock* tp) {
  return tp->icsk_ca_state == TCP_CA_CWR || tp->icsk_ca_state == TCP_CA_Recovery;
}

// TCP_TIMEOUT_MIN: the shortest TCP timer, in jiffies.
inline constexpr uint32_t TCP_TIMEOUT_MIN = 2;
// TCP_TIMEOUT_MIN_US: the slack a loss probe or reordering timer adds (us).
inline constexpr uint32_t kTcpTimeoutMinUs = 2000;
// TCP_RACK_RECOVERY_THRESH: recoveries a D-SACK-grown reordering window persists.
inline constexpr uint8_t kTcpRackRecoveryThresh = 16;

// tcp_mark_skb_lost: skb is lost (lost_out); a lost retransmission counts
// TCPLostRetransmit and leaves retrans_out.
void tcp_mark_skb_lost(Sock* sk, SkBuff* skb);
// tcp_newreno_mark_lost (RFC 6582): without SACK, the head is lost after
// reordering (3) duplicate ACKs, and again on each partial ACK in Recovery.
void tcp_newreno_mark_lost(Sock* sk, bool snd_una_advanced);
// tcp_xmit_retransmit_queue: lost segments again, as cwnd allows (counted
// TCPFastRetrans, or TCPSlowStartRetrans in Loss; PRR's prr_out).
void tcp_xmit_retransmit_queue(Sock* sk);
// tcp_simple_retransmit: the MSS went down (path MTU): every segment longer
// than it was dropped on the way; they are lost and go again, in Loss, with
// cwnd and ssthresh as they were.
void tcp_simple_retransmit(Sock* sk);
// tcp_rack_advance: a SACKed skb (sent at xmit_time_us) is the newest
// delivered one when sent after the last; its RTT is RACK's.
void tcp_rack_advance(TcpSock* tp, uint8_t sacked, uint32_t end_seq, uint64_t xmit_time_us);
// tcp_rack_mark_lost: skbs sent before the newest delivered one, and not
// delivered within its RTT plus the reordering window, are lost; for the ones
// still within it the reordering timer (ICSK_TIME_REO_TIMEOUT) is armed. True
// when it was.
bool tcp_rack_mark_lost(Sock* sk);
// tcp_rack_skb_timeout: us left before skb counts lost (RACK's RTT plus
// reo_wnd, from its departure); <= 0 when it is.
int32_t tcp_rack_skb_timeout(const TcpSock* tp, const SkBuff* skb, uint32_t reo_wnd);
// tcp_rack_reo_timeout: the reordering timer fired: what waited out the
// window is lost; Recovery begins (if not in it) and it goes again.
void tcp_rack_reo_timeout(Sock* sk);
// tcp_rack_update_reo_wnd: after an ACK (prior_delivered: delivered before
// it), a D-SACK seen grows the window a step (at most once an RTT), held for
// kTcpRackRecoveryThresh recoveries, then back to one step.
void tcp_rack_update_reo_wnd(Sock* sk, uint32_t prior_delivered);
// tcp_enter_recovery (tcp_input.c): fast recovery begins.
void tcp_enter_recovery(Sock* sk, bool ece_ack);
// tcp_cwnd_reduction (tcp_input.c): PRR's cwnd for what was delivered and lost.
void tcp_cwnd_reduction(Sock* sk, int newly_acked_sacked, int newly_lost, int flag);

}  // namespace nettwin
