// epoll (fs/eventpoll.c): the ctl and wait errnos, level- and edge-triggered
// reporting, EPOLLONESHOT and its re-arming by MOD, the ready list's order,
// timeouts on the virtual clock, and what close() does to the interest list.
// The reported masks are the sockets' poll masks (sys_poll), never hand-typed.
#include <gtest/gtest.h>

#include "core/net.h"
#include "socket/eventpoll.h"
#include "socket/syscalls.h"
#include "tcp_conn_fixture.h"
#include "test_helpers.h"

namespace nettwin::test {
namespace {

struct EpollUdpTest : ::testing::Test {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();
  std::vector<EpollEvent> ev;

  // A UDP socket bound to port on the DUT's address.
  int udp(uint16_t port) {
    const int fd = sys_socket(net, AF_INET_, SOCK_DGRAM_, 0);
    SockaddrIn a;
    a.addr = kDutIp;
    a.port = port;
    EXPECT_EQ(sys_bind(net, fd, a, SOCKADDR_IN_LEN), 0);
    return fd;
  }
  void deliver(uint16_t port, size_t n = 10) {
    d.inject(udp_frame(4000, port, Bytes(n, 0x61)));
    d.stack.advance(1'000'000);
  }
  int add(int epfd, int fd, uint32_t events, int op = EPOLL_CTL_ADD_) {
    return sys_epoll_ctl(net, epfd, op, fd, EpollEvent{events, uint64_t(fd)});
  }
  int wait(int epfd, int maxevents = 8) { return sys_epoll_wait(net, epfd, ev, maxevents, 0); }
  void drain(int fd) {
    RecvMsg m;
    m.len = 2048;
    while (sys_recvmsg(net, fd, m, MSG_DONTWAIT_, 0) >= 0) {
    }
  }
};

TEST_F(EpollUdpTest, CreateAndCtlErrors) {
  EXPECT_EQ(sys_epoll_create(net, 0), -E_INVAL);
  EXPECT_EQ(sys_epoll_create1(net, 1), -E_INVAL);
  const int s = udp(5000);
  const int ep = sys_epoll_create1(net, EPOLL_CLOEXEC_);
  EXPECT_EQ(ep, s + 1);  // one descriptor space
  EXPECT_EQ(sys_socket(net, AF_INET_, SOCK_DGRAM_, 0), ep + 1);
  EXPECT_EQ(add(ep, 99, EPOLLIN_), -E_BADF);
  EXPECT_EQ(add(99, s, EPOLLIN_), -E_BADF);
  EXPECT_EQ(add(s, s + 2, EPOLLIN_), -E_INVAL);  // epfd is no eventpoll
  EXPECT_EQ(add(ep, ep, EPOLLIN_), -E_INVAL);
  EXPECT_EQ(add(ep, s, EPOLLIN_, EPOLL_CTL_MOD_), -E_NOENT);
  EXPECT_EQ(add(ep, s, EPOLLIN_, EPOLL_CTL_DEL_), -E_NOENT);
  EXPECT_EQ(add(ep, s, EPOLLIN_, 7), -E_INVAL);
  EXPECT_EQ(add(ep, s, EPOLLIN_ | EPOLLEXCLUSIVE_ | EPOLLRDHUP_), -E_INVAL);  // not an exclusive-ok bit
  EXPECT_EQ(add(ep, s, EPOLLIN_), 0);
  EXPECT_EQ(add(ep, s, EPOLLIN_), -E_EXIST);
  EXPECT_EQ(add(ep, s, EPOLLIN_ | EPOLLEXCLUSIVE_, EPOLL_CTL_MOD_), -E_INVAL);
  EXPECT_EQ(add(ep, s, 0, EPOLL_CTL_DEL_), 0);
  EXPECT_EQ(add(ep, s, EPOLLIN_ | EPOLLEXCLUSIVE_), 0);
  EXPECT_EQ(add(ep, s, EPOLLIN_, EPOLL_CTL_MOD_), -E_INVAL);  // an exclusive item cannot be modified
  EXPECT_EQ(sys_epoll_wait(net, ep, ev, 0, 0), -E_INVAL);
  EXPECT_EQ(sys_epoll_wait(net, s, ev, 1, 0), -E_INVAL);
  EXPECT_EQ(sys_epoll_wait(net, 99, ev, 1, 0), -E_BADF);
  EXPECT_EQ(sys_listen(net, ep, 1), -E_NOTSOCK);
  EXPECT_EQ(sys_close(net, ep), 0);
  EXPECT_EQ(sys_close(net, ep), -E_BADF);
}

TEST_F(EpollUdpTest, LevelTriggeredReportsUntilRead) {
  const int s = udp(5000), ep = sys_epoll_create(net, 1);
  ASSERT_EQ(add(ep, s, EPOLLIN_ | EPOLLOUT_), 0);
  ASSERT_EQ(wait(ep), 1);  // writable at once
  EXPECT_EQ(ev[0].events, unsigned(sys_poll(net, s, EPOLLIN_ | EPOLLOUT_, 0)));
  EXPECT_EQ(ev[0].data, uint64_t(s));
  ASSERT_EQ(add(ep, s, EPOLLIN_, EPOLL_CTL_MOD_), 0);
  EXPECT_EQ(wait(ep), 0);
  deliver(5000);
  for (int i = 0; i < 2; ++i) {  // level-triggered: again and again while unread
    ASSERT_EQ(wait(ep), 1);
    EXPECT_EQ(ev[0].events, unsigned(sys_poll(net, s, EPOLLIN_, 0)));
    EXPECT_TRUE(ev[0].events & EPOLLIN_);
  }
  drain(s);
  EXPECT_EQ(wait(ep), 0);
}

TEST_F(EpollUdpTest, EdgeTriggeredOncePerArrival) {
  const int s = udp(5000), ep = sys_epoll_create(net, 1);
  ASSERT_EQ(add(ep, s, EPOLLIN_ | EPOLLET_), 0);
  EXPECT_EQ(wait(ep), 0);
  deliver(5000);
  EXPECT_EQ(wait(ep), 1);
  EXPECT_EQ(wait(ep), 0);  // still unread, but no new wakeup
  deliver(5000);
  EXPECT_EQ(wait(ep), 1);  // a new datagram wakes it again
  EXPECT_EQ(wait(ep), 0);
}

TEST_F(EpollUdpTest, OneShotDisarmsUntilMod) {
  const int s = udp(5000), ep = sys_epoll_create(net, 1);
  ASSERT_EQ(add(ep, s, EPOLLIN_ | EPOLLONESHOT_), 0);
  deliver(5000);
  EXPECT_EQ(wait(ep), 1);
  EXPECT_EQ(wait(ep), 0);
  deliver(5000);
  EXPECT_EQ(wait(ep), 0);  // disarmed: the wakeup is ignored
  ASSERT_EQ(add(ep, s, EPOLLIN_ | EPOLLONESHOT_, EPOLL_CTL_MOD_), 0);
  EXPECT_EQ(wait(ep), 1);  // MOD polls at once: still readable
  EXPECT_EQ(wait(ep), 0);
}

TEST_F(EpollUdpTest, ReadyListInWakeupOrderLevelItemsBackAtTail) {
  const int a = udp(5001), b = udp(5002), c = udp(5003), ep = sys_epoll_create(net, 1);
  for (int fd : {a, b, c}) ASSERT_EQ(add(ep, fd, EPOLLIN_), 0);
  deliver(5002);
  deliver(5003);
  deliver(5001);
  ASSERT_EQ(wait(ep, 1), 1);
  EXPECT_EQ(ev[0].data, uint64_t(b));
  ASSERT_EQ(wait(ep, 2), 2);  // b went back behind c and a
  EXPECT_EQ(ev[0].data, uint64_t(c));
  EXPECT_EQ(ev[1].data, uint64_t(a));
  drain(c);  // polled again at report time: c is skipped and leaves the list
  ASSERT_EQ(wait(ep), 2);
  EXPECT_EQ(ev[0].data, uint64_t(b));
  EXPECT_EQ(ev[1].data, uint64_t(a));
}

TEST_F(EpollUdpTest, TimeoutRunsTheVirtualClock) {
  const int s = udp(5000), ep = sys_epoll_create(net, 1);
  ASSERT_EQ(add(ep, s, EPOLLIN_), 0);
  const uint64_t t0 = net.engine.now();
  EXPECT_EQ(sys_epoll_wait(net, ep, ev, 4, 5'000'000), 0);
  EXPECT_EQ(net.engine.now(), t0 + 5'000'000);
}

TEST_F(EpollUdpTest, BlockingWaitWokenByADatagram) {
  const int s = udp(5000), ep = sys_epoll_create(net, 1);
  ASSERT_EQ(add(ep, s, EPOLLIN_), 0);
  const uint64_t t0 = net.engine.now();
  net.engine.mod_timer(net.engine.jiffies_after(20'000'000),
                       [&] { d.stack.inject(d.dev, udp_frame(4000, 5000, Bytes(4, 0x61))); });
  ASSERT_EQ(sys_epoll_wait(net, ep, ev, 4, 1'000'000'000), 1);
  EXPECT_GE(net.engine.now(), t0 + 20'000'000);
  EXPECT_LT(net.engine.now(), t0 + 40'000'000);  // woken, not timed out
}

TEST_F(EpollUdpTest, CloseRemovesFromInterestList) {
  const int s = udp(5000), ep = sys_epoll_create(net, 1);
  ASSERT_EQ(add(ep, s, EPOLLIN_), 0);
  deliver(5000);
  ASSERT_EQ(sys_close(net, s), 0);
  EXPECT_EQ(wait(ep), 0);
  EXPECT_TRUE(net.sock.epolls.at(ep)->rbr.empty());
  const int s2 = udp(5000);  // the same number again: not watched
  EXPECT_EQ(s2, s);
  deliver(5000);
  EXPECT_EQ(wait(ep), 0);
  ASSERT_EQ(add(ep, s2, EPOLLIN_), 0);
  ASSERT_EQ(sys_close(net, ep), 0);  // the socket forgets the eventpoll
  EXPECT_TRUE(net.sock.files.at(s2)->wq.empty());
}

TEST_F(EpollUdpTest, PollOfAnEventpoll) {
  const int s = udp(5000), ep = sys_epoll_create(net, 1);
  ASSERT_EQ(add(ep, s, EPOLLIN_), 0);
  EXPECT_EQ(sys_poll(net, ep, POLLIN_, 0), 0);
  deliver(5000);
  EXPECT_EQ(sys_poll(net, ep, POLLIN_, 0), int(POLLIN_));
}

TEST_F(EpollUdpTest, NestedEventpollsWakeTheirWatchersAndRefuseLoops) {
  const int s = udp(5000);
  const int inner = sys_epoll_create(net, 1), outer = sys_epoll_create(net, 1);
  ASSERT_EQ(add(inner, s, EPOLLIN_), 0);
  ASSERT_EQ(add(outer, inner, EPOLLIN_ | EPOLLET_), 0);
  EXPECT_EQ(add(inner, outer, EPOLLIN_), -E_LOOP);
  EXPECT_EQ(add(outer, inner, EPOLLIN_ | EPOLLEXCLUSIVE_), -E_INVAL);  // no exclusive watch of an eventpoll
  EXPECT_EQ(wait(outer), 0);
  deliver(5000);
  ASSERT_EQ(wait(outer), 1);
  EXPECT_EQ(ev[0].events, unsigned(EPOLLIN_));
  EXPECT_EQ(ev[0].data, uint64_t(inner));
  EXPECT_EQ(wait(outer), 0);  // edge-triggered: the inner's level-triggered re-add wakes nobody
  EXPECT_EQ(wait(inner), 1);
  EXPECT_EQ(wait(outer), 0);
  // A chain: outer <- e1 <- e2 <- e3 is EP_MAX_NESTS deep; one more is ELOOP.
  int top = outer;
  for (int i = 0; i < 3; ++i) {
    const int e = sys_epoll_create(net, 1);
    ASSERT_EQ(add(e, top, EPOLLIN_), 0);
    top = e;
  }
  const int e4 = sys_epoll_create(net, 1);
  EXPECT_EQ(add(e4, top, EPOLLIN_), -E_LOOP);
  ASSERT_EQ(sys_close(net, outer), 0);  // the chain loses a level; its watcher forgets it
  EXPECT_EQ(add(e4, top, EPOLLIN_), 0);
}

// TCP: the FIN and RST wakeups (sk_state_change) and connect completion.
struct EpollTcpTest : TcpConnTest {
  std::vector<EpollEvent> ev;
  int ep = -1;
  void SetUp() override {
    TcpConnTest::SetUp();
    ep = sys_epoll_create1(net, 0);
  }
};

TEST_F(EpollTcpTest, FinWakesAnEdgeTriggeredRdhupWatcher) {
  ASSERT_EQ(sys_epoll_ctl(net, ep, EPOLL_CTL_ADD_, cfd, {EPOLLRDHUP_ | EPOLLET_, 0}), 0);
  EXPECT_EQ(sys_epoll_wait(net, ep, ev, 4, 0), 0);
  send(seg(kAck | kFin));
  ASSERT_EQ(sys_epoll_wait(net, ep, ev, 4, 0), 1);
  EXPECT_EQ(ev[0].events, unsigned(sys_poll(net, cfd, EPOLLRDHUP_, 0)));
  EXPECT_TRUE(ev[0].events & EPOLLRDHUP_);
}

TEST_F(EpollTcpTest, RstReportsHupAndErr) {
  ASSERT_EQ(sys_epoll_ctl(net, ep, EPOLL_CTL_ADD_, cfd, {EPOLLIN_ | EPOLLET_, 0}), 0);
  send(seg(kRst | kAck));
  ASSERT_EQ(sys_epoll_wait(net, ep, ev, 4, 0), 1);
  EXPECT_EQ(ev[0].events, unsigned(sys_poll(net, cfd, EPOLLIN_, 0)));
  EXPECT_EQ(ev[0].events & (EPOLLHUP_ | EPOLLERR_), EPOLLHUP_ | EPOLLERR_);
}

TEST_F(EpollTcpTest, ListenerReadableOnANewConnection) {
  const int l2 = lfd;
  ASSERT_EQ(sys_epoll_ctl(net, ep, EPOLL_CTL_ADD_, l2, {EPOLLIN_ | EPOLLET_, 7}), 0);
  EXPECT_EQ(sys_epoll_wait(net, ep, ev, 4, 0), 0);  // the queue was emptied by accept
  peer_isn += 100000;
  snd = 0;
  TcpSeg syn;
  syn.seq = peer_isn;
  syn.sport = 40001;
  syn.flags = kSyn;
  syn.options = linux_syn_options(tsval);
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  isn = SentTcp(out[0]).seq();
  TcpSeg ack = seg(kAck);
  ack.sport = 40001;
  send(ack);
  ASSERT_EQ(sys_epoll_wait(net, ep, ev, 4, 0), 1);
  EXPECT_EQ(ev[0].data, 7u);
  EXPECT_EQ(ev[0].events, unsigned(EPOLLIN_));
}

}  // namespace
}  // namespace nettwin::test
