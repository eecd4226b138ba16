// Send-buffer accounting (net/core/sock.c): skb_set_owner_w charges an skb's
// truesize to sk_wmem_alloc, sock_wfree gives it back wherever the skb dies,
// sock_alloc_send_skb waits or fails with EAGAIN when the buffer is full, and
// poll reports POLLOUT while less than half of it is in use.
#include <gtest/gtest.h>

#include "core/net.h"
#include "core/skb_pool.h"
#include "socket/syscalls.h"
#include "test_helpers.h"

namespace nettwin::test {
namespace {

constexpr int AF_INET = 2, SOCK_DGRAM = 2;

struct WmemTest : ::testing::Test {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();
  const uint8_t payload[100] = {};
  SockaddrIn to;

  WmemTest() {
    to.addr = kTesterIp;  // unresolved until the tester's ARP request arrives
    to.port = 4000;
  }
  int udp(int type = SOCK_DGRAM) { return sys_socket(net, AF_INET, type, 0); }
  int send(int fd, int flags = 0) {
    SendMsg m;
    m.data = payload;
    m.name = &to;
    m.namelen = 16;
    m.flags = flags;
    return sys_sendmsg(net, fd, m);
  }
  Sock* sk(int fd) { return net.sock.files.at(fd)->sk; }
  void resolve() {  // the tester's ARP request teaches the DUT its MAC: the arp_queue leaves
    d.inject(arp_request(kTesterIp, kDutIp));
    d.stack.advance(1'000'000);
  }
  size_t datagrams_on_wire() {
    size_t n = 0;
    for (const auto& f : d.stack.take_wire())
      if (f.data.size() > 23 && f.data[12] == 0x08 && f.data[13] == 0 && f.data[23] == 17) ++n;
    return n;
  }
};

TEST_F(WmemTest, SkbOwnershipChargesAndFreeUncharges) {
  const int fd = udp();
  Sock* s = sk(fd);
  SkBuff* skb = net.pool.alloc_skb(1000);
  skb_set_owner_w(skb, s);
  EXPECT_EQ(s->sk_wmem_alloc, int(skb->truesize));
  SkBuff* clone = skb_clone(skb);  // a clone is nobody's
  EXPECT_EQ(clone->sk, nullptr);
  EXPECT_EQ(clone->destructor, nullptr);
  __kfree_skb(clone);
  EXPECT_EQ(s->sk_wmem_alloc, int(skb->truesize));
  skb_get(skb);
  kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "test");  // not the last reference
  EXPECT_GT(s->sk_wmem_alloc, 0);
  consume_skb(skb, "test");
  EXPECT_EQ(s->sk_wmem_alloc, 0);
}

TEST_F(WmemTest, QueuedFramesStayChargedAndFullBufferSaysEagain) {
  const int fd = udp();
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_SNDBUF_, 1, 4), 0);  // SOCK_MIN_SNDBUF: 4608
  EXPECT_EQ(sys_poll(net, fd, POLLOUT_, 0), int(POLLOUT_));
  EXPECT_EQ(send(fd, MSG_DONTWAIT_), 100);
  const int one = sk(fd)->sk_wmem_alloc;
  EXPECT_GT(one, 0);  // waiting in the neighbour's arp_queue, still charged
  int sent = 1;
  while (sk(fd)->sk_wmem_alloc < sk(fd)->sk_sndbuf) {
    ASSERT_EQ(send(fd, MSG_DONTWAIT_), 100);
    ++sent;
  }
  EXPECT_EQ(sk(fd)->sk_wmem_alloc, sent * one);
  const uint64_t discards = d.counter("Ip.OutDiscards");
  EXPECT_EQ(send(fd, MSG_DONTWAIT_), -E_AGAIN);
  EXPECT_EQ(d.counter("Udp.SndbufErrors"), 1u);               // SOCK_NOSPACE
  EXPECT_EQ(d.counter("Ip.OutDiscards"), discards + 1);       // __ip_append_data's error exit
  EXPECT_EQ(sys_poll(net, fd, POLLOUT_, 0), 0);               // not writeable
  ASSERT_EQ(sys_fcntl_setfl(net, fd, O_NONBLOCK_), 0);
  EXPECT_EQ(send(fd), -E_AGAIN);                              // O_NONBLOCK is MSG_DONTWAIT
  resolve();
  EXPECT_EQ(datagrams_on_wire(), size_t(sent));
  EXPECT_EQ(sk(fd)->sk_wmem_alloc, 0);  // veth_xmit freed them: sock_wfree
  EXPECT_EQ(sys_poll(net, fd, POLLOUT_, 0), int(POLLOUT_));
  EXPECT_EQ(send(fd), 100);
  EXPECT_EQ(d.counter("Udp.OutDatagrams"), uint64_t(sent + 1));
}

TEST_F(WmemTest, BlockingSendWaitsUntilTheQueueIsFreed) {
  const int fd = udp();
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_SNDBUF_, 1, 4), 0);
  while (sk(fd)->sk_wmem_alloc < sk(fd)->sk_sndbuf) ASSERT_EQ(send(fd), 100);
  d.trace();
  const uint64_t t0 = d.stack.now_ns();
  // Nobody answers the ARP probes: after mcast_solicit of them the neighbour
  // fails, its queue is dropped and the blocked writer finds room.
  EXPECT_EQ(send(fd), 100);
  EXPECT_GE(d.stack.now_ns() - t0, 2'000'000'000u);
  bool neigh_failed = false;
  for (const TraceEvent* ev : d.named("skb:kfree_skb"))
    neigh_failed |= d.field(*ev, "reason") == "NEIGH_FAILED";
  EXPECT_TRUE(neigh_failed);
  EXPECT_LT(sk(fd)->sk_wmem_alloc, sk(fd)->sk_sndbuf);
}

TEST_F(WmemTest, CloseWithFramesInFlightDefersTheFree) {
  const int fd = udp();
  ASSERT_EQ(send(fd), 100);
  ASSERT_EQ(send(fd), 100);
  ASSERT_EQ(sys_close(net, fd), 0);
  EXPECT_TRUE(net.sock.socks_alive.empty());
  ASSERT_EQ(net.sock.socks_dying.size(), 1u);  // held by sk_wmem_alloc
  resolve();
  EXPECT_EQ(datagrams_on_wire(), 2u);
  EXPECT_TRUE(net.sock.socks_dying.empty());  // the last sock_wfree freed it
}

TEST_F(WmemTest, CloseThenStackTeardownWithFramesQueued) {
  {
    Dut d2{DeviceKind::Ring};
    Net& n2 = d2.stack.net();
    const int fd = sys_socket(n2, AF_INET, SOCK_DGRAM, 0);
    SendMsg m;
    m.data = payload;
    m.name = &to;
    m.namelen = 16;
    ASSERT_EQ(sys_sendmsg(n2, fd, m), 100);
    ASSERT_EQ(sys_close(n2, fd), 0);
    EXPECT_EQ(n2.sock.socks_dying.size(), 1u);
  }  // ~Net frees the arp_queue: the deferred sock goes with it (ASan: no use after free)
  SUCCEED();
}

TEST_F(WmemTest, RingNicHoldsTheChargeUntilTxCompletion) {
  Dut r{DeviceKind::Ring};
  Net& n = r.stack.net();
  r.inject(arp_request(kTesterIp, kDutIp));
  r.stack.advance(1'000'000);
  r.stack.take_wire();
  const int fd = sys_socket(n, AF_INET, SOCK_DGRAM, 0);
  SendMsg m;
  m.data = payload;
  m.name = &to;
  m.namelen = 16;
  ASSERT_EQ(sys_sendmsg(n, fd, m), 100);
  Sock* s = n.sock.files.at(fd)->sk;
  EXPECT_GT(s->sk_wmem_alloc, 0);  // in the TX ring until the completion interrupt
  ASSERT_EQ(sys_close(n, fd), 0);
  EXPECT_EQ(n.sock.socks_dying.size(), 1u);
  r.stack.advance(10'000'000);
  EXPECT_TRUE(n.sock.socks_dying.empty());
}

TEST_F(WmemTest, LargeDatagramAndItsFragmentsAreCharged) {
  resolve();
  d.stack.take_wire();
  const int fd = udp();
  std::vector<uint8_t> big(4000);
  SendMsg m;
  m.data = big;
  m.name = &to;
  m.namelen = 16;
  ASSERT_EQ(sys_sendmsg(net, fd, m), 4000);
  EXPECT_EQ(sk(fd)->sk_wmem_alloc, 0);  // every fragment left through veth
  EXPECT_EQ(d.stack.take_wire().size(), 3u);
}

TEST_F(WmemTest, ShutWrIsEpipeFromSockAllocSendSkb) {
  const int fd = udp();
  EXPECT_EQ(sys_shutdown(net, fd, SHUT_WR_), -E_NOTCONN);  // unconnected: said, and done all the same
  const uint64_t discards = d.counter("Ip.OutDiscards");
  EXPECT_EQ(send(fd), -E_PIPE);
  EXPECT_EQ(d.counter("Ip.OutDiscards"), discards + 1);
  EXPECT_EQ(d.counter("Udp.SndbufErrors"), 0u);
}

}  // namespace
}  // namespace nettwin::test
