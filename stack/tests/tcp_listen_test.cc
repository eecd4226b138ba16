// TCP sockets that listen (net/ipv4/tcp.c, inet_connection_sock.c,
// inet_hashtables.c, af_inet.c inet_listen): socket, bind with its conflict
// rules, listen with the somaxconn clamp and sock:inet_sock_set_state, close,
// and tcp_v4_rcv finding a listener by its address or the wildcard.
#include <gtest/gtest.h>

#include "core/net.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "tcp_test_helpers.h"

namespace nettwin::test {
namespace {

struct TcpListenTest : TcpDutTest {
  void SetUp() override {
    TcpDutTest::SetUp();
    d.trace();
  }
  int bind(int fd, uint32_t addr, uint16_t port) {
    SockaddrIn a;
    a.addr = addr;
    a.port = port;
    return sys_bind(net, fd, a, SOCKADDR_IN_LEN);
  }
  Sock* sk_of(int fd) { return net.sock.files.at(fd)->sk; }
};

TEST_F(TcpListenTest, StreamSocketIsCreatedAsTcp) {
  const int fd = tcp();
  ASSERT_GE(fd, 3);
  EXPECT_EQ(sk_of(fd)->sk_protocol, IPPROTO_TCP_);
  EXPECT_EQ(sk_of(fd)->sk_state, TCP_CLOSE);
  EXPECT_NE(dynamic_cast<TcpSock*>(sk_of(fd)), nullptr);
  EXPECT_GE(sys_socket(net, AF_INET_, SOCK_STREAM_, IPPROTO_TCP_), 3);
  EXPECT_EQ(sys_close(net, fd), 0);
}

TEST_F(TcpListenTest, BindConflictsAndRebind) {
  const int a = tcp(), b = tcp(), c = tcp();
  ASSERT_EQ(bind(a, kDutIp, 80), 0);
  EXPECT_EQ(bind(a, kDutIp, 81), -E_INVAL);     // already bound
  EXPECT_EQ(bind(b, 0, 80), -E_ADDRINUSE);      // the wildcard overlaps the address
  EXPECT_EQ(bind(b, kDutIp, 80), -E_ADDRINUSE);
  EXPECT_EQ(bind(c, kDutIp, 81), 0);            // another port is free
  SockaddrIn name;
  ASSERT_EQ(sys_getsockname(net, c, &name), 0);
  EXPECT_EQ(name.port, 81);
  EXPECT_EQ(name.addr, kDutIp);
  // A closed socket gives its port back.
  EXPECT_EQ(sys_close(net, a), 0);
  EXPECT_EQ(bind(b, 0, 80), 0);
}

TEST_F(TcpListenTest, ReuseAddrSharesAPortOnlyWhileNobodyListens) {
  const int a = tcp(), b = tcp(), c = tcp();
  for (int fd : {a, b, c}) ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_REUSEADDR_, 1, 4), 0);
  ASSERT_EQ(bind(a, kDutIp, 80), 0);
  EXPECT_EQ(bind(b, kDutIp, 80), 0);  // both SO_REUSEADDR, neither listening
  ASSERT_EQ(sys_listen(net, a, 5), 0);
  EXPECT_EQ(bind(c, kDutIp, 80), -E_ADDRINUSE);  // a listens now
  EXPECT_EQ(sys_listen(net, b, 5), -E_ADDRINUSE);  // listen checks the port again
  EXPECT_EQ(sk_of(b)->sk_state, TCP_CLOSE);
  // Without SO_REUSEADDR on one side there is no sharing.
  const int e = tcp(), f = tcp();
  ASSERT_EQ(bind(e, kDutIp, 90), 0);
  ASSERT_EQ(sys_setsockopt(net, f, SOL_SOCKET_, SO_REUSEADDR_, 1, 4), 0);
  EXPECT_EQ(bind(f, kDutIp, 90), -E_ADDRINUSE);
}

TEST_F(TcpListenTest, ListenClampsBacklogToSomaxconnAndTracesTheState) {
  const int fd = tcp();
  ASSERT_EQ(bind(fd, kDutIp, 80), 0);
  ASSERT_EQ(sys_listen(net, fd, 100000), 0);
  EXPECT_EQ(sk_of(fd)->sk_state, TCP_LISTEN);
  EXPECT_EQ(sk_of(fd)->sk_max_ack_backlog, 4096u);
  ASSERT_EQ(sys_listen(net, fd, 7), 0);  // a listener takes the new backlog
  EXPECT_EQ(sk_of(fd)->sk_max_ack_backlog, 7u);
  ASSERT_EQ(sys_listen(net, fd, -1), 0);  // compared as unsigned
  EXPECT_EQ(sk_of(fd)->sk_max_ack_backlog, 4096u);
  auto st = d.named("sock:inet_sock_set_state");
  ASSERT_EQ(st.size(), 1u);  // CLOSE -> LISTEN once
  EXPECT_EQ(d.field(*st[0], "oldstate"), "TCP_CLOSE");
  EXPECT_EQ(d.field(*st[0], "newstate"), "TCP_LISTEN");
  EXPECT_EQ(d.field(*st[0], "sport"), "80");
  EXPECT_EQ(d.field(*st[0], "dport"), "0");
  EXPECT_EQ(d.field(*st[0], "family"), "2");
  EXPECT_EQ(d.field(*st[0], "protocol"), "6");
  EXPECT_EQ(d.field(*st[0], "saddr"), "198.51.100.2");
  EXPECT_EQ(d.field(*st[0], "daddr"), "0.0.0.0");
  EXPECT_EQ(d.field(*st[0], "saddr_v6"), "::ffff:198.51.100.2");
  EXPECT_EQ(sys_accept4(net, fd, nullptr, SOCK_NONBLOCK_, 0), -E_AGAIN);
}

TEST_F(TcpListenTest, ListenOnAnUnboundSocketTakesAnEphemeralPort) {
  const int fd = tcp();
  ASSERT_EQ(sys_listen(net, fd, 5), 0);
  SockaddrIn name;
  ASSERT_EQ(sys_getsockname(net, fd, &name), 0);
  EXPECT_GE(name.port, 32768);
  EXPECT_LE(name.port, 60999);
}

TEST_F(TcpListenTest, AcceptAndListenNeedTheRightState) {
  const int fd = tcp();
  EXPECT_EQ(sys_accept4(net, fd, nullptr, 0, 0), -E_INVAL);  // not listening
  const int udp = sys_socket(net, AF_INET_, SOCK_DGRAM_, 0);
  EXPECT_EQ(sys_listen(net, udp, 5), -E_OPNOTSUPP);
}

TEST_F(TcpListenTest, CloseOfAListenerTracesListenToCloseAndFreesThePort) {
  const int fd = tcp();
  ASSERT_EQ(bind(fd, 0, 80), 0);
  ASSERT_EQ(sys_listen(net, fd, 5), 0);
  ASSERT_EQ(sys_close(net, fd), 0);
  auto st = d.named("sock:inet_sock_set_state");
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(d.field(*st[1], "oldstate"), "TCP_LISTEN");
  EXPECT_EQ(d.field(*st[1], "newstate"), "TCP_CLOSE");
  EXPECT_TRUE(net.sock.tcp_listeners.empty());
  EXPECT_TRUE(net.sock.tcp_bhash.empty());
  // No listener any more: an ACK to the port draws the no-socket reset.
  TcpSeg s;
  s.flags = kAck;
  s.ack = 5;
  auto out = send(s);
  ASSERT_EQ(out.size(), 1u);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "NO_SOCKET");
}

// tcp_rcv_state_process in LISTEN: an ACK is TCP_FLAGS, answered with a reset
// from tcp_v4_do_rcv; the lookup finds a listener bound to the wildcard.
TEST_F(TcpListenTest, AckToAWildcardListenerIsResetFromDoRcv) {
  const int fd = tcp();
  ASSERT_EQ(bind(fd, 0, 80), 0);
  ASSERT_EQ(sys_listen(net, fd, 5), 0);
  TcpSeg s;
  s.flags = kAck;
  s.seq = 9;
  s.ack = 0xabcdef01;
  auto out = send(s);
  ASSERT_EQ(out.size(), 1u);
  SentTcp t(out[0]);
  EXPECT_EQ(t.flags(), kRst);
  EXPECT_EQ(t.seq(), 0xabcdef01u);
  EXPECT_TRUE(t.csum_ok());
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_FLAGS");
  EXPECT_EQ(d.field(*drops[0], "location"), "tcp_v4_do_rcv");
  EXPECT_EQ(d.field(*drops[0], "rx_sk"), "1");
  auto rst = d.named("tcp:tcp_send_reset");
  ASSERT_EQ(rst.size(), 1u);
  // sk_rst_convert_drop_reason: the drop's TCP_FLAGS names the reset too (as the
  // recording traces/explore_tcp_synrecv_bad_ack_rst_reason shows).
  EXPECT_EQ(d.field(*rst[0], "reason"), "TCP_FLAGS");
  EXPECT_EQ(d.field(*rst[0], "state"), "TCP_LISTEN");
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 1u);
}

TEST_F(TcpListenTest, ListenerBoundToOtherAddressOrPortDoesNotTakeTheSegment) {
  const int fd = tcp();
  ASSERT_EQ(bind(fd, kDutIp, 81), 0);
  ASSERT_EQ(sys_listen(net, fd, 5), 0);
  TcpSeg s;
  s.flags = kAck;
  s.ack = 1;
  ASSERT_EQ(send(s).size(), 1u);  // to port 80
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "NO_SOCKET");
}

TEST_F(TcpListenTest, RstAndBareSegmentsToAListenerAreDroppedUnanswered) {
  const int fd = tcp();
  ASSERT_EQ(bind(fd, kDutIp, 80), 0);
  ASSERT_EQ(sys_listen(net, fd, 5), 0);
  TcpSeg r;
  r.flags = kRst;
  EXPECT_TRUE(send(r).empty());
  TcpSeg n;
  n.flags = 0;
  EXPECT_TRUE(send(n).empty());
  TcpSeg sf;
  sf.flags = kSyn | kFin;
  EXPECT_TRUE(send(sf).empty());
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 3u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_RESET");
  EXPECT_EQ(d.field(*drops[1], "reason"), "TCP_FLAGS");
  EXPECT_EQ(d.field(*drops[2], "reason"), "TCP_FLAGS");
  for (auto* e : drops) EXPECT_EQ(d.field(*e, "location"), "tcp_rcv_state_process");
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 0u);
}

TEST_F(TcpListenTest, ReuseportListenersShareThePortAndSplitConnectionsByTheirFourTuple) {
  int l[2];
  for (int& fd : l) {
    fd = tcp();
    ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_REUSEPORT_, 1, 4), 0);
    ASSERT_EQ(bind(fd, 0, 80), 0);
    ASSERT_EQ(sys_listen(net, fd, 64), 0);
  }
  const int other = tcp();  // without SO_REUSEPORT the port stays taken
  EXPECT_EQ(bind(other, 0, 80), -E_ADDRINUSE);
  ASSERT_EQ(sk_of(l[0])->reuseport_id, sk_of(l[1])->reuseport_id);
  ASSERT_NE(sk_of(l[0])->reuseport_id, 0);
  // Twenty SYNs from different ports: each listener gets some, and a SYN's
  // retransmission lands where the SYN did (the same 4-tuple, the same hash).
  for (uint16_t sport = 41000; sport < 41020; ++sport) {
    TcpSeg syn;
    syn.sport = sport;
    syn.options = linux_syn_options(1);
    ASSERT_EQ(send(syn).size(), 1u);
  }
  const size_t q0 = tcp_sk(sk_of(l[0]))->reqsk_queue.size(), q1 = tcp_sk(sk_of(l[1]))->reqsk_queue.size();
  EXPECT_EQ(q0 + q1, 20u);
  EXPECT_GT(q0, 0u);
  EXPECT_GT(q1, 0u);
  // Closed, a listener leaves the group: every new SYN goes to the other.
  ASSERT_EQ(sys_close(net, l[0]), 0);
  for (uint16_t sport = 42000; sport < 42010; ++sport) {
    TcpSeg syn;
    syn.sport = sport;
    syn.options = linux_syn_options(1);
    ASSERT_EQ(send(syn).size(), 1u);
  }
  EXPECT_EQ(tcp_sk(sk_of(l[1]))->reqsk_queue.size(), q1 + 10);
}

}  // namespace
}  // namespace nettwin::test
