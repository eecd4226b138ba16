// Classic ECN (RFC 3168) as Linux 6.18 runs it (include/net/tcp_ecn.h,
// tcp_input.c, tcp_output.c): negotiation (tcp_ecn_create_request,
// tcp_ecn_make_synack, tcp_ecn_send_syn, tcp_ecn_rcv_synack), ECT(0) on new
// data only (tcp_ecn_send), the receiver's ECE echo until CWR
// (tcp_data_ecn_check, tcp_ecn_accept_cwr) and the sender's CWR state
// (tcp_enter_cwr, tcp_ecn_queue_cwr). The recordings tcp_ecn_* show the same.
#include <gtest/gtest.h>

#include <string>

#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_ecn.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

// The IP ECN field of a DUT frame.
uint8_t ecn_field(const Bytes& f) { return f[14 + 1] & 3; }

// A SYN's TCP header with these flags (tcp_ecn_create_request reads flags and reserved bits).
Bytes syn_header(uint8_t flags, uint8_t res1 = 0) {
  Bytes th(20);
  th[12] = uint8_t(0x50 | (res1 << 1));
  th[13] = flags;
  return th;
}

struct TcpEcnNegotiationTest : TcpDutTest {};

TEST_F(TcpEcnNegotiationTest, EcnSetupSynIsAcceptedWhenNotEct) {
  ASSERT_EQ(net.sysctl.tcp_ecn, 2);  // Linux's default: answer, do not ask
  EXPECT_TRUE(tcp_ecn_create_request(net, syn_header(kSyn | kEce | kCwr).data(), INET_ECN_NOT_ECT));
  // ECE alone, or CWR alone, is no ECN-setup SYN.
  EXPECT_FALSE(tcp_ecn_create_request(net, syn_header(kSyn | kEce).data(), INET_ECN_NOT_ECT));
  EXPECT_FALSE(tcp_ecn_create_request(net, syn_header(kSyn | kCwr).data(), INET_ECN_NOT_ECT));
  // An ECT SYN came through a broken path (RFC 3168 6.1.1)... unless a reserved bit is set.
  EXPECT_FALSE(tcp_ecn_create_request(net, syn_header(kSyn | kEce | kCwr).data(), INET_ECN_ECT_0));
  EXPECT_FALSE(tcp_ecn_create_request(net, syn_header(kSyn | kEce | kCwr).data(), INET_ECN_CE));
  EXPECT_TRUE(tcp_ecn_create_request(net, syn_header(kSyn | kEce | kCwr, 1).data(), INET_ECN_ECT_0));
  net.sysctl.tcp_ecn = 0;
  EXPECT_FALSE(tcp_ecn_create_request(net, syn_header(kSyn | kEce | kCwr).data(), INET_ECN_NOT_ECT));
}

TEST(TcpEcnRcvSynack, OnlyEceWithoutCwrKeepsClassicEcn) {
  TcpSock tp;
  auto after = [&](uint8_t flags) {
    tp.ecn_flags = TCP_ECN_MODE_RFC3168;
    tcp_ecn_rcv_synack(&tp, uint8_t(kSyn | kAck | flags));
    return tcp_ecn_mode_rfc3168(&tp);
  };
  EXPECT_TRUE(after(kEce));
  EXPECT_FALSE(after(0));
  EXPECT_FALSE(after(kEce | kCwr));
  EXPECT_FALSE(after(kCwr));
}

struct TcpEcnTest : TcpConnTest {
  void SetUp() override {
    syn_flags = kSyn | kEce | kCwr;
    TcpConnTest::SetUp();
  }
  TcpSeg data(uint8_t flags, size_t len, uint8_t ecn) {
    TcpSeg s = seg(flags, Bytes(len, 'e'));
    s.tos = ecn;
    snd += uint32_t(len);
    return s;
  }
};

TEST_F(TcpEcnTest, SynAckAnswersWithEceAndTheChildIsEcnCapable) {
  EXPECT_EQ(syn_ack_flags, kSyn | kAck | kEce);
  EXPECT_TRUE(tcp_ecn_mode_rfc3168(tp()));
}

struct TcpNoEcnTest : TcpConnTest {};

TEST_F(TcpNoEcnTest, PlainSynGetsNoEce) {
  EXPECT_EQ(syn_ack_flags, kSyn | kAck);
  EXPECT_FALSE(tcp_ecn_mode_any(tp()));
}

// tcp_ecn_send: new data ECT(0), a pure ACK Not-ECT (the socket's TOS follows the last segment).
TEST_F(TcpEcnTest, NewDataLeavesEct0AndPureAcksNotEct) {
  ASSERT_EQ(write("hello"), 5);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ecn_field(out[0]), INET_ECN_ECT_0);
  EXPECT_EQ(SentTcp(out[0]).flags() & (kEce | kCwr), 0);
  out = send(data(kAck | kPsh, 10, INET_ECN_ECT_0));
  ASSERT_EQ(out.size(), 1u);  // quick-ack at the start
  EXPECT_EQ(ecn_field(out[0]), INET_ECN_NOT_ECT);
  EXPECT_TRUE(tp()->ecn_flags & TCP_ECN_SEEN);
}

// tcp_data_ecn_check demands CWR on CE; ECE goes on every ACK until a CWR,
// which a pure ACK may carry (tcp_ecn_accept_cwr in tcp_ack).
TEST_F(TcpEcnTest, CeIsEchoedWithEceUntilCwr) {
  auto out = send(data(kAck | kPsh, 10, INET_ECN_CE));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck | kEce);
  EXPECT_TRUE(tp()->ecn_flags & TCP_ECN_DEMAND_CWR);
  out = send(data(kAck | kPsh, 10, INET_ECN_ECT_0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck | kEce);
  // A pure ACK with CWR ends the echo (and draws nothing).
  EXPECT_TRUE(send(seg(kAck | kCwr)).empty());
  EXPECT_FALSE(tp()->ecn_flags & TCP_ECN_DEMAND_CWR);
  d.stack.advance(300'000'000);  // past any delayed ACK
  wire();
  out = send(data(kAck | kPsh, 10, INET_ECN_ECT_0));
  d.stack.advance(300'000'000);
  for (const auto& f : wire()) out.push_back(f);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(SentTcp(out.back()).flags(), kAck);
}

// Data with CWR is acked at once (the sender's cwnd may be one segment).
TEST_F(TcpEcnTest, DataWithCwrIsAckedAtOnceWithoutEce) {
  ASSERT_EQ(send(data(kAck | kPsh, 10, INET_ECN_CE)).size(), 1u);
  for (int i = 0; i < 20; ++i) send(data(kAck | kPsh, 10, INET_ECN_ECT_0));  // quick-acks used up
  d.stack.advance(300'000'000);
  wire();
  auto out = send(data(kAck | kPsh | kCwr, 10, INET_ECN_ECT_0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);
}

// An ECE enters CWR (tcp_try_to_open -> tcp_enter_cwr): cubic's ssthresh, PRR's
// cwnd, CWR on the next new data; the ACK past high_seq ends it (Open, cwnd =
// ssthresh). tcp_ecn_ece_cwr recorded: cwnd 3 ssthresh 7 in CWR, 7 after.
TEST_F(TcpEcnTest, EceEntersCwrAndTheNextNewDataCarriesCwr) {
  ASSERT_EQ(sys_setsockopt(net, cfd, 6, 1, 1, 4), 0);  // TCP_NODELAY
  ASSERT_EQ(write(std::string(100, 'a')), 100);
  ASSERT_EQ(write(std::string(100, 'b')), 100);
  ASSERT_EQ(wire().size(), 2u);
  d.stack.advance(5'000'000);
  tsval += 5;
  EXPECT_TRUE(send(seg(kAck | kEce, {}, 100)).empty());
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_CWR);
  EXPECT_EQ(tp()->snd_ssthresh, 7u);
  EXPECT_EQ(tp()->snd_cwnd, 3u);
  EXPECT_EQ(tp()->delivered_ce, 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPDeliveredCE"), 1u);
  EXPECT_TRUE(tp()->ecn_flags & TCP_ECN_QUEUE_CWR);
  ASSERT_EQ(write(std::string(100, 'c')), 100);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags() & kCwr, kCwr);
  EXPECT_EQ(ecn_field(out[0]), INET_ECN_ECT_0);
  EXPECT_FALSE(tp()->ecn_flags & TCP_ECN_QUEUE_CWR);
  tsval += 5;
  EXPECT_TRUE(send(seg(kAck, {}, 300)).empty());
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_EQ(tp()->snd_cwnd, 7u);
}

// A retransmission is never ECT, nor does it carry the CWR the RTO queued:
// that goes on the next new data.
TEST_F(TcpEcnTest, RetransmissionIsNotEctAndLeavesCwrToNewData) {
  ASSERT_EQ(write("first"), 5);
  ASSERT_EQ(wire().size(), 1u);
  d.stack.advance(1'500'000'000);  // the RTO fires
  auto out = wire();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(ecn_field(out[0]), INET_ECN_NOT_ECT);
  EXPECT_EQ(SentTcp(out[0]).flags() & kCwr, 0);
  EXPECT_TRUE(tp()->ecn_flags & TCP_ECN_QUEUE_CWR);  // tcp_enter_loss queued it
  tsval += 1500;
  send(seg(kAck, {}, 5));
  ASSERT_EQ(write("second"), 6);
  out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags() & kCwr, kCwr);
  EXPECT_EQ(ecn_field(out[0]), INET_ECN_ECT_0);
}

// Without ECN the ECE of an ACK means nothing and CE draws no echo.
TEST_F(TcpNoEcnTest, EceAndCeAreIgnoredWithoutEcn) {
  ASSERT_EQ(write(std::string(100, 'a')), 100);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ecn_field(out[0]), INET_ECN_NOT_ECT);
  tsval += 5;
  EXPECT_TRUE(send(seg(kAck | kEce, {}, 100)).empty());
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_EQ(tp()->delivered_ce, 0u);
  TcpSeg ce = seg(kAck | kPsh, Bytes(10, 'x'), 100);
  ce.tos = INET_ECN_CE;
  out = send(ce);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);
}

}  // namespace
}  // namespace nettwin::test
