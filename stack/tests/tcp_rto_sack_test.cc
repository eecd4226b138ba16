// A SACK after an RTO (tcp_input.c, tcp_output.c as Linux 6.18 has them): the
// SACK of a never-retransmitted segment makes F-RTO undo the timeout, and its
// RTT sample, older than the head's last transmission, has tcp_clean_rtx_queue
// set the RTO again from this ACK (FLAG_SET_XMIT_TIMER). When that RTO fires,
// the head (still marked retransmitted after the undo) is counted in
// retrans_out a second time (tcp_retransmit_skb adds unconditionally), and the
// FASTRETRANS_DEBUG fixup resets the leak once nothing is in flight
// (tcp_rto_sack_rearms_timer recorded it).
#include <gtest/gtest.h>

#include <string>

#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

constexpr uint32_t kMss = 1448;

struct TcpRtoSackTest : TcpConnTest {
  // Three segments, the tester silent: the loss probe, then the RTO's
  // retransmission of the first; 100 ms later the second is SACKed.
  uint32_t timeout_before_sack = 0;
  void rto_then_sack_of_the_second() {
    ASSERT_EQ(write(std::string(3 * kMss, 'z')), int(3 * kMss));
    ASSERT_EQ(wire().size(), 3u);
    d.stack.advance(400'000'000);
    ASSERT_GE(wire().size(), 2u);
    ASSERT_EQ(tp()->icsk_ca_state, TCP_CA_Loss);
    d.stack.advance(100'000'000);
    tsval += 500;
    timeout_before_sack = tp()->icsk_timeout;
    send(sack_seg(0, {{kMss, 2 * kMss}}), 0);
  }
};

TEST_F(TcpRtoSackTest, SackOfOlderDataRestartsTheRto) {
  rto_then_sack_of_the_second();
  EXPECT_EQ(d.counter("TcpExt.TCPSpuriousRTOs"), 1u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Disorder);  // undone, the SACK still out of order
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_RETRANS);
  EXPECT_GT(int32_t(tp()->icsk_timeout - timeout_before_sack), 0);
}

TEST_F(TcpRtoSackTest, HeadResentAfterTheUndoCountsTwiceUntilAcked) {
  rto_then_sack_of_the_second();
  d.stack.advance(2'000'000'000);
  ASSERT_GE(wire().size(), 1u);
  EXPECT_EQ(tp()->retrans_out, 2u);
  tsval += 2000;
  send(seg(kAck, {}, 3 * kMss), 0);
  EXPECT_EQ(tp()->packets_out, 0u);
  EXPECT_EQ(tp()->retrans_out, 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
}

}  // namespace
}  // namespace nettwin::test
