// The socket calls on UDP sockets, against the results Linux documents
// (socket(7), udp(7), ip(7), and net/ipv4/af_inet.c, udp.c, net/core/sock.c),
// and UDP's receive and send paths through them.
#include <gtest/gtest.h>

#include "core/net.h"
#include "socket/syscalls.h"
#include "test_helpers.h"

namespace nettwin::test {
namespace {

constexpr int AF_INET = 2, SOCK_DGRAM = 2;

SockaddrIn addr(uint32_t ip, uint16_t port) {
  SockaddrIn a;
  a.addr = ip;
  a.port = port;
  return a;
}

// ICMP port unreachable from the tester quoting the first 28 bytes of an IP
// datagram the DUT sent (a frame off its wire).
Bytes port_unreach_quoting(const Bytes& sent_frame) {
  Bytes icmp(14 + 20 + 8 + 28 + 3);
  std::copy(kDutMac.begin(), kDutMac.end(), icmp.begin());
  std::copy(kTesterMac.begin(), kTesterMac.end(), icmp.begin() + 6);
  icmp[12] = 0x08;
  uint8_t* ip = icmp.data() + 14;
  ip[0] = 0x45;
  ip[3] = uint8_t(icmp.size() - 14);
  ip[8] = 64;
  ip[9] = 1;
  for (int i = 0; i < 4; ++i) ip[12 + i] = uint8_t(kTesterIp >> (24 - 8 * i)), ip[16 + i] = uint8_t(kDutIp >> (24 - 8 * i));
  uint16_t c = inet_csum(ip, 20);
  ip[10] = uint8_t(c >> 8), ip[11] = uint8_t(c);
  uint8_t* ic = ip + 20;
  ic[0] = 3, ic[1] = 3;
  std::copy(sent_frame.begin() + 14, sent_frame.begin() + 14 + 31, ic + 8);
  c = inet_csum(ic, icmp.size() - 34);
  ic[2] = uint8_t(c >> 8), ic[3] = uint8_t(c);
  return icmp;
}

struct UdpTest : ::testing::Test {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();
  int udp() { return sys_socket(net, AF_INET, SOCK_DGRAM, 0); }
  void deliver(const Bytes& frame) {
    d.inject(frame);
    d.stack.advance(1'000'000);
  }
  RecvMsg recv(int fd, int& ret, int flags = MSG_DONTWAIT_, size_t len = 2048) {
    RecvMsg m;
    m.len = len;
    ret = sys_recvmsg(net, fd, m, flags, 0);
    return m;
  }
};

TEST_F(UdpTest, SocketErrors) {
  EXPECT_EQ(sys_socket(net, 10, SOCK_DGRAM, 0), -E_AFNOSUPPORT);     // no AF_INET6 here
  EXPECT_EQ(sys_socket(net, AF_INET, 99, 0), -E_INVAL);              // type >= SOCK_MAX
  EXPECT_EQ(sys_socket(net, AF_INET, SOCK_DGRAM | 0x10000, 0), -E_INVAL);  // unknown flag
  EXPECT_EQ(sys_socket(net, AF_INET, SOCK_DGRAM, IPPROTO_TCP_), -E_PROTONOSUPPORT);
  EXPECT_EQ(sys_socket(net, AF_INET, SOCK_DGRAM, -1), -E_INVAL);
  EXPECT_EQ(sys_socket(net, AF_INET, SOCK_RAW_, 0), -E_PROTONOSUPPORT);
  EXPECT_EQ(sys_socket(net, AF_INET, SOCK_DGRAM, IPPROTO_ICMP_), -E_ACCES);  // ping_group_range "1 0"
  const int a = udp(), b = udp();
  EXPECT_EQ(a, 3);  // the lowest free descriptors
  EXPECT_EQ(b, 4);
  EXPECT_EQ(sys_close(net, a), 0);
  EXPECT_EQ(udp(), 3);
  EXPECT_EQ(sys_close(net, 99), -E_BADF);
}

TEST_F(UdpTest, BindErrors) {
  const int a = udp(), b = udp();
  SockaddrIn sa = addr(kDutIp, 5000);
  EXPECT_EQ(sys_bind(net, a, sa, 15), -E_INVAL);  // shorter than sockaddr_in
  SockaddrIn bad = sa;
  bad.family = 10;
  EXPECT_EQ(sys_bind(net, a, bad, 16), -E_AFNOSUPPORT);
  EXPECT_EQ(sys_bind(net, a, addr(0xc6336403, 5000), 16), -E_ADDRNOTAVAIL);  // not ours
  EXPECT_EQ(sys_bind(net, a, sa, 16), 0);
  EXPECT_EQ(sys_bind(net, a, addr(kDutIp, 5001), 16), -E_INVAL);  // already bound
  EXPECT_EQ(sys_bind(net, b, sa, 16), -E_ADDRINUSE);
  EXPECT_EQ(sys_bind(net, b, addr(0, 5000), 16), -E_ADDRINUSE);  // the wildcard overlaps
  EXPECT_EQ(sys_setsockopt(net, b, SOL_SOCKET_, SO_REUSEADDR_, 1, 4), 0);
  EXPECT_EQ(sys_bind(net, b, sa, 16), -E_ADDRINUSE);  // only one side has SO_REUSEADDR
  EXPECT_EQ(sys_setsockopt(net, a, SOL_SOCKET_, SO_REUSEADDR_, 1, 4), -0);
  EXPECT_EQ(sys_bind(net, b, sa, 16), 0);             // both do
  SockaddrIn got;
  EXPECT_EQ(sys_getsockname(net, b, &got), 0);
  EXPECT_EQ(got.addr, kDutIp);
  EXPECT_EQ(got.port, 5000);
}

TEST_F(UdpTest, EphemeralPortFromTheRange) {
  const int a = udp();
  EXPECT_EQ(sys_bind(net, a, addr(0, 0), 16), 0);
  SockaddrIn got;
  ASSERT_EQ(sys_getsockname(net, a, &got), 0);
  EXPECT_GE(got.port, 32768);
  EXPECT_LE(got.port, 60999);
}

TEST_F(UdpTest, ErrnoOfUnconnectedCalls) {
  const int a = udp();
  const uint8_t data[4] = {1, 2, 3, 4};
  SendMsg m;
  m.data = data;
  EXPECT_EQ(sys_sendmsg(net, a, m), -E_DESTADDRREQ);
  EXPECT_EQ(sys_listen(net, a, 1), -E_OPNOTSUPP);
  EXPECT_EQ(sys_accept(net, a), -E_OPNOTSUPP);
  SockaddrIn peer;
  EXPECT_EQ(sys_getpeername(net, a, &peer), -E_NOTCONN);
  EXPECT_EQ(sys_shutdown(net, a, SHUT_RDWR_), -E_NOTCONN);
  EXPECT_EQ(sys_shutdown(net, a, 3), -E_INVAL);
  SockaddrIn to = addr(kTesterIp, 0);
  m.name = &to;
  m.namelen = 16;
  EXPECT_EQ(sys_sendmsg(net, a, m), -E_INVAL);  // port 0
  m.namelen = 8;
  EXPECT_EQ(sys_sendmsg(net, a, m), -E_INVAL);  // short address
  int ret;
  recv(a, ret);
  EXPECT_EQ(ret, -E_AGAIN);  // shut down, nothing queued: a non-blocking read says EAGAIN...
  recv(a, ret, 0);
  EXPECT_EQ(ret, 0);         // ... and a blocking one end-of-file, at once
  RecvMsg none;
  EXPECT_EQ(sys_recvmsg(net, 42, none, 0, 0), -E_BADF);
}

TEST_F(UdpTest, MsgSizeLimits) {
  const int a = udp();
  std::vector<uint8_t> big(65508);
  SockaddrIn to = addr(kTesterIp, 4000);
  SendMsg m;
  m.data = big;
  m.name = &to;
  m.namelen = 16;
  EXPECT_EQ(sys_sendmsg(net, a, m), -E_MSGSIZE);  // 65507 is the most a datagram carries
  big.resize(70000);
  m.data = big;
  EXPECT_EQ(sys_sendmsg(net, a, m), -E_MSGSIZE);
}

TEST_F(UdpTest, BufferOptionsAreDoubledAndClamped) {
  const int a = udp();
  int v = 0;
  EXPECT_EQ(sys_getsockopt(net, a, SOL_SOCKET_, SO_RCVBUF_, &v), 0);
  EXPECT_EQ(v, 212992);  // rmem_default
  EXPECT_EQ(sys_setsockopt(net, a, SOL_SOCKET_, SO_RCVBUF_, 100000, 4), 0);
  sys_getsockopt(net, a, SOL_SOCKET_, SO_RCVBUF_, &v);
  EXPECT_EQ(v, 200000);
  sys_setsockopt(net, a, SOL_SOCKET_, SO_RCVBUF_, 1, 4);
  sys_getsockopt(net, a, SOL_SOCKET_, SO_RCVBUF_, &v);
  EXPECT_EQ(v, 2304);  // SOCK_MIN_RCVBUF
  sys_setsockopt(net, a, SOL_SOCKET_, SO_RCVBUF_, 1 << 30, 4);
  sys_getsockopt(net, a, SOL_SOCKET_, SO_RCVBUF_, &v);
  EXPECT_EQ(v, 2 * 4194304);  // rmem_max, doubled
  sys_setsockopt(net, a, SOL_SOCKET_, SO_SNDBUF_, 1, 4);
  sys_getsockopt(net, a, SOL_SOCKET_, SO_SNDBUF_, &v);
  EXPECT_EQ(v, 4608);  // SOCK_MIN_SNDBUF
  EXPECT_EQ(sys_setsockopt(net, a, SOL_SOCKET_, SO_RCVBUF_, 1, 2), -E_INVAL);  // optlen < sizeof(int)
  EXPECT_EQ(sys_setsockopt(net, a, SOL_SOCKET_, SO_TYPE_, 1, 4), -E_NOPROTOOPT);
  EXPECT_EQ(sys_getsockopt(net, a, SOL_SOCKET_, SO_TYPE_, &v), 0);
  EXPECT_EQ(v, SOCK_DGRAM);
  EXPECT_EQ(sys_getsockopt(net, a, 99, 1, &v), -E_NOPROTOOPT);
}

TEST_F(UdpTest, IpOptions) {
  const int a = udp();
  int v = 0;
  EXPECT_EQ(sys_getsockopt(net, a, SOL_IP_, IP_TTL_, &v), 0);
  EXPECT_EQ(v, 64);  // the route's (ip_default_ttl) while unset
  EXPECT_EQ(sys_setsockopt(net, a, SOL_IP_, IP_TTL_, 0, 4), -E_INVAL);
  EXPECT_EQ(sys_setsockopt(net, a, SOL_IP_, IP_TTL_, 256, 4), -E_INVAL);
  EXPECT_EQ(sys_setsockopt(net, a, SOL_IP_, IP_TTL_, 7, 4), 0);
  sys_getsockopt(net, a, SOL_IP_, IP_TTL_, &v);
  EXPECT_EQ(v, 7);
  EXPECT_EQ(sys_setsockopt(net, a, SOL_IP_, IP_TOS_, 0x10, 4), 0);
  sys_getsockopt(net, a, SOL_IP_, IP_TOS_, &v);
  EXPECT_EQ(v, 0x10);
  EXPECT_EQ(sys_getsockopt(net, a, SOL_IP_, IP_MTU_, &v), -E_NOTCONN);
  EXPECT_EQ(sys_setsockopt(net, a, SOL_IP_, IP_HDRINCL_, 1, 4), -E_NOPROTOOPT);
  EXPECT_EQ(sys_setsockopt(net, a, SOL_UDP_, 99, 1, 4), -E_NOPROTOOPT);
}

TEST_F(UdpTest, ReceiveAndNoSocket) {
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, addr(kDutIp, 5000), 16), 0);
  int ret;
  recv(a, ret);
  EXPECT_EQ(ret, -E_AGAIN);
  deliver(udp_frame(4000, 5000, {'h', 'i', '!'}));
  RecvMsg m = recv(a, ret, MSG_DONTWAIT_ | MSG_PEEK_);
  EXPECT_EQ(ret, 3);
  m = recv(a, ret, MSG_DONTWAIT_, 2);  // a short buffer: truncated
  EXPECT_EQ(ret, 2);
  EXPECT_TRUE(m.flags & MSG_TRUNC_);
  ASSERT_TRUE(m.name);
  EXPECT_EQ(m.name->addr, kTesterIp);
  EXPECT_EQ(m.name->port, 4000);
  EXPECT_EQ(d.counter("Udp.InDatagrams"), 1u);
  // No socket on 5001: NoPorts and a NO_SOCKET drop (the port unreachable waits for ARP).
  d.trace();
  deliver(udp_frame(4000, 5001, {'x'}));
  EXPECT_EQ(d.counter("Udp.NoPorts"), 1u);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "NO_SOCKET");
  EXPECT_EQ(d.field(*drops[0], "location"), "__udp4_lib_rcv");
}

TEST_F(UdpTest, ChecksumZeroIsNoneAndBadIsDroppedOnRead) {
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, addr(kDutIp, 5000), 16), 0);
  deliver(udp_frame(4000, 5000, {'z'}, 0));
  int ret;
  recv(a, ret);
  EXPECT_EQ(ret, 1);
  deliver(udp_frame(4000, 5000, {'b'}, 0x1234));
  recv(a, ret);
  EXPECT_EQ(ret, -E_AGAIN);  // the bad one was dropped as the reader reached it
  EXPECT_EQ(d.counter("Udp.InCsumErrors"), 1u);
  EXPECT_EQ(d.counter("Udp.InErrors"), 1u);
  deliver(udp_frame(4000, 5001, {'b'}, 0x1234));  // no socket either: dropped silently
  EXPECT_EQ(d.counter("Udp.InCsumErrors"), 2u);
  EXPECT_EQ(d.counter("Udp.NoPorts"), 0u);
}

TEST_F(UdpTest, ReceiveBufferOverflow) {
  const int a = udp();
  ASSERT_EQ(sys_setsockopt(net, a, SOL_SOCKET_, SO_RCVBUF_, 1, 4), 0);
  ASSERT_EQ(sys_bind(net, a, addr(kDutIp, 5000), 16), 0);
  d.trace();
  for (int i = 0; i < 8; ++i) deliver(udp_frame(4000, 5000, Bytes(100, uint8_t(i))));
  const uint64_t dropped = d.counter("Udp.RcvbufErrors");
  EXPECT_GT(dropped, 0u);
  EXPECT_LT(dropped, 8u);  // the empty queue always takes one
  EXPECT_EQ(d.named("udp:udp_fail_queue_rcv_skb").size(), dropped);
  int got = 0, ret;
  while (recv(a, ret), ret > 0) ++got;
  EXPECT_EQ(uint64_t(got) + dropped, 8u);
}

TEST_F(UdpTest, ConnectedSocketFiltersPeersAndGetsRefused) {
  d.inject(arp_request(kTesterIp, kDutIp));  // the DUT learns the tester's MAC
  d.stack.advance(1'000'000);
  d.stack.take_wire();
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, addr(kDutIp, 5000), 16), 0);
  ASSERT_EQ(sys_connect(net, a, addr(kTesterIp, 4000), 16), 0);
  SockaddrIn peer;
  ASSERT_EQ(sys_getpeername(net, a, &peer), 0);
  EXPECT_EQ(peer.port, 4000);
  deliver(udp_frame(4001, 5000, {'w'}));  // the wrong peer: no socket
  EXPECT_EQ(d.counter("Udp.NoPorts"), 1u);
  int ret;
  recv(a, ret);
  EXPECT_EQ(ret, -E_AGAIN);
  const uint8_t data[3] = {'a', 'b', 'c'};
  SendMsg m;
  m.data = data;
  EXPECT_EQ(sys_sendmsg(net, a, m), 3);
  d.stack.advance(1'000'000);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 2u);  // the port unreachable, then the datagram
  const Bytes& out = wire[1].data;
  EXPECT_EQ(out[23], 17);                // UDP
  EXPECT_EQ(out[20] & 0x40, 0x40);       // DF: IP_PMTUDISC_WANT
  EXPECT_EQ(be16(out, 34), 5000);
  EXPECT_EQ(be16(out, 36), 4000);
  EXPECT_EQ(d.counter("Udp.OutDatagrams"), 1u);
  // ICMP port unreachable quoting it: ECONNREFUSED on the next call, once.
  deliver(port_unreach_quoting(out));
  EXPECT_EQ(sys_poll(net, a, POLLIN_, 0) & POLLERR_, int(POLLERR_));
  EXPECT_EQ(sys_sendmsg(net, a, m), -E_CONNREFUSED);
  EXPECT_EQ(sys_sendmsg(net, a, m), 3);
  // Disconnect with AF_UNSPEC: unconnected again.
  SockaddrIn unspec;
  unspec.family = AF_UNSPEC_;
  EXPECT_EQ(sys_connect(net, a, unspec, 16), 0);
  EXPECT_EQ(sys_getpeername(net, a, &peer), -E_NOTCONN);
}

TEST_F(UdpTest, BlockingReadWaitsInVirtualTime) {
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, addr(kDutIp, 5000), 16), 0);
  const uint64_t t0 = d.stack.now_ns();
  RecvMsg m;
  m.len = 100;
  EXPECT_EQ(sys_recvmsg(net, a, m, 0, 5'000'000), -E_AGAIN);
  EXPECT_EQ(d.stack.now_ns(), t0 + 5'000'000);
  EXPECT_EQ(sys_fcntl_setfl(net, a, O_NONBLOCK_), 0);
  EXPECT_EQ(sys_fcntl_getfl(net, a) & O_NONBLOCK_, O_NONBLOCK_);
  EXPECT_EQ(sys_recvmsg(net, a, m, 0, 5'000'000), -E_AGAIN);
  EXPECT_EQ(d.stack.now_ns(), t0 + 5'000'000);  // non-blocking: no wait
  EXPECT_EQ(sys_poll(net, a, POLLIN_, 0), 0);
  EXPECT_EQ(sys_poll(net, a, POLLOUT_, 0), int(POLLOUT_));
}

TEST_F(UdpTest, ReuseportPrefersTheBoundAddress) {
  const int a = udp(), b = udp();
  sys_setsockopt(net, a, SOL_SOCKET_, SO_REUSEPORT_, 1, 4);
  sys_setsockopt(net, b, SOL_SOCKET_, SO_REUSEPORT_, 1, 4);
  ASSERT_EQ(sys_bind(net, a, addr(0, 5000), 16), 0);
  ASSERT_EQ(sys_bind(net, b, addr(kDutIp, 5000), 16), 0);
  deliver(udp_frame(4000, 5000, {'r'}));
  int ra, rb;
  recv(a, ra);
  recv(b, rb);
  EXPECT_EQ(ra, -E_AGAIN);
  EXPECT_EQ(rb, 1);
}

TEST_F(UdpTest, CorkJoinsSends) {
  d.inject(arp_request(kTesterIp, kDutIp));
  d.stack.advance(1'000'000);
  d.stack.take_wire();
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, addr(kDutIp, 5000), 16), 0);
  ASSERT_EQ(sys_setsockopt(net, a, SOL_UDP_, UDP_CORK_, 1, 4), 0);
  SockaddrIn to = addr(kTesterIp, 4000);
  const uint8_t one[2] = {'a', 'b'}, two[3] = {'c', 'd', 'e'};
  SendMsg m;
  m.name = &to;
  m.namelen = 16;
  m.data = one;
  EXPECT_EQ(sys_sendmsg(net, a, m), 2);
  m.data = two;
  EXPECT_EQ(sys_sendmsg(net, a, m), 3);
  d.stack.advance(1'000'000);
  EXPECT_TRUE(d.stack.take_wire().empty());
  ASSERT_EQ(sys_setsockopt(net, a, SOL_UDP_, UDP_CORK_, 0, 4), 0);
  d.stack.advance(1'000'000);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(be16(wire[0].data, 38), 8 + 5);  // one datagram with both
}

TEST_F(UdpTest, ReuseportGroupSpreadsByFlowHash) {
  const int a = udp(), b = udp();
  for (int fd : {a, b}) {
    ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_REUSEPORT_, 1, 4), 0);
    ASSERT_EQ(sys_bind(net, fd, addr(kDutIp, 5000), 16), 0);
  }
  int ret;
  int to_a = 0, to_b = 0;
  for (uint16_t sport = 4000; sport < 4032; ++sport) {
    deliver(udp_frame(sport, 5000, {'s'}));
    // The same flow always lands on the same member.
    deliver(udp_frame(sport, 5000, {'t'}));
    recv(a, ret);
    const int got_a = ret;
    if (got_a > 0) {
      ++to_a;
      recv(a, ret);
      EXPECT_EQ(ret, 1) << "sport " << sport;
    } else {
      ++to_b;
      recv(b, ret);
      EXPECT_EQ(ret, 1);
      recv(b, ret);
      EXPECT_EQ(ret, 1) << "sport " << sport;
    }
  }
  EXPECT_GT(to_a, 0);  // reuseport_select_sock spreads flows over the group
  EXPECT_GT(to_b, 0);
}

TEST_F(UdpTest, RecverrQueuesLocalErrors) {
  const int a = udp();
  ASSERT_EQ(sys_setsockopt(net, a, SOL_IP_, IP_RECVERR_, 1, 4), 0);
  std::vector<uint8_t> big(65508);
  SockaddrIn to = addr(kTesterIp, 4000);
  SendMsg m;
  m.data = big;
  m.name = &to;
  m.namelen = 16;
  EXPECT_EQ(sys_sendmsg(net, a, m), -E_MSGSIZE);
  int ret;
  RecvMsg e = recv(a, ret, MSG_ERRQUEUE_);
  EXPECT_EQ(ret, 0);
  ASSERT_TRUE(e.ee);
  EXPECT_EQ(e.ee->ee_errno, uint32_t(E_MSGSIZE));
  EXPECT_EQ(e.ee->ee_origin, SO_EE_ORIGIN_LOCAL);
  EXPECT_EQ(e.ee->ee_info, 1500u);
  EXPECT_TRUE(e.flags & MSG_ERRQUEUE_);
  recv(a, ret, MSG_ERRQUEUE_);
  EXPECT_EQ(ret, -E_AGAIN);
}

TEST_F(UdpTest, RawSocketGetsACloneOfItsProtocol) {
  const int r = sys_socket(net, AF_INET, SOCK_RAW_, IPPROTO_ICMP_);
  ASSERT_GE(r, 0);
  SockaddrIn name;
  ASSERT_EQ(sys_getsockname(net, r, &name), 0);
  EXPECT_EQ(name.port, IPPROTO_ICMP_);  // a raw socket's "port" is its protocol
  deliver(icmp_echo_request(1, 1, {'p', 'i', 'n', 'g'}));
  int ret;
  RecvMsg m = recv(r, ret);
  ASSERT_EQ(ret, 20 + 8 + 4);  // the whole datagram, IP header included
  EXPECT_EQ(m.data[0], 0x45);
  EXPECT_EQ(m.data[20], 8);  // the echo request itself
  ASSERT_TRUE(m.name);
  EXPECT_EQ(m.name->addr, kTesterIp);
  recv(r, ret);
  EXPECT_EQ(ret, -E_AGAIN);
  // The kernel answered the echo too: the raw socket only got a copy.
  EXPECT_EQ(d.counter("Icmp.InEchos"), 1u);
  const int u = udp();  // a UDP datagram is not the ICMP socket's
  ASSERT_EQ(sys_bind(net, u, addr(kDutIp, 5000), 16), 0);
  deliver(udp_frame(4000, 5000, {'u'}));
  recv(r, ret);
  EXPECT_EQ(ret, -E_AGAIN);
  EXPECT_EQ(sys_setsockopt(net, r, SOL_IP_, IP_HDRINCL_, 1, 4), 0);
  int v = 0;
  EXPECT_EQ(sys_getsockopt(net, r, SOL_IP_, IP_HDRINCL_, &v), 0);
  EXPECT_EQ(v, 1);
}

// ------------------------------------------------- the bind forms a server uses
// __udp4_lib_lookup looks for a socket bound to the datagram's destination,
// then for one bound to 0.0.0.0 (udp4_lib_lookup2 with INADDR_ANY).

struct UdpBindFormsTest : UdpTest {
  static constexpr uint32_t kSecondIp = 0xc6336414;  // 198.51.100.20, also the DUT's
  void SetUp() override { ASSERT_FALSE(d.stack.add_address(d.dev, "198.51.100.20/24")); }
  // How many bytes the socket reads now (negative: the errno).
  int read_now(int fd) {
    int ret;
    recv(fd, ret);
    return ret;
  }
};

TEST_F(UdpBindFormsTest, WildcardSocketReceivesOnEveryLocalAddress) {
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, addr(0, 5000), 16), 0);
  deliver(udp_frame(4000, 5000, {'o', 'n', 'e'}));
  deliver(udp_frame(4000, 5000, {'t', 'w', 'o', '!'}, -1, kSecondIp));
  EXPECT_EQ(read_now(a), 3);
  EXPECT_EQ(read_now(a), 4);
  EXPECT_EQ(d.counter("Udp.InDatagrams"), 2u);
  EXPECT_EQ(d.counter("Udp.NoPorts"), 0u);
}

TEST_F(UdpBindFormsTest, SpecificSocketIgnoresTheOtherAddress) {
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, addr(kDutIp, 5000), 16), 0);
  deliver(udp_frame(4000, 5000, {'x'}, -1, kSecondIp));
  EXPECT_EQ(read_now(a), -E_AGAIN);
  EXPECT_EQ(d.counter("Udp.NoPorts"), 1u);
}

TEST_F(UdpBindFormsTest, SpecificBeatsWildcardForItsAddressOnly) {
  const int any = udp(), one = udp();
  for (int fd : {any, one}) ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_REUSEADDR_, 1, 4), 0);
  ASSERT_EQ(sys_bind(net, any, addr(0, 5000), 16), 0);
  ASSERT_EQ(sys_bind(net, one, addr(kDutIp, 5000), 16), 0);
  deliver(udp_frame(4000, 5000, {'a', 'b'}));              // to 198.51.100.2: the specific one
  deliver(udp_frame(4000, 5000, {'c', 'd', 'e'}, -1, kSecondIp));  // to .20: the wildcard one
  EXPECT_EQ(read_now(one), 2);
  EXPECT_EQ(read_now(any), 3);
  EXPECT_EQ(read_now(one), -E_AGAIN);
  EXPECT_EQ(read_now(any), -E_AGAIN);
}

TEST_F(UdpBindFormsTest, WildcardReuseportGroupSpreadsFlows) {
  const int a = udp(), b = udp();
  for (int fd : {a, b}) {
    ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_REUSEPORT_, 1, 4), 0);
    ASSERT_EQ(sys_bind(net, fd, addr(0, 5000), 16), 0);
  }
  int to_a = 0, to_b = 0;
  for (uint16_t sport = 4000; sport < 4032; ++sport) {
    deliver(udp_frame(sport, 5000, {'s'}));
    deliver(udp_frame(sport, 5000, {'t'}));  // the same flow lands on the same member
    const int first = read_now(a) > 0 ? a : b;
    (first == a ? to_a : to_b)++;
    if (first == b) EXPECT_EQ(read_now(b), 1) << "sport " << sport;
    EXPECT_EQ(read_now(first), 1) << "sport " << sport;
    EXPECT_EQ(read_now(a), -E_AGAIN);
    EXPECT_EQ(read_now(b), -E_AGAIN);
  }
  EXPECT_GT(to_a, 0);
  EXPECT_GT(to_b, 0);
  EXPECT_EQ(d.counter("Udp.NoPorts"), 0u);
}

TEST_F(UdpBindFormsTest, ConnectedWildcardSocketTakesItsPeerOnly) {
  d.inject(arp_request(kTesterIp, kDutIp));
  d.stack.advance(1'000'000);
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, addr(0, 5000), 16), 0);
  ASSERT_EQ(sys_connect(net, a, addr(kTesterIp, 4000), 16), 0);
  SockaddrIn name;
  ASSERT_EQ(sys_getsockname(net, a, &name), 0);
  EXPECT_EQ(name.addr, kDutIp);  // connect chose the source address
  deliver(udp_frame(4000, 5000, {'p', 'e', 'e', 'r'}));
  deliver(udp_frame(4001, 5000, {'n', 'o'}));
  EXPECT_EQ(read_now(a), 4);
  EXPECT_EQ(read_now(a), -E_AGAIN);
  EXPECT_EQ(d.counter("Udp.NoPorts"), 1u);
}

// ip_route_connect on a destination of 0.0.0.0: the first lookup takes the
// source as the destination (no FIB walk), flowi4_update_output carries it
// over and the real lookup is of src = dst = the bound address, as Linux traces
// it (traces/explore_udp_connect_wildcard_route).
TEST_F(UdpBindFormsTest, ConnectToTheWildcardRoutesToTheBoundAddress) {
  DeviceConfig lo;
  lo.name = "lo";
  lo.kind = DeviceKind::Loopback;
  lo.ifindex = 1;
  ASSERT_FALSE(d.stack.create_device(lo).has_value());
  const int a = udp();
  ASSERT_EQ(sys_bind(net, a, addr(kDutIp, 5000), 16), 0);
  d.trace();
  ASSERT_EQ(sys_connect(net, a, addr(0, 0), 16), 0);
  auto fib = d.named("fib:fib_table_lookup");
  ASSERT_EQ(fib.size(), 1u);
  EXPECT_EQ(d.field(*fib[0], "src"), "198.51.100.2");
  EXPECT_EQ(d.field(*fib[0], "dst"), "198.51.100.2");
}

TEST_F(UdpBindFormsTest, AutoboundSenderReceivesTheReply) {
  d.inject(arp_request(kTesterIp, kDutIp));
  d.stack.advance(1'000'000);
  d.stack.take_wire();
  const int a = udp();
  SockaddrIn to = addr(kTesterIp, 4000);
  const uint8_t data[4] = {'p', 'i', 'n', 'g'};
  SendMsg m;
  m.data = data;
  m.name = &to;
  m.namelen = 16;
  ASSERT_EQ(sys_sendmsg(net, a, m), 4);  // inet_autobind: 0.0.0.0 and an ephemeral port
  SockaddrIn name;
  ASSERT_EQ(sys_getsockname(net, a, &name), 0);
  EXPECT_EQ(name.addr, 0u);
  ASSERT_NE(name.port, 0);
  deliver(udp_frame(4000, name.port, {'p', 'o', 'n', 'g', '!'}));
  EXPECT_EQ(read_now(a), 5);
  EXPECT_EQ(d.counter("Udp.NoPorts"), 0u);
}

TEST_F(UdpBindFormsTest, LocalPortRangeSysctlPicksTheEphemeralPort) {
  const std::string name = "net.ipv4.ip_local_port_range";
  EXPECT_EQ(d.stack.get_sysctl(name), "32768\t60999");
  EXPECT_TRUE(d.stack.set_sysctl(name, "40000").has_value());          // one port only
  EXPECT_TRUE(d.stack.set_sysctl(name, "40001 40000").has_value());    // high below low
  EXPECT_TRUE(d.stack.set_sysctl(name, "1000 2000").has_value());      // below ip_unprivileged_port_start
  EXPECT_TRUE(d.stack.set_sysctl(name, "40000 70000").has_value());    // not a port
  EXPECT_TRUE(d.stack.set_sysctl(name, "40000 40000 1").has_value());  // three numbers
  EXPECT_EQ(d.stack.get_sysctl(name), "32768\t60999");                  // none of them took
  ASSERT_FALSE(d.stack.set_sysctl(name, "40000\t40000").has_value());   // as /proc/sys prints it
  EXPECT_EQ(d.stack.get_sysctl(name), "40000\t40000");
  const int a = udp(), b = udp();
  ASSERT_EQ(sys_bind(net, a, addr(0, 0), 16), 0);
  SockaddrIn name_a;
  ASSERT_EQ(sys_getsockname(net, a, &name_a), 0);
  EXPECT_EQ(name_a.port, 40000);
  EXPECT_EQ(sys_bind(net, b, addr(0, 0), 16), -E_ADDRINUSE);  // the range is used up
}

TEST_F(UdpBindFormsTest, WildcardSocketGetsItsIcmpErrors) {
  // udp_err finds the socket through the same lookup: an unconnected wildcard
  // socket with IP_RECVERR queues the port unreachable its datagram drew.
  d.inject(arp_request(kTesterIp, kDutIp));
  d.stack.advance(1'000'000);
  d.stack.take_wire();
  const int a = udp();
  ASSERT_EQ(sys_setsockopt(net, a, SOL_IP_, IP_RECVERR_, 1, 4), 0);
  ASSERT_EQ(sys_bind(net, a, addr(0, 5000), 16), 0);
  SockaddrIn to = addr(kTesterIp, 4000);
  const uint8_t data[3] = {'a', 'b', 'c'};
  SendMsg m;
  m.data = data;
  m.name = &to;
  m.namelen = 16;
  ASSERT_EQ(sys_sendmsg(net, a, m), 3);
  d.stack.advance(1'000'000);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  deliver(port_unreach_quoting(wire[0].data));
  int ret;
  RecvMsg e = recv(a, ret, MSG_ERRQUEUE_);
  EXPECT_EQ(ret, 3);  // the quoted datagram's payload
  ASSERT_TRUE(e.ee);
  EXPECT_EQ(e.ee->ee_errno, uint32_t(E_CONNREFUSED));
  EXPECT_EQ(e.ee->ee_origin, SO_EE_ORIGIN_ICMP);
  EXPECT_EQ(d.counter("Icmp.InErrors"), 0u);  // udp_err found the socket
}

}  // namespace
}  // namespace nettwin::test
