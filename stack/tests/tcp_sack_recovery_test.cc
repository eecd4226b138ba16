// SACK-based loss detection (Linux 6.18 tcp_sacktag_write_queue and RACK,
// tcp_recovery.c): the peer SACKs the segments after a hole; once tcp_reordering
// (3) segments are SACKed the reordering window is 0 and the hole, sent before
// the newest SACKed segment and not delivered within its RTT, is lost and goes
// again at once. On Linux (packetdrill three_dupacks, TCP_INFO read after the
// third SACK): ca_state Recovery, sacked 3, lost 1, retrans 1.
#include <gtest/gtest.h>

#include <string>

#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

struct TcpSackTest : TcpConnTest {
  // An ACK of nothing new with one SACK block (relative to the DUT's ISN + 1).
  std::vector<Bytes> sack(uint32_t start_rel, uint32_t end_rel) { return send(sack_seg(0, {{start_rel, end_rel}})); }
};

TEST_F(TcpSackTest, ThirdSackedSegmentMarksTheHoleLostAndRetransmitsIt) {
  ASSERT_EQ(write(std::string(5 * 1448, 'r')), 5 * 1448);
  ASSERT_EQ(wire().size(), 5u);
  ASSERT_EQ(tp()->tcp_rtx_queue.qlen, 1u);  // one TSO skb of five segments
  const uint64_t retrans = d.counter("Tcp.RetransSegs");
  d.stack.advance(2'000'000);
  tsval += 2;
  // One SACKed segment: the TSO skb is cut around it; no loss yet (the
  // reordering window, min_rtt/4, has not passed), Disorder.
  EXPECT_TRUE(sack(1448, 2 * 1448).empty());
  EXPECT_EQ(tp()->sacked_out, 1u);
  EXPECT_EQ(tp()->lost_out, 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Disorder);
  ASSERT_GE(tp()->tcp_rtx_queue.qlen, 2u);
  EXPECT_EQ(tp()->tcp_rtx_queue.front()->len, 1448u);
  EXPECT_EQ(TCP_SKB_CB(tp()->tcp_rtx_queue.front()->next)->sacked & TCPCB_SACKED_ACKED, TCPCB_SACKED_ACKED);
  EXPECT_TRUE(sack(1448, 3 * 1448).empty());
  EXPECT_EQ(tp()->sacked_out, 2u);
  // The third: the head is lost and leaves again, in Recovery.
  auto out = sack(1448, 4 * 1448);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1);
  EXPECT_EQ(payload(out[0]).size(), 1448u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tp()->sacked_out, 3u);
  EXPECT_EQ(tp()->lost_out, 1u);
  EXPECT_EQ(tp()->retrans_out, 1u);
  EXPECT_EQ(d.counter("Tcp.RetransSegs") - retrans, 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPSackRecovery"), 1u);
  // The cumulative ACK of it all ends the recovery's holes.
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 5 * 1448)).empty());
  EXPECT_EQ(tp()->packets_out, 0u);
  EXPECT_EQ(tp()->sacked_out, 0u);
  EXPECT_EQ(tp()->lost_out, 0u);
  EXPECT_EQ(tp()->retrans_out, 0u);
}

// tcp_ack's old_ack: an ACK below snd_una is not ignored when it carries SACK
// blocks; they are tagged (tcp_sacktag_write_queue) and tcp_fastretrans_alert
// runs on them (packetdrill old_ack_sack_prr, recorded on 6.18).
TEST_F(TcpSackTest, TcpAckOldAckStillTagsItsSackBlocks) {
  ASSERT_EQ(write(std::string(8 * 1448, 'o')), 8 * 1448);
  ASSERT_EQ(wire().size(), 8u);
  d.stack.advance(2'000'000);
  tsval += 2;
  EXPECT_TRUE(send(seg(kAck, {}, 2 * 1448)).empty());
  ASSERT_EQ(tp()->snd_una, isn + 1 + 2 * 1448);
  // Reordered: it acks less than snd_una, and SACKs the fifth segment.
  tsval += 1;
  EXPECT_TRUE(send(sack_seg(1448, {{4 * 1448, 5 * 1448}})).empty());
  EXPECT_EQ(tp()->snd_una, isn + 1 + 2 * 1448);
  EXPECT_EQ(tp()->sacked_out, 1u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Disorder);
}

// A SACK block outside snd_una..snd_nxt is not valid and tags nothing.
TEST_F(TcpSackTest, SackBlockBeyondSndNxtIsIgnored) {
  ASSERT_EQ(write(std::string(3 * 1448, 's')), 3 * 1448);
  ASSERT_EQ(wire().size(), 3u);
  tsval += 1;
  EXPECT_TRUE(sack(1448, 5 * 1448).empty());
  EXPECT_EQ(tp()->sacked_out, 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
}

}  // namespace
}  // namespace nettwin::test
