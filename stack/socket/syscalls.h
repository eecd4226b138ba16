// The socket system calls, as a process in the DUT makes them (net/socket.c):
// each takes a descriptor from the Net's table and returns what the syscall
// returns - a value >= 0, or -errno with Linux's errno numbers.
//
// Time is virtual: a call that would block (a blocking recvmsg or poll with
// nothing to read) runs the stack's clock forward until it can complete or
// until timeout_ns has passed, then fails with -EAGAIN as a timed-out
// SO_RCVTIMEO read does.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "socket/sock.h"

namespace nettwin {

class Net;

int sys_socket(Net& net, int family, int type, int protocol);
int sys_bind(Net& net, int fd, const SockaddrIn& addr, int addrlen);
// bind with a struct sockaddr_ll (AF_PACKET sockets; other families see an
// address of family AF_PACKET and addrlen bytes).
int sys_bind_ll(Net& net, int fd, const SockaddrLl& addr, int addrlen);
// getsockname on an AF_PACKET socket.
int sys_getsockname_ll(Net& net, int fd, SockaddrLl* addr);
// The descriptor's address family (sk_family), or -EBADF.
int sys_sock_family(Net& net, int fd);
int sys_connect(Net& net, int fd, const SockaddrIn& addr, int addrlen);
int sys_listen(Net& net, int fd, int backlog);
int sys_accept(Net& net, int fd);
// accept4: the new descriptor (flags SOCK_NONBLOCK), with the peer's address in
// *peer when peer is not null. A blocking accept with an empty queue runs the
// clock until a connection arrives or timeout_ns has passed (-EAGAIN).
int sys_accept4(Net& net, int fd, SockaddrIn* peer, int flags, uint64_t timeout_ns);
// sendto and sendmsg (one iovec): the bytes sent. A blocking send with a full
// send buffer (sk_wmem_alloc >= sk_sndbuf) runs the clock until room appears;
// if nothing is left to happen that could free room, or after 60 s of virtual
// time, it fails with -EAGAIN as a timed-out SO_SNDTIMEO send does.
// Non-blocking (O_NONBLOCK, MSG_DONTWAIT): -EAGAIN at once.
int sys_sendmsg(Net& net, int fd, const SendMsg& msg);
// recvfrom and recvmsg: the bytes received (or the datagram's length with MSG_TRUNC).
int sys_recvmsg(Net& net, int fd, RecvMsg& msg, int flags, uint64_t timeout_ns);
int sys_shutdown(Net& net, int fd, int how);
int sys_close(Net& net, int fd);
int sys_setsockopt(Net& net, int fd, int level, int optname, int val, int optlen);
int sys_getsockopt(Net& net, int fd, int level, int optname, int* val);
// setsockopt / getsockopt with the option value as the bytes a program passes
// (a string for TCP_CONGESTION, struct linger, struct tcp_info; an int is its 4
// bytes in host order). getsockopt: optlen is the caller's buffer size; optval
// is set to the bytes the kernel wrote (its new length is the returned optlen).
int sys_setsockopt_bytes(Net& net, int fd, int level, int optname, std::span<const uint8_t> optval);
int sys_getsockopt_bytes(Net& net, int fd, int level, int optname, unsigned optlen, std::vector<uint8_t>& optval);
int sys_getsockname(Net& net, int fd, SockaddrIn* addr);
int sys_getpeername(Net& net, int fd, SockaddrIn* addr);
// poll on one descriptor: the ready events among `events` (POLLERR/POLLHUP always), 0 on timeout.
int sys_poll(Net& net, int fd, unsigned events, uint64_t timeout_ns);
// fcntl(F_GETFL) / fcntl(F_SETFL): only O_NONBLOCK means anything here.
int sys_fcntl_getfl(Net& net, int fd);
int sys_fcntl_setfl(Net& net, int fd, int flags);
// ioctl(fd, cmd, &karg) on a socket (sock_do_ioctl, inet_ioctl, sk_ioctl): the
// protocol answers in *karg; a request it does not know is ENOTTY.
int sys_ioctl(Net& net, int fd, unsigned cmd, int* karg);

}  // namespace nettwin
