// F-RTO (tcp_frto 2, RFC 5682's SACK version, tcp_process_loss) and undo
// (tcp_try_undo_loss / tcp_try_undo_recovery / tcp_try_undo_partial with
// tcp_packet_delayed) as Linux 6.18 runs them: after an RTO, tcp_enter_loss
// sets tp->frto; once the head's retransmission is acked new data goes out
// instead of more retransmissions, and an ACK of data never retransmitted
// proves the RTO spurious (TCPSpuriousRTOs, TCPLossUndo, cwnd restored). An
// ACK echoing a timestamp older than the first retransmission proves the
// same for an RTO (TCPLossUndo) or a fast retransmit (TCPFullUndo,
// TCPPartialUndo with TCPTSReorder).
#include <gtest/gtest.h>

#include <string>

#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

constexpr uint32_t kMss = 1448;

struct TcpFrtoTest : TcpConnTest {
  uint32_t first_tsval = 0;  // the TSval of the DUT's first data segment

  // n segments written; the first ten (the initial cwnd) on the wire.
  void write_segments(unsigned n) {
    ASSERT_EQ(write(std::string(n * kMss, 'f')), int(n * kMss));
    auto out = wire();
    ASSERT_EQ(out.size(), std::min(n, 10u));
    first_tsval = dut_tsval(SentTcp(out[0]));
  }
  // Silence until the RTO fired: the loss probe, then the head again, in Loss.
  void until_rto() {
    d.stack.advance(400'000'000);
    wire();
    ASSERT_EQ(tp()->icsk_ca_state, TCP_CA_Loss);
    ASSERT_EQ(d.counter("TcpExt.TCPTimeouts"), 1u);
  }
};

// tcp_enter_loss from Open: F-RTO is on for this recovery.
TEST_F(TcpFrtoTest, RtoFromOpenTurnsFrtoOn) {
  write_segments(3);
  until_rto();
  EXPECT_EQ(tp()->frto, 1);
  EXPECT_EQ(tp()->snd_cwnd, 1u);
  EXPECT_EQ(tp()->tlp_high_seq, 0u);
}

// Step 2.b then 3.b: the head's retransmission acked, new data goes out
// (not the next lost segment); the ACK of an original segment then shows the
// RTO was spurious: undone, Open again, cwnd as before.
TEST_F(TcpFrtoTest, AckOfNeverRetransmittedDataUndoesTheRto) {
  write_segments(20);
  until_rto();
  const uint32_t prior_cwnd = tp()->prior_cwnd;
  const uint32_t nxt = tp()->snd_nxt - (isn + 1);
  tsval += 1;
  auto out = send(seg(kAck, {}, kMss));
  ASSERT_GE(out.size(), 1u);
  for (const Bytes& f : out) EXPECT_GE(SentTcp(f).seq(), isn + 1 + nxt);  // new data only
  EXPECT_EQ(d.counter("TcpExt.TCPSlowStartRetrans"), 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Loss);
  tsval += 1;
  send(seg(kAck, {}, 2 * kMss));
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_EQ(d.counter("TcpExt.TCPSpuriousRTOs"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPLossUndo"), 1u);
  EXPECT_EQ(tp()->lost_out, 0u);
  EXPECT_GE(tp()->snd_cwnd, prior_cwnd);
}

// Step 3.a: a SACK after the new data means the loss was real: F-RTO off,
// the lost segments go again (TCPSlowStartRetrans).
TEST_F(TcpFrtoTest, SackAfterNewDataMeansTheLossWasReal) {
  write_segments(20);
  until_rto();
  const uint32_t nxt = tp()->snd_nxt - (isn + 1);
  tsval += 1;
  ASSERT_GE(send(seg(kAck, {}, kMss)).size(), 1u);
  tsval += 1;
  auto out = send(sack_seg(kMss, {{nxt, nxt + kMss}}));
  EXPECT_EQ(tp()->frto, 0);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Loss);
  ASSERT_GE(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1 + kMss);
  EXPECT_GE(d.counter("TcpExt.TCPSlowStartRetrans"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPSpuriousRTOs"), 0u);
}

// The ACK of the head echoing its retransmission (the fixture's default
// echo) proves nothing: no undo, F-RTO off (nothing new to send), the next
// lost segment goes.
TEST_F(TcpFrtoTest, AckEchoingTheRetransmissionDoesNotUndo) {
  write_segments(3);
  until_rto();
  tsval += 1;
  auto out = send(seg(kAck, {}, kMss));
  EXPECT_EQ(d.counter("TcpExt.TCPLossUndo"), 0u);
  EXPECT_EQ(tp()->frto, 0);
  ASSERT_GE(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1 + kMss);
}

// tcp_try_undo_loss by timestamps: the ACK of the head echoes the original
// transmission's TSval, older than the retransmission: the RTO is undone
// (TCPLossUndo), without F-RTO's TCPSpuriousRTOs.
TEST_F(TcpFrtoTest, AckEchoingTheOriginalTsvalUndoesTheRto) {
  write_segments(3);
  until_rto();
  tsval += 1;
  dut_ts = first_tsval;
  send(seg(kAck, {}, kMss));
  EXPECT_EQ(d.counter("TcpExt.TCPLossUndo"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPSpuriousRTOs"), 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
}

// tcp_try_undo_recovery: a fast retransmit whose original arrived after all
// (the ACK of everything echoes its TSval): TCPFullUndo, cwnd restored.
TEST_F(TcpFrtoTest, FastRetransmitUndoneByTimestamps) {
  write_segments(5);
  d.stack.advance(2'000'000);
  tsval += 2;
  ASSERT_EQ(send(sack_seg(0, {{kMss, 4 * kMss}})).size(), 1u);  // the head again
  ASSERT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  const uint32_t prior_cwnd = tp()->prior_cwnd;
  tsval += 1;
  dut_ts = first_tsval;
  send(seg(kAck, {}, 5 * kMss));
  EXPECT_EQ(d.counter("TcpExt.TCPFullUndo"), 1u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Open);
  EXPECT_GE(tp()->snd_cwnd, prior_cwnd);
}

// tcp_try_undo_partial: a partial ACK echoing the original says the hole
// was reordering (TCPTSReorder); with no retransmission left out it is undone
// (TCPPartialUndo).
TEST_F(TcpFrtoTest, PartialAckEchoingTheOriginalIsReordering) {
  write_segments(5);
  d.stack.advance(2'000'000);
  tsval += 2;
  ASSERT_EQ(send(sack_seg(0, {{2 * kMss, 5 * kMss}})).size(), 2u);  // both holes again
  ASSERT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
  tsval += 1;
  dut_ts = first_tsval;
  send(sack_seg(kMss, {{2 * kMss, 5 * kMss}}));
  EXPECT_EQ(d.counter("TcpExt.TCPTSReorder"), 1u);
  EXPECT_EQ(tp()->reord_seen, 1u);
  // The second hole's retransmission is still out: no undo yet.
  EXPECT_EQ(d.counter("TcpExt.TCPPartialUndo"), 0u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Recovery);
}

}  // namespace
}  // namespace nettwin::test
