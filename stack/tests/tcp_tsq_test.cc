// TCP Small Queues and autocorking (tcp_output.c, tcp.c): how much of a
// socket's data may sit below TCP, and what a tcp_wfree sends that TSQ or
// autocorking held back. On veth the skb is orphaned by the peer's ip_rcv,
// when this CPU's backlog reaches it (netif_rx_peer).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ipv4/tcp_output.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

// The checkpoints named in `keep`, in order, from the first tcp_write_xmit on
// (process_backlog there: the peer's skbs reaching the backlog's head).
std::vector<std::string> sequence(const Dut& d, std::initializer_list<const char*> keep) {
  std::vector<std::string> out;
  for (const auto& ev : d.events)
    for (const char* k : keep)
      if (ev.name == std::string("checkpoint:") + k && (!out.empty() || ev.name == "checkpoint:tcp_write_xmit"))
        out.push_back(k);
  return out;
}

struct TcpTsqTest : TcpConnTest {
  void nodelay() { ASSERT_EQ(sys_setsockopt(net, cfd, SOL_TCP_, TCP_NODELAY_, 1, 4), 0); }
  // One skb per write (MSG_EOR: nothing may be appended to it).
  void writes(int n, size_t len) {
    for (int i = 0; i < n; ++i) ASSERT_EQ(write(std::string(len, 'x'), MSG_EOR_), int(len));
  }
};

TEST_F(TcpTsqTest, TcpSmallQueueCheckNeedsMoreThanOneSkbInFlight) {
  nodelay();
  writes(1, 100);
  wire();
  Sock* sk = tp();
  SkBuff* skb = tp()->tcp_rtx_queue.front();
  ASSERT_NE(skb, nullptr);
  ASSERT_EQ(sk->sk_wmem_alloc, 0);  // veth freed it: sent from a socket call
  sk->sk_wmem_alloc = 1 << 30;
  EXPECT_FALSE(tcp_small_queue_check(sk, skb, 0));  // tcp_rtx_queue_empty_or_single_skb
  EXPECT_EQ(sk->sk_tsq_flags & TSQF_THROTTLED, 0u);
  sk->sk_wmem_alloc = 0;
  writes(1, 100);
  wire();
  ASSERT_EQ(tp()->tcp_rtx_queue.qlen, 2u);
  sk->sk_wmem_alloc = 1 << 30;
  EXPECT_TRUE(tcp_small_queue_check(sk, skb, 0));
  EXPECT_NE(sk->sk_tsq_flags & TSQF_THROTTLED, 0u);
  sk->sk_wmem_alloc = 0;
  sk->sk_tsq_flags = 0;
}

TEST_F(TcpTsqTest, TcpSmallQueueCheckLimitIsTwoSkbsOrThePacingRatesMillisecondShiftedByFactor) {
  nodelay();
  writes(2, 100);
  wire();
  Sock* sk = tp();
  SkBuff* skb = tp()->tcp_rtx_queue.front();
  tp()->sk_pacing_rate = 0;  // the limit is 2 * truesize
  const int limit = 2 * int(skb->truesize);
  sk->sk_wmem_alloc = limit - 1;  // Linux's refcount (wmem + 1) equals the limit: not over
  EXPECT_FALSE(tcp_small_queue_check(sk, skb, 0));
  sk->sk_wmem_alloc = limit;
  EXPECT_TRUE(tcp_small_queue_check(sk, skb, 0));
  sk->sk_tsq_flags = 0;
  EXPECT_FALSE(tcp_small_queue_check(sk, skb, 1));  // the retransmit queue's factor doubles it
  tp()->sk_pacing_rate = uint64_t(4 * limit) << 10;  // sk_pacing_shift 10: ~1 ms of pacing
  EXPECT_FALSE(tcp_small_queue_check(sk, skb, 0));
  sk->sk_wmem_alloc = 4 * limit;
  EXPECT_TRUE(tcp_small_queue_check(sk, skb, 0));
  // tcp_limit_output_bytes caps the pacing rate's share.
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_limit_output_bytes", std::to_string(limit)));
  sk->sk_wmem_alloc = limit;
  EXPECT_TRUE(tcp_small_queue_check(sk, skb, 0));
  sk->sk_wmem_alloc = 0;
  sk->sk_tsq_flags = 0;
}

TEST_F(TcpTsqTest, VethXmitInASoftirqKeepsTheSkbChargedUntilTheBacklogReachesIt) {
  // netif_rx_peer / tcp_wfree: an ACK's tcp_write_xmit (softirq) leaves the
  // segments' memory charged while the ACK's own processing goes on.
  nodelay();
  writes(10, 1000);  // cwnd 10: all leave from the socket call, freed at once
  ASSERT_EQ(wire().size(), 10u);
  EXPECT_EQ(tp()->sk_wmem_alloc, 0);
  writes(2, 1000);  // no room in cwnd: they wait
  EXPECT_TRUE(wire().empty());
  d.trace(true);
  tsval += 1;
  auto out = send(seg(kAck, {}, 2000));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(tp()->sk_wmem_alloc, 0);
  // Both sent before the backlog reached the first.
  EXPECT_EQ(sequence(d, {"tcp_write_xmit", "netif_rx_peer", "process_backlog"}),
            (std::vector<std::string>{"tcp_write_xmit", "netif_rx_peer", "tcp_write_xmit", "netif_rx_peer",
                                      "process_backlog", "process_backlog"}));
}

TEST_F(TcpTsqTest, TcpWfreeOfAThrottledSocketSendsTheRestFromTheTsqWork) {
  // With tcp_limit_output_bytes 1, anything below TCP throttles a socket with
  // more than one skb out: each segment waits for the previous one's tcp_wfree
  // (TASKLET_SOFTIRQ's tcp_tsq_workfn → tcp_tsq_write → tcp_write_xmit).
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_limit_output_bytes", "1"));
  nodelay();
  writes(10, 1000);
  ASSERT_EQ(wire().size(), 10u);  // from a socket call each is freed before the next check
  writes(3, 1000);
  d.trace(true);
  tsval += 1;
  auto out = send(seg(kAck, {}, 3000));
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(SentTcp(out[i]).seq(), isn + 1 + 10000 + 1000 * i);
  // Each sent only after the previous one's tcp_wfree (process_backlog).
  EXPECT_EQ(sequence(d, {"tcp_write_xmit", "netif_rx_peer", "process_backlog"}),
            (std::vector<std::string>{"tcp_write_xmit", "netif_rx_peer", "process_backlog", "tcp_write_xmit",
                                      "netif_rx_peer", "process_backlog", "tcp_write_xmit", "netif_rx_peer",
                                      "process_backlog"}));
  EXPECT_EQ(tp()->sk_tsq_flags, 0u);  // throttled, queued, run
  EXPECT_TRUE(net.sock.tsq_list.empty());
  EXPECT_EQ(tp()->sk_wmem_alloc, 0);
}

// A ring NIC holds a sent skb until its TX completion: the place autocorking
// has something to wait for (on veth a socket call's skb is gone by then).
struct TcpRingConnTest : TcpConnTest {
  TcpRingConnTest() : TcpConnTest(DeviceKind::Ring) {}
  void nodelay() { ASSERT_EQ(sys_setsockopt(net, cfd, SOL_TCP_, TCP_NODELAY_, 1, 4), 0); }
};

TEST_F(TcpRingConnTest, TcpShouldAutocorkHoldsASmallWriteWhileMoreMemoryIsBelowTcp) {
  nodelay();
  const uint64_t corked = d.counter("TcpExt.TCPAutoCorking");
  ASSERT_EQ(write(std::string(100, 'a')), 100);  // nothing in flight: leaves at once
  EXPECT_GT(tp()->sk_wmem_alloc, 0);             // in the TX ring until its completion
  EXPECT_EQ(tp()->snd_nxt, isn + 1 + 100);
  ASSERT_EQ(write(std::string(100, 'b')), 100);  // the same truesize below TCP: corked
  EXPECT_EQ(d.counter("TcpExt.TCPAutoCorking") - corked, 1u);
  EXPECT_NE(tp()->sk_tsq_flags & TSQF_THROTTLED, 0u);
  EXPECT_EQ(tp()->snd_nxt, isn + 1 + 100);
  // Appended to, the tail skb outgrows what is below TCP (Linux compares
  // refcount > skb->truesize): it leaves, 200 bytes in one segment.
  ASSERT_EQ(write(std::string(100, 'c')), 100);
  EXPECT_EQ(tp()->snd_nxt, isn + 1 + 300);
  EXPECT_EQ(d.counter("TcpExt.TCPAutoCorking") - corked, 1u);
  d.stack.advance(1'000'000);
  auto out = wire();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(payload(out[0]).size(), 100u);
  EXPECT_EQ(payload(out[1]).size(), 200u);
  EXPECT_EQ(tp()->sk_tsq_flags, 0u);  // the completion's tcp_wfree queued it; the work ran
}

TEST_F(TcpRingConnTest, TcpWfreeAtTheTxCompletionPushesWhatAutocorkingHeld) {
  nodelay();
  ASSERT_EQ(write(std::string(100, 'a')), 100);
  ASSERT_EQ(write(std::string(100, 'b')), 100);  // corked
  EXPECT_EQ(tp()->snd_nxt, isn + 1 + 100);
  d.stack.advance(1'000'000);  // TX completion: tcp_wfree → tcp_tsq_workfn → tcp_write_xmit
  EXPECT_EQ(tp()->snd_nxt, isn + 1 + 200);
  auto out = wire();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(payload(out[1]).size(), 100u);
}

TEST_F(TcpRingConnTest, TcpAutocorkingZeroSendsEachSmallWrite) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_autocorking", "0"));
  nodelay();
  const uint64_t corked = d.counter("TcpExt.TCPAutoCorking");
  for (char c : {'a', 'b', 'c'}) ASSERT_EQ(write(std::string(100, c)), 100);
  EXPECT_EQ(tp()->snd_nxt, isn + 1 + 300);
  EXPECT_EQ(d.counter("TcpExt.TCPAutoCorking"), corked);
  d.stack.advance(1'000'000);
  auto out = wire();
  ASSERT_EQ(out.size(), 3u);
  for (const auto& f : out) EXPECT_EQ(payload(f).size(), 100u);
}

}  // namespace
}  // namespace nettwin::test
