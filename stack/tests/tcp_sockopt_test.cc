// TCP socket options (do_tcp_setsockopt / do_tcp_getsockopt in net/ipv4/tcp.c)
// and SOL_SOCKET options on TCP sockets (sk_setsockopt / sk_getsockopt in
// net/core/sock.c): each option's round trip, its bounds and its errnos, as
// the Linux source has them.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/net.h"
#include "ipv4/tcp_info.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "tcp_test_helpers.h"

namespace nettwin::test {
namespace {

struct TcpSockoptTest : TcpDutTest {
  int listener(uint16_t port = 80) {
    const int fd = tcp();
    SockaddrIn a;
    a.port = port;
    EXPECT_EQ(sys_bind(net, fd, a, SOCKADDR_IN_LEN), 0);
    EXPECT_EQ(sys_listen(net, fd, 5), 0);
    return fd;
  }
  TcpSock* tp(int fd) { return tcp_sk(net.sock.files.at(fd)->sk); }
  int set(int fd, int opt, int val, int level = SOL_TCP_) { return sys_setsockopt(net, fd, level, opt, val, 4); }
  int get(int fd, int opt, int level = SOL_TCP_) {
    int v = -12345;
    EXPECT_EQ(sys_getsockopt(net, fd, level, opt, &v), 0) << "option " << opt;
    return v;
  }
  int set_bytes(int fd, int level, int opt, const void* p, size_t n) {
    return sys_setsockopt_bytes(net, fd, level, opt, {static_cast<const uint8_t*>(p), n});
  }
  std::vector<uint8_t> get_bytes(int fd, int level, int opt, unsigned optlen, int* ret = nullptr) {
    std::vector<uint8_t> out;
    const int r = sys_getsockopt_bytes(net, fd, level, opt, optlen, out);
    if (ret) *ret = r;
    else EXPECT_EQ(r, 0);
    return out;
  }
  // The tester connects to a listener on 80 (listener()); the accepted descriptor.
  int accepted(uint16_t sport = 40000) {
    TcpSeg syn;
    syn.sport = sport;
    syn.seq = 5000;
    syn.options = linux_syn_options(777);
    auto out = send(syn);
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) return -1;
    TcpSeg ack;
    ack.sport = sport;
    ack.flags = kAck;
    ack.seq = 5001;
    ack.ack = SentTcp(out[0]).seq() + 1;
    ack.window = 502;
    send(ack);
    int l = -1;
    for (auto& [fd, sock] : net.sock.files)
      if (sock->sk->sk_state == TCP_LISTEN) l = fd;
    return sys_accept(net, l);
  }
};

// ---------------------------------------------------------------- SOL_TCP, ints

TEST_F(TcpSockoptTest, NodelayRoundTrip) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_NODELAY_), 0);
  ASSERT_EQ(set(fd, TCP_NODELAY_, 5), 0);  // any non-zero is on
  EXPECT_EQ(get(fd, TCP_NODELAY_), 1);
  EXPECT_EQ(tp(fd)->nonagle, TCP_NAGLE_OFF | TCP_NAGLE_PUSH);
  ASSERT_EQ(set(fd, TCP_NODELAY_, 0), 0);
  EXPECT_EQ(get(fd, TCP_NODELAY_), 0);
  EXPECT_EQ(tp(fd)->nonagle, TCP_NAGLE_PUSH);  // only TCP_NAGLE_OFF is cleared
}

TEST_F(TcpSockoptTest, CorkRoundTripAndUncorkWithNodelayPushes) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_CORK_), 0);
  ASSERT_EQ(set(fd, TCP_CORK_, 1), 0);
  EXPECT_EQ(get(fd, TCP_CORK_), 1);
  EXPECT_EQ(tp(fd)->nonagle, TCP_NAGLE_CORK);
  ASSERT_EQ(set(fd, TCP_CORK_, 0), 0);
  EXPECT_EQ(get(fd, TCP_CORK_), 0);
  EXPECT_EQ(tp(fd)->nonagle, 0);  // without TCP_NODELAY no push flag
  tp(fd)->nonagle = TCP_NAGLE_OFF | TCP_NAGLE_CORK;
  ASSERT_EQ(set(fd, TCP_CORK_, 0), 0);
  EXPECT_EQ(tp(fd)->nonagle, TCP_NAGLE_OFF | TCP_NAGLE_PUSH);
}

TEST_F(TcpSockoptTest, MaxsegBoundsAndWhatGetReportsBeforeAConnection) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_MAXSEG_), 536);  // mss_cache = TCP_MSS_DEFAULT
  EXPECT_EQ(set(fd, TCP_MAXSEG_, 87), -E_INVAL);     // below TCP_MIN_MSS
  EXPECT_EQ(set(fd, TCP_MAXSEG_, 32768), -E_INVAL);  // above MAX_TCP_WINDOW
  EXPECT_EQ(set(fd, TCP_MAXSEG_, -1), -E_INVAL);
  EXPECT_EQ(get(fd, TCP_MAXSEG_), 536);
  ASSERT_EQ(set(fd, TCP_MAXSEG_, 88), 0);
  EXPECT_EQ(get(fd, TCP_MAXSEG_), 88);
  ASSERT_EQ(set(fd, TCP_MAXSEG_, 32767), 0);
  EXPECT_EQ(get(fd, TCP_MAXSEG_), 32767);
  ASSERT_EQ(set(fd, TCP_MAXSEG_, 500), 0);
  EXPECT_EQ(tp(fd)->rx_opt.user_mss, 500);
  ASSERT_EQ(set(fd, TCP_MAXSEG_, 0), 0);  // 0 clears user_mss
  EXPECT_EQ(get(fd, TCP_MAXSEG_), 536);
}

TEST_F(TcpSockoptTest, MaxsegOfAListenerIsItsUserMss) {
  const int fd = tcp();
  ASSERT_EQ(set(fd, TCP_MAXSEG_, 500), 0);
  SockaddrIn a;
  a.port = 80;
  ASSERT_EQ(sys_bind(net, fd, a, SOCKADDR_IN_LEN), 0);
  ASSERT_EQ(sys_listen(net, fd, 5), 0);
  EXPECT_EQ(get(fd, TCP_MAXSEG_), 500);
  tp(fd)->sk_state = TCP_ESTABLISHED;  // past LISTEN: mss_cache
  tp(fd)->mss_cache = 1448;
  EXPECT_EQ(get(fd, TCP_MAXSEG_), 1448);
  tp(fd)->sk_state = TCP_LISTEN;
}

TEST_F(TcpSockoptTest, QuickackIsTheOppositeOfPingpongMode) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_QUICKACK_), 1);
  ASSERT_EQ(set(fd, TCP_QUICKACK_, 0), 0);
  EXPECT_EQ(tp(fd)->icsk_ack.pingpong, 1);  // tcp_pingpong_thresh
  EXPECT_EQ(get(fd, TCP_QUICKACK_), 0);
  ASSERT_EQ(set(fd, TCP_QUICKACK_, 1), 0);
  EXPECT_EQ(tp(fd)->icsk_ack.pingpong, 0);
  EXPECT_EQ(get(fd, TCP_QUICKACK_), 1);
  net.sysctl.tcp_pingpong_thresh = 3;
  ASSERT_EQ(set(fd, TCP_QUICKACK_, 0), 0);
  EXPECT_EQ(tp(fd)->icsk_ack.pingpong, 3);
  EXPECT_EQ(get(fd, TCP_QUICKACK_), 0);
}

TEST_F(TcpSockoptTest, QuickackWithAnAckScheduledHonoursAnEvenValue) {
  listener();
  const int fd = accepted();
  TcpSock* t = tp(fd);
  t->icsk_ack.pending |= ICSK_ACK_SCHED;  // an ACK scheduled, nothing to read
  d.stack.take_wire();
  // Pushed, the scheduled ACK goes now (tcp_cleanup_rbuf: nothing left unread);
  // an even value then goes back to pingpong mode.
  ASSERT_EQ(set(fd, TCP_QUICKACK_, 2), 0);
  d.stack.advance(1'000'000);
  auto out = d.stack.take_wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0].data).flags(), kAck);
  EXPECT_FALSE(t->icsk_ack.pending & ICSK_ACK_SCHED);
  EXPECT_EQ(get(fd, TCP_QUICKACK_), 0);
  ASSERT_EQ(set(fd, TCP_QUICKACK_, 1), 0);
  EXPECT_EQ(get(fd, TCP_QUICKACK_), 1);
  t->icsk_ack.pending = 0;  // no ACK scheduled: an even value just leaves pingpong mode
  ASSERT_EQ(set(fd, TCP_QUICKACK_, 2), 0);
  EXPECT_EQ(get(fd, TCP_QUICKACK_), 1);
}

TEST_F(TcpSockoptTest, DeferAcceptSecondsBecomeRetransmitsAndBack) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_DEFER_ACCEPT_), 0);
  // secs_to_retrans with TCP_TIMEOUT_INIT 1 s doubling up to TCP_RTO_MAX 120 s;
  // getsockopt reports the seconds those retransmits cover.
  const struct { int set, retrans, get; } cases[] = {
      {1, 1, 1}, {2, 2, 3}, {3, 2, 3}, {4, 3, 7}, {30, 5, 31}, {200, 8, 247}, {0, 0, 0}, {-5, 0, 0},
  };
  for (const auto& c : cases) {
    ASSERT_EQ(set(fd, TCP_DEFER_ACCEPT_, c.set), 0);
    EXPECT_EQ(tp(fd)->rskq_defer_accept, c.retrans) << c.set;
    EXPECT_EQ(get(fd, TCP_DEFER_ACCEPT_), c.get) << c.set;
  }
}

TEST_F(TcpSockoptTest, KeepaliveTimesDefaultToTheSysctlsAndAreBounded) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_KEEPIDLE_), 7200);
  EXPECT_EQ(get(fd, TCP_KEEPINTVL_), 75);
  EXPECT_EQ(get(fd, TCP_KEEPCNT_), 9);
  net.sysctl.tcp_keepalive_time = 600;
  net.sysctl.tcp_keepalive_intvl = 10;
  net.sysctl.tcp_keepalive_probes = 3;
  EXPECT_EQ(get(fd, TCP_KEEPIDLE_), 600);
  EXPECT_EQ(get(fd, TCP_KEEPINTVL_), 10);
  EXPECT_EQ(get(fd, TCP_KEEPCNT_), 3);
  for (int opt : {TCP_KEEPIDLE_, TCP_KEEPINTVL_}) {
    EXPECT_EQ(set(fd, opt, 0), -E_INVAL) << opt;
    EXPECT_EQ(set(fd, opt, 32768), -E_INVAL) << opt;  // MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL
    ASSERT_EQ(set(fd, opt, 32767), 0) << opt;
    EXPECT_EQ(get(fd, opt), 32767) << opt;
    ASSERT_EQ(set(fd, opt, 1), 0) << opt;
    EXPECT_EQ(get(fd, opt), 1) << opt;
  }
  EXPECT_EQ(tp(fd)->keepalive_time, 250u);  // jiffies
  EXPECT_EQ(set(fd, TCP_KEEPCNT_, 0), -E_INVAL);
  EXPECT_EQ(set(fd, TCP_KEEPCNT_, 128), -E_INVAL);  // MAX_TCP_KEEPCNT
  ASSERT_EQ(set(fd, TCP_KEEPCNT_, 127), 0);
  EXPECT_EQ(get(fd, TCP_KEEPCNT_), 127);
}

TEST_F(TcpSockoptTest, UserTimeoutIsMillisecondsAndNotNegative) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_USER_TIMEOUT_), 0);
  EXPECT_EQ(set(fd, TCP_USER_TIMEOUT_, -1), -E_INVAL);
  ASSERT_EQ(set(fd, TCP_USER_TIMEOUT_, 1000), 0);
  EXPECT_EQ(get(fd, TCP_USER_TIMEOUT_), 1000);
  EXPECT_EQ(tp(fd)->icsk_user_timeout, 1000u);
  ASSERT_EQ(set(fd, TCP_USER_TIMEOUT_, 0), 0);
  EXPECT_EQ(get(fd, TCP_USER_TIMEOUT_), 0);
}

TEST_F(TcpSockoptTest, SyncntDefaultsToTheSysctlAndIsBounded) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_SYNCNT_), 6);
  net.sysctl.tcp_syn_retries = 2;
  EXPECT_EQ(get(fd, TCP_SYNCNT_), 2);
  EXPECT_EQ(set(fd, TCP_SYNCNT_, 0), -E_INVAL);
  EXPECT_EQ(set(fd, TCP_SYNCNT_, 128), -E_INVAL);  // MAX_TCP_SYNCNT
  ASSERT_EQ(set(fd, TCP_SYNCNT_, 127), 0);
  EXPECT_EQ(get(fd, TCP_SYNCNT_), 127);
}

TEST_F(TcpSockoptTest, Linger2IsSecondsCappedAtFinTimeoutMax) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_LINGER2_), 60);  // tcp_fin_timeout
  ASSERT_EQ(set(fd, TCP_LINGER2_, 30), 0);
  EXPECT_EQ(get(fd, TCP_LINGER2_), 30);
  EXPECT_EQ(tp(fd)->linger2, 30 * 250);
  ASSERT_EQ(set(fd, TCP_LINGER2_, 1000), 0);  // TCP_FIN_TIMEOUT_MAX: 120 s
  EXPECT_EQ(get(fd, TCP_LINGER2_), 120);
  ASSERT_EQ(set(fd, TCP_LINGER2_, -7), 0);  // no FIN_WAIT2 timer: -1
  EXPECT_EQ(get(fd, TCP_LINGER2_), -1);
  ASSERT_EQ(set(fd, TCP_LINGER2_, 0), 0);
  net.sysctl.tcp_fin_timeout = 20;
  EXPECT_EQ(get(fd, TCP_LINGER2_), 20);
}

TEST_F(TcpSockoptTest, WindowClampHasAFloorAndZeroOnlyWhenClosed) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_WINDOW_CLAMP_), 0);
  ASSERT_EQ(set(fd, TCP_WINDOW_CLAMP_, 100), 0);  // SOCK_MIN_RCVBUF / 2
  EXPECT_EQ(get(fd, TCP_WINDOW_CLAMP_), 1152);
  ASSERT_EQ(set(fd, TCP_WINDOW_CLAMP_, -5), 0);
  EXPECT_EQ(get(fd, TCP_WINDOW_CLAMP_), 1152);
  ASSERT_EQ(set(fd, TCP_WINDOW_CLAMP_, 65535), 0);
  EXPECT_EQ(get(fd, TCP_WINDOW_CLAMP_), 65535);
  ASSERT_EQ(set(fd, TCP_WINDOW_CLAMP_, 0), 0);
  EXPECT_EQ(get(fd, TCP_WINDOW_CLAMP_), 0);
  const int l = listener();
  EXPECT_EQ(set(l, TCP_WINDOW_CLAMP_, 0), -E_INVAL);
}

TEST_F(TcpSockoptTest, WindowClampMovesRcvSsthresh) {
  const int fd = tcp();
  TcpSock* t = tp(fd);
  t->rcv_wnd = 64000;
  t->rcv_ssthresh = 30000;
  ASSERT_EQ(set(fd, TCP_WINDOW_CLAMP_, 20000), 0);  // from 0: a larger clamp
  EXPECT_EQ(t->rcv_ssthresh, 30000u);               // max(min(rcv_wnd, clamp), rcv_ssthresh)
  ASSERT_EQ(set(fd, TCP_WINDOW_CLAMP_, 50000), 0);
  EXPECT_EQ(t->rcv_ssthresh, 50000u);
  ASSERT_EQ(set(fd, TCP_WINDOW_CLAMP_, 10000), 0);  // shrinking: min(rcv_ssthresh, clamp)
  EXPECT_EQ(t->rcv_ssthresh, 10000u);
}

TEST_F(TcpSockoptTest, NotsentLowatRoundTrip) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, TCP_NOTSENT_LOWAT_), 0);
  ASSERT_EQ(set(fd, TCP_NOTSENT_LOWAT_, 16384), 0);
  EXPECT_EQ(get(fd, TCP_NOTSENT_LOWAT_), 16384);
}

TEST_F(TcpSockoptTest, ErrnosForUnknownOptionsShortOptlenAndOtherLevels) {
  const int fd = tcp();
  int v;
  EXPECT_EQ(set(fd, 99, 1), -E_NOPROTOOPT);
  EXPECT_EQ(sys_getsockopt(net, fd, SOL_TCP_, 99, &v), -E_NOPROTOOPT);
  EXPECT_EQ(sys_setsockopt(net, fd, SOL_TCP_, TCP_NODELAY_, 1, 3), -E_INVAL);  // optlen < sizeof(int)
  EXPECT_EQ(sys_setsockopt(net, fd, SOL_TCP_, TCP_MAXSEG_, 1, 0), -E_INVAL);
  EXPECT_EQ(sys_setsockopt(net, fd, SOL_UDP_, UDP_CORK_, 1, 4), -E_NOPROTOOPT);  // ip_setsockopt: not SOL_IP
  EXPECT_EQ(sys_getsockopt(net, fd, SOL_UDP_, UDP_CORK_, &v), -E_NOPROTOOPT);
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_IP_, IP_TTL_, 7, 4), 0);  // SOL_IP reaches ip_setsockopt
  EXPECT_EQ(get(fd, IP_TTL_, SOL_IP_), 7);
  EXPECT_EQ(sys_setsockopt(net, fd, SOL_TCP_, TCP_NODELAY_, 1, 8), 0);  // a longer optlen is fine
}

TEST_F(TcpSockoptTest, IntOptionsCopyAtMostOptlenBytes) {
  const int fd = tcp();
  ASSERT_EQ(set(fd, TCP_KEEPIDLE_, 0x1234), 0);
  auto two = get_bytes(fd, SOL_TCP_, TCP_KEEPIDLE_, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0], 0x34);
  EXPECT_EQ(two[1], 0x12);
  EXPECT_EQ(get_bytes(fd, SOL_TCP_, TCP_KEEPIDLE_, 100).size(), 4u);
  EXPECT_TRUE(get_bytes(fd, SOL_TCP_, TCP_KEEPIDLE_, 0).empty());
  // A negative int optlen: TCP's min_t(unsigned int, len, sizeof(int)) is 4;
  // SOL_SOCKET's sk_getsockopt says EINVAL.
  EXPECT_EQ(get_bytes(fd, SOL_TCP_, TCP_KEEPIDLE_, 0xffffffffu).size(), 4u);
  int r = 0;
  get_bytes(fd, SOL_SOCKET_, SO_RCVBUF_, 0xffffffffu, &r);
  EXPECT_EQ(r, -E_INVAL);
}

// ---------------------------------------------------------------- SOL_TCP, strings and structs

TEST_F(TcpSockoptTest, CongestionGetIsTheWholeNameBuffer) {
  const int fd = tcp();
  auto name = get_bytes(fd, SOL_TCP_, TCP_CONGESTION_, 16);
  ASSERT_EQ(name.size(), 16u);
  EXPECT_EQ(std::string(name.begin(), name.end()), std::string("cubic\0\0\0\0\0\0\0\0\0\0\0", 16));
  EXPECT_EQ(get_bytes(fd, SOL_TCP_, TCP_CONGESTION_, 100).size(), 16u);  // TCP_CA_NAME_MAX
  auto three = get_bytes(fd, SOL_TCP_, TCP_CONGESTION_, 3);
  EXPECT_EQ(std::string(three.begin(), three.end()), "cub");
}

TEST_F(TcpSockoptTest, CongestionSetByName) {
  const int fd = tcp();
  ASSERT_EQ(set_bytes(fd, SOL_TCP_, TCP_CONGESTION_, "reno", 4), 0);  // no NUL needed
  auto name = get_bytes(fd, SOL_TCP_, TCP_CONGESTION_, 16);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(name.data())), "reno");
  EXPECT_TRUE(tp(fd)->icsk_ca_setsockopt);
  ASSERT_EQ(set_bytes(fd, SOL_TCP_, TCP_CONGESTION_, "cubic\0junk", 10), 0);  // up to the NUL
  name = get_bytes(fd, SOL_TCP_, TCP_CONGESTION_, 16);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(name.data())), "cubic");
  EXPECT_EQ(set_bytes(fd, SOL_TCP_, TCP_CONGESTION_, "nosuchalgorithm", 15), -ENOENT);
  // At most TCP_CA_NAME_MAX - 1 bytes are read: "renoXXXXXXXXXXXY" is "renoXXXXXXXXXXX".
  EXPECT_EQ(set_bytes(fd, SOL_TCP_, TCP_CONGESTION_, "renoXXXXXXXXXXXY", 16), -ENOENT);
  EXPECT_EQ(set_bytes(fd, SOL_TCP_, TCP_CONGESTION_, "", 0), -E_INVAL);
  name = get_bytes(fd, SOL_TCP_, TCP_CONGESTION_, 16);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(name.data())), "cubic");
}

TEST_F(TcpSockoptTest, TcpInfoThroughGetsockopt) {
  const int fd = tcp();
  auto info = get_bytes(fd, SOL_TCP_, TCP_INFO_, 1000);
  ASSERT_EQ(info.size(), sizeof(TcpInfo));  // 280 bytes
  TcpInfo ti;
  std::memcpy(&ti, info.data(), sizeof ti);
  EXPECT_EQ(ti.tcpi_state, TCP_CLOSE);
  EXPECT_EQ(ti.tcpi_rto, 1000000u);   // TCP_TIMEOUT_INIT, usec
  EXPECT_EQ(ti.tcpi_snd_mss, 536u);   // TCP_MSS_DEFAULT
  EXPECT_EQ(ti.tcpi_snd_cwnd, 10u);   // TCP_INIT_CWND
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 0x7fffffffu);
  EXPECT_EQ(ti.tcpi_reordering, 3u);
  EXPECT_EQ(get_bytes(fd, SOL_TCP_, TCP_INFO_, 8).size(), 8u);
  const int l = listener();
  info = get_bytes(l, SOL_TCP_, TCP_INFO_, 104);
  ASSERT_EQ(info.size(), 104u);
  std::memcpy(&ti, info.data(), 104);
  EXPECT_EQ(ti.tcpi_state, TCP_LISTEN);
  EXPECT_EQ(ti.tcpi_sacked, 5u);  // the backlog
}

// ---------------------------------------------------------------- SOL_SOCKET on TCP

struct Linger {
  int l_onoff, l_linger;
};

TEST_F(TcpSockoptTest, SoLingerIsAStruct) {
  const int fd = tcp();
  auto out = get_bytes(fd, SOL_SOCKET_, SO_LINGER_, 8);
  ASSERT_EQ(out.size(), 8u);
  Linger l;
  std::memcpy(&l, out.data(), 8);
  EXPECT_EQ(l.l_onoff, 0);
  EXPECT_EQ(l.l_linger, 0);
  const Linger on{1, 5};
  ASSERT_EQ(set_bytes(fd, SOL_SOCKET_, SO_LINGER_, &on, sizeof on), 0);
  EXPECT_EQ(tp(fd)->sk_lingertime, 5 * 250);
  out = get_bytes(fd, SOL_SOCKET_, SO_LINGER_, 100);  // min(len, sizeof(struct linger))
  ASSERT_EQ(out.size(), 8u);
  std::memcpy(&l, out.data(), 8);
  EXPECT_EQ(l.l_onoff, 1);
  EXPECT_EQ(l.l_linger, 5);
  EXPECT_EQ(get_bytes(fd, SOL_SOCKET_, SO_LINGER_, 4).size(), 4u);
  EXPECT_EQ(set_bytes(fd, SOL_SOCKET_, SO_LINGER_, &on, 4), -E_INVAL);  // 1003.1g: the whole struct
  EXPECT_EQ(set_bytes(fd, SOL_SOCKET_, SO_LINGER_, &on, 3), -E_INVAL);
  const Linger off{0, 9};  // off keeps the time
  ASSERT_EQ(set_bytes(fd, SOL_SOCKET_, SO_LINGER_, &off, sizeof off), 0);
  out = get_bytes(fd, SOL_SOCKET_, SO_LINGER_, 8);
  std::memcpy(&l, out.data(), 8);
  EXPECT_EQ(l.l_onoff, 0);
  EXPECT_EQ(l.l_linger, 5);
  const Linger forever{1, -1};  // unsigned long: MAX_SCHEDULE_TIMEOUT
  ASSERT_EQ(set_bytes(fd, SOL_SOCKET_, SO_LINGER_, &forever, sizeof forever), 0);
  EXPECT_EQ(tp(fd)->sk_lingertime, INT64_MAX);
  out = get_bytes(fd, SOL_SOCKET_, SO_LINGER_, 8);
  std::memcpy(&l, out.data(), 8);
  EXPECT_EQ(l.l_linger, int(INT64_MAX / 250));  // LONG_MAX / HZ as an int
}

TEST_F(TcpSockoptTest, SoKeepaliveRoundTrip) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, SO_KEEPALIVE_, SOL_SOCKET_), 0);
  ASSERT_EQ(set(fd, SO_KEEPALIVE_, 1, SOL_SOCKET_), 0);
  EXPECT_EQ(get(fd, SO_KEEPALIVE_, SOL_SOCKET_), 1);
  ASSERT_EQ(set(fd, SO_KEEPALIVE_, 0, SOL_SOCKET_), 0);
  EXPECT_EQ(get(fd, SO_KEEPALIVE_, SOL_SOCKET_), 0);
  EXPECT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_KEEPALIVE_, 1, 2), -E_INVAL);
}

TEST_F(TcpSockoptTest, BuffersStartAtTcpMemAndAreDoubledWithTheirMinimums) {
  const int fd = tcp();
  EXPECT_EQ(get(fd, SO_RCVBUF_, SOL_SOCKET_), 131072);  // tcp_rmem[1]
  EXPECT_EQ(get(fd, SO_SNDBUF_, SOL_SOCKET_), 16384);   // tcp_wmem[1]
  ASSERT_EQ(set(fd, SO_RCVBUF_, 100, SOL_SOCKET_), 0);
  EXPECT_EQ(get(fd, SO_RCVBUF_, SOL_SOCKET_), 2304);  // SOCK_MIN_RCVBUF
  ASSERT_EQ(set(fd, SO_SNDBUF_, 100, SOL_SOCKET_), 0);
  EXPECT_EQ(get(fd, SO_SNDBUF_, SOL_SOCKET_), 4608);  // SOCK_MIN_SNDBUF
  EXPECT_EQ(tp(fd)->sk_userlocks & (SOCK_RCVBUF_LOCK | SOCK_SNDBUF_LOCK), SOCK_RCVBUF_LOCK | SOCK_SNDBUF_LOCK);
  ASSERT_EQ(set(fd, SO_RCVBUF_, 50000, SOL_SOCKET_), 0);
  EXPECT_EQ(get(fd, SO_RCVBUF_, SOL_SOCKET_), 100000);
}

TEST_F(TcpSockoptTest, SoErrorReportsAndClearsTheSocketError) {
  const int fd = tcp();
  tp(fd)->sk_err = E_TIMEDOUT;
  EXPECT_EQ(get(fd, SO_ERROR_, SOL_SOCKET_), E_TIMEDOUT);
  EXPECT_EQ(get(fd, SO_ERROR_, SOL_SOCKET_), 0);
  tp(fd)->sk_err_soft = E_HOSTUNREACH;  // then the soft error, once
  EXPECT_EQ(get(fd, SO_ERROR_, SOL_SOCKET_), E_HOSTUNREACH);
  EXPECT_EQ(get(fd, SO_ERROR_, SOL_SOCKET_), 0);
}

TEST_F(TcpSockoptTest, ReuseaddrAndReuseportRoundTrip) {
  const int fd = tcp();
  for (int opt : {SO_REUSEADDR_, SO_REUSEPORT_}) {
    EXPECT_EQ(get(fd, opt, SOL_SOCKET_), 0);
    ASSERT_EQ(set(fd, opt, 3, SOL_SOCKET_), 0);
    EXPECT_EQ(get(fd, opt, SOL_SOCKET_), 1);
  }
}

// ---------------------------------------------------------------- a child inherits

TEST_F(TcpSockoptTest, ListenersMaxsegClampsTheSynAcksMssAndWindow) {
  const int l = tcp();
  ASSERT_EQ(set(l, TCP_MAXSEG_, 500), 0);
  SockaddrIn a;
  a.port = 80;
  ASSERT_EQ(sys_bind(net, l, a, SOCKADDR_IN_LEN), 0);
  ASSERT_EQ(sys_listen(net, l, 5), 0);
  TcpSeg syn;
  syn.options = linux_syn_options(777);
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  const Bytes& f = out[0];
  const size_t opt = SentTcp::T + 20;
  ASSERT_GT(f.size(), opt + 4);
  EXPECT_EQ(f[opt], 2);  // TCPOPT_MSS: tcp_mss_clamp(1460, user_mss 500)
  EXPECT_EQ(be16(f, opt + 2), 500);
  // tcp_openreq_init_rwin with the clamped MSS: 65535 rounded down to a
  // multiple of 500 - 12 (timestamps).
  EXPECT_EQ(SentTcp(f).window(), 65392);
}

TEST_F(TcpSockoptTest, AcceptedChildInheritsTheListenersOptions) {
  const int l = tcp();
  ASSERT_EQ(set(l, TCP_MAXSEG_, 500), 0);
  ASSERT_EQ(set(l, TCP_NODELAY_, 1), 0);
  ASSERT_EQ(set(l, TCP_KEEPIDLE_, 5), 0);
  ASSERT_EQ(set(l, TCP_USER_TIMEOUT_, 700), 0);
  ASSERT_EQ(set(l, SO_KEEPALIVE_, 1, SOL_SOCKET_), 0);
  ASSERT_EQ(set_bytes(l, SOL_TCP_, TCP_CONGESTION_, "reno", 4), 0);
  SockaddrIn a;
  a.port = 80;
  ASSERT_EQ(sys_bind(net, l, a, SOCKADDR_IN_LEN), 0);
  ASSERT_EQ(sys_listen(net, l, 5), 0);
  TcpSeg syn;
  syn.seq = 5000;
  syn.options = linux_syn_options(777);
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  TcpSeg ack;
  ack.flags = kAck;
  ack.seq = 5001;
  ack.ack = SentTcp(out[0]).seq() + 1;
  ack.window = 502;
  send(ack);
  const int c = sys_accept(net, l);
  ASSERT_GE(c, 0);
  EXPECT_EQ(tp(c)->rx_opt.user_mss, 500);
  EXPECT_EQ(get(c, TCP_NODELAY_), 1);
  EXPECT_EQ(get(c, TCP_KEEPIDLE_), 5);
  EXPECT_EQ(get(c, TCP_USER_TIMEOUT_), 700);
  EXPECT_EQ(get(c, SO_KEEPALIVE_, SOL_SOCKET_), 1);
  auto name = get_bytes(c, SOL_TCP_, TCP_CONGESTION_, 16);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(name.data())), "reno");
}

}  // namespace
}  // namespace nettwin::test
