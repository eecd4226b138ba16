// net/ipv4/tcp.c and tcp_ipv4.c's tcp_prot: the socket side of TCP. Data
// transfer and connection close are not built yet; what is here is enough to
// bind, listen, accept and close a listener.
#include "ipv4/tcp.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <string>

#include "core/jiffies.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ip_sockglue.h"
#include "ipv4/tcp_info.h"
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

// tcp_v4_init_sock / tcp_init_sock: the buffers start at tcp_rmem[1] and
// tcp_wmem[1]; what getsockopt and TCP_INFO read before any connection.
int tcp_v4_init_sock(Sock* sk) {
  tcp_init_sock_opts(sk);
  sk->sk_rcvbuf = int(sk->net->sysctl.tcp_rmem[1]);
  sk->sk_sndbuf = 16384;  // tcp_wmem[1]
  return 0;
}

// tcp_close: a listener stops listening (LISTEN -> CLOSE); then, as
// inet_csk_destroy_sock does, the socket leaves its hashes and port.
void tcp_close(Sock* sk) {
  sk->sk_shutdown = SHUTDOWN_MASK;
  if (sk->sk_state == TCP_LISTEN) {
    tcp_set_state(sk, TCP_CLOSE);
    inet_csk_listen_stop(sk);
  } else if (sk->sk_state != TCP_CLOSE) {
    tcp_set_state(sk, TCP_CLOSE);
  }
  sk->sock_dead = true;
  sk->sk_prot->unhash(sk);
  if (sk->inet_num) inet_put_port(sk);
}

int tcp_disconnect(Sock*, int) { return 0; }

int tcp_connect_unbuilt(Sock*, const SockaddrIn*, int) { return -E_OPNOTSUPP; }

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

Proto tcp_prot = {
    "TCP",
    tcp_v4_init_sock,
    tcp_close,
    tcp_connect_unbuilt,
    tcp_disconnect,
    tcp_setsockopt,
    tcp_getsockopt,
    tcp_sendmsg,
    tcp_recvmsg,
    inet_csk_get_port,
    tcp_unhash,
    tcp_rehash,
    tcp_obj_alloc,
    tcp_set_keepalive,
};

// ---------------------------------------------------------------------------
// Socket options (do_tcp_setsockopt / do_tcp_getsockopt).

namespace {

// TCP_MSS_DEFAULT, TCP_MIN_MSS, TCP_INIT_CWND (tcp_output.h) and the
// timer constants (tcp_timer.h) are Linux's include/net/tcp.h ones.
constexpr int MAX_TCP_WINDOW = 32767;          // the largest TCP_MAXSEG
constexpr int MAX_TCP_KEEPIDLE = 32767;
constexpr int MAX_TCP_KEEPINTVL = 32767;
constexpr int MAX_TCP_KEEPCNT = 127;
constexpr int MAX_TCP_SYNCNT = 127;
constexpr int TCP_FIN_TIMEOUT_MAX = int(120 * HZ);
constexpr uint32_t TCP_INFINITE_SSTHRESH = 0x7fffffff;
constexpr uint32_t SOCK_MIN_RCVBUF = 2048 + 256;  // TCP_SKB_MIN_TRUESIZE

// TCPF_* state masks.
constexpr bool tcp_state_in(const Sock* sk, std::initializer_list<int> states) {
  for (int s : states)
    if (sk->sk_state == s) return true;
  return false;
}

// secs_to_retrans: seconds as the number of SYN-ACK retransmits (RTO
// doubling from timeout, capped at rto_max) they cover; retrans_to_secs back.
uint8_t secs_to_retrans(int seconds, int timeout, int rto_max) {
  uint8_t res = 0;
  if (seconds > 0) {
    int period = timeout;
    res = 1;
    while (seconds > period && res < 255) {
      res++;
      timeout <<= 1;
      if (timeout > rto_max) timeout = rto_max;
      period += timeout;
    }
  }
  return res;
}

int retrans_to_secs(uint8_t retrans, int timeout, int rto_max) {
  int period = 0;
  if (retrans > 0) {
    period = timeout;
    while (--retrans) {
      timeout <<= 1;
      if (timeout > rto_max) timeout = rto_max;
      period += timeout;
    }
  }
  return period;
}

void inet_csk_enter_pingpong_mode(Sock* sk) {
  tcp_sk(sk)->icsk_ack.pingpong = uint8_t(sk->net->sysctl.tcp_pingpong_thresh);
}
void inet_csk_exit_pingpong_mode(Sock* sk) { tcp_sk(sk)->icsk_ack.pingpong = 0; }

// tcp_push_pending_frames: what TCP_NODELAY and uncorking send at once, with
// the socket's Nagle mode.
void tcp_push_pending_frames(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->sk_write_queue.empty()) __tcp_push_pending_frames(sk, tcp_current_mss(sk), tp->nonagle);
}

void tcp_sock_set_nodelay(Sock* sk, bool on) {
  TcpSock* tp = tcp_sk(sk);
  if (on) {
    tp->nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH;
    tcp_push_pending_frames(sk);
  } else {
    tp->nonagle &= uint8_t(~TCP_NAGLE_OFF);
  }
}

// TCP_CORK: non-full segments wait; uncorking pushes what waited (with
// TCP_NODELAY, as a push).
void tcp_sock_set_cork(Sock* sk, bool on) {
  TcpSock* tp = tcp_sk(sk);
  if (on) {
    tp->nonagle |= TCP_NAGLE_CORK;
  } else {
    tp->nonagle &= uint8_t(~TCP_NAGLE_CORK);
    if (tp->nonagle & TCP_NAGLE_OFF) tp->nonagle |= TCP_NAGLE_PUSH;
    tcp_push_pending_frames(sk);
  }
}

// TCP_QUICKACK: 0 enters pingpong (delayed ACK) mode; non-zero leaves it,
// and an ACK already scheduled goes out now. The delayed ACK itself is the
// data path's (icsk_ack.pending): here only the mode changes.
void tcp_sock_set_quickack(Sock* sk, int val) {
  if (!val) {
    inet_csk_enter_pingpong_mode(sk);
    return;
  }
  inet_csk_exit_pingpong_mode(sk);
}

int tcp_sock_set_keepidle_locked(Sock* sk, int val) {
  if (val < 1 || val > MAX_TCP_KEEPIDLE) return -E_INVAL;
  TcpSock* tp = tcp_sk(sk);
  tp->keepalive_time = uint32_t(val) * uint32_t(HZ);
  // A running keepalive timer is moved to the new idle time, counted from
  // when the peer was last heard from.
  if (sk->sock_keepopen && !tcp_state_in(sk, {TCP_CLOSE, TCP_LISTEN})) {
    const uint32_t elapsed = keepalive_time_elapsed(tp);
    inet_csk_reset_keepalive_timer(sk, tp->keepalive_time > elapsed ? tp->keepalive_time - elapsed : 0);
  }
  return 0;
}

// tcp_set_window_clamp: 0 only before a connection; otherwise at least half
// of SOCK_MIN_RCVBUF, and rcv_ssthresh follows.
int tcp_set_window_clamp(Sock* sk, int val) {
  TcpSock* tp = tcp_sk(sk);
  if (!val) {
    if (sk->sk_state != TCP_CLOSE) return -E_INVAL;
    tp->window_clamp = 0;
    return 0;
  }
  const uint32_t old_window_clamp = tp->window_clamp;
  const uint32_t new_window_clamp = uint32_t(std::max(int(SOCK_MIN_RCVBUF / 2), val));
  if (new_window_clamp == old_window_clamp) return 0;
  tp->window_clamp = new_window_clamp;
  if (new_window_clamp < old_window_clamp) {
    tp->rcv_ssthresh = std::min(tp->rcv_ssthresh, new_window_clamp);  // __tcp_adjust_rcv_ssthresh
  } else {
    tp->rcv_ssthresh = std::max(std::min(tp->rcv_wnd, new_window_clamp), tp->rcv_ssthresh);
  }
  return 0;
}

int do_tcp_setsockopt(Sock* sk, int optname, std::span<const uint8_t> optval) {
  TcpSock* tp = tcp_sk(sk);
  const int optlen = int(optval.size());

  // The string option; all the others are ints.
  if (optname == TCP_CONGESTION_) {
    if (optlen < 1) return -E_INVAL;
    // strncpy_from_sockptr: at most TCP_CA_NAME_MAX - 1 bytes, up to a NUL.
    const size_t n = std::min<size_t>(TCP_CA_NAME_MAX - 1, size_t(optlen));
    std::string name(reinterpret_cast<const char*>(optval.data()), n);
    name.resize(std::strlen(name.c_str()));
    return tcp_set_congestion_control(sk, name);
  }

  if (optlen < int(sizeof(int))) return -E_INVAL;
  const int val = sockopt_int(optval);

  switch (optname) {
    case TCP_SYNCNT_:
      if (val < 1 || val > MAX_TCP_SYNCNT) return -E_INVAL;
      tp->icsk_syn_retries = uint8_t(val);
      return 0;
    case TCP_USER_TIMEOUT_:
      // The longest time (ms) unacknowledged data or probes may go without
      // an answer before the connection is aborted with ETIMEDOUT.
      if (val < 0) return -E_INVAL;
      tp->icsk_user_timeout = uint32_t(val);
      return 0;
    case TCP_KEEPINTVL_:
      if (val < 1 || val > MAX_TCP_KEEPINTVL) return -E_INVAL;
      tp->keepalive_intvl = uint32_t(val) * uint32_t(HZ);
      return 0;
    case TCP_KEEPCNT_:
      if (val < 1 || val > MAX_TCP_KEEPCNT) return -E_INVAL;
      tp->keepalive_probes = uint8_t(val);
      return 0;
    case TCP_LINGER2_:
      if (val < 0) tp->linger2 = -1;
      else if (val > TCP_FIN_TIMEOUT_MAX / int(HZ)) tp->linger2 = TCP_FIN_TIMEOUT_MAX;
      else tp->linger2 = val * int(HZ);
      return 0;
    case TCP_DEFER_ACCEPT_:
      tp->rskq_defer_accept = secs_to_retrans(val, int(TCP_TIMEOUT_INIT / HZ), int(TCP_RTO_MAX / HZ));
      return 0;
    case TCP_MAXSEG_:
      // Larger than the device's MTU allows has no effect, but is accepted:
      // the device is not known yet.
      if (val && (val < int(TCP_MIN_MSS) || val > MAX_TCP_WINDOW)) return -E_INVAL;
      tp->rx_opt.user_mss = uint16_t(val);
      return 0;
    case TCP_NODELAY_:
      tcp_sock_set_nodelay(sk, val != 0);
      return 0;
    case TCP_CORK_:
      tcp_sock_set_cork(sk, val != 0);
      return 0;
    case TCP_KEEPIDLE_:
      return tcp_sock_set_keepidle_locked(sk, val);
    case TCP_WINDOW_CLAMP_:
      return tcp_set_window_clamp(sk, val);
    case TCP_QUICKACK_:
      tcp_sock_set_quickack(sk, val);
      return 0;
    case TCP_NOTSENT_LOWAT_:
      tp->notsent_lowat = uint32_t(val);
      return 0;
    default:
      return -E_NOPROTOOPT;
  }
}

int do_tcp_getsockopt(Sock* sk, int optname, uint8_t* optval, int* optlen) {
  const TcpSock* tp = tcp_sk(sk);
  const Sysctls& sys = sk->net->sysctl;
  // The variable-length options copy min(len, their size) bytes, a negative
  // len being a huge unsigned one.
  switch (optname) {
    case TCP_INFO_: {
      TcpInfo info;
      tcp_get_info(sk, &info);
      const int len = int(std::min<unsigned>(unsigned(*optlen), sizeof(info)));
      std::memcpy(optval, &info, size_t(len));
      *optlen = len;
      return 0;
    }
    case TCP_CONGESTION_: {
      // The name's whole TCP_CA_NAME_MAX buffer, NUL padded.
      char name[TCP_CA_NAME_MAX] = {};
      std::strncpy(name, tp->icsk_ca_ops->name, TCP_CA_NAME_MAX - 1);
      const int len = int(std::min<unsigned>(unsigned(*optlen), TCP_CA_NAME_MAX));
      std::memcpy(optval, name, size_t(len));
      *optlen = len;
      return 0;
    }
    default:
      break;
  }

  int val;
  switch (optname) {
    case TCP_MAXSEG_:
      val = int(tp->mss_cache);
      if (tp->rx_opt.user_mss && tcp_state_in(sk, {TCP_CLOSE, TCP_LISTEN})) val = tp->rx_opt.user_mss;
      break;
    case TCP_NODELAY_: val = !!(tp->nonagle & TCP_NAGLE_OFF); break;
    case TCP_CORK_: val = !!(tp->nonagle & TCP_NAGLE_CORK); break;
    case TCP_KEEPIDLE_: val = int(keepalive_time_when(tp) / HZ); break;
    case TCP_KEEPINTVL_: val = int(keepalive_intvl_when(tp) / HZ); break;
    case TCP_KEEPCNT_: val = keepalive_probes(tp); break;
    case TCP_SYNCNT_: val = tp->icsk_syn_retries ? tp->icsk_syn_retries : int(sys.tcp_syn_retries); break;
    case TCP_LINGER2_:
      val = tp->linger2;
      if (val >= 0) val = (val ? val : int(sys.tcp_fin_timeout * HZ)) / int(HZ);
      break;
    case TCP_DEFER_ACCEPT_:
      val = retrans_to_secs(tp->rskq_defer_accept, int(TCP_TIMEOUT_INIT / HZ), int(TCP_RTO_MAX / HZ));
      break;
    case TCP_WINDOW_CLAMP_: val = int(tp->window_clamp); break;
    case TCP_QUICKACK_: val = !inet_csk_in_pingpong_mode(sk); break;
    case TCP_USER_TIMEOUT_: val = int(tp->icsk_user_timeout); break;
    case TCP_NOTSENT_LOWAT_: val = int(tp->notsent_lowat); break;
    default: return -E_NOPROTOOPT;
  }
  const int len = int(std::min<unsigned>(unsigned(*optlen), sizeof(int)));
  std::memcpy(optval, &val, size_t(len));
  *optlen = len;
  return 0;
}

}  // namespace

uint32_t keepalive_time_when(const TcpSock* tp) {
  return tp->keepalive_time ? tp->keepalive_time : uint32_t(tp->net->sysctl.tcp_keepalive_time * HZ);
}
uint32_t keepalive_intvl_when(const TcpSock* tp) {
  return tp->keepalive_intvl ? tp->keepalive_intvl : uint32_t(tp->net->sysctl.tcp_keepalive_intvl * HZ);
}
int keepalive_probes(const TcpSock* tp) {
  return tp->keepalive_probes ? tp->keepalive_probes : int(tp->net->sysctl.tcp_keepalive_probes);
}
uint32_t keepalive_time_elapsed(const TcpSock* tp) {
  const uint32_t now = uint32_t(tp->net->engine.jiffies());
  return std::min(now - tp->icsk_ack.lrcvtime, now - tp->rcv_tstamp);
}

void tcp_clone_sockopts(Sock* newsk, const Sock* sk) {
  TcpSock* newtp = tcp_sk(newsk);
  const TcpSock* tp = tcp_sk(sk);
  newsk->sk_reuse = sk->sk_reuse;
  newsk->sk_reuseport = sk->sk_reuseport;
  newsk->sk_priority = sk->sk_priority;
  newsk->sock_keepopen = sk->sock_keepopen;
  newsk->sk_linger = sk->sk_linger;
  newsk->sk_lingertime = sk->sk_lingertime;
  newtp->nonagle = tp->nonagle;
  newtp->keepalive_time = tp->keepalive_time;
  newtp->keepalive_intvl = tp->keepalive_intvl;
  newtp->keepalive_probes = tp->keepalive_probes;
  newtp->linger2 = tp->linger2;
  newtp->notsent_lowat = tp->notsent_lowat;
  newtp->rx_opt.user_mss = tp->rx_opt.user_mss;
  newtp->icsk_user_timeout = tp->icsk_user_timeout;
  newtp->icsk_syn_retries = tp->icsk_syn_retries;
  // tcp_ca_openreq_child: the listener's algorithm if TCP_CONGESTION chose
  // it, else the namespace's default.
  newtp->icsk_ca_ops = tp->icsk_ca_setsockopt && tp->icsk_ca_ops ? tp->icsk_ca_ops
                                                                 : tcp_default_congestion_control(*sk->net);
  newtp->icsk_ca_setsockopt = tp->icsk_ca_setsockopt;
  // tcp_create_openreq_child: a keepalive listener's child starts its timer.
  if (newsk->sock_keepopen) inet_csk_reset_keepalive_timer(newsk, keepalive_time_when(newtp));
}

void tcp_init_sock_opts(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->icsk_rto = TCP_TIMEOUT_INIT;
  tp->icsk_rto_min = TCP_RTO_MIN;
  tp->icsk_delack_max = TCP_DELACK_MAX;
  tp->mdev_us = TCP_TIMEOUT_INIT * uint32_t(1000000 / HZ);
  tp->snd_cwnd = TCP_INIT_CWND;
  tp->app_limited = ~0u;
  tp->snd_ssthresh = TCP_INFINITE_SSTHRESH;
  tp->snd_cwnd_clamp = ~0u;
  tp->mss_cache = TCP_MSS_DEFAULT;
  tp->reordering = 3;  // net.ipv4.tcp_reordering
  tcp_assign_congestion_control(sk);
}

int tcp_setsockopt(Sock* sk, int level, int optname, std::span<const uint8_t> optval) {
  // Other levels are the address family's (ip_setsockopt: SOL_IP, or ENOPROTOOPT).
  if (level != SOL_TCP_) {
    if (level != SOL_IP_) return -E_NOPROTOOPT;
    return ip_setsockopt(sk, optname, sockopt_int(optval), int(optval.size()));
  }
  return do_tcp_setsockopt(sk, optname, optval);
}

int tcp_getsockopt(Sock* sk, int level, int optname, uint8_t* optval, int* optlen) {
  if (level != SOL_TCP_) {
    if (level != SOL_IP_) return -E_NOPROTOOPT;
    return sockopt_get_int(optval, optlen, [&](int* val) { return ip_getsockopt(sk, optname, val); });
  }
  return do_tcp_getsockopt(sk, optname, optval, optlen);
}

}  // namespace nettwin
