// net/ipv4/tcp_rate.c (see tcp_rate.h).
#include "ipv4/tcp_rate.h"

#include <algorithm>

#include "ipv4/tcp_recovery.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"

namespace nettwin {

namespace {

uint64_t tcp_skb_timestamp_us(const SkBuff* skb) { return skb->tstamp / 1000; }

// tcp_skb_sent_after: t1 later than t2, or the same time and a later sequence.
bool tcp_skb_sent_after(uint64_t t1, uint64_t t2, uint32_t seq1, uint32_t seq2) {
  return t1 > t2 || (t1 == t2 && after(seq1, seq2));
}

// SKB_TRUESIZE(1) on x86-64: 1 + SKB_DATA_ALIGN(sizeof(sk_buff)) + SKB_DATA_ALIGN(sizeof(skb_shared_info)).
constexpr int kSkbTruesize1 = 1 + 256 + 320;

}  // namespace

void tcp_rate_skb_sent(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  // The first packet after an idle period starts a new sending phase.
  if (!tp->packets_out) {
    const uint64_t tstamp_us = tcp_skb_timestamp_us(skb);
    tp->first_tx_mstamp = tstamp_us;
    tp->delivered_mstamp = tstamp_us;
  }
  TcpSkbCb* scb = TCP_SKB_CB(skb);
  scb->tx.first_tx_mstamp = tp->first_tx_mstamp;
  scb->tx.delivered_mstamp = tp->delivered_mstamp;
  scb->tx.delivered = tp->delivered;
  scb->tx.is_app_limited = tp->app_limited ? 1 : 0;
}

void tcp_rate_skb_delivered(Sock* sk, SkBuff* skb, RateSample* rs) {
  TcpSock* tp = tcp_sk(sk);
  TcpSkbCb* scb = TCP_SKB_CB(skb);
  if (!scb->tx.delivered_mstamp) return;
  const uint64_t tx_tstamp = tcp_skb_timestamp_us(skb);
  if (!rs->prior_delivered || tcp_skb_sent_after(tx_tstamp, tp->first_tx_mstamp, scb->end_seq, rs->last_end_seq)) {
    rs->prior_delivered = scb->tx.delivered;
    rs->prior_mstamp = scb->tx.delivered_mstamp;
    rs->is_app_limited = scb->tx.is_app_limited;
    rs->is_retrans = scb->sacked & TCPCB_RETRANS;
    rs->last_end_seq = scb->end_seq;
    // The send time of the most recently acked packet, and this window's send phase.
    tp->first_tx_mstamp = tx_tstamp;
    rs->interval_us = long(tp->first_tx_mstamp - scb->tx.first_tx_mstamp);
  }
  // A SACKed skb gives no second sample when it is cumulatively acked.
  if (scb->sacked & TCPCB_SACKED_ACKED) scb->tx.delivered_mstamp = 0;
}

void tcp_rate_gen(Sock* sk, uint32_t delivered, RateSample* rs) {
  TcpSock* tp = tcp_sk(sk);
  // Clear app limited if the bubble is acked and gone.
  if (tp->app_limited && after(tp->delivered, tp->app_limited)) tp->app_limited = 0;
  if (delivered) tp->delivered_mstamp = tp->tcp_mstamp;
  // No timing information, or SACKs reneged on (the delivery count is unsure): an invalid sample.
  if (!rs->prior_mstamp || tp->is_sack_reneg) {
    rs->delivered = -1;
    rs->interval_us = -1;
    return;
  }
  rs->delivered = int32_t(tp->delivered - rs->prior_delivered);
  // The longer of the send and the ACK phase (against ACK compression).
  const long snd_us = rs->interval_us;
  const long ack_us = long(tp->tcp_mstamp - rs->prior_mstamp);
  rs->interval_us = std::max(snd_us, ack_us);
  // Shorter than the minimum RTT: a bogus sample.
  if (rs->interval_us < long(tp->rtt_min_us)) {
    rs->interval_us = -1;
    return;
  }
  // Record the last non-app-limited or the highest app-limited bandwidth.
  if (!rs->is_app_limited ||
      uint64_t(rs->delivered) * tp->rate_interval_us >= uint64_t(tp->rate_delivered) * uint64_t(rs->interval_us)) {
    tp->rate_delivered = uint32_t(rs->delivered);
    tp->rate_interval_us = uint32_t(rs->interval_us);
    tp->rate_app_limited = rs->is_app_limited;
  }
}

void tcp_rate_check_app_limited(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t in_flight = tp->packets_out - tcp_left_out(tp) + tp->retrans_out;
  if (tp->write_seq - tp->snd_nxt < tp->mss_cache &&  // less than one packet to send
      sk->sk_wmem_alloc < kSkbTruesize1 &&             // nothing in the qdisc or the NIC's queue
      in_flight < tp->snd_cwnd &&                      // not limited by cwnd
      tp->lost_out <= tp->retrans_out) {               // all lost packets retransmitted
    tp->app_limited = tp->delivered + in_flight ? tp->delivered + in_flight : 1;
  }
}

}  // namespace nettwin
