// TIME_WAIT (inet_timewait_sock.c, tcp_minisocks.c tcp_time_wait and
// tcp_timewait_state_process, tcp_ipv4.c do_time_wait): an established child
// of a passive open is moved into TIME_WAIT by tcp_time_wait, as the close
// path does once both FINs are through; then FIN, SYN, RST and ACK segments
// get the answers Linux's tcp_timewait_state_process gives.
#include <gtest/gtest.h>

#include "core/net.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/inet_timewait_sock.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_sock.h"
#include "socket/sock_diag.h"
#include "socket/syscalls.h"
#include "tcp_test_helpers.h"

namespace nettwin::test {
namespace {

constexpr uint32_t kPeerIsn = 5000;
constexpr uint32_t kPeerTsval = 777;

struct TcpTimeWaitTest : TcpDutTest {
  TcpTimeWaitTest() { tcp_only = true; }
  int lfd = -1;
  uint32_t snt_isn = 0;
  TcpSock* child = nullptr;

  Bytes ts_opt(uint32_t tsval, uint32_t tsecr = 0) {
    return {1, 1, 8, 10, uint8_t(tsval >> 24), uint8_t(tsval >> 16), uint8_t(tsval >> 8), uint8_t(tsval),
            uint8_t(tsecr >> 24), uint8_t(tsecr >> 16), uint8_t(tsecr >> 8), uint8_t(tsecr)};
  }
  // A listener on port 80 (SO_REUSEADDR when reuse), a passive open from
  // 40000, and the child moved to TIME_WAIT after both FINs (each side's
  // FIN counted in rcv_nxt / snd_nxt).
  void time_wait(bool reuse = true, int state = TCP_TIME_WAIT, int timeo = 0) {
    lfd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
    if (reuse) {
      ASSERT_EQ(sys_setsockopt(net, lfd, SOL_SOCKET_, SO_REUSEADDR_, 1, 4), 0);
    }
    SockaddrIn a;
    a.port = 80;
    ASSERT_EQ(sys_bind(net, lfd, a, SOCKADDR_IN_LEN), 0);
    ASSERT_EQ(sys_listen(net, lfd, 8), 0);
    TcpSeg syn;
    syn.seq = kPeerIsn;
    syn.options = linux_syn_options(kPeerTsval);
    auto out = send(syn);
    ASSERT_EQ(out.size(), 1u);
    snt_isn = SentTcp(out[0]).seq();
    TcpSeg ack;
    ack.flags = kAck;
    ack.seq = kPeerIsn + 1;
    ack.ack = snt_isn + 1;
    ack.window = 502;
    ack.options = ts_opt(kPeerTsval + 1, 0);
    ASSERT_TRUE(send(ack).empty());
    ASSERT_EQ(net.sock.tcp_ehash.size(), 1u);
    child = tcp_sk(net.sock.tcp_ehash.front());
    ASSERT_EQ(child->sk_state, TCP_ESTABLISHED);
    child->rcv_nxt += state == TCP_TIME_WAIT;  // their FIN (none yet in FIN_WAIT2)
    child->snd_nxt += 1;                       // ours
    child->icsk_rto = uint32_t(HZ);            // TCP_TIMEOUT_INIT
    d.trace();
    tcp_time_wait(child, state, timeo);
  }
  InetTimewaitSock* tw() {
    for (Sock* sk : net.sock.tcp_ehash)
      if (sk->sk_state == TCP_TIME_WAIT) return inet_twsk(sk);
    return nullptr;
  }
  TcpSeg seg(uint8_t flags, uint32_t seq, uint32_t tsval = kPeerTsval + 10) {
    TcpSeg s;
    s.flags = flags;
    s.seq = seq;
    s.ack = snt_isn + 2;
    s.window = 502;
    s.options = ts_opt(tsval, 0);
    return s;
  }
  std::string last_drop_reason() {
    auto drops = d.named("skb:kfree_skb");
    return drops.empty() ? "" : d.field(*drops.back(), "reason");
  }
};

TEST_F(TcpTimeWaitTest, TheTwSockTakesTheSocketsPlaceInEhashAndBindBucket) {
  time_wait();
  InetTimewaitSock* t = tw();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(net.sock.tcp_ehash.size(), 1u);  // the full socket left it
  EXPECT_EQ(child->sk_state, TCP_CLOSE);
  EXPECT_EQ(t->tw_substate, TCP_TIME_WAIT);
  EXPECT_EQ(t->inet_num, 80);
  EXPECT_EQ(t->inet_dport, 40000);
  EXPECT_EQ(t->tw_rcv_nxt, kPeerIsn + 2);
  EXPECT_EQ(t->tw_snd_nxt, snt_isn + 2);
  EXPECT_EQ(t->tw_ts_recent, kPeerTsval + 1);  // the handshake's ACK's TSval
  const auto& owners = net.sock.tcp_bhash[80];
  EXPECT_NE(std::find(owners.begin(), owners.end(), static_cast<Sock*>(t)), owners.end());
  // Linux traces only the full socket's ESTABLISHED -> CLOSE; the tw sock has no state trace.
  auto states = d.named("sock:inet_sock_set_state");
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(d.field(*states[0], "oldstate"), "TCP_ESTABLISHED");
  EXPECT_EQ(d.field(*states[0], "newstate"), "TCP_CLOSE");
  EXPECT_EQ(d.counter("TcpExt.TW"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TWKilled"), 0u);
  // TCP_TIMEWAIT_LEN on the timer wheel.
  auto expires = net.engine.timer_expires(t->tw_timer);
  ASSERT_TRUE(expires.has_value());
  EXPECT_EQ(*expires, net.engine.jiffies() + 60 * HZ);
}

TEST_F(TcpTimeWaitTest, SsListsItInItsSubstateWithTheTimewaitTimer) {
  time_wait(true, TCP_FIN_WAIT2, int(60 * HZ));
  d.stack.advance(1'000'000'000);
  const auto all = sock_diag_dump(net);
  auto it = std::find_if(all.begin(), all.end(), [](const SockDiag& s) { return s.timer == SS_TIMER_TIMEWAIT; });
  ASSERT_NE(it, all.end());
  EXPECT_STREQ(ss_state_name(it->sk_state), "FIN-WAIT-2");
  EXPECT_EQ(it->local, "198.51.100.2:80");
  EXPECT_EQ(it->peer, "198.51.100.1:40000");
  EXPECT_EQ(it->fd, -1);
  EXPECT_EQ(it->recv_q, 0u);
  EXPECT_EQ(it->timer_expires_ms, 59'000u);
  EXPECT_EQ(ss_timer(*it), "timer:(timewait,59sec,0)");
}

TEST_F(TcpTimeWaitTest, TheTimerKillsItWithinTheWheelsGranularityWithoutATrace) {
  time_wait();
  ASSERT_NE(tw(), nullptr);
  d.stack.advance(59'000'000'000ull);
  EXPECT_NE(tw(), nullptr);
  // 15000 jiffies sit on level 3 of the wheel: up to 512 jiffies (2.048 s) late.
  d.stack.advance(1'000'000'000ull + 2'048'000'000ull + 4'000'000ull);
  EXPECT_EQ(tw(), nullptr);
  EXPECT_TRUE(net.sock.tcp_ehash.empty());
  EXPECT_EQ(net.tcp_death_row.socks.size(), 0u);
  EXPECT_EQ(d.named("sock:inet_sock_set_state").size(), 1u);  // only ESTABLISHED -> CLOSE
}

TEST_F(TcpTimeWaitTest, ARetransmittedFinIsAckedAgainWithTimestampsAndRestartsTheTimer) {
  time_wait();
  InetTimewaitSock* t = tw();
  ASSERT_NE(t, nullptr);
  d.stack.advance(10'000'000'000ull);
  d.inject(arp_request(kTesterIp, kDutIp));  // the silent tester's neighbour entry, fresh again
  auto out = send(seg(kFin | kAck, kPeerIsn + 1));
  ASSERT_EQ(out.size(), 1u);
  SentTcp a(out[0]);
  EXPECT_EQ(a.flags(), kAck);
  EXPECT_EQ(a.seq(), snt_isn + 2);
  EXPECT_EQ(a.ack(), kPeerIsn + 2);
  EXPECT_TRUE(a.csum_ok());
  // NOP NOP TS: TSval on the connection's clock, TSecr the kept ts_recent.
  const Bytes o = a.options();
  ASSERT_EQ(o.size(), 12u);
  EXPECT_EQ(Bytes(o.begin(), o.begin() + 4), (Bytes{1, 1, 8, 10}));
  EXPECT_EQ(be32(o, 8), kPeerTsval + 1);
  const uint32_t ms = be32(o, 4) - t->tw_ts_offset;  // sent when the FIN came, 1 ms ago
  EXPECT_LE(ms, tcp_clock_ms_at(net, d.stack.now_ns()));
  EXPECT_GE(ms + 1, tcp_clock_ms_at(net, d.stack.now_ns()));
  // The window: what is left of ours, scaled.
  EXPECT_EQ(a.window(), t->tw_rcv_wnd >> t->tw_rcv_wscale);
  EXPECT_EQ(be16(out[0], 14 + 6), 0x4000);  // DF
  EXPECT_EQ(last_drop_reason(), "NOT_SPECIFIED");
  EXPECT_EQ(d.field(*d.named("skb:kfree_skb").back(), "location"), "tcp_v4_rcv");
  EXPECT_EQ(d.field(*d.named("skb:kfree_skb").back(), "rx_sk"), "1");
  auto expires = net.engine.timer_expires(t->tw_timer);
  ASSERT_TRUE(expires.has_value());
  EXPECT_GE(*expires + 1, net.engine.jiffies() + 60 * HZ);  // rescheduled from the FIN
}

TEST_F(TcpTimeWaitTest, OutOfWindowAnswersAreRateLimited) {
  time_wait();
  ASSERT_EQ(send(seg(kAck, kPeerIsn + 1)).size(), 1u);  // an old ACK
  EXPECT_TRUE(send(seg(kAck, kPeerIsn + 1)).empty());    // 1 ms later
  EXPECT_EQ(d.counter("TcpExt.TCPACKSkippedTimeWait"), 1u);
  d.stack.advance(500'000'000);
  EXPECT_EQ(send(seg(kAck, kPeerIsn + 1)).size(), 1u);
}

TEST_F(TcpTimeWaitTest, AnInWindowBareAckIsDroppedSilently) {
  time_wait();
  EXPECT_TRUE(send(seg(kAck, kPeerIsn + 2)).empty());
  EXPECT_NE(tw(), nullptr);
  EXPECT_EQ(last_drop_reason(), "NOT_SPECIFIED");
}

TEST_F(TcpTimeWaitTest, AnInWindowRstKillsIt) {
  time_wait();
  EXPECT_TRUE(send(seg(kRst | kAck, kPeerIsn + 2)).empty());
  EXPECT_EQ(tw(), nullptr);
  const auto& owners = net.sock.tcp_bhash[80];
  for (const Sock* o : owners) EXPECT_NE(o->sk_state, TCP_TIME_WAIT);
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 0u);
}

TEST_F(TcpTimeWaitTest, WithRfc1337AnRstDoesNotKillIt) {
  net.sysctl.tcp_rfc1337 = 1;
  time_wait();
  EXPECT_TRUE(send(seg(kRst | kAck, kPeerIsn + 2)).empty());
  EXPECT_NE(tw(), nullptr);
}

TEST_F(TcpTimeWaitTest, ANewSynAboveTheOldSequenceOpensANewConnectionWithTheTwIsn) {
  time_wait();
  InetTimewaitSock* t = tw();
  ASSERT_NE(t, nullptr);
  const uint32_t tw_snd_nxt = t->tw_snd_nxt;
  TcpSeg syn;
  syn.seq = kPeerIsn + 200000;
  syn.options = linux_syn_options(kPeerTsval + 100);
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  SentTcp sa(out[0]);
  EXPECT_EQ(sa.flags(), kSyn | kAck);
  EXPECT_EQ(sa.seq(), tw_snd_nxt + 65535 + 2);
  EXPECT_EQ(sa.ack(), kPeerIsn + 200001);
  EXPECT_EQ(tw(), nullptr);
  EXPECT_EQ(tcp_sk(net.sock.tcp_listeners[0])->reqsk_queue.size(), 1u);
  auto consumed = d.named("skb:consume_skb");
  ASSERT_FALSE(consumed.empty());
  EXPECT_EQ(d.field(*consumed.back(), "location"), "tcp_rcv_state_process");
  EXPECT_EQ(net.tcp_death_row.tcp_tw_isn, 0u);
}

TEST_F(TcpTimeWaitTest, ANewSynWithNoListenerLeftIsAcked) {
  time_wait();
  ASSERT_EQ(sys_close(net, lfd), 0);
  TcpSeg syn;
  syn.seq = kPeerIsn + 200000;
  syn.options = linux_syn_options(kPeerTsval + 100);
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  SentTcp a(out[0]);
  EXPECT_EQ(a.flags(), kAck);
  EXPECT_EQ(a.ack(), kPeerIsn + 2);
  EXPECT_NE(tw(), nullptr);
}

TEST_F(TcpTimeWaitTest, ABadChecksumIsDroppedAsTcpCsum) {
  time_wait();
  // Longer than CHECKSUM_BREAK (76 bytes): checked by the tw sock's path, not at once.
  TcpSeg s = seg(kAck | kPsh, kPeerIsn + 2);
  s.payload = Bytes(60, 'x');
  s.check = 0x1234;
  EXPECT_TRUE(send(s).empty());
  EXPECT_EQ(last_drop_reason(), "TCP_CSUM");
  EXPECT_EQ(d.field(*d.named("skb:kfree_skb").back(), "rx_sk"), "1");
  EXPECT_EQ(d.counter("Tcp.InCsumErrors"), 1u);
  EXPECT_NE(tw(), nullptr);
}

TEST_F(TcpTimeWaitTest, ASynBelowRcvNxtWithAnOlderTimestampIsAcked) {
  time_wait();
  TcpSeg syn;
  syn.seq = kPeerIsn - 100;
  syn.options = linux_syn_options(kPeerTsval + 1);  // not newer than ts_recent
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);
  EXPECT_NE(tw(), nullptr);
}

TEST_F(TcpTimeWaitTest, AnOlderTimestampIsAPawsRejectAndStillAcked) {
  time_wait();
  auto out = send(seg(kAck, kPeerIsn + 2, kPeerTsval - 5));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(last_drop_reason(), "TCP_RFC7323_TW_PAWS");
  EXPECT_EQ(d.counter("TcpExt.PAWSTimewait"), 1u);
}

TEST_F(TcpTimeWaitTest, FinWait2SubstateTakesTheFinAndBecomesTimeWait) {
  time_wait(true, TCP_FIN_WAIT2, int(60 * HZ));
  InetTimewaitSock* t = tw();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->tw_substate, TCP_FIN_WAIT2);
  auto out = send(seg(kFin | kAck, kPeerIsn + 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).ack(), kPeerIsn + 2);
  EXPECT_EQ(t->tw_substate, TCP_TIME_WAIT);
  EXPECT_EQ(t->tw_ts_recent, kPeerTsval + 10);
}

TEST_F(TcpTimeWaitTest, FinWait2NewDataIsReset) {
  time_wait(true, TCP_FIN_WAIT2, int(60 * HZ));
  TcpSeg s = seg(kAck | kPsh, kPeerIsn + 1);
  s.payload = {1, 2, 3};
  auto out = send(s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags() & kRst, kRst);
  EXPECT_EQ(tw(), nullptr);
}

TEST_F(TcpTimeWaitTest, AShortTimeoutCountsAsKilled) {
  time_wait(true, TCP_FIN_WAIT2, 0);  // 3.5 RTO of 1 s
  EXPECT_EQ(d.counter("TcpExt.TWKilled"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TW"), 0u);
}

TEST_F(TcpTimeWaitTest, TheTwSockHoldsItsPortUnlessBothSidesReuse) {
  time_wait(/*reuse=*/false);
  ASSERT_EQ(sys_close(net, lfd), 0);
  ASSERT_NE(tw(), nullptr);
  SockaddrIn a;
  a.port = 80;
  const int fd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
  EXPECT_EQ(sys_bind(net, fd, a, SOCKADDR_IN_LEN), -E_ADDRINUSE);
}

TEST_F(TcpTimeWaitTest, SoReuseaddrOnBothLetsBindTakeATimeWaitPort) {
  time_wait(/*reuse=*/true);
  ASSERT_EQ(sys_close(net, lfd), 0);
  ASSERT_NE(tw(), nullptr);
  SockaddrIn a;
  a.port = 80;
  const int plain = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
  EXPECT_EQ(sys_bind(net, plain, a, SOCKADDR_IN_LEN), -E_ADDRINUSE);
  const int fd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_REUSEADDR_, 1, 4), 0);
  EXPECT_EQ(sys_bind(net, fd, a, SOCKADDR_IN_LEN), 0);
}

TEST_F(TcpTimeWaitTest, TcpMaxTwBucketsFullClosesWithoutATwSock) {
  net.sysctl.tcp_max_tw_buckets = 0;
  time_wait();
  EXPECT_EQ(tw(), nullptr);
  EXPECT_EQ(child->sk_state, TCP_CLOSE);
  EXPECT_EQ(d.counter("TcpExt.TCPTimeWaitOverflow"), 1u);
}

// ---- connect() over a TIME_WAIT 4-tuple (__inet_check_established, tcp_twsk_unique)

struct Connecting {
  TcpSock sk;
  explicit Connecting(Net& net) {
    sk.net = &net;
    sk.inet_rcv_saddr = sk.inet_saddr = kDutIp;
    sk.inet_daddr = kTesterIp;
    sk.inet_dport = 40000;
  }
  ~Connecting() {
    sk.net->sock.tcp_ehash.remove(&sk);
  }
};

TEST_F(TcpTimeWaitTest, AConnectFromAFixedPortRecyclesTheTwSockWithAHigherSequence) {
  time_wait();
  const uint32_t tw_snd_nxt = tw()->tw_snd_nxt;
  Connecting c(net);
  EXPECT_EQ(__inet_check_established(&c.sk, 80, nullptr), 0);
  EXPECT_EQ(tw(), nullptr);  // killed at once
  EXPECT_EQ(c.sk.write_seq, tw_snd_nxt + 65535 + 2);
  EXPECT_EQ(c.sk.rx_opt.ts_recent, kPeerTsval + 1);
  EXPECT_EQ(c.sk.inet_num, 80);
  EXPECT_EQ(net.sock.tcp_ehash.size(), 1u);
  EXPECT_EQ(d.counter("TcpExt.TWRecycled"), 1u);
}

TEST_F(TcpTimeWaitTest, TheEphemeralSearchSkipsANonLoopbackTwSockUnderTcpTwReuse2) {
  time_wait();
  d.stack.advance(2'000'000'000);
  Connecting c(net);
  InetTimewaitSock* twp = nullptr;
  EXPECT_EQ(__inet_check_established(&c.sk, 80, &twp), -E_ADDRNOTAVAIL);
  EXPECT_NE(tw(), nullptr);
  EXPECT_EQ(d.counter("TcpExt.TWRecycled"), 0u);
}

TEST_F(TcpTimeWaitTest, TcpTwReuse1LetsTheEphemeralSearchTakeItAfterTheDelay) {
  net.sysctl.tcp_tw_reuse = 1;
  time_wait();
  Connecting c(net);
  InetTimewaitSock* twp = nullptr;
  d.stack.advance(500'000'000);
  EXPECT_EQ(__inet_check_established(&c.sk, 80, &twp), -E_ADDRNOTAVAIL);  // tcp_tw_reuse_delay is 1 s
  d.stack.advance(600'000'000);
  ASSERT_EQ(__inet_check_established(&c.sk, 80, &twp), 0);
  ASSERT_NE(twp, nullptr);
  EXPECT_EQ(tw(), nullptr);  // out of ehash; the caller kills it
  inet_twsk_deschedule_put(twp);
  EXPECT_EQ(net.tcp_death_row.socks.size(), 0u);
}

TEST_F(TcpTimeWaitTest, AnEstablishedSocketOnTheTupleRefusesTheConnect) {
  time_wait();
  Connecting c(net);
  c.sk.inet_dport = 40001;
  Connecting c2(net);
  c2.sk.inet_dport = 40001;
  ASSERT_EQ(__inet_check_established(&c.sk, 80, nullptr), 0);
  EXPECT_EQ(__inet_check_established(&c2.sk, 80, nullptr), -E_ADDRNOTAVAIL);
}

}  // namespace
}  // namespace nettwin::test
