// net/ipv4/tcp_output.c: the send side of TCP. tcp_select_initial_window and
// the SYN-ACK (tcp_make_synack; tcp_v4_send_synack sends it with
// ip_build_and_send_pkt); __tcp_transmit_skb (header, options, checksum, the
// clone, ip_queue_xmit), tcp_select_window, bare and delayed ACKs, RST;
// tcp_write_xmit within cwnd, the peer's window and Nagle, the retransmit
// queue, tail loss probes, FIN, zero-window probes; the active open's
// tcp_connect_init and tcp_connect.
#include "ipv4/tcp_output.h"

#include <algorithm>

#include "core/net.h"
#include "core/secure_seq.h"
#include "core/trace_events.h"
#include "ipv4/fib.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ipv4.h"
#include "ipv4/syncookies.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_ecn.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_rate.h"
#include "ipv4/tcp_recovery.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr uint32_t TCP_MAX_WSCALE = 14;
constexpr unsigned kLLReservedSpace = 16;
// TCP_RMEM_TO_WIN_SCALE and the scaling_ratio tcp_init_sock starts with
// (TCP_DEFAULT_SCALING_RATIO): half of the buffer is window.
constexpr unsigned TCP_RMEM_TO_WIN_SCALE = 8;
constexpr uint64_t TCP_DEFAULT_SCALING_RATIO = 1u << (TCP_RMEM_TO_WIN_SCALE - 1);

int ilog2(uint32_t v) { return 31 - __builtin_clz(v); }

}  // namespace

void tcp_select_initial_window(Net& net, int space_in, uint32_t mss, uint32_t* rcv_wnd, uint32_t* window_clamp,
                               bool wscale_ok, uint8_t* rcv_wscale, uint32_t init_rcv_wnd) {
  uint32_t space = space_in < 0 ? 0 : uint32_t(space_in);
  uint32_t clamp = *window_clamp;
  if (clamp == 0) clamp = 65535u << TCP_MAX_WSCALE;
  space = std::min(clamp, space);
  if (space > mss) space = space / mss * mss;  // a multiple of the MSS
  *rcv_wnd = space;  // tcp_workaround_signed_windows is 0
  if (init_rcv_wnd) *rcv_wnd = std::min(*rcv_wnd, init_rcv_wnd * mss);
  *rcv_wscale = 0;
  if (wscale_ok) {
    space = std::max<uint32_t>(space, uint32_t(net.sysctl.tcp_rmem[2]));
    space = std::max<uint32_t>(space, uint32_t(net.sysctl.rmem_max));
    space = std::min(space, clamp);
    *rcv_wscale = uint8_t(std::clamp<int>(ilog2(space) - 15, 0, int(TCP_MAX_WSCALE)));
  }
  *window_clamp = std::min<uint32_t>(65535u << *rcv_wscale, clamp);
}

void tcp_openreq_init_rwin(Net& net, const Sock* sk, RequestSock* req, const DstEntry* dst, unsigned mss) {
  // tcp_full_space: tcp_win_from_space of the listener's receive buffer.
  const int full_space = int(uint64_t(sk->sk_rcvbuf) * TCP_DEFAULT_SCALING_RATIO >> TCP_RMEM_TO_WIN_SCALE);
  uint32_t clamp = tcp_sk(sk)->window_clamp;
  if (!clamp) clamp = dst_metric(dst, RTAX_WINDOW);
  if ((sk->sk_userlocks & SOCK_RCVBUF_LOCK) && (clamp > uint32_t(full_space) || clamp == 0))
    clamp = uint32_t(full_space);
  uint32_t rcv_wnd = 0;
  tcp_select_initial_window(net, full_space, mss - (req->tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0), &rcv_wnd, &clamp,
                            req->wscale_ok, &req->rcv_wscale, dst_metric(dst, RTAX_INITRWND));
  req->rsk_rcv_wnd = rcv_wnd;
  req->rsk_window_clamp = clamp;
}

int tcp_v4_send_synack(Net& net, const Sock* sk, RequestSock* req, DstEntry* dst) {
  DstEntry* rt = dst ? dst : inet_csk_route_req(net, sk, req);
  if (!rt) return -1;
  const unsigned mss = tcp_mss_clamp(tcp_sk(sk), dst_metric_advmss(rt));
  if (!req->rsk_rcv_wnd) tcp_openreq_init_rwin(net, sk, req, rt, mss);

  // tcp_synack_options, written in tcp_options_write's order.
  uint8_t opts[40];
  unsigned olen = 0;
  auto put32 = [&](uint32_t v) { wire::store_be32(opts + olen, v); olen += 4; };
  put32(0x02040000u | mss);
  const bool sack = req->sack_ok;
  if (req->tstamp_ok) {
    put32(sack ? 0x0402080au : 0x0101080au);
    // The ms clock; a cookie's first TSval carries the SYN's options in its
    // low bits (cookie_init_timestamp, the skb's delivery time in Linux).
    // Done in the 32 bits of TSval: the ms clock here starts near 0, not at
    // boot, and a cookie stamp 64 ms back from 0 must wrap as TSval does.
    const uint32_t ts_now = tcp_ns_to_ts(sk, net.engine.now());
    uint32_t ts = ts_now;
    if (req->syncookie) {
      uint32_t options = req->wscale_ok ? req->snd_wscale : TS_OPT_WSCALE_MASK;
      if (req->sack_ok) options |= TS_OPT_SACK;
      if (req->ecn_ok) options |= TS_OPT_ECN;
      ts = ((ts_now >> TSBITS) << TSBITS) | options;
      if (ts > ts_now) ts -= 1u << TSBITS;
    }
    const uint32_t tsval = ts + req->ts_off;
    put32(tsval);
    put32(req->ts_recent);
  } else if (sack) {
    put32(0x01010402u);
  }
  if (req->wscale_ok) put32(0x01030300u | req->rcv_wscale);
  const unsigned thl = 20 + olen;

  uint8_t th[60] = {};
  wire::store_be16(th, req->ir_num);
  wire::store_be16(th + 2, req->ir_rmt_port);
  wire::store_be32(th + 4, req->snt_isn);
  wire::store_be32(th + 8, req->rcv_isn + 1);
  th[12] = uint8_t((thl / 4) << 4);
  th[13] = tcp_ecn_make_synack(req->ecn_ok, TCPHDR_SYN | TCPHDR_ACK);
  // The window of a SYN-ACK is never scaled.
  wire::store_be16(th + 14, uint16_t(std::min<uint32_t>(req->rsk_rcv_wnd, 65535)));
  std::copy(opts, opts + olen, th + 20);
  // __tcp_v4_send_check's CHECKSUM_PARTIAL, completed by skb_checksum_help (tx checksumming is off).
  const uint64_t sum = wire::csum_tcpudp_nofold(req->ir_loc_addr, req->ir_rmt_addr, thl, wire::IPPROTO_TCP);
  wire::store_be16(th + 16, wire::csum_fold_mangled(wire::csum_partial(th, thl, sum)));

  // ip_build_and_send_pkt
  const unsigned hlen = wire::IPV4_MIN_HLEN;
  SkBuff* skb = net.pool.alloc_skb(hlen + thl + kLLReservedSpace);
  skb_reserve(skb, int(kLLReservedSpace));
  skb_reset_network_header(skb);
  uint8_t* p = skb_put(skb, hlen + thl);
  skb_set_transport_header(skb, int(hlen));
  wire::Iphdr iph{p};
  iph.set_version_ihl(4, uint8_t(hlen / 4));
  iph.set_tos(sk->tos);
  iph.set_frag_off(ip_dont_fragment(sk, rt) ? wire::IP_DF : 0);
  iph.set_id(0);  // DF: ID 0 (without DF Linux would pick an ident; pmtudisc is WANT by default)
  iph.set_ttl(uint8_t(sk->uc_ttl >= 0 ? sk->uc_ttl : net.sysctl.ip_default_ttl));
  iph.set_protocol(wire::IPPROTO_TCP);
  iph.set_saddr(req->ir_loc_addr);
  iph.set_daddr(req->ir_rmt_addr);
  std::copy(th, th + thl, p + hlen);
  skb->ip_summed = CHECKSUM_NONE;
  skb->dst = rt;
  skb->dev = rt->dev;
  skb->protocol = wire::ETH_P_IP;
  // tcp_skb_timestamp_us of the SYN-ACK. 0 means "no SYN-ACK timed" (a
  // cookie's request); Linux's clock is never 0, the virtual one is at start.
  req->snt_synack = std::max<uint64_t>(net.engine.now() / 1000, 1);
  checkpoint(net.tracer, "ip_build_and_send_pkt", skb);
  ip_local_out(net, skb);
  net.mib.tcp.OutSegs++;
  return 0;
}

// tcp_rtx_synack: the request's SYN-ACK again, counted as a retransmission
// and traced (tcp:tcp_retransmit_synack) once it is sent.
int tcp_rtx_synack(Net& net, const Sock* sk, RequestSock* req) {
  const int res = tcp_v4_send_synack(net, sk, req);
  if (res == 0) {
    net.mib.tcp.RetransSegs++;
    net.mib.tcpext.TCPSynRetrans++;
    trace_tcp_retransmit_synack(net.tracer, sk, req, req->ir_loc_addr, req->ir_num, req->ir_rmt_addr,
                                req->ir_rmt_port);
    req->num_retrans++;
  }
  return res;
}


namespace {

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

// tcp_chrono_set: the running chrono's jiffies added to its total, the new one started now.
void tcp_chrono_set(Sock* sk, uint8_t type) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t now = uint32_t(sk->net->engine.jiffies());
  if (tp->chrono_type > TCP_CHRONO_UNSPEC) tp->chrono_stat[tp->chrono_type - 1] += now - tp->chrono_start;
  tp->chrono_start = now;
  tp->chrono_type = type;
}

// tcp_update_skb_after_send: the original remembers when it left. A paced
// socket's next departure moves on by the skb's time at the pacing rate, less
// up to half of it for a late start (the OS-jitter credit); as sch_fq, the
// first 10 segments go unpaced.
void tcp_update_skb_after_send(Sock* sk, SkBuff* skb, uint64_t prior_wstamp) {
  TcpSock* tp = tcp_sk(sk);
  skb->tstamp = tp->tcp_wstamp_ns;
  if (sk->sk_pacing_status == SK_PACING_NONE) return;
  const uint64_t rate = sk->sk_pacing_rate;
  if (rate == ~0ull || !rate || tp->data_segs_out < 10) return;
  uint64_t len_ns = uint64_t(skb->len) * 1'000'000'000ull / rate;
  const uint64_t credit = tp->tcp_wstamp_ns - prior_wstamp;
  len_ns -= std::min(len_ns / 2, credit);
  tp->tcp_wstamp_ns += len_ns;
}

}  // namespace

void tcp_chrono_start(Sock* sk, uint8_t type) {
  // The highest-priority condition wins: a more interesting one stops the running chrono.
  if (type > tcp_sk(sk)->chrono_type) tcp_chrono_set(sk, type);
}

void tcp_chrono_stop(Sock* sk, uint8_t type) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->tcp_rtx_queue.empty() && tp->sk_write_queue.empty())  // tcp_rtx_and_write_queues_empty
    tcp_chrono_set(sk, TCP_CHRONO_UNSPEC);
  else if (type == tp->chrono_type)
    tcp_chrono_set(sk, TCP_CHRONO_BUSY);
}

void tcp_add_write_queue_tail(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tp->sk_write_queue.push_back(skb);
  if (tp->sk_write_queue.front() == skb) tcp_chrono_start(sk, TCP_CHRONO_BUSY);
}

void tcp_cwnd_restart(Sock* sk, int32_t delta) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t restart_cwnd = std::min(tcp_init_cwnd(tp, sk->sk_dst_cache), tp->snd_cwnd);
  uint32_t cwnd = tp->snd_cwnd;
  tcp_ca_event(sk, CA_EVENT_CWND_RESTART);
  tp->snd_ssthresh = tcp_current_ssthresh(sk);
  // Halved for every RTO the sender sat idle, not below the initial window.
  while ((delta -= int32_t(tp->icsk_rto)) > 0 && cwnd > restart_cwnd) cwnd >>= 1;
  tp->snd_cwnd = std::max(cwnd, restart_cwnd);
  tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
  tp->snd_cwnd_used = 0;
}

void tcp_slow_start_after_idle_check(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  // No congestion control here has its own cong_control.
  if (!sk->net->sysctl.tcp_slow_start_after_idle || tp->packets_out) return;
  const int32_t delta = int32_t(uint32_t(sk->net->engine.jiffies()) - tp->lsndtime);
  if (delta > int32_t(tp->icsk_rto)) tcp_cwnd_restart(sk, delta);
}

uint32_t tcp_ns_to_ts(const Sock* sk, uint64_t ns) {
  // ms since boot, as tcp_clock_ms counts them: the seeded uptime's whole ms
  // first (Linux's clock is never near 0, and 0 is its "not stamped" value,
  // e.g. retrans_stamp), then the virtual clock shifted by the phase knob.
  const Engine& e = sk->net->engine;
  const uint64_t boot_ms = (e.jiffies_origin() - INITIAL_JIFFIES) * (1000 / HZ);
  return uint32_t(boot_ms + (ns + uint64_t(sk->net->sysctl.nettwin_tcp_clock_phase_ns) % 1'000'000) / 1'000'000);
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
  // Out of memory for the data just dropped: a zero window, now.
  if (tp->icsk_ack.pending & ICSK_ACK_NOMEM) {
    tp->pred_flags = 0;
    tp->rcv_wnd = 0;
    tp->rcv_wup = tp->rcv_nxt;
    return 0;
  }
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
  // The departure time: now, or later when pacing put the next one ahead.
  const uint64_t prior_wstamp = tp->tcp_wstamp_ns;
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
  // Linux forces PSH on every GSO skb (not on 1-MSS ones) so that the receiver's
  // GRO flushes at its end; only the copy that leaves gets it, not the one kept on
  // the rtx queue. With tcp_tso_autosize cutting a write into 2-segment skbs at a
  // 100 ms RTT, a 5000-byte write leaves as ". P. . P. P.".
  if (tcp_skb_pcount(skb) > 1) tcb->tcp_flags |= TCPHDR_PSH;
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
  // The segment is charged to the socket until it is freed; a pure ACK (truesize
  // 2) with __sock_wfree, anything else with tcp_wfree, which drives TSQ.
  skb_orphan(skb);
  skb_set_owner_w(skb, sk);
  if (skb->truesize != 2) skb->destructor = tcp_wfree;
  skb->dst_pending_confirm = sk->sk_dst_pending_confirm;
  wire::store_be16(th, sk->inet_sport);
  wire::store_be16(th + 2, sk->inet_dport);
  wire::store_be32(th + 4, tcb->seq);
  wire::store_be32(th + 8, rcv_nxt);
  th[12] = uint8_t((thl / 4) << 4);
  th[13] = tcb->tcp_flags;
  wire::store_be16(th + 16, 0);
  wire::store_be16(th + 18, 0);  // urg_ptr
  // Urgent data: the pointer to its end, within 64 KB of this segment (below
  // snd_una a window probe still carries it).
  if (tcp_urg_mode(tp) && before(tcb->seq, tp->snd_up)) {
    if (before(tp->snd_up, tcb->seq + 0x10000)) {
      wire::store_be16(th + 18, uint16_t(tp->snd_up - tcb->seq));
      th[13] |= TCPHDR_URG;
    } else if (after(tcb->seq + 0xFFFF, tp->snd_nxt)) {
      wire::store_be16(th + 18, 0xFFFF);
      th[13] |= TCPHDR_URG;
    }
  }
  skb_shinfo(skb)->gso_type = tp->sk_gso_type;
  if (!(tcb->tcp_flags & TCPHDR_SYN)) {
    wire::store_be16(th + 14, tcp_select_window(sk));
    tcp_ecn_send(sk, skb, th, thl);
  } else {
    wire::store_be16(th + 14, uint16_t(std::min<uint32_t>(tp->rcv_wnd, 65535)));
  }
  std::copy(opts, opts + olen, th + 20);
  if (tcp_skb_pcount(skb) > 1) {
    // A TSO skb: each segment is summed when GSO cuts it (tcp_gso_segment).
    skb->ip_summed = CHECKSUM_PARTIAL;
  } else {
    // tcp_v4_send_check, completed by skb_checksum_help (tx checksumming is off).
    const uint64_t sum = wire::csum_tcpudp_nofold(sk->inet_saddr, sk->inet_daddr, skb->len, wire::IPPROTO_TCP);
    wire::store_be16(th + 16, wire::csum_fold_mangled(wire::csum_partial(th, skb->len, sum)));
    skb->ip_summed = CHECKSUM_NONE;
  }
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
    tcp_update_skb_after_send(sk, oskb, prior_wstamp);
    tcp_rate_skb_sent(sk, oskb);
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
  // skb_set_tcp_pure_ack: pure ACKs barely count in TSQ (truesize 2).
  buff->truesize = 2;
  checkpoint(net.tracer, "tcp_send_ack", buff);
  tcp_transmit_skb(sk, buff, false);
}

void tcp_send_delayed_ack(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  int ato = int(tp->icsk_ack.ato);
  if (ato > int(TCP_DELACK_MIN)) {
    int max_ato = int(HZ / 2);
    if (inet_csk_in_pingpong_mode(sk) || (tp->icsk_ack.pending & ICSK_ACK_PUSHED))
      max_ato = int(tcp_delack_max(sk));
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


namespace {

uint32_t usecs_to_jiffies_(uint64_t us) { return uint32_t((us * HZ + 999'999) / 1'000'000); }

uint32_t tcp_packets_in_flight(const TcpSock* tp) { return tp->packets_out - (tp->sacked_out + tp->lost_out) + tp->retrans_out; }
uint32_t tcp_wnd_end(const TcpSock* tp) { return tp->snd_una + tp->snd_wnd; }
bool tcp_skb_is_last(Sock* sk, const SkBuff* skb) { return tcp_sk(sk)->sk_write_queue.back() == skb; }

// tcp_cwnd_test: how many more segments the congestion window allows, at most
// half of it at once (at least two GSO packets in flight).
uint32_t tcp_cwnd_test(const TcpSock* tp) {
  const uint32_t in_flight = tcp_packets_in_flight(tp);
  const uint32_t cwnd = tp->snd_cwnd;
  if (in_flight >= cwnd) return 0;
  const uint32_t halfcwnd = std::max(cwnd >> 1, 1u);
  return std::min(halfcwnd, cwnd - in_flight);
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
  if (tcp_urg_mode(tp) || (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN)) return true;
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
// for a single segment, for the peer's delayed ACK, else TCP_TIMEOUT_MIN),
// rounded up to jiffies once, unless the RTO comes first.
bool tcp_schedule_loss_probe(Sock* sk, bool advancing_rto) {
  TcpSock* tp = tcp_sk(sk);
  // tcp_early_retrans 3: TLP for SACK connections not in recovery.
  const int64_t early_retrans = sk->net->sysctl.tcp_early_retrans;
  if ((early_retrans != 3 && early_retrans != 4) || !tp->packets_out || !tcp_is_sack(tp) ||
      (tp->icsk_ca_state != TCP_CA_Open && tp->icsk_ca_state != TCP_CA_CWR))
    return false;
  uint32_t timeout;
  if (tp->srtt_us) {
    // In jiffies, each part rounded up on its own: this kernel's recordings
    // (tcp_ecn_ece_cwr: no probe 11 ms after two segments at srtt 2.3 ms) fit
    // that, not one rounding of 2*srtt + TCP_TIMEOUT_MIN_US.
    timeout = usecs_to_jiffies_(tp->srtt_us >> 2);
    timeout += tp->packets_out == 1 ? tcp_rto_min(sk) : TCP_TIMEOUT_MIN;
  } else {
    timeout = TCP_TIMEOUT_INIT;
  }
  const int64_t rto_delta_us = advancing_rto ? int64_t(tp->icsk_rto) * 1'000'000 / int64_t(HZ) : tcp_rto_delta_us(sk);
  if (rto_delta_us > 0) timeout = std::min(timeout, usecs_to_jiffies_(uint64_t(rto_delta_us)));
  tcp_reset_xmit_timer(sk, ICSK_TIME_LOSS_PROBE, timeout);
  return true;
}

// ---------------------------------------------------------------- TSO, in software

namespace {

// tcp_bound_to_half_wnd: no skb larger than half the peer's largest window
// (all of it for tiny windows), so that the pipe holds several.
int tcp_bound_to_half_wnd(const TcpSock* tp, int pktsize) {
  const int cutoff = int(tp->max_window > TCP_MSS_DEFAULT ? tp->max_window >> 1 : tp->max_window);
  if (cutoff && pktsize > cutoff) return std::max(cutoff, 68 - int(tp->tcp_header_len));
  return pktsize;
}

// sk_wmem_free_skb for an skb that never left (tcp_grow_skb emptied it).
void tcp_unqueue_free_skb(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tp->sk_write_queue.unlink(skb);
  tp->sk_wmem_queued -= int(skb->truesize);
  __kfree_skb(skb);
}

// An skb for the tail of another (tcp_stream_alloc_skb), nlen bytes of room.
SkBuff* tcp_alloc_split_skb(Sock* sk, unsigned nlen) {
  SkBuff* buff = sk->net->pool.alloc_skb(MAX_TCP_HEADER + nlen);
  skb_reserve(buff, int(MAX_TCP_HEADER));
  buff->truesize = alloc_skb_truesize(MAX_TCP_HEADER);
  return buff;
}

// skb_split: the bytes of skb past len move to buff (Linux moves the page
// fragments; the data here is linear, so they are copied once). The moved
// bytes were payload, counted in data_len.
void skb_split(SkBuff* skb, SkBuff* buff, uint32_t len) {
  const uint32_t nlen = skb->len - len;
  std::copy(skb->data + len, skb->data + skb->len, skb_put(buff, nlen));
  buff->data_len = nlen;
  skb->data_len = skb->data_len > nlen ? skb->data_len - nlen : 0;
  skb_trim(skb, len);
}

// tcp_fragment_tstamp / skb_set_delivery_time: the second part left when the first did.
void tcp_split_cb(SkBuff* skb, SkBuff* buff, uint32_t len) {
  TcpSkbCb* scb = TCP_SKB_CB(skb);
  TcpSkbCb* bcb = TCP_SKB_CB(buff);
  *bcb = *scb;
  bcb->seq = scb->seq + len;
  scb->end_seq = bcb->seq;
  // PSH and FIN should only be set in the second packet.
  scb->tcp_flags = uint8_t(scb->tcp_flags & ~(TCPHDR_FIN | TCPHDR_PSH));
  scb->eor = 0;  // tcp_skb_fragment_eor: only the second part may end a record
  buff->tstamp = skb->tstamp;
}

// tcp_adjust_pcount: a sent skb now stands for decr fewer segments (cut, or
// collapsed into its predecessor); for Reno its share of the dupacks goes too.
void tcp_adjust_pcount(Sock* sk, const SkBuff* skb, int decr) {
  TcpSock* tp = tcp_sk(sk);
  tp->packets_out -= uint32_t(decr);
  const uint8_t sacked = TCP_SKB_CB(skb)->sacked;
  if (sacked & TCPCB_SACKED_ACKED) tp->sacked_out -= uint32_t(decr);
  if (sacked & TCPCB_SACKED_RETRANS) tp->retrans_out -= uint32_t(decr);
  if (sacked & TCPCB_LOST) tp->lost_out -= uint32_t(decr);
  // Reno counts dupacks in sacked_out.
  if (!tp->rx_opt.sack_ok && decr > 0) tp->sacked_out -= std::min<uint32_t>(tp->sacked_out, uint32_t(decr));
}

// tcp_tso_autosize: a TSO skb holds about 1 ms of the pacing rate (plus more
// on short paths), within the GSO size; at least min_tso_segs.
uint32_t tcp_tso_autosize(const Sock* sk, unsigned mss_now, uint32_t min_tso_segs) {
  const TcpSock* tp = tcp_sk(sk);
  uint64_t bytes = tp->sk_pacing_rate >> tp->sk_pacing_shift;
  const uint32_t r = tp->rtt_min_us >> sk->net->sysctl.tcp_tso_rtt_log;
  if (r < 32) bytes += tp->sk_gso_max_size >> r;
  bytes = std::min<uint64_t>(bytes, tp->sk_gso_max_size);
  return std::max(uint32_t(bytes / mss_now), min_tso_segs);
}

// tcp_mss_split_point: how much of skb to send now, in whole MSS unless the
// window ends it or Nagle lets the last partial segment go.
unsigned tcp_mss_split_point(Sock* sk, const SkBuff* skb, unsigned mss_now, unsigned max_segs, int nonagle) {
  const TcpSock* tp = tcp_sk(sk);
  const uint32_t window = tcp_wnd_end(tp) - TCP_SKB_CB(skb)->seq;
  const uint32_t max_len = mss_now * max_segs;
  if (max_len <= window && skb != tp->sk_write_queue.back()) return max_len;
  const uint32_t needed = std::min(skb->len, window);
  if (max_len <= needed) return max_len;
  const uint32_t partial = needed % mss_now;
  // A last segment short of an MSS goes only when Nagle allows it.
  if (tcp_nagle_check(partial != 0, tp, nonagle)) return needed - partial;
  return needed;
}

// What tso_fragment and tcp_fragment share: the bytes of skb past len move to a
// new skb (charged to the socket, the truesize moving along), which is returned.
SkBuff* tcp_split_off(Sock* sk, SkBuff* skb, unsigned len) {
  const uint32_t nlen = skb->len - len;
  SkBuff* buff = tcp_alloc_split_skb(sk, nlen);
  tcp_sk(sk)->sk_wmem_queued += int(buff->truesize);
  buff->truesize += nlen;
  skb->truesize -= nlen;
  tcp_split_cb(skb, buff, len);
  skb_split(skb, buff, len);
  return buff;
}

// tso_fragment: an unsent skb cut at len, the rest behind it on the write queue.
int tso_fragment(Sock* sk, SkBuff* skb, unsigned len, unsigned mss_now) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* buff = tcp_split_off(sk, skb, len);
  tcp_set_skb_tso_segs(skb, mss_now);
  tcp_set_skb_tso_segs(buff, mss_now);
  tp->sk_write_queue.insert_after(skb, buff);
  return 0;
}

// tcp_tso_should_defer: wait for more window (or data) rather than send a
// small TSO skb now, when an ACK is expected soon.
bool tcp_tso_should_defer(Sock* sk, SkBuff* skb, bool* is_cwnd_limited, bool* is_rwnd_limited, uint32_t max_segs) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->icsk_ca_state >= TCP_CA_Recovery) return false;
  // Avoid bursty behavior by allowing defer only if the last write was recent (1 ms).
  if (int64_t(tp->tcp_clock_cache - tp->tcp_wstamp_ns - 1'000'000) > 0) return false;
  const uint32_t in_flight = tcp_packets_in_flight(tp);
  const uint32_t send_win = tcp_wnd_end(tp) - TCP_SKB_CB(skb)->seq;
  const uint32_t cong_win = (tp->snd_cwnd - in_flight) * tp->mss_cache;
  const uint32_t limit = std::min(send_win, cong_win);
  // If a full-sized TSO skb can be sent, do it.
  if (limit >= max_segs * tp->mss_cache) return false;
  // Middle in queue won't get any more data, full sendable already?
  if (skb != tp->sk_write_queue.back() && limit >= skb->len) return false;
  const int64_t win_divisor = sk->net->sysctl.tcp_tso_win_divisor;
  if (win_divisor) {
    // If at least some fraction of a window is available, just use it.
    const uint32_t chunk = std::min(tp->snd_wnd, tp->snd_cwnd * tp->mss_cache) / uint32_t(win_divisor);
    if (limit >= chunk) return false;
  } else if (limit > 3 * tp->mss_cache) {  // tcp_max_tso_deferred_mss
    return false;
  }
  const SkBuff* head = tp->tcp_rtx_queue.front();
  if (!head) return false;
  // If next ACK is likely to come too late (half srtt), do not defer.
  if (int64_t(tp->tcp_clock_cache - head->tstamp - uint64_t(1000) * (tp->srtt_us >> 4)) < 0) return false;
  if (cong_win < send_win) {
    if (cong_win <= skb->len) {
      *is_cwnd_limited = true;
      return true;
    }
  } else if (send_win <= skb->len) {
    *is_rwnd_limited = true;
    return true;
  }
  // If this packet won't get more data, do not wait.
  if ((TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN) || TCP_SKB_CB(skb)->eor) return false;
  return true;
}

// tcp_grow_skb: the head of the write queue, smaller than what may go now,
// takes bytes from the skb behind it (skb_shift; here within its room).
void tcp_grow_skb(Sock* sk, SkBuff* skb, int amount) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* next_skb = skb->next;
  if (skb == tp->sk_write_queue.back() || !next_skb) return;
  if (TCP_SKB_CB(skb)->eor) return;  // tcp_skb_can_collapse
  const uint32_t nlen = std::min<uint32_t>(uint32_t(amount), next_skb->len);
  if (!nlen) return;
  // skb_shift moves page fragments, so Linux's skb takes all nlen bytes
  // whatever its buffer.
  skb_grow_tailroom(skb, nlen);
  std::copy(next_skb->data, next_skb->data + nlen, skb_put(skb, nlen));
  skb_pull(next_skb, nlen);
  skb->data_len += nlen;
  next_skb->data_len = next_skb->data_len > nlen ? next_skb->data_len - nlen : 0;
  skb->truesize += nlen;
  next_skb->truesize -= nlen;
  TCP_SKB_CB(skb)->end_seq += nlen;
  TCP_SKB_CB(next_skb)->seq += nlen;
  if (!next_skb->len) {
    TCP_SKB_CB(skb)->end_seq = TCP_SKB_CB(next_skb)->end_seq;
    TCP_SKB_CB(skb)->eor = TCP_SKB_CB(next_skb)->eor;
    TCP_SKB_CB(skb)->tcp_flags |= TCP_SKB_CB(next_skb)->tcp_flags;
    tcp_unqueue_free_skb(sk, next_skb);
  }
}

}  // namespace

unsigned tcp_xmit_size_goal(Sock* sk, uint32_t mss_now, bool large_allowed) {
  TcpSock* tp = tcp_sk(sk);
  if (!large_allowed) return mss_now;
  // Note: tcp_tso_autosize() will eventually split this later.
  const uint32_t new_size_goal = uint32_t(tcp_bound_to_half_wnd(tp, int(tp->sk_gso_max_size)));
  uint32_t size_goal = tp->gso_segs * mss_now;
  if (new_size_goal < size_goal || new_size_goal >= size_goal + mss_now) {
    tp->gso_segs = uint16_t(std::min<uint32_t>(new_size_goal / mss_now, tp->sk_gso_max_segs));
    size_goal = tp->gso_segs * mss_now;
  }
  return std::max(size_goal, mss_now);
}

unsigned tcp_send_mss(Sock* sk, unsigned* size_goal, int flags) {
  const unsigned mss_now = tcp_current_mss(sk);
  *size_goal = tcp_xmit_size_goal(sk, mss_now, !(flags & MSG_OOB_));
  return mss_now;
}

uint32_t tcp_tso_segs(Sock* sk, unsigned mss_now) {
  // No congestion control here has min_tso_segs: the sysctl.
  const uint32_t min_tso = uint32_t(sk->net->sysctl.tcp_min_tso_segs);
  return std::min<uint32_t>(tcp_tso_autosize(sk, mss_now, min_tso), tcp_sk(sk)->sk_gso_max_segs);
}

unsigned tcp_set_skb_tso_segs(SkBuff* skb, unsigned mss_now) {
  if (skb->len <= mss_now) {
    TCP_SKB_CB(skb)->tcp_gso_size = 0;
    tcp_skb_pcount_set(skb, 1);
    return 1;
  }
  TCP_SKB_CB(skb)->tcp_gso_size = uint16_t(mss_now);
  const unsigned tso_segs = (skb->len + mss_now - 1) / mss_now;
  tcp_skb_pcount_set(skb, tso_segs);
  return tso_segs;
}

int tcp_trim_head(Sock* sk, SkBuff* skb, uint32_t len) {
  TcpSock* tp = tcp_sk(sk);
  // __pskb_trim_head: the acked bytes leave the (paged) payload; a clone
  // still on its way keeps its own header, so the data stays shared.
  len = std::min(len, skb->len);
  skb_pull(skb, len);
  skb->data_len = skb->data_len > len ? skb->data_len - len : 0;
  TCP_SKB_CB(skb)->seq += len;
  skb->truesize -= len;
  tp->sk_wmem_queued -= int(len);
  // Any change of skb->len requires recalculation of tso factor.
  if (tcp_skb_pcount(skb) > 1) tcp_set_skb_tso_segs(skb, TCP_SKB_CB(skb)->tcp_gso_size);
  return 0;
}

int tcp_fragment(Sock* sk, TcpQueue tcp_queue, SkBuff* skb, uint32_t len, unsigned mss_now) {
  TcpSock* tp = tcp_sk(sk);
  if (len > skb->len) return -22;  // -EINVAL
  const int64_t limit = int64_t(sk->sk_sndbuf) + 2 * int64_t(alloc_skb_truesize(65536));
  if ((tp->sk_wmem_queued >> 1) > limit && tcp_queue != TCP_FRAG_IN_WRITE_QUEUE &&
      skb != tp->tcp_rtx_queue.front() && skb != tp->tcp_rtx_queue.back()) {
    return -E_NOMEM;  // LINUX_MIB_TCPWQUEUETOOBIG, not among the counters kept here
  }
  SkBuff* buff = tcp_split_off(sk, skb, len);
  const int old_factor = int(tcp_skb_pcount(skb));
  tcp_set_skb_tso_segs(skb, mss_now);
  tcp_set_skb_tso_segs(buff, mss_now);
  // If this packet has been sent out already, we must adjust the various packet counters.
  if (!before(tp->snd_nxt, TCP_SKB_CB(buff)->end_seq)) {
    const int diff = old_factor - int(tcp_skb_pcount(skb)) - int(tcp_skb_pcount(buff));
    if (diff) tcp_adjust_pcount(sk, skb, diff);
  }
  (tcp_queue == TCP_FRAG_IN_RTX_QUEUE ? tp->tcp_rtx_queue : tp->sk_write_queue).insert_after(skb, buff);
  return 0;
}

namespace {

// tcp_can_collapse: one segment, nobody else holds its data, not SACKed.
bool tcp_can_collapse(const SkBuff* skb) {
  if (tcp_skb_pcount(skb) > 1) return false;
  if (skb_cloned(skb)) return false;
  return !(TCP_SKB_CB(skb)->sacked & TCPCB_SACKED_ACKED);
}

// tcp_collapse_retrans: the next skb's data and flags move into skb, which
// then covers both; the next one is freed. Linux shifts page frags
// (tcp_skb_shift); here the payload is linear, so it is copied and counted
// as paged like tcp_sendmsg's.
bool tcp_collapse_retrans(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* next_skb = skb->next;
  const uint32_t next_skb_size = next_skb->len;
  if (next_skb_size) {
    if (int(next_skb_size) > skb_tailroom(skb)) return false;
    std::copy(next_skb->data, next_skb->data + next_skb_size, skb_put(skb, next_skb_size));
    skb->data_len += next_skb_size;
    skb->truesize += next_skb_size;
    next_skb->truesize -= next_skb_size;
  }
  TCP_SKB_CB(skb)->end_seq = TCP_SKB_CB(next_skb)->end_seq;
  TCP_SKB_CB(skb)->tcp_flags |= TCP_SKB_CB(next_skb)->tcp_flags;  // PSH, FIN come along
  TCP_SKB_CB(skb)->sacked |= TCP_SKB_CB(next_skb)->sacked & TCPCB_EVER_RETRANS;
  TCP_SKB_CB(skb)->eor = TCP_SKB_CB(next_skb)->eor;
  tcp_adjust_pcount(sk, next_skb, int(tcp_skb_pcount(next_skb)));
  // tcp_rtx_queue_unlink_and_free.
  tp->tcp_rtx_queue.unlink(next_skb);
  tp->sk_wmem_queued -= int(next_skb->truesize);
  __kfree_skb(next_skb);
  return true;
}

// tcp_retrans_try_collapse (net.ipv4.tcp_retrans_collapse 1): small segments
// behind `to` join it, up to space bytes and the peer's window, so that a
// retransmission sends fewer packets.
void tcp_retrans_try_collapse(Sock* sk, SkBuff* to, int space) {
  TcpSock* tp = tcp_sk(sk);
  if (TCP_SKB_CB(to)->tcp_flags & TCPHDR_SYN) return;
  bool first = true;
  for (SkBuff* skb = to; skb;) {
    SkBuff* next = skb->next;
    if (!tcp_can_collapse(skb)) break;
    if (TCP_SKB_CB(to)->eor) break;  // tcp_skb_can_collapse
    space -= int(skb->len);
    if (first) {
      first = false;
      skb = next;
      continue;
    }
    if (space < 0) break;
    if (after(TCP_SKB_CB(skb)->end_seq, tcp_wnd_end(tp))) break;
    if (!tcp_collapse_retrans(sk, to)) break;
    skb = to->next;
  }
}

// __tcp_retransmit_skb: send skb again (a clone), traced.
int __tcp_retransmit_skb(Sock* sk, SkBuff* skb, int segs) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  // Parts of it acked already: only the rest goes again.
  if (before(TCP_SKB_CB(skb)->seq, tp->snd_una)) {
    if (before(TCP_SKB_CB(skb)->end_seq, tp->snd_una)) return -E_INVAL;
    if (tcp_trim_head(sk, skb, tp->snd_una - TCP_SKB_CB(skb)->seq)) return -E_NOMEM;
  }
  const unsigned cur_mss = tcp_current_mss(sk);
  int avail_wnd = int(tcp_wnd_end(tp) - TCP_SKB_CB(skb)->seq);
  // If receiver has shrunk his window, and skb is out of new window, do not
  // retransmit it; a window shrunk to zero is probed by one segment.
  if (avail_wnd <= 0) {
    if (TCP_SKB_CB(skb)->seq != tp->snd_una) return -E_AGAIN;
    avail_wnd = int(cur_mss);
  }
  // No more than segs MSS at once: a larger TSO skb is cut first; a smaller
  // one may take in the small segments behind it.
  uint32_t len = cur_mss * unsigned(segs);
  if (len > uint32_t(avail_wnd)) {
    len = uint32_t(avail_wnd) / cur_mss * cur_mss;
    if (!len) len = uint32_t(avail_wnd);
  }
  if (skb->len > len) {
    if (tcp_fragment(sk, TCP_FRAG_IN_RTX_QUEUE, skb, len, cur_mss)) return -E_NOMEM;
  } else {
    const int diff = int(tcp_skb_pcount(skb)) - int(tcp_set_skb_tso_segs(skb, cur_mss));
    if (diff) tcp_adjust_pcount(sk, skb, diff);
    avail_wnd = std::min(avail_wnd, int(cur_mss));
    if (int(skb->len) < avail_wnd) tcp_retrans_try_collapse(sk, skb, avail_wnd);
  }
  // RFC 3168 6.1.1.1: ECN fallback, the SYN goes again without ECE|CWR.
  tcp_ecn_clear_syn(sk, skb);
  segs = int(tcp_skb_pcount(skb));
  // No clock refresh: the caller's stands (an ICMP's tcp_simple_retransmit has
  // none, so its segments carry the TSval of the last refresh).
  const int err = tcp_transmit_skb(sk, skb, true);
  if (!err) {
    net.mib.tcp.RetransSegs += unsigned(segs);
    if (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_SYN) net.mib.tcpext.TCPSynRetrans++;
    tp->total_retrans += unsigned(segs);
    tp->bytes_retrans += skb->len;
  }
  trace_tcp_retransmit_skb(net.tracer, sk, skb, err);
  // Always, so that no RTT is sampled from a transmit that may not have happened.
  TCP_SKB_CB(skb)->sacked |= TCPCB_EVER_RETRANS;
  return err;
}

// tcp_send_loss_probe: new data if the peer's window allows, else the last
// segment again, to draw an ACK (SACK) from the peer (TCPLossProbes); at most
// one probe per episode (tlp_high_seq). The RTO restarts from now.
void tcp_send_loss_probe(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const unsigned mss = tcp_current_mss(sk);
  if (tp->tlp_high_seq) goto rearm_timer;
  tp->tlp_retrans = false;
  if (SkBuff* skb = tp->sk_write_queue.front(); skb && tcp_snd_wnd_test(tp, skb, mss)) {
    const uint32_t pcount = tp->packets_out;
    tcp_write_xmit(sk, mss, TCP_NAGLE_OFF, 2);
    if (tp->packets_out > pcount) goto probe_sent;
    goto rearm_timer;
  }
  {
    SkBuff* skb = tp->tcp_rtx_queue.back();
    if (!skb) {
      tp->icsk_pending = 0;
      return;
    }
    // The probe is the last segment: a TSO skb gives up its tail.
    if (const unsigned pcount = tcp_skb_pcount(skb); pcount > 1 && skb->len > (pcount - 1) * mss) {
      if (tcp_fragment(sk, TCP_FRAG_IN_RTX_QUEUE, skb, (pcount - 1) * mss, mss)) goto rearm_timer;
      skb = skb->next;
    }
    if (__tcp_retransmit_skb(sk, skb, 1)) goto rearm_timer;
    tp->tlp_retrans = true;
  }
probe_sent:
  tp->tlp_high_seq = tp->snd_nxt;  // what an ACK must pass for the probe to have repaired a loss
  sk->net->mib.tcpext.TCPLossProbes++;
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
  // A window no larger than TCP_MSS_DEFAULT bounds the MSS whole (a cookie's
  // connection without timestamps has no window scaling: 3 is 3 bytes).
  mss_now = tcp_bound_to_half_wnd(tp, mss_now);
  tp->icsk_pmtu_cookie = pmtu;
  tp->mss_cache = unsigned(mss_now);
  return unsigned(mss_now);
}

unsigned tcp_current_mss(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  unsigned mss_now = tp->mss_cache;
  if (sk->sk_dst_cache && sk->sk_dst_cache->dev) {
    const unsigned mtu = ipv4_mtu(sk->sk_dst_cache);  // dst_mtu: a learnt path MTU, else the device's
    if (mtu != tp->icsk_pmtu_cookie) mss_now = tcp_sync_mss(sk, mtu);
  }
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
  tcp_check_space(sk);  // unsent bytes fell: a writer held by TCP_NOTSENT_LOWAT may go on
}

namespace {

// tcp_cwnd_application_limited (RFC 2861): cwnd unused for an RTO, while Open
// and not waiting for send buffer, shrinks halfway to what was used.
void tcp_cwnd_application_limited(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->icsk_ca_state == TCP_CA_Open && sk->sk_socket && !(sk->sk_socket->flags & SOCK_NOSPACE)) {
    const uint32_t win_used = std::max(tp->snd_cwnd_used, TCP_INIT_CWND);
    if (win_used < tp->snd_cwnd) {
      tp->snd_ssthresh = tcp_current_ssthresh(sk);
      tp->snd_cwnd = (tp->snd_cwnd + win_used) >> 1;
    }
    tp->snd_cwnd_used = 0;
  }
  tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
}

// tcp_cwnd_validate: whether this window was cwnd-limited, else the most it
// had in flight, holds until snd_una passes what was sent when it was noted
// (cwnd_usage_seq); tcp_is_cwnd_limited lets cwnd grow only then. One packet
// after a full window (a new window, not limited) stops slow start's growth
// (tcp_tlp_new_data: cwnd stays 21 when the 12th segment is acked).
void tcp_cwnd_validate(Sock* sk, bool is_cwnd_limited) {
  TcpSock* tp = tcp_sk(sk);
  if (!before(tp->snd_una, tp->cwnd_usage_seq) || is_cwnd_limited ||
      (!tp->is_cwnd_limited && tp->packets_out > tp->max_packets_out)) {
    tp->is_cwnd_limited = is_cwnd_limited;
    tp->max_packets_out = tp->packets_out;
    tp->cwnd_usage_seq = tp->snd_nxt;
  }
  if (tcp_is_cwnd_limited(tp)) {
    tp->snd_cwnd_used = 0;  // the network is fed fully
    tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
  } else {
    tp->snd_cwnd_used = std::max(tp->snd_cwnd_used, tp->packets_out);
    // No congestion control here has its own cong_control.
    if (sk->net->sysctl.tcp_slow_start_after_idle &&
        int32_t(uint32_t(sk->net->engine.jiffies()) - tp->snd_cwnd_stamp) >= int32_t(tp->icsk_rto))
      tcp_cwnd_application_limited(sk);
    // Starved by the send buffer: data just sent, not cwnd-limited, nothing left to send, and the
    // writer found no room (SOCK_NOSPACE).
    if (tp->sk_write_queue.empty() && sk->sk_socket && (sk->sk_socket->flags & SOCK_NOSPACE) &&
        (sk->sk_state == TCP_ESTABLISHED || sk->sk_state == TCP_CLOSE_WAIT))
      tcp_chrono_start(sk, TCP_CHRONO_SNDBUF_LIMITED);
  }
}

}  // namespace

namespace {
bool tcp_pacing_check(Sock* sk);
}  // namespace

bool tcp_write_xmit(Sock* sk, unsigned mss_now, int nonagle, int push_one) {
  TcpSock* tp = tcp_sk(sk);
  unsigned sent_pkts = 0;
  bool is_cwnd_limited = false, is_rwnd_limited = false;
  tcp_mstamp_refresh(sk);
  const uint32_t max_segs = tcp_tso_segs(sk, mss_now);
  while (SkBuff* skb = tp->sk_write_queue.front()) {
    if (tcp_pacing_check(sk)) break;
    uint32_t cwnd_quota = tcp_cwnd_test(tp);
    if (!cwnd_quota) {
      if (push_one != 2) break;
      cwnd_quota = 1;  // Force out a loss probe pkt.
    }
    cwnd_quota = std::min(cwnd_quota, max_segs);
    const int missing_bytes = int(cwnd_quota * mss_now) - int(skb->len);
    if (missing_bytes > 0) tcp_grow_skb(sk, skb, missing_bytes);
    const unsigned tso_segs = tcp_set_skb_tso_segs(skb, mss_now);
    if (!tcp_snd_wnd_test(tp, skb, mss_now)) {
      is_rwnd_limited = true;
      break;
    }
    if (tso_segs == 1) {
      if (!tcp_nagle_test(tp, skb, mss_now, tcp_skb_is_last(sk, skb) ? nonagle : TCP_NAGLE_PUSH)) break;
    } else if (!push_one && tcp_tso_should_defer(sk, skb, &is_cwnd_limited, &is_rwnd_limited, max_segs)) {
      break;
    }
    unsigned limit = mss_now;
    if (tso_segs > 1 && !tcp_urg_mode(tp)) limit = tcp_mss_split_point(sk, skb, mss_now, cwnd_quota, nonagle);
    if (skb->len > limit && tso_fragment(sk, skb, limit, mss_now)) break;
    if (tcp_small_queue_check(sk, skb, 0)) break;
    // An empty skb: a writer is still filling it.
    if (TCP_SKB_CB(skb)->end_seq == TCP_SKB_CB(skb)->seq) break;
    checkpoint(sk->net->tracer, "tcp_write_xmit", skb);
    if (tcp_transmit_skb(sk, skb, true)) break;
    tcp_event_new_data_sent(sk, skb);
    tcp_minshall_update(tp, mss_now, skb);
    sent_pkts += tcp_skb_pcount(skb);
    if (push_one) break;
  }
  if (is_rwnd_limited)
    tcp_chrono_start(sk, TCP_CHRONO_RWND_LIMITED);
  else
    tcp_chrono_stop(sk, TCP_CHRONO_RWND_LIMITED);
  is_cwnd_limited |= tcp_packets_in_flight(tp) >= tp->snd_cwnd;
  if (sent_pkts || is_cwnd_limited) tcp_cwnd_validate(sk, is_cwnd_limited);
  if (sent_pkts) {
    if (tcp_in_cwnd_reduction(tp)) tp->prr_out += sent_pkts;  // PRR counts new data too
    if (push_one != 2) tcp_schedule_loss_probe(sk, false);
    return false;
  }
  return !tp->packets_out && !tp->sk_write_queue.empty();
}

bool tcp_small_queue_check(Sock* sk, const SkBuff* skb, unsigned factor) {
  const TcpSock* tp = tcp_sk(sk);
  uint64_t limit = std::max<uint64_t>(2ull * skb->truesize, tp->sk_pacing_rate >> tp->sk_pacing_shift);
  limit = std::min<uint64_t>(limit, uint64_t(sk->net->sysctl.tcp_limit_output_bytes));
  limit <<= factor;
  // Linux compares the refcount, sk_wmem_alloc + 1 while the socket lives.
  const auto over = [&] { return uint64_t(sk->sk_wmem_alloc) + 1 > limit; };
  if (!over()) return false;
  // tcp_rtx_queue_empty_or_single_skb: nothing in flight to wait for.
  if (tp->tcp_rtx_queue.qlen <= 1) return false;
  sk->sk_tsq_flags |= TSQF_THROTTLED;
  return true;  // Linux tests again for a TX completion racing the flag: none can here
}

void tcp_wfree(SkBuff* skb) {
  Sock* sk = skb->sk;
  Net& net = *sk->net;
  sk->sk_wmem_alloc -= int(skb->truesize);
  const unsigned flags = sk->sk_tsq_flags;
  if ((flags & TSQF_THROTTLED) && !(flags & TSQF_QUEUED)) {
    sk->sk_tsq_flags = (flags & ~TSQF_THROTTLED) | TSQF_QUEUED;
    // list_add at the head (tcp_tsq_workfn walks this vector from its back);
    // the first one schedules the work.
    auto& list = net.sock.tsq_list;
    if (list.empty()) net.engine.raise_softirq(TASKLET_SOFTIRQ);
    list.push_back(sk);
    return;
  }
  // sk_free: the last reference of a closed socket.
  if (sk->sk_wmem_alloc == 0 && sk->sk_free_deferred && !(flags & TSQF_QUEUED)) net.sock.sk_destruct(sk);
}

namespace {

// tcp_tsq_write: what TSQ held back, lost segments first.
void tcp_tsq_write(Sock* sk) {
  constexpr unsigned states = (1u << TCP_ESTABLISHED) | (1u << TCP_FIN_WAIT1) | (1u << TCP_CLOSING) |
                              (1u << TCP_CLOSE_WAIT) | (1u << TCP_LAST_ACK);
  if (!((1u << sk->sk_state) & states)) return;
  TcpSock* tp = tcp_sk(sk);
  if (tp->lost_out > tp->retrans_out && tp->snd_cwnd > tcp_packets_in_flight(tp)) {
    tcp_mstamp_refresh(sk);
    tcp_xmit_retransmit_queue(sk);
  }
  tcp_write_xmit(sk, tcp_current_mss(sk), tp->nonagle, 0);
}

// tcp_pace_kick: the pacing hrtimer; what waited for it goes as TSQ's work
// would send it.
void tcp_pace_kick(Sock* sk) {
  tcp_sk(sk)->pacing_timer = 0;
  tcp_tsq_write(sk);
}

// tcp_pacing_check: a socket that paces itself (tcp_needs_internal_pacing:
// SO_MAX_PACING_RATE) holds what it would send until its next departure time,
// when pacing_timer fires.
bool tcp_pacing_check(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->sk_pacing_status != SK_PACING_NEEDED) return false;
  if (tp->tcp_wstamp_ns <= tp->tcp_clock_cache) return false;
  Engine& engine = sk->net->engine;
  if (!engine.timer_pending(tp->pacing_timer))
    tp->pacing_timer = engine.add_timer(tp->tcp_wstamp_ns, [sk] { tcp_pace_kick(sk); });
  return true;
}

}  // namespace

void tcp_tsq_workfn(Net& net) {
  std::vector<Sock*> list;
  list.swap(net.sock.tsq_list);
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    Sock* sk = *it;
    sk->sk_tsq_flags &= ~TSQF_QUEUED;
    // tcp_tsq_handler: no socket is owned by a user when softirqs run here (a
    // socket call runs to its end first, or waits with its lock released), so
    // TCP_TSQ_DEFERRED and tcp_release_cb's share never apply.
    tcp_tsq_write(sk);
    // sk_free: the list's reference.
    if (sk->sk_wmem_alloc == 0 && sk->sk_free_deferred && !(sk->sk_tsq_flags & TSQF_QUEUED)) net.sock.sk_destruct(sk);
  }
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
    // Counted even when already marked retransmitted (an undo unmarks the loss
    // but keeps SACKED_RETRANS): Linux's "retrans_out leaked" case.
    TCP_SKB_CB(skb)->sacked |= TCPCB_RETRANS;
    tp->retrans_out += tcp_skb_pcount(skb);
  }
  // The first retransmit's time: the write timeout counts from it.
  if (!tp->retrans_stamp) tp->retrans_stamp = tcp_ns_to_ts(sk, skb->tstamp);
  if (tp->undo_retrans < 0) tp->undo_retrans = 0;
  tp->undo_retrans += int(tcp_skb_pcount(skb));
  return err;
}

void tcp_xmit_retransmit_queue(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->packets_out) return;
  SkBuff* rtx_head = tp->tcp_rtx_queue.front();
  bool rearm_timer = false;
  const int max_segs = int(tcp_tso_segs(sk, tcp_current_mss(sk)));
  for (SkBuff* skb = rtx_head; skb; skb = skb->next) {
    if (tcp_pacing_check(sk)) break;
    int segs = int(tp->snd_cwnd) - int(tcp_packets_in_flight(tp));
    if (segs <= 0) break;
    // Not a TSO packet bigger than tcp_tso_segs allows (an skb cut by a smaller MSS, or
    // aggregated by tcp_shift_skb_data): with GSO off, 2 segments (min_tso_segs).
    segs = std::min(segs, max_segs);
    const uint8_t sacked = TCP_SKB_CB(skb)->sacked;
    if (tp->retrans_out >= tp->lost_out) break;
    if (!(sacked & TCPCB_LOST)) continue;
    if (sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS)) continue;
    if (tcp_small_queue_check(sk, skb, 1)) break;
    if (tcp_retransmit_skb(sk, skb, segs)) break;
    if (tp->icsk_ca_state != TCP_CA_Loss)
      sk->net->mib.tcpext.TCPFastRetrans += tcp_skb_pcount(skb);
    else
      sk->net->mib.tcpext.TCPSlowStartRetrans += tcp_skb_pcount(skb);
    if (tcp_in_cwnd_reduction(tp)) tp->prr_out += tcp_skb_pcount(skb);
    if (skb == rtx_head && tp->icsk_pending != ICSK_TIME_REO_TIMEOUT) rearm_timer = true;
  }
  if (rearm_timer) tcp_reset_xmit_timer(sk, ICSK_TIME_RETRANS, tp->icsk_rto);
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
    tcp_add_write_queue_tail(sk, skb);
  }
  __tcp_push_pending_frames(sk, tcp_current_mss(sk), TCP_NAGLE_OFF);
}

// tcp_xmit_probe_skb: a bare ACK the peer must answer, one byte below snd_una
// (at snd_una when urgent: the urgent pointer's own probe).
int tcp_xmit_probe_skb(Sock* sk, bool urgent, uint64_t& mib) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  SkBuff* skb = net.pool.alloc_skb(MAX_TCP_HEADER);
  skb_reserve(skb, int(MAX_TCP_HEADER));
  tcp_init_nondata_skb(skb, tp->snd_una - (urgent ? 0 : 1), TCPHDR_ACK);
  mib++;
  return tcp_transmit_skb(sk, skb, false);
}

int tcp_write_wakeup(Sock* sk, uint64_t& mib) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->sk_state == TCP_CLOSE) return -1;
  SkBuff* skb = tp->sk_write_queue.front();  // tcp_send_head
  if (skb && before(TCP_SKB_CB(skb)->seq, tcp_wnd_end(tp))) {
    const unsigned mss = tcp_current_mss(sk);
    uint32_t seg_size = tcp_wnd_end(tp) - TCP_SKB_CB(skb)->seq;
    if (before(tp->pushed_seq, TCP_SKB_CB(skb)->end_seq)) tp->pushed_seq = TCP_SKB_CB(skb)->end_seq;
    // The window opened less than the segment (sender SWS avoidance held it), or it is a
    // TSO skb: one MSS of it, or what the window takes, goes now.
    if (seg_size < TCP_SKB_CB(skb)->end_seq - TCP_SKB_CB(skb)->seq || skb->len > mss) {
      seg_size = std::min<uint32_t>(seg_size, mss);
      TCP_SKB_CB(skb)->tcp_flags |= TCPHDR_PSH;
      if (tcp_fragment(sk, TCP_FRAG_IN_WRITE_QUEUE, skb, seg_size, mss)) return -1;
    } else if (!tcp_skb_pcount(skb)) {
      tcp_set_skb_tso_segs(skb, mss);
    }
    TCP_SKB_CB(skb)->tcp_flags |= TCPHDR_PSH;
    const int err = tcp_transmit_skb(sk, skb, true);
    if (!err) tcp_event_new_data_sent(sk, skb);
    return err;
  }
  if (between(tp->snd_up, tp->snd_una + 1, tp->snd_una + 0xFFFF)) tcp_xmit_probe_skb(sk, true, mib);
  return tcp_xmit_probe_skb(sk, false, mib);
}

void tcp_send_probe0(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tcp_mstamp_refresh(sk);
  const int err = tcp_write_wakeup(sk, sk->net->mib.tcpext.TCPWinProbe);
  if (tp->packets_out || tp->sk_write_queue.empty()) {
    tp->icsk_probes_out = 0;  // the probe timer is no longer needed
    tp->icsk_backoff = 0;
    tp->icsk_probes_tstamp = 0;
    return;
  }
  tp->icsk_probes_out++;
  uint64_t when = TCP_RESOURCE_PROBE_INTERVAL;  // not sent for local congestion: try again soon
  if (err <= 0) {
    if (tp->icsk_backoff < 15) tp->icsk_backoff++;
    when = std::min<uint64_t>(uint64_t(std::max(tp->icsk_rto, TCP_RTO_MIN)) << tp->icsk_backoff, TCP_RTO_MAX);
  }
  tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, uint32_t(when));
}

// The loss-probe timer's event (tcp_write_timer_handler's ICSK_TIME_LOSS_PROBE).
void tcp_loss_probe_timer(Sock* sk) { tcp_send_loss_probe(sk); }

namespace {

// tcp_ca_dst_init: the route's congestion control (congctl), if it names one.
void tcp_ca_dst_init(Sock* sk, const DstEntry* dst) {
  TcpSock* tp = tcp_sk(sk);
  const TcpCongestionOps* ca = tcp_ca_find_key(dst_metric(dst, RTAX_CC_ALGO));
  if (!ca) return;
  tp->icsk_ca_dst_locked = dst_metric_locked(dst, RTAX_CC_ALGO);
  tp->icsk_ca_ops = ca;
}

// tcp_connect_init: the header length with timestamps, MSS from the route,
// the initial window and our window scale, the sequence numbers from
// write_seq, the initial RTO.
void tcp_connect_init(Sock* sk) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  const DstEntry* dst = sk->sk_dst_cache;
  tp->tcp_header_len = uint16_t(20 + (net.sysctl.tcp_timestamps ? TCPOLEN_TSTAMP_ALIGNED : 0));
  if (tp->rx_opt.user_mss) tp->rx_opt.mss_clamp = tp->rx_opt.user_mss;
  tp->max_window = 0;
  tcp_sync_mss(sk, ipv4_mtu(dst));  // dst_mtu; tcp_mtup_init leaves probing off
  if (!tp->window_clamp) tp->window_clamp = dst_metric(dst, RTAX_WINDOW);
  tp->advmss = uint16_t(tcp_mss_clamp(tp, dst_metric_advmss(dst)));
  tcp_ca_dst_init(sk, dst);
  tcp_initialize_rcv_mss(sk);
  const int full = tcp_full_space(sk);
  if ((sk->sk_userlocks & SOCK_RCVBUF_LOCK) && (tp->window_clamp > uint32_t(full) || tp->window_clamp == 0))
    tp->window_clamp = uint32_t(full);
  uint8_t rcv_wscale = 0;
  tcp_select_initial_window(net, full,
                            tp->advmss - (tp->rx_opt.ts_recent_stamp ? tp->tcp_header_len - 20u : 0u),
                            &tp->rcv_wnd, &tp->window_clamp, net.sysctl.tcp_window_scaling != 0, &rcv_wscale,
                            dst_metric(dst, RTAX_INITRWND));
  tp->rx_opt.rcv_wscale = rcv_wscale;
  tp->rcv_ssthresh = tp->rcv_wnd;
  sk->sk_err = 0;
  tp->snd_wnd = 0;
  tp->snd_wl1 = 0;  // tcp_init_wl
  tcp_write_queue_purge(sk);
  tp->snd_una = tp->snd_sml = tp->snd_nxt = tp->write_seq;
  tp->snd_up = tp->write_seq;
  tp->rcv_nxt = 0;
  tp->rcv_wup = tp->copied_seq = tp->rcv_nxt;
  tp->icsk_rto = TCP_TIMEOUT_INIT;
  tp->icsk_retransmits = 0;
  // tcp_clear_retrans
  tp->retrans_out = tp->lost_out = tp->undo_marker = tp->sacked_out = 0;
  tp->undo_retrans = -1;
}

}  // namespace

int tcp_connect(Sock* sk) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  tcp_connect_init(sk);
  // tcp_stream_alloc_skb: an empty skb with room for the headers, charged to
  // the socket while it waits on the retransmit queue for its ACK.
  SkBuff* buff = net.pool.alloc_skb(MAX_TCP_HEADER);
  if (!buff) return -E_NOBUFS;
  skb_reserve(buff, int(MAX_TCP_HEADER));
  buff->truesize = alloc_skb_truesize(MAX_TCP_HEADER);
  tcp_init_nondata_skb(buff, tp->write_seq++, TCPHDR_SYN);
  tcp_mstamp_refresh(sk);
  tp->retrans_stamp = tcp_time_stamp_ms(sk);
  // tcp_connect_queue_skb
  tp->sk_wmem_queued += int(buff->truesize);
  tp->write_seq = TCP_SKB_CB(buff)->end_seq;
  tp->packets_out += tcp_skb_pcount(buff);
  tcp_ecn_send_syn(sk, buff);
  tp->tcp_rtx_queue.push_back(buff);  // tcp_rbtree_insert
  const int err = tcp_transmit_skb(sk, buff, true);
  if (err == -E_CONNREFUSED) return err;
  // snd_nxt moves after the transmit so that the SYN counts in OutSegs.
  tp->snd_nxt = tp->write_seq;
  tp->pushed_seq = tp->write_seq;
  net.mib.tcp.ActiveOpens++;
  inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, tp->icsk_rto, TCP_RTO_MAX);
  return 0;
}

// tcp_send_synack (simultaneous open): our SYN, still on the retransmit queue,
// goes again with ACK set (a copy if its last clone is still on its way).
int tcp_send_synack(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* skb = tp->tcp_rtx_queue.front();
  if (!skb || !(TCP_SKB_CB(skb)->tcp_flags & TCPHDR_SYN)) return -14;  // -EFAULT: wrong queue state
  if (!(TCP_SKB_CB(skb)->tcp_flags & TCPHDR_ACK)) {
    if (skb_cloned(skb)) {
      SkBuff* nskb = skb_copy(skb);
      if (!nskb) return -E_NOMEM;
      tp->tcp_rtx_queue.unlink(skb);
      tp->sk_wmem_queued -= int(skb->truesize);
      __kfree_skb(skb);
      tp->tcp_rtx_queue.push_front(nskb);
      tp->sk_wmem_queued += int(nskb->truesize);
      skb = nskb;
    }
    TCP_SKB_CB(skb)->tcp_flags |= TCPHDR_ACK;
  }
  tcp_mstamp_refresh(sk);
  return tcp_transmit_skb(sk, skb, true);
}

}  // namespace nettwin
