// The SYN queue under load, as Linux 6.18 runs it: the request sock's SYN-ACK
// retransmit timer (reqsk_timer_handler, tcp_synack_retries), SYN cookies when
// the SYN queue is full or tcp_syncookies is 2 (tcp_conn_request,
// tcp_syn_flood_action, cookie_v4_check), and the accept queue's overflow.
#include <gtest/gtest.h>

#include "core/net.h"
#include "ipv4/syncookies.h"
#include "ipv4/tcp_sock.h"
#include "socket/sock_diag.h"
#include "socket/syscalls.h"
#include "tcp_test_helpers.h"

namespace nettwin::test {
namespace {

struct TcpSynQueueTest : TcpDutTest {
  TcpSynQueueTest() { tcp_only = true; }
  int lfd = -1;
  void SetUp() override {
    TcpDutTest::SetUp();
    d.trace();
  }
  void listen(int backlog) {
    lfd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
    SockaddrIn a;
    a.port = 80;
    ASSERT_EQ(sys_bind(net, lfd, a, SOCKADDR_IN_LEN), 0);
    ASSERT_EQ(sys_listen(net, lfd, backlog), 0);
  }
  TcpSock* listener() { return tcp_sk(net.sock.tcp_listeners.at(0)); }
  TcpSeg syn(uint16_t sport, uint32_t tsval = 1000) {
    TcpSeg s;
    s.sport = sport;
    s.seq = 7000;
    s.options = linux_syn_options(tsval);
    return s;
  }
  TcpSeg ack_of(const Bytes& synack, uint16_t sport) {
    SentTcp sa(synack);
    TcpSeg a;
    a.sport = sport;
    a.flags = kAck;
    a.seq = 7001;
    a.ack = sa.seq() + 1;
    a.window = 502;
    const Bytes o = sa.options();
    const uint32_t tsval = be32(o, 8);  // MSS, SACK_PERM+TS: TSval at 8
    a.options = {1, 1, 8, 10, 0, 0, 0x10, 0, uint8_t(tsval >> 24), uint8_t(tsval >> 16), uint8_t(tsval >> 8),
                 uint8_t(tsval)};
    return a;
  }
};

// ---- the SYN-ACK retransmit timer

TEST_F(TcpSynQueueTest, TheSynAckIsRetransmittedWithBackoffThenTheRequestDropped) {
  listen(8);
  const uint64_t t0 = d.stack.now_ns();
  ASSERT_EQ(send(syn(40000)).size(), 1u);
  ASSERT_EQ(listener()->reqsk_queue.size(), 1u);
  // Timeouts 1, 2, 4, 8, 16 s (tcp_synack_retries 5): five retransmissions,
  // each within its wheel level's granularity; at 32 s more the request goes.
  std::vector<uint64_t> sent_at;
  for (int i = 0; i < 70 * 100; ++i) {
    // The tester never answers ARP: its requests keep our neighbour entry usable.
    if (i % 50 == 0) d.inject(arp_request(kTesterIp, kDutIp));
    d.stack.advance(10'000'000);
    for (auto& f : take()) {
      EXPECT_EQ(SentTcp(f).flags(), kSyn | kAck);
      sent_at.push_back(d.stack.now_ns() - t0);
    }
  }
  ASSERT_EQ(sent_at.size(), 5u);
  const uint64_t due_s[] = {1, 3, 7, 15, 31};
  const uint64_t gran_ms[] = {32, 32, 256, 256, 256};  // wheel levels 1, 1, 2, 2, 2
  for (int i = 0; i < 5; ++i) {
    EXPECT_GE(sent_at[i] + 20'000'000, due_s[i] * 1'000'000'000ull) << i;
    EXPECT_LE(sent_at[i], due_s[i] * 1'000'000'000ull + (gran_ms[i] + 20) * 1'000'000ull * (i + 1)) << i;
  }
  EXPECT_TRUE(listener()->reqsk_queue.empty());
  EXPECT_EQ(d.named("tcp:tcp_retransmit_synack").size(), 5u);
  EXPECT_EQ(d.field(*d.named("tcp:tcp_retransmit_synack")[0], "sport"), "80");
  EXPECT_EQ(d.field(*d.named("tcp:tcp_retransmit_synack")[0], "daddr"), "198.51.100.1");
  EXPECT_EQ(d.counter("TcpExt.TCPSynRetrans"), 5u);
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 5u);
  EXPECT_EQ(d.counter("TcpExt.TCPTimeouts"), 6u);
}

TEST_F(TcpSynQueueTest, SsListsARequestAsSynRecvWithItsSynAckTimer) {
  listen(8);
  ASSERT_EQ(send(syn(40000)).size(), 1u);
  d.inject(arp_request(kTesterIp, kDutIp));
  d.stack.advance(1'100'000'000);  // the first retransmission, the next due 2 s later
  ASSERT_EQ(take().size(), 1u);
  const auto all = sock_diag_dump(net);
  auto it = std::find_if(all.begin(), all.end(), [](const SockDiag& s) { return s.sk_state == TCP_SYN_RECV; });
  ASSERT_NE(it, all.end());
  EXPECT_EQ(it->local, "198.51.100.2:80");
  EXPECT_EQ(it->peer, "198.51.100.1:40000");
  EXPECT_EQ(it->timer, SS_TIMER_ON);
  EXPECT_EQ(it->retrans, 1u);
  EXPECT_GT(it->timer_expires_ms, 1'800u);
  EXPECT_LE(it->timer_expires_ms, 2'000u);
}

TEST_F(TcpSynQueueTest, TcpSynackRetriesZeroDropsTheRequestAtTheFirstTimeout) {
  net.sysctl.tcp_synack_retries = 0;
  listen(8);
  ASSERT_EQ(send(syn(40000)).size(), 1u);
  d.stack.advance(1'100'000'000);
  EXPECT_TRUE(take().empty());
  EXPECT_TRUE(listener()->reqsk_queue.empty());
}

TEST_F(TcpSynQueueTest, TheHandshakesAckStopsTheTimer) {
  listen(8);
  auto out = send(syn(40000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(send(ack_of(out[0], 40000)).empty());
  EXPECT_TRUE(listener()->reqsk_queue.empty());
  d.stack.advance(5'000'000'000);
  EXPECT_TRUE(take().empty());
  EXPECT_TRUE(d.named("tcp:tcp_retransmit_synack").empty());
}

TEST_F(TcpSynQueueTest, ARstInWindowKillsTheRequest) {
  listen(8);
  ASSERT_EQ(send(syn(40000)).size(), 1u);
  TcpSeg rst;
  rst.flags = kRst;
  rst.seq = 7001;
  EXPECT_TRUE(send(rst).empty());
  EXPECT_TRUE(listener()->reqsk_queue.empty());
  EXPECT_EQ(d.counter("TcpExt.EmbryonicRsts"), 1u);
  EXPECT_EQ(d.counter("Tcp.AttemptFails"), 1u);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_FALSE(drops.empty());
  EXPECT_EQ(d.field(*drops.back(), "location"), "tcp_v4_rcv");
  EXPECT_EQ(d.field(*drops.back(), "rx_sk"), "1");
  d.stack.advance(2'000'000'000);
  EXPECT_TRUE(take().empty());
}

// tcp_check_req (6.18): a RST in the window but past rcv_nxt is answered with
// a challenge ACK (RFC 5961 3.2) and the request lives on (recorded in
// traces/explore_tcp_synrecv_rst_in_window).
TEST_F(TcpSynQueueTest, ARstInWindowButNotAtRcvNxtDrawsAChallengeAck) {
  listen(8);
  auto out = send(syn(40000));
  ASSERT_EQ(out.size(), 1u);
  TcpSeg rst;
  rst.flags = kRst | kAck;
  rst.seq = 7002;
  rst.ack = SentTcp(out[0]).seq() + 1;
  auto ack = send(rst);
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(SentTcp(ack[0]).flags(), kAck);
  EXPECT_EQ(SentTcp(ack[0]).seq(), SentTcp(out[0]).seq() + 1);
  EXPECT_EQ(SentTcp(ack[0]).ack(), 7001u);
  EXPECT_EQ(listener()->reqsk_queue.size(), 1u);
  EXPECT_EQ(d.counter("Tcp.AttemptFails"), 0u);
  EXPECT_EQ(d.counter("TcpExt.EmbryonicRsts"), 0u);
  EXPECT_EQ(d.counter("TcpExt.TCPChallengeACK"), 1u);  // explore seed 2026120713 #282
  auto drops = d.named("skb:kfree_skb");
  ASSERT_FALSE(drops.empty());
  EXPECT_EQ(d.field(*drops.back(), "reason"), "NOT_SPECIFIED");
  // The handshake still completes.
  EXPECT_TRUE(send(ack_of(out[0], 40000)).empty());
  EXPECT_TRUE(listener()->reqsk_queue.empty());
}

// ---- SYN cookies

TEST_F(TcpSynQueueTest, SyncookiesTwoAnswersEverySynWithACookieAndKeepsNothing) {
  net.sysctl.tcp_syncookies = 2;
  listen(8);
  d.stack.advance(1'000'000'000);
  TcpSeg s = syn(40000);
  auto out = send(s);
  ASSERT_EQ(out.size(), 1u);
  SentTcp sa(out[0]);
  EXPECT_EQ(sa.flags(), kSyn | kAck);
  EXPECT_TRUE(listener()->reqsk_queue.empty());
  // The ISN is the cookie: it checks back to the MSS 1460 (msstab[3]).
  EXPECT_EQ(__cookie_v4_check(net, kTesterIp, kDutIp, 40000, 80, 7001, sa.seq()), 1460);
  // TSval - ts_off carries the SYN's options in its low 6 bits: wscale 7, SACK.
  const uint32_t ts_off = secure_tcp_ts_off(net, 1, kDutIp, kTesterIp);
  const uint32_t ts = be32(sa.options(), 8) - ts_off;
  EXPECT_EQ(ts & 0xf, 7u);
  EXPECT_EQ(ts & TS_OPT_SACK, TS_OPT_SACK);
  // Never ahead of the clock, at most 64 ms behind it.
  EXPECT_LE(ts, tcp_clock_ms_at(net, d.stack.now_ns()));
  EXPECT_GT(ts + 64, tcp_clock_ms_at(net, d.stack.now_ns()) - 1);
  EXPECT_EQ(d.counter("TcpExt.SyncookiesSent"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPReqQFullDoCookies"), 1u);
  // tcp_syncookies 2 makes no flood note.
  EXPECT_FALSE(listener()->synflood_warned);
  // No request, no timer: nothing more is sent.
  d.stack.advance(3'000'000'000);
  EXPECT_TRUE(take().empty());
}

TEST_F(TcpSynQueueTest, TheCookiesAckMakesAnEstablishedChildWithTheSynsOptions) {
  net.sysctl.tcp_syncookies = 2;
  listen(8);
  auto out = send(syn(40000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(send(ack_of(out[0], 40000)).empty());
  EXPECT_EQ(d.counter("TcpExt.SyncookiesRecv"), 1u);
  ASSERT_EQ(listener()->icsk_accept_queue.size(), 1u);
  TcpSock* c = tcp_sk(listener()->icsk_accept_queue[0].get());
  EXPECT_EQ(c->sk_state, TCP_ESTABLISHED);
  EXPECT_TRUE(c->rx_opt.tstamp_ok);
  EXPECT_TRUE(c->rx_opt.sack_ok);
  EXPECT_TRUE(c->rx_opt.wscale_ok);
  EXPECT_EQ(c->rx_opt.snd_wscale, 7);
  EXPECT_EQ(c->rx_opt.mss_clamp, 1460);
  EXPECT_EQ(c->snd_nxt, SentTcp(out[0]).seq() + 1);
  EXPECT_EQ(c->rcv_nxt, 7001u);
  // The window is redone from the cookie's MSS (no timestamp allowance).
  EXPECT_EQ(c->rcv_wnd, 64240u);
  auto states = d.named("sock:inet_sock_set_state");
  ASSERT_EQ(states.size(), 3u);  // CLOSE -> LISTEN first
  EXPECT_EQ(d.field(*states[1], "newstate"), "TCP_SYN_RECV");
  EXPECT_EQ(d.field(*states[2], "newstate"), "TCP_ESTABLISHED");
  EXPECT_EQ(d.counter("Tcp.PassiveOpens"), 1u);
}

TEST_F(TcpSynQueueTest, AForgedCookieIsResetByTheListener) {
  net.sysctl.tcp_syncookies = 2;
  listen(8);
  auto out = send(syn(40000));
  ASSERT_EQ(out.size(), 1u);
  TcpSeg a = ack_of(out[0], 40000);
  a.ack += 12345;
  auto rst = send(a);
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(SentTcp(rst[0]).flags(), kRst);
  EXPECT_EQ(d.counter("TcpExt.SyncookiesFailed"), 1u);
  EXPECT_TRUE(listener()->icsk_accept_queue.empty());
}

TEST_F(TcpSynQueueTest, AnAckWithoutARecentOverflowIsNotCheckedAsACookie) {
  listen(8);  // tcp_syncookies 1, no overflow ever
  TcpSeg a;
  a.flags = kAck;
  a.seq = 7001;
  a.ack = 12345;
  auto rst = send(a);
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(d.counter("TcpExt.SyncookiesFailed"), 0u);
}

TEST_F(TcpSynQueueTest, AFullSynQueueSendsCookiesOnceItOverflows) {
  listen(1);  // the SYN queue holds more than 1 only strictly: 2 requests
  ASSERT_EQ(send(syn(40000)).size(), 1u);
  ASSERT_EQ(send(syn(40001)).size(), 1u);
  EXPECT_EQ(listener()->reqsk_queue.size(), 2u);
  EXPECT_EQ(d.counter("TcpExt.SyncookiesSent"), 0u);
  auto out = send(syn(40002));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(listener()->reqsk_queue.size(), 2u);
  EXPECT_EQ(d.counter("TcpExt.SyncookiesSent"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPReqQFullDoCookies"), 1u);
  EXPECT_TRUE(listener()->synflood_warned);
  EXPECT_EQ(__cookie_v4_check(net, kTesterIp, kDutIp, 40002, 80, 7001, SentTcp(out[0]).seq()), 1460);
}

TEST_F(TcpSynQueueTest, WithoutCookiesAFullSynQueueDropsTheSyn) {
  net.sysctl.tcp_syncookies = 0;
  listen(1);
  ASSERT_EQ(send(syn(40000)).size(), 1u);
  ASSERT_EQ(send(syn(40001)).size(), 1u);
  EXPECT_TRUE(send(syn(40002)).empty());
  EXPECT_EQ(d.counter("TcpExt.TCPReqQFullDrop"), 1u);
  EXPECT_EQ(d.counter("TcpExt.ListenDrops"), 1u);
  auto consumed = d.named("skb:consume_skb");
  ASSERT_FALSE(consumed.empty());
  EXPECT_EQ(d.field(*consumed.back(), "location"), "tcp_rcv_state_process");
}

TEST_F(TcpSynQueueTest, WithoutCookiesTheLastQuarterOfTcpMaxSynBacklogIsKept) {
  net.sysctl.tcp_syncookies = 0;
  net.sysctl.tcp_max_syn_backlog = 4;
  listen(100);
  for (uint16_t p = 40000; p < 40004; ++p) ASSERT_EQ(send(syn(p)).size(), 1u) << p;
  // 4 - 4 < 4 >> 2: no peer is proven alive here, so the fifth SYN is dropped.
  EXPECT_TRUE(send(syn(40004)).empty());
  EXPECT_EQ(listener()->reqsk_queue.size(), 4u);
  EXPECT_EQ(d.counter("TcpExt.ListenDrops"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPReqQFullDrop"), 0u);
}

// ---- the accept queue

TEST_F(TcpSynQueueTest, AFullAcceptQueueDropsTheSynEvenWithCookies) {
  net.sysctl.tcp_syncookies = 0;
  listen(0);
  auto out = send(syn(40001));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(send(ack_of(out[0], 40001)).empty());
  EXPECT_EQ(listener()->icsk_accept_queue.size(), 1u);
  EXPECT_TRUE(send(syn(40002)).empty());
  EXPECT_EQ(d.counter("TcpExt.ListenOverflows"), 1u);
  EXPECT_EQ(d.counter("TcpExt.ListenDrops"), 1u);
  net.sysctl.tcp_syncookies = 2;
  EXPECT_TRUE(send(syn(40003)).empty());
  EXPECT_EQ(d.counter("TcpExt.ListenOverflows"), 2u);
}

TEST_F(TcpSynQueueTest, AnAckToAFullAcceptQueueIsDroppedAndTheRequestKept) {
  // Backlog 1: two requests fit; the third SYN comes once one became a child
  // (so the SYN queue is not full), and its ACK finds two children queued.
  listen(1);
  auto out1 = send(syn(40001));
  auto out2 = send(syn(40002));
  ASSERT_EQ(out1.size(), 1u);
  ASSERT_EQ(out2.size(), 1u);
  EXPECT_TRUE(send(ack_of(out1[0], 40001)).empty());
  auto out3 = send(syn(40003));
  ASSERT_EQ(out3.size(), 1u);
  EXPECT_EQ(d.counter("TcpExt.SyncookiesSent"), 0u);
  EXPECT_TRUE(send(ack_of(out2[0], 40002)).empty());
  EXPECT_TRUE(send(ack_of(out3[0], 40003)).empty());
  EXPECT_EQ(listener()->icsk_accept_queue.size(), 2u);
  ASSERT_EQ(listener()->reqsk_queue.size(), 1u);
  EXPECT_TRUE(listener()->reqsk_queue[0]->acked);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_FALSE(drops.empty());
  EXPECT_EQ(d.field(*drops.back(), "reason"), "TCP_LISTEN_OVERFLOW");
  EXPECT_EQ(d.counter("TcpExt.ListenOverflows"), 1u);
}

// ---- TCP_DEFER_ACCEPT (tcp_check_req, syn_ack_recalc)

TEST_F(TcpSynQueueTest, DeferAcceptDropsTheBareAckAndTheFirstDataMakesTheChild) {
  listen(8);
  ASSERT_EQ(sys_setsockopt(net, lfd, SOL_TCP_, TCP_DEFER_ACCEPT_, 5, 4), 0);
  auto out = send(syn(40000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(send(ack_of(out[0], 40000)).empty());
  EXPECT_EQ(d.counter("TcpExt.TCPDeferAcceptDrop"), 1u);
  ASSERT_EQ(listener()->reqsk_queue.size(), 1u);
  EXPECT_TRUE(listener()->reqsk_queue[0]->acked);
  EXPECT_EQ(sys_accept4(net, lfd, nullptr, SOCK_NONBLOCK_, 0), -E_AGAIN);
  // Data on the same ACK number: the request becomes a child with the data queued.
  TcpSeg data = ack_of(out[0], 40000);
  data.flags = kAck | kPsh;
  data.payload = {'h', 'i'};
  auto acked = send(data);
  EXPECT_TRUE(listener()->reqsk_queue.empty());
  const int cfd = sys_accept4(net, lfd, nullptr, SOCK_NONBLOCK_, 0);
  ASSERT_GE(cfd, 3);
  RecvMsg m;
  m.len = 10;
  ASSERT_EQ(sys_recvmsg(net, cfd, m, MSG_DONTWAIT_, 0), 2);
  EXPECT_EQ(m.data, (std::vector<uint8_t>{'h', 'i'}));
  EXPECT_EQ(d.counter("TcpExt.TCPDeferAcceptDrop"), 1u);
}

TEST_F(TcpSynQueueTest, DeferAcceptHoldsTheSynAckBackUntilTheDeferringsLastTimeout) {
  // 5 s of deferring are 3 SYN-ACK timeouts (1 + 2 + 4 s): after the bare ACK
  // nothing is resent at 1 s and 3 s; the SYN-ACK goes again at 7 s as a last
  // chance, and from then on a bare ACK completes the connection.
  listen(8);
  ASSERT_EQ(sys_setsockopt(net, lfd, SOL_TCP_, TCP_DEFER_ACCEPT_, 5, 4), 0);
  const uint64_t t0 = d.stack.now_ns();
  auto out = send(syn(40000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(send(ack_of(out[0], 40000)).empty());
  std::vector<uint64_t> sent_at;
  for (int i = 0; i < 800; ++i) {
    if (i % 50 == 0) d.inject(arp_request(kTesterIp, kDutIp));
    d.stack.advance(10'000'000);
    for (auto& f : take()) {
      EXPECT_EQ(SentTcp(f).flags(), kSyn | kAck);
      sent_at.push_back(d.stack.now_ns() - t0);
    }
  }
  ASSERT_EQ(sent_at.size(), 1u);
  EXPECT_GE(sent_at[0], 6'900'000'000ull);
  EXPECT_LE(sent_at[0], 7'600'000'000ull);
  EXPECT_TRUE(send(ack_of(out[0], 40000)).empty());
  EXPECT_EQ(d.counter("TcpExt.TCPDeferAcceptDrop"), 1u);
  EXPECT_GE(sys_accept4(net, lfd, nullptr, SOCK_NONBLOCK_, 0), 3);
}

TEST_F(TcpSynQueueTest, WithoutDeferAcceptTheBareAckMakesTheChild) {
  listen(8);
  auto out = send(syn(40000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(send(ack_of(out[0], 40000)).empty());
  EXPECT_EQ(d.counter("TcpExt.TCPDeferAcceptDrop"), 0u);
  EXPECT_GE(sys_accept4(net, lfd, nullptr, SOCK_NONBLOCK_, 0), 3);
}

}  // namespace
}  // namespace nettwin::test
