// tcp_write_wakeup (tcp_output.c) as the probe timer reaches it (tcp_send_probe0):
// a segment held back with nothing in flight (TCP_CORK, MSG_MORE) goes out with
// PSH when the timer fires, an MSS of it when it is larger; with no room in the
// peer's window the probe is the bare ACK below snd_una.
#include <gtest/gtest.h>

#include "ipv4/tcp_output.h"
#include "socket/uapi.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

constexpr uint64_t kMs = 1'000'000;

struct TcpWriteWakeupTest : TcpConnTest {
  int cork(int on) { return sys_setsockopt(net, cfd, SOL_TCP_, TCP_CORK_, on, 4); }
};

TEST_F(TcpWriteWakeupTest, ProbeTimerSendsTheCorkedSegmentWithPsh) {
  ASSERT_EQ(cork(1), 0);
  ASSERT_EQ(write(std::string(300, 'a')), 300);
  EXPECT_TRUE(wire().empty());  // corked, less than an MSS
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_PROBE0);  // tcp_check_probe_timer
  const uint64_t probes = d.counter("TcpExt.TCPWinProbe");
  d.stack.advance(400 * kMs);
  const auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  SentTcp t(out[0]);
  EXPECT_EQ(t.seq(), isn + 1);
  EXPECT_EQ(payload(out[0]).size(), 300u);
  EXPECT_EQ(t.flags(), kAck | kPsh);
  EXPECT_EQ(tp()->packets_out, 1u);          // tcp_event_new_data_sent: it is in flight now
  EXPECT_EQ(tp()->icsk_pending, ICSK_TIME_RETRANS);
  EXPECT_EQ(d.counter("TcpExt.TCPWinProbe"), probes);  // data, not a bare probe
}

TEST_F(TcpWriteWakeupTest, ClosedWindowGetsTheBareProbeBelowSndUna) {
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 0, 0)).empty());  // the peer's window closes
  ASSERT_EQ(write(std::string(300, 'a')), 300);
  EXPECT_TRUE(wire().empty());
  const uint64_t probes = d.counter("TcpExt.TCPWinProbe");
  d.stack.advance(400 * kMs);
  const auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn);  // snd_una - 1: the peer must answer
  EXPECT_TRUE(payload(out[0]).empty());
  EXPECT_EQ(d.counter("TcpExt.TCPWinProbe"), probes + 1);
  EXPECT_EQ(tp()->packets_out, 0u);
  EXPECT_EQ(tp()->icsk_probes_out, 1u);
}

}  // namespace
}  // namespace nettwin::test
