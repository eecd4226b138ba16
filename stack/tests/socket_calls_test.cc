// One behaviour per test: each socket call's documented Linux result
// (socket(2), bind(2), connect(2), send(2), recv(2), shutdown(2), getsockopt(2),
// poll(2), socket(7), udp(7), ip(7)) and the kernel source behind it
// (net/socket.c, net/ipv4/af_inet.c, udp.c, datagram.c, net/core/sock.c).
// udp_socket_test.cc covers the receive and send paths these calls drive.
#include <gtest/gtest.h>

#include <vector>

#include "core/net.h"
#include "socket/eventpoll.h"
#include "socket/syscalls.h"
#include "test_helpers.h"

namespace nettwin::test {
namespace {

constexpr int AF_INET = 2, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5;
constexpr uint32_t kUnroutable = 0xcb007105;   // 203.0.113.5: no route (the DUT has no default)
constexpr uint32_t kSubnetBcast = 0xc63364ff;  // 198.51.100.255

SockaddrIn sin(uint32_t ip, uint16_t port, int family = AF_INET) {
  SockaddrIn a;
  a.family = family;
  a.addr = ip;
  a.port = port;
  return a;
}

struct SocketCallsTest : ::testing::Test {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();
  const uint8_t data[5] = {'h', 'e', 'l', 'l', 'o'};

  int udp(int flags = 0) { return sys_socket(net, AF_INET, SOCK_DGRAM | flags, 0); }
  int sendto(int fd, const SockaddrIn* to, int flags = 0) {
    SendMsg m;
    m.data = data;
    m.name = to;
    m.namelen = to ? 16 : 0;
    m.flags = flags;
    return sys_sendmsg(net, fd, m);
  }
  int recv(int fd, int flags, size_t len = 100, RecvMsg* out = nullptr) {
    RecvMsg m;
    m.len = len;
    const int r = sys_recvmsg(net, fd, m, flags, 0);
    if (out) *out = std::move(m);
    return r;
  }
  void learn_tester() {
    d.inject(arp_request(kTesterIp, kDutIp));
    d.stack.advance(1'000'000);
    d.stack.take_wire();
  }
  // A datagram from the tester (198.51.100.1:4000) to the DUT's port.
  void deliver(uint16_t dport, size_t len) {
    Bytes f(14 + 28 + len, 0);
    std::copy(kDutMac.begin(), kDutMac.end(), f.begin());
    std::copy(kTesterMac.begin(), kTesterMac.end(), f.begin() + 6);
    f[12] = 0x08;
    uint8_t* ip = f.data() + 14;
    ip[0] = 0x45;
    ip[2] = uint8_t((28 + len) >> 8);
    ip[3] = uint8_t(28 + len);
    ip[8] = 64;
    ip[9] = 17;
    for (int i = 0; i < 4; ++i) ip[12 + i] = uint8_t(kTesterIp >> (24 - 8 * i)), ip[16 + i] = uint8_t(kDutIp >> (24 - 8 * i));
    const uint16_t c = inet_csum(ip, 20);
    ip[10] = uint8_t(c >> 8), ip[11] = uint8_t(c);
    uint8_t* u = ip + 20;
    u[0] = 4000 >> 8, u[1] = 4000 & 0xff;
    u[2] = uint8_t(dport >> 8), u[3] = uint8_t(dport);
    u[4] = uint8_t((8 + len) >> 8), u[5] = uint8_t(8 + len);  // checksum 0: none
    for (size_t i = 0; i < len; ++i) u[8 + i] = uint8_t('a' + i % 26);
    d.inject(f);
    d.stack.advance(1'000'000);
  }
  Sock* sk(int fd) { return net.sock.files.at(fd)->sk; }
};

// ---------------------------------------------------------------- socket

TEST_F(SocketCallsTest, NewDescriptorIsTheLowestFree) {
  std::vector<int> fds;
  for (int i = 0; i < 6; ++i) fds.push_back(udp());
  EXPECT_EQ(fds, (std::vector<int>{3, 4, 5, 6, 7, 8}));
  ASSERT_EQ(sys_close(net, 6), 0);
  ASSERT_EQ(sys_close(net, 4), 0);
  EXPECT_EQ(udp(), 4);
  EXPECT_EQ(udp(), 6);
  EXPECT_EQ(udp(), 9);
  ASSERT_EQ(sys_close(net, 3), 0);
  EXPECT_EQ(udp(), 3);
  EXPECT_EQ(udp(), 10);
}

// An eventpoll takes its number from the same table (get_unused_fd_flags) and gives it back.
TEST_F(SocketCallsTest, EpollAndSocketsShareTheLowestFreeDescriptor) {
  EXPECT_EQ(udp(), 3);
  EXPECT_EQ(sys_epoll_create1(net, 0), 4);
  EXPECT_EQ(udp(), 5);
  ASSERT_EQ(sys_close(net, 4), 0);
  EXPECT_EQ(udp(), 4);
  ASSERT_EQ(sys_close(net, 3), 0);
  EXPECT_EQ(sys_epoll_create(net, 1), 3);
  EXPECT_EQ(udp(), 6);
}

TEST_F(SocketCallsTest, SocketUnknownFamilyIsEafnosupport) {
  EXPECT_EQ(sys_socket(net, 10, SOCK_DGRAM, 0), -E_AFNOSUPPORT);   // AF_INET6: not in this stack
  EXPECT_EQ(sys_socket(net, 46, SOCK_DGRAM, 0), -E_AFNOSUPPORT);   // >= NPROTO
}

TEST_F(SocketCallsTest, SocketTypeWithoutInetswRowIsEsocktnosupport) {
  EXPECT_EQ(sys_socket(net, AF_INET, SOCK_SEQPACKET, 0), -E_SOCKTNOSUPPORT);
}

TEST_F(SocketCallsTest, SocketWrongProtocolForTypeIsEprotonosupport) {
  EXPECT_EQ(sys_socket(net, AF_INET, SOCK_DGRAM, IPPROTO_TCP_), -E_PROTONOSUPPORT);
  EXPECT_EQ(sys_socket(net, AF_INET, SOCK_DGRAM, IPPROTO_UDP_), 3);  // the right one is fine
}

TEST_F(SocketCallsTest, SockNonblockMakesTheDescriptorNonBlocking) {
  const int fd = udp(SOCK_NONBLOCK_);
  EXPECT_EQ(sys_fcntl_getfl(net, fd) & O_NONBLOCK_, O_NONBLOCK_);
  ASSERT_EQ(sys_bind(net, fd, sin(kDutIp, 5000), 16), 0);
  const uint64_t t0 = d.stack.now_ns();
  RecvMsg m;
  m.len = 10;
  EXPECT_EQ(sys_recvmsg(net, fd, m, 0, 1'000'000'000), -E_AGAIN);  // no wait
  EXPECT_EQ(d.stack.now_ns(), t0);
  EXPECT_EQ(sys_fcntl_getfl(net, udp()) & O_NONBLOCK_, 0);
}

// ---------------------------------------------------------------- bind

TEST_F(SocketCallsTest, BindShortAddressIsEinval) {
  EXPECT_EQ(sys_bind(net, udp(), sin(kDutIp, 5000), 15), -E_INVAL);
}

TEST_F(SocketCallsTest, BindTwiceIsEinval) {
  const int fd = udp();
  ASSERT_EQ(sys_bind(net, fd, sin(0, 5000), 16), 0);
  EXPECT_EQ(sys_bind(net, fd, sin(0, 5001), 16), -E_INVAL);
}

TEST_F(SocketCallsTest, BindAfterAutobindIsEinval) {
  const int fd = udp();
  learn_tester();
  const SockaddrIn to = sin(kTesterIp, 4000);
  ASSERT_EQ(sendto(fd, &to), 5);  // inet_autobind gave it a port
  EXPECT_EQ(sys_bind(net, fd, sin(0, 5000), 16), -E_INVAL);
}

TEST_F(SocketCallsTest, BindForeignAddressIsEaddrnotavail) {
  EXPECT_EQ(sys_bind(net, udp(), sin(kTesterIp, 5000), 16), -E_ADDRNOTAVAIL);
}

// do_ip_setsockopt(IP_FREEBIND) and __inet_bind's inet_addr_valid_or_nonlocal: a
// socket with FREEBIND binds an address no device has; the option reads back.
TEST_F(SocketCallsTest, InetBindForeignAddressWithIpFreebind) {
  const int fd = udp();
  int val = -1;
  ASSERT_EQ(sys_getsockopt(net, fd, SOL_IP_, IP_FREEBIND_, &val), 0);
  EXPECT_EQ(val, 0);
  EXPECT_EQ(sys_setsockopt(net, fd, SOL_IP_, IP_FREEBIND_, 1, 0), -E_INVAL);  // optlen < 1
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_IP_, IP_FREEBIND_, 1, 4), 0);
  ASSERT_EQ(sys_getsockopt(net, fd, SOL_IP_, IP_FREEBIND_, &val), 0);
  EXPECT_EQ(val, 1);
  EXPECT_EQ(sys_bind(net, fd, sin(kUnroutable, 5000), 16), 0);
}

TEST_F(SocketCallsTest, BindUnspecWithAnyIsAcceptedOtherwiseEafnosupport) {
  EXPECT_EQ(sys_bind(net, udp(), sin(kDutIp, 5000, AF_UNSPEC_), 16), -E_AFNOSUPPORT);
  EXPECT_EQ(sys_bind(net, udp(), sin(0, 5000, AF_UNSPEC_), 16), 0);
}

TEST_F(SocketCallsTest, BindTakenPortIsEaddrinuse) {
  ASSERT_EQ(sys_bind(net, udp(), sin(kDutIp, 5000), 16), 0);
  EXPECT_EQ(sys_bind(net, udp(), sin(kDutIp, 5000), 16), -E_ADDRINUSE);
}

TEST_F(SocketCallsTest, BindPortZeroPicksFromIpLocalPortRange) {
  net.sock.port_range_low = 40000;
  net.sock.port_range_high = 40001;
  const int a = udp(), b = udp(), c = udp();
  ASSERT_EQ(sys_bind(net, a, sin(0, 0), 16), 0);
  ASSERT_EQ(sys_bind(net, b, sin(0, 0), 16), 0);
  SockaddrIn na, nb;
  sys_getsockname(net, a, &na);
  sys_getsockname(net, b, &nb);
  EXPECT_NE(na.port, nb.port);
  for (uint16_t p : {na.port, nb.port}) EXPECT_TRUE(p == 40000 || p == 40001) << p;
  EXPECT_EQ(sys_bind(net, c, sin(0, 0), 16), -E_ADDRINUSE);  // the range is used up
}

TEST_F(SocketCallsTest, ReuseaddrOnBothUdpSocketsSharesThePort) {
  const int a = udp(), b = udp();
  ASSERT_EQ(sys_setsockopt(net, a, SOL_SOCKET_, SO_REUSEADDR_, 1, 4), 0);
  ASSERT_EQ(sys_setsockopt(net, b, SOL_SOCKET_, SO_REUSEADDR_, 1, 4), 0);
  ASSERT_EQ(sys_bind(net, a, sin(0, 5000), 16), 0);
  EXPECT_EQ(sys_bind(net, b, sin(0, 5000), 16), 0);
  int v = 0;
  EXPECT_EQ(sys_getsockopt(net, b, SOL_SOCKET_, SO_REUSEADDR_, &v), 0);
  EXPECT_EQ(v, 1);
}

TEST_F(SocketCallsTest, ClosingFreesThePort) {
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, sin(0, 5000), 16), 0);
  ASSERT_EQ(sys_close(net, a), 0);
  EXPECT_EQ(sys_close(net, a), -E_BADF);
  EXPECT_EQ(sys_bind(net, udp(), sin(0, 5000), 16), 0);
}

// ---------------------------------------------------------------- connect

TEST_F(SocketCallsTest, ConnectOtherFamilyIsEafnosupport) {
  EXPECT_EQ(sys_connect(net, udp(), sin(kTesterIp, 4000, 10), 16), -E_AFNOSUPPORT);
}

TEST_F(SocketCallsTest, ConnectShortAddressIsEinval) {
  EXPECT_EQ(sys_connect(net, udp(), sin(kTesterIp, 4000), 8), -E_INVAL);
}

TEST_F(SocketCallsTest, ConnectWithoutRouteIsEnetunreach) {
  const uint64_t noroutes = d.counter("Ip.OutNoRoutes");
  EXPECT_EQ(sys_connect(net, udp(), sin(kUnroutable, 4000), 16), -E_NETUNREACH);
  EXPECT_EQ(d.counter("Ip.OutNoRoutes"), noroutes + 1);
}

TEST_F(SocketCallsTest, ConnectBroadcastWithoutSoBroadcastIsEacces) {
  const int fd = udp();
  EXPECT_EQ(sys_connect(net, fd, sin(kSubnetBcast, 4000), 16), -E_ACCES);
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_BROADCAST_, 1, 4), 0);
  EXPECT_EQ(sys_connect(net, fd, sin(kSubnetBcast, 4000), 16), 0);
}

TEST_F(SocketCallsTest, ConnectAutobindsAndPicksTheSource) {
  const int fd = udp();
  ASSERT_EQ(sys_connect(net, fd, sin(kTesterIp, 4000), 16), 0);
  SockaddrIn me, peer;
  ASSERT_EQ(sys_getsockname(net, fd, &me), 0);
  EXPECT_EQ(me.addr, kDutIp);
  EXPECT_GE(me.port, 32768);
  ASSERT_EQ(sys_getpeername(net, fd, &peer), 0);
  EXPECT_EQ(peer.addr, kTesterIp);
  EXPECT_EQ(peer.port, 4000);
}

TEST_F(SocketCallsTest, ConnectAfUnspecDisconnects) {
  const int fd = udp();
  ASSERT_EQ(sys_connect(net, fd, sin(kTesterIp, 4000), 16), 0);
  EXPECT_EQ(sys_connect(net, fd, sin(0, 0, AF_UNSPEC_), 16), 0);
  SockaddrIn peer;
  EXPECT_EQ(sys_getpeername(net, fd, &peer), -E_NOTCONN);
  EXPECT_EQ(sendto(fd, nullptr), -E_DESTADDRREQ);
}

// ---------------------------------------------------------------- listen, accept

TEST_F(SocketCallsTest, ListenOnUdpIsEopnotsupp) { EXPECT_EQ(sys_listen(net, udp(), 5), -E_OPNOTSUPP); }

TEST_F(SocketCallsTest, AcceptOnUdpIsEopnotsupp) { EXPECT_EQ(sys_accept(net, udp()), -E_OPNOTSUPP); }

// ---------------------------------------------------------------- sendto

TEST_F(SocketCallsTest, SendWithoutDestinationIsEdestaddrreq) { EXPECT_EQ(sendto(udp(), nullptr), -E_DESTADDRREQ); }

TEST_F(SocketCallsTest, SendOversizedIsEmsgsize) {
  std::vector<uint8_t> big(65508);
  const SockaddrIn to = sin(kTesterIp, 4000);
  SendMsg m;
  m.data = big;
  m.name = &to;
  m.namelen = 16;
  EXPECT_EQ(sys_sendmsg(net, udp(), m), -E_MSGSIZE);
}

TEST_F(SocketCallsTest, SendToBroadcastWithoutSoBroadcastIsEacces) {
  const int fd = udp();
  const SockaddrIn subnet = sin(kSubnetBcast, 4000);
  EXPECT_EQ(sendto(fd, &subnet), -E_ACCES);
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_BROADCAST_, 1, 4), 0);
  EXPECT_EQ(sendto(fd, &subnet), 5);
}

TEST_F(SocketCallsTest, SendToWithoutRouteIsEnetunreach) {
  const SockaddrIn to = sin(kUnroutable, 4000);
  EXPECT_EQ(sendto(udp(), &to), -E_NETUNREACH);
}

TEST_F(SocketCallsTest, SendOobIsEopnotsupp) {
  const SockaddrIn to = sin(kTesterIp, 4000);
  EXPECT_EQ(sendto(udp(), &to, MSG_OOB_), -E_OPNOTSUPP);
}

TEST_F(SocketCallsTest, SendToOnAConnectedSocketGoesToTheGivenAddress) {
  learn_tester();
  const int fd = udp();
  ASSERT_EQ(sys_connect(net, fd, sin(kTesterIp, 4000), 16), 0);
  const SockaddrIn other = sin(kTesterIp, 4444);
  EXPECT_EQ(sendto(fd, &other), 5);  // udp(7): no EISCONN for UDP
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(be16(wire[0].data, 36), 4444);
}

// ---------------------------------------------------------------- recvfrom

TEST_F(SocketCallsTest, RecvNothingNonBlockingIsEagain) {
  const int fd = udp();
  ASSERT_EQ(sys_bind(net, fd, sin(kDutIp, 5000), 16), 0);
  EXPECT_EQ(recv(fd, MSG_DONTWAIT_), -E_AGAIN);
}

TEST_F(SocketCallsTest, RecvPeekLeavesTheDatagramQueued) {
  const int fd = udp();
  ASSERT_EQ(sys_bind(net, fd, sin(kDutIp, 5000), 16), 0);
  deliver(5000, 7);
  RecvMsg a, b;
  EXPECT_EQ(recv(fd, MSG_DONTWAIT_ | MSG_PEEK_, 100, &a), 7);
  EXPECT_EQ(recv(fd, MSG_DONTWAIT_, 100, &b), 7);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(d.counter("Udp.InDatagrams"), 1u);  // a peek is not a receive
  EXPECT_EQ(recv(fd, MSG_DONTWAIT_), -E_AGAIN);
}

TEST_F(SocketCallsTest, RecvShortBufferTruncatesAndMsgTruncReturnsTheRealLength) {
  const int fd = udp();
  ASSERT_EQ(sys_bind(net, fd, sin(kDutIp, 5000), 16), 0);
  deliver(5000, 10);
  deliver(5000, 10);
  RecvMsg m;
  EXPECT_EQ(recv(fd, MSG_DONTWAIT_, 4, &m), 4);
  EXPECT_TRUE(m.flags & MSG_TRUNC_);
  EXPECT_EQ(m.data.size(), 4u);
  EXPECT_EQ(recv(fd, MSG_DONTWAIT_ | MSG_TRUNC_, 4, &m), 10);  // udp(7): the real length
  EXPECT_EQ(m.data.size(), 4u);
  EXPECT_EQ(recv(fd, MSG_DONTWAIT_), -E_AGAIN);  // the rest of a datagram is gone
}

TEST_F(SocketCallsTest, RecvErrqueueEmptyIsEagain) {
  const int fd = udp();
  EXPECT_EQ(recv(fd, MSG_ERRQUEUE_), -E_AGAIN);
}

TEST_F(SocketCallsTest, RecvErrqueueReturnsAQueuedError) {
  const int fd = udp();
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_IP_, IP_RECVERR_, 1, 4), 0);
  std::vector<uint8_t> big(65508);
  const SockaddrIn to = sin(kTesterIp, 4000);
  SendMsg m;
  m.data = big;
  m.name = &to;
  m.namelen = 16;
  ASSERT_EQ(sys_sendmsg(net, fd, m), -E_MSGSIZE);
  EXPECT_EQ(sys_poll(net, fd, POLLIN_, 0) & POLLERR_, int(POLLERR_));
  RecvMsg e;
  EXPECT_EQ(recv(fd, MSG_ERRQUEUE_, 100, &e), 0);
  ASSERT_TRUE(e.ee);
  EXPECT_EQ(e.ee->ee_errno, uint32_t(E_MSGSIZE));
  EXPECT_EQ(sys_poll(net, fd, POLLIN_, 0) & POLLERR_, 0);
}

// ---------------------------------------------------------------- shutdown

TEST_F(SocketCallsTest, ShutdownUnconnectedIsEnotconn) {
  EXPECT_EQ(sys_shutdown(net, udp(), SHUT_RD_), -E_NOTCONN);
}

TEST_F(SocketCallsTest, ShutdownBadHowIsEinval) {
  EXPECT_EQ(sys_shutdown(net, udp(), 3), -E_INVAL);
}

TEST_F(SocketCallsTest, ShutRdThenBlockingRecvReturnsZeroAfterQueuedData) {
  const int fd = udp();
  ASSERT_EQ(sys_connect(net, fd, sin(kTesterIp, 4000), 16), 0);
  SockaddrIn me;
  sys_getsockname(net, fd, &me);
  deliver(me.port, 3);
  EXPECT_EQ(sys_shutdown(net, fd, SHUT_RD_), 0);  // connected: no ENOTCONN
  EXPECT_EQ(recv(fd, 0), 3);                      // what was queued is still read
  const uint64_t t0 = d.stack.now_ns();
  RecvMsg m;
  m.len = 10;
  EXPECT_EQ(sys_recvmsg(net, fd, m, 0, 1'000'000'000), 0);  // then end-of-file, at once
  EXPECT_EQ(d.stack.now_ns(), t0);
  EXPECT_EQ(sys_poll(net, fd, POLLIN_, 0) & POLLIN_, int(POLLIN_));  // readable: EOF
}

TEST_F(SocketCallsTest, ShutWrThenSendIsEpipe) {
  const int fd = udp();
  ASSERT_EQ(sys_connect(net, fd, sin(kTesterIp, 4000), 16), 0);
  EXPECT_EQ(sys_shutdown(net, fd, SHUT_WR_), 0);
  EXPECT_EQ(sendto(fd, nullptr), -E_PIPE);
}

TEST_F(SocketCallsTest, ShutRdwrMakesPollSayPollhup) {
  const int fd = udp();
  EXPECT_EQ(sys_shutdown(net, fd, SHUT_RDWR_), -E_NOTCONN);
  EXPECT_EQ(sys_poll(net, fd, 0, 0) & POLLHUP_, int(POLLHUP_));
}

// ---------------------------------------------------------------- setsockopt, getsockopt

TEST_F(SocketCallsTest, SetsockoptShortOptlenIsEinval) {
  EXPECT_EQ(sys_setsockopt(net, udp(), SOL_SOCKET_, SO_RCVBUF_, 4096, 3), -E_INVAL);
  EXPECT_EQ(sys_setsockopt(net, udp(), SOL_SOCKET_, SO_RCVBUF_, 4096, -1), -E_INVAL);
}

TEST_F(SocketCallsTest, UnknownOptionIsEnoprotoopt) {
  int v;
  EXPECT_EQ(sys_setsockopt(net, udp(), SOL_SOCKET_, 999, 1, 4), -E_NOPROTOOPT);
  EXPECT_EQ(sys_getsockopt(net, udp(), SOL_SOCKET_, 999, &v), -E_NOPROTOOPT);
}

TEST_F(SocketCallsTest, ReadOnlyOptionsCannotBeSet) {
  const int fd = udp();
  for (int opt : {SO_TYPE_, SO_PROTOCOL_, SO_DOMAIN_, SO_ERROR_})
    EXPECT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, opt, 1, 4), -E_NOPROTOOPT) << opt;
}

TEST_F(SocketCallsTest, RcvbufIsDoubledAndClampedToRmemMax) {
  const int fd = udp();
  int v = 0;
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_RCVBUF_, 10000, 4), 0);
  sys_getsockopt(net, fd, SOL_SOCKET_, SO_RCVBUF_, &v);
  EXPECT_EQ(v, 20000);
  net.sysctl.rmem_max = 50000;
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_RCVBUF_, 1000000, 4), 0);
  sys_getsockopt(net, fd, SOL_SOCKET_, SO_RCVBUF_, &v);
  EXPECT_EQ(v, 100000);
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_RCVBUFFORCE_, 1000000, 4), 0);  // root: past rmem_max
  sys_getsockopt(net, fd, SOL_SOCKET_, SO_RCVBUF_, &v);
  EXPECT_EQ(v, 2000000);
}

TEST_F(SocketCallsTest, SndbufIsDoubledAndClampedToWmemMax) {
  const int fd = udp();
  int v = 0;
  sys_getsockopt(net, fd, SOL_SOCKET_, SO_SNDBUF_, &v);
  EXPECT_EQ(v, 212992);  // wmem_default
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_SNDBUF_, 10000, 4), 0);
  sys_getsockopt(net, fd, SOL_SOCKET_, SO_SNDBUF_, &v);
  EXPECT_EQ(v, 20000);
  net.sysctl.wmem_max = 50000;
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_SNDBUF_, 1000000, 4), 0);
  sys_getsockopt(net, fd, SOL_SOCKET_, SO_SNDBUF_, &v);
  EXPECT_EQ(v, 100000);
}

TEST_F(SocketCallsTest, SoErrorIsClearedByReadingIt) {
  const int fd = udp();
  sk(fd)->sk_err = E_CONNREFUSED;
  int v = 0;
  ASSERT_EQ(sys_getsockopt(net, fd, SOL_SOCKET_, SO_ERROR_, &v), 0);
  EXPECT_EQ(v, E_CONNREFUSED);
  ASSERT_EQ(sys_getsockopt(net, fd, SOL_SOCKET_, SO_ERROR_, &v), 0);
  EXPECT_EQ(v, 0);
}

TEST_F(SocketCallsTest, SoTypeDomainProtocol) {
  const int fd = udp();
  int v = 0;
  ASSERT_EQ(sys_getsockopt(net, fd, SOL_SOCKET_, SO_TYPE_, &v), 0);
  EXPECT_EQ(v, SOCK_DGRAM);
  ASSERT_EQ(sys_getsockopt(net, fd, SOL_SOCKET_, SO_DOMAIN_, &v), 0);
  EXPECT_EQ(v, AF_INET);
  ASSERT_EQ(sys_getsockopt(net, fd, SOL_SOCKET_, SO_PROTOCOL_, &v), 0);
  EXPECT_EQ(v, IPPROTO_UDP_);  // protocol 0 became UDP
}

// ---------------------------------------------------------------- getsockname, getpeername

TEST_F(SocketCallsTest, GetsocknameOfAnUnboundSocketIsAnyPortZero) {
  SockaddrIn a;
  a.addr = 1;
  a.port = 1;
  ASSERT_EQ(sys_getsockname(net, udp(), &a), 0);
  EXPECT_EQ(a.family, AF_INET);
  EXPECT_EQ(a.addr, 0u);
  EXPECT_EQ(a.port, 0);
}

TEST_F(SocketCallsTest, GetpeernameUnconnectedIsEnotconn) {
  SockaddrIn a;
  EXPECT_EQ(sys_getpeername(net, udp(), &a), -E_NOTCONN);
}

// ---------------------------------------------------------------- poll

TEST_F(SocketCallsTest, PollFreshSocketIsWriteableOnly) {
  EXPECT_EQ(sys_poll(net, udp(), POLLIN_ | POLLOUT_, 0), int(POLLOUT_));
}

TEST_F(SocketCallsTest, PollInWhenADatagramWaits) {
  const int fd = udp();
  ASSERT_EQ(sys_bind(net, fd, sin(kDutIp, 5000), 16), 0);
  EXPECT_EQ(sys_poll(net, fd, POLLIN_, 0), 0);
  deliver(5000, 1);
  EXPECT_EQ(sys_poll(net, fd, POLLIN_, 0), int(POLLIN_));
}

// udp_poll's first_packet_length is -1 only for an empty queue: a datagram of no
// bytes is readable (recvfrom returns 0 from its sender), so POLLIN stays.
TEST_F(SocketCallsTest, PollInForAnEmptyDatagram) {
  const int fd = udp();
  ASSERT_EQ(sys_bind(net, fd, sin(kDutIp, 5000), 16), 0);
  deliver(5000, 0);
  EXPECT_EQ(sys_poll(net, fd, POLLIN_ | POLLOUT_, 0), int(POLLIN_ | POLLOUT_));
}

TEST_F(SocketCallsTest, BlockingPollWaitsForTheDatagramInVirtualTime) {
  const int fd = udp();
  ASSERT_EQ(sys_bind(net, fd, sin(kDutIp, 5000), 16), 0);
  const uint64_t t0 = d.stack.now_ns();
  EXPECT_EQ(sys_poll(net, fd, POLLIN_, 3'000'000), 0);
  EXPECT_EQ(d.stack.now_ns(), t0 + 3'000'000);
}

TEST_F(SocketCallsTest, PollErrWithAPendingError) {
  const int fd = udp();
  sk(fd)->sk_err = E_HOSTUNREACH;
  EXPECT_EQ(sys_poll(net, fd, POLLIN_, 0), int(POLLERR_));  // POLLERR even when not asked for
  EXPECT_EQ(sendto(fd, nullptr), -E_DESTADDRREQ);           // the address check comes first
  const SockaddrIn to = sin(kTesterIp, 4000);
  EXPECT_EQ(sendto(fd, &to), -E_HOSTUNREACH);  // sock_alloc_send_skb reports it, once
  EXPECT_EQ(sys_poll(net, fd, POLLIN_, 0), 0);
}

TEST_F(SocketCallsTest, PollClosedDescriptorIsPollnval) { EXPECT_EQ(sys_poll(net, 42, POLLIN_, 0), 0x20); }

// ---------------------------------------------------------------- non-blocking mode

TEST_F(SocketCallsTest, FcntlSetsAndClearsONonblock) {
  const int fd = udp();
  ASSERT_EQ(sys_fcntl_setfl(net, fd, O_NONBLOCK_), 0);
  EXPECT_EQ(sys_fcntl_getfl(net, fd) & O_NONBLOCK_, O_NONBLOCK_);
  ASSERT_EQ(sys_fcntl_setfl(net, fd, 0), 0);
  EXPECT_EQ(sys_fcntl_getfl(net, fd) & O_NONBLOCK_, 0);
  EXPECT_EQ(sys_fcntl_getfl(net, 77), -E_BADF);
}

TEST_F(SocketCallsTest, CallsOnABadDescriptorAreEbadf) {
  SockaddrIn a;
  int v;
  EXPECT_EQ(sys_bind(net, 50, a, 16), -E_BADF);
  EXPECT_EQ(sys_connect(net, 50, a, 16), -E_BADF);
  EXPECT_EQ(sys_listen(net, 50, 1), -E_BADF);
  EXPECT_EQ(sys_shutdown(net, 50, SHUT_RD_), -E_BADF);
  EXPECT_EQ(sys_getsockopt(net, 50, SOL_SOCKET_, SO_TYPE_, &v), -E_BADF);
  EXPECT_EQ(sys_getsockname(net, 50, &a), -E_BADF);
}

}  // namespace
}  // namespace nettwin::test
