// Connection close as tcp.c / tcp_input.c do it: close() sends a FIN
// (FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT), the peer's FIN (CLOSE_WAIT ->
// LAST_ACK -> CLOSE), simultaneous close (CLOSING), shutdown, resets on
// close with unread data or SO_LINGER 0, and resets received (RFC 5961).
#include "ipv4/inet_timewait_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

std::vector<std::string> states(const Dut& d) {
  std::vector<std::string> out;
  for (const TraceEvent* e : d.named("sock:inet_sock_set_state"))
    out.push_back(d.field(*e, "oldstate") + ">" + d.field(*e, "newstate"));
  return out;
}

TEST_F(TcpConnTest, CloseSendsAFinAndTheAckOfItLeadsToFinWait2) {
  TcpSock* t = tp();
  ASSERT_EQ(sys_close(net, cfd), 0);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  SentTcp f(out[0]);
  EXPECT_EQ(f.flags(), kFin | kAck);
  EXPECT_EQ(f.seq(), isn + 1);
  EXPECT_EQ(t->sk_state, TCP_FIN_WAIT1);
  // The ACK of the FIN: FIN_WAIT2, then (orphaned, tcp_fin_timeout 60 s is
  // not above TCP_TIMEWAIT_LEN) tcp_time_wait takes over.
  EXPECT_TRUE(send(seg(kAck, {}, 1)).empty());
  EXPECT_EQ(states(d), (std::vector<std::string>{"TCP_ESTABLISHED>TCP_FIN_WAIT1", "TCP_FIN_WAIT1>TCP_FIN_WAIT2",
                                                 "TCP_FIN_WAIT2>TCP_CLOSE"}));
  EXPECT_EQ(d.named("tcp:tcp_destroy_sock").size(), 1u);
  // The 4-tuple is the TIME_WAIT sock's now, in its FIN_WAIT2 substate.
  ASSERT_EQ(net.sock.tcp_ehash.size(), 1u);
  EXPECT_EQ(net.sock.tcp_ehash.front()->sk_state, TCP_TIME_WAIT);
  EXPECT_EQ(inet_twsk(net.sock.tcp_ehash.front())->tw_substate, TCP_FIN_WAIT2);
}

TEST_F(TcpConnTest, FinAckAfterOurFinIsAckedAndTheQueuedFinPurged) {
  ASSERT_EQ(sys_close(net, cfd), 0);
  wire();
  auto out = send(seg(kFin | kAck, {}, 1));
  ASSERT_EQ(out.size(), 1u);  // tcp_fin in FIN_WAIT2: ACK, then TIME_WAIT
  SentTcp a(out[0]);
  EXPECT_EQ(a.flags(), kAck);
  EXPECT_EQ(a.ack(), peer_isn + 2);
  EXPECT_EQ(states(d).back(), "TCP_FIN_WAIT2>TCP_CLOSE");
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);  // the FIN skb left on the receive queue
  EXPECT_EQ(d.field(*drops[0], "location"), "sk_stream_kill_queues");
  EXPECT_EQ(d.field(*drops[0], "reason"), "QUEUE_PURGE");
}

TEST_F(TcpConnTest, PeerFinMovesToCloseWaitReadsEofAndCloseEndsInLastAck) {
  send(seg(kFin | kAck));
  EXPECT_EQ(state(), TCP_CLOSE_WAIT);
  EXPECT_EQ(tp()->icsk_ack.pingpong, 1);  // inet_csk_enter_pingpong_mode
  EXPECT_EQ(unsigned(sys_poll(net, cfd, POLLIN_ | POLLRDHUP_, 0)), POLLIN_ | POLLRDHUP_);
  // The FIN's ACK is delayed (ato 0: the next tick).
  d.stack.advance(10'000'000);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).ack(), peer_isn + 2);
  RecvMsg m;
  EXPECT_EQ(read(m, 100), 0);  // end of stream
  ASSERT_EQ(sys_close(net, cfd), 0);
  out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kFin | kAck);
  snd = 1;
  EXPECT_TRUE(send(seg(kAck, {}, 1)).empty());
  EXPECT_EQ(states(d), (std::vector<std::string>{"TCP_ESTABLISHED>TCP_CLOSE_WAIT", "TCP_CLOSE_WAIT>TCP_LAST_ACK",
                                                 "TCP_LAST_ACK>TCP_CLOSE"}));
  EXPECT_EQ(d.named("tcp:tcp_destroy_sock").size(), 1u);
}

TEST_F(TcpConnTest, FinCrossingOursIsSimultaneousCloseThroughClosing) {
  ASSERT_EQ(sys_close(net, cfd), 0);
  wire();
  auto out = send(seg(kFin | kAck));  // acks nothing of ours
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).ack(), peer_isn + 2);
  snd = 1;
  EXPECT_TRUE(send(seg(kAck, {}, 1)).empty());
  EXPECT_EQ(states(d), (std::vector<std::string>{"TCP_ESTABLISHED>TCP_FIN_WAIT1", "TCP_FIN_WAIT1>TCP_CLOSING",
                                                 "TCP_CLOSING>TCP_CLOSE"}));
}

// close() after shutdown(SHUT_WR) and the FIN's ACK: tcp_close_state sets
// FIN_WAIT2 again, traced as Linux traces it (FIN_WAIT2 -> FIN_WAIT2), before
// tcp_time_wait closes it (explore seed 1796620267 #326).
TEST_F(TcpConnTest, CloseInFinWait2TracesTheUnchangedStateFirst) {
  ASSERT_EQ(sys_shutdown(net, cfd, 1), 0);  // SHUT_WR
  ASSERT_EQ(wire().size(), 1u);
  EXPECT_TRUE(send(seg(kAck, {}, 1)).empty());
  ASSERT_EQ(state(), TCP_FIN_WAIT2);
  ASSERT_EQ(sys_close(net, cfd), 0);
  EXPECT_EQ(states(d), (std::vector<std::string>{"TCP_ESTABLISHED>TCP_FIN_WAIT1", "TCP_FIN_WAIT1>TCP_FIN_WAIT2",
                                                 "TCP_FIN_WAIT2>TCP_FIN_WAIT2", "TCP_FIN_WAIT2>TCP_CLOSE"}));
}

TEST_F(TcpConnTest, ShutdownWriteSendsAFinAndLaterWritesAreEpipe) {
  ASSERT_EQ(sys_shutdown(net, cfd, 1), 0);  // SHUT_WR
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kFin | kAck);
  EXPECT_EQ(state(), TCP_FIN_WAIT1);
  EXPECT_EQ(write("x"), -E_PIPE);
  // Reading still works.
  send(seg(kAck | kPsh, {'h', 'i'}, 1));
  RecvMsg m;
  EXPECT_EQ(read(m, 10), 2);
  EXPECT_EQ(state(), TCP_FIN_WAIT2);
}

TEST_F(TcpConnTest, ShutdownReadLeavesTheConnectionAndReadsReturnEof) {
  ASSERT_EQ(sys_shutdown(net, cfd, 0), 0);  // SHUT_RD: nothing on the wire
  EXPECT_TRUE(wire().empty());
  EXPECT_EQ(state(), TCP_ESTABLISHED);
  RecvMsg m;
  EXPECT_EQ(read(m, 10), 0);
}

TEST_F(TcpConnTest, CloseWithUnreadDataResetsTheConnection) {
  send(seg(kAck | kPsh, {'u', 'n', 'r', 'e', 'a', 'd'}));
  ASSERT_EQ(sys_close(net, cfd), 0);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  SentTcp r(out[0]);
  EXPECT_EQ(r.flags(), kRst | kAck);
  EXPECT_EQ(r.seq(), isn + 1);
  EXPECT_EQ(r.ack(), peer_isn + 7);
  auto rst = d.named("tcp:tcp_send_reset");
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(d.field(*rst[0], "reason"), "TCP_ABORT_ON_CLOSE");
  EXPECT_EQ(d.field(*rst[0], "state"), "TCP_CLOSE");
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 1u);
  EXPECT_EQ(d.counter("Tcp.EstabResets"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPAbortOnClose"), 1u);
}

TEST_F(TcpConnTest, LingerZeroCloseResetsInsteadOfFin) {
  Sock* sk = tp();
  sk->sock_linger = true;  // SO_LINGER {1, 0}
  sk->sk_lingertime = 0;
  ASSERT_EQ(sys_close(net, cfd), 0);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kRst | kAck);
  auto rst = d.named("tcp:tcp_send_reset");
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(d.field(*rst[0], "reason"), "TCP_STATE");  // tcp_disconnect
  EXPECT_EQ(d.counter("TcpExt.TCPAbortOnData"), 1u);
  // tcp_disconnect forgot the source address and the peer's port first.
  auto destroy = d.named("tcp:tcp_destroy_sock");
  ASSERT_EQ(destroy.size(), 1u);
  EXPECT_EQ(d.field(*destroy[0], "saddr"), "0.0.0.0");
  EXPECT_EQ(d.field(*destroy[0], "dport"), "0");
  // tcp_disconnect also restarts the congestion control in the Open state,
  // traced between the reset and the destruction (as Linux records it).
  auto ca = d.named("tcp:tcp_cong_state_set");
  ASSERT_EQ(ca.size(), 1u);
  EXPECT_EQ(d.field(*ca[0], "cong_state"), "0");
  EXPECT_EQ(d.field(*ca[0], "dport"), "0");
  EXPECT_LT(rst[0], ca[0]);
  EXPECT_LT(ca[0], destroy[0]);
}

// tcp_init_buffer_space's tcp_sndbuf_expand: the established socket's send
// buffer holds twice the initial window of worst-case skbs: MSS 1460 +
// MAX_TCP_HEADER 192 + the shared info 320, rounded up to 2048, + 256 for the
// sk_buff: 2 * 10 * 2304 = 46080 (SO_SNDBUF, as Linux 6.18 answers it here).
TEST_F(TcpConnTest, TheEstablishedSendBufferHoldsTwiceTheInitialWindow) {
  EXPECT_EQ(tp()->sk_sndbuf, 46080);
}

TEST_F(TcpConnTest, ExactResetClosesAndTheReaderSeesConnreset) {
  EXPECT_TRUE(send(seg(kRst)).empty());
  EXPECT_EQ(state(), TCP_CLOSE);
  EXPECT_EQ(d.named("tcp:tcp_receive_reset").size(), 1u);
  EXPECT_EQ(unsigned(sys_poll(net, cfd, POLLIN_ | POLLOUT_, 0)) & (POLLERR_ | POLLHUP_), POLLERR_ | POLLHUP_);
  RecvMsg m;
  EXPECT_EQ(read(m, 10), -E_CONNRESET);
  EXPECT_EQ(write("x"), -E_PIPE);  // the error was reported once
}

TEST_F(TcpConnTest, ResetInTheWindowButNotExactGetsAChallengeAck) {
  snd = 1000;
  auto out = send(seg(kRst));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);
  EXPECT_EQ(SentTcp(out[0]).ack(), peer_isn + 1);
  EXPECT_EQ(state(), TCP_ESTABLISHED);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_RESET");
  EXPECT_EQ(d.counter("TcpExt.TCPChallengeACK"), 1u);
  EXPECT_EQ(d.counter("Tcp.InErrs"), 0u);  // only a SYN's challenge counts as an input error
  // A second one within 500 ms is not answered (tcp_oow_rate_limited).
  EXPECT_TRUE(send(seg(kRst)).empty());
}

TEST_F(TcpConnTest, ResetOutsideTheWindowIsDroppedSilently) {
  snd = 100000;
  EXPECT_TRUE(send(seg(kRst)).empty());
  EXPECT_EQ(state(), TCP_ESTABLISHED);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_INVALID_SEQUENCE");
}

TEST_F(TcpConnTest, AckOfUnsentDataIsDroppedWithAChallengeAck) {
  auto out = send(seg(kAck | kPsh, {'d', 'a', 't', 'a'}, 1000));
  ASSERT_EQ(out.size(), 1u);
  SentTcp a(out[0]);
  EXPECT_EQ(a.flags(), kAck);
  EXPECT_EQ(a.seq(), isn + 1);
  EXPECT_EQ(a.ack(), peer_isn + 1);  // the data was not taken
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_ACK_UNSENT_DATA");
  EXPECT_EQ(d.counter("TcpExt.TCPChallengeACK"), 1u);
}

TEST_F(TcpConnTest, SynOnAnEstablishedConnectionGetsAChallengeAck) {
  auto out = send(seg(kSyn));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_INVALID_SYN");
}

TEST_F(TcpConnTest, DataAfterShutdownReadAndCloseIsAnsweredWithReset) {
  ASSERT_EQ(sys_close(net, cfd), 0);  // FIN_WAIT1, receive side shut
  wire();
  auto out = send(seg(kAck | kPsh, {'l', 'a', 't', 'e'}, 1));
  // FIN_WAIT1 -> FIN_WAIT2 on the ACK; data after close(): tcp_done (TCPAbortOnData),
  // and tcp_v4_do_rcv answers the segment with a reset from its ACK number.
  EXPECT_EQ(d.counter("TcpExt.TCPAbortOnData"), 1u);
  EXPECT_EQ(states(d).back(), "TCP_FIN_WAIT2>TCP_CLOSE");
  ASSERT_EQ(out.size(), 1u);
  SentTcp r(out[0]);
  EXPECT_EQ(r.flags(), kRst);
  EXPECT_EQ(r.seq(), isn + 2);
  auto rst = d.named("tcp:tcp_send_reset");
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(d.field(*rst[0], "reason"), "TCP_ABORT_ON_DATA");
}

// An orphan in FIN_WAIT2 waits tcp_fin_time for the peer's FIN: a TIME_WAIT
// sock for tcp_fin_timeout when that is at most TCP_TIMEWAIT_LEN; above it
// (TCP_LINGER2), the full socket first waits the excess on its keepalive timer.
// The tester's ARP requests keep the DUT's neighbour entry for it usable.
void wait_ms(TcpConnTest& t, int ms) {
  for (int i = 0; i < ms / 100; ++i) {
    if (i % 10 == 0) t.d.inject(arp_request(kTesterIp, kDutIp));
    t.d.stack.advance(100'000'000);
    t.d.stack.take_wire();
  }
}

TEST_F(TcpConnTest, FinTimeoutSysctlBoundsTheOrphansFinWait2) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_fin_timeout", "5").has_value());
  ASSERT_EQ(sys_close(net, cfd), 0);
  wire();
  EXPECT_TRUE(send(seg(kAck, {}, 1)).empty());
  ASSERT_EQ(net.sock.tcp_ehash.size(), 1u);
  EXPECT_EQ(inet_twsk(net.sock.tcp_ehash.front())->tw_substate, TCP_FIN_WAIT2);
  wait_ms(*this, 4000);
  EXPECT_EQ(net.sock.tcp_ehash.size(), 1u);
  wait_ms(*this, 2000);  // 5 s and the wheel's granularity
  EXPECT_TRUE(net.sock.tcp_ehash.empty());
  // The peer's late FIN finds no socket: a reset.
  auto out = send(seg(kFin | kAck, {}, 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(SentTcp(out[0]).flags() & kRst);
}

TEST_F(TcpConnTest, Linger2AboveTimewaitLenKeepsTheFullSocketInFinWait2First) {
  ASSERT_EQ(sys_setsockopt(net, cfd, SOL_TCP_, TCP_LINGER2_, 70, 4), 0);
  TcpSock* t = tp();
  ASSERT_EQ(sys_close(net, cfd), 0);
  wire();
  EXPECT_TRUE(send(seg(kAck, {}, 1)).empty());
  EXPECT_EQ(t->sk_state, TCP_FIN_WAIT2);  // not yet a TIME_WAIT sock
  EXPECT_TRUE(d.named("tcp:tcp_destroy_sock").empty());
  wait_ms(*this, 9000);
  EXPECT_EQ(t->sk_state, TCP_FIN_WAIT2);
  wait_ms(*this, 2000);  // the keepalive timer at 10 s: the rest as a tw sock
  ASSERT_EQ(net.sock.tcp_ehash.size(), 1u);
  EXPECT_EQ(net.sock.tcp_ehash.front()->sk_state, TCP_TIME_WAIT);
  EXPECT_EQ(inet_twsk(net.sock.tcp_ehash.front())->tw_substate, TCP_FIN_WAIT2);
  EXPECT_EQ(states(d).back(), "TCP_FIN_WAIT2>TCP_CLOSE");
  // The peer's FIN still gets its ACK from the tw sock.
  auto out = send(seg(kFin | kAck, {}, 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);
}

TEST_F(TcpConnTest, APeerFinWhileTheOrphanWaitsOnItsKeepaliveTimerEndsInTimeWait) {
  ASSERT_EQ(sys_setsockopt(net, cfd, SOL_TCP_, TCP_LINGER2_, 70, 4), 0);
  TcpSock* t = tp();
  ASSERT_EQ(sys_close(net, cfd), 0);
  wire();
  EXPECT_TRUE(send(seg(kAck, {}, 1)).empty());
  wait_ms(*this, 3000);
  ASSERT_EQ(t->sk_state, TCP_FIN_WAIT2);
  auto out = send(seg(kFin | kAck, {}, 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);
  ASSERT_EQ(net.sock.tcp_ehash.size(), 1u);
  EXPECT_EQ(inet_twsk(net.sock.tcp_ehash.front())->tw_substate, TCP_TIME_WAIT);
}

}  // namespace
}  // namespace nettwin::test
