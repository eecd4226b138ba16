// Receive memory and the advertised window with a small SO_RCVBUF, against
// what Linux 6.18 does (net/ipv4/tcp_input.c, tcp_output.c, tcp.c): the
// truesize of a frame received on veth, the window as it fills and after a
// read, the drops of what lies past the window, and tcp_rcv_space_adjust.
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_output.h"
#include "socket/sock.h"
#include "socket/uapi.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

// TcpConnTest's connection, but the listener (so the child) has SO_RCVBUF
// 2048 (sk_rcvbuf 4096, SOCK_RCVBUF_LOCK), as tcp_receive_window_closes sets.
struct TcpRcvbufTest : TcpConnTest {
  void SetUp() override {
    TcpDutTest::SetUp();
    open_connection([this](int l) { ASSERT_EQ(sys_setsockopt(net, l, SOL_SOCKET_, SO_RCVBUF_, 2048, 4), 0); });
  }
  // 500 bytes at the tester's next sequence.
  std::vector<Bytes> send500(char c) {
    auto out = send(seg(kAck | kPsh, Bytes(500, uint8_t(c))));
    snd += 500;
    return out;
  }
};

TEST_F(TcpRcvbufTest, SoRcvbufIsDoubledAndTheSynAckOffersAWholeMssOfHalfOfIt) {
  Sock* sk = tp();
  EXPECT_EQ(sk->sk_rcvbuf, 4096);
  EXPECT_TRUE(sk->sk_userlocks & SOCK_RCVBUF_LOCK);
  // tcp_full_space at the default scaling ratio (128/256): 2048; rounded down
  // to the MSS less the timestamp option (1448); no window scaling needed.
  EXPECT_EQ(syn_ack_window, 1448);
  EXPECT_EQ(tp()->rx_opt.rcv_wscale, 0);
  EXPECT_EQ(tp()->window_clamp, 2048u);
  EXPECT_EQ(tp()->rcv_ssthresh, 1448u);
}

TEST_F(TcpRcvbufTest, AVethFrameCarriesThePeersPacketSndTruesize) {
  // packet_snd allocates LL_RESERVED_SPACE (16) + the 566-byte frame: 582 bytes,
  // SKB_HEAD_ALIGN 960, kmalloc-1024; SKB_TRUESIZE(1024 - 320) = 1280.
  EXPECT_EQ(alloc_skb_truesize(16 + 566), 1280u);
  // Below SKB_SMALL_HEAD_CACHE_SIZE a small head: SKB_HEAD_ALIGN(MAX_TCP_HEADER
  // 192) is 512, a power of two, so the cache's objects are 576 bytes:
  // SKB_TRUESIZE(576 - 320) = 832.
  EXPECT_EQ(alloc_skb_truesize(16 + 142), 832u);
  send500('A');
  EXPECT_EQ(tp()->sk_rmem_alloc, 1280);
}

TEST_F(TcpRcvbufTest, TheWindowShrinksAsMemoryFillsButNeverBelowWhatWasOffered) {
  auto out = send500('A');  // quick-ack mode: acked at once
  ASSERT_EQ(out.size(), 1u);
  // free space (4096 - 1280) * 128 / 256 = 1408 < rcv_ssthresh 1448:
  // rounded down to rcv_mss (536), 1072.
  EXPECT_EQ(SentTcp(out[0]).window(), 1072);
  EXPECT_EQ(SentTcp(out[0]).ack(), peer_isn + 1 + 500);
  EXPECT_TRUE(send500('B').empty());  // delayed: the window would not grow
  EXPECT_TRUE(send500('C').empty());
  EXPECT_EQ(tp()->sk_rmem_alloc, 3 * 1280);
  // What is left of the offered window: 501 + 1072 - 1501.
  EXPECT_EQ(tcp_receive_window(tp()), 72u);
  // rcv_ssthresh does not grow: min(window_clamp, tcp_space) stays below it.
  EXPECT_EQ(tp()->rcv_ssthresh, 1448u);
}

TEST_F(TcpRcvbufTest, ASegmentEndingPastTheWindowLeavesTheFastPathAndIsDropped) {
  send500('A');
  send500('B');
  send500('C');
  const uint32_t hp_hits = uint32_t(net.mib.tcpext.TCPHPHits);
  auto out = send500('D');  // 1501..2001 against a right edge of 1573
  ASSERT_EQ(out.size(), 1u);
  SentTcp a(out[0]);
  EXPECT_EQ(a.ack(), peer_isn + 1 + 1500);
  EXPECT_EQ(a.window(), 72);  // never shrunk
  EXPECT_EQ(uint32_t(net.mib.tcpext.TCPHPHits), hp_hits);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_INVALID_END_SEQUENCE");
  EXPECT_EQ(d.field(*drops[0], "location"), "tcp_validate_incoming");
  // One starting past the window too: TCP_INVALID_SEQUENCE.
  send500('E');
  drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 2u);
  EXPECT_EQ(d.field(*drops[1], "reason"), "TCP_INVALID_SEQUENCE");
  EXPECT_EQ(tp()->rcv_nxt, peer_isn + 1 + 1500);
  EXPECT_EQ(tp()->sk_rmem_alloc, 3 * 1280);
}

TEST_F(TcpRcvbufTest, WithAnEmptyQueueASegmentPastTheWindowIsStillTaken) {
  // tcp_sequence relaxes the end check when the receive queue is empty: the
  // window's right edge is 501 + 1072 after the first segment, read at once.
  send500('A');
  RecvMsg m;
  ASSERT_EQ(read(m, 4000), 500);
  EXPECT_EQ(tcp_receive_window(tp()), 1072u);
  send(seg(kAck | kPsh, Bytes(1200, 'x')));  // 501..1701
  EXPECT_EQ(tp()->rcv_nxt, peer_isn + 1 + 1700);
  EXPECT_TRUE(d.named("skb:kfree_skb").empty());
}

TEST_F(TcpRcvbufTest, AReadReopensTheWindowWithAnAckStampedNow) {
  send500('A');
  const uint32_t ts_before = dut_ts;  // the quick ACK's TSval
  send500('B');
  send500('C');
  d.stack.advance(300'000'000);
  wire();
  RecvMsg m;
  ASSERT_EQ(read(m, 4000), 1500);
  EXPECT_EQ(tp()->sk_rmem_alloc, 0);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  SentTcp a(out[0]);
  // tcp_cleanup_rbuf: 2 * 72 <= window_clamp and the new window (1408 free
  // rounded to 536s: 1072) at least twice the old: the window update goes.
  EXPECT_EQ(a.window(), 1072);
  EXPECT_EQ(a.ack(), peer_isn + 1 + 1500);
  // tcp_rcv_space_adjust refreshed the clock: the TSval is the read's time.
  EXPECT_GE(dut_tsval(a) - ts_before, 300u);
}

TEST_F(TcpRcvbufTest, TcpRcvSpaceAdjustIsTracedOnEachCopyAndLeavesALockedBufferAlone) {
  send500('A');
  send500('B');
  RecvMsg m;
  ASSERT_EQ(read(m, 4000), 1000);
  // One per skb copied; no receiver RTT yet (500 < rcv_mss), so no growth.
  EXPECT_EQ(d.named("tcp:tcp_rcv_space_adjust").size(), 2u);
  EXPECT_TRUE(d.named("tcp:tcp_rcvbuf_grow").empty());
  EXPECT_EQ(tp()->sk_rcvbuf, 4096);
  // No receiver RTT sample yet: the measure does not even restart.
  EXPECT_EQ(tp()->rcv_rtt_est.rtt_us, 0u);
  EXPECT_NE(tp()->rcvq_space.seq, tp()->copied_seq);
}

TEST_F(TcpRcvbufTest, TinySegmentsCoalesceIntoTheTailroomOfTheQueuesTail) {
  // tcp_try_coalesce: a 20-byte segment arrives in an 86-byte frame whose
  // head (packet_snd's kmalloc'd 256 bytes) leaves 170 bytes of tailroom, so
  // the receive queue's tail takes the next eight segments' bytes
  // (skb_try_coalesce copies them, charging nothing) before a ninth becomes
  // the new tail. Forty segments: five skbs, 35 coalesced, as
  // tcp_receive_tiny_segments recorded (TCPRcvCoalesce 35); the memory stays
  // well within sk_rcvbuf, so nothing is pruned.
  for (int n = 0; n < 40; ++n) {
    send(seg(kAck | kPsh, Bytes(20, uint8_t('a' + n))));
    snd += 20;
  }
  EXPECT_EQ(net.mib.tcpext.TCPRcvCoalesce, 35u);
  EXPECT_EQ(tp()->sk_receive_queue.qlen, 5u);
  EXPECT_EQ(tp()->sk_rmem_alloc, 5 * 832);
  EXPECT_EQ(net.mib.tcpext.PruneCalled, 0u);
  EXPECT_TRUE(d.named("skb:kfree_skb").empty());
  // The data reads back whole and in order.
  RecvMsg m;
  ASSERT_EQ(read(m, 4000), 20 * 40);
  std::string want;
  for (int i = 0; i < 40; ++i) want += std::string(20, char('a' + i));
  EXPECT_EQ(std::string(m.data.begin(), m.data.end()), want);
  EXPECT_EQ(tp()->sk_rmem_alloc, 0);
}

// tcp_try_coalesce refuses a cloned tail (skb_try_coalesce): a tap that
// still holds a clone of the tail keeps the next segment in its own skb.
TEST_F(TcpRcvbufTest, ACloneOfTheTailIsNotCoalescedInto) {
  send(seg(kAck | kPsh, Bytes(20, 'a')));
  snd += 20;
  SkBuff* tail = tp()->sk_receive_queue.back();
  ASSERT_NE(tail, nullptr);
  SkBuff* clone = skb_clone(tail);
  send(seg(kAck | kPsh, Bytes(20, 'b')));
  snd += 20;
  EXPECT_EQ(net.mib.tcpext.TCPRcvCoalesce, 0u);
  EXPECT_EQ(tp()->sk_receive_queue.qlen, 2u);
  // The new tail is nobody else's: the next segment joins it.
  send(seg(kAck | kPsh, Bytes(20, 'c')));
  snd += 20;
  EXPECT_EQ(net.mib.tcpext.TCPRcvCoalesce, 1u);
  EXPECT_EQ(tp()->sk_receive_queue.qlen, 2u);
  __kfree_skb(clone);
}

TEST_F(TcpRcvbufTest, OutOfOrderDataPastAnOverfullBufferIsDroppedAsProtoMem) {
  // One in-order 20-byte segment, then 20-byte segments each past a 20-byte
  // hole: the out-of-order queue takes them while what is queued is within
  // sk_rcvbuf. The first to come when it is past it makes tcp_prune_queue
  // collapse the receive queue (one bloated skb, copied: no gain) and try
  // tcp_prune_ofo_queue, which never drops data before the incoming skb's:
  // RcvPruned, and tcp_data_queue_ofo drops it as PROTO_MEM (TCPOFODrop).
  send(seg(kAck | kPsh, Bytes(20, 'a')));
  int n = 0;
  while (net.mib.tcpext.TCPOFODrop == 0 && n < 30) {
    TcpSeg s = seg(kAck | kPsh, Bytes(20, uint8_t('b' + n)));
    s.seq = peer_isn + 1 + 20 + uint32_t(n) * 40 + 20;
    send(s);
    ++n;
  }
  ASSERT_EQ(net.mib.tcpext.TCPOFODrop, 1u);
  EXPECT_EQ(net.mib.tcpext.PruneCalled, 1u);
  EXPECT_EQ(net.mib.tcpext.RcvPruned, 1u);
  EXPECT_EQ(net.mib.tcpext.TCPRcvCollapsed, 1u);
  EXPECT_EQ(net.mib.tcpext.OfoPruned, 0u);
  EXPECT_GT(tp()->sk_rmem_alloc, tp()->sk_rcvbuf);
  EXPECT_EQ(tp()->sk_rmem_alloc, n * 832);  // the in-order skb and n - 1 waiting (small heads)
  EXPECT_EQ(tp()->rcv_ssthresh, 2048u);      // tcp_clamp_window
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "PROTO_MEM");
  EXPECT_EQ(d.field(*drops[0], "location"), "tcp_data_queue_ofo");
}

// Without SO_RCVBUF the buffer autotunes: tcp_rcvbuf_grow sizes it from
// what the reader took in one receiver RTT (twice that, plus the growth over
// the last measure twice over), and window_clamp follows.
TEST_F(TcpConnTest, TcpRcvbufGrowRaisesTheBufferFromWhatTheReaderTookInOneRtt) {
  Sock* sk = tp();
  tp()->rcv_rtt_est.rtt_us = 1000 << 3;  // 1 ms, kept << 3 as tcp_rcv_rtt_update does
  tp()->rcvq_space.space = 50;
  tp()->rcvq_space.seq = tp()->copied_seq;
  send(seg(kAck | kPsh, Bytes(1448, 'x')));
  snd += 1448;
  d.stack.advance(2'000'000);
  wire();
  tp()->rcv_rtt_est.rtt_us = 1000 << 3;  // whatever the segment measured
  RecvMsg m;
  ASSERT_EQ(read(m, 4000), 1448);
  EXPECT_EQ(tp()->rcvq_space.space, 1448u);
  const uint64_t rcvwin = 2 * 1448 + 2 * (2896ull * (1448 - 50) / 50);
  const int expect = int((rcvwin << 8) / tp()->scaling_ratio);
  ASSERT_GT(expect, 131072);
  EXPECT_EQ(sk->sk_rcvbuf, expect);
  EXPECT_EQ(tp()->window_clamp, uint32_t((int64_t(expect) * tp()->scaling_ratio) >> 8));
  auto grow = d.named("tcp:tcp_rcvbuf_grow");
  ASSERT_EQ(grow.size(), 1u);
  EXPECT_EQ(d.field(*grow[0], "copied"), "1448");
  EXPECT_EQ(d.field(*grow[0], "space"), "50");
  EXPECT_EQ(d.field(*grow[0], "rcvbuf"), "131072");
}

// tcp_data_queue_ofo ends in tcp_rcvbuf_grow (6.16+) for a socket the user
// holds: twice rcvq_space plus all up to the last out-of-order byte sizes
// sk_rcvbuf, and window_clamp follows it raw (rcv_ssthresh keeps what
// tcp_measure_rcv_mss's clamp left). The larger buffer is what lets the
// segment that fills the hole raise rcv_ssthresh past the old clamp
// (traces/explore_tcp_rcv_ssthresh_ooo_fill).
TEST_F(TcpConnTest, OutOfOrderDataGrowsTheBufferOfAnAcceptedSocket) {
  ASSERT_EQ(tp()->sk_rcvbuf, 131072);
  ASSERT_EQ(tp()->rcvq_space.space, 14480u);  // TCP_INIT_CWND * advmss
  // 1000 bytes 30000 past rcv_nxt: truesize 2304, scaling_ratio 1000 * 256 / 2304.
  TcpSeg s = seg(kAck | kPsh, Bytes(1000, 'x'));
  s.seq += 30000;
  ASSERT_EQ(send(s).size(), 1u);  // the SACK
  ASSERT_EQ(tp()->out_of_order_queue.qlen, 1u);
  EXPECT_EQ(tp()->scaling_ratio, 111);
  // tcp_set_window_clamp(win_from_space(131072)) took rcv_ssthresh to 56832.
  EXPECT_EQ(tp()->rcv_ssthresh, 56832u);
  // rcvwin 2 * 14480 + 31000 = 59960: 59960 * 256 / 111 bytes of buffer,
  // of which 111/256 is window.
  EXPECT_EQ(tp()->sk_rcvbuf, 138286);
  EXPECT_EQ(tp()->window_clamp, 59959u);
  EXPECT_EQ(tp()->rcvq_space.space, 14480u);
}

// Not for a child still in the accept queue (no sk_socket): its buffer stays.
TEST_F(TcpConnTest, OutOfOrderDataLeavesTheBufferOfAChildNotYetAcceptedAlone) {
  TcpSeg syn;
  syn.sport = 40001;
  syn.seq = peer_isn;
  syn.options = linux_syn_options(tsval);
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  SentTcp sa(out[0]);
  TcpSeg s = seg(kAck);
  s.sport = 40001;
  s.ack = sa.seq() + 1;
  s.options = ts_option(tsval, dut_tsval(sa));
  EXPECT_TRUE(send(s).empty());
  auto& queue = tcp_sk(net.sock.files.at(lfd)->sk)->icsk_accept_queue;
  ASSERT_EQ(queue.size(), 1u);
  TcpSock* child = tcp_sk(queue[0].get());
  s.flags = kAck | kPsh;
  s.payload = Bytes(1000, 'x');
  s.seq += 30000;
  ASSERT_EQ(send(s).size(), 1u);
  ASSERT_EQ(child->out_of_order_queue.qlen, 1u);
  EXPECT_EQ(child->scaling_ratio, 111);
  EXPECT_EQ(child->sk_rcvbuf, 131072);
  EXPECT_EQ(child->window_clamp, 56832u);  // win_from_space(131072)
}

TEST_F(TcpRcvbufTest, TcpTryCoalesceCopiesLaterSegmentsIntoACollapsedSkbsTailroom) {
  // 20-byte segments, each tail held by a tap (a clone: not coalesced into),
  // until the queue overfills and is collapsed: tcp_collapse's skb is sized as
  // alloc_skb sizes it (a 256-byte head, truesize 832), nobody else's, and the
  // segments after it are copied into its tailroom at no charge
  // (skb_try_coalesce, delta 0) until it is full.
  int n = 0;
  auto send20 = [&] {
    send(seg(kAck | kPsh, Bytes(20, uint8_t('a' + n % 26))));
    snd += 20;
    ++n;
  };
  std::vector<SkBuff*> tapped;
  while (net.mib.tcpext.PruneCalled == 0 && n < 40) {
    send20();
    if (net.mib.tcpext.PruneCalled == 0) tapped.push_back(skb_clone(tp()->sk_receive_queue.back()));
  }
  ASSERT_EQ(net.mib.tcpext.PruneCalled, 1u);
  // The segment that overfilled the queue is the first to join the collapsed skb.
  EXPECT_EQ(net.mib.tcpext.TCPRcvCoalesce, 1u);
  EXPECT_EQ(tp()->sk_receive_queue.qlen, 1u);
  for (SkBuff* clone : tapped) __kfree_skb(clone);
  ASSERT_LT(n * 20 + 20, 256);  // room left for at least one more
  send20();
  EXPECT_EQ(tp()->sk_receive_queue.qlen, 1u);
  EXPECT_EQ(tp()->sk_rmem_alloc, 832);
  // Once the 256 bytes are taken, the next segment is an skb of its own.
  while (n * 20 + 20 <= 256) send20();
  EXPECT_EQ(tp()->sk_receive_queue.qlen, 1u);
  send20();
  EXPECT_EQ(tp()->sk_receive_queue.qlen, 2u);
  EXPECT_EQ(tp()->sk_rmem_alloc, 2 * 832);
  RecvMsg m;
  ASSERT_EQ(read(m, 4000), 20 * n);
  std::string want;
  for (int i = 0; i < n; ++i) want += std::string(20, char('a' + i % 26));
  EXPECT_EQ(std::string(m.data.begin(), m.data.end()), want);
}

TEST_F(TcpConnTest, ReceiverRttComesFromTheEchoedTimestampOfFullSegments) {
  // The tester echoes the SYN-ACK's TSval; 1 ms (the handshake) + 3 ms later a
  // full-sized segment (>= rcv_mss) gives a 4 ms sample, kept << 3.
  d.stack.advance(3'000'000);
  const uint32_t echoed = dut_ts;
  send(seg(kAck | kPsh, Bytes(1448, 'x')));
  snd += 1448;
  EXPECT_EQ(tp()->rcv_rtt_est.rtt_us, 4000u << 3);
  // The same TSecr again is no new sample.
  d.stack.advance(5'000'000);
  TcpSeg again = seg(kAck | kPsh, Bytes(1448, 'y'));
  again.options = ts_option(tsval, echoed);
  send(again);
  snd += 1448;
  EXPECT_EQ(tp()->rcv_rtt_est.rtt_us, 4000u << 3);
  // A newer echo (the ACK of the last segment, 2 ms back) is smaller: it
  // replaces the estimate outright; a larger one would be smoothed.
  d.stack.advance(2'000'000);
  send(seg(kAck | kPsh, Bytes(1448, 'z')));
  EXPECT_EQ(tp()->rcv_rtt_est.rtt_us, 2000u << 3);
}

}  // namespace
}  // namespace nettwin::test
