// SACK reneging (tcp_input.c as Linux 6.18 has it): an ACK that advances
// snd_una up to a segment the peer had SACKed, without that SACK, says the
// receiver dropped what it had SACKed. tcp_clean_rtx_queue flags it
// (FLAG_SACK_RENEGING), tcp_check_sack_reneging rearms the RTO timer to
// max(srtt/2, 10 ms) instead of letting RACK mark losses, and when it fires
// tcp_timeout_mark_lost forgets every SACK (TCPSACKReneging, is_sack_reneg)
// and the new head goes again, in Loss.
#include <gtest/gtest.h>

#include <string>

#include "core/jiffies.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

constexpr uint32_t kMss = 1448;

struct TcpSackRenegingTest : TcpConnTest {
  // Five segments out; 2 ms later the second is SACKed, then the first acked
  // without the SACK.
  void sack_then_renege() {
    ASSERT_EQ(write(std::string(5 * kMss, 'r')), int(5 * kMss));
    ASSERT_EQ(wire().size(), 5u);
    d.stack.advance(2'000'000);
    tsval += 2;
    EXPECT_TRUE(send(sack_seg(0, {{kMss, 2 * kMss}}), 0).empty());
    EXPECT_EQ(tp()->sacked_out, 1u);
    EXPECT_TRUE(send(seg(kAck, {}, kMss), 0).empty());
  }
};

// tcp_check_sack_reneging: the head left is SACKed but not acked: no loss is
// marked, nothing is sent, and the RTO timer is due in max(srtt/2, 10 ms)
// (srtt 1 ms here: 10 ms), not at the RTO.
TEST_F(TcpSackRenegingTest, AckUpToASackedSegmentRearmsTheRtoShort) {
  sack_then_renege();
  EXPECT_EQ(tp()->lost_out, 0u);
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_RETRANS);
  EXPECT_EQ(tp()->icsk_timeout - uint32_t(net.engine.jiffies()), uint32_t(msecs_to_jiffies(10)));
  EXPECT_EQ(d.counter("TcpExt.TCPSACKReneging"), 0u);
}

// The reneging holds until the timer fires: tcp_enter_loss forgets the SACKs
// (TCPSACKReneging, sacked_out 0, is_sack_reneg) and resends the new head.
TEST_F(TcpSackRenegingTest, TimerForgetsTheSacksAndResendsTheHead) {
  sack_then_renege();
  d.stack.advance(20'000'000);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1 + kMss);
  EXPECT_EQ(d.counter("TcpExt.TCPSACKReneging"), 1u);
  EXPECT_EQ(tp()->sacked_out, 0u);
  EXPECT_TRUE(tp()->is_sack_reneg);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Loss);
  for (const SkBuff* skb = tp()->tcp_rtx_queue.front(); skb; skb = skb->next)
    EXPECT_FALSE(TCP_SKB_CB(skb)->sacked & TCPCB_SACKED_ACKED);
}

// An ACK that stops short of the SACKed segment is no reneging: the RTO (or
// probe) timer is set as usual, not the short one.
TEST_F(TcpSackRenegingTest, AckBelowTheSackIsNoReneging) {
  ASSERT_EQ(write(std::string(5 * kMss, 's')), int(5 * kMss));
  ASSERT_EQ(wire().size(), 5u);
  d.stack.advance(2'000'000);
  tsval += 2;
  EXPECT_TRUE(send(sack_seg(0, {{2 * kMss, 3 * kMss}}), 0).empty());
  EXPECT_TRUE(send(sack_seg(kMss, {{2 * kMss, 3 * kMss}}), 0).empty());
  EXPECT_NE(tp()->icsk_timeout - uint32_t(net.engine.jiffies()), uint32_t(msecs_to_jiffies(10)));
  EXPECT_EQ(tp()->sacked_out, 1u);
}

}  // namespace
}  // namespace nettwin::test
