// RACK's reordering window and timer (tcp_recovery.c as Linux 6.18 has it)
// and reordering detection (tcp_check_sack_reordering, tcp_input.c): a hole
// below a SACKed segment is not lost at once while fewer than tcp_reordering
// segments are SACKed: tcp_rack_detect_loss waits min_rtt/4 (in reo_wnd_steps,
// at most srtt) past RACK's RTT, tcp_rack_mark_lost arms ICSK_TIME_REO_TIMEOUT
// for that, and tcp_rack_reo_timeout marks the hole lost and enters Recovery.
// A hole filled within the window without a retransmission is reordering.
#include <gtest/gtest.h>

#include <string>

#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_recovery.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

constexpr uint32_t kMss = 1448;

struct TcpRackTest : TcpConnTest {
  // Five segments out, then 2 ms later the second alone SACKed.
  void sack_second_of_five() {
    ASSERT_EQ(write(std::string(5 * kMss, 'k')), int(5 * kMss));
    ASSERT_EQ(wire().size(), 5u);
    d.stack.advance(2'000'000);
    tsval += 2;
    EXPECT_TRUE(send(sack_seg(0, {{kMss, 2 * kMss}}), 0).empty());
  }
};

// tcp_rack_mark_lost: one SACK (below tcp_reordering) leaves the head within
// the reordering window: not lost, the REO timer armed, Disorder.
TEST_F(TcpRackTest, HoleWithinTheWindowWaitsForTheReoTimer) {
  sack_second_of_five();
  EXPECT_EQ(tp()->sacked_out, 1u);
  EXPECT_EQ(tp()->lost_out, 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Disorder);
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_REO_TIMEOUT);
}

// tcp_rack_reo_timeout: the window passed without the hole filled: it is
// lost, Recovery begins and it goes again.
TEST_F(TcpRackTest, ReoTimerMarksTheHoleLostAndRetransmits) {
  sack_second_of_five();
  const uint64_t retrans = d.counter("Tcp.RetransSegs");
  d.stack.advance(20'000'000);
  auto out = wire();
  ASSERT_GE(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1);
  EXPECT_EQ(payload(out[0]).size(), kMss);
  EXPECT_EQ(d.counter("Tcp.RetransSegs") - retrans, out.size());
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(d.counter("TcpExt.TCPSackRecovery"), 1u);
  EXPECT_GE(tp()->lost_out, 1u);
}

// The hole filled (cumulatively acked) within the window: no retransmission,
// and the never-retransmitted data acked below fack is reordering: reord_seen,
// TCPSACKReorder, tp->reordering the distance in segments (from the hole to
// fack, which is snd_una once nothing is SACKed).
TEST_F(TcpRackTest, HoleFilledWithinTheWindowIsReordering) {
  sack_second_of_five();
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 5 * kMss), 100'000).empty());
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 0u);
  EXPECT_EQ(tp()->reord_seen, 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPSACKReorder"), 1u);
  EXPECT_EQ(tp()->reordering, 5u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  d.stack.advance(20'000'000);
  EXPECT_TRUE(wire().empty());
}

// A hole SACKed after data above it was SACKed (and never retransmitted) is
// reordering found by SACK too (tcp_sacktag_one's reord).
TEST_F(TcpRackTest, SackBelowEarlierSackIsReordering) {
  ASSERT_EQ(write(std::string(5 * kMss, 'm')), int(5 * kMss));
  ASSERT_EQ(wire().size(), 5u);
  d.stack.advance(1'000'000);
  tsval += 1;
  send(sack_seg(0, {{2 * kMss, 3 * kMss}}), 0);
  EXPECT_EQ(tp()->reord_seen, 0u);
  send(sack_seg(0, {{kMss, 3 * kMss}}), 0);
  EXPECT_EQ(tp()->reord_seen, 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPSACKReorder"), 1u);
}

// Once reordering was seen, the window stays even at tcp_reordering SACKed
// segments (tcp_rack_reo_wnd): three SACKs do not make the hole lost at once.
TEST_F(TcpRackTest, ReorderingSeenKeepsTheWindowAtDupthresh) {
  ASSERT_EQ(write(std::string(5 * kMss, 'w')), int(5 * kMss));
  ASSERT_EQ(wire().size(), 5u);
  tp()->reord_seen = 1;
  d.stack.advance(2'000'000);
  tsval += 2;
  EXPECT_TRUE(send(sack_seg(0, {{kMss, 4 * kMss}}), 0).empty());
  EXPECT_EQ(tp()->sacked_out, 3u);
  EXPECT_EQ(tp()->lost_out, 0u);
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_REO_TIMEOUT);
}

// tcp_rack_update_reo_wnd: a D-SACK seen widens the window a step, held for
// TCP_RACK_RECOVERY_THRESH recoveries; without one and without that hold, it
// is back to one step.
TEST_F(TcpRackTest, DsackSeenWidensTheWindowAStep) {
  ASSERT_EQ(write(std::string(100, 'a')), 100);
  ASSERT_EQ(wire().size(), 1u);
  tsval += 1;
  send(seg(kAck, {}, 100));
  ASSERT_EQ(tp()->rack.reo_wnd_steps, 1u);
  tp()->rack.dsack_seen = true;  // what tcp_check_dsack leaves for this ACK
  ASSERT_EQ(write(std::string(100, 'b')), 100);
  ASSERT_EQ(wire().size(), 1u);
  tsval += 1;
  send(seg(kAck, {}, 200));
  EXPECT_EQ(tp()->rack.reo_wnd_steps, 2u);
  EXPECT_EQ(tp()->rack.reo_wnd_persist, kTcpRackRecoveryThresh);
  EXPECT_FALSE(tp()->rack.dsack_seen);
  EXPECT_EQ(tp()->rack.last_delivered, tp()->delivered);
  tp()->rack.reo_wnd_persist = 0;
  ASSERT_EQ(write(std::string(100, 'c')), 100);
  ASSERT_EQ(wire().size(), 1u);
  tsval += 1;
  send(seg(kAck, {}, 300));
  EXPECT_EQ(tp()->rack.reo_wnd_steps, 1u);
}

// tcp_dsack_seen: a D-SACK of a retransmission (here the RTO's: no loss probe
// episode is open) marks a round for tcp_rack_update_reo_wnd once reordering
// was seen: the window grows a step on that very ACK.
TEST_F(TcpRackTest, DsackAfterReorderingGrowsTheWindow) {
  tp()->reord_seen = 1;
  ASSERT_EQ(write(std::string(100, 'd')), 100);
  d.stack.advance(500'000'000);  // the loss probe, then the RTO's retransmission
  ASSERT_GE(wire().size(), 3u);
  ASSERT_EQ(tp()->tlp_high_seq, 0u);
  tsval += 500;
  send(sack_seg(100, {{0, 100}}));
  EXPECT_EQ(tp()->dsack_dups, 1u);
  EXPECT_EQ(tp()->rack.reo_wnd_steps, 2u);
  EXPECT_EQ(tp()->rack.reo_wnd_persist, kTcpRackRecoveryThresh);
}

// Without reordering seen, a D-SACK says nothing of RACK's window: one step.
TEST_F(TcpRackTest, DsackWithoutReorderingLeavesTheWindow) {
  ASSERT_EQ(write(std::string(100, 'e')), 100);
  d.stack.advance(500'000'000);
  ASSERT_GE(wire().size(), 3u);
  tsval += 500;
  send(sack_seg(100, {{0, 100}}));
  EXPECT_EQ(tp()->dsack_dups, 1u);
  EXPECT_EQ(tp()->rack.reo_wnd_steps, 1u);
  EXPECT_EQ(tp()->rack.reo_wnd_persist, 0u);
}

// tcp_clean_rtx_queue: a cumulatively acked retransmission advances RACK as a
// SACKed one would (tcp_rack_advance; its RTT above min_rtt, its echo not
// older than it): what was sent before it and is neither SACKed nor acked is
// lost at once (tcp_rack_cumulative_ack_marks_lost recorded it).
TEST_F(TcpRackTest, CumulativelyAckedRetransmissionAdvancesRack) {
  ASSERT_EQ(write(std::string(6 * kMss, 'q')), int(6 * kMss));
  ASSERT_EQ(wire().size(), 6u);
  d.stack.advance(2'000'000);
  tsval += 2;
  auto out = send(sack_seg(0, {{kMss, 4 * kMss}}), 0);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(SentTcp(out[0]).seq(), isn + 1);
  ASSERT_EQ(tp()->lost_out, 1u);
  d.stack.advance(10'000'000);
  tsval += 10;
  send(seg(kAck, {}, 4 * kMss), 0);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tp()->lost_out, 2u);
}

// The same ACK echoing a TSval older than the retransmission says the original
// arrived (tcp_skb_spurious_retrans): RACK does not advance.
TEST_F(TcpRackTest, AckOfTheOriginalDoesNotAdvanceRack) {
  ASSERT_EQ(write(std::string(6 * kMss, 'u')), int(6 * kMss));
  ASSERT_EQ(wire().size(), 6u);
  const uint32_t original_ts = dut_ts;
  d.stack.advance(2'000'000);
  tsval += 2;
  ASSERT_EQ(send(sack_seg(0, {{kMss, 4 * kMss}}), 0).size(), 1u);
  d.stack.advance(10'000'000);
  tsval += 10;
  dut_ts = original_ts;
  const uint64_t rack_mstamp = tp()->rack.mstamp;
  send(seg(kAck, {}, 4 * kMss), 0);
  EXPECT_EQ(tp()->rack.mstamp, rack_mstamp);
}

}  // namespace
}  // namespace nettwin::test
