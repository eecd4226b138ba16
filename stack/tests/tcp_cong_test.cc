// Congestion control: the registry, Reno's slow start and additive increase,
// CUBIC's fixed-point cube root and window curve, HyStart. Expectations come
// from the formulas (RFC 5681, RFC 9438, the HyStart paper) and Linux's
// constants, computed here in floating point, not from this code's output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "core/net.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_cubic.h"
#include "ipv4/tcp_sock.h"
#include "stack.h"

namespace nettwin {
namespace {

uint32_t test_ssthresh(Sock*) { return 2; }
void test_cong_avoid(Sock*, uint32_t, uint32_t) {}
uint32_t test_undo(Sock*) { return 2; }

TcpCongestionOps make_ops(const char* name, uint32_t flags = 0) {
  TcpCongestionOps ops{};
  ops.name = name;
  ops.flags = flags;
  ops.ssthresh = test_ssthresh;
  ops.cong_avoid = test_cong_avoid;
  ops.undo_cwnd = test_undo;
  return ops;
}

TEST(TcpCongRegistry, RenoAndCubicAreThereFromTheStart) {
  EXPECT_EQ(tcp_ca_find("reno"), &tcp_reno);
  EXPECT_EQ(tcp_ca_find("cubic"), &cubictcp);
  EXPECT_EQ(tcp_ca_find("bbr"), nullptr);
  const auto names = tcp_get_available_congestion_control();
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names[0], "reno");  // registered by tcp_init, before any module
  EXPECT_EQ(names[1], "cubic");
}

TEST(TcpCongRegistry, RegisterChecksRequiredOpsAndNames) {
  static TcpCongestionOps no_ssthresh = make_ops("nt_no_ssthresh");
  no_ssthresh.ssthresh = nullptr;
  EXPECT_EQ(tcp_register_congestion_control(&no_ssthresh), -EINVAL);
  static TcpCongestionOps no_undo = make_ops("nt_no_undo");
  no_undo.undo_cwnd = nullptr;
  EXPECT_EQ(tcp_register_congestion_control(&no_undo), -EINVAL);
  static TcpCongestionOps no_avoid = make_ops("nt_no_avoid");
  no_avoid.cong_avoid = nullptr;
  EXPECT_EQ(tcp_register_congestion_control(&no_avoid), -EINVAL);
  static TcpCongestionOps too_long = make_ops("nt_name_longer_than_15");
  EXPECT_EQ(tcp_register_congestion_control(&too_long), -EINVAL);
  EXPECT_EQ(tcp_ca_find("nt_no_ssthresh"), nullptr);

  static TcpCongestionOps second_reno = make_ops("reno");
  EXPECT_EQ(tcp_register_congestion_control(&second_reno), -EEXIST);
  EXPECT_EQ(tcp_ca_find("reno"), &tcp_reno);

  static TcpCongestionOps fresh = make_ops("nt_registry");
  ASSERT_EQ(tcp_register_congestion_control(&fresh), 0);
  EXPECT_EQ(tcp_ca_find("nt_registry"), &fresh);
  EXPECT_EQ(tcp_register_congestion_control(&fresh), -EEXIST);
  EXPECT_EQ(tcp_get_available_congestion_control().back(), "nt_registry");  // list_add_tail
}

TEST(TcpCongSysctl, DefaultIsCubicAndUnknownNamesFail) {
  Stack stack(1);
  const std::string name = "net.ipv4.tcp_congestion_control";
  EXPECT_EQ(stack.get_sysctl(name), "cubic");
  EXPECT_EQ(stack.get_sysctl("net.ipv4.tcp_available_congestion_control").value().rfind("reno cubic", 0), 0u);
  EXPECT_EQ(stack.get_sysctl("net.ipv4.tcp_allowed_congestion_control").value().rfind("reno cubic", 0), 0u);
  // The recording host's default is not built in: ENOENT, and nothing changes.
  auto err = stack.set_sysctl(name, "bbr");
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->message.find("ENOENT"), std::string::npos) << err->message;
  EXPECT_EQ(stack.get_sysctl(name), "cubic");
  EXPECT_TRUE(stack.set_sysctl("net.ipv4.tcp_available_congestion_control", "reno").has_value());  // read-only
  ASSERT_FALSE(stack.set_sysctl(name, "reno\n").has_value());  // as echo writes it
  EXPECT_EQ(stack.get_sysctl(name), "reno");
}

TEST(TcpCongSysctl, ARestrictedAlgorithmCannotBecomeANamespaceDefault) {
  static TcpCongestionOps restricted = make_ops("nt_restricted");
  ASSERT_EQ(tcp_register_congestion_control(&restricted), 0);
  Net net(1);
  EXPECT_EQ(tcp_set_default_congestion_control(net, "nt_restricted"), -EPERM);
  const auto allowed = tcp_get_allowed_congestion_control(net);
  EXPECT_EQ(std::count(allowed.begin(), allowed.end(), "nt_restricted"), 0);
  EXPECT_EQ(tcp_default_congestion_control(net), &cubictcp);
}

// A TcpSock on its own Net, in congestion avoidance or slow start as set.
struct CongFixture : ::testing::Test {
  Net net{7};
  TcpSock tp;
  CongFixture() {
    tp.net = &net;
    tp.snd_cwnd_clamp = ~0u >> 16;
    tp.is_cwnd_limited = true;
    // Start a second in: CUBIC takes epoch_start 0 for "no epoch", and Linux's
    // jiffies are never 0 this early after boot.
    advance_us(1000000);
  }
  void refresh_mstamp() { tp.tcp_mstamp = net.engine.now() / 1000; }
  void advance_us(uint64_t us) {
    net.engine.advance(us * 1000);
    refresh_mstamp();
  }
};

TEST_F(CongFixture, NewSocketTakesTheNamespaceDefault) {
  tcp_assign_congestion_control(&tp);
  EXPECT_EQ(tp.icsk_ca_ops, &cubictcp);
  ASSERT_EQ(tcp_set_default_congestion_control(net, "reno"), 0);
  TcpSock other;
  other.net = &net;
  tcp_assign_congestion_control(&other);
  EXPECT_EQ(other.icsk_ca_ops, &tcp_reno);
}

TEST_F(CongFixture, RenoSlowStartThenOneSegmentPerWindow) {
  tp.icsk_ca_ops = &tcp_reno;
  tp.snd_cwnd = 10;
  tp.snd_ssthresh = 20;
  // Slow start (RFC 5681 3.1): cwnd grows by the segments ACKed.
  tcp_reno_cong_avoid(&tp, 0, 4);
  EXPECT_EQ(tp.snd_cwnd, 14u);
  // 10 more: 6 take cwnd to ssthresh, the other 4 count toward the next increase.
  tcp_reno_cong_avoid(&tp, 0, 10);
  EXPECT_EQ(tp.snd_cwnd, 20u);
  EXPECT_EQ(tp.snd_cwnd_cnt, 4u);
  // Congestion avoidance: one segment per cwnd (20) segments ACKed.
  for (int i = 0; i < 15; ++i) tcp_reno_cong_avoid(&tp, 0, 1);
  EXPECT_EQ(tp.snd_cwnd, 20u);  // 19 counted
  tcp_reno_cong_avoid(&tp, 0, 1);
  EXPECT_EQ(tp.snd_cwnd, 21u);
  EXPECT_EQ(tp.snd_cwnd_cnt, 0u);
  // A stretch ACK of 2 windows' worth gives 2 segments at once.
  tcp_reno_cong_avoid(&tp, 0, 42);
  EXPECT_EQ(tp.snd_cwnd, 23u);
  // Not limited by cwnd (in congestion avoidance): no growth.
  tp.is_cwnd_limited = false;
  tcp_reno_cong_avoid(&tp, 0, 100);
  EXPECT_EQ(tp.snd_cwnd, 23u);
  // Reno halves on loss (never below 2) and undoes to the larger of cwnd and prior_cwnd.
  EXPECT_EQ(tcp_reno_ssthresh(&tp), 11u);
  tp.snd_cwnd = 3;
  EXPECT_EQ(tcp_reno_ssthresh(&tp), 2u);
  tp.prior_cwnd = 30;
  EXPECT_EQ(tcp_reno_undo_cwnd(&tp), 30u);
}

TEST_F(CongFixture, SlowStartUnlimitedSenderGrowsOnlyToTwiceInFlight) {
  tp.icsk_ca_ops = &tcp_reno;
  tp.snd_cwnd = 10;
  tp.snd_ssthresh = 100;
  tp.is_cwnd_limited = false;
  tp.max_packets_out = 6;  // 2 * 6 = 12 > 10: still allowed to grow
  tcp_reno_cong_avoid(&tp, 0, 3);
  EXPECT_EQ(tp.snd_cwnd, 13u);
  tcp_reno_cong_avoid(&tp, 0, 3);  // 13 >= 12: not cwnd-limited
  EXPECT_EQ(tp.snd_cwnd, 13u);
}

TEST_F(CongFixture, SetCongestionControlBeforeAndAfterEstablished) {
  tcp_assign_congestion_control(&tp);
  EXPECT_EQ(tcp_set_congestion_control(&tp, "bbr"), -ENOENT);
  EXPECT_EQ(tp.icsk_ca_ops, &cubictcp);
  // Not connected yet: the algorithm changes, its init waits for the connection.
  tp.sk_state = TCP_CLOSE;
  ASSERT_EQ(tcp_set_congestion_control(&tp, "reno"), 0);
  EXPECT_EQ(tp.icsk_ca_ops, &tcp_reno);
  EXPECT_FALSE(tp.icsk_ca_initialized);
  EXPECT_TRUE(tp.icsk_ca_setsockopt);
  // Established: the new algorithm starts at once with fresh private state.
  tp.sk_state = TCP_ESTABLISHED;
  tcp_init_congestion_control(&tp);
  EXPECT_TRUE(tp.icsk_ca_initialized);
  std::memset(tp.icsk_ca_priv, 0xab, sizeof(tp.icsk_ca_priv));
  tp.snd_nxt = 5000;
  ASSERT_EQ(tcp_set_congestion_control(&tp, "cubic"), 0);
  EXPECT_EQ(tp.icsk_ca_ops, &cubictcp);
  EXPECT_TRUE(tp.icsk_ca_initialized);
  const Bictcp* ca = inet_csk_ca<Bictcp>(&tp);
  EXPECT_EQ(ca->epoch_start, 0u);
  EXPECT_EQ(ca->last_max_cwnd, 0u);
  EXPECT_EQ(ca->end_seq, 5000u);  // HyStart's first round ends at snd_nxt
  EXPECT_EQ(ca->curr_rtt, ~0u);
  // Asking for the current one changes nothing.
  tp.snd_nxt = 9000;
  ASSERT_EQ(tcp_set_congestion_control(&tp, "cubic"), 0);
  EXPECT_EQ(inet_csk_ca<Bictcp>(&tp)->end_seq, 5000u);
}

TEST_F(CongFixture, SetCaStateTracesAndLetsCubicResetOnLoss) {
  std::vector<TraceEvent> events;
  net.tracer.subscribe(TraceFilter{{"tcp:tcp_cong_state_set"}, false},
                       [&](const TraceEvent& ev) { events.push_back(ev); });
  tp.inet_saddr = 0xc6336401;  // 198.51.100.1
  tp.inet_daddr = 0xc6336402;
  tp.inet_sport = 40000;
  tp.inet_dport = 80;
  tcp_assign_congestion_control(&tp);
  tp.sk_state = TCP_ESTABLISHED;
  tcp_init_congestion_control(&tp);
  inet_csk_ca<Bictcp>(&tp)->last_max_cwnd = 77;
  tcp_set_ca_state(&tp, TCP_CA_Recovery);
  EXPECT_EQ(tp.icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(inet_csk_ca<Bictcp>(&tp)->last_max_cwnd, 77u);  // cubic resets only on Loss
  tcp_set_ca_state(&tp, TCP_CA_Loss);
  EXPECT_EQ(tp.icsk_ca_state, TCP_CA_Loss);
  EXPECT_EQ(inet_csk_ca<Bictcp>(&tp)->last_max_cwnd, 0u);
  ASSERT_EQ(events.size(), 2u);
  auto field = [](const TraceEvent& ev, const std::string& k) {
    for (const auto& [n, v] : ev.fields)
      if (n == k) return v;
    return std::string("<missing>");
  };
  EXPECT_EQ(events[0].name, "tcp:tcp_cong_state_set");
  EXPECT_EQ(field(events[0], "cong_state"), "3");
  EXPECT_EQ(field(events[1], "cong_state"), "4");
  EXPECT_EQ(field(events[0], "sport"), "40000");
  EXPECT_EQ(field(events[0], "dport"), "80");
  EXPECT_EQ(field(events[0], "saddr"), "198.51.100.1");
  EXPECT_EQ(field(events[0], "daddr_v6"), "::ffff:198.51.100.2");
  // Exactly the fields of this kernel's events/tcp/tcp_cong_state_set/format.
  std::vector<std::string> names;
  for (const auto& f : events[0].fields) names.push_back(f.first);
  EXPECT_EQ(names, (std::vector<std::string>{"skaddr", "sport", "dport", "family", "saddr", "daddr", "saddr_v6",
                                             "daddr_v6", "cong_state"}));
}

// cubic_root against the cube root in floating point. Linux documents an
// average error of about 0.195%; the result is an integer, so small inputs
// can be off by one.
TEST(CubicRoot, MatchesTheCubeRootWithinTheTablesError) {
  double sum_rel = 0;
  int n = 0;
  for (uint64_t a = 0; a < 64; ++a) {
    const double exact = std::cbrt(double(a));
    EXPECT_LE(std::fabs(double(cubic_root(a)) - exact), 1.0) << a;
  }
  // A log-spread of inputs up to 2^50 (K for windows far past a million segments).
  for (double x = 64; x < std::ldexp(1.0, 50); x *= 1.0137) {
    const uint64_t a = uint64_t(x);
    const double exact = std::cbrt(double(a));
    const double got = cubic_root(a);
    EXPECT_LE(std::fabs(got - exact), std::max(1.0, 0.02 * exact)) << a;
    if (exact >= 100) {
      sum_rel += std::fabs(got - exact) / exact;
      ++n;
    }
  }
  ASSERT_GT(n, 1000);
  EXPECT_LT(sum_rel / n, 0.005);  // the documented ~0.2% on average
  // K for the windows the next test uses: (W_max - cwnd) / C in 2^30 units.
  EXPECT_NEAR(cubic_root(cube_factor * 30), std::cbrt(30 / 0.4) * 1024, 0.01 * std::cbrt(30 / 0.4) * 1024);
}

TEST(CubicConstants, FollowBetaAndC) {
  // beta 717/1024 ~ 0.7; C = bic_scale * 10 / 1024 ~ 0.4.
  EXPECT_NEAR(double(cubic_beta) / BICTCP_BETA_SCALE, 0.7, 0.001);
  EXPECT_NEAR(double(cube_rtt_scale) / 1024, 0.4, 0.001);
  // RFC 9438's alpha for Reno-friendliness: 3 (1 - beta) / (1 + beta), and
  // beta_scale = 8 / alpha, the ACKs per Reno segment of growth times 8.
  const double beta = double(cubic_beta) / BICTCP_BETA_SCALE;
  EXPECT_EQ(beta_scale, uint32_t(8 / (3 * (1 - beta) / (1 + beta))));
}

// After a loss at W_max = 100, cwnd follows W(t) = C (t - K)^3 + W_max with
// C = 0.4, K = cbrt(W_max (1 - beta) / C): concave up to the plateau, convex past it.
TEST_F(CongFixture, CubicWindowFollowsTheCubicFunctionAfterALoss) {
  constexpr double C = 0.4, kBeta = 0.7, kWmax = 100, kRttS = 0.1;
  constexpr uint64_t kRttUs = 100000;
  tp.sk_state = TCP_ESTABLISHED;
  tcp_assign_congestion_control(&tp);
  tcp_init_congestion_control(&tp);
  tp.snd_ssthresh = 0x7fffffff;
  tp.snd_cwnd = uint32_t(kWmax);
  // One RTT sample (100 ms) before the loss: delay_min.
  cubictcp.pkts_acked(&tp, AckSample{1, int32_t(kRttUs), 0});
  // The loss: ssthresh = beta * W_max; recovery ends with cwnd = ssthresh.
  tp.snd_ssthresh = cubictcp.ssthresh(&tp);
  EXPECT_EQ(tp.snd_ssthresh, uint32_t(kWmax * kBeta));
  tp.snd_cwnd = tp.snd_ssthresh;
  const double K = std::cbrt(kWmax * (1 - kBeta) / C);  // ~4.22 s

  // Congestion avoidance: every RTT a full window of ACKs, spread evenly.
  const uint64_t start_us = net.engine.now() / 1000;
  bool crossed_plateau = false;
  for (int rtt = 0; rtt < 80; ++rtt) {
    const double t = double(net.engine.now() / 1000 - start_us) / 1e6;
    const double w_lo = C * std::pow(t - K, 3) + kWmax;
    const double w_hi = C * std::pow(t + kRttS - K, 3) + kWmax;  // CUBIC aims one RTT ahead
    // The fixed point (K to ~0.2%, time in jiffies and 1/1024 s, integer
    // cnt) keeps cwnd within 2 segments of the curve over the RTT.
    EXPECT_GE(double(tp.snd_cwnd), std::max(w_lo, kWmax * kBeta) - 2) << "t=" << t;
    EXPECT_LE(double(tp.snd_cwnd), w_hi + 2) << "t=" << t;
    if (t > K + 1) crossed_plateau = true;
    const uint32_t acks = tp.snd_cwnd;
    for (uint32_t i = 0; i < acks; ++i) {
      advance_us(kRttUs / acks);
      cubictcp.cong_avoid(&tp, 0, 1);
    }
  }
  EXPECT_TRUE(crossed_plateau);
  // 8 s after the loss: W(8) = 0.4 (8 - 4.22)^3 + 100 ~ 121.6.
  EXPECT_NEAR(double(tp.snd_cwnd), C * std::pow(8.0 - K, 3) + kWmax, 3.5);
}

TEST_F(CongFixture, CubicFastConvergenceLowersTheNextPlateau) {
  tp.sk_state = TCP_ESTABLISHED;
  tcp_assign_congestion_control(&tp);
  tcp_init_congestion_control(&tp);
  tp.snd_cwnd = 100;
  cubictcp.ssthresh(&tp);
  EXPECT_EQ(inet_csk_ca<Bictcp>(&tp)->last_max_cwnd, 100u);
  // A second loss below the previous W_max: W_max = cwnd (1 + beta) / 2.
  tp.snd_cwnd = 80;
  EXPECT_EQ(cubictcp.ssthresh(&tp), 80u * 7 / 10);
  EXPECT_EQ(inet_csk_ca<Bictcp>(&tp)->last_max_cwnd, 80u * 17 / 20);
}

// HyStart: slow start ends (ssthresh = cwnd) once a round's minimum RTT over 8
// samples exceeds delay_min + clamp(delay_min / 8, 4 ms, 16 ms).
struct HystartFixture : CongFixture {
  HystartFixture() {
    tp.sk_state = TCP_ESTABLISHED;
    tcp_assign_congestion_control(&tp);
    tp.snd_nxt = 1000;
    tp.snd_una = 0;
    tcp_init_congestion_control(&tp);
    tp.snd_ssthresh = 0x7fffffff;
    tp.snd_cwnd = 16;  // hystart_low_window
  }
  void ack(uint32_t rtt_us, uint64_t gap_us) {
    advance_us(gap_us);
    cubictcp.pkts_acked(&tp, AckSample{1, int32_t(rtt_us), 0});
  }
  // A new round: everything sent so far is acked.
  void next_round() {
    tp.snd_una = tp.snd_nxt + 1;
    tp.snd_nxt += 1000;
  }
};

TEST_F(HystartFixture, ExitsSlowStartWhenTheDelayRises) {
  // Round 1: 9 samples of 10 ms, 3 ms apart (no ACK train).
  for (int i = 0; i < 9; ++i) ack(10000, 3000);
  EXPECT_EQ(inet_csk_ca<Bictcp>(&tp)->delay_min, 10000u);
  EXPECT_EQ(tp.snd_ssthresh, 0x7fffffffu);
  // Round 2: 13.9 ms is below 10 + max(10/8, 4) = 14 ms: slow start goes on.
  next_round();
  for (int i = 0; i < 12; ++i) ack(13900, 3000);
  EXPECT_EQ(tp.snd_ssthresh, 0x7fffffffu);
  EXPECT_FALSE(inet_csk_ca<Bictcp>(&tp)->found);
  // Round 3: 14.5 ms; the 8 first samples only fill the round's minimum, the
  // 9th compares it.
  next_round();
  for (int i = 0; i < 8; ++i) ack(14500, 3000);
  EXPECT_EQ(tp.snd_ssthresh, 0x7fffffffu);
  ack(14500, 3000);
  EXPECT_TRUE(inet_csk_ca<Bictcp>(&tp)->found);
  EXPECT_EQ(tp.snd_ssthresh, tp.snd_cwnd);
  // The delay detector's counters, the cwnd it exited at summed.
  EXPECT_EQ(net.mib.tcpext.TCPHystartDelayDetect, 1u);
  EXPECT_EQ(net.mib.tcpext.TCPHystartDelayCwnd, 16u);
  EXPECT_EQ(net.mib.tcpext.TCPHystartTrainDetect, 0u);
}

TEST_F(HystartFixture, NoExitBelowTheLowWindow) {
  tp.snd_cwnd = 15;
  for (int i = 0; i < 9; ++i) ack(10000, 3000);
  next_round();
  for (int i = 0; i < 12; ++i) ack(30000, 3000);
  EXPECT_EQ(tp.snd_ssthresh, 0x7fffffffu);
}

TEST_F(HystartFixture, ExitsOnAnAckTrainLongerThanHalfTheMinRtt) {
  // delay_min 10 ms: a train of ACKs 1 ms apart ends slow start once it is
  // longer than 5 ms from the round's start.
  ack(10000, 3000);
  next_round();
  advance_us(3000);
  cubictcp.pkts_acked(&tp, AckSample{1, 10000, 0});  // resets the round: round_start = now
  for (int i = 0; i < 5; ++i) ack(10000, 1000);       // 5 ms into the train
  EXPECT_EQ(tp.snd_ssthresh, 0x7fffffffu);
  ack(10000, 1000);  // 6 ms
  EXPECT_TRUE(inet_csk_ca<Bictcp>(&tp)->found);
  EXPECT_EQ(tp.snd_ssthresh, 16u);
  EXPECT_EQ(net.mib.tcpext.TCPHystartTrainDetect, 1u);
  EXPECT_EQ(net.mib.tcpext.TCPHystartTrainCwnd, 16u);
  EXPECT_EQ(net.mib.tcpext.TCPHystartDelayDetect, 0u);
}

}  // namespace
}  // namespace nettwin
