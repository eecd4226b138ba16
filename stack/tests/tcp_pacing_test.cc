// TCP's internal pacing (tcp_output.c): SO_MAX_PACING_RATE (sk_setsockopt)
// asks for it (SK_PACING_NEEDED), tcp_update_skb_after_send moves the next
// departure on by each skb's time at the pacing rate once 10 segments left,
// and tcp_pacing_check holds tcp_write_xmit until the pacing hrtimer
// (tcp_pace_kick) reaches that time.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ipv4/tcp_info.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

constexpr int kRate = 200000;  // bytes per second

struct TcpPacingTest : TcpConnTest {
  void pace(int rate) { ASSERT_EQ(sys_setsockopt(net, cfd, SOL_SOCKET_, SO_MAX_PACING_RATE_, rate, 4), 0); }
  void writes(int n) {
    ASSERT_EQ(sys_setsockopt(net, cfd, SOL_TCP_, TCP_NODELAY_, 1, 4), 0);
    for (int i = 0; i < n; ++i) ASSERT_EQ(write(std::string(1448, 'p')), 1448);
  }
  static size_t payload_bytes(const std::vector<Bytes>& frames) {
    size_t n = 0;
    for (const auto& f : frames) n += payload(f).size();
    return n;
  }
};

TEST_F(TcpPacingTest, SoMaxPacingRateAsksForPacingAndCapsTheRate) {
  Sock* sk = tp();
  EXPECT_EQ(sk->sk_pacing_status, SK_PACING_NONE);
  pace(kRate);
  EXPECT_EQ(sk->sk_pacing_status, SK_PACING_NEEDED);
  EXPECT_EQ(sk->sk_max_pacing_rate, uint64_t(kRate));
  EXPECT_LE(sk->sk_pacing_rate, uint64_t(kRate));
  int v = 0;
  ASSERT_EQ(sys_getsockopt(net, cfd, SOL_SOCKET_, SO_MAX_PACING_RATE_, &v), 0);
  EXPECT_EQ(v, kRate);
  // The unsigned long itself, 8 bytes long.
  const uint64_t big = 5'000'000'000ull;
  std::vector<uint8_t> raw(8);
  std::memcpy(raw.data(), &big, 8);
  ASSERT_EQ(sys_setsockopt_bytes(net, cfd, SOL_SOCKET_, SO_MAX_PACING_RATE_, raw), 0);
  std::vector<uint8_t> out;
  ASSERT_EQ(sys_getsockopt_bytes(net, cfd, SOL_SOCKET_, SO_MAX_PACING_RATE_, 8, out), 0);
  ASSERT_EQ(out.size(), 8u);
  uint64_t got = 0;
  std::memcpy(&got, out.data(), 8);
  EXPECT_EQ(got, big);
  ASSERT_EQ(sys_getsockopt(net, cfd, SOL_SOCKET_, SO_MAX_PACING_RATE_, &v), 0);
  EXPECT_EQ(uint32_t(v), ~0u) << "the 32-bit read saturates";
  // ~0U lifts the limit; pacing, once asked for, stays (cmpxchg NONE -> NEEDED only).
  pace(-1);
  EXPECT_EQ(sk->sk_max_pacing_rate, ~0ull);
  EXPECT_EQ(sk->sk_pacing_status, SK_PACING_NEEDED);
}

TEST_F(TcpPacingTest, TenSegmentsGoAtOnceThenEachSkbWaitsItsTurn) {
  pace(kRate);
  writes(20);
  EXPECT_EQ(payload_bytes(wire()), 10u * 1448) << "the initial window, unpaced (data_segs_out < 10)";
  // The 10th segment moved the next departure on by its time at the rate.
  EXPECT_GT(tp()->tcp_wstamp_ns, net.engine.now());
  tsval += 1;
  EXPECT_EQ(payload_bytes(send(seg(kAck, {}, 10 * 1448), 0)), 0u) << "tcp_pacing_check holds what the ACK allows";
  EXPECT_TRUE(net.engine.timer_pending(tp()->pacing_timer));
  const uint64_t due = tp()->tcp_wstamp_ns;
  ASSERT_GT(due, net.engine.now());
  d.stack.advance(due - net.engine.now() - 1);
  EXPECT_EQ(payload_bytes(wire()), 0u) << "nothing before the departure time";
  d.stack.advance(1);
  const size_t next = payload_bytes(wire());
  EXPECT_GT(next, 0u) << "tcp_pace_kick sent the skb that waited";
  // Its time at the rate, no jitter credit (the timer fired on time), and the
  // one after it waits again.
  EXPECT_EQ(tp()->tcp_wstamp_ns - due, uint64_t(next) * 1'000'000'000ull / kRate);
  EXPECT_GT(tp()->tcp_wstamp_ns, net.engine.now());
}

TEST_F(TcpPacingTest, TcpInfoReportsTheSocketsPacingRate) {
  // tcp_update_pacing_rate ran when the handshake's ACK established the child.
  TcpInfo i{};
  tcp_get_info(tp(), &i);
  EXPECT_NE(i.tcpi_pacing_rate, ~0ull);
  EXPECT_EQ(i.tcpi_pacing_rate, tp()->sk_pacing_rate);
  pace(kRate);
  tcp_get_info(tp(), &i);
  EXPECT_EQ(i.tcpi_pacing_rate, uint64_t(kRate));
  EXPECT_EQ(i.tcpi_max_pacing_rate, uint64_t(kRate));
}

}  // namespace
}  // namespace nettwin::test
