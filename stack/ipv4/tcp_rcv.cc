// net/ipv4/tcp_input.c, the connected socket's side: RTT and RTO, loss state,
// and the end of a connection (tcp_done). (tcp_input.cc keeps the passive
// open's SYN handling.)
#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"

namespace nettwin {

namespace {

uint32_t usecs_to_jiffies(uint64_t us) { return uint32_t((us * HZ + 999'999) / 1'000'000); }
constexpr uint32_t kTcpRtoMinUs = TCP_RTO_MIN * 1'000'000 / HZ;

// sk_wmem_free_skb: a queued skb's charge given back, the skb freed untraced
// (Linux frees TCP's sent data with __kfree_skb).
void tcp_wmem_free_skb(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tp->sk_wmem_queued -= int(skb->truesize);
  __kfree_skb(skb);
}

}  // namespace

void inet_csk_destroy_sock(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  // tcp_v4_destroy_sock.
  trace_tcp_destroy_sock(net.tracer, sk);
  tcp_clear_xmit_timers(sk);
  tcp_write_queue_purge(sk);
  while (SkBuff* skb = tp->out_of_order_queue.pop_front()) __kfree_skb(skb);
  sk->sk_prot->unhash(sk);
  if (sk->inet_num) inet_put_port(sk);
  // sk_stream_kill_queues: what the reader never took is purged.
  while (SkBuff* skb = sk->sk_receive_queue.pop_front()) {
    sk->sk_rmem_alloc -= int(skb->truesize);
    kfree_skb(skb, SkbDropReason::QUEUE_PURGE, "sk_stream_kill_queues");
  }
  // sock_put: the memory goes once the closed socket's last skb is freed,
  // after the callers up the stack are done with it.
  if (sk->sk_socket) return;
  sk->sk_free_deferred = true;
  if (sk->sk_wmem_alloc == 0) net.engine.add_timer(net.engine.now(), [&net, sk] { net.sock.sk_destruct(sk); });
}

bool inet_csk_in_pingpong_mode(const Sock* sk) { return tcp_sk(sk)->icsk_ack.pingpong >= 1; }

void tcp_data_ready(Sock*) {}

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
      tp->mdev_max_us = kTcpRtoMinUs;
    }
  } else {
    srtt = uint32_t(m << 3);
    tp->mdev_us = uint32_t(m << 1);
    tp->rttvar_us = std::max(tp->mdev_us, kTcpRtoMinUs);
    tp->mdev_max_us = tp->rttvar_us;
    tp->rtt_seq = tp->snd_nxt;
  }
  tp->srtt_us = std::max(1u, srtt);
}

void tcp_enter_loss(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  // Reduce ssthresh if it has not yet been made inside this window.
  if (tp->icsk_ca_state <= TCP_CA_Disorder || !after(tp->high_seq, tp->snd_una) ||
      (tp->icsk_ca_state == TCP_CA_Loss && !tp->icsk_retransmits)) {
    tp->prior_ssthresh = 0;  // tcp_current_ssthresh kept only for undo
    tp->snd_ssthresh = tp->icsk_ca_ops ? tp->icsk_ca_ops->ssthresh(sk) : std::max(tp->snd_cwnd >> 1, 2u);
    tcp_ca_event(sk, CA_EVENT_LOSS);
  }
  tp->snd_cwnd = tp->packets_out - tp->sacked_out - tp->lost_out + tp->retrans_out + 1;  // tcp_packets_in_flight + 1
  tp->snd_cwnd_cnt = 0;
  tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
  // Everything in flight is lost (tcp_timeout_mark_lost).
  tp->retrans_out = 0;
  tp->lost_out = 0;
  for (SkBuff* skb = tp->tcp_rtx_queue.front(); skb; skb = skb->next) {
    TCP_SKB_CB(skb)->sacked &= uint8_t(~TCPCB_SACKED_RETRANS);
    TCP_SKB_CB(skb)->sacked |= TCPCB_LOST;
    tp->lost_out += tcp_skb_pcount(skb);
  }
  if (tp->icsk_ca_state != TCP_CA_Loss) tcp_set_ca_state(sk, TCP_CA_Loss);
  tp->high_seq = tp->snd_nxt;
}

void tcp_write_queue_purge(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
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
  if (!sk->sock_dead) return;  // sk_state_change: the owner sees it
  inet_csk_destroy_sock(sk);
}

}  // namespace nettwin
