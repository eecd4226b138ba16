// net/socket.c: the system calls, a descriptor table, and the waits of
// blocking calls (on the virtual clock).
#include <algorithm>
#include <cstring>

#include "core/net.h"
#include "ipv4/udp.h"
#include "packet/af_packet.h"
#include "socket/af_inet.h"
#include "socket/eventpoll.h"
#include "socket/syscalls.h"

namespace nettwin {

int udp_first_packet_length(Sock* sk);

namespace {

constexpr uint64_t kWaitStepNs = 1'000'000;  // how far a blocked call lets the clock run between looks

Socket* sockfd_lookup(Net& net, int fd) {
  auto it = net.sock.files.find(fd);
  return it == net.sock.files.end() ? nullptr : it->second.get();
}

// The lowest free descriptor gets sock (alloc_fd: from next_fd up; 0-2 are a
// process's standard streams).
int fd_install(Net& net, std::unique_ptr<Socket> sock) {
  const int fd = net.sock.get_unused_fd();
  net.sock.files[fd] = std::move(sock);
  return fd;
}

// What a socket call on a descriptor that names no socket fails with: an
// eventpoll is a file but not a socket (sockfd_lookup's ENOTSOCK).
int sockfd_error(Net& net, int fd) { return net.sock.epolls.count(fd) ? -E_NOTSOCK : -E_BADF; }

}  // namespace

// sock_poll: the family's poll (proto_ops.poll: tcp_poll, datagram_poll),
// with udp_poll's check of the first datagram for a blocked reader.
unsigned sock_poll(Socket* sock) {
  unsigned mask = sock->ops->poll(sock);
  Sock* sk = sock->sk;
  if ((mask & POLLRDNORM_) && !(sock->file_flags & O_NONBLOCK_) && !(sk->sk_shutdown & RCV_SHUTDOWN) &&
      sk->sk_protocol == IPPROTO_UDP_ && udp_first_packet_length(sk) == -1)
    mask &= ~(POLLIN_ | POLLRDNORM_);
  return mask;
}

SockNet::SockNet() = default;

int SockNet::get_unused_fd() {
  int fd = next_fd;  // 0-2 are a process's standard streams
  while (files.count(fd) || epolls.count(fd)) ++fd;
  next_fd = fd + 1;
  return fd;
}

SockNet::~SockNet() {
  // The stack is going away: queued skbs go back to the pool untraced.
  tearing_down = true;
  for (auto& sk : socks_alive) {
    while (SkBuff* skb = sk->sk_receive_queue.pop_front()) __kfree_skb(skb);
    while (SkBuff* skb = sk->sk_error_queue.pop_front()) __kfree_skb(skb);
    while (SkBuff* skb = sk->cork_queue.pop_front()) __kfree_skb(skb);
  }
}

void SockNet::sk_destruct(Sock* sk) {
  if (tearing_down) return;  // the vectors free everything at once
  socks_dying.erase(std::remove_if(socks_dying.begin(), socks_dying.end(),
                                   [&](const std::unique_ptr<Sock>& p) { return p.get() == sk; }),
                    socks_dying.end());
}

void sk_free(Sock* sk) {
  auto& alive = sk->net->sock.socks_alive;
  auto it = std::find_if(alive.begin(), alive.end(), [&](const std::unique_ptr<Sock>& p) { return p.get() == sk; });
  if (it == alive.end()) return;
  std::unique_ptr<Sock> owned = std::move(*it);
  alive.erase(it);
  // sk_wmem_alloc holds a reference: skbs still in a qdisc, a ring or an
  // arp_queue point at this sock until they are freed.
  // An orphaned TCP connection lives on (FIN_WAIT, LAST_ACK...) until
  // inet_csk_destroy_sock lets it go.
  const bool tcp_alive = sk->sk_type == SOCK_STREAM_ && sk->sk_protocol == IPPROTO_TCP_ && sk->sk_state != TCP_CLOSE;
  if (sk->sk_wmem_alloc > 0 || (sk->sk_tsq_flags & TSQF_QUEUED) || tcp_alive) {
    sk->sk_free_deferred = !tcp_alive;
    sk->sk_socket = nullptr;
    sk->net->sock.socks_dying.push_back(std::move(owned));
  }
}

void SockNet::append_counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  const UdpMib& m = udp_mib;
  out.insert(out.end(), {{"Udp.InDatagrams", m.InDatagrams}, {"Udp.NoPorts", m.NoPorts},
                         {"Udp.InErrors", m.InErrors}, {"Udp.OutDatagrams", m.OutDatagrams},
                         {"Udp.RcvbufErrors", m.RcvbufErrors}, {"Udp.SndbufErrors", m.SndbufErrors},
                         {"Udp.InCsumErrors", m.InCsumErrors}, {"Udp.IgnoredMulti", m.IgnoredMulti},
                         {"Udp.MemErrors", m.MemErrors}});
}

int sys_socket(Net& net, int family, int type, int protocol) {
  const int flags = type & ~SOCK_TYPE_MASK_;
  if (flags & ~(SOCK_CLOEXEC_ | SOCK_NONBLOCK_)) return -E_INVAL;
  type &= SOCK_TYPE_MASK_;
  if (family < 0 || family >= 46) return -E_AFNOSUPPORT;  // NPROTO
  if (type < 0 || type >= SOCK_MAX_) return -E_INVAL;
  if (family != AF_INET_ && family != AF_PACKET_) return -E_AFNOSUPPORT;  // the families this stack has
  auto sock = std::make_unique<Socket>();
  sock->type = type;
  std::unique_ptr<Sock> sk;
  const int err = family == AF_PACKET_ ? packet_create(net, sock.get(), protocol, sk)
                                       : inet_create(net, sock.get(), protocol, sk);
  if (err) return err;
  if (flags & SOCK_NONBLOCK_) sock->file_flags |= O_NONBLOCK_;
  net.sock.socks_alive.push_back(std::move(sk));
  return fd_install(net, std::move(sock));
}

int sock_attach_accepted(Net& net, std::unique_ptr<Sock> child, const ProtoOps* ops, int type) {
  auto sock = std::make_unique<Socket>();
  sock->type = type;
  sock->ops = ops;
  sock->state = SS_CONNECTED;
  sock->sk = child.get();
  child->sk_socket = sock.get();  // sock_graft
  net.sock.socks_alive.push_back(std::move(child));
  return fd_install(net, std::move(sock));
}

int sys_bind(Net& net, int fd, const SockaddrIn& addr, int addrlen) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  if (addrlen < 0 || addrlen > 128) return -E_INVAL;  // move_addr_to_kernel
  return sock->ops->bind(sock, &addr, addrlen);
}

int sys_bind_ll(Net& net, int fd, const SockaddrLl& addr, int addrlen) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  if (addrlen < 0 || addrlen > 128) return -E_INVAL;
  if (sock->ops->family == AF_PACKET_) return packet_bind_ll(sock, &addr, addrlen);
  SockaddrIn in;  // what another family reads from the same bytes: only the family matters
  in.family = addr.family;
  return sock->ops->bind(sock, &in, addrlen);
}

int sys_getsockname_ll(Net& net, int fd, SockaddrLl* addr) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  if (sock->ops->family != AF_PACKET_) return -E_INVAL;
  const int r = packet_getname_ll(sock, addr, 0);
  return r < 0 ? r : 0;
}

int sys_sock_family(Net& net, int fd) {
  Socket* sock = sockfd_lookup(net, fd);
  return sock ? sock->ops->family : -E_BADF;
}

int sys_connect(Net& net, int fd, const SockaddrIn& addr, int addrlen) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  if (addrlen < 0 || addrlen > 128) return -E_INVAL;
  return sock->ops->connect(sock, &addr, addrlen, sock->file_flags);
}

int sys_listen(Net& net, int fd, int backlog) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  // __sys_listen: the backlog is clamped to net.core.somaxconn (as unsigned).
  const int64_t somaxconn = net.sysctl.somaxconn;
  if (uint32_t(backlog) > uint64_t(somaxconn)) backlog = int(somaxconn);
  return sock->ops->listen(sock, backlog);
}

int sys_accept(Net& net, int fd) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  return sock->ops->accept(sock);
}

int sys_accept4(Net& net, int fd, SockaddrIn* peer, int flags, uint64_t timeout_ns) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  if (flags & ~(SOCK_NONBLOCK_ | SOCK_CLOEXEC_)) return -E_INVAL;
  const uint64_t deadline = net.engine.now() + timeout_ns;
  for (;;) {
    const int newfd = sock->ops->accept(sock);
    if (newfd == -E_AGAIN && !(sock->file_flags & O_NONBLOCK_) && net.engine.now() < deadline) {
      net.engine.run_until(std::min(deadline, net.engine.now() + kWaitStepNs));
      continue;
    }
    if (newfd < 0) return newfd;
    if (flags & SOCK_NONBLOCK_) sockfd_lookup(net, newfd)->file_flags |= O_NONBLOCK_;
    if (peer) sys_getpeername(net, newfd, peer);
    return newfd;
  }
}

int sys_sendmsg(Net& net, int fd, const SendMsg& msg) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  if ((msg.name || msg.ll_name) && (msg.namelen < 0 || msg.namelen > 128)) return -E_INVAL;
  SendMsg m = msg;
  SockaddrIn ll_as_in;
  if (m.ll_name && sock->ops->family != AF_PACKET_) {
    ll_as_in.family = m.ll_name->family;  // another family sees an AF_PACKET address
    m.name = &ll_as_in;
    m.ll_name = nullptr;
  }
  if (sock->file_flags & O_NONBLOCK_) m.flags |= MSG_DONTWAIT_;
  return sock->ops->sendmsg(sock, m);
}

int sys_recvmsg(Net& net, int fd, RecvMsg& msg, int flags, uint64_t timeout_ns) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  const bool nonblock = (sock->file_flags & O_NONBLOCK_) || (flags & MSG_DONTWAIT_);
  const uint64_t deadline = net.engine.now() + timeout_ns;
  for (;;) {
    // Each attempt starts from an empty message; msg.data keeps its capacity
    // so that a steady reader does not allocate per datagram.
    msg.data.clear();
    msg.name.reset();
    msg.ll_name.reset();
    msg.flags = 0;
    msg.ee.reset();
    const int ret = sock->ops->recvmsg(sock, msg, nonblock ? (flags | MSG_DONTWAIT_) : flags);
    if (ret != -E_AGAIN || nonblock || (flags & MSG_ERRQUEUE_) || net.engine.now() >= deadline) return ret;
    // Blocked: let the stack run (softirqs, timers) until data or the deadline.
    net.engine.run_until(std::min(deadline, net.engine.now() + kWaitStepNs));
  }
}

int sys_shutdown(Net& net, int fd, int how) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  return sock->ops->shutdown(sock, how);
}

int sys_close(Net& net, int fd) {
  if (auto ep = net.sock.epolls.find(fd); ep != net.sock.epolls.end()) {
    ep_free(ep->second.get());
    net.sock.epolls.erase(ep);
    net.sock.next_fd = std::min(net.sock.next_fd, fd);  // __put_unused_fd
    return 0;
  }
  auto it = net.sock.files.find(fd);
  if (it == net.sock.files.end()) return -E_BADF;
  Socket* sock = it->second.get();
  Sock* sk = sock->sk;
  eventpoll_release(sock);  // __fput: every eventpoll forgets the descriptor
  sock->ops->release(sock);
  if (sk) sk->sk_socket = nullptr;  // sock_orphan
  net.sock.files.erase(it);
  net.sock.next_fd = std::min(net.sock.next_fd, fd);  // __put_unused_fd
  if (sk) sk_free(sk);
  return 0;
}

// An int value with optlen bytes behind it (zero past the int), as a program's
// buffer would be.
int sys_setsockopt(Net& net, int fd, int level, int optname, int val, int optlen) {
  if (optlen < 0) return sockfd_lookup(net, fd) ? -E_INVAL : -E_BADF;
  std::vector<uint8_t> buf(std::max<size_t>(size_t(optlen), sizeof(val)));
  std::memcpy(buf.data(), &val, sizeof(val));
  return sys_setsockopt_bytes(net, fd, level, optname, {buf.data(), size_t(optlen)});
}

int sys_getsockopt(Net& net, int fd, int level, int optname, int* val) {
  std::vector<uint8_t> out;
  const int r = sys_getsockopt_bytes(net, fd, level, optname, sizeof(int), out);
  if (r < 0) return r;
  *val = 0;
  std::memcpy(val, out.data(), std::min(out.size(), sizeof(int)));
  return 0;
}

int sys_setsockopt_bytes(Net& net, int fd, int level, int optname, std::span<const uint8_t> optval) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  return sock->ops->setsockopt(sock, level, optname, optval);
}

int sys_getsockopt_bytes(Net& net, int fd, int level, int optname, unsigned optlen, std::vector<uint8_t>& optval) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  // An optlen past INT_MAX reads as negative, as the kernel's int does (TCP's
  // int options then still copy sizeof(int) bytes): the buffer has room for
  // the largest option whatever optlen says.
  constexpr size_t kLargestOption = 512;  // struct tcp_info is 280 bytes
  int len = int(optlen);
  optval.assign(std::max(len > 0 ? size_t(len) : 0, kLargestOption), 0);
  const int r = sock->ops->getsockopt(sock, level, optname, optval.data(), &len);
  if (r < 0) {
    optval.clear();
    return r;
  }
  optval.resize(size_t(len));
  return 0;
}

int sys_getsockname(Net& net, int fd, SockaddrIn* addr) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  const int r = sock->ops->getname(sock, addr, 0);
  return r < 0 ? r : 0;
}

int sys_getpeername(Net& net, int fd, SockaddrIn* addr) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  const int r = sock->ops->getname(sock, addr, 1);
  return r < 0 ? r : 0;
}

int sys_poll(Net& net, int fd, unsigned events, uint64_t timeout_ns) {
  Socket* sock = sockfd_lookup(net, fd);
  auto ep = net.sock.epolls.find(fd);
  if (!sock && ep == net.sock.epolls.end()) return int(0x20);  // POLLNVAL, as poll() reports a closed descriptor
  const uint64_t deadline = net.engine.now() + timeout_ns;
  for (;;) {
    const unsigned mask = sock ? sock_poll(sock) : ep_eventpoll_poll(ep->second.get());
    const unsigned ready = mask & (events | POLLERR_ | POLLHUP_);
    if (ready || net.engine.now() >= deadline) return int(ready);
    net.engine.run_until(std::min(deadline, net.engine.now() + kWaitStepNs));
  }
}

int sys_fcntl_getfl(Net& net, int fd) {
  if (net.sock.epolls.count(fd)) return 02;  // an eventpoll's file is O_RDWR
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  return 02 | sock->file_flags;  // O_RDWR
}

int sys_ioctl(Net& net, int fd, unsigned cmd, int* karg) {
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  Sock* sk = sock->sk;
  const int err = sk && sk->sk_prot->ioctl ? sk->sk_prot->ioctl(sk, cmd, karg) : -E_NOIOCTLCMD;
  return err == -E_NOIOCTLCMD ? -E_NOTTY : err;
}

int sys_fcntl_setfl(Net& net, int fd, int flags) {
  if (net.sock.epolls.count(fd)) return 0;  // O_NONBLOCK means nothing to epoll_wait
  Socket* sock = sockfd_lookup(net, fd);
  if (!sock) return sockfd_error(net, fd);
  sock->file_flags = (sock->file_flags & ~O_NONBLOCK_) | (flags & O_NONBLOCK_);
  return 0;
}

}  // namespace nettwin
