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
#include "ipv4/tcp_sock.h"

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
};

}  // namespace nettwin
