// net/ipv4/af_inet.c: the AF_INET family - inet_create picks the protocol
// (inetsw), and the proto_ops tables inet_dgram_ops, inet_sockraw_ops and
// inet_stream_ops lead every call to the Sock's Proto.
#include "socket/af_inet.h"

#include "core/net.h"
#include "ipv4/fib.h"
#include "ipv4/raw.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/udp.h"

namespace nettwin {

namespace {

// inet_addr_type_table for bind: zero and all-ones are broadcast, multicast is
// multicast, anything else is what the local table's lookup (traced) says.
RtnType bind_addr_type(Net& net, wire::Ipv4Addr addr) {
  if (wire::ipv4_is_zeronet(addr) || wire::ipv4_is_lbcast(addr)) return RTN_BROADCAST;
  if (wire::ipv4_is_multicast(addr)) return RTN_MULTICAST;
  Flowi4 fl4;
  fl4.daddr = addr;
  FibResult res;
  if (fib_table_lookup(net, RT_TABLE_LOCAL, fl4, &res) == 0) return res.type;
  return RTN_UNICAST;
}

}  // namespace

// inet_autobind: an unbound socket gets an ephemeral port before it sends.
int inet_autobind(Sock* sk) {
  if (!sk->inet_num) {
    if (sk->sk_prot->get_port(sk, 0) != 0) return -E_AGAIN;
    sk->inet_sport = sk->inet_num;
  }
  return 0;
}

int inet_release(Socket* sock) {
  Sock* sk = sock->sk;
  if (!sk) return 0;
  sk->sk_prot->close(sk);
  sock->sk = nullptr;
  return 0;
}

int inet_bind(Socket* sock, const SockaddrIn* addr, int addr_len) {
  Sock* sk = sock->sk;
  if (sk->sk_type == SOCK_RAW_) return raw_bind(sk, addr, addr_len);
  if (addr_len < SOCKADDR_IN_LEN) return -E_INVAL;
  if (addr->family != AF_INET_) {
    // Compatibility games: AF_UNSPEC with INADDR_ANY is let through.
    if (addr->family != AF_UNSPEC_ || addr->addr != 0) return -E_AFNOSUPPORT;
  }
  Net& net = *sk->net;
  const RtnType chk = bind_addr_type(net, addr->addr);
  // Not one of ours: EADDRNOTAVAIL, unless the socket may bind any address
  // (inet_addr_valid_or_nonlocal: IP_FREEBIND; ip_nonlocal_bind is 0).
  if (!sk->freebind && addr->addr != 0 && chk != RTN_LOCAL && chk != RTN_MULTICAST && chk != RTN_BROADCAST)
    return -E_ADDRNOTAVAIL;
  // Already bound (or connected and autobound): EINVAL.
  if (sk->sk_state != TCP_CLOSE || sk->inet_num) return -E_INVAL;
  sk->inet_rcv_saddr = sk->inet_saddr = addr->addr;
  if (chk == RTN_MULTICAST || chk == RTN_BROADCAST) sk->inet_saddr = 0;  // use the device's address
  if (sk->sk_prot->get_port(sk, addr->port) != 0) {
    sk->inet_saddr = sk->inet_rcv_saddr = 0;
    return -E_ADDRINUSE;
  }
  if (sk->inet_rcv_saddr) sk->sk_userlocks |= SOCK_BINDADDR_LOCK;
  if (addr->port) sk->sk_userlocks |= SOCK_BINDPORT_LOCK;
  sk->inet_sport = sk->inet_num;
  sk->inet_daddr = 0;
  sk->inet_dport = 0;
  sk->sk_dst_cache = nullptr;
  return 0;
}

int inet_dgram_connect(Socket* sock, const SockaddrIn* addr, int addr_len, int) {
  Sock* sk = sock->sk;
  if (addr_len < 2) return -E_INVAL;  // sizeof(sa_family)
  if (addr->family == AF_UNSPEC_) return sk->sk_prot->disconnect(sk, 0);
  if (!sk->inet_num && inet_autobind(sk) != 0) return -E_AGAIN;
  return sk->sk_prot->connect(sk, addr, addr_len);
}

int inet_getname(Socket* sock, SockaddrIn* out, int peer) {
  Sock* sk = sock->sk;
  *out = SockaddrIn{};
  out->family = AF_INET_;
  if (peer) {
    if (!sk->inet_dport || (((1 << sk->sk_state) & ((1 << TCP_CLOSE) | (1 << TCP_SYN_SENT))) && peer == 1))
      return -E_NOTCONN;
    out->port = sk->inet_dport;
    out->addr = sk->inet_daddr;
  } else {
    out->port = sk->inet_sport;
    out->addr = sk->inet_rcv_saddr ? sk->inet_rcv_saddr : sk->inet_saddr;
  }
  return SOCKADDR_IN_LEN;
}

int inet_shutdown(Socket* sock, int how) {
  Sock* sk = sock->sk;
  // SHUT_RD, SHUT_WR, SHUT_RDWR become RCV_SHUTDOWN, SEND_SHUTDOWN, both.
  how++;
  if ((how & ~SHUTDOWN_MASK) || !how) return -E_INVAL;
  int err = 0;
  if (sock->state == SS_CONNECTING) sock->state = SS_CONNECTED;
  // An unconnected datagram socket says ENOTCONN, and is shut down all the same
  // (so that pollers see EPOLLHUP).
  switch (sk->sk_state) {
    case TCP_CLOSE:
      err = -E_NOTCONN;
      [[fallthrough]];
    default:
      sk->sk_shutdown |= how;
      if (sk->sk_prot->shutdown) sk->sk_prot->shutdown(sk, how);
      break;
    // A listener shut for reading (or a connecting socket) is disconnected.
    case TCP_LISTEN:
      if (!(how & RCV_SHUTDOWN)) break;
      [[fallthrough]];
    case TCP_SYN_SENT:
      err = sk->sk_prot->disconnect(sk, O_NONBLOCK_);
      sock->state = err ? SS_CONNECTING : SS_UNCONNECTED;
      break;
  }
  sock_def_wakeup(sk);  // sk_state_change
  return err;
}

int inet_sendmsg(Socket* sock, const SendMsg& msg) {
  Sock* sk = sock->sk;
  // tcp_prot has no_autobind: only datagram sockets get a port here.
  if (!sk->inet_num && sk->sk_type == SOCK_DGRAM_ && inet_autobind(sk) != 0) return -E_AGAIN;
  return sk->sk_prot->sendmsg(sk, msg);
}

int inet_recvmsg(Socket* sock, RecvMsg& msg, int flags) {
  return sock->sk->sk_prot->recvmsg(sock->sk, msg, flags);
}

int sock_no_listen(Socket*, int) { return -E_OPNOTSUPP; }

// inet_listen: only an unconnected stream socket, closed or listening, may
// listen; a listener only takes the new backlog.
int inet_listen(Socket* sock, int backlog) {
  Sock* sk = sock->sk;
  if (sock->state != SS_UNCONNECTED || sock->type != SOCK_STREAM_) return -E_INVAL;
  const int old_state = sk->sk_state;
  if (old_state != TCP_CLOSE && old_state != TCP_LISTEN) return -E_INVAL;
  sk->sk_max_ack_backlog = uint32_t(backlog);
  if (old_state != TCP_LISTEN) return inet_csk_listen_start(sk);
  return 0;
}

// inet_accept (inet_csk_accept): the oldest child of the accept queue gets a
// socket and a descriptor of its own.
int inet_accept(Socket* sock) {
  Sock* sk = sock->sk;
  if (sk->sk_state != TCP_LISTEN) return -E_INVAL;
  TcpSock* tp = tcp_sk(sk);
  if (tp->icsk_accept_queue.empty()) return -E_AGAIN;
  std::unique_ptr<Sock> child = std::move(tp->icsk_accept_queue.front());
  tp->icsk_accept_queue.erase(tp->icsk_accept_queue.begin());
  sk->sk_ack_backlog--;
  return sock_attach_accepted(*sk->net, std::move(child), sock->ops, sock->type);
}

namespace {

constexpr uint64_t kConnectWaitStepNs = 1'000'000;  // how far a blocked connect lets the clock run between looks

// inet_wait_for_connect: a blocking connect lets the clock run while the
// handshake is in progress. false when it gave up with the handshake still
// going (SO_SNDTIMEO in Linux; here also when nothing is left to happen).
bool inet_wait_for_connect(Sock* sk) {
  Engine& engine = sk->net->engine;
  while ((1 << sk->sk_state) & ((1 << TCP_SYN_SENT) | (1 << TCP_SYN_RECV))) {
    if (!engine.softirq_pending() && !engine.timers_pending()) return false;
    engine.run_until(engine.now() + kConnectWaitStepNs);
  }
  return true;
}

}  // namespace

// __inet_stream_connect: the socket's state (SS_*) decides between a new
// connection (EINPROGRESS when non-blocking), one in progress (EALREADY) and
// one made (EISCONN); a connection that ended in CLOSE reports its error once
// (sock_error, else ECONNABORTED) and the socket is disconnected for reuse.
int inet_stream_connect(Socket* sock, const SockaddrIn* addr, int addr_len, int flags) {
  Sock* sk = sock->sk;
  int err;
  if (addr) {
    if (addr_len < 2) return -E_INVAL;  // sizeof(sa_family)
    if (addr->family == AF_UNSPEC_) {
      err = sk->sk_prot->disconnect(sk, flags);
      sock->state = err ? SS_DISCONNECTING : SS_UNCONNECTED;
      return err;
    }
  }
  switch (sock->state) {
    default:
      return -E_INVAL;
    case SS_CONNECTED:
      return -E_ISCONN;
    case SS_CONNECTING:
      err = -E_ALREADY;
      break;
    case SS_UNCONNECTED:
      // A listener, or any socket not closed, is "connected" already.
      if (sk->sk_state != TCP_CLOSE) return -E_ISCONN;
      err = sk->sk_prot->connect(sk, addr, addr_len);
      if (err < 0) return err;
      sock->state = SS_CONNECTING;
      err = -E_INPROGRESS;
      break;
  }
  if ((1 << sk->sk_state) & ((1 << TCP_SYN_SENT) | (1 << TCP_SYN_RECV))) {
    // sock_sndtimeo: 0 for O_NONBLOCK, else no limit.
    if ((flags & O_NONBLOCK_) || !inet_wait_for_connect(sk)) return err;
  }
  // Closed by a RST, a timeout or an ICMP error.
  if (sk->sk_state == TCP_CLOSE) {
    err = sock_error(sk);
    if (!err) err = -E_CONNABORTED;
    sock->state = SS_UNCONNECTED;
    if (sk->sk_prot->disconnect(sk, flags)) sock->state = SS_DISCONNECTING;
    return err;
  }
  sock->state = SS_CONNECTED;
  return 0;
}
int sock_no_accept(Socket*) { return -E_OPNOTSUPP; }

int sock_common_setsockopt(Socket* sock, int level, int optname, std::span<const uint8_t> optval) {
  if (level == SOL_SOCKET_) return sock_setsockopt(sock, optname, optval);
  return sock->sk->sk_prot->setsockopt(sock->sk, level, optname, optval);
}

int sock_common_getsockopt(Socket* sock, int level, int optname, uint8_t* optval, int* optlen) {
  if (level == SOL_SOCKET_) return sock_getsockopt(sock, optname, optval, optlen);
  return sock->sk->sk_prot->getsockopt(sock->sk, level, optname, optval, optlen);
}

// datagram_poll (udp_poll is it plus the first_packet_length check, done by the caller).
unsigned datagram_poll(Socket* sock) {
  Sock* sk = sock->sk;
  unsigned mask = 0;
  if (sk->sk_err || !sk->sk_error_queue.empty()) mask |= POLLERR_;
  if (sk->sk_shutdown & RCV_SHUTDOWN) mask |= POLLRDHUP_ | POLLIN_ | POLLRDNORM_;
  if (sk->sk_shutdown == SHUTDOWN_MASK) mask |= POLLHUP_;
  if (!sk->sk_receive_queue.empty()) mask |= POLLIN_ | POLLRDNORM_;
  if (sock_writeable(sk)) mask |= POLLOUT_ | POLLWRNORM_ | POLLWRBAND_;
  return mask;
}

const ProtoOps inet_dgram_ops = {
    AF_INET_,        inet_release,   inet_bind,   inet_dgram_connect, sock_no_accept, inet_getname, datagram_poll,
    sock_no_listen,  inet_shutdown,  sock_common_setsockopt, sock_common_getsockopt, inet_sendmsg, inet_recvmsg,
};

const ProtoOps inet_sockraw_ops = {
    AF_INET_,        inet_release,   inet_bind,   inet_dgram_connect, sock_no_accept, inet_getname, datagram_poll,
    sock_no_listen,  inet_shutdown,  sock_common_setsockopt, sock_common_getsockopt, inet_sendmsg, inet_recvmsg,
};

// inet_stream_ops: TCP's table.
const ProtoOps inet_stream_ops = {
    AF_INET_,        inet_release,   inet_bind,   inet_stream_connect, inet_accept, inet_getname, tcp_poll,
    inet_listen,     inet_shutdown,  sock_common_setsockopt, sock_common_getsockopt, inet_sendmsg, inet_recvmsg,
};

namespace {

// struct inet_protosw: one row of inetsw.
struct InetProtosw {
  int type;
  int protocol;  // IPPROTO_IP: any
  Proto* prot;
  const ProtoOps* ops;
};

}  // namespace

int inet_create(Net& net, Socket* sock, int protocol, std::unique_ptr<Sock>& out) {
  static const InetProtosw inetsw[] = {
      {SOCK_STREAM_, IPPROTO_TCP_, &tcp_prot, &inet_stream_ops},
      {SOCK_DGRAM_, IPPROTO_UDP_, &udp_prot, &inet_dgram_ops},
      {SOCK_DGRAM_, IPPROTO_ICMP_, nullptr, &inet_sockraw_ops},  // ping_prot
      {SOCK_RAW_, IPPROTO_IP_, &raw_prot, &inet_sockraw_ops},
  };
  if (protocol < 0 || protocol >= IPPROTO_MAX_) return -E_INVAL;
  sock->state = SS_UNCONNECTED;
  const InetProtosw* answer = nullptr;
  int err = -E_SOCKTNOSUPPORT;
  for (const InetProtosw& a : inetsw) {
    if (a.type != sock->type) continue;
    err = 0;
    if (protocol == a.protocol) {
      if (protocol != IPPROTO_IP_) { answer = &a; break; }
    } else {
      if (protocol == IPPROTO_IP_) { protocol = a.protocol; answer = &a; break; }
      if (a.protocol == IPPROTO_IP_) { answer = &a; break; }
    }
    err = -E_PROTONOSUPPORT;
  }
  if (!answer) return err;
  if (answer->protocol == IPPROTO_ICMP_) return -E_ACCES;  // ping_group_range "1 0": nobody may
  sock->ops = answer->ops;
  std::unique_ptr<Sock> sk(answer->prot->obj_alloc ? answer->prot->obj_alloc() : new Sock);
  sk->net = &net;
  sk->sk_prot = answer->prot;
  sk->sk_protocol = protocol;
  sk->sk_family = AF_INET_;
  sk->pmtudisc = net.sysctl.ip_no_pmtu_disc ? IP_PMTUDISC_DONT_ : IP_PMTUDISC_WANT_;
  if (sock->type == SOCK_RAW_) {
    sk->inet_num = uint16_t(protocol);
    sk->inet_sport = uint16_t(protocol);  // what getsockname reports as the "port"
    if (protocol == IPPROTO_RAW_) sk->hdrincl = true;
  }
  sock_init_data(sock, sk.get());
  if (sk->sk_prot->init) {
    if (int e = sk->sk_prot->init(sk.get()); e != 0) return e;
  }
  out = std::move(sk);
  return 0;
}

}  // namespace nettwin
