// Loss recovery without SACK (tcp_input.c's Reno path): duplicate ACKs counted
// as sacked_out, NewReno's fast retransmit on the third, PRR's cwnd
// (tcp_cwnd_reduction), tcp_retrans_try_collapse, the partial ACK's next
// retransmission, and the recovery's end (Reno's hold at high_seq, undo).
#include <gtest/gtest.h>

#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_skb_cb.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

// A Linux client's SYN options with SACK off: MSS, NOP NOP TS, NOP WS 7.
Bytes no_sack_syn_options(uint32_t tsval) {
  Bytes b = {2, 4, 0x05, 0xb4, 1, 1, 8, 10};
  put32(b, tsval);
  put32(b, 0);
  b.insert(b.end(), {1, 3, 3, 7});
  return b;
}

struct TcpRecoveryTest : TcpDutTest {
  int cfd = -1;
  uint32_t isn = 0, peer_isn = 5000, tsval = 1000, dut_ts = 0;

  void SetUp() override {
    TcpDutTest::SetUp();
    const int lfd = tcp();
    SockaddrIn a;
    a.port = 80;
    ASSERT_EQ(sys_bind(net, lfd, a, SOCKADDR_IN_LEN), 0);
    ASSERT_EQ(sys_listen(net, lfd, 5), 0);
    TcpSeg syn;
    syn.seq = peer_isn;
    syn.options = no_sack_syn_options(tsval);
    auto out = send(syn);
    ASSERT_EQ(out.size(), 1u);
    isn = SentTcp(out[0]).seq();
    dut_ts = dut_tsval(SentTcp(out[0]));
    d.stack.advance(1'000'000);
    ++tsval;
    EXPECT_TRUE(send(ack(0)).empty());
    cfd = sys_accept4(net, lfd, nullptr, 0, 0);
    ASSERT_GE(cfd, 3);
    ASSERT_EQ(sys_setsockopt(net, cfd, 6, 1, 1, 4), 0);  // IPPROTO_TCP, TCP_NODELAY
  }
  TcpSock* tp() { return static_cast<TcpSock*>(net.sock.files.at(cfd)->sk); }
  // An ACK of rel bytes of our data, echoing echo (0: the DUT's last TSval).
  TcpSeg ack(uint32_t rel, uint32_t echo = 0) {
    TcpSeg s;
    s.flags = kAck;
    s.seq = peer_isn + 1;
    s.ack = isn + 1 + rel;
    s.window = 502;
    s.options = ts_option(tsval, echo ? echo : dut_ts);
    return s;
  }
  // n sends of size bytes, each its own segment (NODELAY), all on the wire.
  void sends(int n, size_t size) {
    for (int i = 0; i < n; ++i) {
      std::string data(size, char('0' + i));
      SendMsg m;
      m.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size());
      ASSERT_EQ(sys_sendmsg(net, cfd, m), int(size));
    }
    auto out = take();
    ASSERT_EQ(out.size(), size_t(n));
    dut_ts = dut_tsval(SentTcp(out.back()));
    d.stack.advance(2'000'000);  // the retransmissions carry a later TSval than the originals
  }
  // s from the tester; the DUT's answers, whose last TSval the tester echoes from then on.
  std::vector<Bytes> send(const TcpSeg& s) {
    auto out = TcpDutTest::send(s);
    if (!out.empty() && dut_tsval(SentTcp(out.back()))) dut_ts = dut_tsval(SentTcp(out.back()));
    return out;
  }
  size_t payload_len(const Bytes& f) { return f.size() - SentTcp::T - SentTcp(f).doff() * 4; }
};

TEST_F(TcpRecoveryTest, DupacksCountAsRenoSacksAndDisorder) {
  sends(5, 100);
  const uint32_t delivered = tp()->delivered;
  EXPECT_TRUE(send(ack(0)).empty());
  EXPECT_TRUE(send(ack(0)).empty());
  EXPECT_EQ(tp()->sacked_out, 2u);          // tcp_add_reno_sack
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Disorder);
  EXPECT_EQ(tp()->lost_out, 0u);            // below dupthresh (reordering 3)
  EXPECT_EQ(tp()->delivered - delivered, 2u);  // each dupack stands for a delivered segment
}

TEST_F(TcpRecoveryTest, ThirdDupackFastRetransmitsCollapsedHead) {
  sends(5, 100);
  send(ack(0));
  send(ack(0));
  auto out = send(ack(0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1);
  EXPECT_EQ(payload_len(out[0]), 500u);     // five 100-byte skbs in one (tcp_retrans_try_collapse)
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tp()->packets_out, 1u);
  EXPECT_EQ(tp()->sacked_out, 0u);          // tcp_adjust_pcount took the dupacks' share
  EXPECT_EQ(tp()->prior_cwnd, 10u);
  EXPECT_EQ(tp()->snd_ssthresh, 7u);        // CUBIC's ssthresh: 10 * 717 / 1024
  EXPECT_EQ(tp()->snd_cwnd, 2u);            // PRR: in flight 1 + sndcnt 1
  EXPECT_EQ(tp()->prr_out, 1u);
  EXPECT_EQ(tp()->high_seq, isn + 501);
  EXPECT_EQ(net.mib.tcpext.TCPRenoRecovery, 1u);
  EXPECT_EQ(net.mib.tcpext.TCPFastRetrans, 1u);
  EXPECT_EQ(net.mib.tcp.RetransSegs, 1u);
}

TEST_F(TcpRecoveryTest, MoreDupacksThanSegmentsOutRaiseReordering) {
  sends(5, 100);
  for (int i = 0; i < 3; ++i) send(ack(0));
  EXPECT_TRUE(send(ack(0)).empty());
  // One (collapsed) segment out and one hole: a fourth dupack is reordering.
  EXPECT_EQ(tp()->sacked_out, 0u);
  EXPECT_EQ(tp()->reordering, 1u);
  EXPECT_EQ(net.mib.tcpext.TCPRenoReorder, 1u);
}

TEST_F(TcpRecoveryTest, PrrHoldsCwndOnFurtherDupacksWithoutCollapse) {
  sends(5, 1000);
  send(ack(0));
  send(ack(0));
  auto out = send(ack(0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(payload_len(out[0]), 1000u);    // 1000 + 1000 > MSS: nothing to collapse
  EXPECT_EQ(tp()->snd_cwnd, 2u);
  EXPECT_TRUE(send(ack(0)).empty());        // retrans_out covers lost_out: nothing more to send
  EXPECT_EQ(tp()->sacked_out, 4u);
  EXPECT_EQ(tp()->prr_delivered, 2u);
  EXPECT_EQ(tp()->snd_cwnd, 2u);            // in flight 1 + max(prr_out - prr_delivered, 1)
}

TEST_F(TcpRecoveryTest, PartialAckRetransmitsTheNextHole) {
  sends(5, 1000);
  for (int i = 0; i < 3; ++i) send(ack(0));
  auto out = send(ack(2000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 2001);
  EXPECT_EQ(payload_len(out[0]), 1000u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tp()->sacked_out, 2u);          // the ACK ate one of the three dupacks' segments
  EXPECT_EQ(tp()->snd_cwnd, 1u);            // PRR after a newly lost segment: no extra
  EXPECT_EQ(net.mib.tcpext.TCPFastRetrans, 2u);
}

// PRR's slow-start bound sends what was delivered beyond what was sent
// (prr_delivered - prr_out), plus one on a clean forward ACK (the Linux
// recording of tcp_reno_partial_ack shows cwnd 2, then 3).
TEST_F(TcpRecoveryTest, PrrSendsWhatWasDeliveredBeyondWhatWasSent) {
  sends(5, 1000);
  for (int i = 0; i < 4; ++i) send(ack(0));
  ASSERT_EQ(send(ack(2000)).size(), 1u);
  EXPECT_EQ(tp()->prr_delivered, 3u);
  EXPECT_EQ(tp()->prr_out, 2u);
  EXPECT_EQ(tp()->snd_cwnd, 2u);            // max(3 - 1, 1): no extra, a segment was newly lost
  EXPECT_TRUE(send(ack(5000)).empty());
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tp()->snd_cwnd, 3u);            // max(4 - 2, 1) + 1
  // The hole's retransmission left after the app-limited bubble was acked
  // (tcp_rate_gen): its ACK is a rate sample that is not app-limited.
  EXPECT_FALSE(tp()->rate_app_limited);
}

TEST_F(TcpRecoveryTest, RenoHoldsRecoveryAtHighSeqThenExitsAboveIt) {
  sends(5, 100);
  for (int i = 0; i < 3; ++i) send(ack(0));
  EXPECT_TRUE(send(ack(500)).empty());
  // Acked up to high_seq exactly: Reno holds the state (RFC 2582).
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  EXPECT_EQ(tp()->snd_cwnd, 2u);
  EXPECT_EQ(net.mib.tcpext.TCPFullUndo, 0u);  // the ACK echoed the retransmission
  SendMsg m;
  const std::string more(100, 'z');
  m.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(more.data()), more.size());
  ASSERT_EQ(sys_sendmsg(net, cfd, m), 100);
  auto out = take();
  ASSERT_EQ(out.size(), 1u);                // within PRR's cwnd
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 501);
  EXPECT_EQ(tp()->prr_out, 2u);             // new data counts for PRR too
  dut_ts = dut_tsval(SentTcp(out[0]));
  send(ack(600));
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_EQ(tp()->snd_cwnd, 7u);            // tcp_end_cwnd_reduction: cwnd = ssthresh
  EXPECT_EQ(tp()->snd_ssthresh, 7u);
}

TEST_F(TcpRecoveryTest, AckEchoingTheOriginalUndoesTheReduction) {
  sends(5, 100);
  const uint32_t original_ts = dut_ts;
  for (int i = 0; i < 3; ++i) send(ack(0));
  ASSERT_EQ(tp()->snd_cwnd, 2u);
  // The peer's timestamp echo predates the retransmission: the hole was a delay.
  send(ack(500, original_ts));
  EXPECT_EQ(net.mib.tcpext.TCPFullUndo, 1u);
  EXPECT_EQ(tp()->snd_ssthresh, 0x7fffffffu);  // prior_ssthresh restored
  EXPECT_EQ(tp()->undo_marker, 0u);
  // Reno still holds Recovery at high_seq, so PRR sets this ACK's cwnd.
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
}

TEST_F(TcpRecoveryTest, RtoInRecoveryLosesTheRetransmission) {
  sends(5, 100);
  for (int i = 0; i < 3; ++i) send(ack(0));
  ASSERT_EQ(tp()->retrans_out, 1u);
  d.stack.advance(300'000'000);  // the RTO (about 200 ms) fires, once
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(payload_len(out[0]), 500u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Loss);
  EXPECT_EQ(net.mib.tcpext.TCPLostRetransmit, 1u);  // tcp_mark_skb_lost on a lost retransmission
  EXPECT_EQ(net.mib.tcpext.TCPRenoRecoveryFail, 1u);
  EXPECT_EQ(tp()->snd_ssthresh, 7u);        // already reduced in this window: kept
}

}  // namespace
}  // namespace nettwin::test
