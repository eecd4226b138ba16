// net/ipv4/tcp_recovery.c: NewReno's loss marking without SACK, RACK's with it:
// the reordering window (grown by D-SACKs), its timer.
#include "ipv4/tcp_recovery.h"

#include <algorithm>
#include <vector>

#include "core/net.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_timer.h"

namespace nettwin {

namespace {

uint32_t usecs_to_jiffies(uint64_t us) { return uint32_t((us * HZ + 999'999) / 1'000'000); }
uint32_t tcp_packets_in_flight(const TcpSock* tp) { return tp->packets_out - tcp_left_out(tp) + tp->retrans_out; }

bool tcp_rack_sent_after(uint64_t t1, uint64_t t2, uint32_t seq1, uint32_t seq2) {
  return t1 > t2 || (t1 == t2 && after(seq1, seq2));
}

// tcp_rack_reo_wnd: none before any reordering was seen, once in Recovery or
// at the duplicate threshold (tcp_reordering SACKed); else min_rtt/4 a step.
uint32_t tcp_rack_reo_wnd(const Sock* sk) {
  const TcpSock* tp = tcp_sk(sk);
  if (!tp->reord_seen) {
    if (tp->icsk_ca_state >= TCP_CA_Recovery) return 0;
    if (tp->sacked_out >= tp->reordering) return 0;  // tcp_recovery without RACK_NO_DUPTHRESH
  }
  return std::min((tp->rtt_min_us >> 2) * tp->rack.reo_wnd_steps, tp->srtt_us >> 3);
}

}  // namespace

void tcp_rack_advance(TcpSock* tp, uint8_t sacked, uint32_t end_seq, uint64_t xmit_time_us) {
  const uint32_t rtt_us = uint32_t(tp->tcp_mstamp > xmit_time_us ? tp->tcp_mstamp - xmit_time_us : 0);
  // A retransmission SACKed sooner than min_rtt: the original was delivered, ambiguous.
  if (rtt_us < tp->rtt_min_us && (sacked & TCPCB_RETRANS)) return;
  tp->rack.advanced = true;
  tp->rack.rtt_us = rtt_us;
  if (tcp_rack_sent_after(xmit_time_us, tp->rack.mstamp, end_seq, tp->rack.end_seq)) {
    tp->rack.mstamp = xmit_time_us;
    tp->rack.end_seq = end_seq;
  }
}

namespace {

// tcp_rack_detect_loss: the skbs sent before the newest delivered one (in the
// order they were sent: tsorted_sent_queue, which retransmissions rejoin at
// its tail) and not delivered within its RTT plus the reordering window are
// lost; the longest wait of the others (us), 0 when none is pending.
uint32_t tcp_rack_detect_loss(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t reo_wnd = tcp_rack_reo_wnd(sk);
  std::vector<SkBuff*> sent;
  for (SkBuff* skb = tp->tcp_rtx_queue.front(); skb; skb = skb->next) {
    const uint8_t sacked = TCP_SKB_CB(skb)->sacked;
    if (sacked & TCPCB_SACKED_ACKED) continue;
    // Marked lost and not yet retransmitted: off the list until it goes again.
    if ((sacked & TCPCB_LOST) && !(sacked & TCPCB_SACKED_RETRANS)) continue;
    sent.push_back(skb);
  }
  std::stable_sort(sent.begin(), sent.end(), [](const SkBuff* a, const SkBuff* b) { return a->tstamp < b->tstamp; });
  uint32_t reo_timeout = 0;
  for (SkBuff* skb : sent) {
    const uint64_t xmit_us = skb->tstamp / 1000;
    if (!tcp_rack_sent_after(tp->rack.mstamp, xmit_us, tp->rack.end_seq, TCP_SKB_CB(skb)->end_seq)) break;
    const int32_t remaining = tcp_rack_skb_timeout(tp, skb, reo_wnd);
    if (remaining <= 0)
      tcp_mark_skb_lost(sk, skb);
    else
      reo_timeout = std::max(reo_timeout, uint32_t(remaining));
  }
  return reo_timeout;
}

}  // namespace

int32_t tcp_rack_skb_timeout(const TcpSock* tp, const SkBuff* skb, uint32_t reo_wnd) {
  const uint64_t xmit_us = skb->tstamp / 1000;
  return int32_t(int64_t(tp->rack.rtt_us) + reo_wnd - int64_t(tp->tcp_mstamp - xmit_us));
}

bool tcp_rack_mark_lost(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->rack.advanced) return false;
  tp->rack.advanced = false;
  const uint32_t timeout = tcp_rack_detect_loss(sk);
  if (timeout) {
    // Wait out the window of the skbs still within it (plus TCP_TIMEOUT_MIN_US),
    // no later than the RTO.
    inet_csk_reset_xmit_timer(sk, ICSK_TIME_REO_TIMEOUT, usecs_to_jiffies(timeout + kTcpTimeoutMinUs), tp->icsk_rto);
  }
  return timeout != 0;
}

void tcp_rack_reo_timeout(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t lost = tp->lost;
  const uint32_t prior_inflight = tcp_packets_in_flight(tp);
  tcp_rack_detect_loss(sk);
  if (prior_inflight != tcp_packets_in_flight(tp)) {
    if (tp->icsk_ca_state != TCP_CA_Recovery) {
      tcp_enter_recovery(sk, false);
      // cubic has no cong_control: PRR lets the first retransmission go.
      tcp_cwnd_reduction(sk, 1, int(tp->lost - lost), 0);
    }
    tcp_xmit_retransmit_queue(sk);
  }
  if (tp->icsk_pending != ICSK_TIME_RETRANS) tcp_rearm_rto(sk);
}

void tcp_rack_update_reo_wnd(Sock* sk, uint32_t prior_delivered) {
  TcpSock* tp = tcp_sk(sk);
  if (!prior_delivered) return;  // tcp_recovery without TCP_RACK_STATIC_REO_WND
  // A D-SACK within an RTT of the last growth answers that growth's retransmissions.
  if (before(prior_delivered, tp->rack.last_delivered)) tp->rack.dsack_seen = false;
  if (tp->rack.dsack_seen) {
    tp->rack.reo_wnd_steps = uint8_t(std::min(0xFF, tp->rack.reo_wnd_steps + 1));
    tp->rack.dsack_seen = false;
    tp->rack.last_delivered = tp->delivered;
    tp->rack.reo_wnd_persist = kTcpRackRecoveryThresh;
  } else if (!tp->rack.reo_wnd_persist) {
    tp->rack.reo_wnd_steps = 1;
  }
}

void tcp_newreno_mark_lost(Sock* sk, bool snd_una_advanced) {
  TcpSock* tp = tcp_sk(sk);
  const uint8_t state = tp->icsk_ca_state;
  if ((state < TCP_CA_Recovery && tp->sacked_out >= tp->reordering) ||
      (state == TCP_CA_Recovery && snd_una_advanced)) {
    SkBuff* skb = tp->tcp_rtx_queue.front();
    if (!skb || (TCP_SKB_CB(skb)->sacked & TCPCB_LOST)) return;
    // A multi-segment skb would be cut to one MSS first (tcp_fragment); the
    // retransmit queue holds one-segment skbs here.
    tcp_mark_skb_lost(sk, skb);
  }
}

}  // namespace nettwin
