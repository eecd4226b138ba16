// net/ipv4/tcp.c and tcp_ipv4.c's tcp_prot: the socket side of TCP. Data
// transfer and connection close are not built yet; what is here is enough to
// bind, listen, accept and close a listener.
#include "ipv4/tcp.h"

#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ip_sockglue.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_connect.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"

namespace nettwin {

void tcp_set_state_store(Sock* sk, int state) {
  trace_inet_sock_set_state(sk->net->tracer, sk, sk->sk_state, state);
  sk->sk_state = state;
}

void tcp_set_state(Sock* sk, int state) {
  const int oldstate = sk->sk_state;
  tcp_set_state_store(sk, state);
  if (state == TCP_CLOSE && oldstate != TCP_CLOSE) {
    sk->sk_prot->unhash(sk);
    if (sk->inet_num && !(sk->sk_userlocks & SOCK_BINDPORT_LOCK)) inet_put_port(sk);
  }
}

void tcp_reqsk_queue_purge(TcpSock* tp) { tp->reqsk_queue.clear(); }

namespace {

// tcp_v4_init_sock / tcp_init_sock: the buffers start at tcp_rmem[1] and tcp_wmem[1].
int tcp_v4_init_sock(Sock* sk) {
  sk->sk_rcvbuf = int(sk->net->sysctl.tcp_rmem[1]);
  sk->sk_sndbuf = 16384;  // tcp_wmem[1]
  // ---- what a connecting socket needs of tcp_init_sock: the initial RTO,
  // cwnd and ssthresh, the default MSS, and its congestion control.
  TcpSock* tp = tcp_sk(sk);
  tcp_init_xmit_timers(sk);
  tp->icsk_rto = TCP_TIMEOUT_INIT;
  tp->icsk_rto_min = TCP_RTO_MIN;
  tp->icsk_delack_max = TCP_DELACK_MAX;
  tp->mdev_us = TCP_TIMEOUT_INIT * 1'000'000 / HZ;  // jiffies_to_usecs
  tp->snd_cwnd = TCP_INIT_CWND;
  tp->app_limited = ~0u;
  tp->rate_app_limited = true;
  tp->snd_ssthresh = 0x7fffffff;  // TCP_INFINITE_SSTHRESH
  tp->snd_cwnd_clamp = ~0u;
  tp->mss_cache = TCP_MSS_DEFAULT;
  tp->reordering = 3;  // net.ipv4.tcp_reordering
  tcp_assign_congestion_control(sk);
  // ---- end
  return 0;
}

// tcp_close: a listener stops listening (LISTEN -> CLOSE); then, as
// inet_csk_destroy_sock does, the socket leaves its hashes and port.
void tcp_close(Sock* sk) {
  sk->sk_shutdown = SHUTDOWN_MASK;
  if (sk->sk_state == TCP_LISTEN) {
    tcp_set_state(sk, TCP_CLOSE);
    inet_csk_listen_stop(sk);
  } else if (sk->sk_state == TCP_SYN_SENT) {
    // ---- active open: a connect in progress is abandoned (CLOSE, no
    // AttemptFails); inet_csk_destroy_sock stops its timer and frees its SYN.
    tcp_set_state(sk, TCP_CLOSE);
    tcp_clear_xmit_timers(sk);
    tcp_write_queue_purge(sk);
    // ---- end of the active open
  } else if (sk->sk_state != TCP_CLOSE) {
    tcp_set_state(sk, TCP_CLOSE);
  }
  sk->sock_dead = true;
  sk->sk_prot->unhash(sk);
  if (sk->inet_num) inet_put_port(sk);
}

// tcp_disconnect (connect() with AF_UNSPEC, or after a failed connect): the
// socket goes back to CLOSE, ready to connect again. Only what a socket that
// never carried data holds is reset here: its timers, queues, peer and the
// next ISN (write_seq + max_window + 2); a SYN_SENT socket says ECONNRESET.
int tcp_disconnect(Sock* sk, int) {
  TcpSock* tp = tcp_sk(sk);
  const int old_state = sk->sk_state;
  if (old_state != TCP_CLOSE) tcp_set_state(sk, TCP_CLOSE);
  if (old_state == TCP_LISTEN)
    inet_csk_listen_stop(sk);
  else if (old_state == TCP_SYN_SENT)
    sk->sk_err = E_CONNRESET;
  tcp_clear_xmit_timers(sk);
  while (SkBuff* skb = sk->sk_receive_queue.pop_front()) __kfree_skb(skb);
  tcp_write_queue_purge(sk);
  while (SkBuff* skb = tp->out_of_order_queue.pop_front()) __kfree_skb(skb);
  tp->copied_seq = tp->rcv_nxt;
  sk->inet_dport = 0;
  if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK)) sk->inet_saddr = sk->inet_rcv_saddr = 0;  // inet_bhash2_reset_saddr
  sk->sk_shutdown = 0;
  uint32_t seq = tp->write_seq + tp->max_window + 2;
  if (!seq) seq = 1;
  tp->write_seq = seq;
  tp->icsk_backoff = 0;
  tp->icsk_retransmits = 0;
  tp->icsk_probes_out = 0;
  tp->icsk_rto = HZ;  // TCP_TIMEOUT_INIT
  tp->window_clamp = 0;
  tp->total_retrans = 0;
  tp->total_rto = tp->total_rto_recoveries = 0;
  tp->retrans_stamp = 0;
  tp->rx_opt = TcpOptionsReceived{};
  sk->sk_dst_cache = nullptr;  // __sk_dst_reset
  return 0;
}

int tcp_setsockopt(Sock* sk, int level, int optname, int val, int optlen) {
  if (level == SOL_IP_) return ip_setsockopt(sk, optname, val, optlen);
  return -E_NOPROTOOPT;
}

int tcp_getsockopt(Sock* sk, int level, int optname, int* val) {
  if (level == SOL_IP_) return ip_getsockopt(sk, optname, val);
  return -E_NOPROTOOPT;
}

// tcp_sendmsg before a connection: sk_stream_wait_connect says EPIPE.
int tcp_sendmsg(Sock* sk, const SendMsg&) {
  if (sk->sk_err) return sock_error(sk);
  if (sk->sk_state != TCP_ESTABLISHED) return -E_PIPE;
  return -E_OPNOTSUPP;  // data transfer is not built
}

// tcp_recvmsg: a listener or a closed socket is not connected.
int tcp_recvmsg(Sock* sk, RecvMsg&, int) {
  if (sk->sk_state != TCP_ESTABLISHED) return -E_NOTCONN;
  return -E_OPNOTSUPP;  // data transfer is not built
}

// inet_unhash: out of the listening hash or the established hash.
void tcp_unhash(Sock* sk) {
  inet_unhash(sk);
  auto& e = sk->net->sock.tcp_ehash;
  e.erase(std::remove(e.begin(), e.end(), sk), e.end());
}

void tcp_rehash(Sock*) {}

Sock* tcp_obj_alloc() { return new TcpSock; }

}  // namespace

unsigned tcp_poll(Socket* sock) {
  Sock* sk = sock->sk;
  const TcpSock* tp = tcp_sk(sk);
  const int state = sk->sk_state;
  // inet_csk_listen_poll: readable with a child to accept.
  if (state == TCP_LISTEN) return tp->icsk_accept_queue.empty() ? 0 : POLLIN_ | POLLRDNORM_;
  unsigned mask = 0;
  const int shutdown = sk->sk_shutdown;
  if (shutdown == SHUTDOWN_MASK || state == TCP_CLOSE) mask |= POLLHUP_;
  if (shutdown & RCV_SHUTDOWN) mask |= POLLIN_ | POLLRDNORM_ | POLLRDHUP_;
  // Connected (a handshake in progress is neither readable nor writable).
  if (state != TCP_SYN_SENT && state != TCP_SYN_RECV) {
    if (int32_t(tp->rcv_nxt - tp->copied_seq) >= 1) mask |= POLLIN_ | POLLRDNORM_;  // tcp_stream_is_readable
    if (!(shutdown & SEND_SHUTDOWN)) {
      // __sk_stream_is_writeable(sk, 1): room for half again what is queued,
      // and the unsent bytes (doubled) under the notsent low-water mark.
      const bool wspace = sk->sk_sndbuf - tp->sk_wmem_queued >= (tp->sk_wmem_queued >> 1);
      const bool memfree = tp->sk_wmem_queued < sk->sk_sndbuf &&
                           (uint64_t(tp->write_seq - tp->snd_nxt) << 1) <
                               (tp->notsent_lowat ? tp->notsent_lowat : 0xffffffffull);
      if (wspace && memfree) {
        mask |= POLLOUT_ | POLLWRNORM_;
      } else {
        sock->flags |= SOCK_NOSPACE;
      }
    } else {
      mask |= POLLOUT_ | POLLWRNORM_;
    }
  }
  if (sk->sk_err || !sk->sk_error_queue.empty()) mask |= POLLERR_;
  return mask;
}

Proto tcp_prot = {
    "TCP",
    tcp_v4_init_sock,
    tcp_close,
    tcp_v4_connect,
    tcp_disconnect,
    tcp_setsockopt,
    tcp_getsockopt,
    tcp_sendmsg,
    tcp_recvmsg,
    inet_csk_get_port,
    tcp_unhash,
    tcp_rehash,
    tcp_obj_alloc,
};

}  // namespace nettwin
