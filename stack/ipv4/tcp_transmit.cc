// net/ipv4/tcp_output.c, the part every segment of a connected socket passes:
// __tcp_transmit_skb (header, options, checksum, clone, ip_queue_xmit), the
// window we advertise (tcp_select_window), bare ACKs and delayed ACKs, RST.
// (tcp_output.cc keeps the SYN-ACK side; tcp_write.cc the write queue.)
#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ipv4.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr unsigned TCP_RMEM_TO_WIN_SCALE = 8;
uint32_t usecs_to_jiffies(uint64_t us) { return uint32_t((us * HZ + 999'999) / 1'000'000); }

// tcp_established_options / tcp_options_write for a segment other than a SYN:
// timestamps (NOP NOP TS), then SACK blocks (NOP NOP SACK), D-SACK first.
unsigned tcp_established_options(TcpSock* tp, const SkBuff* skb, uint8_t* opts) {
  unsigned olen = 0;
  auto put32 = [&](uint32_t v) { wire::store_be32(opts + olen, v); olen += 4; };
  if (tp->rx_opt.tstamp_ok) {
    put32(0x0101080au);
    put32(tcp_ns_to_ts(&*tp, skb->tstamp) + tp->tsoffset);  // tcp_skb_timestamp_ts
    put32(tp->rx_opt.ts_recent);
  }
  const unsigned eff_sacks = tp->rx_opt.num_sacks + (tp->rx_opt.dsack ? 1 : 0);
  if (eff_sacks) {
    const unsigned remaining = 40 - olen;
    const unsigned n = std::min(eff_sacks, (remaining - 4) / 8);
    put32(0x01010500u | (2 + n * 8));
    for (unsigned i = 0; i < n; ++i) {
      const TcpSock::SackBlock& b =
          (tp->rx_opt.dsack && i == 0) ? tp->duplicate_sack[0]
                                       : tp->selective_acks[i - (tp->rx_opt.dsack ? 1 : 0)];
      put32(b.start_seq);
      put32(b.end_seq);
    }
    tp->rx_opt.dsack = false;  // a D-SACK is sent once
  }
  return olen;
}

// tcp_event_ack_sent: the ACK went out, the delayed one is no longer due.
void tcp_event_ack_sent(Sock* sk, uint32_t rcv_nxt) {
  TcpSock* tp = tcp_sk(sk);
  if (rcv_nxt != tp->rcv_nxt) return;
  // tcp_dec_quickack_mode: one quick ACK used up if an ACK was scheduled.
  if (tp->icsk_ack.quick) {
    const unsigned pkts = (tp->icsk_ack.pending & ICSK_ACK_SCHED) ? 1 : 0;
    if (pkts >= tp->icsk_ack.quick) {
      tp->icsk_ack.quick = 0;
      tp->icsk_ack.ato = TCP_ATO_MIN;  // leaving quick-ack mode deflates ATO
    } else {
      tp->icsk_ack.quick = uint8_t(tp->icsk_ack.quick - pkts);
    }
  }
  inet_csk_clear_xmit_timer(sk, ICSK_TIME_DACK);
}

// tcp_event_data_sent: a reply within ato of the last data received makes the
// session interactive (pingpong).
void tcp_event_data_sent(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t now = uint32_t(sk->net->engine.jiffies());
  if (tp->packets_out == 0) tcp_ca_event(sk, CA_EVENT_TX_START);
  tp->lsndtime = now;
  if (uint32_t(now - tp->icsk_ack.lrcvtime) < tp->icsk_ack.ato && tp->icsk_ack.pingpong < 255)
    tp->icsk_ack.pingpong++;  // inet_csk_inc_pingpong_cnt
}

// tcp_wnd_end / tcp_acceptable_seq: the sequence a bare segment carries.
uint32_t tcp_acceptable_seq(const TcpSock* tp) {
  const uint32_t wnd_end = tp->snd_una + tp->snd_wnd;
  if (!before(wnd_end, tp->snd_nxt) ||
      (tp->rx_opt.wscale_ok && (tp->snd_nxt - wnd_end) < (1u << tp->rx_opt.rcv_wscale)))
    return tp->snd_nxt;
  return wnd_end;
}

}  // namespace

uint32_t tcp_ns_to_ts(const Sock* sk, uint64_t ns) {
  return uint32_t((ns + uint64_t(sk->net->sysctl.nettwin_tcp_clock_phase_ns) % 1'000'000) / 1'000'000);
}

uint32_t tcp_time_stamp_ms(const Sock* sk) { return tcp_ns_to_ts(sk, sk->net->engine.now()); }

void tcp_mstamp_refresh(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->tcp_clock_cache = sk->net->engine.now();
  tp->tcp_mstamp = tp->tcp_clock_cache / 1000;
}

int tcp_space(const Sock* sk) {
  const int space = sk->sk_rcvbuf - sk->sk_rmem_alloc;
  const TcpSock* tp = tcp_sk(sk);
  // __tcp_win_from_space: a negative space stays as it is.
  return space <= 0 ? space : int((int64_t(space) * tp->scaling_ratio) >> TCP_RMEM_TO_WIN_SCALE);
}

int tcp_full_space(const Sock* sk) {
  return int((int64_t(sk->sk_rcvbuf) * tcp_sk(sk)->scaling_ratio) >> TCP_RMEM_TO_WIN_SCALE);
}

uint32_t tcp_receive_window(const Sock* sk) {
  const TcpSock* tp = tcp_sk(sk);
  const int32_t win = int32_t(tp->rcv_wup + tp->rcv_wnd - tp->rcv_nxt);
  return win < 0 ? 0 : uint32_t(win);
}

uint32_t __tcp_select_window(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  int mss = tp->icsk_ack.rcv_mss;
  int free_space = tcp_space(sk);
  const int allowed_space = tcp_full_space(sk);
  const int full_space = std::min<int>(int(tp->window_clamp), allowed_space);
  if (mss > full_space) {
    mss = full_space;
    if (mss <= 0) return 0;
  }
  // tcp_shrink_window is 0: the window never shrinks.
  if (free_space < (full_space >> 1)) {
    tp->icsk_ack.quick = 0;
    free_space = free_space & ~((1 << tp->rx_opt.rcv_wscale) - 1);  // round_down
    if (free_space < (allowed_space >> 4) || free_space < mss) return 0;
  }
  if (free_space > int(tp->rcv_ssthresh)) free_space = int(tp->rcv_ssthresh);
  int window;
  if (tp->rx_opt.rcv_wscale) {
    // Enough that it is not scaled away: ALIGN to the scale.
    const int unit = 1 << tp->rx_opt.rcv_wscale;
    window = (free_space + unit - 1) & ~(unit - 1);
  } else {
    window = int(tp->rcv_wnd);
    // The largest multiple of the MSS, unless within one MSS of what is free.
    if (window <= free_space - mss || window > free_space)
      window = free_space / mss * mss;
    else if (mss == full_space && free_space > window + (full_space >> 1))
      window = free_space;
  }
  return uint32_t(window);
}

uint16_t tcp_select_window(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  const uint32_t old_win = tp->rcv_wnd;
  const uint32_t cur_win = tcp_receive_window(sk);
  uint32_t new_win = __tcp_select_window(sk);
  if (new_win < cur_win) {
    // Never shrink the offered window.
    if (new_win == 0) net.mib.tcpext.TCPWantZeroWindowAdv++;
    const uint32_t unit = 1u << tp->rx_opt.rcv_wscale;
    new_win = (cur_win + unit - 1) & ~(unit - 1);
  }
  tp->rcv_wnd = new_win;
  tp->rcv_wup = tp->rcv_nxt;
  new_win = std::min(new_win, 65535u << tp->rx_opt.rcv_wscale);
  new_win >>= tp->rx_opt.rcv_wscale;
  if (new_win == 0) {
    tp->pred_flags = 0;  // a zero window turns the fast path off
    if (old_win) net.mib.tcpext.TCPToZeroWindowAdv++;
  } else if (old_win == 0) {
    net.mib.tcpext.TCPFromZeroWindowAdv++;
  }
  return uint16_t(new_win);
}

void tcp_init_nondata_skb(SkBuff* skb, uint32_t seq, uint8_t flags) {
  TcpSkbCb* tcb = TCP_SKB_CB(skb);
  *tcb = TcpSkbCb{};
  skb->ip_summed = CHECKSUM_PARTIAL;
  tcb->tcp_flags = flags;
  tcp_skb_pcount_set(skb, 1);
  tcb->seq = seq;
  if (flags & (TCPHDR_SYN | TCPHDR_FIN)) seq++;
  tcb->end_seq = seq;
}

int tcp_transmit_skb(Sock* sk, SkBuff* skb, bool clone_it) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  const uint32_t rcv_nxt = tp->rcv_nxt;
  // The departure time: now (no pacing, no EDT queue).
  tp->tcp_wstamp_ns = std::max(tp->tcp_wstamp_ns, tp->tcp_clock_cache);
  skb->tstamp = tp->tcp_wstamp_ns;
  SkBuff* oskb = nullptr;
  if (clone_it) {
    oskb = skb;
    // A clone of an skb whose previous clone is still on its way is a copy.
    skb = skb_cloned(oskb) ? skb_copy(oskb) : skb_clone(oskb);
    if (!skb) return -E_NOBUFS;
    skb->dev = nullptr;
    skb->sk = nullptr;
    skb->destructor = nullptr;
  }
  TcpSkbCb* tcb = TCP_SKB_CB(skb);
  uint8_t opts[40];
  unsigned olen = 0;
  if (tcb->tcp_flags & TCPHDR_SYN) {
    // tcp_syn_options: MSS, SACK_PERM + TS (or NOP NOP SACK_PERM), NOP WS,
    // each as its sysctl allows (the peer has agreed to nothing yet).
    auto put32 = [&](uint32_t v) { wire::store_be32(opts + olen, v); olen += 4; };
    put32(0x02040000u | tp->advmss);
    const bool sack = net.sysctl.tcp_sack != 0;
    if (net.sysctl.tcp_timestamps) {
      put32(sack ? 0x0402080au : 0x0101080au);
      put32(tcp_ns_to_ts(&*tp, skb->tstamp) + tp->tsoffset);
      put32(tp->rx_opt.ts_recent);
    } else if (sack) {
      put32(0x01010402u);
    }
    if (net.sysctl.tcp_window_scaling) put32(0x01030300u | tp->rx_opt.rcv_wscale);
  } else {
    olen = tcp_established_options(tp, skb, opts);
  }
  const unsigned thl = 20 + olen;
  uint8_t* th = skb_push(skb, thl);
  skb_reset_transport_header(skb);
  // The segment is charged to the socket until it is freed (tcp_wfree).
  skb_orphan(skb);
  skb_set_owner_w(skb, sk);
  wire::store_be16(th, sk->inet_sport);
  wire::store_be16(th + 2, sk->inet_dport);
  wire::store_be32(th + 4, tcb->seq);
  wire::store_be32(th + 8, rcv_nxt);
  th[12] = uint8_t((thl / 4) << 4);
  th[13] = tcb->tcp_flags;
  wire::store_be16(th + 16, 0);
  wire::store_be16(th + 18, 0);  // urg_ptr
  skb_shinfo(skb)->gso_type = tp->sk_gso_type;
  if (!(tcb->tcp_flags & TCPHDR_SYN))
    wire::store_be16(th + 14, tcp_select_window(sk));
  else
    wire::store_be16(th + 14, uint16_t(std::min<uint32_t>(tp->rcv_wnd, 65535)));
  std::copy(opts, opts + olen, th + 20);
  // tcp_v4_send_check, completed in software (tx checksumming is off).
  const uint64_t sum = wire::csum_tcpudp_nofold(sk->inet_saddr, sk->inet_daddr, skb->len, wire::IPPROTO_TCP);
  wire::store_be16(th + 16, wire::csum_fold(wire::csum_partial(th, skb->len, sum)));
  skb->ip_summed = CHECKSUM_NONE;
  if (tcb->tcp_flags & TCPHDR_ACK) tcp_event_ack_sent(sk, rcv_nxt);
  if (skb->len != thl) {
    tcp_event_data_sent(sk);
    tp->data_segs_out += tcp_skb_pcount(skb);
    tp->bytes_sent += skb->len - thl;
  }
  if (after(tcb->end_seq, tp->snd_nxt) || tcb->seq == tcb->end_seq) net.mib.tcp.OutSegs += tcp_skb_pcount(skb);
  tp->segs_out += tcp_skb_pcount(skb);
  skb_shinfo(skb)->gso_segs = uint16_t(tcp_skb_pcount(skb));
  skb_shinfo(skb)->gso_size = tcb->tcp_gso_size;
  checkpoint(net.tracer, "__tcp_transmit_skb", skb);
  // Cleanup our debris for IP stacks.
  std::fill(skb->cb, skb->cb + sizeof(InetSkbParm), uint8_t(0));
  const int err = ip_queue_xmit(sk, skb);
  if (!err && oskb) {
    // tcp_update_skb_after_send: the original remembers when it left.
    oskb->tstamp = tp->tcp_wstamp_ns;
  }
  return err;
}

void tcp_send_ack(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->sk_state == TCP_CLOSE) return;
  Net& net = *sk->net;
  SkBuff* buff = net.pool.alloc_skb(MAX_TCP_HEADER);
  skb_reserve(buff, int(MAX_TCP_HEADER));
  tcp_init_nondata_skb(buff, tcp_acceptable_seq(tp), TCPHDR_ACK);
  tcp_transmit_skb(sk, buff, false);
}

void tcp_send_delayed_ack(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  int ato = int(tp->icsk_ack.ato);
  if (ato > int(TCP_DELACK_MIN)) {
    int max_ato = int(HZ / 2);
    if (inet_csk_in_pingpong_mode(sk) || (tp->icsk_ack.pending & ICSK_ACK_PUSHED))
      max_ato = int(TCP_DELACK_MAX);
    // Slow path, intersegment interval is "high": at most the RTT (with a floor).
    if (tp->srtt_us) {
      const int rtt = std::max<int>(int(usecs_to_jiffies(tp->srtt_us >> 3)), int(TCP_DELACK_MIN));
      if (rtt < max_ato) max_ato = rtt;
    }
    ato = std::min(ato, max_ato);
  }
  tp->icsk_ack.ato = uint32_t(ato);
  const uint32_t now = uint32_t(sk->net->engine.jiffies());
  uint32_t timeout = now + uint32_t(ato);
  // An ACK already scheduled: do not push it later, send it if it is due.
  if (tp->icsk_ack.pending & ICSK_ACK_TIMER) {
    if (int32_t(now - (tp->icsk_ack.timeout - (uint32_t(ato) >> 2))) >= 0) {
      tcp_send_ack(sk);
      return;
    }
    if (!before(timeout, tp->icsk_ack.timeout)) timeout = tp->icsk_ack.timeout;
  }
  tp->icsk_ack.pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER;
  tp->icsk_ack.timeout = timeout;
  inet_csk_reset_xmit_timer(sk, ICSK_TIME_DACK, timeout - now, TCP_DELACK_MAX * 10);
}

void tcp_send_active_reset(Sock* sk, const char* reason) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  net.mib.tcp.OutRsts++;
  SkBuff* skb = net.pool.alloc_skb(MAX_TCP_HEADER);
  skb_reserve(skb, int(MAX_TCP_HEADER));
  tcp_init_nondata_skb(skb, tcp_acceptable_seq(tp), TCPHDR_ACK | TCPHDR_RST);
  tcp_mstamp_refresh(sk);
  tcp_transmit_skb(sk, skb, false);
  trace_tcp_send_reset(net.tracer, sk, nullptr, reason);
}

}  // namespace nettwin
