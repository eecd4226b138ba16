// net/ipv4/tcp_minisocks.c: tcp_check_req and tcp_create_openreq_child; with
// tcp_v4_syn_recv_sock (tcp_ipv4.c) the ACK that completes a handshake
// becomes a child socket on the listener's accept queue.
#include <algorithm>

#include "core/jiffies.h"
#include "core/net.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_timer.h"
#include "ipv4/tcp_sock.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr uint8_t TCPHDR_SYN = 0x02, TCPHDR_RST = 0x04, TCPHDR_ACK = 0x10;

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
  child->pmtudisc = sk->pmtudisc;
  child->tos = sk->tos;
  child->uc_ttl = sk->uc_ttl;
  child->sk_bound_dev_if = sk->sk_bound_dev_if;
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
  child->snd_sml = child->snd_una = child->snd_nxt = req->snt_isn + 1;
  child->write_seq = child->pushed_seq = req->snt_isn + 1;
  child->snd_wl1 = req->rcv_isn;
  child->rx_opt.tstamp_ok = req->tstamp_ok;
  child->rx_opt.sack_ok = req->sack_ok;
  child->rx_opt.wscale_ok = req->wscale_ok;
  child->rx_opt.snd_wscale = req->wscale_ok ? req->snd_wscale : 0;
  child->rx_opt.rcv_wscale = req->wscale_ok ? req->rcv_wscale : 0;
  child->rx_opt.mss_clamp = req->mss;
  child->rx_opt.ts_recent = req->ts_recent;
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
  child->icsk_ca_ops = tcp_sk(sk)->icsk_ca_ops;
  child->nonagle = tcp_sk(sk)->nonagle;
  child->total_retrans = req->num_retrans;
  child->tcp_header_len = uint16_t(20 + (req->tstamp_ok ? 12 : 0));
  child->rx_opt.ts_recent_stamp = uint32_t(net.engine.now() / 1'000'000'000);
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

// tcp_oow_rate_limited for a SYN or a bare segment: one answer per
// tcp_invalid_ratelimit (500 ms) per request.
bool tcp_oow_rate_limited(Net& net, uint32_t* last_oow_ack_time) {
  const uint32_t now = uint32_t(net.engine.jiffies());
  if (*last_oow_ack_time) {
    const int32_t elapsed = int32_t(now - *last_oow_ack_time);
    if (elapsed >= 0 && uint64_t(elapsed) < msecs_to_jiffies(500)) {
      net.mib.tcpext.TCPACKSkippedSynRecv++;
      return true;
    }
  }
  *last_oow_ack_time = now;
  return false;
}

}  // namespace

Sock* tcp_check_req(Net& net, Sock* sk, SkBuff* skb, RequestSock* req, SkbDropReason* reason) {
  const uint8_t* th = skb->data;
  const uint8_t flg = th[13] & (TCPHDR_SYN | TCPHDR_RST | TCPHDR_ACK);
  const uint32_t seq = wire::load_be32(th + 4);
  const uint32_t ack_seq = wire::load_be32(th + 8);
  // The SYN again (our SYN-ACK was lost): the SYN-ACK again (inet_rtx_syn_ack,
  // tcp_rtx_synack), at most once per rate-limit period; the SYN is dropped.
  if (seq == req->rcv_isn && flg == TCPHDR_SYN) {
    if (!tcp_oow_rate_limited(net, &req->last_oow_ack_time) && tcp_v4_send_synack(net, sk, req) == 0) {
      net.mib.tcp.RetransSegs++;
      net.mib.tcpext.TCPSynRetrans++;
      req->num_retrans++;
    }
    *reason = SkbDropReason::NOT_SPECIFIED;
    return nullptr;
  }
  // An ACK of something we never sent: the listener answers it with a reset.
  if ((flg & TCPHDR_ACK) && ack_seq != req->snt_isn + 1) return sk;
  // A retransmitted SYN, a RST, an out-of-window segment: not handled yet;
  // dropped without touching the request.
  if ((flg & (TCPHDR_SYN | TCPHDR_RST)) || seq != req->rcv_isn + 1) {
    *reason = SkbDropReason::NOT_SPECIFIED;
    return nullptr;
  }
  if (!(flg & TCPHDR_ACK)) {
    *reason = SkbDropReason::NOT_SPECIFIED;
    return nullptr;
  }
  // tcp_v4_syn_recv_sock: a full accept queue refuses the child
  // (tcp_abort_on_overflow is 0: the request stays, acked).
  if (sk->sk_ack_backlog > sk->sk_max_ack_backlog) {
    net.mib.tcpext.ListenOverflows++;
    tcp_listendrop(net);
    *reason = SkbDropReason::TCP_LISTEN_OVERFLOW;
    return nullptr;
  }
  std::unique_ptr<Sock> owned = tcp_create_openreq_child(net, sk, req, skb);
  Sock* child = owned.get();
  // inet_csk_route_child_sock: the child looks its route up again (no dst was
  // kept from the SYN-ACK); with none, Linux drops the ACK.
  DstEntry* rt = inet_csk_route_req(net, sk, req);
  if (!rt) {
    inet_put_port(child);
    *reason = SkbDropReason::NOT_SPECIFIED;
    return nullptr;
  }
  child->sk_dst_cache = rt;  // sk_setup_caps
  {
    TcpSock* ctp = tcp_sk(child);
    const unsigned advmss = std::min<unsigned>(rt->dev->mtu - 40, 65535 - 40);  // dst_metric_advmss
    ctp->advmss = uint16_t(ctp->rx_opt.user_mss && ctp->rx_opt.user_mss < advmss ? ctp->rx_opt.user_mss : advmss);
    // The timestamp option is taken off the MSS we advertise before the
    // buffers are sized (the recordings' rcv_space is 10 * 1448).
    if (ctp->rx_opt.tstamp_ok) ctp->advmss = uint16_t(ctp->advmss - 12);
    tcp_sync_mss(child, rt->dev->mtu);
  }
  net.sock.tcp_ehash.push_back(child);  // inet_ehash_nolisten
  // tcp_synack_rtt_meas: the SYN-ACK's RTT, unless it was sent again (read
  // before the request is freed below).
  const long rtt_us = req->num_retrans || !req->snt_synack ? -1 : long(net.engine.now() / 1000 - req->snt_synack);
  // inet_csk_complete_hashdance: the request leaves, the child is queued.
  TcpSock* ltp = tcp_sk(sk);
  auto& q = ltp->reqsk_queue;
  q.erase(std::remove_if(q.begin(), q.end(), [&](const std::unique_ptr<RequestSock>& r) { return r.get() == req; }),
          q.end());
  ltp->icsk_accept_queue.push_back(std::move(owned));
  sk->sk_ack_backlog++;
  // tcp_child_process -> tcp_rcv_state_process in SYN_RECV: the ACK is
  // acceptable, the child is established.
  child->sk_socket = nullptr;
  tcp_child_established(child, skb, rtt_us);
  return child;
}

// tcp_time_wait, as far as the socket itself goes: a TIME_WAIT socket takes
// over the 4-tuple in Linux, and this one is done (CLOSE, destroyed). The
// TIME_WAIT socket (inet_timewait_sock) is not built here.
void tcp_time_wait(Sock* sk, int state, int timeo) {
  (void)state;
  (void)timeo;
  tcp_done(sk);
}

}  // namespace nettwin
