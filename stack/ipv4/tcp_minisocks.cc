// net/ipv4/tcp_minisocks.c: tcp_check_req and tcp_create_openreq_child; with
// tcp_v4_syn_recv_sock (tcp_ipv4.c) the ACK that completes a handshake
// becomes a child socket on the listener's accept queue. And the TIME_WAIT
// side: tcp_time_wait turns a closing socket into a tw sock,
// tcp_timewait_state_process answers what reaches it.
#include <algorithm>

#include "core/jiffies.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ipv4.h"
#include "ipv4/inet_timewait_sock.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_ecn.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_ipv4.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_timer.h"
#include "ipv4/tcp_sock.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr uint8_t TCPHDR_FIN = 0x01, TCPHDR_SYN = 0x02, TCPHDR_RST = 0x04, TCPHDR_ACK = 0x10;

bool before(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
bool after(uint32_t a, uint32_t b) { return before(b, a); }

// TCP_SKB_CB(skb)->end_seq: seq + SYN + FIN + the payload.
uint32_t tcp_end_seq(const SkBuff* skb) {
  const uint8_t* th = skb->data;
  return wire::load_be32(th + 4) + !!(th[13] & TCPHDR_SYN) + !!(th[13] & TCPHDR_FIN) + skb->len - (th[12] >> 4) * 4u;
}

bool tcp_in_window(uint32_t seq, uint32_t end_seq, uint32_t s_win, uint32_t e_win) {
  if (seq == s_win) return true;
  if (after(end_seq, s_win) && before(seq, e_win)) return true;
  return seq == e_win && seq == end_seq;
}

// tcp_paws_reject (tcp_paws_check with a window of 0): the segment's TSval is
// older than ts_recent, which is not too old to trust; a RST gets an MSL of
// slack.
constexpr int64_t TCP_PAWS_MSL = 60;
bool tcp_paws_reject(const TcpOptionsReceived& rx_opt, bool rst, int64_t now_s) {
  if (int32_t(rx_opt.ts_recent - rx_opt.rcv_tsval) <= 0) return false;
  if (!rx_opt.ts_recent) return false;
  if (rst && !(now_s < int64_t(rx_opt.ts_recent_stamp) + TCP_PAWS_MSL)) return false;
  return true;
}

// tcp_create_openreq_child (inet_csk_clone_lock): the child starts in
// SYN_RECV with the request's addresses, sequence numbers and options, shares
// the listener's port (__inet_inherit_port), and counts a passive open.
std::unique_ptr<Sock> tcp_create_openreq_child(Net& net, Sock* sk, const RequestSock* req, const SkBuff* skb) {
  auto owned = std::make_unique<TcpSock>();
  TcpSock* child = owned.get();
  child->net = &net;
  child->sk_prot = sk->sk_prot;
  child->sk_family = sk->sk_family;
  child->sk_type = sk->sk_type;
  child->sk_protocol = sk->sk_protocol;
  child->sk_rcvbuf = sk->sk_rcvbuf;
  child->sk_sndbuf = sk->sk_sndbuf;
  child->sk_userlocks = sk->sk_userlocks;
  child->sk_reuse = sk->sk_reuse;
  child->sk_reuseport = sk->sk_reuseport;
  child->pmtudisc = sk->pmtudisc;
  child->tos = sk->tos;
  child->uc_ttl = sk->uc_ttl;
  child->sk_bound_dev_if = sk->sk_bound_dev_if;
  // Heard from the peer now (keepalive counts idle time from these).
  child->rcv_tstamp = child->icsk_ack.lrcvtime = uint32_t(net.engine.jiffies());
  tcp_clone_sockopts(child, sk);
  child->sk_state = TCP_LISTEN;  // sk_clone_lock copies the listener
  child->inet_daddr = req->ir_rmt_addr;
  child->inet_rcv_saddr = child->inet_saddr = req->ir_loc_addr;
  child->inet_dport = req->ir_rmt_port;
  child->inet_sport = req->ir_num;
  // inet_csk_clone_lock: inet_sk_set_state(newsk, TCP_SYN_RECV), traced with the
  // request's 4-tuple the clone already holds (the recordings show LISTEN -> SYN_RECV).
  tcp_set_state_store(child, TCP_SYN_RECV);
  auto& owners = net.sock.tcp_bhash[req->ir_num];
  owners.insert(owners.begin(), child);
  child->inet_num = req->ir_num;

  child->rcv_wup = child->copied_seq = child->rcv_nxt = req->rcv_isn + 1;
  child->segs_in = 1;  // the SYN
  child->snd_sml = child->snd_una = child->snd_nxt = child->snd_up = req->snt_isn + 1;
  child->write_seq = child->pushed_seq = req->snt_isn + 1;
  child->snd_wl1 = req->rcv_isn;
  tcp_ecn_openreq_child(child, req->ecn_ok);
  child->rx_opt.tstamp_ok = req->tstamp_ok;
  child->rx_opt.sack_ok = req->sack_ok;
  child->rx_opt.wscale_ok = req->wscale_ok;
  child->rx_opt.snd_wscale = req->wscale_ok ? req->snd_wscale : 0;
  child->rx_opt.rcv_wscale = req->wscale_ok ? req->rcv_wscale : 0;
  child->rx_opt.mss_clamp = req->mss;
  child->rx_opt.ts_recent = req->ts_recent;
  // ts_recent was taken now (ktime_get_seconds); without timestamps, never.
  child->rx_opt.ts_recent_stamp = req->tstamp_ok ? uint32_t(tcp_ktime_get_seconds(net.engine)) : 0;
  child->tsoffset = req->ts_off;
  child->rcv_wnd = req->rsk_rcv_wnd;
  child->window_clamp = req->rsk_window_clamp;
  // The window of the ACK is scaled by what the peer said in its SYN.
  child->snd_wnd = uint32_t(wire::load_be16(skb->data + 14)) << child->rx_opt.snd_wscale;
  child->max_window = child->snd_wnd;
  // The rest of tcp_create_openreq_child and tcp_v4_syn_recv_sock: timers,
  // RTO and cwnd defaults, header length, MSS, IP ID, the input route.
  tcp_init_xmit_timers(child);
  child->icsk_rto = TCP_TIMEOUT_INIT;
  child->icsk_rto_min = TCP_RTO_MIN;
  child->icsk_delack_max = TCP_DELACK_MAX;
  child->mdev_us = TCP_TIMEOUT_INIT * 1'000'000 / HZ;
  child->snd_cwnd = TCP_INIT_CWND;
  child->snd_ssthresh = 0x7fffffff;  // TCP_INFINITE_SSTHRESH
  child->snd_cwnd_clamp = ~0u;
  child->rcv_ssthresh = req->rsk_rcv_wnd;
  child->nonagle = tcp_sk(sk)->nonagle;
  child->total_retrans = req->num_retrans;
  child->tcp_header_len = uint16_t(20 + (req->tstamp_ok ? 12 : 0));
  child->icsk_ack.lrcvtime = uint32_t(net.engine.jiffies());
  child->inet_id = uint16_t(net.rng.next());
  child->rtt_min_us = ~0u;  // no sample yet
  child->reordering = tcp_sk(sk)->reordering;
  child->app_limited = tcp_sk(sk)->app_limited;  // sk_clone_lock copies the listener's
  child->rate_app_limited = tcp_sk(sk)->rate_app_limited;
  child->rcv_tstamp = uint32_t(net.engine.jiffies());
  child->sk_rx_dst = skb->dst;  // inet_sk_rx_dst_set
  net.mib.tcp.PassiveOpens++;
  return owned;
}

// tcp_oow_rate_limited: one answer per tcp_invalid_ratelimit (500 ms) to
// out-of-window segments (*skipped counts the others); a segment carrying
// data without a SYN is never part of an ACK loop and always gets one.
bool tcp_oow_rate_limited(Net& net, const SkBuff* skb, uint64_t* skipped, uint32_t* last_oow_ack_time) {
  const uint8_t* th = skb->data;
  if (tcp_end_seq(skb) != wire::load_be32(th + 4) && !(th[13] & TCPHDR_SYN)) return false;
  const uint32_t now = uint32_t(net.engine.jiffies());
  if (*last_oow_ack_time) {
    const int32_t elapsed = int32_t(now - *last_oow_ack_time);
    if (elapsed >= 0 && uint64_t(elapsed) < msecs_to_jiffies(500)) {
      (*skipped)++;
      return true;
    }
  }
  *last_oow_ack_time = now;
  return false;
}

// tcp_v4_reqsk_send_ack: a request's answer to an out-of-window segment.
void tcp_v4_reqsk_send_ack(Net& net, const Sock* sk, const SkBuff* skb, const RequestSock* req) {
  const uint32_t tsval = tcp_ns_to_ts(sk, net.engine.now()) + req->ts_off;
  tcp_v4_send_ack(net, sk, skb, req->snt_isn + 1, req->rcv_isn + 1,
                  std::min<uint32_t>(req->rsk_rcv_wnd, 65535) >> req->rcv_wscale, tsval, req->ts_recent, 0,
                  skb_network_header(skb)[1]);
}

}  // namespace

Sock* tcp_v4_syn_recv_sock(Net& net, Sock* sk, SkBuff* skb, RequestSock* req, DstEntry* dst) {
  // A full accept queue refuses the child (exit_overflow).
  if (sk->sk_ack_backlog > sk->sk_max_ack_backlog) {
    net.mib.tcpext.ListenOverflows++;
    tcp_listendrop(net);
    return nullptr;
  }
  std::unique_ptr<Sock> owned = tcp_create_openreq_child(net, sk, req, skb);
  Sock* child = owned.get();
  // inet_csk_route_child_sock: without the SYN-ACK's route (a cookie's ACK
  // brings one) the child looks it up again; with none, Linux drops the ACK.
  DstEntry* rt = dst ? dst : inet_csk_route_req(net, sk, req);
  if (!rt) {
    inet_put_port(child);
    tcp_listendrop(net);
    return nullptr;
  }
  child->sk_dst_cache = rt;  // sk_setup_caps
  tcp_ca_openreq_child(child, rt);
  {
    TcpSock* ctp = tcp_sk(child);
    ctp->advmss = tcp_mss_clamp(ctp, dst_metric_advmss(rt));
    // The timestamp option is taken off the MSS we advertise before the
    // buffers are sized (the recordings' rcv_space is 10 * 1448).
    if (ctp->rx_opt.tstamp_ok) ctp->advmss = uint16_t(ctp->advmss - 12);
    tcp_sync_mss(child, ipv4_mtu(rt));  // dst_mtu
  }
  net.sock.tcp_ehash.add_tail(child);  // inet_ehash_nolisten
  // inet_csk_reqsk_queue_add: the child waits for accept().
  tcp_sk(sk)->icsk_accept_queue.push_back(std::move(owned));
  sk->sk_ack_backlog++;
  child->sk_socket = nullptr;
  sock_def_readable(sk);  // tcp_child_process: the listener's sk_data_ready
  // tcp_child_process -> tcp_rcv_state_process in SYN_RECV: the ACK is
  // acceptable, the child is established (tcp_synack_rtt_meas: the SYN-ACK's
  // RTT, unless it was sent again or was a cookie's).
  const long rtt_us = req->num_retrans || !req->snt_synack ? -1 : long(net.engine.now() / 1000 - req->snt_synack);
  tcp_child_established(child, skb, rtt_us);
  return child;
}

void tcp_child_process(Net& net, Sock* child, SkBuff* skb) {
  // tcp_rcv_state_process in SYN_RECV: the child is established (by
  // tcp_v4_syn_recv_sock); a pure ACK carries nothing to queue, and
  // tcp_data_queue frees it without a trace (__kfree_skb).
  checkpoint(net.tracer, "tcp_child_process", skb);
  const uint8_t* th = skb->data;
  TcpSock* tp = tcp_sk(child);
  tp->segs_in++;  // tcp_segs_in: the handshake's ACK counts on the child
  if (skb->len > (th[12] >> 4) * 4u) tp->data_segs_in++;
  if (skb->len > (th[12] >> 4) * 4u || (th[13] & TCPHDR_FIN)) {
    // Data (or a FIN) riding on the handshake's ACK is the new connection's first segment.
    tcp_v4_fill_cb(skb);
    tcp_rcv_established(child, skb);
    return;
  }
  __kfree_skb(skb);
}

Sock* tcp_check_req(Net& net, Sock* sk, SkBuff* skb, RequestSock* req, SkbDropReason* reason) {
  const uint8_t* th = skb->data;
  uint8_t flg = th[13] & (TCPHDR_SYN | TCPHDR_RST | TCPHDR_ACK);
  const uint32_t seq = wire::load_be32(th + 4);
  const uint32_t end_seq = tcp_end_seq(skb);
  const uint32_t ack_seq = wire::load_be32(th + 8);
  const uint32_t rcv_nxt = req->rcv_isn + 1;
  TcpOptionsReceived tmp_opt;
  bool paws_reject = false;
  if ((th[12] >> 4) > 5) {
    tcp_parse_options(net, skb->data, &tmp_opt, false);
    if (tmp_opt.saw_tstamp) {
      tmp_opt.ts_recent = req->ts_recent;
      // The stamp is estimated from the request's timeout, as Linux does.
      tmp_opt.ts_recent_stamp =
          uint32_t(tcp_ktime_get_seconds(net.engine) - int64_t(tcp_reqsk_timeout(req) / HZ));
      paws_reject = tcp_paws_reject(tmp_opt, th[13] & TCPHDR_RST, tcp_ktime_get_seconds(net.engine));
    }
  }
  // The SYN again (our SYN-ACK was lost): the SYN-ACK again (tcp_rtx_synack)
  // and the timer restarted, at most once per rate-limit period; the SYN is dropped.
  if (seq == req->rcv_isn && flg == TCPHDR_SYN && !paws_reject) {
    if (!tcp_oow_rate_limited(net, skb, &net.mib.tcpext.TCPACKSkippedSynRecv, &req->last_oow_ack_time) &&
        tcp_rtx_synack(net, sk, req) == 0)
      reqsk_timer_mod_pending(req, net.engine.jiffies() + tcp_reqsk_timeout(req));
    *reason = SkbDropReason::NOT_SPECIFIED;
    return nullptr;
  }
  // An ACK of something we never sent: the listener answers it with a reset.
  if ((flg & TCPHDR_ACK) && ack_seq != req->snt_isn + 1) return sk;
  // RFC 793 "first check sequence number": out of window, an ACK (rate
  // limited) and the segment dropped.
  if (paws_reject || !tcp_in_window(seq, end_seq, rcv_nxt, rcv_nxt + std::min<uint32_t>(req->rsk_rcv_wnd, 65535))) {
    if (!(flg & TCPHDR_RST) &&
        !tcp_oow_rate_limited(net, skb, &net.mib.tcpext.TCPACKSkippedSynRecv, &req->last_oow_ack_time))
      tcp_v4_reqsk_send_ack(net, sk, skb, req);
    *reason = paws_reject ? SkbDropReason::TCP_RFC7323_PAWS : SkbDropReason::TCP_OVERWINDOW;
    return nullptr;
  }
  // RFC 5961 3.2: a RST in the window but not at rcv_nxt draws a challenge
  // ACK (rate limited as above; counted as one, TCPChallengeACK) and the
  // request stays.
  if ((flg & TCPHDR_RST) && seq != rcv_nxt) {
    if (!tcp_oow_rate_limited(net, skb, &net.mib.tcpext.TCPACKSkippedSynRecv, &req->last_oow_ack_time)) {
      net.mib.tcpext.TCPChallengeACK++;
      tcp_v4_reqsk_send_ack(net, sk, skb, req);
    }
    *reason = SkbDropReason::NOT_SPECIFIED;
    return nullptr;
  }
  // ts_recent changes only once the request is owned: on the child, below
  // (a deferred or overflowing ACK leaves the request's alone).
  // A SYN at rcv_isn is out of the window that starts at rcv_isn + 1.
  if (seq == req->rcv_isn) flg &= uint8_t(~TCPHDR_SYN);
  // "second check the RST bit", "fourth, check the SYN bit": the request
  // dies (embryonic_reset); a SYN is answered with a reset first.
  if (flg & (TCPHDR_RST | TCPHDR_SYN)) {
    net.mib.tcp.AttemptFails++;
    if (!(flg & TCPHDR_RST)) tcp_v4_send_reset(net, skb, "TCP_INVALID_SYN", sk);
    if (inet_csk_reqsk_queue_drop(sk, req)) net.mib.tcpext.EmbryonicRsts++;
    *reason = SkbDropReason::NOT_SPECIFIED;
    return nullptr;
  }
  // No ACK: dropped silently.
  if (!(flg & TCPHDR_ACK)) {
    *reason = SkbDropReason::NOT_SPECIFIED;
    return nullptr;
  }
  // TCP_DEFER_ACCEPT: while the deferring lasts a bare ACK is dropped; the
  // request remembers that it came (acked), so its timer stops resending.
  if (req->num_timeout < tcp_sk(sk)->rskq_defer_accept && end_seq == req->rcv_isn + 1) {
    req->acked = true;
    net.mib.tcpext.TCPDeferAcceptDrop++;
    *reason = SkbDropReason::NOT_SPECIFIED;
    return nullptr;
  }
  Sock* child = tcp_v4_syn_recv_sock(net, sk, skb, req, nullptr);
  if (!child) {
    // listen_overflow (tcp_abort_on_overflow 0): the request stays, acked.
    req->acked = true;
    *reason = SkbDropReason::TCP_LISTEN_OVERFLOW;
    return nullptr;
  }
  if (tmp_opt.saw_tstamp && !after(seq, rcv_nxt)) tcp_sk(child)->rx_opt.ts_recent = tmp_opt.rcv_tsval;
  // inet_csk_complete_hashdance: the request leaves.
  inet_csk_reqsk_queue_drop(sk, req);
  return child;
}

void tcp_time_wait(Sock* sk, int state, int timeo) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  if (InetTimewaitSock* tw = inet_twsk_alloc(sk, net.tcp_death_row, state)) {
    // Less than 3.5 RTO is never waited.
    const int rto = int((tp->icsk_rto << 2) - (tp->icsk_rto >> 1));
    tw->tw_rcv_wscale = tp->rx_opt.rcv_wscale;
    tw->tw_rcv_nxt = tp->rcv_nxt;
    tw->tw_snd_nxt = tp->snd_nxt;
    // tcp_receive_window: what is left of the window we offered.
    const int32_t win = int32_t(tp->rcv_wup + tp->rcv_wnd - tp->rcv_nxt);
    tw->tw_rcv_wnd = win < 0 ? 0 : uint32_t(win);
    tw->tw_ts_recent = tp->rx_opt.ts_recent;
    tw->tw_ts_recent_stamp = tp->rx_opt.ts_recent_stamp;
    tw->tw_ts_offset = tp->tsoffset;
    tw->tw_last_oow_ack_time = 0;
    tw->tw_entry_stamp = tcp_ns_to_ts(sk, net.engine.now());  // tcp_time_stamp_ms
    if (timeo < rto) timeo = rto;
    if (state == TCP_TIME_WAIT) timeo = int(TCP_TIMEWAIT_LEN);
    inet_twsk_hashdance_schedule(tw, sk, timeo);
  } else {
    net.mib.tcpext.TCPTimeWaitOverflow++;
  }
  tcp_done(sk);
}

TcpTwStatus tcp_timewait_state_process(InetTimewaitSock* tw, SkBuff* skb, uint32_t* tw_isn,
                                       SkbDropReason* drop_reason) {
  Net& net = *tw->net;
  const uint8_t* th = skb->data;
  const uint8_t flags = th[13];
  const bool rst = flags & TCPHDR_RST, syn = flags & TCPHDR_SYN, ack = flags & TCPHDR_ACK,
             fin = flags & TCPHDR_FIN;
  const uint32_t seq = wire::load_be32(th + 4);
  const uint32_t end_seq = tcp_end_seq(skb);
  const uint32_t rcv_nxt = tw->tw_rcv_nxt;
  const int64_t now_s = tcp_ktime_get_seconds(net.engine);
  TcpOptionsReceived tmp_opt;
  bool paws_reject = false;
  if ((th[12] >> 4) > 5 && tw->tw_ts_recent_stamp) {
    tcp_parse_options(net, skb->data, &tmp_opt, false);
    if (tmp_opt.saw_tstamp) {
      if (tmp_opt.rcv_tsecr) tmp_opt.rcv_tsecr -= tw->tw_ts_offset;
      tmp_opt.ts_recent = tw->tw_ts_recent;
      tmp_opt.ts_recent_stamp = uint32_t(tw->tw_ts_recent_stamp);
      paws_reject = tcp_paws_reject(tmp_opt, rst, now_s);
    }
  }
  auto oow_rate_limit = [&](uint64_t* skipped) {
    if (!tcp_oow_rate_limited(net, skb, skipped, &tw->tw_last_oow_ack_time)) return TcpTwStatus::TCP_TW_ACK_OOW;
    return TcpTwStatus::TCP_TW_SUCCESS;
  };

  if (tw->tw_substate == TCP_FIN_WAIT2) {
    // Just repeat all the checks of tcp_rcv_state_process. Out of window: an ACK.
    if (paws_reject || !tcp_in_window(seq, end_seq, rcv_nxt, rcv_nxt + tw->tw_rcv_wnd))
      return oow_rate_limit(&net.mib.tcpext.TCPACKSkippedFinWait2);
    if (rst) {
      inet_twsk_deschedule_put(tw);
      return TcpTwStatus::TCP_TW_SUCCESS;
    }
    if (syn && !before(seq, rcv_nxt)) return TcpTwStatus::TCP_TW_RST;
    // A duplicate ACK.
    if (!ack || !after(end_seq, rcv_nxt) || end_seq == seq) return TcpTwStatus::TCP_TW_SUCCESS;
    // New data after our half of the close, or a FIN with data: reset.
    if (!fin || end_seq != rcv_nxt + 1) return TcpTwStatus::TCP_TW_RST;
    // The FIN: the real TIME_WAIT, for TCP_TIMEWAIT_LEN from now.
    tw->tw_substate = TCP_TIME_WAIT;
    tw->tw_rcv_nxt = end_seq;
    if (tmp_opt.saw_tstamp) {
      tw->tw_entry_stamp = tcp_ns_to_ts(tw, net.engine.now());  // tcp_clock_ms
      tw->tw_ts_recent_stamp = now_s;
      tw->tw_ts_recent = tmp_opt.rcv_tsval;
    }
    inet_twsk_reschedule(tw, int(TCP_TIMEWAIT_LEN));
    return TcpTwStatus::TCP_TW_ACK;
  }

  // The real TIME_WAIT. In window, only a RST or a bare ACK can come.
  if (!paws_reject && seq == rcv_nxt && (seq == end_seq || rst)) {
    if (rst) {
      // TIME_WAIT assassination (RFC 1337), allowed unless tcp_rfc1337.
      if (net.sysctl.tcp_rfc1337 == 0) {
        inet_twsk_deschedule_put(tw);
        return TcpTwStatus::TCP_TW_SUCCESS;
      }
    } else {
      inet_twsk_reschedule(tw, int(TCP_TIMEWAIT_LEN));
    }
    if (tmp_opt.saw_tstamp) {
      tw->tw_ts_recent = tmp_opt.rcv_tsval;
      tw->tw_ts_recent_stamp = now_s;
    }
    return TcpTwStatus::TCP_TW_SUCCESS;
  }

  // Out of window. A new SYN above the old sequence space (or with a newer
  // timestamp) opens a new connection, with an ISN above everything we sent.
  if (syn && !rst && !ack && !paws_reject &&
      (after(seq, rcv_nxt) || (tmp_opt.saw_tstamp && int32_t(tw->tw_ts_recent - tmp_opt.rcv_tsval) < 0))) {
    uint32_t isn = tw->tw_snd_nxt + 65535 + 2;
    if (isn == 0) isn++;
    *tw_isn = isn;
    return TcpTwStatus::TCP_TW_SYN;
  }
  if (paws_reject) {
    *drop_reason = SkbDropReason::TCP_RFC7323_TW_PAWS;
    net.mib.tcpext.PAWSTimewait++;
  }
  if (!rst) {
    // Everything else is ACKed and the timer restarted, except an ACK-less
    // SYN below rcv_nxt, which may be a new connection's.
    if (paws_reject || ack) inet_twsk_reschedule(tw, int(TCP_TIMEWAIT_LEN));
    return oow_rate_limit(&net.mib.tcpext.TCPACKSkippedTimeWait);
  }
  return TcpTwStatus::TCP_TW_SUCCESS;
}

}  // namespace nettwin
