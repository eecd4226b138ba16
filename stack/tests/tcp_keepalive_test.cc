// The keepalive timer (tcp_keepalive_timer in net/ipv4/tcp_timer.c, armed by
// SO_KEEPALIVE through tcp_set_keepalive): probes with seq snd_una - 1 after
// keepalive_time of silence, every keepalive_intvl, then a RST and ETIMEDOUT
// after keepalive_probes unanswered ones, or once TCP_USER_TIMEOUT has passed;
// and TCP_USER_TIMEOUT bounding retransmissions (tcp_write_timeout's
// retransmits_timed_out, tcp_clamp_rto_to_user_timeout).
#include <gtest/gtest.h>

#include "core/net.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "tcp_test_helpers.h"

namespace nettwin::test {
namespace {

struct Sent {
  uint64_t t_ns;
  Bytes f;
};

struct TcpKeepaliveTest : TcpDutTest {
  int l = -1, c = -1;
  uint32_t isn = 0;
  uint64_t t_ack = 0;  // when the handshake's ACK came: the peer's last word
  int set(int fd, int level, int opt, int val) { return sys_setsockopt(net, fd, level, opt, val, 4); }
  // The TCP segments the DUT sent meanwhile (ARP's neighbour probes left out).
  std::vector<Sent> run(uint64_t ns) {
    d.stack.advance(ns);
    std::vector<Sent> out;
    for (auto& w : d.stack.take_wire())
      if (w.data.size() > 14 + 20 && w.data[12] == 0x08 && w.data[13] == 0 && w.data[14 + 9] == 6)
        out.push_back({w.time_ns, w.data});
    return out;
  }
  // A listener on 80 and an accepted connection from the tester's 40000.
  void establish() {
    l = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
    SockaddrIn a;
    a.port = 80;
    ASSERT_EQ(sys_bind(net, l, a, SOCKADDR_IN_LEN), 0);
    ASSERT_EQ(sys_listen(net, l, 5), 0);
    TcpSeg syn;
    syn.seq = 5000;
    syn.options = linux_syn_options(777);
    d.inject(tcp_frame(syn));
    auto sa = run(1'000'000);
    ASSERT_EQ(sa.size(), 1u);
    isn = SentTcp(sa[0].f).seq();
    TcpSeg ack;
    ack.flags = kAck;
    ack.seq = 5001;
    ack.ack = isn + 1;
    ack.window = 502;
    d.inject(tcp_frame(ack));
    t_ack = net.engine.now();
    EXPECT_TRUE(run(1'000'000).empty());
    c = sys_accept(net, l);
    ASSERT_GE(c, 0);
  }
  TcpSock* tp() { return tcp_sk(net.sock.files.at(c)->sk); }
  int so_error() {
    int v = -1;
    EXPECT_EQ(sys_getsockopt(net, c, SOL_SOCKET_, SO_ERROR_, &v), 0);
    return v;
  }
};

TEST_F(TcpKeepaliveTest, UnansweredProbesEndInResetAndEtimedout) {
  establish();
  ASSERT_EQ(set(c, SOL_SOCKET_, SO_KEEPALIVE_, 1), 0);
  ASSERT_EQ(set(c, SOL_TCP_, TCP_KEEPIDLE_, 1), 0);
  ASSERT_EQ(set(c, SOL_TCP_, TCP_KEEPINTVL_, 1), 0);
  ASSERT_EQ(set(c, SOL_TCP_, TCP_KEEPCNT_, 2), 0);
  EXPECT_TRUE(run(900'000'000).empty());  // idle for less than TCP_KEEPIDLE: quiet
  auto out = run(3'000'000'000);
  ASSERT_EQ(out.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    SentTcp p(out[size_t(i)].f);
    EXPECT_EQ(p.flags(), kAck) << i;
    EXPECT_EQ(p.seq(), isn) << i;  // snd_una - 1: the peer must answer
    EXPECT_EQ(p.ack(), 5001u) << i;
    EXPECT_EQ(out[size_t(i)].f.size(), 14u + 20 + 32) << i;  // no payload; timestamps
    EXPECT_TRUE(p.csum_ok()) << i;
  }
  // The probes: after a second's silence (the wheel rounds a 250-jiffy
  // timer up by at most 8 jiffies), then a second apart.
  EXPECT_GE(out[0].t_ns - t_ack, 1'000'000'000u);
  EXPECT_LE(out[0].t_ns - t_ack, 1'000'000'000u + 9 * 4'000'000u);
  EXPECT_GE(out[1].t_ns - out[0].t_ns, 1'000'000'000u);
  EXPECT_LE(out[1].t_ns - out[0].t_ns, 1'000'000'000u + 9 * 4'000'000u);
  SentTcp rst(out[2].f);
  EXPECT_EQ(rst.flags(), kRst | kAck);
  EXPECT_EQ(rst.seq(), isn + 1);  // snd_nxt
  EXPECT_EQ(net.mib.tcpext.TCPKeepAlive, 2u);
  EXPECT_EQ(net.mib.tcpext.TCPAbortOnTimeout, 1u);
  EXPECT_EQ(tp()->sk_state, TCP_CLOSE);
  EXPECT_EQ(so_error(), E_TIMEDOUT);
  EXPECT_TRUE(run(10'000'000'000).empty());  // the timer is gone with the connection
}

TEST_F(TcpKeepaliveTest, DefaultsComeFromTheSysctls) {
  net.sysctl.tcp_keepalive_time = 3;
  net.sysctl.tcp_keepalive_intvl = 2;
  net.sysctl.tcp_keepalive_probes = 1;
  establish();
  ASSERT_EQ(set(c, SOL_SOCKET_, SO_KEEPALIVE_, 1), 0);
  EXPECT_TRUE(run(2'900'000'000).empty());
  auto out = run(1'000'000'000);
  ASSERT_EQ(out.size(), 1u);  // the probe at 3 s
  EXPECT_EQ(SentTcp(out[0].f).flags(), kAck);
  EXPECT_TRUE(run(900'000'000).empty());
  out = run(1'000'000'000);
  ASSERT_EQ(out.size(), 1u);  // 2 s later the single allowed probe is spent: RST
  EXPECT_EQ(SentTcp(out[0].f).flags(), kRst | kAck);
  EXPECT_EQ(so_error(), E_TIMEDOUT);
}

TEST_F(TcpKeepaliveTest, UserTimeoutDecidesInsteadOfTheProbeCount) {
  establish();
  ASSERT_EQ(set(c, SOL_SOCKET_, SO_KEEPALIVE_, 1), 0);
  ASSERT_EQ(set(c, SOL_TCP_, TCP_KEEPIDLE_, 1), 0);
  ASSERT_EQ(set(c, SOL_TCP_, TCP_KEEPINTVL_, 1), 0);
  ASSERT_EQ(set(c, SOL_TCP_, TCP_KEEPCNT_, 9), 0);
  ASSERT_EQ(set(c, SOL_TCP_, TCP_USER_TIMEOUT_, 2500), 0);
  // Probes at 1 s and 2 s; at 3 s the peer has been silent past 2.5 s.
  auto out = run(3'500'000'000);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(SentTcp(out[0].f).flags(), kAck);
  EXPECT_EQ(SentTcp(out[1].f).flags(), kAck);
  EXPECT_EQ(SentTcp(out[2].f).flags(), kRst | kAck);
  EXPECT_EQ(so_error(), E_TIMEDOUT);
}

TEST_F(TcpKeepaliveTest, WordFromThePeerPostponesTheProbe) {
  establish();
  ASSERT_EQ(set(c, SOL_SOCKET_, SO_KEEPALIVE_, 1), 0);
  ASSERT_EQ(set(c, SOL_TCP_, TCP_KEEPIDLE_, 2), 0);
  EXPECT_TRUE(run(1'500'000'000).empty());
  // As tcp_ack would: the peer was heard from 1.5 s in.
  tp()->rcv_tstamp = tp()->icsk_ack.lrcvtime = uint32_t(net.engine.jiffies());
  EXPECT_TRUE(run(1'900'000'000).empty());  // the timer at 2 s finds 0.5 s of silence
  auto out = run(300'000'000);
  ASSERT_EQ(out.size(), 1u);  // 2 s after the peer's word
  EXPECT_EQ(SentTcp(out[0].f).flags(), kAck);
  EXPECT_EQ(tp()->icsk_probes_out, 1);
}

TEST_F(TcpKeepaliveTest, TurningItOffStopsTheTimer) {
  establish();
  ASSERT_EQ(set(c, SOL_SOCKET_, SO_KEEPALIVE_, 1), 0);
  ASSERT_EQ(set(c, SOL_TCP_, TCP_KEEPIDLE_, 1), 0);
  EXPECT_NE(tp()->sk_timer, 0u);
  ASSERT_EQ(set(c, SOL_SOCKET_, SO_KEEPALIVE_, 0), 0);
  EXPECT_EQ(tp()->sk_timer, 0u);
  EXPECT_TRUE(run(5'000'000'000).empty());
}

TEST_F(TcpKeepaliveTest, KeepidleMovesARunningTimer) {
  establish();
  ASSERT_EQ(set(c, SOL_SOCKET_, SO_KEEPALIVE_, 1), 0);  // armed for 7200 s
  EXPECT_TRUE(run(3'000'000'000).empty());
  // 3 s of silence already: an idle time of 2 s is due at once.
  ASSERT_EQ(set(c, SOL_TCP_, TCP_KEEPIDLE_, 2), 0);
  auto out = run(50'000'000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0].f).flags(), kAck);
}

TEST_F(TcpKeepaliveTest, NotArmedBeforeAConnection) {
  const int fd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
  ASSERT_EQ(set(fd, SOL_SOCKET_, SO_KEEPALIVE_, 1), 0);
  EXPECT_EQ(tcp_sk(net.sock.files.at(fd)->sk)->sk_timer, 0u);  // only the flag
  int v = 0;
  ASSERT_EQ(sys_getsockopt(net, fd, SOL_SOCKET_, SO_KEEPALIVE_, &v), 0);
  EXPECT_EQ(v, 1);
}

TEST_F(TcpKeepaliveTest, ListenersKeepaliveIsInheritedAndArmed) {
  l = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
  ASSERT_EQ(set(l, SOL_SOCKET_, SO_KEEPALIVE_, 1), 0);
  ASSERT_EQ(set(l, SOL_TCP_, TCP_KEEPIDLE_, 1), 0);
  SockaddrIn a;
  a.port = 80;
  ASSERT_EQ(sys_bind(net, l, a, SOCKADDR_IN_LEN), 0);
  ASSERT_EQ(sys_listen(net, l, 5), 0);
  TcpSeg syn;
  syn.options = linux_syn_options(777);
  d.inject(tcp_frame(syn));
  auto sa = run(1'000'000);
  ASSERT_EQ(sa.size(), 1u);
  TcpSeg ack;
  ack.flags = kAck;
  ack.seq = 1001;
  ack.ack = SentTcp(sa[0].f).seq() + 1;
  d.inject(tcp_frame(ack));
  run(1'000'000);
  // Nobody accepts: the child probes from the accept queue...
  auto out = run(1'100'000'000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0].f).flags(), kAck);
  // ...and closing the listener resets it (inet_child_forget → tcp_disconnect), its
  // keepalive timer gone with it: nothing after the reset.
  ASSERT_EQ(sys_close(net, l), 0);
  auto closing = run(5'000'000'000);
  ASSERT_EQ(closing.size(), 1u);
  EXPECT_EQ(SentTcp(closing[0].f).flags(), kRst | kAck);
}

TEST_F(TcpKeepaliveTest, UserTimeoutEndsUnackedRetransmissionsWithoutAReset) {
  establish();
  ASSERT_EQ(set(c, SOL_TCP_, TCP_USER_TIMEOUT_, 1000), 0);
  const uint8_t data[33] = {};
  SendMsg m;
  m.data = data;
  ASSERT_EQ(sys_sendmsg(net, c, m), 33);
  auto out = run(5'000'000'000);
  ASSERT_GE(out.size(), 2u);
  const uint32_t seq = SentTcp(out[0].f).seq();
  for (auto& s : out) {
    EXPECT_EQ(SentTcp(s.f).seq(), seq);  // the data and its retransmissions
    EXPECT_FALSE(SentTcp(s.f).flags() & kRst);  // tcp_write_err sends nothing
  }
  // Given up within seconds, where tcp_retries2 alone would go on for
  // minutes: the RTO is clamped to what the timeout leaves.
  EXPECT_LE(out.size(), 4u);
  EXPECT_EQ(tp()->sk_state, TCP_CLOSE);
  EXPECT_EQ(so_error(), E_TIMEDOUT);
  EXPECT_EQ(net.mib.tcpext.TCPAbortOnTimeout, 1u);
}

}  // namespace
}  // namespace nettwin::test
