// D-SACK (RFC 2883, net.ipv4.tcp_dsack 1) as Linux 6.18 does it: the receiver
// reports a duplicate in the first SACK block (tcp_dsack_set from
// tcp_data_queue and tcp_data_queue_ofo, tcp_dsack_extend from tcp_ofo_queue);
// the sender counts one (tcp_check_dsack, tcp_dsack_seen), ignores a dubious
// one, and takes a D-SACKed retransmission off undo_retrans so that a
// spurious recovery is undone (tcp_try_undo_dsack, tcp_try_undo_recovery).
// The recordings tcp_dsack_* show the same.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

using Block = std::pair<uint32_t, uint32_t>;

// The SACK blocks of a DUT segment, relative to base.
std::vector<Block> sack_blocks(const Bytes& f, uint32_t base) {
  const Bytes o = SentTcp(f).options();
  std::vector<Block> out;
  for (size_t i = 0; i + 1 < o.size();) {
    if (o[i] == 1) { ++i; continue; }
    if (o[i] == 0 || o[i + 1] < 2) break;
    if (o[i] == 5)
      for (size_t b = i + 2; b + 8 <= i + o[i + 1]; b += 8) out.emplace_back(be32(o, b) - base, be32(o, b + 4) - base);
    i += o[i + 1];
  }
  return out;
}

struct TcpDsackTest : TcpConnTest {
  // The tester's data at rel (relative to its ISN + 1), len bytes.
  std::vector<Bytes> data_at(uint32_t rel, size_t len) {
    const uint32_t saved = snd;
    snd = rel;
    auto out = send(seg(kAck | kPsh, Bytes(len, 'd')));
    snd = saved;
    return out;
  }
  uint32_t base() const { return peer_isn + 1; }
  // An ACK of ack_rel of our data with SACK blocks (relative to our ISN + 1).
  std::vector<Bytes> sack(uint32_t ack_rel, const std::vector<Block>& blocks) {
    TcpSeg s = seg(kAck, {}, ack_rel);
    Bytes sb = {1, 1, 5, uint8_t(2 + 8 * blocks.size())};
    for (const auto& [l, r] : blocks) {
      put32(sb, isn + 1 + l);
      put32(sb, isn + 1 + r);
    }
    s.options.insert(s.options.end(), sb.begin(), sb.end());
    return send(s);
  }
};

// tcp_data_queue: a segment wholly below rcv_nxt is acked at once with a
// D-SACK of it (TCPDSACKOldSent, DelayedACKLost).
TEST_F(TcpDsackTest, DuplicateDataIsAckedWithDsackOfIt) {
  ASSERT_EQ(data_at(0, 33).size(), 1u);
  d.stack.advance(5'000'000);
  auto out = data_at(0, 33);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).ack(), base() + 33);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{0, 33}}));
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKOldSent"), 1u);
  EXPECT_EQ(d.counter("TcpExt.DelayedACKLost"), 1u);
  // A D-SACK goes out once.
  out = data_at(33, 33);
  d.stack.advance(300'000'000);
  for (const auto& f : wire()) out.push_back(f);
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(sack_blocks(out.back(), base()).empty());
}

// The old part of a segment that also brings new data: D-SACK [seq, rcv_nxt).
TEST_F(TcpDsackTest, PartialDuplicateReportsItsOldPart) {
  ASSERT_EQ(data_at(0, 33).size(), 1u);
  auto out = data_at(0, 66);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).ack(), base() + 66);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{0, 33}}));
}

// tcp_data_queue_ofo: a duplicate of queued out-of-order data is dropped
// (TCP_OFOMERGE) and reported ahead of the SACK block (TCPDSACKOfoSent).
TEST_F(TcpDsackTest, OutOfOrderDuplicateGoesAheadOfTheSackBlock) {
  ASSERT_EQ(data_at(0, 33).size(), 1u);
  auto out = data_at(66, 33);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{66, 99}}));
  out = data_at(66, 33);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{66, 99}, {66, 99}}));
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKOfoSent"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKOldSent"), 0u);
}

// tcp_ofo_queue: queued data the hole's filler already covered is reported
// (tcp_dsack_extend) and dropped (TCP_OFO_DROP).
TEST_F(TcpDsackTest, FillerCoveringQueuedDataReportsItWhenTheQueueDrains) {
  ASSERT_EQ(data_at(66, 33).size(), 1u);
  auto out = data_at(0, 99);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).ack(), base() + 99);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{66, 99}}));
}

// net.ipv4.tcp_dsack 0: duplicates are acked without a D-SACK.
TEST_F(TcpDsackTest, SysctlOffSendsNoDsack) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_dsack", "0").has_value());
  ASSERT_EQ(data_at(0, 33).size(), 1u);
  auto out = data_at(0, 33);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(sack_blocks(out[0], base()).empty());
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKOldSent"), 0u);
}

// tcp_dsack_seen: a D-SACK of data never retransmitted is dubious: counted
// (TCPDSACKRecv, tcpi_dsack_dups) and ignored (TCPDSACKIgnoredDubious); its
// block, below snd_una, is then an invalid SACK block (TCPSACKDiscard).
TEST_F(TcpDsackTest, DsackOfDataNeverRetransmittedIsDubious) {
  ASSERT_EQ(write("abc"), 3);
  ASSERT_EQ(wire().size(), 1u);
  tsval += 1;
  send(seg(kAck, {}, 3));
  ASSERT_EQ(write("def"), 3);
  ASSERT_EQ(wire().size(), 1u);
  tsval += 1;
  sack(6, {{0, 3}});
  EXPECT_EQ(tp()->dsack_dups, 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKRecv"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKIgnoredDubious"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKRecvSegs"), 0u);
  EXPECT_EQ(d.counter("TcpExt.TCPSACKDiscard"), 1u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
}

struct TcpDsackRecoveryTest : TcpDsackTest {
  // Six 1000-byte segments (NODELAY), SACK of the 2nd up to sacked_end: the 1st is retransmitted
  // in Recovery.
  void fast_retransmit_first(uint32_t sacked_end) {
    ASSERT_EQ(sys_setsockopt(net, cfd, 6, 1, 1, 4), 0);  // TCP_NODELAY
    for (int i = 0; i < 6; ++i) ASSERT_EQ(write(std::string(1000, char('0' + i))), 1000);
    ASSERT_EQ(wire().size(), 6u);
    d.stack.advance(3'000'000);
    tsval += 3;
    auto out = sack(0, {{1000, sacked_end}});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(SentTcp(out[0]).seq(), isn + 1);
    ASSERT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  }
  // The same with the 2nd-6th SACKed; the retransmission's original arrived (spurious).
  void spurious_fast_retransmit() {
    ASSERT_NO_FATAL_FAILURE(fast_retransmit_first(6000));
    ASSERT_EQ(tp()->undo_retrans, 1);
    ASSERT_EQ(tp()->snd_ssthresh, 7u);
    d.stack.advance(3'000'000);
    tsval += 3;
  }
};

// The ACK of everything D-SACKs the retransmission (its TSecr echoes the
// retransmission, so only the D-SACK shows the original arrived): undo_retrans
// falls to 0 in the D-SACK's tagging and tcp_try_undo_recovery undoes
// (TCPFullUndo): ssthresh as before, cwnd back to 10 and, Open again, slow
// start on the two this ACK delivered (the hole and the spurious copy): 12,
// as tcp_dsack_recv_undo recorded.
TEST_F(TcpDsackRecoveryTest, DsackInTheFinalAckUndoesTheRecovery) {
  ASSERT_NO_FATAL_FAILURE(spurious_fast_retransmit());
  EXPECT_TRUE(sack(6000, {{0, 1000}}).empty());
  EXPECT_EQ(tp()->undo_retrans, 0);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_EQ(tp()->snd_cwnd, 12u);
  EXPECT_EQ(tp()->snd_ssthresh, 0x7fffffffu);
  EXPECT_EQ(tp()->dsack_dups, 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKRecv"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKRecvSegs"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPFullUndo"), 1u);
}

// Without the D-SACK the same ACK ends the recovery at ssthresh.
TEST_F(TcpDsackRecoveryTest, WithoutDsackTheRecoveryEndsReduced) {
  ASSERT_NO_FATAL_FAILURE(spurious_fast_retransmit());
  EXPECT_TRUE(send(seg(kAck, {}, 6000)).empty());
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_EQ(tp()->snd_cwnd, 7u);
  EXPECT_EQ(d.counter("TcpExt.TCPFullUndo"), 0u);
}

// The recovery ended reduced (undo_marker still set), nothing in flight, then
// a duplicate ACK D-SACKs the retransmission: tcp_ack's no-queue path still
// runs tcp_fastretrans_alert for a D-SACKing ACK, and in Open
// tcp_try_undo_dsack undoes (TCPDSACKUndo; tcp_dsack_undo_after_recovery).
TEST_F(TcpDsackRecoveryTest, LateDsackUndoesAFinishedRecovery) {
  ASSERT_NO_FATAL_FAILURE(spurious_fast_retransmit());
  EXPECT_TRUE(send(seg(kAck, {}, 6000)).empty());
  ASSERT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  ASSERT_EQ(tp()->snd_ssthresh, 7u);
  ASSERT_EQ(tp()->packets_out, 0u);
  d.stack.advance(3'000'000);
  tsval += 3;
  EXPECT_TRUE(sack(6000, {{0, 1000}}).empty());
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKUndo"), 1u);
  EXPECT_EQ(tp()->snd_ssthresh, 0x7fffffffu);
  EXPECT_EQ(tp()->snd_cwnd, 10u);
  EXPECT_EQ(tp()->undo_marker, 0u);
}

// A partial ACK (snd_una still below high_seq, the new head not SACKed),
// then a D-SACK of the retransmission: tcp_try_undo_dsack undoes at once
// (TCPDSACKUndo) and the connection leaves Recovery (tcp_dsack_undo_partial
// recorded it).
TEST_F(TcpDsackRecoveryTest, PartialAckThenDsackUndoesInRecovery) {
  ASSERT_NO_FATAL_FAILURE(fast_retransmit_first(4000));
  send(seg(kAck, {}, 4000));
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tp()->undo_retrans, 1);
  EXPECT_TRUE(sack(4000, {{0, 1000}}).empty());
  EXPECT_EQ(tp()->undo_retrans, 0);
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKUndo"), 1u);
  EXPECT_NE(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tp()->snd_ssthresh, 0x7fffffffu);
}

// A partial ACK that stops at data the peer had SACKed is SACK reneging
// (tcp_check_sack_reneging), even with a D-SACK in it: no undo yet, the RTO
// timer rearmed short instead.
TEST_F(TcpDsackRecoveryTest, PartialAckIntoSackedDataIsReneging) {
  ASSERT_NO_FATAL_FAILURE(spurious_fast_retransmit());
  // The 2nd-6th were SACKed; acking 1000 leaves them SACKed above snd_una.
  EXPECT_TRUE(sack(1000, {{0, 1000}, {1000, 6000}}).empty());
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKUndo"), 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_RETRANS);
}

// tcp_check_dsack: a first block inside the second is a D-SACK too (TCPDSACKOfoRecv).
TEST_F(TcpDsackRecoveryTest, FirstBlockInsideTheSecondIsADsack) {
  ASSERT_NO_FATAL_FAILURE(spurious_fast_retransmit());
  sack(0, {{2000, 3000}, {1000, 6000}});
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKOfoRecv"), 1u);
  EXPECT_EQ(tp()->dsack_dups, 1u);
}

// tcp_sack_new_ofo_skb: the block of the latest out-of-order data goes first
// (RFC 2018 4), a block it extends moves to the front, and filling the hole
// between two blocks merges them (tcp_sack_maybe_coalesce); rcv_nxt eats the
// blocks it reaches (tcp_sack_remove). packetdrill ooo_two_holes_sack too.
TEST_F(TcpDsackTest, SackBlocksListTheMostRecentFirst) {
  auto out = data_at(100, 100);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{100, 200}}));
  out = data_at(300, 100);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{300, 400}, {100, 200}}));
  // Extending the older block brings it back to the front.
  out = data_at(200, 50);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{100, 250}, {300, 400}}));
  // Filling the hole between them: one block.
  out = data_at(250, 50);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{100, 400}}));
  out = data_at(500, 10);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{500, 510}, {100, 400}}));
  // rcv_nxt reaches the second block only: it goes, the first stays.
  out = data_at(0, 100);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).ack(), base() + 400);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{500, 510}}));
}

// Four blocks at most are kept (three fit beside timestamps); a fifth pushes
// the oldest out, which the segments still queued do not bring back.
TEST_F(TcpDsackTest, AFifthBlockForgetsTheOldest) {
  std::vector<Bytes> out;
  for (uint32_t rel : {100u, 200u, 300u, 400u, 500u}) {
    out = data_at(rel, 10);
    ASSERT_EQ(out.size(), 1u);
  }
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{500, 510}, {400, 410}, {300, 310}}));
  EXPECT_EQ(tp()->rx_opt.num_sacks, 4);
  EXPECT_EQ(tp()->selective_acks[3].start_seq - base(), 200u);
}

// tcp_data_queue_ofo: a segment starting where queued data starts and
// covering it replaces it, and one covering later queued segments removes
// them (TCP_OFOMERGE each, D-SACK of what was queued already).
TEST_F(TcpDsackTest, OutOfOrderSegmentCoveringQueuedOnesReplacesThem) {
  ASSERT_EQ(data_at(100, 10).size(), 1u);
  ASSERT_EQ(data_at(120, 10).size(), 1u);
  auto out = data_at(100, 40);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{100, 110}, {100, 140}}));
  EXPECT_EQ(tp()->out_of_order_queue.qlen, 1u);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 2u);
  for (const auto* e : drops) {
    EXPECT_EQ(d.field(*e, "reason"), "TCP_OFOMERGE");
    EXPECT_EQ(d.field(*e, "location"), "tcp_data_queue");
  }
  // A segment starting inside queued data and going beyond it is kept, its
  // overlap reported.
  out = data_at(130, 20);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{130, 140}, {100, 150}}));
  EXPECT_EQ(tp()->out_of_order_queue.qlen, 2u);
}

// Out-of-order data left at close (unread data: the connection is reset and
// destroyed at once): tcp_v4_destroy_sock's skb_rbtree_purge frees it with
// kfree_skb (NOT_SPECIFIED), as Linux traces it.
TEST_F(TcpDsackTest, OutOfOrderDataLeftAtCloseIsPurgedWithATrace) {
  ASSERT_EQ(data_at(0, 10).size(), 1u);
  ASSERT_EQ(data_at(100, 10).size(), 1u);
  ASSERT_EQ(data_at(200, 10).size(), 1u);
  ASSERT_EQ(sys_close(net, cfd), 0);
  size_t purged = 0;
  for (const auto* e : d.named("skb:kfree_skb")) {
    if (d.field(*e, "location") != "skb_rbtree_purge") continue;
    EXPECT_EQ(d.field(*e, "reason"), "NOT_SPECIFIED");
    ++purged;
  }
  EXPECT_EQ(purged, 2u);
}

// tcp_ooo_try_coalesce: a bare FIN right after queued out-of-order data joins
// that skb (freed untraced), so the purge at close frees one skb, as Linux's
// recording (explore seed 1796620267 #379) shows. Out-of-order data also
// teaches rcv_mss (tcp_measure_rcv_mss from tcp_data_queue_ofo).
TEST_F(TcpDsackTest, OutOfOrderBareFinJoinsTheSegmentBeforeIt) {
  ASSERT_EQ(data_at(0, 10).size(), 1u);
  const unsigned rcv_mss_before = tp()->icsk_ack.rcv_mss;
  ASSERT_EQ(data_at(100, 1000).size(), 1u);
  EXPECT_GT(tp()->icsk_ack.rcv_mss, rcv_mss_before);
  EXPECT_EQ(tp()->icsk_ack.rcv_mss, 1000u);
  const uint32_t saved = snd;
  snd = 1100;
  auto out = send(seg(kFin | kAck));
  snd = saved;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(sack_blocks(out[0], base()), (std::vector<Block>{{100, 1101}}));
  ASSERT_EQ(tp()->out_of_order_queue.qlen, 1u);
  EXPECT_TRUE(TCP_SKB_CB(tp()->out_of_order_queue.front())->tcp_flags & TCPHDR_FIN);
  ASSERT_EQ(sys_close(net, cfd), 0);
  size_t purged = 0;
  for (const auto* e : d.named("skb:kfree_skb"))
    if (d.field(*e, "location") == "skb_rbtree_purge") ++purged;
  EXPECT_EQ(purged, 1u);
}

}  // namespace
}  // namespace nettwin::test
