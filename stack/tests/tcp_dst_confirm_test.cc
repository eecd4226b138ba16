// sk_dst_confirm (tcp_input.c) and sock_confirm_neigh (ip_finish_output2):
// an ACK that moves snd_una forward proves the peer is there, and the next
// segment the socket sends restarts its neighbour's reachable time, so a
// connection whose data is acknowledged never probes its neighbour. A peer
// that only sends data proves nothing: the neighbour ages into a probe.
#include <gtest/gtest.h>

#include <string>

#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

constexpr uint64_t kRoundNs = 300'000'000;  // below the shortest reachable time (base 1 s / 2)
constexpr int kRounds = 30;                 // 9 s: beyond reachable time plus delay_first_probe_time

struct TcpDstConfirmTest : TcpConnTest {
  void SetUp() override {
    TcpConnTest::SetUp();
    ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.neigh.ntdut0.base_reachable_time_ms", "1000").has_value());
  }
  std::string tester_state() {
    for (const auto& n : d.stack.neighbours())
      if (n.ip == "198.51.100.1") return n.state;
    return "none";
  }
  // ARP frames among what the DUT sent (EtherType at offset 12).
  static int arps(const std::vector<Bytes>& frames) {
    int n = 0;
    for (const auto& f : frames) n += f.size() > 13 && f[12] == 0x08 && f[13] == 0x06;
    return n;
  }
};

TEST_F(TcpDstConfirmTest, AckedDataKeepsTheNeighbourReachableWithoutAProbe) {
  int probes = 0;
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_EQ(write(std::string(100, 'a')), 100);
    auto out = wire();
    probes += arps(out);
    tsval += 300;
    probes += arps(send(seg(kAck, {}, uint32_t(100 * (i + 1)))));
    d.stack.advance(kRoundNs);
    probes += arps(wire());
  }
  EXPECT_EQ(probes, 0);
  EXPECT_EQ(tester_state(), "reachable");
  EXPECT_TRUE(tp()->sk_dst_pending_confirm) << "the last ACK's confirmation waits for a segment to carry it";
}

TEST_F(TcpDstConfirmTest, AnAckThatMovesNothingForwardConfirmsNothing) {
  int probes = 0;
  for (int i = 0; i < kRounds; ++i) {
    auto out = send(seg(kAck | kPsh, Bytes(100, 'b')));  // the DUT only acknowledges
    snd += 100;
    tsval += 300;
    probes += arps(out);
    EXPECT_FALSE(tp()->sk_dst_pending_confirm);
    d.stack.advance(kRoundNs);
    probes += arps(wire());
  }
  EXPECT_GE(probes, 1) << "the neighbour went DELAY, then PROBE: a unicast ARP request";
}

TEST_F(TcpDstConfirmTest, TheConfirmationRidesOnTheNextSegmentSent) {
  ASSERT_EQ(write(std::string(100, 'a')), 100);
  wire();
  send(seg(kAck, {}, 100));
  EXPECT_TRUE(tp()->sk_dst_pending_confirm) << "tcp_ack: FLAG_FORWARD_PROGRESS";
  ASSERT_EQ(write(std::string(100, 'c')), 100);
  wire();
  EXPECT_FALSE(tp()->sk_dst_pending_confirm) << "sock_confirm_neigh cleared it";
}

}  // namespace
}  // namespace nettwin::test
