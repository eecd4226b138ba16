// Tail loss probe (tcp_early_retrans 3, RFC 8985 as Linux 6.18 runs it):
// tcp_schedule_loss_probe arms the probe timeout after data goes out (2*srtt
// rounded up to jiffies, plus TCP_TIMEOUT_MIN jiffies, or plus the minimum RTO
// when one segment is out, never after the RTO), only Open or CWR;
// tcp_send_loss_probe sends new data when the window allows, else the last
// segment again; tcp_process_tlp_ack ends the episode. The recordings
// tcp_tlp_last_segment, tcp_tlp_then_recovery and tcp_tlp_new_data prove
// them on the wire.
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

// Advance past the probe timer's jiffy (well before the RTO) and take what went out.
std::vector<Bytes> fire_probe(TcpTlpTest& t) {
  EXPECT_EQ(t.tp()->icsk_pending, ICSK_TIME_LOSS_PROBE);
  t.d.stack.advance(uint64_t(t.timer_in() + 1) * (1'000'000'000 / HZ));
  return t.wire();
}

// Three segments none acked, then the probe: the last one again.
void three_segments_then_the_probe(TcpTlpTest& t) {
  ASSERT_EQ(t.write(std::string(3 * kMss, 'r')), int(3 * kMss));
  ASSERT_EQ(t.wire().size(), 3u);
  ASSERT_EQ(fire_probe(t).size(), 1u);
  t.tsval += 1;
}

// tcp_send_loss_probe: the window has room for unsent data, so the probe is
// the next new segment (not a retransmission), sent past cwnd (push_one 2).
TEST_F(TcpTlpTest, ProbeIsNewDataWhenThereIsSomeUnsent) {
  ASSERT_EQ(write(std::string(12 * kMss, 'n')), int(12 * kMss));
  ASSERT_EQ(wire().size(), 10u);  // the initial cwnd
  const auto out = fire_probe(*this);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1 + 10 * kMss);
  EXPECT_EQ(payload(out[0]).size(), kMss);
  EXPECT_FALSE(tp()->tlp_retrans);
  EXPECT_EQ(tp()->tlp_high_seq, isn + 1 + 11 * kMss);  // snd_nxt after the probe
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbes"), 1u);
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 0u);
  // The RTO follows the probe: one probe per episode.
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_RETRANS);
}

// tcp_process_tlp_ack: the ACK of a new-data probe ends the episode with no
// cwnd reduction; slow start counts every acked segment (tcp_tlp_new_data:
// cwnd 10 + 11 = 21, Open).
TEST_F(TcpTlpTest, AckOfANewDataProbeEndsTheEpisodeWithoutReduction) {
  ASSERT_EQ(write(std::string(12 * kMss, 'n')), int(12 * kMss));
  ASSERT_EQ(wire().size(), 10u);
  ASSERT_EQ(fire_probe(*this).size(), 1u);
  tsval += 1;
  const auto out = send(seg(kAck, {}, 11 * kMss));
  EXPECT_EQ(tp()->tlp_high_seq, 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_EQ(tp()->snd_cwnd, 21u);
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbeRecovery"), 0u);
  ASSERT_EQ(out.size(), 1u);  // the 12th segment
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1 + 11 * kMss);
}

// tcp_send_loss_probe: nothing unsent, so the last segment goes again
// (tlp_retrans, a retransmission: RetransSegs, tcp_retransmit_skb).
TEST_F(TcpTlpTest, ProbeRetransmitsTheLastSegmentWhenNothingIsUnsent) {
  ASSERT_EQ(write(std::string(3 * kMss, 'r')), int(3 * kMss));
  ASSERT_EQ(wire().size(), 3u);
  const auto out = fire_probe(*this);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1 + 2 * kMss);
  EXPECT_TRUE(tp()->tlp_retrans);
  EXPECT_EQ(tp()->tlp_high_seq, isn + 1 + 3 * kMss);
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbes"), 1u);
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 1u);
  EXPECT_EQ(d.named("tcp:tcp_retransmit_skb").size(), 1u);
}

// tcp_process_tlp_ack: an ACK beyond a retransmitted probe means the probe
// repaired a loss: one CWR reduction at once (cubic: ssthresh 7 from cwnd
// 10, cwnd = ssthresh), back to Open, TCPLossProbeRecovery.
TEST_F(TcpTlpTest, AckBeyondARetransmittedProbeReducesCwndOnce) {
  three_segments_then_the_probe(*this);
  ASSERT_EQ(write(std::string(kMss, 's')), int(kMss));
  ASSERT_EQ(wire().size(), 1u);
  send(seg(kAck, {}, 4 * kMss));
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbeRecovery"), 1u);
  EXPECT_EQ(tp()->snd_ssthresh, 7u);
  EXPECT_EQ(tp()->snd_cwnd, 7u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_EQ(tp()->tlp_high_seq, 0u);
}

// tcp_dsack_seen sets FLAG_DSACK_TLP for a D-SACK of the probe alone: both
// the original and the probe arrived, so tcp_process_tlp_ack ends the
// episode with no reduction (an ACK of exactly tlp_high_seq alone leaves it open).
TEST_F(TcpTlpTest, DsackOfTheProbeEndsTheEpisodeWithoutReduction) {
  three_segments_then_the_probe(*this);
  send(sack_seg(3 * kMss, {{2 * kMss, 3 * kMss}}));
  EXPECT_EQ(tp()->tlp_high_seq, 0u);
  EXPECT_EQ(d.counter("TcpExt.TCPDSACKRecv"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbeRecovery"), 0u);
  EXPECT_EQ(tp()->snd_ssthresh, 0x7fffffffu);
}

// tcp_process_tlp_ack: the ACK of exactly tlp_high_seq keeps the episode (it
// may still be the probe that repaired a loss); a pure duplicate ACK after it
// says the original and the probe both arrived: the episode ends, no reduction.
TEST_F(TcpTlpTest, DupackAfterTheProbeIsAckedEndsTheEpisode) {
  three_segments_then_the_probe(*this);
  send(seg(kAck, {}, 3 * kMss));
  EXPECT_EQ(tp()->tlp_high_seq, isn + 1 + 3 * kMss);
  tsval += 1;
  send(seg(kAck, {}, 3 * kMss));
  EXPECT_EQ(tp()->tlp_high_seq, 0u);
  EXPECT_EQ(d.counter("TcpExt.TCPLossProbeRecovery"), 0u);
  EXPECT_EQ(tp()->snd_ssthresh, 0x7fffffffu);
}

}  // namespace
}  // namespace nettwin::test
