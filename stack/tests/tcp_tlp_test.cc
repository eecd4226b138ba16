// Tail loss probe (tcp_early_retrans 3, RFC 8985 as Linux 6.18 runs it):
// tcp_schedule_loss_probe arms the probe timeout after data goes out (2*srtt
// rounded up to jiffies, plus TCP_TIMEOUT_MIN jiffies, or plus the minimum RTO
// when one segment is out, never after the RTO), only Open or CWR. The
// probe itself and tcp_process_tlp_ack are proven by the recordings
// tcp_tlp_last_segment and tcp_tlp_then_recovery (and pending tcp_tlp_new_data).
#include <gtest/gtest.h>

#include <string>

#include "core/jiffies.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

constexpr uint32_t kMss = 1448;

struct TcpTlpTest : TcpConnTest {
  // Jiffies until the retransmit timer's event.
  int32_t timer_in() { return int32_t(tp()->icsk_timeout - uint32_t(net.engine.jiffies())); }
  // usecs_to_jiffies: rounded up.
  static int32_t jiffies_of(uint64_t us) { return int32_t((us * HZ + 999'999) / 1'000'000); }
};

// tcp_schedule_loss_probe: several segments out, PTO = 2*srtt + 2 ms, in jiffies.
TEST_F(TcpTlpTest, ProbeTimeoutIsTwiceSrttPlusTimeoutMin) {
  ASSERT_EQ(write(std::string(3 * kMss, 'p')), int(3 * kMss));
  ASSERT_EQ(wire().size(), 3u);
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_LOSS_PROBE);
  EXPECT_EQ(timer_in(), jiffies_of(tp()->srtt_us >> 2) + 2);
}

// One segment out: the peer may delay its ACK, so the minimum RTO is added;
// the RTO (srtt + 4*rttvar from the same clock) still caps it.
TEST_F(TcpTlpTest, ProbeTimeoutForOneSegmentAddsTheMinimumRto) {
  ASSERT_EQ(write(std::string(100, 'p')), 100);
  ASSERT_EQ(wire().size(), 1u);
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_LOSS_PROBE);
  const int32_t pto = jiffies_of(tp()->srtt_us >> 2) + int32_t(TCP_RTO_MIN);
  EXPECT_EQ(timer_in(), std::min(pto, int32_t(tp()->icsk_rto)));
}

// No probe in Recovery: tcp_schedule_loss_probe only runs Open or CWR.
TEST_F(TcpTlpTest, NoProbeInRecovery) {
  ASSERT_EQ(write(std::string(5 * kMss, 'x')), int(5 * kMss));
  ASSERT_EQ(wire().size(), 5u);
  d.stack.advance(1'000'000);
  tsval += 1;
  send(sack_seg(0, {{kMss, 4 * kMss}}));
  ASSERT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_NE(tp()->icsk_pending, ICSK_TIME_LOSS_PROBE);
}

}  // namespace
}  // namespace nettwin::test
