// net/ipv4/tcp_output.c, the write queue side: tcp_write_xmit within the
// congestion window, the peer's window and Nagle; the retransmit queue
// (tcp_event_new_data_sent, tcp_rearm_rto, tail loss probes, retransmits);
// FIN; zero-window probes.
#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"

namespace nettwin {

namespace {

uint32_t usecs_to_jiffies_(uint64_t us) { return uint32_t((us * HZ + 999'999) / 1'000'000); }
constexpr uint32_t TCP_TIMEOUT_MIN = 2;  // jiffies

uint32_t tcp_packets_in_flight(const TcpSock* tp) { return tp->packets_out - (tp->sacked_out + tp->lost_out) + tp->retrans_out; }
uint32_t tcp_wnd_end(const TcpSock* tp) { return tp->snd_una + tp->snd_wnd; }
bool tcp_skb_is_last(Sock* sk, const SkBuff* skb) { return tcp_sk(sk)->sk_write_queue.back() == skb; }

// tcp_cwnd_test: how many more segments the congestion window allows.
uint32_t tcp_cwnd_test(const TcpSock* tp) {
  const uint32_t in_flight = tcp_packets_in_flight(tp);
  const uint32_t cwnd = tp->snd_cwnd;
  return in_flight >= cwnd ? 0 : cwnd - in_flight;
}

// tcp_snd_wnd_test: does the segment end within the peer's window?
bool tcp_snd_wnd_test(const TcpSock* tp, const SkBuff* skb, unsigned cur_mss) {
  uint32_t end_seq = TCP_SKB_CB(skb)->end_seq;
  if (skb->len > cur_mss) end_seq = TCP_SKB_CB(skb)->seq + cur_mss;
  return !after(end_seq, tcp_wnd_end(tp));
}

// tcp_minshall_check: a small segment is still unacknowledged.
bool tcp_minshall_check(const TcpSock* tp) { return after(tp->snd_sml, tp->snd_una) && !after(tp->snd_sml, tp->snd_nxt); }

// tcp_nagle_check: true when a small segment must wait (Nagle, or corked).
bool tcp_nagle_check(bool partial, const TcpSock* tp, int nonagle) {
  return partial && ((nonagle & TCP_NAGLE_CORK) || (!nonagle && tp->packets_out && tcp_minshall_check(tp)));
}

// tcp_nagle_test: may this segment go now?
bool tcp_nagle_test(const TcpSock* tp, const SkBuff* skb, unsigned cur_mss, int nonagle) {
  if (nonagle & TCP_NAGLE_PUSH) return true;
  // Don't use the nagle rule for urgent data (or for the final FIN).
  if (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN) return true;
  return !tcp_nagle_check(skb->len < cur_mss, tp, nonagle);
}

void tcp_minshall_update(TcpSock* tp, unsigned mss_now, const SkBuff* skb) {
  if (skb->len < tcp_skb_pcount(skb) * mss_now) tp->snd_sml = TCP_SKB_CB(skb)->end_seq;
}

// tcp_rto_delta_us: how far in the future the RTO of the head skb is.
int64_t tcp_rto_delta_us(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const SkBuff* head = tp->tcp_rtx_queue.front();
  if (!head) return 0;
  const uint64_t rto_time_stamp_us = head->tstamp / 1000 + uint64_t(tp->icsk_rto) * 1'000'000 / HZ;
  return int64_t(rto_time_stamp_us) - int64_t(tp->tcp_mstamp);
}

// tcp_reset_xmit_timer (no pacing delay here).
void tcp_reset_xmit_timer(Sock* sk, int what, uint32_t when) { inet_csk_reset_xmit_timer(sk, what, when, TCP_RTO_MAX); }

}  // namespace

// tcp_schedule_loss_probe: a tail loss probe in 2*RTT (plus the minimum RTO
// for a single segment, for the peer's delayed ACK), unless the RTO comes first.
bool tcp_schedule_loss_probe(Sock* sk, bool advancing_rto) {
  TcpSock* tp = tcp_sk(sk);
  // tcp_early_retrans 3: TLP for SACK connections not in recovery.
  if (!tp->packets_out || !tp->rx_opt.sack_ok || (tp->icsk_ca_state != TCP_CA_Open && tp->icsk_ca_state != TCP_CA_CWR))
    return false;
  uint32_t timeout;
  if (tp->srtt_us) {
    timeout = usecs_to_jiffies_(tp->srtt_us >> 2);
    timeout += tp->packets_out == 1 ? TCP_RTO_MIN : TCP_TIMEOUT_MIN;
  } else {
    timeout = TCP_TIMEOUT_INIT;
  }
  const int64_t rto_delta_us = advancing_rto ? int64_t(tp->icsk_rto) * 1'000'000 / int64_t(HZ) : tcp_rto_delta_us(sk);
  if (rto_delta_us > 0) timeout = std::min(timeout, usecs_to_jiffies_(uint64_t(rto_delta_us)));
  tcp_reset_xmit_timer(sk, ICSK_TIME_LOSS_PROBE, timeout);
  return true;
}

namespace {

// __tcp_retransmit_skb: send skb again (a clone), traced.
int __tcp_retransmit_skb(Sock* sk, SkBuff* skb, int segs) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  // Parts of it acked already: only the rest goes again (tcp_trim_head).
  if (before(TCP_SKB_CB(skb)->seq, tp->snd_una)) {
    const uint32_t trim = tp->snd_una - TCP_SKB_CB(skb)->seq;
    skb_pull(skb, std::min<uint32_t>(trim, skb->len));
    skb->data_len = std::min(skb->data_len, skb->len);  // __pskb_trim_head takes it from the frags
    TCP_SKB_CB(skb)->seq = tp->snd_una;
  }
  // Not allowed to go past the peer's window (except the first byte).
  const uint32_t avail_wnd = tcp_wnd_end(tp) - TCP_SKB_CB(skb)->seq;
  if (!before(TCP_SKB_CB(skb)->seq, tcp_wnd_end(tp)) && TCP_SKB_CB(skb)->seq != tp->snd_una) return -E_AGAIN;
  (void)avail_wnd;
  tcp_mstamp_refresh(sk);
  const int err = tcp_transmit_skb(sk, skb, true);
  if (!err) {
    net.mib.tcp.RetransSegs += unsigned(segs);
    if (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_SYN) net.mib.tcpext.TCPSynRetrans++;
    tp->total_retrans += unsigned(segs);
    tp->bytes_retrans += skb->len;
  }
  trace_tcp_retransmit_skb(net.tracer, sk, skb, err);
  return err;
}

// tcp_send_loss_probe: the last segment sent again, to get an ACK (SACK) out
// of the peer; the RTO restarts from now.
void tcp_send_loss_probe(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* skb = tp->sk_write_queue.front();
  const unsigned mss = tcp_current_mss(sk);
  if (skb && tcp_snd_wnd_test(tp, skb, mss)) {
    const uint32_t pcount = tp->packets_out;
    tcp_write_xmit(sk, mss, TCP_NAGLE_OFF, 2);
    if (tp->packets_out > pcount) goto probe_sent;
    goto rearm_timer;
  }
  skb = tp->tcp_rtx_queue.back();
  if (!skb) {
    tp->icsk_pending = 0;
    return;
  }
  if (__tcp_retransmit_skb(sk, skb, 1)) goto rearm_timer;
probe_sent:
  tp->icsk_pending = 0;  // so that tcp_rearm_rto restarts the timer from now
rearm_timer:
  tcp_rearm_rto(sk);
}

}  // namespace

unsigned tcp_sync_mss(Sock* sk, unsigned pmtu) {
  TcpSock* tp = tcp_sk(sk);
  // tcp_mtu_to_mss: the MTU less the headers, within the peer's MSS clamp.
  int mss_now = int(pmtu) - 20 - 20;
  if (tp->rx_opt.mss_clamp && mss_now > int(tp->rx_opt.mss_clamp)) mss_now = tp->rx_opt.mss_clamp;
  mss_now = std::max(mss_now, 48);  // net.ipv4.tcp_min_snd_mss
  mss_now -= int(tp->tcp_header_len) - 20;  // the options every segment carries (timestamps)
  // tcp_bound_to_half_wnd.
  if (tp->max_window > TCP_MSS_DEFAULT) {
    const int cutoff = int(tp->max_window / 2);
    if (cutoff && mss_now > cutoff) mss_now = std::max(cutoff, 68 - int(tp->tcp_header_len));
  }
  tp->icsk_pmtu_cookie = pmtu;
  tp->mss_cache = unsigned(mss_now);
  return unsigned(mss_now);
}

unsigned tcp_current_mss(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  unsigned mss_now = tp->mss_cache;
  if (sk->sk_dst_cache && sk->sk_dst_cache->dev && sk->sk_dst_cache->dev->mtu != tp->icsk_pmtu_cookie)
    mss_now = tcp_sync_mss(sk, sk->sk_dst_cache->dev->mtu);
  // The header may have options mss_cache did not count (SACK blocks).
  const unsigned header_len = 20 + (tp->rx_opt.tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0) +
                              (tp->rx_opt.num_sacks + (tp->rx_opt.dsack ? 1 : 0)
                                   ? 4 + 8 * std::min<unsigned>(tp->rx_opt.num_sacks + tp->rx_opt.dsack,
                                                                tp->rx_opt.tstamp_ok ? 3 : 4)
                                   : 0);
  if (header_len != tp->tcp_header_len) {
    const int delta = int(header_len) - int(tp->tcp_header_len);
    mss_now = unsigned(int(mss_now) - delta);
  }
  return mss_now;
}

void tcp_rearm_rto(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->packets_out) {
    inet_csk_clear_xmit_timer(sk, ICSK_TIME_RETRANS);
    return;
  }
  uint32_t rto = tp->icsk_rto;
  // Offset the time elapsed after installing the regular RTO.
  if (tp->icsk_pending == ICSK_TIME_REO_TIMEOUT || tp->icsk_pending == ICSK_TIME_LOSS_PROBE) {
    const int64_t delta_us = tcp_rto_delta_us(sk);
    rto = usecs_to_jiffies_(uint64_t(std::max<int64_t>(delta_us, 1)));
  }
  tcp_reset_xmit_timer(sk, ICSK_TIME_RETRANS, rto);
}

void tcp_event_new_data_sent(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t prior_packets = tp->packets_out;
  tp->snd_nxt = TCP_SKB_CB(skb)->end_seq;
  tp->sk_write_queue.unlink(skb);
  tp->tcp_rtx_queue.push_back(skb);
  tp->packets_out += tcp_skb_pcount(skb);
  if (!prior_packets || tp->icsk_pending == ICSK_TIME_LOSS_PROBE) tcp_rearm_rto(sk);
  sk->net->mib.tcpext.TCPOrigDataSent += tcp_skb_pcount(skb);
}

bool tcp_write_xmit(Sock* sk, unsigned mss_now, int nonagle, int push_one) {
  TcpSock* tp = tcp_sk(sk);
  unsigned sent_pkts = 0;
  bool is_cwnd_limited = false;
  tcp_mstamp_refresh(sk);
  while (SkBuff* skb = tp->sk_write_queue.front()) {
    if (!tcp_skb_pcount(skb)) tcp_skb_pcount_set(skb, 1);  // tcp_init_tso_segs
    const uint32_t cwnd_quota = tcp_cwnd_test(tp);
    if (!cwnd_quota) {
      if (push_one == 2) {
        // Force out a loss probe pkt.
      } else {
        is_cwnd_limited = true;
        break;
      }
    }
    if (!tcp_snd_wnd_test(tp, skb, mss_now)) break;
    if (!tcp_nagle_test(tp, skb, mss_now, tcp_skb_is_last(sk, skb) ? nonagle : TCP_NAGLE_PUSH)) break;
    if (tcp_transmit_skb(sk, skb, true)) break;
    tcp_event_new_data_sent(sk, skb);
    tcp_minshall_update(tp, mss_now, skb);
    sent_pkts += tcp_skb_pcount(skb);
    if (push_one) break;
  }
  if (sent_pkts || is_cwnd_limited) {
    // tcp_cwnd_validate.
    if (tp->packets_out > tp->max_packets_out) tp->max_packets_out = tp->packets_out;
    tp->is_cwnd_limited |= is_cwnd_limited;
  }
  if (sent_pkts) {
    if (push_one != 2) tcp_schedule_loss_probe(sk, false);
    return false;
  }
  return !tp->packets_out && !tp->sk_write_queue.empty();
}

void tcp_check_probe_timer(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->packets_out && !tp->icsk_pending) {
    // tcp_probe0_base: the RTO, at least TCP_RTO_MIN.
    const uint32_t when = std::max(tp->icsk_rto, TCP_RTO_MIN);
    tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, when);
  }
}

void __tcp_push_pending_frames(Sock* sk, unsigned cur_mss, int nonagle) {
  if (sk->sk_state == TCP_CLOSE) return;
  if (tcp_write_xmit(sk, cur_mss, nonagle, 0)) tcp_check_probe_timer(sk);
}

void tcp_push_one(Sock* sk, unsigned mss_now) { tcp_write_xmit(sk, mss_now, TCP_NAGLE_PUSH, 1); }

int tcp_retransmit_skb(Sock* sk, SkBuff* skb, int segs) {
  TcpSock* tp = tcp_sk(sk);
  const int err = __tcp_retransmit_skb(sk, skb, segs);
  if (err == 0) {
    if (!(TCP_SKB_CB(skb)->sacked & TCPCB_SACKED_RETRANS)) tp->retrans_out += tcp_skb_pcount(skb);
    TCP_SKB_CB(skb)->sacked |= TCPCB_RETRANS;
  }
  // The first retransmit's time: the write timeout counts from it.
  if (!tp->retrans_stamp) tp->retrans_stamp = tcp_ns_to_ts(sk, skb->tstamp);
  if (!tp->undo_marker) tp->undo_marker = tp->snd_una;
  return err;
}

void tcp_send_fin(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* tskb = tp->sk_write_queue.back();
  if (tskb) {
    // The FIN rides on the last unsent segment.
    TCP_SKB_CB(tskb)->tcp_flags |= TCPHDR_FIN;
    TCP_SKB_CB(tskb)->end_seq++;
    tp->write_seq++;
  } else {
    Net& net = *sk->net;
    SkBuff* skb = net.pool.alloc_skb(MAX_TCP_HEADER);
    skb_reserve(skb, int(MAX_TCP_HEADER));
    tcp_init_nondata_skb(skb, tp->write_seq, TCPHDR_ACK | TCPHDR_FIN);
    // tcp_queue_skb: charged to the socket while queued.
    skb->truesize = alloc_skb_truesize(MAX_TCP_HEADER);
    tp->sk_wmem_queued += int(skb->truesize);
    tp->write_seq = TCP_SKB_CB(skb)->end_seq;
    tp->sk_write_queue.push_back(skb);
  }
  __tcp_push_pending_frames(sk, tcp_current_mss(sk), TCP_NAGLE_OFF);
}

void tcp_send_probe0(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  // tcp_write_wakeup / tcp_xmit_probe_skb: a segment the peer must ACK, one
  // byte below snd_una.
  Net& net = *sk->net;
  SkBuff* skb = net.pool.alloc_skb(MAX_TCP_HEADER);
  skb_reserve(skb, int(MAX_TCP_HEADER));
  tcp_init_nondata_skb(skb, tp->snd_una - 1, TCPHDR_ACK);
  tcp_mstamp_refresh(sk);
  tcp_transmit_skb(sk, skb, false);
  if (tp->packets_out || tp->sk_write_queue.empty()) {
    tp->icsk_probes_out = 0;
    tp->icsk_backoff = 0;
    tp->icsk_probes_tstamp = 0;
    return;
  }
  tp->icsk_probes_out++;
  if (tp->icsk_backoff < 15) tp->icsk_backoff++;
  const uint64_t when = std::min<uint64_t>(uint64_t(std::max(tp->icsk_rto, TCP_RTO_MIN)) << tp->icsk_backoff, TCP_RTO_MAX);
  tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, uint32_t(when));
}

// The loss-probe timer's event (tcp_write_timer_handler's ICSK_TIME_LOSS_PROBE).
void tcp_loss_probe_timer(Sock* sk) { tcp_send_loss_probe(sk); }

}  // namespace nettwin
