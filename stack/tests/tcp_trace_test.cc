// What a TCP segment's arrival shows to a tracer: tcp:tcp_probe with the
// sender's state at tcp_rcv_established's start, and the checkpoint where
// tcp_ack_snd_check decides between an ACK now, a delayed ACK and none.
#include <gtest/gtest.h>

#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

struct TcpTraceTest : TcpConnTest {
  void SetUp() override {
    TcpConnTest::SetUp();
    d.stack.unsubscribe(d.sub);
    d.events.clear();
    d.trace(true);
  }
  // The verdicts of tcp_ack_snd_check's checkpoints, in order.
  std::vector<std::string> ack_verdicts() const {
    std::vector<std::string> v;
    for (const TraceEvent* ev : d.named("checkpoint:tcp_ack_snd_check")) v.push_back(d.field(*ev, "verdict"));
    return v;
  }
};

TEST_F(TcpTraceTest, TcpProbeCarriesTheSendersStateAndThePayloadLength) {
  ASSERT_EQ(write("abc"), 3);
  d.stack.advance(100'000);
  wire();
  d.events.clear();
  snd = 0;
  const uint32_t srtt_before = tp()->srtt_us >> 3;  // the ACK brings a new sample
  send(seg(kAck | kPsh, {'x', 'y', 'z', 'w'}, 3));
  auto probes = d.named("tcp:tcp_probe");
  ASSERT_EQ(probes.size(), 1u);
  const TraceEvent& p = *probes[0];
  EXPECT_EQ(d.field(p, "data_len"), "4");
  EXPECT_EQ(d.field(p, "sport"), "80");
  EXPECT_EQ(d.field(p, "dport"), "40000");
  EXPECT_EQ(d.field(p, "saddr"), "198.51.100.2");
  EXPECT_EQ(d.field(p, "daddr"), "198.51.100.1");
  // Before the ACK is processed: "abc" is still unacked.
  EXPECT_EQ(d.field(p, "snd_nxt"), std::to_string(isn + 4));
  EXPECT_EQ(d.field(p, "snd_una"), std::to_string(isn + 1));
  EXPECT_EQ(d.field(p, "snd_cwnd"), "10");
  // ssthresh is TCP_INFINITE_SSTHRESH before any loss (tcp_current_ssthresh).
  EXPECT_EQ(d.field(p, "ssthresh"), std::to_string(0x7fffffff));
  EXPECT_EQ(d.field(p, "srtt"), std::to_string(srtt_before));
  EXPECT_NE(tp()->srtt_us >> 3, srtt_before);
  EXPECT_NE(d.field(p, "rcv_wnd"), "0");
  EXPECT_EQ(p.skb, d.named("checkpoint:tcp_rcv_established").at(0)->skb);
}

TEST_F(TcpTraceTest, AckSndCheckSaysAckNowInQuickAckModeAndDelayedInPingpong) {
  // Quick-ack mode after the handshake: the first data is acked at once.
  auto out = send(seg(kAck | kPsh, {'a'}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ack_verdicts(), std::vector<std::string>{"ack_now"});
  const uint64_t data_skb = d.named("checkpoint:tcp_rcv_established").back()->skb;
  EXPECT_EQ(d.named("checkpoint:tcp_ack_snd_check").back()->skb, data_skb);
  // Out of quick-ack mode (TCP_QUICKACK off and pingpong): the ACK is delayed.
  tp()->icsk_ack.quick = 0;
  tp()->icsk_ack.pingpong = 3;
  snd += 1;
  d.events.clear();
  EXPECT_TRUE(send(seg(kAck | kPsh, {'b'})).empty());
  EXPECT_EQ(ack_verdicts(), std::vector<std::string>{"delayed_ack"});
}

TEST_F(TcpTraceTest, APureAckOnTheSlowPathAsksForNoAckAndOnTheFastPathSkipsTheCheck) {
  ASSERT_EQ(write("abc"), 3);
  d.stack.advance(100'000);
  wire();
  d.events.clear();
  // A new window takes the slow path (header prediction fails): checked, nothing to ack.
  EXPECT_TRUE(send(seg(kAck, {}, 3, 600)).empty());
  EXPECT_EQ(ack_verdicts(), std::vector<std::string>{"no_ack"});
  ASSERT_EQ(write("def"), 3);
  d.stack.advance(100'000);
  wire();
  d.events.clear();
  // The predicted pure ACK frees the segment without asking.
  EXPECT_TRUE(send(seg(kAck, {}, 6, 600)).empty());
  EXPECT_TRUE(ack_verdicts().empty());
  EXPECT_EQ(d.named("checkpoint:tcp_ack").size(), 1u);
}

TEST_F(TcpTraceTest, ABadChecksumOnTheConnectionIsTracedAndDroppedAsTcpCsum) {
  TcpSeg s = seg(kAck | kPsh, {'x'});
  s.check = 0xdead;
  EXPECT_TRUE(send(s).empty());
  auto bad = d.named("tcp:tcp_bad_csum");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(d.field(*bad[0], "saddr"), "198.51.100.1:40000");
  EXPECT_EQ(d.field(*bad[0], "daddr"), "198.51.100.2:80");
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_CSUM");
  EXPECT_EQ(drops[0]->skb, bad[0]->skb);
  EXPECT_EQ(d.counter("Tcp.InCsumErrors"), 1u);
  EXPECT_EQ(tp()->rcv_nxt, peer_isn + 1);  // nothing taken
}

}  // namespace
}  // namespace nettwin::test
