// tcp_v4_rcv with no socket to take the segment (net/ipv4/tcp_ipv4.c): the
// header and checksum checks with their drop reasons and Tcp MIB counts, and
// tcp_v4_send_reset's seq/ack rules, IP header and tracepoint.
#include <gtest/gtest.h>

#include "core/net.h"
#include "tcp_test_helpers.h"

namespace nettwin::test {
namespace {

struct TcpV4RcvTest : TcpDutTest {
  void SetUp() override {
    TcpDutTest::SetUp();
    d.trace();
  }
  void expect_one_drop(const char* reason) {
    auto drops = d.named("skb:kfree_skb");
    ASSERT_EQ(drops.size(), 1u);
    EXPECT_EQ(d.field(*drops[0], "reason"), reason);
    EXPECT_EQ(d.field(*drops[0], "location"), "tcp_v4_rcv");
  }
};

TEST_F(TcpV4RcvTest, SynToClosedPortGetsRstAckAndNoIcmp) {
  TcpSeg s;
  s.seq = 0xfffffff0;
  s.options = {2, 4, 0x05, 0xb4};  // MSS 1460: options do not count in the ack
  auto out = send(s);
  ASSERT_EQ(out.size(), 1u);
  const Bytes& f = out[0];
  ASSERT_EQ(f.size(), 14u + 20 + 20);
  EXPECT_EQ(f[14 + 9], 6);         // TCP, not an ICMP protocol unreachable
  EXPECT_EQ(be16(f, 14 + 6), 0x4000);  // DF, fragment offset 0
  EXPECT_EQ(be16(f, 14 + 4), 0);   // IP ID 0 under DF from the control socket
  EXPECT_EQ(f[14 + 8], 64);        // the default TTL
  EXPECT_EQ(be32(f, 14 + 12), kDutIp);
  EXPECT_EQ(be32(f, 14 + 16), kTesterIp);
  SentTcp t(f);
  EXPECT_EQ(t.sport(), 80);
  EXPECT_EQ(t.dport(), 40000);
  EXPECT_EQ(t.flags(), kRst | kAck);
  EXPECT_EQ(t.seq(), 0u);
  EXPECT_EQ(t.ack(), 0xfffffff1u);
  EXPECT_EQ(t.window(), 0);
  EXPECT_EQ(t.doff(), 5u);
  EXPECT_TRUE(t.csum_ok());
  EXPECT_EQ(d.counter("Tcp.InSegs"), 1u);
  EXPECT_EQ(d.counter("Tcp.OutSegs"), 1u);
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 1u);
  EXPECT_EQ(d.counter("Tcp.InErrs"), 0u);
  EXPECT_EQ(d.counter("Ip.InUnknownProtos"), 0u);
  EXPECT_EQ(d.counter("Icmp.OutMsgs"), 0u);
  expect_one_drop("NO_SOCKET");
  auto rst = d.named("tcp:tcp_send_reset");
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(d.field(*rst[0], "saddr"), "198.51.100.2:80");
  EXPECT_EQ(d.field(*rst[0], "daddr"), "198.51.100.1:40000");
  EXPECT_EQ(d.field(*rst[0], "reason"), "NO_SOCKET");
  EXPECT_EQ(d.field(*rst[0], "state"), "UNKNOWN");
}

TEST_F(TcpV4RcvTest, AckIsAnsweredWithSeqFromItsAckAndNoAckFlag) {
  TcpSeg s;
  s.flags = kAck | kPsh;
  s.seq = 7;
  s.ack = 0x12345678;
  s.payload = {'a', 'b', 'c'};
  auto out = send(s);
  ASSERT_EQ(out.size(), 1u);
  SentTcp t(out[0]);
  EXPECT_EQ(t.flags(), kRst);
  EXPECT_EQ(t.seq(), 0x12345678u);
  EXPECT_EQ(t.ack(), 0u);
  EXPECT_TRUE(t.csum_ok());
}

TEST_F(TcpV4RcvTest, NoAckSegmentIsAckedPastSynFinAndPayload) {
  TcpSeg s;
  s.flags = kSyn | kFin;
  s.seq = 100;
  s.payload = Bytes(10, 'x');
  auto out = send(s);
  ASSERT_EQ(out.size(), 1u);
  SentTcp t(out[0]);
  EXPECT_EQ(t.flags(), kRst | kAck);
  EXPECT_EQ(t.ack(), 100u + 1 + 1 + 10);
}

TEST_F(TcpV4RcvTest, ResetIsNeverAnswered) {
  TcpSeg s;
  s.flags = kRst;
  EXPECT_TRUE(send(s).empty());
  expect_one_drop("NO_SOCKET");
  EXPECT_EQ(d.counter("Tcp.InSegs"), 1u);
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 0u);
  EXPECT_TRUE(d.named("tcp:tcp_send_reset").empty());
}

TEST_F(TcpV4RcvTest, ResetKeepsTosWithoutEcn) {
  TcpSeg s;
  s.tos = 0x2b;  // DSCP 10, ECN CE
  auto out = send(s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][14 + 1], 0x28);
  // ip_send_unicast_reply's flow: TCP, our port as sport, DSCP only, src set.
  auto lookups = d.named("fib:fib_table_lookup");
  ASSERT_FALSE(lookups.empty());
  const TraceEvent& l = *lookups.back();
  EXPECT_EQ(d.field(l, "proto"), "6");
  EXPECT_EQ(d.field(l, "sport"), "80");
  EXPECT_EQ(d.field(l, "dport"), "40000");
  EXPECT_EQ(d.field(l, "tos"), "40");
  EXPECT_EQ(d.field(l, "src"), "198.51.100.2");
  EXPECT_EQ(d.field(l, "dst"), "198.51.100.1");
}

TEST_F(TcpV4RcvTest, ResetEchoesRecordRouteWithOurAddress) {
  TcpSeg s;
  s.ip_options = {7, 7, 4, 0, 0, 0, 0, 1};  // record route with one free slot, NOP
  auto out = send(s);
  ASSERT_EQ(out.size(), 1u);
  const Bytes& f = out[0];
  ASSERT_EQ(f.size(), 14u + 28 + 20);
  EXPECT_EQ(f[14], 0x47);
  // __ip_options_echo copies the option with the pointer past our slot and
  // pads with END; ip_options_build writes our address in the slot.
  EXPECT_EQ(Bytes(f.begin() + 34, f.begin() + 42), Bytes({7, 7, 8, 198, 51, 100, 2, 0}));
  EXPECT_EQ(inet_csum(f.data() + 14, 28), 0);
  EXPECT_EQ(be16(f, 42 + 0), 80);  // the TCP header follows the options
  EXPECT_EQ(f[42 + 13], kRst | kAck);
}

// A link-layer broadcast is not PACKET_HOST: discarded before it is counted.
TEST_F(TcpV4RcvTest, BroadcastFrameIsDiscardedUncounted) {
  d.inject(tcp_frame(TcpSeg{}, kTesterIp, 0xc63364ff, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  d.stack.advance(1'000'000);
  EXPECT_TRUE(d.stack.take_wire().empty());
  expect_one_drop("NOT_SPECIFIED");
  EXPECT_EQ(d.counter("Tcp.InSegs"), 0u);
}

// Unicast to us but for the subnet broadcast address: counted, no socket,
// and no reset because the input route is not RTN_LOCAL.
TEST_F(TcpV4RcvTest, SegmentToBroadcastAddressGetsNoReset) {
  d.inject(tcp_frame(TcpSeg{}, kTesterIp, 0xc63364ff));
  d.stack.advance(1'000'000);
  EXPECT_TRUE(d.stack.take_wire().empty());
  expect_one_drop("NO_SOCKET");
  EXPECT_EQ(d.counter("Tcp.InSegs"), 1u);
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 0u);
  EXPECT_TRUE(d.named("tcp:tcp_send_reset").empty());
}

TEST_F(TcpV4RcvTest, BadChecksumIsDroppedUnanswered) {
  TcpSeg s;
  s.check = 0x1234;
  EXPECT_TRUE(send(s).empty());
  expect_one_drop("TCP_CSUM");
  EXPECT_EQ(d.counter("Tcp.InSegs"), 1u);
  EXPECT_EQ(d.counter("Tcp.InErrs"), 1u);
  EXPECT_EQ(d.counter("Tcp.InCsumErrors"), 1u);
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 0u);
}

TEST_F(TcpV4RcvTest, DataOffsetBelowFiveIsTooSmall) {
  TcpSeg s;
  s.doff = 4;
  EXPECT_TRUE(send(s).empty());
  expect_one_drop("PKT_TOO_SMALL");
  EXPECT_EQ(d.counter("Tcp.InErrs"), 1u);
  EXPECT_EQ(d.counter("Tcp.InCsumErrors"), 0u);
}

TEST_F(TcpV4RcvTest, DataOffsetPastTheSegmentIsDiscarded) {
  TcpSeg s;
  s.doff = 15;  // 60 bytes of header claimed, 20 there
  EXPECT_TRUE(send(s).empty());
  expect_one_drop("NOT_SPECIFIED");
  EXPECT_EQ(d.counter("Tcp.InSegs"), 1u);
  EXPECT_EQ(d.counter("Tcp.InErrs"), 0u);
}

}  // namespace
}  // namespace nettwin::test
