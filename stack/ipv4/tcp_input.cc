// net/ipv4/tcp_input.c: the receive side of TCP. tcp_parse_options; the
// passive open's tcp_conn_request (request sock, ISN, timestamp offset,
// SYN-ACK, SYN cookies); the connected socket's tcp_rcv_established and
// tcp_rcv_state_process with tcp_validate_incoming, tcp_ack (RTT and RTO,
// the retransmit queue, the window, congestion control), tcp_data_queue and
// the out-of-order queue, delayed and quick ACKs, FIN and RST; the active
// open's tcp_rcv_synsent_state_process and tcp_finish_connect.
#include "ipv4/tcp_input.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/net.h"
#include "core/secure_seq.h"
#include "core/trace_events.h"
#include "ipv4/fib.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/tcp_ecn.h"
#include "socket/eventpoll.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ipv4.h"
#include "ipv4/syncookies.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_ipv4.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_rate.h"
#include "ipv4/tcp_recovery.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"
#include "socket/sock.h"
#include "wire/bytes.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

enum : uint8_t { TCPOPT_EOL = 0, TCPOPT_NOP = 1, TCPOPT_MSS = 2, TCPOPT_WINDOW = 3, TCPOPT_SACK_PERM = 4,
                 TCPOPT_TIMESTAMP = 8 };
constexpr uint8_t TCP_MAX_WSCALE = 14;

}  // namespace

void tcp_parse_options(const Net& net, const uint8_t* th, TcpOptionsReceived* opt, bool estab) {
  const bool syn = (th[13] & 0x02) && !estab;  // what only a SYN negotiates
  opt->saw_tstamp = false;
  const unsigned len = (th[12] >> 4) * 4u - 20;
  const uint8_t* p = th + 20;
  const uint8_t* end = p + len;
  while (p < end) {
    const uint8_t opcode = *p++;
    if (opcode == TCPOPT_EOL) return;
    if (opcode == TCPOPT_NOP) continue;
    if (p >= end) return;
    const uint8_t opsize = *p++;
    if (opsize < 2 || opsize > end - p + 2) return;  // silly or partial options
    switch (opcode) {
      case TCPOPT_MSS:
        if (opsize == 4 && syn) {
          uint16_t in_mss = wire::load_be16(p);
          if (in_mss) {
            if (opt->user_mss && opt->user_mss < in_mss) in_mss = opt->user_mss;
            opt->mss_clamp = in_mss;
          }
        }
        break;
      case TCPOPT_WINDOW:
        if (opsize == 3 && syn && net.sysctl.tcp_window_scaling) {
          opt->wscale_ok = true;
          opt->snd_wscale = std::min<uint8_t>(p[0], TCP_MAX_WSCALE);
        }
        break;
      case TCPOPT_TIMESTAMP:
        if (opsize == 10 && (estab ? opt->tstamp_ok : net.sysctl.tcp_timestamps != 0)) {
          opt->saw_tstamp = true;
          opt->rcv_tsval = wire::load_be32(p);
          opt->rcv_tsecr = wire::load_be32(p + 4);
        }
        break;
      case TCPOPT_SACK_PERM:
        if (opsize == 2 && syn && net.sysctl.tcp_sack) opt->sack_ok = 1;
        break;
      default:
        break;
    }
    p += opsize - 2;
  }
}

void tcp_listendrop(Net& net) { net.mib.tcpext.ListenDrops++; }

RequestSock* inet_lookup_reqsk(Net& net, uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
                               Sock** listener) {
  for (Sock* sk : net.sock.tcp_listeners) {
    for (auto& req : tcp_sk(sk)->reqsk_queue) {
      if (req->ir_rmt_addr == saddr && req->ir_rmt_port == sport && req->ir_loc_addr == daddr &&
          req->ir_num == dport) {
        *listener = sk;
        return req.get();
      }
    }
  }
  return nullptr;
}

namespace {

// tcp_syn_flood_action: a full SYN queue (or tcp_syncookies 2) answers with a
// cookie when tcp_syncookies allows (TCPReqQFullDoCookies), else drops the SYN
// (TCPReqQFullDrop). Linux logs "Possible SYN flooding on port ..." once per
// listener, unless cookies are always on; synflood_warned keeps that once.
bool tcp_syn_flood_action(Net& net, Sock* sk) {
  const int64_t syncookies = net.sysctl.tcp_syncookies;
  bool want_cookie = false;
  if (syncookies) {
    want_cookie = true;
    net.mib.tcpext.TCPReqQFullDoCookies++;
  } else {
    net.mib.tcpext.TCPReqQFullDrop++;
  }
  TcpSock* tp = tcp_sk(sk);
  if (!tp->synflood_warned && syncookies != 2) tp->synflood_warned = true;
  return want_cookie;
}

// tcp_synq_overflow: the listener's last overflow (rx_opt.ts_recent_stamp of a
// listener), refreshed at most once a second.
void tcp_synq_overflow(Net& net, Sock* sk) {
  const uint32_t now = uint32_t(net.engine.jiffies());
  uint32_t& last_overflow = tcp_sk(sk)->rx_opt.ts_recent_stamp;
  if (!(now - last_overflow <= uint32_t(HZ))) last_overflow = now;  // !time_between32(now, last, last + HZ)
}

}  // namespace

// tcp_v4_conn_request and tcp_conn_request. A SYN to a broadcast or
// multicast address is never answered. A full SYN queue (or tcp_syncookies 2)
// answers with a cookie and keeps nothing, or drops the SYN; a full accept
// queue drops it (ListenOverflows). A SYN a TIME_WAIT sock handed over
// (tcp_tw_isn) skips the flood checks and starts at the ISN it was given.
// The caller consumes the skb either way.
void tcp_v4_conn_request(Net& net, Sock* sk, SkBuff* skb) {
  if (!skb->dst || skb->dst->rt_type != RTN_LOCAL) {
    tcp_listendrop(net);
    return;
  }
  TcpSock* tp = tcp_sk(sk);
  bool want_cookie = false;
  int64_t syncookies = 0;
  uint32_t isn = net.tcp_death_row.tcp_tw_isn;
  if (isn) {
    net.tcp_death_row.tcp_tw_isn = 0;
  } else {
    syncookies = net.sysctl.tcp_syncookies;
    if (syncookies == 2 || inet_csk_reqsk_queue_is_full(sk)) {
      want_cookie = tcp_syn_flood_action(net, sk);
      if (!want_cookie) {
        tcp_listendrop(net);
        return;
      }
    }
  }
  // sk_acceptq_is_full: more children than the backlog (strictly).
  if (sk->sk_ack_backlog > sk->sk_max_ack_backlog) {
    net.mib.tcpext.ListenOverflows++;
    tcp_listendrop(net);
    return;
  }
  TcpOptionsReceived tmp_opt;
  tmp_opt.mss_clamp = TCP_MSS_DEFAULT;  // tcp_request_sock_ipv4_ops.mss_clamp
  tmp_opt.user_mss = tp->rx_opt.user_mss;
  tcp_parse_options(net, skb->data, &tmp_opt, false);
  if (want_cookie && !tmp_opt.saw_tstamp) {
    // tcp_clear_options: without timestamps a cookie cannot carry the options.
    tmp_opt.wscale_ok = false;
    tmp_opt.snd_wscale = 0;
    tmp_opt.sack_ok = 0;
  }
  tmp_opt.tstamp_ok = tmp_opt.saw_tstamp;

  wire::Iphdr iph{skb_network_header(skb)};
  const uint8_t* th = skb->data;
  auto req = std::make_unique<RequestSock>();
  req->syncookie = want_cookie;
  // tcp_openreq_init
  req->rcv_isn = wire::load_be32(th + 4);
  req->mss = tmp_opt.mss_clamp;
  req->ts_recent = tmp_opt.saw_tstamp ? tmp_opt.rcv_tsval : 0;
  req->tstamp_ok = tmp_opt.tstamp_ok;
  req->sack_ok = tmp_opt.sack_ok;
  req->snd_wscale = tmp_opt.snd_wscale;
  req->wscale_ok = tmp_opt.wscale_ok;
  req->ir_rmt_port = wire::load_be16(th);
  req->ir_num = wire::load_be16(th + 2);
  req->ir_loc_addr = iph.daddr();
  req->ir_rmt_addr = iph.saddr();
  req->ir_iif = skb->dev ? skb->dev->ifindex : 0;
  req->rsk_listener = sk;
  // route_req (tcp_v4_route_req): no route back, no answer.
  DstEntry* dst = inet_csk_route_req(net, sk, req.get());
  if (!dst) {
    tcp_listendrop(net);
    return;
  }
  req->ecn_ok = tcp_ecn_create_request(net, th, iph.tos(), dst);
  if (tmp_opt.tstamp_ok)
    req->ts_off = secure_tcp_ts_off(net, int(net.sysctl.tcp_timestamps), req->ir_loc_addr, req->ir_rmt_addr);
  if (!want_cookie && !isn) {
    // Without cookies the last quarter of tcp_max_syn_backlog is kept for
    // peers proven alive (tcp_peer_is_proven: no inet_peer metrics here, so none is).
    const int64_t max_syn_backlog = net.sysctl.tcp_max_syn_backlog;
    if (!syncookies && max_syn_backlog - inet_csk_reqsk_queue_len(sk) < (max_syn_backlog >> 2)) {
      tcp_listendrop(net);
      return;
    }
    // tcp_v4_init_seq: the hash over (our address, theirs, our port, theirs).
    isn = secure_tcp_seq(net, req->ir_loc_addr, req->ir_rmt_addr, req->ir_num, req->ir_rmt_port);
  }
  if (want_cookie) {
    // cookie_init_sequence: the listener's last overflow, SyncookiesSent, and
    // the cookie, which rounds the MSS down to a msstab entry.
    tcp_synq_overflow(net, sk);
    net.mib.tcpext.SyncookiesSent++;
    isn = __cookie_v4_init_sequence(net, req->ir_rmt_addr, req->ir_loc_addr, req->ir_rmt_port, req->ir_num,
                                    req->rcv_isn, &req->mss);
    // Without timestamps the cookie cannot carry ECN.
    if (!tmp_opt.tstamp_ok) req->ecn_ok = false;
  }
  req->snt_isn = isn;
  if (want_cookie) {
    // Nothing is kept: the SYN-ACK goes out and the request is freed.
    tcp_v4_send_synack(net, sk, req.get(), dst);
    return;
  }
  // tcp_timeout_init: TCP_TIMEOUT_INIT (1 s) for the first SYN-ACK timeout.
  RequestSock* r = inet_csk_reqsk_queue_hash_add(sk, std::move(req), uint32_t(HZ));
  tcp_v4_send_synack(net, sk, r, dst);
}


namespace {

uint32_t usecs_to_jiffies(uint64_t us) { return uint32_t((us * HZ + 999'999) / 1'000'000); }

// sk_wmem_free_skb: a queued skb's charge given back, the skb freed untraced
// (Linux frees TCP's sent data with __kfree_skb).
void tcp_wmem_free_skb(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tp->sk_wmem_queued -= int(skb->truesize);
  __kfree_skb(skb);
}

}  // namespace

void inet_csk_destroy_sock(Sock* sk) {
  Net& net = *sk->net;
  // tcp_v4_destroy_sock.
  trace_tcp_destroy_sock(net.tracer, sk);
  tcp_clear_xmit_timers(sk);
  tcp_write_queue_purge(sk);
  tcp_ofo_queue_purge(sk);  // skb_rbtree_purge
  sk->sk_prot->unhash(sk);
  if (sk->inet_num) inet_put_port(sk);
  // sk_stream_kill_queues: what the reader never took is purged.
  while (SkBuff* skb = sk->sk_receive_queue.pop_front()) {
    tcp_sock_rfree(sk, skb);
    kfree_skb(skb, SkbDropReason::QUEUE_PURGE, "sk_stream_kill_queues");
  }
  // sock_put: the memory goes once the closed socket's last skb is freed,
  // after the callers up the stack are done with it.
  if (sk->sk_socket) return;
  sk->sk_free_deferred = true;
  if (sk->sk_wmem_alloc == 0 && !(sk->sk_tsq_flags & TSQF_QUEUED)) net.engine.add_timer(net.engine.now(), [&net, sk] { net.sock.sk_destruct(sk); });
}

bool inet_csk_in_pingpong_mode(const Sock* sk) { return tcp_sk(sk)->icsk_ack.pingpong >= 1; }

void tcp_data_ready(Sock* sk) { sock_def_readable(sk); }

void tcp_set_rto(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  // __tcp_set_rto: srtt + 4 * mdev, with the variance at least the minimum RTO.
  tp->icsk_rto = std::min(usecs_to_jiffies((tp->srtt_us >> 3) + tp->rttvar_us), TCP_RTO_MAX);
}

void tcp_rtt_estimator(Sock* sk, long mrtt_us) {
  TcpSock* tp = tcp_sk(sk);
  long m = std::max(mrtt_us, 1L);
  uint32_t srtt = tp->srtt_us;
  if (srtt != 0) {
    m -= long(srtt >> 3);
    srtt = uint32_t(long(srtt) + m);
    if (m < 0) {
      m = -m;
      m -= long(tp->mdev_us >> 2);
      if (m > 0) m >>= 3;
    } else {
      m -= long(tp->mdev_us >> 2);
    }
    tp->mdev_us = uint32_t(long(tp->mdev_us) + m);
    if (tp->mdev_us > tp->mdev_max_us) {
      tp->mdev_max_us = tp->mdev_us;
      if (tp->mdev_max_us > tp->rttvar_us) tp->rttvar_us = tp->mdev_max_us;
    }
    if (after(tp->snd_una, tp->rtt_seq)) {
      if (tp->mdev_max_us < tp->rttvar_us) tp->rttvar_us -= (tp->rttvar_us - tp->mdev_max_us) >> 2;
      tp->rtt_seq = tp->snd_nxt;
      tp->mdev_max_us = tcp_rto_min_us(sk);
    }
  } else {
    srtt = uint32_t(m << 3);
    tp->mdev_us = uint32_t(m << 1);
    tp->rttvar_us = std::max(tp->mdev_us, tcp_rto_min_us(sk));
    tp->mdev_max_us = tp->rttvar_us;
    tp->rtt_seq = tp->snd_nxt;
  }
  tp->srtt_us = std::max(1u, srtt);
}

// tcp_init_undo: what a spurious recovery would be undone to.
static void tcp_init_undo(TcpSock* tp) {
  tp->undo_marker = tp->snd_una;
  tp->undo_retrans = tp->retrans_out ? int(tp->retrans_out) : -1;
}

// tcp_current_ssthresh: ssthresh, or 3/4 of cwnd when that is more (undo keeps it).
static uint32_t tcp_current_ssthresh(const TcpSock* tp) {
  if (tcp_in_cwnd_reduction(tp)) return tp->snd_ssthresh;
  return std::max(tp->snd_ssthresh, (tp->snd_cwnd >> 1) + (tp->snd_cwnd >> 2));
}

void tcp_mark_skb_lost(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  const uint8_t sacked = TCP_SKB_CB(skb)->sacked;
  if (sacked & TCPCB_SACKED_ACKED) return;
  if (sacked & TCPCB_LOST) {
    if (sacked & TCPCB_SACKED_RETRANS) {
      // A retransmission lost again.
      TCP_SKB_CB(skb)->sacked &= uint8_t(~TCPCB_SACKED_RETRANS);
      tp->retrans_out -= tcp_skb_pcount(skb);
      sk->net->mib.tcpext.TCPLostRetransmit += tcp_skb_pcount(skb);
      tp->lost += tcp_skb_pcount(skb);
    }
  } else {
    tp->lost_out += tcp_skb_pcount(skb);
    TCP_SKB_CB(skb)->sacked |= TCPCB_LOST;
    tp->lost += tcp_skb_pcount(skb);
  }
}

// tcp_timeout_mark_lost: the head and all in flight longer than RACK's RTT
// are lost (the recently sent are spared); a SACKed head means the peer
// reneged: its SACKs are forgotten (TCPSACKReneging). Reno forgets its dupacks.
static void tcp_timeout_mark_lost(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* head = tp->tcp_rtx_queue.front();
  const bool is_reneg = head && (TCP_SKB_CB(head)->sacked & TCPCB_SACKED_ACKED);
  if (is_reneg) {
    sk->net->mib.tcpext.TCPSACKReneging++;
    tp->sacked_out = 0;
    tp->is_sack_reneg = true;  // until this loss recovers
  } else if (tcp_is_reno(tp)) {
    tp->sacked_out = 0;
  }
  for (SkBuff* skb = head; skb; skb = skb->next) {
    if (is_reneg)
      TCP_SKB_CB(skb)->sacked &= uint8_t(~TCPCB_SACKED_ACKED);
    else if (skb != head && tcp_rack_skb_timeout(tp, skb, 0) > 0)
      continue;
    tcp_mark_skb_lost(sk, skb);
  }
}

void tcp_enter_loss(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const bool new_recovery = tp->icsk_ca_state < TCP_CA_Recovery;
  tcp_timeout_mark_lost(sk);
  // Reduce ssthresh if it has not yet been made inside this window.
  if (tp->icsk_ca_state <= TCP_CA_Disorder || !after(tp->high_seq, tp->snd_una) ||
      (tp->icsk_ca_state == TCP_CA_Loss && !tp->icsk_retransmits)) {
    tp->prior_ssthresh = tcp_current_ssthresh(tp);
    tp->prior_cwnd = tp->snd_cwnd;
    tp->snd_ssthresh = tp->icsk_ca_ops ? tp->icsk_ca_ops->ssthresh(sk) : std::max(tp->snd_cwnd >> 1, 2u);
    tcp_ca_event(sk, CA_EVENT_LOSS);
    tcp_init_undo(tp);
  }
  // tcp_packets_in_flight + 1.
  tp->snd_cwnd = tp->packets_out - tcp_left_out(tp) + tp->retrans_out + 1;
  tp->snd_cwnd_cnt = 0;
  tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
  // A timeout in Disorder after many dupacks: reordering was overestimated.
  if (tp->icsk_ca_state <= TCP_CA_Disorder && tp->sacked_out >= uint32_t(sk->net->sysctl.tcp_reordering))
    tp->reordering = std::min(tp->reordering, uint32_t(sk->net->sysctl.tcp_reordering));
  tcp_set_ca_state(sk, TCP_CA_Loss);
  tp->high_seq = tp->snd_nxt;
  tp->tlp_high_seq = 0;
  tcp_ecn_queue_cwr(tp);
  // F-RTO (RFC 5682 3.1 step 1): unless a recovery other than this RTO's own
  // was under way (path MTU probing is off here).
  tp->frto = sk->net->sysctl.tcp_frto && (new_recovery || tp->icsk_retransmits);
}

void tcp_write_queue_purge(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tcp_chrono_stop(sk, TCP_CHRONO_BUSY);
  while (SkBuff* skb = tp->sk_write_queue.pop_front()) tcp_wmem_free_skb(sk, skb);
  while (SkBuff* skb = tp->tcp_rtx_queue.pop_front()) tcp_wmem_free_skb(sk, skb);
  tp->packets_out = 0;
  tp->retrans_out = tp->lost_out = tp->sacked_out = 0;
}

void tcp_done(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_SYN_RECV) sk->net->mib.tcp.AttemptFails++;
  tcp_set_state(sk, TCP_CLOSE);
  tcp_clear_xmit_timers(sk);
  sk->sk_shutdown = SHUTDOWN_MASK;
  (void)tp;
  if (!sk->sock_dead) {
    sock_def_wakeup(sk);  // sk_state_change
    return;
  }
  inet_csk_destroy_sock(sk);
}

}  // namespace nettwin

// ------------------------------------------------------------------ receive

namespace nettwin {

void tcp_initialize_rcv_mss(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  unsigned hint = std::min<unsigned>(tp->advmss, tp->mss_cache);
  hint = std::min(hint, tp->rcv_wnd / 2);
  hint = std::min(hint, TCP_MSS_DEFAULT);
  hint = std::max(hint, TCP_MIN_MSS);
  tp->icsk_ack.rcv_mss = uint16_t(hint);
}


// tcp_fast_path_on: the header prediction word (host order) for the peer's window.
void tcp_fast_path_on(TcpSock* tp) {
  tp->pred_flags = (uint32_t(tp->tcp_header_len) << 26) | (uint32_t(TCPHDR_ACK) << 16) |
                   ((tp->snd_wnd >> tp->rx_opt.snd_wscale) & 0xffff);
}

void tcp_fast_path_check(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->out_of_order_queue.empty() && tp->rcv_wnd && sk->sk_rmem_alloc < sk->sk_rcvbuf && !tp->urg_data)
    tcp_fast_path_on(tp);
}

namespace {

enum : int {
  FLAG_DATA = 0x01, FLAG_WIN_UPDATE = 0x02, FLAG_DATA_ACKED = 0x04, FLAG_RETRANS_DATA_ACKED = 0x08,
  FLAG_SYN_ACKED = 0x10, FLAG_DATA_SACKED = 0x20, FLAG_ECE = 0x40, FLAG_LOST_RETRANS = 0x80,
  FLAG_SLOWPATH = 0x100, FLAG_ORIG_SACK_ACKED = 0x200, FLAG_SND_UNA_ADVANCED = 0x400, FLAG_DSACKING_ACK = 0x800,
  FLAG_SET_XMIT_TIMER = 0x1000, FLAG_SACK_RENEGING = 0x2000, FLAG_UPDATE_TS_RECENT = 0x4000,
  FLAG_NO_CHALLENGE_ACK = 0x8000, FLAG_ACK_MAYBE_DELAYED = 0x10000, FLAG_DSACK_TLP = 0x20000,
  FLAG_ACKED = FLAG_DATA_ACKED | FLAG_SYN_ACKED,
  FLAG_NOT_DUP = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_ACKED,
  FLAG_CA_ALERT = FLAG_DATA_SACKED | FLAG_ECE | FLAG_DSACKING_ACK,
  FLAG_FORWARD_PROGRESS = FLAG_ACKED | FLAG_DATA_SACKED,
};
constexpr uint32_t TCP_HP_BITS = 0xF0F7FFFFu;  // ~(TCP_RESERVED_BITS | TCP_FLAG_PSH), host order
constexpr uint32_t TCP_INFINITE_SSTHRESH = 0x7fffffff;

const uint8_t* tcp_hdr(const SkBuff* skb) { return skb_transport_header(skb); }
uint32_t tcp_flag_word(const uint8_t* th) { return wire::load_be32(th + 12); }

// tcp_fast_parse_options: the aligned timestamp is read directly.
bool tcp_fast_parse_options(const SkBuff* skb, TcpSock* tp) {
  const uint8_t* th = tcp_hdr(skb);
  const unsigned doff = th[12] >> 4;
  if (doff == 5) {
    tp->rx_opt.saw_tstamp = false;
    return false;
  }
  if (tp->rx_opt.tstamp_ok && doff == (20 + TCPOLEN_TSTAMP_ALIGNED) / 4 && wire::load_be32(th + 20) == 0x0101080au) {
    tp->rx_opt.saw_tstamp = true;
    tp->rx_opt.rcv_tsval = wire::load_be32(th + 24);
    tp->rx_opt.rcv_tsecr = wire::load_be32(th + 28);
    return true;
  }
  tcp_parse_options(*tp->net, th, &tp->rx_opt, true);
  return true;
}

// tcp_store_ts_recent / tcp_replace_ts_recent.
void tcp_store_ts_recent(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->rx_opt.ts_recent = tp->rx_opt.rcv_tsval;
  tp->rx_opt.ts_recent_stamp = uint32_t(tcp_ktime_get_seconds(sk->net->engine));
}
void tcp_replace_ts_recent(Sock* sk, uint32_t seq) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->rx_opt.saw_tstamp && !after(seq, tp->rcv_wup) && int32_t(tp->rx_opt.rcv_tsval - tp->rx_opt.ts_recent) >= 0)
    tcp_store_ts_recent(sk);
}

// tcp_rtt_tsopt_us: the RTT the echoed timestamp tells (ms clock, at least 1 ms).
long tcp_rtt_tsopt_us(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  // TSecr echoes our TSval, which carries the connection's offset.
  uint32_t delta = tcp_time_stamp_ms(sk) - (tp->rx_opt.rcv_tsecr - tp->tsoffset);
  if (delta < uint32_t(INT32_MAX / 1000)) {
    if (!delta) delta = 1;
    return long(delta) * 1000;
  }
  return -1;
}

// tcp_ack_update_rtt: one RTT sample; the RTO follows, backoff is cleared.
// The last (S)ACKed segment's RTT (or the echo's) goes to the rate sample,
// for the congestion control's pkts_acked.
bool tcp_ack_update_rtt(Sock* sk, int flag, long seq_rtt_us, long ca_rtt_us, RateSample* rs = nullptr) {
  TcpSock* tp = tcp_sk(sk);
  if (seq_rtt_us < 0 && tp->rx_opt.saw_tstamp && tp->rx_opt.rcv_tsecr && (flag & FLAG_ACKED))
    seq_rtt_us = ca_rtt_us = tcp_rtt_tsopt_us(sk);
  if (rs) rs->rtt_us = ca_rtt_us;
  if (seq_rtt_us < 0) return false;
  if (uint32_t(ca_rtt_us) < tp->rtt_min_us) tp->rtt_min_us = uint32_t(std::max(ca_rtt_us, 1L));
  tcp_rtt_estimator(sk, seq_rtt_us);
  tcp_set_rto(sk);
  tp->icsk_backoff = 0;
  return true;
}

void tcp_incr_quickack(Sock* sk, unsigned max_quickacks) {
  TcpSock* tp = tcp_sk(sk);
  unsigned quickacks = tp->rcv_wnd / (2 * tp->icsk_ack.rcv_mss);
  if (quickacks == 0) quickacks = 2;
  quickacks = std::min(quickacks, max_quickacks);
  if (quickacks > tp->icsk_ack.quick) tp->icsk_ack.quick = uint8_t(quickacks);
}


void inet_csk_schedule_ack(Sock* sk) { tcp_sk(sk)->icsk_ack.pending |= ICSK_ACK_SCHED; }

// tcp_measure_rcv_mss: the peer's segment size as we see it.
void tcp_measure_rcv_mss(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  const unsigned lss = tp->icsk_ack.last_seg_size;
  tp->icsk_ack.last_seg_size = 0;
  unsigned len = skb->len;
  if (len >= tp->icsk_ack.rcv_mss) {
    if (len != tp->icsk_ack.rcv_mss) {
      const uint64_t val = (uint64_t(skb->len) << 8) / skb->truesize;
      const uint8_t old_ratio = tp->scaling_ratio;
      tp->scaling_ratio = uint8_t(val ? std::min<uint64_t>(val, 255) : 1);
      if (old_ratio != tp->scaling_ratio) {
        // The window clamp follows the new ratio (6.15+), rcv_ssthresh with it.
        tcp_set_window_clamp(sk, int((int64_t(sk->sk_rcvbuf) * tp->scaling_ratio) >> 8));  // tcp_win_from_space
        if (tp->window_clamp < tp->rcvq_space.space) tp->rcvq_space.space = tp->window_clamp;
      }
    }
    tp->icsk_ack.rcv_mss = uint16_t(std::min<unsigned>(len, tp->advmss));
    if (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_PSH) tp->icsk_ack.pending |= ICSK_ACK_PUSHED;
  } else {
    len += unsigned(skb->data - skb_transport_header(skb));
    const uint32_t fw = tcp_flag_word(tcp_hdr(skb));
    const bool remnant = fw & (0x00080000u | 0x00200000u | 0x00010000u | 0x00020000u | 0x00040000u);  // PSH URG FIN SYN RST
    if (len >= TCP_MSS_DEFAULT + 20 || (len >= TCP_MIN_MSS + 20 && !remnant)) {
      len -= tp->tcp_header_len;
      tp->icsk_ack.last_seg_size = uint16_t(len);
      if (len == lss) {
        tp->icsk_ack.rcv_mss = uint16_t(len);
        return;
      }
    }
    if (tp->icsk_ack.pending & ICSK_ACK_PUSHED) tp->icsk_ack.pending |= ICSK_ACK_PUSHED2;
    tp->icsk_ack.pending |= ICSK_ACK_PUSHED;
  }
}

// tcp_rcv_rtt_update: rcv_rtt_est.rtt_us is the receiver's RTT << 3; a
// window-based sample (win_dep) only ever lowers it.
void tcp_rcv_rtt_update(TcpSock* tp, uint32_t sample, bool win_dep) {
  const uint32_t old_sample = tp->rcv_rtt_est.rtt_us;
  const uint32_t m = sample << 3;
  uint32_t new_sample;
  if (old_sample == 0 || m < old_sample) {
    new_sample = m;
  } else {
    if (win_dep) return;
    new_sample = old_sample - (old_sample >> 3) + sample;
  }
  tp->rcv_rtt_est.rtt_us = new_sample;
}

// tcp_rcv_rtt_measure: without timestamps, the time a window's worth of data
// takes to arrive.
void tcp_rcv_rtt_measure(TcpSock* tp) {
  if (tp->rcv_rtt_est.time != 0) {
    if (before(tp->rcv_nxt, tp->rcv_rtt_est.seq)) return;
    uint64_t delta_us = tp->tcp_mstamp - tp->rcv_rtt_est.time;
    if (!delta_us) delta_us = 1;
    tcp_rcv_rtt_update(tp, uint32_t(delta_us), true);
  }
  tp->rcv_rtt_est.seq = tp->rcv_nxt + tp->rcv_wnd;
  tp->rcv_rtt_est.time = tp->tcp_mstamp;
}

// tcp_rcv_rtt_measure_ts: a full-sized segment echoing a new TSecr is an RTT
// sample (tcp_rtt_tsopt_us with min_delta 0: a 0 ms echo is no sample).
void tcp_rcv_rtt_measure_ts(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->rx_opt.rcv_tsecr == tp->rcv_rtt_last_tsecr) return;
  tp->rcv_rtt_last_tsecr = tp->rx_opt.rcv_tsecr;
  if (TCP_SKB_CB(skb)->end_seq - TCP_SKB_CB(skb)->seq >= tp->icsk_ack.rcv_mss) {
    const uint32_t delta = tcp_time_stamp_ms(sk) - (tp->rx_opt.rcv_tsecr - tp->tsoffset);
    if (delta > 0 && delta < uint32_t(INT32_MAX / 1000)) tcp_rcv_rtt_update(tp, delta * 1000, false);
  }
}

int tcp_win_from_space_ratio(const TcpSock* tp, int space) {
  return int((int64_t(space) * tp->scaling_ratio) >> 8);  // __tcp_win_from_space, TCP_RMEM_TO_WIN_SCALE
}

// __tcp_grow_window: a segment whose overhead shrinks by halves as the
// window does may still earn 2 * rcv_mss.
int __tcp_grow_window(const Sock* sk, const SkBuff* skb, unsigned skbtruesize) {
  const TcpSock* tp = tcp_sk(sk);
  int truesize = tcp_win_from_space_ratio(tp, int(skbtruesize)) >> 1;
  int window = tcp_win_from_space_ratio(tp, int(sk->net->sysctl.tcp_rmem[2])) >> 1;
  while (int(tp->rcv_ssthresh) <= window) {
    if (truesize <= int(skb->len)) return 2 * tp->icsk_ack.rcv_mss;
    truesize >>= 1;
    window >>= 1;
  }
  return 0;
}

// tcp_grow_window: rcv_ssthresh, the window's slow start, grows with each
// segment whose payload is a fair share of the memory it costs (no memory
// pressure here). truesize_adjust (adjust: the skb was coalesced into
// another) leaves out the head of an skb with no data in it: a linear skb's
// truesize is all head (SKB_TRUESIZE(skb_end_offset)), so nothing is left.
void tcp_grow_window(Sock* sk, const SkBuff* skb, bool adjust) {
  TcpSock* tp = tcp_sk(sk);
  const int room = std::min<int>(int(tp->window_clamp), tcp_space(sk)) - int(tp->rcv_ssthresh);
  if (room <= 0) return;
  const unsigned truesize = adjust && !skb_headlen(skb) ? 0 : skb->truesize;
  int incr;
  if (tcp_win_from_space_ratio(tp, int(truesize)) <= int(skb->len))
    incr = 2 * int(tp->advmss);
  else
    incr = __tcp_grow_window(sk, skb, truesize);
  if (incr) {
    incr = std::max<int>(incr, 2 * int(skb->len));
    tp->rcv_ssthresh += uint32_t(std::min(room, incr));
    tp->icsk_ack.quick |= 1;
  }
}

// tcp_event_data_recv: the delayed-ACK engine learns the peer's pace.
void tcp_event_data_recv(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  inet_csk_schedule_ack(sk);
  tcp_measure_rcv_mss(sk, skb);
  tcp_rcv_rtt_measure(tp);
  const uint32_t now = uint32_t(sk->net->engine.jiffies());
  if (!tp->icsk_ack.ato) {
    // The first data segment: start in quick-ack mode.
    tcp_incr_quickack(sk, TCP_MAX_QUICKACKS);
    tp->icsk_ack.ato = TCP_ATO_MIN;
  } else {
    const uint32_t m = now - tp->icsk_ack.lrcvtime;
    if (m <= TCP_ATO_MIN / 2) {
      tp->icsk_ack.ato = (tp->icsk_ack.ato >> 1) + TCP_ATO_MIN / 2;
    } else if (m < tp->icsk_ack.ato) {
      tp->icsk_ack.ato = (tp->icsk_ack.ato >> 1) + m;
      if (tp->icsk_ack.ato > tp->icsk_rto) tp->icsk_ack.ato = tp->icsk_rto;
    } else if (m > tp->icsk_rto) {
      tcp_incr_quickack(sk, TCP_MAX_QUICKACKS);
    }
  }
  tp->icsk_ack.lrcvtime = now;
  tcp_data_ecn_check(sk, skb);
  if (skb->len >= 128) tcp_grow_window(sk, skb, false);
}

void tcp_update_wl(TcpSock* tp, uint32_t seq) { tp->snd_wl1 = seq; }

void tcp_snd_una_update(TcpSock* tp, uint32_t ack) {
  const uint32_t delta = ack - tp->snd_una;
  tp->bytes_acked += delta;
  tp->snd_una = ack;
}

bool tcp_may_update_window(const TcpSock* tp, uint32_t ack, uint32_t ack_seq, uint32_t nwin) {
  return after(ack, tp->snd_una) || after(ack_seq, tp->snd_wl1) || (ack_seq == tp->snd_wl1 && (nwin > tp->snd_wnd || !nwin));
}

int tcp_ack_update_window(Sock* sk, const SkBuff* skb, uint32_t ack, uint32_t ack_seq) {
  TcpSock* tp = tcp_sk(sk);
  int flag = 0;
  const uint8_t* th = tcp_hdr(skb);
  uint32_t nwin = wire::load_be16(th + 14);
  if (!(th[13] & TCPHDR_SYN)) nwin <<= tp->rx_opt.snd_wscale;
  if (tcp_may_update_window(tp, ack, ack_seq, nwin)) {
    flag |= FLAG_WIN_UPDATE;
    tcp_update_wl(tp, ack_seq);
    if (tp->snd_wnd != nwin) {
      tp->snd_wnd = nwin;
      tp->pred_flags = 0;  // the only place the sender's fast path comes back
      tcp_fast_path_check(sk);
      if (!tp->sk_write_queue.empty()) tcp_slow_start_after_idle_check(sk);
      if (nwin > tp->max_window) {
        tp->max_window = nwin;
        tcp_sync_mss(sk, tp->icsk_pmtu_cookie);
      }
    }
  }
  tcp_snd_una_update(tp, ack);
  return flag;
}

// tcp_oow_rate_limited: one answer to out-of-window segments per 500 ms.
bool tcp_oow_rate_limited(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  // Data segments without SYN are not part of an ACK loop.
  if (TCP_SKB_CB(skb)->seq != TCP_SKB_CB(skb)->end_seq && !(TCP_SKB_CB(skb)->tcp_flags & TCPHDR_SYN)) return false;
  const uint32_t now = uint32_t(sk->net->engine.jiffies());
  if (tp->last_oow_ack_time) {
    const int32_t elapsed = int32_t(now - tp->last_oow_ack_time);
    if (elapsed >= 0 && uint64_t(elapsed) < msecs_to_jiffies(500)) return true;
  }
  tp->last_oow_ack_time = now;
  return false;
}

// tcp_send_challenge_ack (RFC 5961): rate limited per socket (even for data);
// the global limit (tcp_challenge_ack_limit) is INT_MAX.
void tcp_send_challenge_ack(Sock* sk, const SkBuff*) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t now = uint32_t(sk->net->engine.jiffies());
  if (tp->last_oow_ack_time) {
    const int32_t elapsed = int32_t(now - tp->last_oow_ack_time);
    if (elapsed >= 0 && uint64_t(elapsed) < msecs_to_jiffies(500)) return;
  }
  tp->last_oow_ack_time = now;
  sk->net->mib.tcpext.TCPChallengeACK++;
  tcp_send_ack(sk);
}

// tcp_dsack_set: the duplicate range goes out as a D-SACK (tcp_dsack 1).
void tcp_dsack_set(Sock* sk, uint32_t seq, uint32_t end_seq) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->rx_opt.sack_ok && sk->net->sysctl.tcp_dsack) {
    if (before(seq, tp->rcv_nxt))
      sk->net->mib.tcpext.TCPDSACKOldSent++;
    else
      sk->net->mib.tcpext.TCPDSACKOfoSent++;
    tp->rx_opt.dsack = true;
    tp->duplicate_sack[0].start_seq = seq;
    tp->duplicate_sack[0].end_seq = end_seq;
  }
}

// tcp_dsack_extend: a further duplicate widens the D-SACK block when it touches it.
void tcp_dsack_extend(Sock* sk, uint32_t seq, uint32_t end_seq) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->rx_opt.dsack) {
    tcp_dsack_set(sk, seq, end_seq);
    return;
  }
  TcpSock::SackBlock& sp = tp->duplicate_sack[0];  // tcp_sack_extend
  if (!after(seq, sp.end_seq) && !after(sp.start_seq, end_seq)) {
    if (before(seq, sp.start_seq)) sp.start_seq = seq;
    if (after(end_seq, sp.end_seq)) sp.end_seq = end_seq;
  }
}

void tcp_send_dupack(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  if (TCP_SKB_CB(skb)->end_seq != TCP_SKB_CB(skb)->seq && before(TCP_SKB_CB(skb)->seq, tp->rcv_nxt)) {
    sk->net->mib.tcpext.DelayedACKLost++;
    tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS);
    uint32_t end_seq = TCP_SKB_CB(skb)->end_seq;
    if (after(end_seq, tp->rcv_nxt)) end_seq = tp->rcv_nxt;
    tcp_dsack_set(sk, TCP_SKB_CB(skb)->seq, end_seq);
  }
  tcp_send_ack(sk);
}

// tcp_sequence: is [seq, end_seq) acceptable in the window we offered?
SkbDropReason tcp_sequence(Sock* sk, uint32_t seq, uint32_t end_seq) {
  TcpSock* tp = tcp_sk(sk);
  if (before(end_seq, tp->rcv_wup)) return SkbDropReason::TCP_OLD_SEQUENCE;
  if (after(end_seq, tp->rcv_nxt + tcp_receive_window(sk))) {
    if (after(seq, tp->rcv_nxt + tcp_receive_window(sk))) return SkbDropReason::TCP_INVALID_SEQUENCE;
    // Only accept this packet if the receive queue is empty.
    if (!sk->sk_receive_queue.empty()) return SkbDropReason::TCP_INVALID_END_SEQUENCE;
  }
  return SkbDropReason::NOT_DROPPED_YET;
}

// tcp_reset_check: a RST at rcv_nxt - 1 after the peer's FIN is acceptable.
bool tcp_reset_check(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  return TCP_SKB_CB(skb)->seq == tp->rcv_nxt - 1 &&
         (sk->sk_state == TCP_CLOSE_WAIT || sk->sk_state == TCP_LAST_ACK || sk->sk_state == TCP_CLOSING);
}

void tcp_drop_reason(Sock* sk, SkBuff* skb, SkbDropReason reason, const char* location) {
  sk->sk_drops += std::max<uint16_t>(1, skb_shinfo(skb)->gso_segs);  // sk_drops_add
  sk_skb_reason_drop(sk, skb, reason, location);
}

// tcp_paws_discard: a timestamp older than ts_recent (and not 24 days stale).
bool tcp_paws_discard(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  if (int32_t(tp->rx_opt.ts_recent - tp->rx_opt.rcv_tsval) <= 1) return false;  // tcp_paws_check window 1
  const uint32_t now_s = uint32_t(tcp_ktime_get_seconds(sk->net->engine));
  if (now_s >= tp->rx_opt.ts_recent_stamp + 24 * 24 * 3600) return false;
  (void)skb;
  return !(TCP_SKB_CB(skb)->tcp_flags & TCPHDR_RST);
}

// tcp_validate_incoming: PAWS, the sequence window, RST (RFC 5961), SYN.
bool tcp_validate_incoming(Sock* sk, SkBuff* skb, bool syn_inerr) {
  TcpSock* tp = tcp_sk(sk);
  const uint8_t flags = TCP_SKB_CB(skb)->tcp_flags;
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  if (tcp_fast_parse_options(skb, tp) && tp->rx_opt.saw_tstamp && tcp_paws_discard(sk, skb)) {
    if (flags & TCPHDR_SYN) goto syn_challenge;
    sk->net->mib.tcpext.PAWSEstabRejected++;
    if (!tcp_oow_rate_limited(sk, skb)) tcp_send_dupack(sk, skb);
    reason = SkbDropReason::TCP_RFC7323_PAWS;
    goto discard;
  }
  // Step 1: check sequence number.
  reason = tcp_sequence(sk, TCP_SKB_CB(skb)->seq, TCP_SKB_CB(skb)->end_seq);
  if (reason != SkbDropReason::NOT_DROPPED_YET) {
    // RFC 793: an unacceptable segment is answered with an ACK, unless it is a RST.
    if (!(flags & TCPHDR_RST)) {
      if (flags & TCPHDR_SYN) goto syn_challenge;
      if (!tcp_oow_rate_limited(sk, skb)) tcp_send_dupack(sk, skb);
    } else if (tcp_reset_check(sk, skb)) {
      goto reset;
    }
    goto discard;
  }
  // Step 2: check RST bit (RFC 5961 3.2): only an exact match resets, the
  // rest of the window gets a challenge ACK.
  if (flags & TCPHDR_RST) {
    if (TCP_SKB_CB(skb)->seq == tp->rcv_nxt || tcp_reset_check(sk, skb)) goto reset;
    tcp_send_challenge_ack(sk, skb);  // not an input error (only a SYN's challenge is)
    reason = SkbDropReason::TCP_RESET;
    goto discard;
  }
  // Step 4: a SYN in the window (RFC 5961 4.2): a challenge ACK.
  if (flags & TCPHDR_SYN) {
  syn_challenge:
    if (syn_inerr) sk->net->mib.tcp.InErrs++;
    sk->net->mib.tcpext.TCPSYNChallenge++;
    tcp_send_challenge_ack(sk, skb);
    reason = SkbDropReason::TCP_INVALID_SYN;
    goto discard;
  }
  return true;
discard:
  tcp_drop_reason(sk, skb, reason, "tcp_validate_incoming");
  return false;
reset:
  tcp_reset(sk, skb);
  __kfree_skb(skb);
  return false;
}

// tcp_tso_acked: the acked head of a TSO skb trimmed off; the segments it took.
uint32_t tcp_tso_acked(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  uint32_t packets_acked = tcp_skb_pcount(skb);
  if (tcp_trim_head(sk, skb, tp->snd_una - TCP_SKB_CB(skb)->seq)) return 0;
  packets_acked -= tcp_skb_pcount(skb);
  return packets_acked;
}

// tcp_update_pacing_rate: 200% of cwnd * mss / srtt in slow start (below
// half ssthresh), 120% after; it sizes TSO skbs (tcp_tso_autosize).
void tcp_update_pacing_rate(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const Sysctls& sysctl = sk->net->sysctl;
  uint64_t rate = uint64_t(tp->mss_cache) * ((1'000'000 / 100) << 3);
  rate *= uint64_t(tp->snd_cwnd < tp->snd_ssthresh / 2 ? sysctl.tcp_pacing_ss_ratio : sysctl.tcp_pacing_ca_ratio);
  rate *= std::max(tp->snd_cwnd, tp->packets_out);
  if (tp->srtt_us) rate /= tp->srtt_us;
  tp->sk_pacing_rate = std::min<uint64_t>(rate, sk->sk_max_pacing_rate);
}
void tcp_count_delivered(TcpSock* tp, uint32_t delivered, bool ece_ack);
void tcp_remove_reno_sacks(Sock* sk, int acked, bool ece_ack);

// struct tcp_sacktag_state: what tcp_sacktag_write_queue learnt for tcp_ack:
// the lowest never-retransmitted sequence newly SACKed below fack (snd_nxt:
// none), and when the first and last never-retransmitted segments it SACKed
// were sent (ns; 0: none).
struct TcpSacktagState {
  uint32_t reord = 0;
  uint32_t fack = 0;  // tcp_highest_sack_seq as the ascending walk moves it
  uint64_t first_sackt = 0, last_sackt = 0;
};

// tcp_highest_sack_seq: where the highest SACKed data ends (snd_una when
// nothing is SACKed): the forward-most ACK (fack).
uint32_t tcp_highest_sack_seq(const TcpSock* tp) {
  if (!tp->sacked_out) return tp->snd_una;
  uint32_t fack = tp->snd_nxt;
  for (const SkBuff* skb = tp->tcp_rtx_queue.front(); skb; skb = skb->next)
    if (TCP_SKB_CB(skb)->sacked & TCPCB_SACKED_ACKED) fack = TCP_SKB_CB(skb)->end_seq;
  return fack;
}

// tcp_check_sack_reordering: data below fack arrived after it (a hole filled
// without a retransmission, found by SACK or, ts, by timestamps): reordering
// (reord_seen, TCPSACKReorder / TCPTSReorder); its degree, in segments, may
// grow tp->reordering up to tcp_max_reordering.
void tcp_check_sack_reordering(Sock* sk, uint32_t low_seq, bool ts) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t mss = tp->mss_cache;
  const uint32_t fack = tcp_highest_sack_seq(tp);
  if (!before(low_seq, fack)) return;
  const uint32_t metric = fack - low_seq;
  if (mss && metric > tp->reordering * mss) tp->reordering = std::min((metric + mss - 1) / mss, uint32_t(sk->net->sysctl.tcp_max_reordering));
  tp->reord_seen++;
  (ts ? sk->net->mib.tcpext.TCPTSReorder : sk->net->mib.tcpext.TCPSACKReorder)++;
}

bool tcp_tsopt_ecr_before(const TcpSock* tp, uint32_t when);

// tcp_clean_rtx_queue: what the ACK covers leaves the retransmit queue.
// seq_rtt_us: the RTT of the first segment acked, ca_rtt_us the last's (only
// never-retransmitted ones); pkts_acked: the segments acked.
int tcp_clean_rtx_queue(Sock* sk, uint32_t prior_fack, uint32_t prior_snd_una, long* seq_rtt_us, long* ca_rtt_us,
                        uint32_t* pkts_acked_out, bool ece_ack, RateSample* rs) {
  TcpSock* tp = tcp_sk(sk);
  int flag = 0;
  uint32_t pkts_acked = 0;
  uint32_t reord = tp->snd_nxt;  // the lowest never-retransmitted hole this ACK fills
  uint64_t first_ackt = 0, last_ackt = 0;
  bool timed = false;  // Linux tests first_ackt; the virtual clock reads 0 at start
  while (SkBuff* skb = tp->tcp_rtx_queue.front()) {
    TcpSkbCb* scb = TCP_SKB_CB(skb);
    const uint8_t sacked = scb->sacked;
    // A TSO skb acked in part loses its acked segments and stays (tcp_tso_acked).
    uint32_t acked_pcount;
    bool fully_acked = true;
    if (after(scb->end_seq, tp->snd_una)) {
      if (tcp_skb_pcount(skb) == 1 || !after(tp->snd_una, scb->seq)) break;
      acked_pcount = tcp_tso_acked(sk, skb);
      if (!acked_pcount) break;
      fully_acked = false;
    } else {
      acked_pcount = tcp_skb_pcount(skb);
    }
    if (sacked & TCPCB_RETRANS) {
      if (sacked & TCPCB_SACKED_RETRANS) tp->retrans_out -= acked_pcount;
      flag |= FLAG_RETRANS_DATA_ACKED;
    } else if (!(sacked & TCPCB_SACKED_ACKED)) {
      last_ackt = skb->tstamp;
      if (!timed) first_ackt = last_ackt, timed = true;
      if (before(scb->seq, reord)) reord = scb->seq;
      if (!after(scb->end_seq, tp->high_seq)) flag |= FLAG_ORIG_SACK_ACKED;
    }
    if (sacked & TCPCB_LOST) tp->lost_out -= acked_pcount;
    tp->packets_out -= acked_pcount;
    pkts_acked += acked_pcount;
    tcp_rate_skb_delivered(sk, skb, rs);
    // Reno counts delivery in tcp_remove_reno_sacks (its dupacks counted some already).
    if (sacked & TCPCB_SACKED_ACKED) {
      tp->sacked_out -= acked_pcount;
    } else if (tcp_is_sack(tp)) {
      tcp_count_delivered(tp, acked_pcount, ece_ack);
      // What is cumulatively acked advances RACK too, unless the echo says the
      // original arrived rather than this retransmission (tcp_skb_spurious_retrans).
      if (!((sacked & TCPCB_RETRANS) && tcp_tsopt_ecr_before(tp, tcp_ns_to_ts(sk, skb->tstamp))))
        tcp_rack_advance(tp, sacked, scb->end_seq, skb->tstamp / 1000);
    }
    if (!(scb->tcp_flags & TCPHDR_SYN)) flag |= FLAG_DATA_ACKED; else flag |= FLAG_SYN_ACKED;
    if (!fully_acked) break;
    tp->tcp_rtx_queue.pop_front();
    tcp_wmem_free_skb(sk, skb);
  }
  if (tp->tcp_rtx_queue.empty()) tcp_chrono_stop(sk, TCP_CHRONO_BUSY);  // every sent skb acked
  // The urgent data acked: urgent mode ends.
  if (between(tp->snd_up, prior_snd_una, tp->snd_una)) tp->snd_up = tp->snd_una;
  // What is left at the head was SACKed but is not acked: the peer reneged.
  if (const SkBuff* head = tp->tcp_rtx_queue.front(); head && (TCP_SKB_CB(head)->sacked & TCPCB_SACKED_ACKED))
    flag |= FLAG_SACK_RENEGING;
  if (timed && !(flag & FLAG_RETRANS_DATA_ACKED)) {
    *seq_rtt_us = long((tp->tcp_clock_cache - first_ackt) / 1000);
    *ca_rtt_us = long((tp->tcp_clock_cache - last_ackt) / 1000);
  }
  *pkts_acked_out = pkts_acked;
  if (flag & FLAG_ACKED) {
    flag |= FLAG_SET_XMIT_TIMER;
    if (tcp_is_reno(tp)) {
      tcp_remove_reno_sacks(sk, int(pkts_acked), ece_ack);
      // Reno cannot tell an original's arrival from a retransmission's.
      if (flag & FLAG_RETRANS_DATA_ACKED) flag &= ~FLAG_ORIG_SACK_ACKED;
    } else if (before(reord, prior_fack)) {
      // A never-retransmitted hole below SACKed data got filled: reordering.
      tcp_check_sack_reordering(sk, reord, false);
    }
  }
  // FASTRETRANS_DEBUG (1 in Linux): with nothing left in flight, counts that
  // leaked (a retransmission counted twice after an undo) are reset.
  if (!tp->packets_out && tcp_is_sack(tp)) tp->lost_out = tp->sacked_out = tp->retrans_out = 0;
  return flag;
}

uint32_t tcp_packets_in_flight(const TcpSock* tp) { return tp->packets_out - tcp_left_out(tp) + tp->retrans_out; }

// What tcp_ack asks for after tcp_fastretrans_alert (tcp_xmit_recovery).
enum { REXMIT_NONE = 0, REXMIT_LOST = 1, REXMIT_NEW = 2 };

// tcp_count_delivered.
void tcp_count_delivered(TcpSock* tp, uint32_t delivered, bool ece_ack) {
  tp->delivered += delivered;
  if (ece_ack && tcp_ecn_mode_rfc3168(tp)) tp->delivered_ce += delivered;
}

// tcp_limit_reno_sacked: more dupacks than segments out (the peer is
// reordering or duplicating): sacked_out is capped, true when it was.
bool tcp_limit_reno_sacked(TcpSock* tp) {
  uint32_t holes = std::max(tp->lost_out, 1u);
  holes = std::min(holes, tp->packets_out);
  if (tp->sacked_out + holes > tp->packets_out) {
    tp->sacked_out = tp->packets_out - holes;
    return true;
  }
  return false;
}

// tcp_check_reno_reordering: too many dupacks mean reordering, not loss;
// the reordering degree grows (TCPRenoReorder).
void tcp_check_reno_reordering(Sock* sk, uint32_t addend) {
  TcpSock* tp = tcp_sk(sk);
  if (!tcp_limit_reno_sacked(tp)) return;
  tp->reordering = std::min(tp->packets_out + addend, uint32_t(sk->net->sysctl.tcp_max_reordering));
  tp->reord_seen++;
  sk->net->mib.tcpext.TCPRenoReorder++;
}

// tcp_add_reno_sack: each duplicate ACK stands for one segment that left the network.
void tcp_add_reno_sack(Sock* sk, int num_dupack, bool ece_ack) {
  if (!num_dupack) return;
  TcpSock* tp = tcp_sk(sk);
  const uint32_t prior_sacked = tp->sacked_out;
  tp->sacked_out += uint32_t(num_dupack);
  tcp_check_reno_reordering(sk, 0);
  const int32_t delivered = int32_t(tp->sacked_out - prior_sacked);
  if (delivered > 0) tcp_count_delivered(tp, uint32_t(delivered), ece_ack);
}

// tcp_remove_reno_sacks: a cumulative ACK filled one hole; the rest of what it
// acked had been counted by dupacks already.
void tcp_remove_reno_sacks(Sock* sk, int acked, bool ece_ack) {
  TcpSock* tp = tcp_sk(sk);
  if (acked > 0) {
    tcp_count_delivered(tp, uint32_t(std::max<int>(acked - int(tp->sacked_out), 1)), ece_ack);
    if (uint32_t(acked - 1) >= tp->sacked_out)
      tp->sacked_out = 0;
    else
      tp->sacked_out -= uint32_t(acked - 1);
  }
  tcp_check_reno_reordering(sk, uint32_t(std::max(acked, 0)));
}

// tcp_any_retrans_done.
bool tcp_any_retrans_done(const TcpSock* tp) {
  if (tp->retrans_out) return true;
  const SkBuff* skb = tp->tcp_rtx_queue.front();
  return skb && (TCP_SKB_CB(skb)->sacked & TCPCB_EVER_RETRANS);
}

// tcp_tsopt_ecr_before: the peer echoed a TSval older than when (ms).
bool tcp_tsopt_ecr_before(const TcpSock* tp, uint32_t when) {
  return tp->rx_opt.saw_tstamp && tp->rx_opt.rcv_tsecr && before(tp->rx_opt.rcv_tsecr - tp->tsoffset, when);
}

// tcp_packet_delayed: the ACK answers an original transmission, not our
// retransmission (timestamps say so): the loss was a delay.
bool tcp_packet_delayed(const Sock* sk) {
  const TcpSock* tp = tcp_sk(const_cast<Sock*>(sk));
  if (tp->retrans_stamp) return tcp_tsopt_ecr_before(tp, tp->retrans_stamp);
  // Without SACK, retrans_stamp is cleared when snd_una reaches high_seq.
  if (!tcp_is_sack(tp) && !before(tp->snd_una, tp->high_seq)) return false;
  if (sk->sk_state == TCP_SYN_SENT) return false;
  return true;  // nothing retransmitted yet
}

// tcp_may_undo: nothing was retransmitted, or the originals arrived.
bool tcp_may_undo(const Sock* sk) {
  const TcpSock* tp = tcp_sk(const_cast<Sock*>(sk));
  return tp->undo_marker && (!tp->undo_retrans || tcp_packet_delayed(sk));
}

// tcp_undo_cwnd_reduction: cwnd and ssthresh back to before the recovery.
void tcp_undo_cwnd_reduction(Sock* sk, bool unmark_loss) {
  TcpSock* tp = tcp_sk(sk);
  if (unmark_loss) {
    for (SkBuff* skb = tp->tcp_rtx_queue.front(); skb; skb = skb->next)
      TCP_SKB_CB(skb)->sacked &= uint8_t(~TCPCB_LOST);
    tp->lost_out = 0;
  }
  if (tp->prior_ssthresh) {
    if (tp->icsk_ca_ops && tp->icsk_ca_ops->undo_cwnd) tp->snd_cwnd = tp->icsk_ca_ops->undo_cwnd(sk);
    if (tp->prior_ssthresh > tp->snd_ssthresh) {
      tp->snd_ssthresh = tp->prior_ssthresh;
      tcp_ecn_withdraw_cwr(tp);
    }
  }
  tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
  tp->undo_marker = 0;
  tp->rack.advanced = true;  // RACK looks at the losses again
}

// tcp_is_non_sack_preventing_reopen: Reno holds Recovery until something
// above high_seq is acked (RFC 2582: no false fast retransmits).
bool tcp_is_non_sack_preventing_reopen(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->snd_una == tp->high_seq && tcp_is_reno(tp)) {
    if (!tcp_any_retrans_done(tp)) tp->retrans_stamp = 0;
    return true;
  }
  return false;
}

// tcp_try_undo_recovery: high_seq is acked; undo if the recovery was
// spurious, then Open (unless Reno must hold). True while the state holds.
bool tcp_try_undo_recovery(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (tcp_may_undo(sk)) {
    tcp_undo_cwnd_reduction(sk, false);
    if (tp->icsk_ca_state == TCP_CA_Loss)
      sk->net->mib.tcpext.TCPLossUndo++;
    else
      sk->net->mib.tcpext.TCPFullUndo++;
  } else if (tp->rack.reo_wnd_persist) {
    tp->rack.reo_wnd_persist--;
  }
  if (tcp_is_non_sack_preventing_reopen(sk)) return true;
  tcp_set_ca_state(sk, TCP_CA_Open);
  tp->is_sack_reneg = false;
  return false;
}

// tcp_end_cwnd_reduction: cwnd settles at ssthresh when Recovery or CWR ends.
void tcp_end_cwnd_reduction(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->snd_ssthresh < TCP_INFINITE_SSTHRESH && (tp->icsk_ca_state == TCP_CA_CWR || tp->undo_marker)) {
    tp->snd_cwnd = tp->snd_ssthresh;
    tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
  }
  tcp_ca_event(sk, CA_EVENT_COMPLETE_CWR);
}

// tcp_try_keep_open: Disorder while segments are out of order or retransmitted, else Open.
void tcp_try_keep_open(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  uint8_t state = TCP_CA_Open;
  if (tcp_left_out(tp) || tcp_any_retrans_done(tp)) state = TCP_CA_Disorder;
  if (tp->icsk_ca_state != state) {
    tcp_set_ca_state(sk, state);
    tp->high_seq = tp->snd_nxt;
  }
}

void tcp_enter_cwr(Sock* sk);

// tcp_try_to_open: no recovery (yet); an ECE enters CWR.
void tcp_try_to_open(Sock* sk, int flag) {
  TcpSock* tp = tcp_sk(sk);
  if (!tcp_any_retrans_done(tp)) tp->retrans_stamp = 0;
  if (flag & FLAG_ECE) tcp_enter_cwr(sk);
  if (tp->icsk_ca_state != TCP_CA_CWR) tcp_try_keep_open(sk);
}

// tcp_try_undo_partial: a partial ACK in Recovery echoing an original
// transmission: the hole was reordering; undo when nothing retransmitted is out.
bool tcp_try_undo_partial(Sock* sk, uint32_t prior_snd_una) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->undo_marker && tcp_packet_delayed(sk)) {
    // The hole was filled by the delayed original: reordering.
    tcp_check_sack_reordering(sk, prior_snd_una, true);
    if (tp->retrans_out) return true;
    if (!tcp_any_retrans_done(tp)) tp->retrans_stamp = 0;
    tcp_undo_cwnd_reduction(sk, true);
    sk->net->mib.tcpext.TCPPartialUndo++;
    tcp_try_keep_open(sk);
  }
  return false;
}

// tcp_try_undo_dsack: D-SACKs showed every retransmission of the recovery
// spurious (undo_retrans back to 0): cwnd and ssthresh as before it, and the
// grown RACK reordering window persists one recovery more.
bool tcp_try_undo_dsack(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->undo_marker && !tp->undo_retrans) {
    tp->rack.reo_wnd_persist = std::min<uint8_t>(kTcpRackRecoveryThresh, uint8_t(tp->rack.reo_wnd_persist + 1));
    tcp_undo_cwnd_reduction(sk, false);
    sk->net->mib.tcpext.TCPDSACKUndo++;
    return true;
  }
  return false;
}

// tcp_init_cwnd_reduction: PRR starts from the cwnd we had (prior_cwnd) toward
// the congestion control's ssthresh.
void tcp_init_cwnd_reduction(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->high_seq = tp->snd_nxt;
  tp->tlp_high_seq = 0;
  tp->snd_cwnd_cnt = 0;
  tp->prior_cwnd = tp->snd_cwnd;
  tp->prr_delivered = 0;
  tp->prr_out = 0;
  tp->snd_ssthresh = tp->icsk_ca_ops ? tp->icsk_ca_ops->ssthresh(sk) : std::max(tp->snd_cwnd >> 1, 2u);
  tcp_ecn_queue_cwr(tp);
}

// tcp_enter_cwr: an ECE (or a local congestion signal) reduces cwnd once per
// window (RFC 3168 6.1.2): PRR toward the congestion control's ssthresh, no undo.
void tcp_enter_cwr(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->prior_ssthresh = 0;
  if (tp->icsk_ca_state < TCP_CA_CWR) {
    tp->undo_marker = 0;
    tcp_init_cwnd_reduction(sk);
    tcp_set_ca_state(sk, TCP_CA_CWR);
  }
}

}  // namespace

// tcp_enter_recovery: fast recovery begins (TCPRenoRecovery / TCPSackRecovery).
void tcp_enter_recovery(Sock* sk, bool ece_ack) {
  TcpSock* tp = tcp_sk(sk);
  if (tcp_is_reno(tp))
    sk->net->mib.tcpext.TCPRenoRecovery++;
  else
    sk->net->mib.tcpext.TCPSackRecovery++;
  tp->prior_ssthresh = 0;
  tcp_init_undo(tp);
  if (!tcp_in_cwnd_reduction(tp)) {
    if (!ece_ack) tp->prior_ssthresh = tcp_current_ssthresh(tp);
    tcp_init_cwnd_reduction(sk);
  }
  tcp_set_ca_state(sk, TCP_CA_Recovery);
}

namespace {

// tcp_identify_packet_loss: without SACK, NewReno marks the head lost;
// with it, RACK marks what was sent before the newest SACKed segment.
void tcp_identify_packet_loss(Sock* sk, int* ack_flag) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->tcp_rtx_queue.empty()) return;
  if (tcp_is_reno(tp)) {
    tcp_newreno_mark_lost(sk, *ack_flag & FLAG_SND_UNA_ADVANCED);
  } else {
    const uint32_t prior_retrans = tp->retrans_out;
    if (tcp_rack_mark_lost(sk)) *ack_flag &= ~FLAG_SET_XMIT_TIMER;
    if (prior_retrans > tp->retrans_out) *ack_flag |= FLAG_LOST_RETRANS;
  }
}

// tcp_time_to_recover: loss detection marked at least one segment lost.
bool tcp_time_to_recover(const TcpSock* tp) { return tp->lost_out != 0; }

// tcp_try_undo_loss: in Loss, the RTO was spurious: F-RTO says so
// (frto_undo: never-retransmitted data was acked; TCPSpuriousRTOs), or the
// timestamps do (tcp_may_undo). cwnd undone, TCPLossUndo, Open (SACK).
bool tcp_try_undo_loss(Sock* sk, bool frto_undo) {
  TcpSock* tp = tcp_sk(sk);
  if (!frto_undo && !tcp_may_undo(sk)) return false;
  tcp_undo_cwnd_reduction(sk, true);
  sk->net->mib.tcpext.TCPLossUndo++;
  if (frto_undo) sk->net->mib.tcpext.TCPSpuriousRTOs++;
  tp->icsk_retransmits = 0;
  if (tcp_is_non_sack_preventing_reopen(sk)) return true;
  if (frto_undo || tcp_is_sack(tp)) {
    tcp_set_ca_state(sk, TCP_CA_Open);
    tp->is_sack_reneg = false;
  }
  return true;
}

// tcp_process_loss: an ACK in Loss. Undo when it proves the RTO spurious;
// F-RTO (RFC 5682, the SACK version): after the head's retransmission is
// acked, new data goes out (REXMIT_NEW) instead of more retransmissions; if
// what comes back acks data never retransmitted, the RTO was spurious, and if
// it SACKs or dupacks instead, the loss was real. The ACK of high_seq ends the
// state; else the lost segments go again (REXMIT_LOST).
void tcp_process_loss(Sock* sk, int flag, int num_dupack, int* rexmit) {
  TcpSock* tp = tcp_sk(sk);
  const bool recovered = !before(tp->snd_una, tp->high_seq);
  if ((flag & FLAG_SND_UNA_ADVANCED) && tcp_try_undo_loss(sk, false)) return;
  if (tp->frto) {
    // Step 3.b: a timeout is spurious if not all data are lost.
    if ((flag & FLAG_ORIG_SACK_ACKED) && tcp_try_undo_loss(sk, true)) return;
    if (after(tp->snd_nxt, tp->high_seq)) {
      if ((flag & FLAG_DATA_SACKED) || num_dupack) tp->frto = 0;  // Step 3.a: the loss was real
    } else if ((flag & FLAG_SND_UNA_ADVANCED) && !recovered) {
      tp->high_seq = tp->snd_nxt;
      // Step 2.b: new data, sent once tcp_ack has updated cwnd; without any
      // (or without window for it), the conventional recovery.
      if (!tp->sk_write_queue.empty() && after(tp->snd_una + tp->snd_wnd, tp->snd_nxt)) {
        *rexmit = REXMIT_NEW;
        return;
      }
      tp->frto = 0;
    }
  }
  if (recovered) {
    // Step 2.a and the first part of step 3.a.
    tcp_try_undo_recovery(sk);
    return;
  }
  if (tcp_is_reno(tp)) {
    if (after(tp->snd_nxt, tp->high_seq) && num_dupack)
      tcp_add_reno_sack(sk, num_dupack, flag & FLAG_ECE);
    else if (flag & FLAG_SND_UNA_ADVANCED)
      tp->sacked_out = 0;
  }
  *rexmit = REXMIT_LOST;
}

}  // namespace

// tcp_cwnd_reduction (RFC 6937 PRR): in Recovery and CWR, cwnd follows what
// was delivered, toward ssthresh; the first call lets the fast retransmit go.
void tcp_cwnd_reduction(Sock* sk, int newly_acked_sacked, int newly_lost, int flag) {
  TcpSock* tp = tcp_sk(sk);
  if (newly_acked_sacked <= 0 || !tp->prior_cwnd) return;
  int sndcnt = 0;
  const int delta = int(tp->snd_ssthresh) - int(tcp_packets_in_flight(tp));
  tp->prr_delivered += uint32_t(newly_acked_sacked);
  if (delta < 0) {
    const uint64_t dividend = uint64_t(tp->snd_ssthresh) * tp->prr_delivered + tp->prior_cwnd - 1;
    sndcnt = int(dividend / tp->prior_cwnd) - int(tp->prr_out);
  } else {
    sndcnt = std::max(int(tp->prr_delivered) - int(tp->prr_out), newly_acked_sacked);
    if ((flag & FLAG_SND_UNA_ADVANCED) && !newly_lost) sndcnt++;
    sndcnt = std::min(delta, sndcnt);
  }
  // Force a fast retransmit upon entering fast recovery.
  sndcnt = std::max(sndcnt, tp->prr_out ? 0 : 1);
  tp->snd_cwnd = uint32_t(int(tcp_packets_in_flight(tp)) + sndcnt);
}

namespace {

// tcp_check_sack_reneging: an ACK that advanced snd_una up to a segment the
// peer had SACKed (FLAG_SACK_RENEGING): rather than trust a scoreboard that
// may be transiently odd, the RTO timer is rearmed to max(srtt/2, 10 ms); if
// the reneging holds until it fires, tcp_enter_loss forgets the SACKs.
bool tcp_check_sack_reneging(Sock* sk, int* ack_flag) {
  if (!(*ack_flag & FLAG_SACK_RENEGING) || !(*ack_flag & FLAG_SND_UNA_ADVANCED)) return false;
  TcpSock* tp = tcp_sk(sk);
  const uint32_t delay = std::max(usecs_to_jiffies(tp->srtt_us >> 4), uint32_t(msecs_to_jiffies(10)));
  inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, delay, TCP_RTO_MAX);
  *ack_flag &= ~FLAG_SET_XMIT_TIMER;
  return true;
}

// tcp_cong_control: PRR while reducing, else cong_avoid when cwnd may grow.
void tcp_cong_control(Sock* sk, uint32_t ack, uint32_t acked, int newly_lost, int flag) {
  TcpSock* tp = tcp_sk(sk);
  if (tcp_in_cwnd_reduction(tp)) {
    tcp_cwnd_reduction(sk, int(acked), newly_lost, flag);
    return;
  }
  // tcp_may_raise_cwnd: data acked (forward progress with more reordering).
  if (!(flag & (tp->reordering > uint32_t(sk->net->sysctl.tcp_reordering) ? FLAG_FORWARD_PROGRESS : FLAG_DATA_ACKED))) return;
  if (tp->icsk_ca_ops && tp->icsk_ca_ops->cong_avoid) tp->icsk_ca_ops->cong_avoid(sk, ack, acked);
  tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
}

// tcp_fastretrans_alert: the ACK-driven state machine (Open, Disorder,
// Recovery, Loss) for an ACK that was dubious (a dupack, or not Open).
void tcp_fastretrans_alert(Sock* sk, uint32_t prior_snd_una, int num_dupack, int* ack_flag, int* rexmit) {
  TcpSock* tp = tcp_sk(sk);
  const int flag = *ack_flag;
  const bool ece_ack = flag & FLAG_ECE;
  if (!tp->packets_out && tp->sacked_out) tp->sacked_out = 0;
  // A. ECE, hence prohibit cwnd undoing, the reduction is required.
  if (ece_ack) tp->prior_ssthresh = 0;
  // B. In all the states check for reneging SACKs.
  if (tcp_check_sack_reneging(sk, ack_flag)) return;
  // D. Check state exit conditions: high_seq is acked.
  if (tp->icsk_ca_state == TCP_CA_Open) {
    tp->retrans_stamp = 0;
  } else if (!before(tp->snd_una, tp->high_seq)) {
    switch (tp->icsk_ca_state) {
      case TCP_CA_CWR:
        // Held until something above high_seq is acked, for the CWR bit to arrive.
        if (tp->snd_una != tp->high_seq) {
          tcp_end_cwnd_reduction(sk);
          tcp_set_ca_state(sk, TCP_CA_Open);
        }
        break;
      case TCP_CA_Recovery:
        if (tcp_is_reno(tp)) tp->sacked_out = 0;  // tcp_reset_reno_sack
        if (tcp_try_undo_recovery(sk)) return;
        tcp_end_cwnd_reduction(sk);
        break;
    }
  }
  // E. Process state.
  switch (tp->icsk_ca_state) {
    case TCP_CA_Recovery:
      if (!(flag & FLAG_SND_UNA_ADVANCED)) {
        if (tcp_is_reno(tp)) tcp_add_reno_sack(sk, num_dupack, ece_ack);
      } else if (tcp_try_undo_partial(sk, prior_snd_una)) {
        return;
      }
      if (tcp_try_undo_dsack(sk)) tcp_try_to_open(sk, flag);
      tcp_identify_packet_loss(sk, ack_flag);
      if (tp->icsk_ca_state != TCP_CA_Recovery) {
        if (!tcp_time_to_recover(tp)) return;
        // Undo reverted the recovery; loss is evident: a new one.
        tcp_enter_recovery(sk, ece_ack);
      }
      break;
    case TCP_CA_Loss:
      tcp_process_loss(sk, flag, num_dupack, rexmit);
      if (tp->icsk_ca_state != TCP_CA_Loss && tp->rto_stamp) {
        // tcp_update_rto_time: the RTO recovery is over.
        tp->total_rto_time += tcp_time_stamp_ms(sk) - tp->rto_stamp;
        tp->rto_stamp = 0;
      }
      tcp_identify_packet_loss(sk, ack_flag);
      if (!(tp->icsk_ca_state == TCP_CA_Open || (*ack_flag & FLAG_LOST_RETRANS))) return;
      // Change state if cwnd is undone or retransmits are lost.
      [[fallthrough]];
    default:
      if (tcp_is_reno(tp)) {
        if (flag & FLAG_SND_UNA_ADVANCED) tp->sacked_out = 0;  // tcp_reset_reno_sack
        tcp_add_reno_sack(sk, num_dupack, ece_ack);
      }
      // A D-SACK after the recovery ended (undo_marker still set) may still undo it.
      if (tp->icsk_ca_state <= TCP_CA_Disorder) tcp_try_undo_dsack(sk);
      tcp_identify_packet_loss(sk, ack_flag);
      if (!tcp_time_to_recover(tp)) {
        tcp_try_to_open(sk, flag);
        return;
      }
      // Otherwise enter Recovery state.
      tcp_enter_recovery(sk, ece_ack);
  }
  *rexmit = REXMIT_LOST;
}

// tcp_xmit_recovery: the retransmissions tcp_fastretrans_alert asked for, or
// F-RTO's new data (falling back to retransmissions when none could go).
void tcp_xmit_recovery(Sock* sk, int rexmit) {
  TcpSock* tp = tcp_sk(sk);
  if (rexmit == REXMIT_NONE || sk->sk_state == TCP_SYN_SENT) return;
  if (rexmit == REXMIT_NEW) {
    __tcp_push_pending_frames(sk, tcp_current_mss(sk), TCP_NAGLE_OFF);
    if (after(tp->snd_nxt, tp->high_seq)) return;
    tp->frto = 0;
  }
  tcp_xmit_retransmit_queue(sk);
}

// tcp_process_tlp_ack: an ACK during a TLP episode. A probe of new data, or
// one that only duplicated what arrived (D-SACK, or a pure dupack), ends it;
// an ACK beyond the probe means it repaired a loss: cwnd is reduced as for
// CWR at once (TCPLossProbeRecovery).
void tcp_process_tlp_ack(Sock* sk, uint32_t ack, int flag) {
  TcpSock* tp = tcp_sk(sk);
  if (before(ack, tp->tlp_high_seq)) return;
  if (!tp->tlp_retrans) {
    tp->tlp_high_seq = 0;
  } else if (flag & FLAG_DSACK_TLP) {
    tp->tlp_high_seq = 0;
  } else if (after(ack, tp->tlp_high_seq)) {
    tcp_init_cwnd_reduction(sk);
    tcp_set_ca_state(sk, TCP_CA_CWR);
    tcp_end_cwnd_reduction(sk);
    tcp_try_keep_open(sk);
    sk->net->mib.tcpext.TCPLossProbeRecovery++;
  } else if (!(flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DATA_SACKED))) {
    tp->tlp_high_seq = 0;
  }
}

// tcp_ack: < 0 a drop reason (negated), 0 an old ACK, 1 accepted.
namespace {

// tcp_match_skb_to_sack: 1 when skb lies within the block, 0 when not; a TSO
// skb the block covers in part is cut first, at whole MSS (-1: cannot be).
int tcp_match_skb_to_sack(Sock* sk, SkBuff* skb, uint32_t start_seq, uint32_t end_seq) {
  const TcpSkbCb* scb = TCP_SKB_CB(skb);
  bool in_sack = !after(start_seq, scb->seq) && !before(end_seq, scb->end_seq);
  if (tcp_skb_pcount(skb) > 1 && !in_sack && after(scb->end_seq, start_seq)) {
    const uint32_t mss = scb->tcp_gso_size;
    in_sack = !after(start_seq, scb->seq);
    uint32_t pkt_len;
    if (!in_sack) {
      pkt_len = std::max(start_seq - scb->seq, mss);
    } else {
      pkt_len = end_seq - scb->seq;
      if (pkt_len < mss) return -1;
    }
    // SACKs cover whole MSS, and the small rest if any.
    if (pkt_len > mss) {
      uint32_t new_len = pkt_len / mss * mss;
      if (!in_sack && new_len < pkt_len) new_len += mss;
      pkt_len = new_len;
    }
    if (pkt_len >= skb->len && !in_sack) return 0;
    if (tcp_fragment(sk, TCP_FRAG_IN_RTX_QUEUE, skb, pkt_len, mss)) return -1;
  }
  return in_sack ? 1 : 0;
}

// tcp_sacktag_one: a segment newly SACKed leaves the holes (lost, retransmitted
// counts), counts as delivered and advances RACK; a never-retransmitted one
// below what was SACKed before lowers state->reord (reordering), and its
// departure times the ACK (the SACK RTT sample).
int tcp_sacktag_one(Sock* sk, SkBuff* skb, bool ece_ack, TcpSacktagState* state) {
  TcpSock* tp = tcp_sk(sk);
  TcpSkbCb* scb = TCP_SKB_CB(skb);
  uint8_t sacked = scb->sacked;
  const uint32_t pcount = tcp_skb_pcount(skb);
  if (sacked & TCPCB_SACKED_ACKED) return 0;
  int flag = FLAG_DATA_SACKED;
  tcp_rack_advance(tp, sacked, scb->end_seq, skb->tstamp / 1000);
  if (sacked & TCPCB_SACKED_RETRANS) {
    if (sacked & TCPCB_LOST) {
      sacked &= uint8_t(~(TCPCB_LOST | TCPCB_SACKED_RETRANS));
      tp->lost_out -= pcount;
      tp->retrans_out -= pcount;
    }
  } else {
    if (!(sacked & TCPCB_RETRANS)) {
      if (before(scb->seq, state->fack) && before(scb->seq, state->reord)) state->reord = scb->seq;
      if (!after(scb->end_seq, tp->high_seq)) flag |= FLAG_ORIG_SACK_ACKED;
      if (!state->first_sackt) state->first_sackt = skb->tstamp;
      state->last_sackt = skb->tstamp;
    }
    if (sacked & TCPCB_LOST) {
      sacked &= uint8_t(~TCPCB_LOST);
      tp->lost_out -= pcount;
    }
  }
  scb->sacked = uint8_t(sacked | TCPCB_SACKED_ACKED);
  tp->sacked_out += pcount;
  if (after(scb->end_seq, state->fack)) state->fack = scb->end_seq;
  tcp_count_delivered(tp, pcount, ece_ack);
  return flag;
}

// tcp_dsack_seen: a D-SACK of [start_seq, end_seq) reports dup_segs duplicate
// segments (0: dubious, ignored: reversed, wider than any window we were
// offered, or more duplicates than we ever retransmitted). A spurious
// retransmission counts as delivered; once reordering was seen, it marks a
// round for RACK's reordering window to grow (rack.dsack_seen).
// One segment ending at tlp_high_seq D-SACKs the loss probe: FLAG_DSACK_TLP
// (tcp_process_tlp_ack: the original arrived too, no loss).
uint32_t tcp_dsack_seen(TcpSock* tp, uint32_t start_seq, uint32_t end_seq, uint32_t* sack_delivered, int* flag) {
  if (!before(start_seq, end_seq)) return 0;
  const uint32_t seq_len = end_seq - start_seq;
  if (seq_len > tp->max_window) return 0;
  uint32_t dup_segs = 1;
  if (seq_len > tp->mss_cache)
    dup_segs = (seq_len + tp->mss_cache - 1) / tp->mss_cache;
  else if (tp->tlp_high_seq && tp->tlp_high_seq == end_seq)
    *flag |= FLAG_DSACK_TLP;
  tp->dsack_dups += dup_segs;
  // Skip the D-SACK if the duplicates were not retransmitted by us.
  if (tp->dsack_dups > tp->total_retrans) return 0;
  // A round with a D-SACK grows RACK's reordering window (tcp_rack_update_reo_wnd),
  // once reordering was seen and unless it only answers a loss probe.
  if (tp->reord_seen && !(*flag & FLAG_DSACK_TLP)) tp->rack.dsack_seen = true;
  *sack_delivered += dup_segs;
  return dup_segs;
}

// tcp_check_dsack: the first block is a D-SACK (RFC 2883) when it lies below
// the ACK, or inside the second block. A retransmission D-SACKed below the
// previous snd_una is taken off undo_retrans here (dumb counting).
bool tcp_check_dsack(Sock* sk, const SkBuff* ack_skb, std::array<uint32_t, 2>* blocks, unsigned num_sacks,
                     uint32_t prior_snd_una, uint32_t* sack_delivered, int* flag) {
  TcpSock* tp = tcp_sk(sk);
  TcpExtMib& mib = sk->net->mib.tcpext;
  const uint32_t start_seq_0 = blocks[0][0], end_seq_0 = blocks[0][1];
  if (before(start_seq_0, TCP_SKB_CB(ack_skb)->ack_seq)) {
    mib.TCPDSACKRecv++;
  } else if (num_sacks > 1) {
    if (after(end_seq_0, blocks[1][1]) || before(start_seq_0, blocks[1][0])) return false;
    mib.TCPDSACKOfoRecv++;
  } else {
    return false;
  }
  const uint32_t dup_segs = tcp_dsack_seen(tp, start_seq_0, end_seq_0, sack_delivered, flag);
  if (!dup_segs) {
    mib.TCPDSACKIgnoredDubious++;
    return false;
  }
  mib.TCPDSACKRecvSegs += dup_segs;
  if (tp->undo_marker && tp->undo_retrans > 0 && !after(end_seq_0, prior_snd_una) &&
      after(end_seq_0, tp->undo_marker))
    tp->undo_retrans = std::max(0, tp->undo_retrans - int(dup_segs));
  return true;
}

// tcp_is_sackblock_valid: a block inside what is in flight; a D-SACK may also
// lie below snd_una, back to the start of the recovery it may undo.
bool tcp_is_sackblock_valid(const TcpSock* tp, bool is_dsack, uint32_t start_seq, uint32_t end_seq) {
  if (after(end_seq, tp->snd_nxt) || !before(start_seq, end_seq)) return false;
  if (!before(start_seq, tp->snd_nxt)) return false;
  if (after(start_seq, tp->snd_una)) return true;
  if (!is_dsack || !tp->undo_marker) return false;
  if (after(end_seq, tp->snd_una)) return false;
  if (!before(start_seq, tp->undo_marker)) return true;
  if (!after(end_seq, tp->undo_marker)) return false;
  // Crossing undo_marker (overestimates a lot).
  return !before(start_seq, end_seq - tp->max_window);
}

// The D-SACK block's part of tcp_sacktag_one for the skbs it covers: a
// retransmission the peer had already is taken off undo_retrans (and off
// retrans_out while still unacked); what is above snd_una is SACKed as usual.
int tcp_sacktag_dsack(Sock* sk, uint32_t start_seq, uint32_t end_seq, bool ece_ack, TcpSacktagState* state) {
  TcpSock* tp = tcp_sk(sk);
  int flag = 0;
  for (SkBuff* skb = tp->tcp_rtx_queue.front(); skb; skb = skb->next) {
    TcpSkbCb* scb = TCP_SKB_CB(skb);
    if (!before(scb->seq, end_seq)) break;
    if (before(scb->seq, start_seq) || after(scb->end_seq, end_seq)) continue;
    const uint32_t pcount = tcp_skb_pcount(skb);
    if ((scb->sacked & TCPCB_RETRANS) && tp->undo_marker && tp->undo_retrans > 0 &&
        after(scb->end_seq, tp->undo_marker))
      tp->undo_retrans = std::max(0, tp->undo_retrans - int(pcount));
    // Nothing more for what this ACK acks: it is about to be dropped.
    if (!after(scb->end_seq, tp->snd_una)) continue;
    flag |= tcp_sacktag_one(sk, skb, ece_ack, state);
    if (scb->sacked & TCPCB_SACKED_RETRANS) {
      scb->sacked &= uint8_t(~TCPCB_SACKED_RETRANS);
      tp->retrans_out -= pcount;
    }
  }
  return flag;
}

// The first SACK option's blocks (at most four), as tcp_parse_options finds
// it (TCP_SKB_CB(skb)->sacked, the option's offset); 0 when there is none.
unsigned tcp_sack_blocks(const SkBuff* ack_skb, std::array<uint32_t, 2> (&blocks)[4]) {
  const uint8_t* th = tcp_hdr(ack_skb);
  const unsigned doff = (th[12] >> 4) * 4u;
  unsigned n = 0;
  for (unsigned i = 20; i < doff && n == 0;) {
    const uint8_t kind = th[i];
    if (kind == TCPOPT_EOL) break;
    if (kind == TCPOPT_NOP) { ++i; continue; }
    if (i + 1 >= doff || th[i + 1] < 2 || i + th[i + 1] > doff) break;
    const unsigned size = th[i + 1];
    if (kind == 5 && size >= 10 && (size - 2) % 8 == 0) {
      for (unsigned b = 0; b < (size - 2) / 8 && b < 4; ++b) {
        blocks[n][0] = wire::load_be32(th + i + 2 + 8 * b);
        blocks[n][1] = wire::load_be32(th + i + 6 + 8 * b);
        ++n;
      }
    }
    i += size;
  }
  return n;
}

}  // namespace

// tcp_sacktag_write_queue: the ACK's SACK blocks mark what the peer holds
// beyond snd_una; a first block that is a D-SACK (tcp_check_dsack) counts
// the duplicate. The SACK shifting of skbs (tcp_shift_skb_data) is not modelled.
int tcp_sacktag_write_queue(Sock* sk, const SkBuff* ack_skb, uint32_t prior_snd_una, bool ece_ack,
                            TcpSacktagState* state) {
  TcpSock* tp = tcp_sk(sk);
  std::array<uint32_t, 2> blocks[4];
  const unsigned n = tcp_sack_blocks(ack_skb, blocks);
  if (!n) return 0;
  state->reord = tp->snd_nxt;
  state->fack = tcp_highest_sack_seq(tp);
  uint32_t sack_delivered = 0;
  int flag = 0;
  const bool found_dup_sack = tcp_check_dsack(sk, ack_skb, blocks, n, prior_snd_una, &sack_delivered, &flag);
  if (found_dup_sack) flag |= FLAG_DSACKING_ACK;
  if (sack_delivered) tcp_count_delivered(tp, sack_delivered, ece_ack);
  if (!tp->packets_out) return flag;
  // The rest in sequence order, so that a lower block is tagged before a higher one.
  std::sort(blocks + (found_dup_sack ? 1 : 0), blocks + n,
            [](const std::array<uint32_t, 2>& a, const std::array<uint32_t, 2>& b) { return before(a[0], b[0]); });
  for (unsigned b = 0; b < n; ++b) {
    const uint32_t start = blocks[b][0], end = blocks[b][1];
    const bool dup_sack = b == 0 && found_dup_sack;
    if (!tcp_is_sackblock_valid(tp, dup_sack, start, end)) {
      if (dup_sack) {
        if (!tp->undo_marker)
          sk->net->mib.tcpext.TCPDSACKIgnoredNoUndo++;
        else
          sk->net->mib.tcpext.TCPDSACKIgnoredOld++;
      } else if (TCP_SKB_CB(ack_skb)->ack_seq == tp->snd_una || after(end, tp->snd_una)) {
        // Olds caused by ACK reordering are not counted.
        sk->net->mib.tcpext.TCPSACKDiscard++;
      }
      continue;
    }
    // Very old stuff is ignored early.
    if (!after(end, prior_snd_una)) continue;
    if (dup_sack) {
      flag |= tcp_sacktag_dsack(sk, start, end, ece_ack, state);
      continue;
    }
    for (SkBuff* skb = tp->tcp_rtx_queue.front(); skb; skb = skb->next) {
      if (!before(TCP_SKB_CB(skb)->seq, end)) break;
      if (!after(TCP_SKB_CB(skb)->end_seq, start)) continue;
      const int in_sack = tcp_match_skb_to_sack(sk, skb, start, end);
      if (in_sack < 0) break;
      if (in_sack) flag |= tcp_sacktag_one(sk, skb, ece_ack, state);
    }
  }
  // A SACK that filled a never-retransmitted hole: reordering (not judged in a
  // Loss whose cwnd cannot be undone).
  if (tp->icsk_ca_state != TCP_CA_Loss || tp->undo_marker) tcp_check_sack_reordering(sk, state->reord, false);
  return flag;
}

int tcp_ack(Sock* sk, const SkBuff* skb, int flag) {
  TcpSock* tp = tcp_sk(sk);
  checkpoint(sk->net->tracer, "tcp_ack", skb);
  const uint32_t prior_snd_una = tp->snd_una;
  const uint32_t ack_seq = TCP_SKB_CB(skb)->seq;
  const uint32_t ack = TCP_SKB_CB(skb)->ack_seq;
  const uint32_t prior_packets = tp->packets_out;
  const uint32_t prior_delivered = tp->delivered;
  const uint32_t prior_fack = tcp_is_sack(tp) ? tcp_highest_sack_seq(tp) : tp->snd_una;
  TcpSacktagState sack_state;
  // An ACK older than what was acked before may be ignored.
  if (before(ack, prior_snd_una)) {
    const uint32_t max_window = uint32_t(std::min<uint64_t>(tp->max_window, tp->bytes_acked));
    // RFC 5961 5.2 [Blind Data Injection Attack].
    if (before(ack, prior_snd_una - max_window)) {
      if (!(flag & FLAG_NO_CHALLENGE_ACK)) tcp_send_challenge_ack(sk, skb);
      return -int(SkbDropReason::TCP_TOO_OLD_ACK);
    }
    // old_ack: SACK blocks on it still tag the queue, and what they newly
    // deliver may release retransmissions (PRR) at once.
    std::array<uint32_t, 2> blocks[4];
    if (tcp_is_sack(tp) && tcp_sack_blocks(skb, blocks)) {
      int rexmit = REXMIT_NONE;
      flag |= tcp_sacktag_write_queue(sk, skb, prior_snd_una, false, &sack_state);
      tcp_fastretrans_alert(sk, prior_snd_una, 0, &flag, &rexmit);
      tcp_xmit_recovery(sk, rexmit);
    }
    return 0;
  }
  // An ACK of data we have not sent: discard the segment, with a challenge ACK
  // (RFC 5961 5.2, RFC 9293 3.10.7.4; 6.18's stable kernels send it too).
  if (after(ack, tp->snd_nxt)) {
    if (!(flag & FLAG_NO_CHALLENGE_ACK)) tcp_send_challenge_ack(sk, skb);
    return -int(SkbDropReason::TCP_ACK_UNSENT_DATA);
  }
  if (after(ack, prior_snd_una)) {
    flag |= FLAG_SND_UNA_ADVANCED;
    tp->icsk_retransmits = 0;
  }
  if (flag & FLAG_UPDATE_TS_RECENT) tcp_replace_ts_recent(sk, TCP_SKB_CB(skb)->seq);
  if ((flag & (FLAG_SLOWPATH | FLAG_SND_UNA_ADVANCED)) == FLAG_SND_UNA_ADVANCED) {
    // The window is constant, a pure forward advance.
    tcp_update_wl(tp, ack_seq);
    tcp_snd_una_update(tp, ack);
    flag |= FLAG_WIN_UPDATE;
    sk->net->mib.tcpext.TCPHPAcks++;
  } else {
    if (ack_seq != TCP_SKB_CB(skb)->end_seq)
      flag |= FLAG_DATA;
    else
      sk->net->mib.tcpext.TCPPureAcks++;
    flag |= tcp_ack_update_window(sk, skb, ack, ack_seq);
    // Known before the SACK blocks are tagged: what they deliver counts as CE too.
    if (tcp_ecn_rcv_ecn_echo(tp, TCP_SKB_CB(skb)->tcp_flags)) flag |= FLAG_ECE;
    if (tcp_is_sack(tp)) flag |= tcp_sacktag_write_queue(sk, skb, prior_snd_una, flag & FLAG_ECE, &sack_state);
  }
  // CWR is taken from any acceptable ACK, pure ones too (6.18 does: tcp_ecn_ce_echo).
  tcp_ecn_accept_cwr(sk, skb);
  sk->sk_err_soft = 0;
  tp->icsk_probes_out = 0;
  tp->rcv_tstamp = uint32_t(sk->net->engine.jiffies());
  if (!prior_packets) {
    // A D-SACK with nothing in flight may still undo a cwnd reduction.
    if (flag & FLAG_DSACKING_ACK) {
      int rexmit = REXMIT_NONE;
      tcp_fastretrans_alert(sk, prior_snd_una, 0, &flag, &rexmit);
      // tcp_newly_delivered: an ECE acks only CE-marked deliveries (RFC 3168 counts them all).
      if ((flag & FLAG_ECE) && tcp_ecn_mode_rfc3168(tp))
        sk->net->mib.tcpext.TCPDeliveredCE += tp->delivered - prior_delivered;
    }
    // An ACK that opens a zero window: the probe timer stops (tcp_ack_probe).
    if (tp->icsk_pending == ICSK_TIME_PROBE0 && !tp->sk_write_queue.empty()) {
      const SkBuff* head = tp->sk_write_queue.front();
      if (!after(TCP_SKB_CB(head)->end_seq, tp->snd_una + tp->snd_wnd)) {
        tp->icsk_backoff = 0;
        tp->icsk_probes_tstamp = 0;
        inet_csk_clear_xmit_timer(sk, ICSK_TIME_PROBE0);
      }
    }
    if (tp->tlp_high_seq) tcp_process_tlp_ack(sk, ack, flag);
    return 1;
  }
  long seq_rtt_us = -1, ca_rtt_us = -1;
  uint32_t pkts_acked = 0;
  const uint32_t prior_lost = tp->lost;
  int rexmit = REXMIT_NONE;
  RateSample rs;
  flag |= tcp_clean_rtx_queue(sk, prior_fack, prior_snd_una, &seq_rtt_us, &ca_rtt_us, &pkts_acked,
                              flag & FLAG_ECE, &rs);
  // The RTT of the first newly SACKed segment when nothing new is acked, and
  // the last one's for min_rtt (tcp_clean_rtx_queue's sack_rtt_us, ca_rtt_us).
  long sack_rtt_us = -1;
  if (sack_state.first_sackt) {
    sack_rtt_us = long((tp->tcp_clock_cache - sack_state.first_sackt) / 1000);
    ca_rtt_us = long((tp->tcp_clock_cache - sack_state.last_sackt) / 1000);
  }
  const bool rtt_update = tcp_ack_update_rtt(sk, flag, seq_rtt_us < 0 ? sack_rtt_us : seq_rtt_us, ca_rtt_us, &rs);
  // Nothing acked, but a SACK RTT from data sent before the head's last
  // (re)transmission: the TLP or RTO timer is set again (else a timeout in
  // loss recovery may keep being extended by SACKs of newer data).
  if (!(flag & FLAG_ACKED) && rtt_update && sack_rtt_us >= 0) {
    const SkBuff* head = tp->tcp_rtx_queue.front();
    if (head && sack_rtt_us > long((tp->tcp_clock_cache - head->tstamp) / 1000)) flag |= FLAG_SET_XMIT_TIMER;
  }
  // The end of tcp_clean_rtx_queue: CUBIC's HyStart takes its delay samples here.
  if (tp->icsk_ca_ops && tp->icsk_ca_ops->pkts_acked) {
    AckSample sample{pkts_acked, int32_t(rs.rtt_us), tp->mss_cache * (tp->delivered - rs.prior_delivered)};
    tp->icsk_ca_ops->pkts_acked(sk, sample);
  }
  tcp_rack_update_reo_wnd(sk, rs.prior_delivered);
  if (tp->tlp_high_seq) tcp_process_tlp_ack(sk, ack, flag);
  // tcp_ack_is_dubious: a duplicate ACK, an alert, or not Open.
  if (!(flag & FLAG_NOT_DUP) || (flag & FLAG_CA_ALERT) || tp->icsk_ca_state != TCP_CA_Open) {
    const int num_dupack = !(flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DSACKING_ACK)) ? 1 : 0;
    tcp_fastretrans_alert(sk, prior_snd_una, num_dupack, &flag, &rexmit);
  }
  // The peer moved forward, or repeats itself: it is there (sk_dst_confirm).
  if ((flag & FLAG_FORWARD_PROGRESS) || !(flag & FLAG_NOT_DUP)) sk_dst_confirm(sk);
  if (flag & FLAG_SET_XMIT_TIMER) {
    // tcp_set_xmit_timer: a loss probe, or the RTO.
    if (!tcp_schedule_loss_probe(sk, true)) tcp_rearm_rto(sk);
  }
  // tcp_newly_delivered: an ECE acks only CE-marked deliveries (RFC 3168 counts them all).
  if ((flag & FLAG_ECE) && tcp_ecn_mode_rfc3168(tp))
    sk->net->mib.tcpext.TCPDeliveredCE += tp->delivered - prior_delivered;
  tcp_rate_gen(sk, tp->delivered - prior_delivered, &rs);
  tcp_cong_control(sk, ack, tp->delivered - prior_delivered, int(tp->lost - prior_lost), flag);
  tcp_update_pacing_rate(sk);  // the tail of Linux's tcp_cong_control
  tcp_xmit_recovery(sk, rexmit);
  return 1;
}

// tcp_ofo_queue: out-of-order segments that now fit go to the receive queue.
void tcp_ofo_queue(Sock* sk);

// sk_rmem_schedule: forward-allocate whole pages for size bytes; the twin's
// global TCP memory (tcp_mem) is never under pressure, so it never refuses.
bool sk_rmem_schedule(Sock* sk, int size) {
  TcpSock* tp = tcp_sk(sk);
  const int delta = size - tp->sk_forward_alloc;
  if (delta > 0) tp->sk_forward_alloc += sk_mem_pages(delta) * SK_MEM_PAGE_SIZE;  // __sk_mem_schedule
  return true;
}

// sk_mem_reclaim: whole pages go back, less than one stays forward-allocated.
void sk_mem_reclaim(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->sk_forward_alloc >= SK_MEM_PAGE_SIZE) tp->sk_forward_alloc %= SK_MEM_PAGE_SIZE;
}

// sk_forced_mem_schedule: the same, for memory taken whatever the limits.
void sk_forced_mem_schedule(Sock* sk, int size) { sk_rmem_schedule(sk, size); }

// tcp_try_coalesce: from, starting where to ends, joins it and is freed
// untraced (kfree_skb_partial). skb_try_coalesce copies it into to's tailroom
// when it fits, charging no memory (delta_truesize 0): the skb that stays is
// the one already charged, so sk_forward_alloc, the window and the fast path's
// room test see less memory used (recorded: 9 TCPRcvCoalesce in
// tcp_slow_reader_prune). A veth skb's tailroom is its kmalloc'd head's
// (Veth::receive_from_wire). The twin's heads are never page fragments, so
// skb_head_is_locked holds and a payload past the tailroom is not stolen.
bool tcp_try_coalesce(Sock* sk, SkBuff* to, SkBuff* from) {
  if (TCP_SKB_CB(from)->seq != TCP_SKB_CB(to)->end_seq) return false;
  if (skb_cloned(to) || from->data_len || to->data_len || int(from->len) > skb_tailroom(to)) return false;
  if (from->len) std::memcpy(skb_put(to, from->len), from->data, from->len);
  sk->net->mib.tcpext.TCPRcvCoalesce++;
  TCP_SKB_CB(to)->end_seq = TCP_SKB_CB(from)->end_seq;
  TCP_SKB_CB(to)->ack_seq = TCP_SKB_CB(from)->ack_seq;
  TCP_SKB_CB(to)->tcp_flags |= TCP_SKB_CB(from)->tcp_flags;
  return true;
}

// tcp_check_urg: a new urgent pointer. It points at the urgent byte (the
// byte before it, RFC 793's reading, tcp_stdurg 0); one already read past or
// behind rcv_nxt, or not newer than the one we have, is ignored.
void tcp_check_urg(Sock* sk, const uint8_t* th) {
  TcpSock* tp = tcp_sk(sk);
  uint32_t ptr = wire::load_be16(th + 18);
  if (ptr) ptr--;
  ptr += wire::load_be32(th + 4);
  if (after(tp->copied_seq, ptr) || before(ptr, tp->rcv_nxt)) return;
  if (tp->urg_data && !after(ptr, tp->urg_seq)) return;
  // The reader stands on an unread urgent byte that a new pointer replaces:
  // the old byte leaves the stream (and its skb, when that was all of it).
  if (tp->urg_seq == tp->copied_seq && tp->urg_data && !sk->sock_urginline && tp->copied_seq != tp->rcv_nxt) {
    SkBuff* skb = sk->sk_receive_queue.front();
    tp->copied_seq++;
    if (skb && !before(tp->copied_seq, TCP_SKB_CB(skb)->end_seq)) {
      sk->sk_receive_queue.unlink(skb);
      tcp_sock_rfree(sk, skb);
      __kfree_skb(skb);
    }
  }
  tp->urg_data = TCP_URG_NOTYET;
  tp->urg_seq = ptr;
  tp->pred_flags = 0;  // tcp_fast_path_off
}

// tcp_urg: URG's pointer noted; when the urgent byte is in this segment it is
// kept aside for recv(MSG_OOB) (TCP_URG_VALID).
void tcp_urg(Sock* sk, SkBuff* skb, const uint8_t* th) {
  TcpSock* tp = tcp_sk(sk);
  if (th[13] & TCPHDR_URG) tcp_check_urg(sk, th);
  if (tp->urg_data == TCP_URG_NOTYET) {
    const uint32_t ptr = tp->urg_seq - wire::load_be32(th + 4) + (th[12] >> 4) * 4u - ((th[13] & TCPHDR_SYN) ? 1 : 0);
    if (ptr < skb->len) tp->urg_data = uint16_t(TCP_URG_VALID | skb->data[ptr]);
  }
}

// tcp_queue_rcv: true when the tail of the receive queue ate skb's bytes; the
// caller frees skb when done with it (kfree_skb_partial, untraced).
bool tcp_queue_rcv(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tp->rcv_nxt = TCP_SKB_CB(skb)->end_seq;
  tp->bytes_received += skb->len;
  if (SkBuff* tail = sk->sk_receive_queue.back(); tail && tcp_try_coalesce(sk, tail, skb)) return true;
  // Charged to the receive buffer until read.
  tcp_skb_set_owner_r(sk, skb);
  sk->sk_receive_queue.push_back(skb);
  return false;
}

constexpr int TCP_NUM_SACKS = 4;  // selective_acks[]

// tcp_sack_extend: [seq, end_seq) touches or overlaps the block; it grows to
// cover both.
bool tcp_sack_extend(TcpSock::SackBlock* sp, uint32_t seq, uint32_t end_seq) {
  if (!after(seq, sp->end_seq) && !after(sp->start_seq, end_seq)) {
    if (before(seq, sp->start_seq)) sp->start_seq = seq;
    if (after(end_seq, sp->end_seq)) sp->end_seq = end_seq;
    return true;
  }
  return false;
}

// tcp_sack_maybe_coalesce: the first block, just grown, may now reach the
// others; those it reaches merge into it.
void tcp_sack_maybe_coalesce(TcpSock* tp) {
  TcpSock::SackBlock* sp = &tp->selective_acks[0];
  for (int this_sack = 1; this_sack < tp->rx_opt.num_sacks;) {
    if (tcp_sack_extend(sp, sp[this_sack].start_seq, sp[this_sack].end_seq)) {
      tp->rx_opt.num_sacks--;
      for (int i = this_sack; i < tp->rx_opt.num_sacks; i++) sp[i] = sp[i + 1];
      continue;
    }
    this_sack++;
  }
}

// tcp_sack_new_ofo_skb: the block [seq, end_seq) joins or extends goes to the
// front (the most recent first, RFC 2018 4); a fifth block pushes the oldest
// out. (No ACK compression here: tcp_sack_compress_send_ack has nothing to do.)
void tcp_sack_new_ofo_skb(TcpSock* tp, uint32_t seq, uint32_t end_seq) {
  TcpSock::SackBlock* sp = &tp->selective_acks[0];
  const int cur_sacks = tp->rx_opt.num_sacks;
  int this_sack = 0;
  if (cur_sacks) {
    for (; this_sack < cur_sacks; this_sack++) {
      if (tcp_sack_extend(&sp[this_sack], seq, end_seq)) {
        for (; this_sack > 0; this_sack--) std::swap(sp[this_sack], sp[this_sack - 1]);
        if (cur_sacks > 1) tcp_sack_maybe_coalesce(tp);
        return;
      }
    }
    if (this_sack >= TCP_NUM_SACKS) {
      this_sack--;
      tp->rx_opt.num_sacks--;
    }
    for (; this_sack > 0; this_sack--) sp[this_sack] = sp[this_sack - 1];
  }
  sp[0] = {seq, end_seq};
  tp->rx_opt.num_sacks++;
}

// tcp_sack_remove: rcv_nxt advanced; the blocks it covers are eaten.
void tcp_sack_remove(TcpSock* tp) {
  if (tp->out_of_order_queue.empty()) {
    tp->rx_opt.num_sacks = 0;
    return;
  }
  int num_sacks = tp->rx_opt.num_sacks;
  for (int this_sack = 0; this_sack < num_sacks;) {
    if (!before(tp->rcv_nxt, tp->selective_acks[this_sack].start_seq)) {
      for (int i = this_sack + 1; i < num_sacks; i++) tp->selective_acks[i - 1] = tp->selective_acks[i];
      num_sacks--;
      continue;
    }
    this_sack++;
  }
  tp->rx_opt.num_sacks = uint8_t(num_sacks);
}

// tcp_clamp_window: the queues hit the buffer; an unlocked buffer is set to
// what they hold, and a window past it falls back to two segments.
void tcp_clamp_window(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->icsk_ack.quick = 0;
  const int64_t rmem2 = sk->net->sysctl.tcp_rmem[2];
  if (sk->sk_rcvbuf < rmem2 && !(sk->sk_userlocks & SOCK_RCVBUF_LOCK))
    sk->sk_rcvbuf = int(std::min<int64_t>(sk->sk_rmem_alloc, rmem2));
  if (sk->sk_rmem_alloc > sk->sk_rcvbuf) tp->rcv_ssthresh = std::min(tp->window_clamp, 2u * tp->advmss);
}

// tcp_prune_ofo_queue: out-of-order data is dropped from the far end, an
// eighth of the buffer at a time, until the queues fit sk_rcvbuf or the
// incoming skb would be the last one left (never dropped for data beyond it).
bool tcp_prune_ofo_queue(Sock* sk, const SkBuff* in_skb) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->out_of_order_queue.empty()) return false;
  int goal = sk->sk_rcvbuf >> 3;
  bool pruned = false;
  while (SkBuff* skb = tp->out_of_order_queue.back()) {
    if (after(TCP_SKB_CB(in_skb)->seq, TCP_SKB_CB(skb)->seq)) break;
    pruned = true;
    tp->out_of_order_queue.unlink(skb);
    tcp_sock_rfree(sk, skb);
    goal -= int(skb->truesize);
    tcp_drop_reason(sk, skb, SkbDropReason::TCP_OFO_QUEUE_PRUNE, "tcp_prune_ofo_queue");
    if (tp->out_of_order_queue.empty() || goal <= 0) {
      if (sk->sk_rmem_alloc <= sk->sk_rcvbuf) break;
      goal = sk->sk_rcvbuf >> 3;
    }
  }
  if (pruned) {
    sk->net->mib.tcpext.OfoPruned++;
    // tcp_sack_reset: the SACK blocks described what is gone.
    tp->rx_opt.num_sacks = 0;
    tp->rx_opt.dsack = false;
  }
  return pruned;
}

// tcp_collapse_one: a collapsed skb leaves the queue (freed, no tracepoint).
SkBuff* tcp_collapse_one(Sock* sk, SkbQueue& list, SkBuff* prev, SkBuff* skb) {
  SkBuff* next = skb->next;
  if (!prev) {
    list.pop_front();
  } else {
    prev->next = next;
    skb->next = nullptr;
    list.unlink_counted(skb, prev);
  }
  tcp_sock_rfree(sk, skb);
  __kfree_skb(skb);
  sk->net->mib.tcpext.TCPRcvCollapsed++;
  return next;
}

// tcp_collapse on the receive queue (copied_seq .. rcv_nxt): from the first
// skb whose truesize is bloated for its payload (or whose head was read), the
// data is copied into compact skbs of at most SKB_MAX_ORDER(0, 0) bytes, each
// charged as alloc_skb sizes it, and the old skbs freed; a FIN stops it.
void tcp_collapse(Sock* sk, uint32_t start, uint32_t end) {
  TcpSock* tp = tcp_sk(sk);
  SkbQueue& list = sk->sk_receive_queue;
  SkBuff* prev = nullptr;
  SkBuff* skb = list.front();
  bool end_of_skbs = true;
  for (; skb; prev = skb, skb = skb->next) {
    if ((TCP_SKB_CB(skb)->tcp_flags & (TCPHDR_SYN | TCPHDR_FIN)) == 0 &&
        (tcp_win_from_space_ratio(tp, int(skb->truesize)) > int(skb->len) || before(TCP_SKB_CB(skb)->seq, start))) {
      end_of_skbs = false;
      break;
    }
    SkBuff* n = skb->next;
    if (n && TCP_SKB_CB(skb)->end_seq != TCP_SKB_CB(n)->seq) {
      end_of_skbs = false;
      break;
    }
    start = TCP_SKB_CB(skb)->end_seq;  // skipped: advance start
  }
  if (end_of_skbs || (TCP_SKB_CB(skb)->tcp_flags & (TCPHDR_SYN | TCPHDR_FIN))) return;
  constexpr int kSkbMaxOrder0 = SK_MEM_PAGE_SIZE - 320;  // SKB_WITH_OVERHEAD(PAGE_SIZE)
  while (before(start, end)) {
    int copy = std::min<int>(kSkbMaxOrder0, int(end - start));
    // Its tail is the kmalloc'd head's end: later segments may be copied in
    // there (tcp_try_coalesce).
    const uint32_t truesize = alloc_skb_truesize(unsigned(copy));
    const unsigned area = truesize - SKB_HEAD_OVERHEAD - SKB_SHINFO_OVERHEAD;
    SkBuff* nskb = sk->net->pool.alloc_skb(area);
    nskb->end = nskb->tail + area;
    nskb->truesize = truesize;
    std::memcpy(nskb->cb, skb->cb, sizeof(skb->cb));
    TCP_SKB_CB(nskb)->seq = TCP_SKB_CB(nskb)->end_seq = start;
    list.insert_after(prev, nskb);
    prev = nskb;
    tcp_skb_set_owner_r(sk, nskb);
    // Copy data, releasing collapsed skbs.
    while (copy > 0) {
      const int offset = int(start - TCP_SKB_CB(skb)->seq);
      int size = int(TCP_SKB_CB(skb)->end_seq - start);
      if (size > 0) {
        size = std::min(copy, size);
        std::memcpy(skb_put(nskb, unsigned(size)), skb->data + offset, size_t(size));
        TCP_SKB_CB(nskb)->end_seq += uint32_t(size);
        copy -= size;
        start += uint32_t(size);
      }
      if (!before(start, TCP_SKB_CB(skb)->end_seq)) {
        skb = tcp_collapse_one(sk, list, prev, skb);
        if (!skb || (TCP_SKB_CB(skb)->tcp_flags & (TCPHDR_SYN | TCPHDR_FIN))) return;
      }
    }
  }
}

// tcp_prune_queue: the queues hold more than sk_rcvbuf; make it fit, or say
// it cannot be had (-1). The kernel recorded here still judges by
// sk_rmem_alloc against sk_rcvbuf alone, not by the incoming skb's truesize
// on top (6.17's tcp_can_ingest): with the latter, tcp_receive_tiny_segments
// would never clamp rcv_ssthresh to 2048 as Linux did. The out-of-order queue
// is pruned but not collapsed (tcp_collapse_ofo_queue is not modelled).
int tcp_prune_queue(Sock* sk, const SkBuff* in_skb) {
  TcpSock* tp = tcp_sk(sk);
  if (!sk->sk_rmem_alloc) return -1;  // nothing queued to prune
  sk->net->mib.tcpext.PruneCalled++;
  if (sk->sk_rmem_alloc >= sk->sk_rcvbuf) tcp_clamp_window(sk);
  if (sk->sk_rmem_alloc <= sk->sk_rcvbuf) return 0;
  if (!sk->sk_receive_queue.empty()) tcp_collapse(sk, tp->copied_seq, tp->rcv_nxt);
  if (sk->sk_rmem_alloc <= sk->sk_rcvbuf) return 0;
  tcp_prune_ofo_queue(sk, in_skb);
  if (sk->sk_rmem_alloc <= sk->sk_rcvbuf) return 0;
  // Really being abused: the caller drops the data on the floor.
  sk->net->mib.tcpext.RcvPruned++;
  tp->pred_flags = 0;
  return -1;
}

// tcp_try_rmem_schedule: the queues within sk_rcvbuf and memory scheduled
// for the skb, pruning if need be.
// sk_rmem_schedule's global accounting (tcp_mem) never refuses here: the twin
// has no memory pressure.
int tcp_try_rmem_schedule(Sock* sk, const SkBuff* skb) {
  if (sk->sk_rmem_alloc <= sk->sk_rcvbuf && sk_rmem_schedule(sk, int(skb->truesize))) return 0;
  if (tcp_prune_queue(sk, skb) < 0) return -1;
  sk_rmem_schedule(sk, int(skb->truesize));
  return 0;
}

namespace {
// tcp_data_queue_ofo's rbtree insert, up to its "end:" label. As Linux's:
// data all present already is dropped (D-SACK); a segment starting inside its
// predecessor is kept (D-SACK of the overlap), one starting where it does
// replaces it; the successors it covers go. The SACK blocks follow
// (tcp_sack_new_ofo_skb). A segment that continues its predecessor joins it
// when it fits (tcp_ooo_try_coalesce). Linux inlines it: drops carry tcp_data_queue.
void ofo_insert(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t seq = TCP_SKB_CB(skb)->seq, end_seq = TCP_SKB_CB(skb)->end_seq;
  if (tp->out_of_order_queue.empty()) {
    // Initial out-of-order segment: one SACK block.
    if (tcp_is_sack(tp)) {
      tp->rx_opt.num_sacks = 1;
      tp->selective_acks[0] = {seq, end_seq};
    }
    if (tcp_is_sack(tp)) tcp_grow_window(sk, skb, false);
    tcp_skb_set_owner_r(sk, skb);
    tp->out_of_order_queue.push_back(skb);
    return;
  }
  // The predecessor: the last skb starting at or before seq.
  SkBuff* prev = nullptr;
  for (SkBuff* s = tp->out_of_order_queue.front(); s && !before(seq, TCP_SKB_CB(s)->seq); s = s->next) prev = s;
  if (prev && tcp_try_coalesce(sk, prev, skb)) {  // tcp_ooo_try_coalesce
    // The merged skb counts as both when it is dropped later (sk_drops_add).
    uint16_t& segs = skb_shinfo(prev)->gso_segs;
    segs = uint16_t(std::min<uint32_t>(std::max<uint16_t>(1, segs) + std::max<uint16_t>(1, skb_shinfo(skb)->gso_segs), 0xffff));
    if (tcp_is_sack(tp)) {
      tcp_grow_window(sk, skb, true);
      tcp_sack_new_ofo_skb(tp, seq, end_seq);
    }
    __kfree_skb(skb);
    return;
  }
  SkBuff* prev_of_prev = nullptr;
  if (prev && before(seq, TCP_SKB_CB(prev)->end_seq)) {
    if (!after(end_seq, TCP_SKB_CB(prev)->end_seq)) {
      // All the bits are present already.
      tcp_drop_reason(sk, skb, SkbDropReason::TCP_OFOMERGE, "tcp_data_queue");
      tcp_dsack_set(sk, seq, end_seq);
      if (tcp_is_sack(tp)) tcp_sack_new_ofo_skb(tp, seq, end_seq);
      return;
    }
    if (after(seq, TCP_SKB_CB(prev)->seq)) {
      // Partial overlap.
      tcp_dsack_set(sk, seq, TCP_SKB_CB(prev)->end_seq);
    } else {
      // Same start, and skb covers prev: skb replaces it.
      for (SkBuff* s = tp->out_of_order_queue.front(); s != prev; s = s->next) prev_of_prev = s;
      tp->out_of_order_queue.unlink(prev);
      tcp_dsack_extend(sk, TCP_SKB_CB(prev)->seq, TCP_SKB_CB(prev)->end_seq);
      tcp_sock_rfree(sk, prev);
      tcp_drop_reason(sk, prev, SkbDropReason::TCP_OFOMERGE, "tcp_data_queue");
      prev = prev_of_prev;
    }
  }
  tp->out_of_order_queue.insert_after(prev, skb);
  // merge_right: remove the segments skb covers.
  while (SkBuff* next = skb->next) {
    if (!after(end_seq, TCP_SKB_CB(next)->seq)) break;
    if (before(end_seq, TCP_SKB_CB(next)->end_seq)) {
      tcp_dsack_extend(sk, TCP_SKB_CB(next)->seq, end_seq);
      break;
    }
    tp->out_of_order_queue.unlink(next);
    tcp_dsack_extend(sk, TCP_SKB_CB(next)->seq, TCP_SKB_CB(next)->end_seq);
    tcp_sock_rfree(sk, next);
    tcp_drop_reason(sk, next, SkbDropReason::TCP_OFOMERGE, "tcp_data_queue");
  }
  if (tcp_is_sack(tp)) tcp_sack_new_ofo_skb(tp, seq, end_seq);
  // Without SACK the window does not grow: the sender is to see dupacks.
  if (tcp_is_sack(tp)) tcp_grow_window(sk, skb, false);
  tcp_skb_set_owner_r(sk, skb);
}
}  // namespace

// tcp_data_queue_ofo: a segment beyond rcv_nxt waits in sequence order.
void tcp_data_queue_ofo(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tcp_data_ecn_check(sk, skb);
  if (tcp_try_rmem_schedule(sk, skb)) {
    sk->net->mib.tcpext.TCPOFODrop++;
    tcp_drop_reason(sk, skb, SkbDropReason::PROTO_MEM, "tcp_data_queue_ofo");
    return;
  }
  // rcv_mss and the payload/truesize ratio learn from out-of-order data too
  // (6.17, stable 6.12+).
  tcp_measure_rcv_mss(sk, skb);
  tp->pred_flags = 0;
  inet_csk_schedule_ack(sk);
  tp->rcv_ooopack += 1;
  sk->net->mib.tcpext.TCPOFOQueue++;
  ofo_insert(sk, skb);
  // Whatever became of the segment, sk_rcvbuf grows to hold twice rcvq_space
  // plus all up to the last out-of-order byte (6.16+), and window_clamp with
  // it, raw: rcv_ssthresh keeps its value. Not for a child not yet accepted,
  // nor an orphan (no sk_socket).
  if (sk->sk_socket) tcp_rcvbuf_grow(sk, tp->rcvq_space.space);
}

void tcp_ofo_queue(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  // What was below rcv_nxt when the hole was filled is reported as a D-SACK.
  const uint32_t dsack_high = tp->rcv_nxt;
  while (SkBuff* skb = tp->out_of_order_queue.front()) {
    if (after(TCP_SKB_CB(skb)->seq, tp->rcv_nxt)) break;
    if (before(TCP_SKB_CB(skb)->seq, dsack_high))
      tcp_dsack_extend(sk, TCP_SKB_CB(skb)->seq,
                       before(TCP_SKB_CB(skb)->end_seq, dsack_high) ? TCP_SKB_CB(skb)->end_seq : dsack_high);
    tp->out_of_order_queue.pop_front();
    if (!after(TCP_SKB_CB(skb)->end_seq, tp->rcv_nxt)) {
      tcp_sock_rfree(sk, skb);
      // Linux inlines tcp_ofo_queue into tcp_data_queue.
      tcp_drop_reason(sk, skb, SkbDropReason::TCP_OFO_DROP, "tcp_data_queue");
      continue;
    }
    // It moves queues with its charge: tcp_queue_rcv charges it again. Eaten,
    // it gives the charge back as it is freed (sock_rfree's sk_mem_reclaim).
    sk->sk_rmem_alloc -= int(skb->truesize);
    tp->sk_forward_alloc += int(skb->truesize);
    const bool fin = TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN;
    checkpoint(sk->net->tracer, "tcp_ofo_queue", skb);
    if (tcp_queue_rcv(sk, skb)) {
      sk_mem_reclaim(sk);
      __kfree_skb(skb);
    }
    if (fin) {
      tcp_fin(sk);
      break;
    }
  }
}

// tcp_data_queue: in order to the receive queue, duplicates dropped with an
// immediate ACK (D-SACK), beyond rcv_nxt to the out-of-order queue.
void tcp_data_queue(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  checkpoint(sk->net->tracer, "tcp_data_queue", skb);
  if (TCP_SKB_CB(skb)->seq == TCP_SKB_CB(skb)->end_seq) {
    __kfree_skb(skb);
    return;
  }
  skb_pull(skb, (tcp_hdr(skb)[12] >> 4) * 4u);
  tp->rx_opt.dsack = false;
  if (TCP_SKB_CB(skb)->seq == tp->rcv_nxt) {
    if (tcp_receive_window(sk) == 0) {
      // A bare FIN is taken even into a zero window.
      if (!skb->len && (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN)) goto queue_and_out;
      reason = SkbDropReason::TCP_ZEROWINDOW;
      sk->net->mib.tcpext.TCPZeroWindowDrop++;
      goto out_of_window;
    }
  queue_and_out:
    if (tcp_try_rmem_schedule(sk, skb)) {
      // No room: a zero window goes out now (tcp_select_window sees NOMEM).
      tp->icsk_ack.pending |= ICSK_ACK_NOMEM | ICSK_ACK_NOW;
      inet_csk_schedule_ack(sk);
      if (!sk->sk_receive_queue.empty() && skb->len) {
        reason = SkbDropReason::PROTO_MEM;
        sk->net->mib.tcpext.TCPRcvQDrop++;
        goto drop;
      }
      // An empty queue takes it whatever it costs.
      sk_forced_mem_schedule(sk, int(skb->truesize));
    }
    {
      const bool fin = TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN;
      const bool has_data = skb->len != 0;
      // Queued first: tcp_event_data_recv's window growth sees its memory.
      const bool eaten = tcp_queue_rcv(sk, skb);
      if (has_data) tcp_event_data_recv(sk, skb);
      if (fin) tcp_fin(sk);
      if (eaten) __kfree_skb(skb);  // kfree_skb_partial
    }
    if (!tp->out_of_order_queue.empty()) {
      tcp_ofo_queue(sk);
      // RFC 5681 4.2: an immediate ACK when the gap is filled.
      if (tp->out_of_order_queue.empty()) tp->icsk_ack.pending |= ICSK_ACK_NOW;
    }
    if (tp->rx_opt.num_sacks) tcp_sack_remove(tp);
    tcp_fast_path_check(sk);
    if (!sk->sock_dead) tcp_data_ready(sk);
    return;
  }
  if (!after(TCP_SKB_CB(skb)->end_seq, tp->rcv_nxt)) {
    // A retransmit: force an immediate ACK.
    reason = SkbDropReason::TCP_OLD_DATA;
    sk->net->mib.tcpext.DelayedACKLost++;
    tcp_dsack_set(sk, TCP_SKB_CB(skb)->seq, TCP_SKB_CB(skb)->end_seq);
  out_of_window:
    tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS);
    inet_csk_schedule_ack(sk);
  drop:
    tcp_drop_reason(sk, skb, reason, "tcp_data_queue");
    return;
  }
  // Out of window, e.g. a zero-window probe.
  if (!before(TCP_SKB_CB(skb)->seq, tp->rcv_nxt + tcp_receive_window(sk))) {
    reason = SkbDropReason::TCP_OVERWINDOW;
    goto out_of_window;
  }
  if (before(TCP_SKB_CB(skb)->seq, tp->rcv_nxt)) {
    // Partial packet, seq < rcv_nxt < end_seq.
    tcp_dsack_set(sk, TCP_SKB_CB(skb)->seq, tp->rcv_nxt);
    if (!tcp_receive_window(sk)) {
      reason = SkbDropReason::TCP_ZEROWINDOW;
      sk->net->mib.tcpext.TCPZeroWindowDrop++;
      goto out_of_window;
    }
    goto queue_and_out;
  }
  tcp_data_queue_ofo(sk, skb);
}

// __tcp_ack_snd_check: whether the segment just received (skb_id, for the
// checkpoint) is acked now or by the delayed-ACK timer.
void __tcp_ack_snd_check(Sock* sk, bool ofo_possible, uint64_t skb_id) {
  TcpSock* tp = tcp_sk(sk);
  // More than one full frame received and the window's right edge moves far
  // enough, or quick-ack mode, or an ACK the protocol asks for now.
  if (((tp->rcv_nxt - tp->rcv_wup) > tp->icsk_ack.rcv_mss && __tcp_select_window(sk) >= tp->rcv_wnd) ||
      tcp_in_quickack_mode(sk) || (tp->icsk_ack.pending & ICSK_ACK_NOW)) {
    checkpoint_verdict(sk->net->tracer, "tcp_ack_snd_check", skb_id, "ack_now");
    tcp_send_ack(sk);
    return;
  }
  if (!ofo_possible || tp->out_of_order_queue.empty()) {
    checkpoint_verdict(sk->net->tracer, "tcp_ack_snd_check", skb_id, "delayed_ack");
    tcp_send_delayed_ack(sk);
    return;
  }
  // SACK compression is not modelled: the ACK goes now.
  checkpoint_verdict(sk->net->tracer, "tcp_ack_snd_check", skb_id, "ack_now");
  tcp_send_ack(sk);
}

void tcp_ack_snd_check(Sock* sk, uint64_t skb_id) {
  if (!(tcp_sk(sk)->icsk_ack.pending & ICSK_ACK_SCHED)) {
    checkpoint_verdict(sk->net->tracer, "tcp_ack_snd_check", skb_id, "no_ack");
    return;
  }
  __tcp_ack_snd_check(sk, true, skb_id);
}

// tcp_sndbuf_expand: room for twice the larger of the initial and current
// cwnd (Cubic's and Reno's factor; no sndbuf_expand hook), each segment costed
// as a non-GSO skb with a power-of-two head, up to tcp_wmem[2].
void tcp_sndbuf_expand(Sock* sk) {
  const TcpSock* tp = tcp_sk(sk);
  uint32_t per_mss = std::max<uint32_t>(tp->rx_opt.mss_clamp, tp->mss_cache) + MAX_TCP_HEADER + SKB_SHINFO_OVERHEAD;
  uint32_t pow2 = 1;
  while (pow2 < per_mss) pow2 <<= 1;  // roundup_pow_of_two
  per_mss = pow2 + SKB_HEAD_OVERHEAD;  // SKB_DATA_ALIGN(sizeof(struct sk_buff))
  uint32_t nr_segs = std::max<uint32_t>(TCP_INIT_CWND, tp->snd_cwnd);
  nr_segs = std::max(nr_segs, tp->reordering + 1);
  const int64_t sndmem = 2 * int64_t(nr_segs) * per_mss;
  if (sk->sk_sndbuf < sndmem) sk->sk_sndbuf = int(std::min(sndmem, sk->net->sysctl.tcp_wmem[2]));
}

}  // namespace

// tcp_check_space: a writer waited for room (SOCK_NOSPACE): unless SO_SNDBUF
// fixed it or the cwnd is full, the send buffer grows with the cwnd first
// (tcp_new_space, tcp_should_expand_sndbuf; no memory pressure here); the
// writer wakes when the socket is writeable, and the sndbuf_limited chrono stops.
void tcp_check_space(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!sk->sk_socket || !(sk->sk_socket->flags & SOCK_NOSPACE)) return;
  if (!(sk->sk_userlocks & SOCK_SNDBUF_LOCK) && tcp_packets_in_flight(tp) < tp->snd_cwnd) {
    tcp_sndbuf_expand(sk);
    tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
  }
  sk_stream_write_space(sk);
  if (!(sk->sk_socket->flags & SOCK_NOSPACE)) tcp_chrono_stop(sk, TCP_CHRONO_SNDBUF_LIMITED);
}

namespace {

void tcp_data_snd_check(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->sk_write_queue.empty()) __tcp_push_pending_frames(sk, tcp_current_mss(sk), tp->nonagle);
  tcp_check_space(sk);  // room again for a writer that waited
}

}  // namespace

// tcp_rcvbuf_grow: DRS. The reader took newval bytes in one RTT; let the
// buffer hold twice that, more while the rate still grows (the sender's slow
// start), and the out-of-order span, up to tcp_rmem[2], unless the user fixed
// SO_RCVBUF. tcp_data_queue_ofo calls it too, with rcvq_space unchanged.
void tcp_rcvbuf_grow(Sock* sk, uint32_t newval) {
  TcpSock* tp = tcp_sk(sk);
  const Net& net = *sk->net;
  const uint32_t oldval = tp->rcvq_space.space;
  tp->rcvq_space.space = newval;
  if (!net.sysctl.tcp_moderate_rcvbuf || (sk->sk_userlocks & SOCK_RCVBUF_LOCK)) return;
  uint32_t rcvwin = newval << 1;
  const uint64_t grow = oldval ? uint64_t(rcvwin) * (newval - oldval) / oldval : 0;
  rcvwin += uint32_t(grow << 1);
  if (SkBuff* last = tp->out_of_order_queue.back()) rcvwin += TCP_SKB_CB(last)->end_seq - tp->rcv_nxt;
  const uint32_t cap = uint32_t(net.sysctl.tcp_rmem[2]);
  // tcp_space_from_win: the memory a window of rcvwin bytes costs.
  const uint64_t space = (uint64_t(rcvwin) << 8) / std::max<uint8_t>(tp->scaling_ratio, 1);
  const uint32_t rcvbuf = uint32_t(std::min<uint64_t>(space, cap));
  if (int(rcvbuf) > sk->sk_rcvbuf) {
    sk->sk_rcvbuf = int(rcvbuf);
    // The window clamp follows along.
    tp->window_clamp = uint32_t(tcp_win_from_space_ratio(tp, int(rcvbuf)));
  }
}

void tcp_rcv_space_adjust(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  trace_tcp_rcv_space_adjust(sk->net->tracer, sk);
  tcp_mstamp_refresh(sk);
  const int time = int(tp->tcp_mstamp - tp->rcvq_space.time);
  if (time < int(tp->rcv_rtt_est.rtt_us >> 3) || tp->rcv_rtt_est.rtt_us == 0) return;
  // Bytes copied to the user in the last RTT, less what still waits.
  int copied = int(tp->copied_seq - tp->rcvq_space.seq);
  const int inq = int(tp->rcv_nxt - tp->copied_seq);
  copied -= inq;
  if (copied > int(tp->rcvq_space.space)) {
    SkBuff* last = tp->out_of_order_queue.back();
    trace_tcp_rcvbuf_grow(sk->net->tracer, sk,
                          {time, tp->rcv_rtt_est.rtt_us >> 3, tp->copied_seq - tp->rcvq_space.seq, uint32_t(inq),
                           tp->rcvq_space.space, last ? TCP_SKB_CB(last)->end_seq - tp->rcv_nxt : 0,
                           uint32_t(sk->sk_rcvbuf), tp->rcv_ssthresh, tp->window_clamp, tp->rcv_wnd,
                           tp->scaling_ratio});
    tcp_rcvbuf_grow(sk, uint32_t(copied));
  }
  tp->rcvq_space.seq = tp->copied_seq;
  tp->rcvq_space.time = tp->tcp_mstamp;
}

void tcp_skb_set_owner_r(Sock* sk, SkBuff* skb) {
  skb->sk = sk;
  skb->destructor = nullptr;
  sk->sk_rmem_alloc += int(skb->truesize);
  tcp_sk(sk)->sk_forward_alloc -= int(skb->truesize);  // sk_mem_charge
}

void tcp_ofo_queue_purge(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  while (SkBuff* skb = tp->out_of_order_queue.pop_front()) {
    tcp_sock_rfree(sk, skb);
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "skb_rbtree_purge");
  }
}

void tcp_sock_rfree(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  sk->sk_rmem_alloc -= int(skb->truesize);
  tp->sk_forward_alloc += int(skb->truesize);  // sk_mem_uncharge
  sk_mem_reclaim(sk);
}
void tcp_simple_retransmit(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const unsigned mss = tcp_current_mss(sk);
  for (SkBuff* skb = tp->tcp_rtx_queue.front(); skb; skb = skb->next) {
    // tcp_skb_seglen: the GSO size of a TSO skb, else its length.
    const unsigned seglen = tcp_skb_pcount(skb) > 1 ? TCP_SKB_CB(skb)->tcp_gso_size : skb->len;
    if (seglen > mss) tcp_mark_skb_lost(sk, skb);
  }
  if (!tp->lost_out) return;
  if (tcp_is_reno(tp)) tcp_limit_reno_sacked(tp);
  // No change to cwnd: no more data is in the network, only in smaller units.
  if (tp->icsk_ca_state != TCP_CA_Loss) {
    tp->high_seq = tp->snd_nxt;
    tp->snd_ssthresh = tcp_current_ssthresh(sk);
    tp->prior_ssthresh = 0;
    tp->undo_marker = 0;
    tcp_set_ca_state(sk, TCP_CA_Loss);
  }
  tcp_xmit_retransmit_queue(sk);
}


void sk_stream_write_space(Sock* sk) {
  Socket* sock = sk->sk_socket;
  if (!sock || !__sk_stream_is_writeable(sk, 1)) return;
  sock->flags &= ~SOCK_NOSPACE;
  sk_wake_up(sk, EPOLLOUT_ | EPOLLWRNORM_ | EPOLLWRBAND_);
}

void tcp_enter_quickack_mode(Sock* sk, unsigned max_quickacks) {
  TcpSock* tp = tcp_sk(sk);
  tcp_incr_quickack(sk, max_quickacks);
  tp->icsk_ack.pingpong = 0;  // inet_csk_exit_pingpong_mode
  tp->icsk_ack.ato = TCP_ATO_MIN;
}

void tcp_reset(Sock* sk, SkBuff* skb) {
  (void)skb;
  trace_tcp_receive_reset(sk->net->tracer, sk);
  int err;
  switch (sk->sk_state) {
    case TCP_SYN_SENT: err = E_CONNREFUSED; break;
    case TCP_CLOSE_WAIT: err = E_PIPE; break;
    case TCP_CLOSE: return;
    default: err = E_CONNRESET;
  }
  tcp_write_queue_purge(sk);
  // tcp_done_with_error.
  sk->sk_err = err;
  tcp_write_queue_purge(sk);
  tcp_done(sk);
  if (!sk->sock_dead) sk_error_report(sk);
}

void tcp_fin(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  inet_csk_schedule_ack(sk);
  sk->sk_shutdown |= RCV_SHUTDOWN;
  sk->sock_done = true;
  switch (sk->sk_state) {
    case TCP_SYN_RECV:
    case TCP_ESTABLISHED:
      tcp_set_state(sk, TCP_CLOSE_WAIT);
      tp->icsk_ack.pingpong = 1;  // inet_csk_enter_pingpong_mode
      break;
    case TCP_CLOSE_WAIT:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
      break;  // a retransmitted FIN
    case TCP_FIN_WAIT1:
      // Simultaneous close: ACK the FIN, CLOSING.
      tcp_send_ack(sk);
      tcp_set_state(sk, TCP_CLOSING);
      break;
    case TCP_FIN_WAIT2:
      tcp_send_ack(sk);
      tcp_time_wait(sk, TCP_TIME_WAIT, 0);
      break;
    default:
      break;
  }
  // Out-of-order data after the FIN is dropped, and the SACK state with it
  // (tcp_sack_reset).
  tcp_ofo_queue_purge(sk);
  if (tcp_is_sack(tp)) {
    tp->rx_opt.dsack = false;
    tp->rx_opt.num_sacks = 0;
  }
  if (!sk->sock_dead) sock_def_wakeup(sk);  // sk_state_change: a reader sees the end of the stream
}

namespace {

// tcp_init_metrics with no cached metrics for the route (the twin keeps no
// tcp_metrics cache): ssthresh back to infinite (a SYN's RTO may have cut it
// in tcp_enter_loss), and without an RTT sample from the handshake (its
// SYN or SYN-ACK was retransmitted, no timestamps) the RTO falls back to 3 s.
void tcp_init_metrics(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->snd_ssthresh = TCP_INFINITE_SSTHRESH;
  if (tp->srtt_us == 0) {
    tp->rttvar_us = uint32_t(uint64_t(TCP_TIMEOUT_FALLBACK) * 1'000'000 / HZ);
    tp->mdev_us = tp->mdev_max_us = tp->rttvar_us;
    tp->icsk_rto = TCP_TIMEOUT_FALLBACK;
  }
}

}  // namespace

// tcp_init_cwnd: the route's initcwnd, else TCP_INIT_CWND, within the clamp.
uint32_t tcp_init_cwnd(const TcpSock* tp, const DstEntry* dst) {
  uint32_t cwnd = dst ? dst_metric(dst, RTAX_INITCWND) : 0;
  if (!cwnd) cwnd = TCP_INIT_CWND;
  return std::min(cwnd, tp->snd_cwnd_clamp);
}

bool tcp_in_quickack_mode(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  // `quickack 1` on the route: every segment is acked at once.
  const DstEntry* dst = sk->sk_dst_cache;
  return (dst && dst_metric(dst, RTAX_QUICKACK)) || (tp->icsk_ack.quick && !inet_csk_in_pingpong_mode(sk));
}

void tcp_init_transfer(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tcp_init_metrics(sk);
  // RFC 5681: cwnd 1 once the SYN or SYN-ACK went more than once (RFC 6298's
  // 1 s initial RTO makes a single retransmission likely spurious).
  tp->snd_cwnd = tp->total_retrans > 1 && tp->undo_marker ? 1 : tcp_init_cwnd(tp, sk->sk_dst_cache);
  tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
  if (!tp->icsk_ca_initialized) tcp_init_congestion_control(sk);
  // tcp_init_buffer_space.
  const uint32_t maxwin = uint32_t(tcp_full_space(sk));
  if (tp->window_clamp >= maxwin) tp->window_clamp = maxwin;
  // Force reservation of one segment (tcp_app_win 31).
  if (tp->window_clamp > 2u * tp->advmss && tp->window_clamp + tp->advmss > maxwin)
    tp->window_clamp = std::max(2u * tp->advmss, maxwin - tp->advmss);
  tp->rcv_ssthresh = std::min(tp->rcv_ssthresh, tp->window_clamp);
  tp->rcvq_space.space = std::min({tp->rcv_ssthresh, tp->rcv_wnd, TCP_INIT_CWND * tp->advmss});
  tp->rcvq_space.time = tp->tcp_mstamp;
  tp->rcvq_space.seq = tp->copied_seq;
  if (!(sk->sk_userlocks & SOCK_SNDBUF_LOCK)) tcp_sndbuf_expand(sk);
}

void tcp_child_established(Sock* sk, SkBuff* skb, long rtt_us) {
  TcpSock* tp = tcp_sk(sk);
  tcp_mstamp_refresh(sk);
  // TCP_SKB_CB is not filled for the handshake's ACK: its fields from the header.
  const uint8_t* th = skb->data;
  tcp_parse_options(*sk->net, tcp_hdr(skb), &tp->rx_opt, true);
  tp->delivered++;  // SYN-ACK delivery is not tracked in tcp_ack
  // tcp_ack's slow path counts the handshake's ACK when it carries no data.
  if (skb->len == unsigned(th[12] >> 4) * 4u) sk->net->mib.tcpext.TCPPureAcks++;
  if (!tp->srtt_us) tcp_ack_update_rtt(sk, FLAG_SYN_ACKED, rtt_us, rtt_us);
  tp->retrans_stamp = 0;
  tcp_init_transfer(sk);
  tp->copied_seq = tp->rcv_nxt;
  tcp_set_state(sk, TCP_ESTABLISHED);
  tp->snd_una = wire::load_be32(th + 8);
  tp->snd_wnd = uint32_t(wire::load_be16(th + 14)) << tp->rx_opt.snd_wscale;
  tp->snd_wl1 = wire::load_be32(th + 4);  // tcp_init_wl
  // No congestion control here has its own cong_control: the handshake's RTT
  // sets the pacing rate, which sizes the first TSO skbs (tcp_tso_autosize).
  tcp_update_pacing_rate(sk);
  tp->lsndtime = uint32_t(sk->net->engine.jiffies());
  tcp_initialize_rcv_mss(sk);
  tcp_fast_path_on(tp);
  // tcp_replace_ts_recent on the ACK (FLAG_UPDATE_TS_RECENT).
  if (tp->rx_opt.saw_tstamp) tcp_store_ts_recent(sk);
}

void tcp_rcv_established(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  const uint8_t* th = skb->data;
  const unsigned len = skb->len;
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  checkpoint(sk->net->tracer, "tcp_rcv_established", skb);
  const uint64_t skb_id = skb->id;  // the segment may be queued or freed before the ACK check
  trace_tcp_probe(sk->net->tracer, sk, skb, uint16_t(len - (th[12] >> 4) * 4u),
                  {tp->snd_nxt, tp->snd_una, tp->snd_cwnd, tcp_current_ssthresh(sk), tp->snd_wnd,
                   tp->srtt_us >> 3, tp->rcv_wnd});
  tcp_mstamp_refresh(sk);
  tp->rx_opt.saw_tstamp = false;
  // Header prediction: the expected flags and window, in sequence, ACKing
  // nothing unsent.
  // Since 6.17 ("tcp: do not accept packets beyond window") a segment that
  // ends past the offered window leaves the fast path, so that tcp_sequence
  // judges it (recorded: tcp_receive_window_closes drops it in
  // tcp_validate_incoming as TCP_INVALID_END_SEQUENCE).
  if ((tcp_flag_word(th) & TCP_HP_BITS) == tp->pred_flags && TCP_SKB_CB(skb)->seq == tp->rcv_nxt &&
      !after(TCP_SKB_CB(skb)->end_seq, tp->rcv_nxt + tcp_receive_window(sk)) &&
      !after(TCP_SKB_CB(skb)->ack_seq, tp->snd_nxt)) {
    const unsigned tcp_header_len = tp->tcp_header_len;
    int flag = 0;
    if (tcp_header_len == 20 + TCPOLEN_TSTAMP_ALIGNED) {
      // tcp_parse_aligned_timestamp.
      if (wire::load_be32(th + 20) != 0x0101080au) goto slow_path;
      tp->rx_opt.saw_tstamp = true;
      tp->rx_opt.rcv_tsval = wire::load_be32(th + 24);
      tp->rx_opt.rcv_tsecr = wire::load_be32(th + 28);
      // PAWS failed? Check it more carefully in the slow path.
      if (int32_t(tp->rx_opt.rcv_tsval - tp->rx_opt.ts_recent) < 0) goto slow_path;
    }
    if (len <= tcp_header_len) {
      if (len == tcp_header_len) {
        // A pure ACK: the sender's bulk path.
        if (tcp_header_len == 20 + TCPOLEN_TSTAMP_ALIGNED && tp->rcv_nxt == tp->rcv_wup) tcp_store_ts_recent(sk);
        tcp_ecn_received_counters(sk, skb, 0);
        tcp_ack(sk, skb, flag);
        __kfree_skb(skb);
        tcp_data_snd_check(sk);
        return;
      }
      reason = SkbDropReason::PKT_TOO_SMALL;
      sk->net->mib.tcp.InErrs++;
      goto discard;
    }
    {
      if (tcp_checksum_complete(skb)) goto csum_error;
      // Not enough memory forward-allocated: the slow path's tcp_data_queue
      // schedules it (past tcp_validate_incoming: it is in window).
      if (int(skb->truesize) > tp->sk_forward_alloc) goto step5;
      if (tcp_header_len == 20 + TCPOLEN_TSTAMP_ALIGNED && tp->rcv_nxt == tp->rcv_wup) tcp_store_ts_recent(sk);
      tcp_rcv_rtt_measure_ts(sk, skb);
      sk->net->mib.tcpext.TCPHPHits++;
      // The receiver's bulk path.
      skb_pull(skb, tcp_header_len);
      tcp_ecn_received_counters(sk, skb, len - tcp_header_len);
      const bool eaten = tcp_queue_rcv(sk, skb);
      tcp_event_data_recv(sk, skb);
      if (TCP_SKB_CB(skb)->ack_seq != tp->snd_una) {
        tcp_ack(sk, skb, flag | FLAG_DATA);
        tcp_data_snd_check(sk);
        if (!(tp->icsk_ack.pending & ICSK_ACK_SCHED)) goto no_ack;
      } else {
        tcp_update_wl(tp, TCP_SKB_CB(skb)->seq);
      }
      __tcp_ack_snd_check(sk, false, skb_id);
    no_ack:
      if (eaten) __kfree_skb(skb);  // kfree_skb_partial
      tcp_data_ready(sk);
      return;
    }
  }
slow_path:
  if (len < (th[12] >> 4) * 4u || tcp_checksum_complete(skb)) goto csum_error;
  if (!(th[13] & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN))) {
    reason = SkbDropReason::TCP_FLAGS;
    goto discard;
  }
  if (!tcp_validate_incoming(sk, skb, true)) return;
step5:
  tcp_ecn_received_counters(sk, skb, len - (th[12] >> 4) * 4u);
  {
    const int r = tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT);
    if (r < 0) {
      reason = SkbDropReason(-r);
      goto discard;
    }
  }
  tcp_rcv_rtt_measure_ts(sk, skb);
  tcp_urg(sk, skb, th);
  tcp_data_queue(sk, skb);
  tcp_data_snd_check(sk);
  tcp_ack_snd_check(sk, skb_id);
  return;
csum_error:
  reason = SkbDropReason::TCP_CSUM;
  trace_tcp_bad_csum(sk->net->tracer, skb);
  sk->net->mib.tcp.InCsumErrors++;
  sk->net->mib.tcp.InErrs++;
discard:
  // Linux's tcp_drop_reason here is tcp_rcv_established's last call, compiled as a
  // tail call: kfree_skb's location is its caller, tcp_v4_do_rcv.
  tcp_drop_reason(sk, skb, reason, "tcp_v4_do_rcv");
}

SkbDropReason tcp_rcv_state_process(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  const uint8_t* th = skb->data;
  const uint8_t flags = th[13];
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  bool queued = false;
  checkpoint(sk->net->tracer, "tcp_rcv_state_process", skb);
  const uint64_t skb_id = skb->id;  // the segment may be queued or freed before the ACK check
  tcp_mstamp_refresh(sk);
  tp->rx_opt.saw_tstamp = false;
  if (!(flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN))) {
    reason = SkbDropReason::TCP_FLAGS;
    goto discard;
  }
  if (!tcp_validate_incoming(sk, skb, false)) return SkbDropReason::NOT_DROPPED_YET;
  {
    // Step 5: check the ACK field.
    const int r = tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT | FLAG_NO_CHALLENGE_ACK);
    if (r < 0) {
      // An old ACK during closing is accepted; anything else is challenged.
      tcp_send_challenge_ack(sk, skb);
      reason = SkbDropReason(-r);
      goto discard;
    }
  }
  switch (sk->sk_state) {
    // Crossed SYNs (a simultaneous open) are established by the ACK of our SYN.
    case TCP_SYN_RECV:
      tcp_rcv_synrecv_state(sk, skb);
      break;
    case TCP_FIN_WAIT1: {
      if (tp->snd_una != tp->write_seq) break;
      tcp_set_state(sk, TCP_FIN_WAIT2);
      sk->sk_shutdown |= SEND_SHUTDOWN;
      sk_dst_confirm(sk);
      if (!sk->sock_dead) {
        sock_def_wakeup(sk);  // sk_state_change: a lingering close() wakes
        break;
      }
      // Both aborts return their reason: tcp_v4_do_rcv answers the segment with a reset.
      if (tp->linger2 < 0) {
        tcp_done(sk);
        sk->net->mib.tcpext.TCPAbortOnData++;
        return SkbDropReason::TCP_ABORT_ON_DATA;
      }
      if (TCP_SKB_CB(skb)->end_seq != TCP_SKB_CB(skb)->seq &&
          after(TCP_SKB_CB(skb)->end_seq - (flags & TCPHDR_FIN ? 1 : 0), tp->rcv_nxt)) {
        // Out-of-order FIN (or data) after close().
        tcp_done(sk);
        sk->net->mib.tcpext.TCPAbortOnData++;
        return SkbDropReason::TCP_ABORT_ON_DATA;
      }
      const int tmo = tcp_fin_time(sk);
      if (tmo > int(TCP_TIMEWAIT_LEN)) {
        inet_csk_reset_keepalive_timer(sk, uint32_t(tmo) - TCP_TIMEWAIT_LEN);
        break;
      }
      if (flags & TCPHDR_FIN) {
        // Keep the socket for the FIN this segment carries (its keepalive
        // timer, which the FIN's processing supersedes at once).
        inet_csk_reset_keepalive_timer(sk, uint32_t(tmo));
        break;
      }
      tcp_time_wait(sk, TCP_FIN_WAIT2, tmo);
      __kfree_skb(skb);
      return SkbDropReason::NOT_DROPPED_YET;
    }
    case TCP_CLOSING:
      if (tp->snd_una == tp->write_seq) {
        tcp_time_wait(sk, TCP_TIME_WAIT, 0);
        __kfree_skb(skb);
        return SkbDropReason::NOT_DROPPED_YET;
      }
      break;
    case TCP_LAST_ACK:
      if (tp->snd_una == tp->write_seq) {
        tcp_done(sk);
        __kfree_skb(skb);
        return SkbDropReason::NOT_DROPPED_YET;
      }
      break;
    default:
      break;
  }
  // Step 6: the URG bit.
  tcp_urg(sk, skb, skb->data);
  // Step 7: process the segment text.
  switch (sk->sk_state) {
    case TCP_CLOSE_WAIT:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
      if (!before(TCP_SKB_CB(skb)->seq, tp->rcv_nxt)) break;
      [[fallthrough]];
    case TCP_FIN_WAIT1:
    case TCP_FIN_WAIT2:
      // RFC 1122: data after our side was shut for reading is answered with a reset.
      if (sk->sk_shutdown & RCV_SHUTDOWN) {
        if (TCP_SKB_CB(skb)->end_seq != TCP_SKB_CB(skb)->seq &&
            after(TCP_SKB_CB(skb)->end_seq - (flags & TCPHDR_FIN ? 1 : 0), tp->rcv_nxt)) {
          sk->net->mib.tcpext.TCPAbortOnData++;
          tcp_reset(sk, skb);
          return SkbDropReason::TCP_ABORT_ON_DATA;
        }
      }
      [[fallthrough]];
    case TCP_ESTABLISHED:
      tcp_data_queue(sk, skb);
      queued = true;
      break;
    default:
      break;
  }
  if (sk->sk_state != TCP_CLOSE) {
    tcp_data_snd_check(sk);
    tcp_ack_snd_check(sk, skb_id);
  }
  if (queued) return SkbDropReason::NOT_DROPPED_YET;
discard:
  tcp_drop_reason(sk, skb, reason, "tcp_rcv_state_process");
  return SkbDropReason::NOT_DROPPED_YET;
}

// tcp_rcv_synsent_state_process acks its SYN with tcp_ack(sk, skb, FLAG_SLOWPATH).
int tcp_ack_synsent(Sock* sk, const SkBuff* skb) { return tcp_ack(sk, skb, FLAG_SLOWPATH); }

namespace {

// tcp_finish_connect: ESTABLISHED, the input route kept, and what
// tcp_init_transfer starts the transfer with (initial cwnd, buffer space).
void tcp_finish_connect(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tcp_set_state(sk, TCP_ESTABLISHED);
  tp->icsk_ack.lrcvtime = uint32_t(sk->net->engine.jiffies());
  sk->sk_rx_dst = skb->dst;  // inet_sk_rx_dst_set: early demux spares later lookups
  tcp_init_transfer(sk);
  tp->lsndtime = uint32_t(sk->net->engine.jiffies());
  // Header prediction from the SYN-ACK's (unscaled) window only without
  // window scaling; else off until tcp_ack_update_window sees the first
  // scaled window.
  if (!tp->rx_opt.snd_wscale)
    tcp_fast_path_on(tp);
  else
    tp->pred_flags = 0;
  if (!sk->sock_dead) sock_def_wakeup(sk);  // sk_state_change: the connect is done
}

}  // namespace

// Linux's tcp_rcv_synsent_state_process is static with one caller, inlined into
// tcp_rcv_state_process: its drops carry that function's name as location.
constexpr const char* kSynSentDropLocation = "tcp_rcv_state_process";

SkbDropReason tcp_rcv_synsent_state_process(Sock* sk, SkBuff* skb) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  const uint8_t* th = skb->data;
  const uint8_t flags = th[13];
  const uint32_t seq = wire::load_be32(th + 4), ack_seq = wire::load_be32(th + 8);
  tp->rx_opt.saw_tstamp = false;
  tcp_mstamp_refresh(sk);
  const uint16_t saved_clamp = tp->rx_opt.mss_clamp;
  const TcpOptionsReceived saved = tp->rx_opt;
  // rcv_tsecr stays as sent (as everywhere here: its users take tsoffset off);
  // taking it off now too made a retransmitted SYN's TSecr RTT sample and
  // tcp_packet_delayed wrong (tcp_ecn_syn_retransmit: a spurious TCPLossUndo).
  tcp_parse_options(net, skb->data, &tp->rx_opt, false);
  // discard_and_undo / reset_and_undo: the options seen are forgotten.
  auto undo = [&] {
    tp->rx_opt = saved;  // tcp_clear_options
    tp->rx_opt.saw_tstamp = false;
    tp->rx_opt.mss_clamp = saved_clamp;
  };

  if (flags & TCPHDR_ACK) {
    // rfc793: an ACK outside (snd_una, snd_nxt] is answered with a reset;
    // the SYN goes again soon in case a previous RST was lost.
    if (!after(ack_seq, tp->snd_una) || after(ack_seq, tp->snd_nxt)) {
      if (tp->icsk_retransmits == 0) inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, TCP_TIMEOUT_MIN, TCP_RTO_MAX);
      undo();
      return SkbDropReason::TCP_INVALID_ACK_SEQUENCE;
    }
    if (tp->rx_opt.saw_tstamp && tp->rx_opt.rcv_tsecr &&
        !between(tp->rx_opt.rcv_tsecr - tp->tsoffset, tp->retrans_stamp, tcp_time_stamp_ms(sk))) {
      net.mib.tcpext.PAWSActiveRejected++;
      undo();
      return SkbDropReason::TCP_RFC7323_PAWS;
    }
    // The ACK is acceptable: a RST refuses the connection.
    if (flags & TCPHDR_RST) {
      tcp_reset(sk, skb);
      __kfree_skb(skb);
      return SkbDropReason::NOT_DROPPED_YET;
    }
    if (!(flags & TCPHDR_SYN)) {
      undo();
      sk_skb_reason_drop(sk, skb, SkbDropReason::TCP_FLAGS, kSynSentDropLocation);
      return SkbDropReason::NOT_DROPPED_YET;
    }
    // Our SYN is acked: the SYN-ACK.
    if (tcp_ecn_mode_any(tp)) tcp_ecn_rcv_synack(tp, flags);
    tp->snd_wl1 = seq;  // tcp_init_wl
    tcp_ack_synsent(sk, skb);
    tp->rcv_nxt = seq + 1;
    tp->rcv_wup = seq + 1;
    tp->snd_wnd = wire::load_be16(th + 14);  // a SYN's window is never scaled
    if (!tp->rx_opt.wscale_ok) {
      tp->rx_opt.snd_wscale = tp->rx_opt.rcv_wscale = 0;
      tp->window_clamp = std::min(tp->window_clamp, 65535u);
    }
    if (tp->rx_opt.saw_tstamp) {
      tp->rx_opt.tstamp_ok = true;
      tp->tcp_header_len = uint16_t(20 + TCPOLEN_TSTAMP_ALIGNED);
      tp->advmss -= TCPOLEN_TSTAMP_ALIGNED;
      // tcp_store_ts_recent
      tp->rx_opt.ts_recent = tp->rx_opt.rcv_tsval;
      tp->rx_opt.ts_recent_stamp = uint32_t(tcp_ktime_get_seconds(net.engine));
    } else {
      tp->tcp_header_len = 20;
    }
    tcp_sync_mss(sk, tp->icsk_pmtu_cookie);
    tcp_initialize_rcv_mss(sk);
    tp->copied_seq = tp->rcv_nxt;
    tcp_finish_connect(sk, skb);
    if (tp->rskq_defer_accept || inet_csk_in_pingpong_mode(sk)) {
      // Save one ACK: data will follow soon (TCP_QUICKACK 0 or
      // TCP_DEFER_ACCEPT before connect); the delayed-ACK timer sends it
      // otherwise (sk_write_pending, a writer blocked in connect, has no
      // twin: connect_bg does not write).
      inet_csk_schedule_ack(sk);
      tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS);
      inet_csk_reset_xmit_timer(sk, ICSK_TIME_DACK, TCP_DELACK_MAX, TCP_RTO_MAX);
    } else {
      tcp_send_ack(sk);
    }
    // "Do step6 onward by hand": the SYN-ACK carries nothing more to queue.
    __kfree_skb(skb);
    return SkbDropReason::NOT_DROPPED_YET;
  }

  // No ACK: a RST is dropped.
  if (flags & TCPHDR_RST) {
    undo();
    sk_skb_reason_drop(sk, skb, SkbDropReason::TCP_RESET, kSynSentDropLocation);
    return SkbDropReason::NOT_DROPPED_YET;
  }
  // A SYN alone: crossed SYNs, a simultaneous open (or a connect to self).
  if (flags & TCPHDR_SYN) {
    tcp_set_state(sk, TCP_SYN_RECV);
    if (tp->rx_opt.saw_tstamp) {
      tp->rx_opt.tstamp_ok = true;
      tp->rx_opt.ts_recent = tp->rx_opt.rcv_tsval;  // tcp_store_ts_recent
      tp->rx_opt.ts_recent_stamp = uint32_t(tcp_ktime_get_seconds(net.engine));
      tp->tcp_header_len = uint16_t(20 + TCPOLEN_TSTAMP_ALIGNED);
    } else {
      tp->tcp_header_len = 20;
    }
    tp->rcv_nxt = seq + 1;
    tp->copied_seq = tp->rcv_nxt;
    tp->rcv_wup = seq + 1;
    tp->snd_wnd = wire::load_be16(th + 14);  // a SYN's window is never scaled
    tp->snd_wl1 = seq;
    tp->max_window = tp->snd_wnd;
    tcp_sync_mss(sk, tp->icsk_pmtu_cookie);
    tcp_initialize_rcv_mss(sk);
    tcp_send_synack(sk);
    __kfree_skb(skb);  // consume
    return SkbDropReason::NOT_DROPPED_YET;
  }
  // Neither SYN nor RST: dropped.
  undo();
  sk_skb_reason_drop(sk, skb, SkbDropReason::NOT_SPECIFIED, kSynSentDropLocation);
  return SkbDropReason::NOT_DROPPED_YET;
}

void tcp_rcv_synrecv_state(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tp->delivered++;  // SYN-ACK delivery is not tracked in tcp_ack
  tp->retrans_stamp = 0;
  tcp_init_transfer(sk);
  tp->copied_seq = tp->rcv_nxt;
  tcp_set_state(sk, TCP_ESTABLISHED);
  tp->snd_una = TCP_SKB_CB(skb)->ack_seq;
  tp->snd_wnd = uint32_t(wire::load_be16(skb->data + 14)) << tp->rx_opt.snd_wscale;
  tp->snd_wl1 = TCP_SKB_CB(skb)->seq;  // tcp_init_wl
  if (tp->rx_opt.tstamp_ok) tp->advmss = uint16_t(tp->advmss - TCPOLEN_TSTAMP_ALIGNED);
  tcp_update_pacing_rate(sk);
  tp->lsndtime = uint32_t(sk->net->engine.jiffies());
  tcp_initialize_rcv_mss(sk);
}

}  // namespace nettwin
