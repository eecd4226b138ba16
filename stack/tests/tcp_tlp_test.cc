// Tail loss probe (tcp_early_retrans 3, RFC 8985 as Linux 6.18 runs it):
// tcp_schedule_loss_probe arms the probe timeout after data goes out (2*srtt
// plus TCP_TIMEOUT_MIN_US, or plus the minimum RTO when one segment is out,
// rounded up to jiffies once, never after the RTO); tcp_send_loss_probe sends
// new data when the peer's window allows, else the last segment again
// (TCPLossProbes), at most one per episode; tcp_process_tlp_ack ends the
// episode, reducing cwnd (CWR at once, TCPLossProbeRecovery) when an ACK
// beyond the probe shows it repaired a loss.
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
  EXPECT_EQ(timer_in(), jiffies_of((tp()->srtt_us >> 2) + 2000));
}

// One segment out: the peer may delay its ACK, so the minimum RTO is added;
// the RTO (srtt + 4*rttvar from the same clock) still caps it.
TEST_F(TcpTlpTest, ProbeTimeoutForOneSegmentAddsTheMinimumRto) {
  ASSERT_EQ(write(std::string(100, 'p')), 100);
  ASSERT_EQ(wire().size(), 1u);
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_LOSS_PROBE);
  const int32_t pto = jiffies_of((tp()->srtt_us >> 2) + 200'000);
  EXPECT_EQ(timer_in(), std::min(pto, int32_t(tp()->icsk_rto)));
}

// tcp_send_loss_probe with nothing new to send: the last segment again
// (cut off the TSO skb), TCPLossProbes; then the RTO, not a second probe.
TEST_F(TcpTlpTest, ProbeRetransmitsTheLastSegmentOnce) {
  ASSERT_EQ(write(std::string(3 * kMss, 'q')), int(3 * kMss));
  ASSERT_EQ(wire().size(), 3u);
  const uint64_t retrans = d.counter("Tcp.RetransSegs");
  d.stack.advance(10'000'000);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1 + 2 * kMss);
  EXPECT_EQ(payload(out[0]).size(), kMss);
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbes"), 1u);
  EXPECT_EQ(d.counter("Tcp.RetransSegs") - retrans, 1u);
  EXPECT_EQ(tp()->tlp_high_seq, tp()->snd_nxt);
  EXPECT_TRUE(tp()->tlp_retrans);
  // The probe is not a recovery retransmission: nothing counts as retrans_out.
  EXPECT_EQ(tp()->retrans_out, 0u);
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_RETRANS);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
}

// The ACK of exactly the probe's end keeps the episode open (no D-SACK said the
// original arrived); the next ACK beyond it shows the probe repaired a tail
// loss: cwnd goes down to ssthresh at once (CWR and back to Open).
TEST_F(TcpTlpTest, AckBeyondARetransmittedProbeReducesCwnd) {
  ASSERT_EQ(write(std::string(3 * kMss, 'r')), int(3 * kMss));
  ASSERT_EQ(wire().size(), 3u);
  d.stack.advance(10'000'000);
  ASSERT_EQ(wire().size(), 1u);
  const uint32_t probe_end = tp()->tlp_high_seq;
  tsval += 10;
  EXPECT_TRUE(send(seg(kAck, {}, 3 * kMss)).empty());
  EXPECT_EQ(tp()->tlp_high_seq, probe_end);
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbeRecovery"), 0u);
  const uint32_t cwnd = tp()->snd_cwnd;
  ASSERT_EQ(write(std::string(100, 's')), 100);
  ASSERT_EQ(wire().size(), 1u);
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 3 * kMss + 100)).empty());
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbeRecovery"), 1u);
  EXPECT_EQ(tp()->tlp_high_seq, 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_LT(tp()->snd_ssthresh, cwnd);
  EXPECT_EQ(tp()->snd_cwnd, tp()->snd_ssthresh);
}

// With data waiting that cwnd held back and the peer's window open, the probe
// is one new segment; its ACK ends the episode without a reduction.
TEST_F(TcpTlpTest, ProbeSendsNewDataWhenTheWindowAllows) {
  ASSERT_EQ(write(std::string(12 * kMss, 'n')), int(12 * kMss));
  ASSERT_EQ(wire().size(), 10u);  // the initial cwnd
  d.stack.advance(10'000'000);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1 + 10 * kMss);
  EXPECT_EQ(payload(out[0]).size(), kMss);
  EXPECT_FALSE(tp()->tlp_retrans);
  EXPECT_EQ(tp()->tlp_high_seq, isn + 1 + 11 * kMss);
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbes"), 1u);
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 0u);
  tsval += 10;
  send(seg(kAck, {}, 11 * kMss));
  EXPECT_EQ(tp()->tlp_high_seq, 0u);
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbeRecovery"), 0u);
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
