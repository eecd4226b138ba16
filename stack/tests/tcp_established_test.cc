// The established data path (tcp_rcv_established, tcp_data_queue, tcp_ack,
// delayed and quick ACKs, tcp_recvmsg, tcp_sendmsg with Nagle, the RTO) against
// what Linux 6.18's tcp_input.c / tcp_output.c / tcp.c do.
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_cubic.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_timer.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

const std::string kData = "nettwin tcp data 0123456789abcdef";  // 33 bytes, as the recordings send
Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// tcp_cwnd_test: at most half the cwnd at once, so that two GSO packets are in
// flight: a 10-segment write with the initial cwnd of 10 leaves as two 5-segment
// skbs (explore seed 1796620267 #316: Linux's 2680 + 320 bytes at MSS 536).
TEST_F(TcpConnTest, AWriteOfTheWholeCwndLeavesAsTwoHalves) {
  ASSERT_EQ(write(std::string(10 * 1448, 'x')), 10 * 1448);
  auto q = d.named("net:net_dev_queue");
  ASSERT_EQ(q.size(), 2u);
  const int half = 14 + 20 + 32 + 5 * 1448;  // Ethernet, IP, TCP with timestamps, 5 MSS
  EXPECT_EQ(d.field(*q[0], "len"), std::to_string(half));
  EXPECT_EQ(d.field(*q[1], "len"), std::to_string(half));
}

// MSG_OOB: tcp_mark_urg sets snd_up to the end of the data, and every segment
// below it carries URG and the pointer to it (__tcp_transmit_skb) until the
// ACK of it ends urgent mode (tcp_clean_rtx_queue).
TEST_F(TcpConnTest, UrgentDataCarriesUrgAndThePointerUntilAcked) {
  ASSERT_EQ(write("abc", MSG_OOB_), 3);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  SentTcp u(out[0]);
  EXPECT_EQ(u.flags(), kAck | kPsh | TCPHDR_URG);
  EXPECT_EQ(be16(out[0], 14 + 20 + 18), 3u);  // urg_ptr: snd_up - seq
  EXPECT_EQ(tp()->snd_up, isn + 1 + 3);
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 3)).empty());
  EXPECT_EQ(tp()->snd_up, tp()->snd_una);
  ASSERT_EQ(write("d"), 1);
  out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck | kPsh);
  EXPECT_EQ(be16(out[0], 14 + 20 + 18), 0u);
}

// A MSG_OOB send of more than one MSS: tcp_sendmsg_locked pushes nothing
// mid-loop for MSG_OOB, so tcp_push's snd_up covers every segment; the MSS-sized
// skbs are rejoined by tcp_grow_skb (skb_shift takes all of the next skb) and
// cut at the MSS again (Linux's 524 + 476 in traces/explore_tcp_urg_send).
TEST_F(TcpConnTest, UrgentSendOfThreeSegmentsMarksThemAll) {
  const uint32_t mss = tp()->mss_cache;
  const uint32_t len = 2 * mss + 100;
  ASSERT_EQ(write(std::string(len, 'u'), MSG_OOB_), int(len));
  auto out = wire();
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < out.size(); i++) {
    SentTcp s(out[i]);
    EXPECT_EQ(s.seq(), isn + 1 + i * mss);
    EXPECT_EQ(s.flags(), kAck | TCPHDR_URG | (i == 2 ? kPsh : 0));
    EXPECT_EQ(be16(out[i], 14 + 20 + 18), len - i * mss);  // urg_ptr: snd_up - seq
  }
  EXPECT_EQ(tp()->snd_nxt, isn + 1 + len);
}

// Urgent data received without SO_OOBINLINE (tcp_check_urg, tcp_urg,
// tcp_recvmsg, tcp_recv_urg, tcp_poll): the pointer 3 of "abc" marks 'c' (the
// byte before it, tcp_stdurg 0); reads stop at the mark and skip the byte,
// which recv(MSG_OOB) returns once; POLLPRI while it waits.
TEST_F(TcpConnTest, UrgentByteLeavesTheStreamForRecvOob) {
  TcpSeg s = seg(kAck | kPsh | TCPHDR_URG, bytes("abcde"));
  s.urg_ptr = 3;
  send(s);
  EXPECT_EQ(tp()->urg_seq, peer_isn + 1 + 2);
  EXPECT_EQ(tp()->urg_data, TCP_URG_VALID | 'c');
  EXPECT_EQ(unsigned(sys_poll(net, cfd, POLLPRI_, 0)), unsigned(POLLPRI_));
  RecvMsg m;
  ASSERT_EQ(read(m, 10), 2);  // "ab": the read stops at the mark
  EXPECT_EQ(std::string(m.data.begin(), m.data.end()), "ab");
  RecvMsg oob;
  ASSERT_EQ(read(oob, 1, MSG_OOB_ | MSG_DONTWAIT_), 1);
  EXPECT_EQ(oob.data, Bytes{'c'});
  EXPECT_TRUE(oob.flags & MSG_OOB_);
  EXPECT_EQ(read(oob, 1, MSG_OOB_ | MSG_DONTWAIT_), -E_INVAL);  // TCP_URG_READ
  RecvMsg rest;
  ASSERT_EQ(read(rest, 10), 2);  // 'c' is skipped
  EXPECT_EQ(std::string(rest.data.begin(), rest.data.end()), "de");
  EXPECT_EQ(tp()->urg_data, 0);  // read past: the fast path may come back
}

TEST_F(TcpConnTest, HandshakeAckGivesTheFirstRttSampleFromTheSynAck) {
  // tcp_synack_rtt_meas: from the SYN-ACK's send time (0.1 ms of the fixture's
  // step, then 1 ms) to the ACK; mdev 2 * rtt, rttvar at least TCP_RTO_MIN,
  // so rto = usecs_to_jiffies(1100 + 200000).
  EXPECT_EQ(state(), TCP_ESTABLISHED);
  EXPECT_EQ(tp()->srtt_us, 1100u << 3);
  EXPECT_EQ(tp()->mdev_us, 2200u);
  EXPECT_EQ(tp()->rtt_min_us, 1100u);
  EXPECT_EQ(tp()->rttvar_us, 200'000u);
  EXPECT_EQ(tp()->icsk_rto, 51u);
  EXPECT_EQ(tp()->snd_cwnd, 10u);
  EXPECT_EQ(tp()->icsk_ack.rcv_mss, 536u);  // tcp_initialize_rcv_mss: at most TCP_MSS_DEFAULT
  EXPECT_EQ(tp()->tcp_header_len, 32u);
}

TEST_F(TcpConnTest, FirstDataIsAckedAtOnceInQuickAckModeAndRead) {
  auto out = send(seg(kAck | kPsh, bytes(kData)));
  ASSERT_EQ(out.size(), 1u);
  SentTcp a(out[0]);
  EXPECT_EQ(a.flags(), kAck);
  EXPECT_EQ(a.ack(), peer_isn + 1 + 33);
  EXPECT_EQ(a.window(), 64);  // ALIGN(65160, 1 << 10) >> 10
  EXPECT_TRUE(a.csum_ok());
  EXPECT_EQ(tp()->icsk_ack.ato, TCP_ATO_MIN);
  EXPECT_EQ(tp()->icsk_ack.quick, 16 - 1);  // TCP_MAX_QUICKACKS, one used
  RecvMsg m;
  ASSERT_EQ(read(m, 100), 33);
  EXPECT_EQ(std::string(m.data.begin(), m.data.end()), kData);
  EXPECT_EQ(read(m, 100), -E_AGAIN);
}

TEST_F(TcpConnTest, PeekLeavesTheDataAndTruncDiscardsIt) {
  send(seg(kAck | kPsh, bytes(kData)));
  RecvMsg m;
  ASSERT_EQ(read(m, 7, MSG_DONTWAIT_ | MSG_PEEK_), 7);
  EXPECT_EQ(std::string(m.data.begin(), m.data.end()), "nettwin");
  ASSERT_EQ(read(m, 8, MSG_DONTWAIT_ | MSG_TRUNC_), 8);
  EXPECT_TRUE(m.data.empty());
  ASSERT_EQ(read(m, 100), 25);
  EXPECT_EQ(std::string(m.data.begin(), m.data.end()), kData.substr(8));
}

TEST_F(TcpConnTest, WaitAllWaitsForTheRestOnTheVirtualClock) {
  send(seg(kAck | kPsh, bytes(kData)));
  snd += 33;
  // The rest arrives 5 ms later, while the reader waits.
  const Bytes frame = tcp_frame(seg(kAck | kPsh, bytes("xyz")));
  d.stack.net().engine.add_timer(d.stack.net().engine.now() + 5'000'000, [&] { d.inject(frame); });
  RecvMsg m;
  ASSERT_EQ(read(m, 36, MSG_WAITALL_), 36);
  EXPECT_EQ(std::string(m.data.begin() + 33, m.data.end()), "xyz");
}

TEST_F(TcpConnTest, RetransmittedDataIsDroppedAsOldDataWithAnImmediateDsack) {
  send(seg(kAck | kPsh, bytes(kData)));
  auto out = send(seg(kAck | kPsh, bytes(kData)));  // the same again
  ASSERT_EQ(out.size(), 1u);
  SentTcp a(out[0]);
  EXPECT_EQ(a.ack(), peer_isn + 1 + 33);
  // NOP NOP TS, then NOP NOP SACK(10) with the duplicate range.
  const Bytes o = a.options();
  ASSERT_EQ(o.size(), 24u);
  EXPECT_EQ(o[14], 5);
  EXPECT_EQ(o[15], 10);
  EXPECT_EQ(be32(o, 16), peer_isn + 1);
  EXPECT_EQ(be32(o, 20), peer_isn + 1 + 33);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_OLD_DATA");
  EXPECT_EQ(d.field(*drops[0], "location"), "tcp_data_queue");
}

TEST_F(TcpConnTest, OutOfOrderDataWaitsAndIsSackedUntilTheGapFills) {
  snd = 10;
  auto out = send(seg(kAck | kPsh, bytes("0123456789")));
  ASSERT_EQ(out.size(), 1u);
  SentTcp a(out[0]);
  EXPECT_EQ(a.ack(), peer_isn + 1);  // still waiting for the first 10
  const Bytes o = a.options();
  ASSERT_EQ(o.size(), 24u);  // TS and one SACK block
  EXPECT_EQ(be32(o, 16), peer_isn + 11);
  EXPECT_EQ(be32(o, 20), peer_isn + 21);
  RecvMsg m;
  EXPECT_EQ(read(m, 100), -E_AGAIN);
  snd = 0;
  out = send(seg(kAck | kPsh, bytes("abcdefghij")));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).ack(), peer_isn + 21);
  EXPECT_EQ(SentTcp(out[0]).options().size(), 12u);  // no SACK left
  ASSERT_EQ(read(m, 100), 20);
  EXPECT_EQ(std::string(m.data.begin(), m.data.end()), "abcdefghij0123456789");
}

TEST_F(TcpConnTest, SegmentBeyondTheWindowGetsADupAckAndIsDroppedInvalidSequence) {
  snd = 70000;  // past rcv_nxt + 65536
  auto out = send(seg(kAck | kPsh, bytes("x")));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).ack(), peer_isn + 1);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_INVALID_SEQUENCE");
  EXPECT_EQ(d.field(*drops[0], "location"), "tcp_validate_incoming");
}

TEST_F(TcpConnTest, DataSentIsAckedAndLeavesTheRetransmitQueue) {
  ASSERT_EQ(write(kData), 33);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  SentTcp t(out[0]);
  EXPECT_EQ(t.flags(), kAck | kPsh);
  EXPECT_EQ(t.seq(), isn + 1);
  EXPECT_EQ(payload(out[0]), bytes(kData));
  EXPECT_EQ(tp()->packets_out, 1u);
  EXPECT_EQ(tp()->tcp_rtx_queue.qlen, 1u);
  EXPECT_GT(tp()->sk_wmem_queued, 0);
  tsval += 2;
  d.stack.advance(2'000'000);
  EXPECT_TRUE(send(seg(kAck, {}, 33)).empty());
  EXPECT_EQ(tp()->snd_una, isn + 1 + 33);
  EXPECT_EQ(tp()->packets_out, 0u);
  EXPECT_EQ(tp()->tcp_rtx_queue.qlen, 0u);
  EXPECT_EQ(tp()->sk_wmem_queued, 0);
}

TEST_F(TcpConnTest, NagleHoldsASecondSmallWriteUntilTheAck) {
  ASSERT_EQ(write("aaaaaaaaaa"), 10);
  ASSERT_EQ(write("bbbbbbbbbb"), 10);
  ASSERT_EQ(write("cccccccccc"), 10);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);  // tcp_nagle_check: a small segment is out
  EXPECT_EQ(payload(out[0]).size(), 10u);
  out = send(seg(kAck, {}, 10));
  ASSERT_EQ(out.size(), 1u);  // the ACK lets the two coalesced writes go
  EXPECT_EQ(payload(out[0]), bytes("bbbbbbbbbbcccccccccc"));
}

TEST_F(TcpConnTest, WithNagleOffEverySmallWriteGoesAtOnce) {
  tp()->nonagle = TCP_NAGLE_OFF;  // what TCP_NODELAY sets
  ASSERT_EQ(write("aaaaaaaaaa"), 10);
  ASSERT_EQ(write("bbbbbbbbbb"), 10);
  EXPECT_EQ(wire().size(), 2u);
}

TEST_F(TcpConnTest, AWriteLargerThanTheMssGoesAsMssSizedSegments) {
  const std::string big(3000, 'z');
  ASSERT_EQ(write(big), 3000);
  auto out = wire();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(payload(out[0]).size(), 1448u);  // 1460 less the timestamp option
  EXPECT_EQ(payload(out[1]).size(), 1448u);
  EXPECT_EQ(payload(out[2]).size(), 104u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);          // PSH only on the last one
  EXPECT_EQ(SentTcp(out[2]).flags(), kAck | kPsh);
}

TEST_F(TcpConnTest, UnackedDataIsProbedThenRetransmittedWithBackoff) {
  ASSERT_EQ(write(kData), 33);
  ASSERT_EQ(wire().size(), 1u);
  // The tail loss probe after 2*RTT + TCP_RTO_MIN (51 jiffies), then the RTO
  // (51 jiffies again, from the probe), then twice that.
  d.stack.advance(210'000'000);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(payload(out[0]), bytes(kData));
  d.stack.advance(210'000'000);
  ASSERT_EQ(wire().size(), 1u);
  EXPECT_EQ(tp()->icsk_rto, 102u);
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Loss);
  d.stack.advance(380'000'000);
  EXPECT_TRUE(wire().empty());
  d.stack.advance(40'000'000);
  ASSERT_EQ(wire().size(), 1u);
  auto rt = d.named("tcp:tcp_retransmit_skb");
  ASSERT_EQ(rt.size(), 3u);
  EXPECT_EQ(d.field(*rt[0], "state"), "TCP_ESTABLISHED");
  EXPECT_EQ(d.field(*rt[0], "err"), "0");
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 3u);
}

TEST_F(TcpConnTest, PollSaysWritableAfterTheHandshakeAndReadableWithData) {
  EXPECT_EQ(unsigned(sys_poll(net, cfd, POLLIN_ | POLLOUT_, 0)), POLLOUT_);
  send(seg(kAck | kPsh, bytes(kData)));
  EXPECT_EQ(unsigned(sys_poll(net, cfd, POLLIN_ | POLLOUT_, 0)), POLLIN_ | POLLOUT_);
}

TEST_F(TcpConnTest, RecvOnAListenerIsNotConnected) {
  RecvMsg m;
  m.len = 10;
  EXPECT_EQ(sys_recvmsg(net, lfd, m, MSG_DONTWAIT_, 0), -E_NOTCONN);
}

TEST_F(TcpConnTest, SendOnAnUnconnectedSocketIsEpipe) {
  const int fd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
  SendMsg m;
  const uint8_t b[1] = {1};
  m.data = b;
  EXPECT_EQ(sys_sendmsg(net, fd, m), -E_PIPE);
  m.flags = MSG_NOSIGNAL_;  // the same errno; only the signal is spared
  EXPECT_EQ(sys_sendmsg(net, fd, m), -E_PIPE);
}

TEST_F(TcpConnTest, ASendBufferFullAnswersEagainWithDontwait) {
  tp()->snd_wnd = 0;  // the peer's window closed: nothing leaves
  const std::string chunk(16384, 'q');
  int total = 0, r = 0;
  while ((r = write(chunk, MSG_DONTWAIT_)) > 0) total += r;
  EXPECT_EQ(r, -E_AGAIN);
  EXPECT_GE(tp()->sk_wmem_queued, net.sock.files.at(cfd)->sk->sk_sndbuf);
  EXPECT_GT(total, 0);
}

}  // namespace
}  // namespace nettwin::test

namespace nettwin::test {
namespace {

// tcp_slow_start_after_idle (RFC 2861, tcp_cwnd_restart): a sender idle for
// longer than an RTO starts again from a cwnd halved per idle RTO, down to the
// initial window; with the sysctl 0 it keeps the window it had.
void grow_cwnd_then_idle(TcpConnTest& t) {
  ASSERT_EQ(t.write(std::string(10 * 1448, 'g')), 10 * 1448);
  t.wire();
  t.send(t.seg(kAck, {}, 10 * 1448));          // all acked: nothing in flight
  ASSERT_EQ(t.tp()->packets_out, 0u);
  t.tp()->snd_cwnd = 20;                        // a window the connection grew to
  for (int i = 0; i < 30; ++i) {                // 3 s idle, the tester's ARP keeps it reachable
    t.d.inject(arp_request(kTesterIp, kDutIp));
    t.d.stack.advance(100'000'000);
  }
  t.wire();
}

TEST_F(TcpConnTest, AfterIdleTheFirstWriteStartsFromTheInitialWindow) {
  grow_cwnd_then_idle(*this);
  ASSERT_EQ(write("after idle"), 10);
  EXPECT_EQ(tp()->snd_cwnd, 10u);  // 20 halved per idle RTO, not below 10
  // tcp_cwnd_restart cleared it; tcp_cwnd_validate then notes the one segment
  // the write put in flight (the network starves: not cwnd-limited).
  EXPECT_EQ(tp()->snd_cwnd_used, 1u);
}

// tcp_cwnd_validate: a full window in flight is cwnd-limited, so its ACK grows
// slow start (10 + 10); the next window carries one segment, is not limited,
// and cwnd (20, at least twice the most in flight) stays put when it is acked.
TEST_F(TcpConnTest, SlowStartGrowsOnlyWhileTheWindowIsUsed) {
  ASSERT_EQ(write(std::string(10 * 1448, 'f')), 10 * 1448);
  ASSERT_EQ(wire().size(), 10u);
  EXPECT_TRUE(tp()->is_cwnd_limited);
  tsval += 1;
  send(seg(kAck, {}, 10 * 1448));
  EXPECT_EQ(tp()->snd_cwnd, 20u);
  ASSERT_EQ(write(std::string(1448, 'o')), 1448);
  ASSERT_EQ(wire().size(), 1u);
  EXPECT_FALSE(tp()->is_cwnd_limited);
  EXPECT_EQ(tp()->max_packets_out, 1u);
  tsval += 1;
  send(seg(kAck, {}, 11 * 1448));
  EXPECT_EQ(tp()->snd_cwnd, 20u);
}

// CUBIC's HyStart gets a delay sample from every ACK (pkts_acked at the end
// of tcp_clean_rtx_queue, the last acked segment's RTT): a round of 20 acked
// 10 ms after they left, against delay_min ~1 ms, ends slow start at the 9th
// sample with ssthresh = cwnd = 28 (the recording tcp_hystart_delay).
TEST_F(TcpConnTest, HyStartEndsSlowStartWhenTheRoundTripTimeRises) {
  ASSERT_EQ(sys_setsockopt(net, cfd, SOL_SOCKET_, SO_SNDBUF_, 212992, 4), 0);
  ASSERT_EQ(write(std::string(80 * 1448, 'h')), 80 * 1448);
  ASSERT_EQ(wire().size(), 10u);
  d.stack.advance(1'000'000);
  tsval += 1;
  ASSERT_EQ(send(seg(kAck, {}, 10 * 1448)).size(), 20u);
  EXPECT_EQ(tp()->snd_cwnd, 20u);
  d.stack.advance(10'000'000);
  tsval += 10;
  for (uint32_t k = 11; k <= 30; ++k) send(seg(kAck, {}, k * 1448));
  EXPECT_EQ(tp()->snd_ssthresh, 28u);
  EXPECT_EQ(d.counter("TcpExt.TCPHystartDelayDetect"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPHystartDelayCwnd"), 28u);
  EXPECT_EQ(d.counter("TcpExt.TCPHystartTrainDetect"), 0u);
}

// tcp_clean_rtx_queue's ca_rtt_us, CUBIC's sample, is the RTT of the last
// segment a cumulative ACK covers (last_ackt), not of the first.
TEST_F(TcpConnTest, TheCongestionControlSampleIsTheLastAckedSegmentsRtt) {
  ASSERT_EQ(write(std::string(1448, 'a')), 1448);
  d.stack.advance(5'000'000);
  ASSERT_EQ(write(std::string(1448, 'b')), 1448);
  ASSERT_EQ(wire().size(), 2u);
  d.stack.advance(1'000'000);
  tsval += 6;
  send(seg(kAck, {}, 2 * 1448));
  const uint32_t delay_min = inet_csk_ca<Bictcp>(tp())->delay_min;
  EXPECT_GE(delay_min, 1'000u);
  EXPECT_LT(delay_min, 2'000u);  // the first segment's RTT was 6 ms
}

TEST_F(TcpConnTest, WithSlowStartAfterIdleOffTheWindowIsKept) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_slow_start_after_idle", "0").has_value());
  grow_cwnd_then_idle(*this);
  ASSERT_EQ(write("after idle"), 10);
  EXPECT_EQ(tp()->snd_cwnd, 20u);
}

}  // namespace
}  // namespace nettwin::test
