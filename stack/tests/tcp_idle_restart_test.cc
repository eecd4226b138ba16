// RFC 2861's restart after idle (tcp_slow_start_after_idle_check, include/net/tcp.h):
// with net.ipv4.tcp_slow_start_after_idle (1, Linux's default) the cwnd restarts
// when data is queued, or when the peer's window changes while data waits
// (tcp_ack_update_window), more than an RTO after the last data left.
// packetdrill win_update_idle_restart, recorded on 6.18: cwnd 20 before, 10 after.
#include <gtest/gtest.h>

#include <string>

#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

using TcpIdleRestartTest = TcpConnTest;

TEST_F(TcpIdleRestartTest, TcpAckUpdateWindowRestartsTheCwndOfAnIdleSender) {
  ASSERT_EQ(net.sysctl.tcp_slow_start_after_idle, 1);
  ASSERT_EQ(write(std::string(10 * 1448, 'i')), 10 * 1448);
  ASSERT_EQ(wire().size(), 10u);
  d.stack.advance(1'000'000);
  tsval += 1;
  // All acked, but the window closes: the next write waits.
  EXPECT_TRUE(send(seg(kAck, {}, 10 * 1448, 0)).empty());
  ASSERT_EQ(tp()->snd_cwnd, 20u);
  ASSERT_EQ(write(std::string(4 * 1448, 'j')), 4 * 1448);
  // Zero-window probes only for 2 s: no data leaves, lsndtime stays.
  d.stack.advance(2'000'000'000);
  wire();
  EXPECT_EQ(tp()->snd_cwnd, 20u);
  tsval += 2000;
  auto out = send(seg(kAck, {}, 10 * 1448));
  EXPECT_EQ(tp()->snd_cwnd, 10u);
  EXPECT_FALSE(out.empty());
}

// Not when the sysctl is off: the window update leaves the cwnd alone.
TEST_F(TcpIdleRestartTest, TcpAckUpdateWindowKeepsTheCwndWithTheSysctlOff) {
  net.sysctl.tcp_slow_start_after_idle = 0;
  ASSERT_EQ(write(std::string(10 * 1448, 'i')), 10 * 1448);
  ASSERT_EQ(wire().size(), 10u);
  d.stack.advance(1'000'000);
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 10 * 1448, 0)).empty());
  ASSERT_EQ(write(std::string(4 * 1448, 'j')), 4 * 1448);
  d.stack.advance(2'000'000'000);
  wire();
  tsval += 2000;
  send(seg(kAck, {}, 10 * 1448));
  EXPECT_EQ(tp()->snd_cwnd, 20u);
}

}  // namespace
}  // namespace nettwin::test
