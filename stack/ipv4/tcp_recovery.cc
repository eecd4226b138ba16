// net/ipv4/tcp_recovery.c: NewReno's loss marking without SACK, RACK's with it
// (without its reordering timer and the DSACK-driven window growth).
#include "ipv4/tcp_recovery.h"

#include <algorithm>

#include "ipv4/tcp_skb_cb.h"

namespace nettwin {

namespace {

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

bool tcp_rack_mark_lost(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->rack.advanced) return false;
  tp->rack.advanced = false;
  // tcp_rack_detect_loss, over the skbs in the order they were sent (the
  // retransmit queue's, retransmissions aside).
  const uint32_t reo_wnd = tcp_rack_reo_wnd(sk);
  uint32_t reo_timeout = 0;
  for (SkBuff* skb = tp->tcp_rtx_queue.front(); skb; skb = skb->next) {
    const TcpSkbCb* scb = TCP_SKB_CB(skb);
    if (scb->sacked & TCPCB_SACKED_ACKED) continue;
    if ((scb->sacked & TCPCB_LOST) && !(scb->sacked & TCPCB_SACKED_RETRANS)) continue;
    const uint64_t xmit_us = skb->tstamp / 1000;
    if (!tcp_rack_sent_after(tp->rack.mstamp, xmit_us, tp->rack.end_seq, scb->end_seq)) break;
    const int64_t remaining = int64_t(tp->rack.rtt_us) + reo_wnd - int64_t(tp->tcp_mstamp - xmit_us);
    if (remaining <= 0)
      tcp_mark_skb_lost(sk, skb);
    else
      reo_timeout = std::max(reo_timeout, uint32_t(remaining));
  }
  return reo_timeout != 0;
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
