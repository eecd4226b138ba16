// The active open (__inet_stream_connect, tcp_v4_connect, __inet_hash_connect,
// tcp_connect, tcp_rcv_synsent_state_process, the SYN retransmit timer): the
// errnos connect() returns as Linux does, Linux's SYN, and what each answer
// in SYN_SENT leads to.
#include <gtest/gtest.h>

#include "core/jiffies.h"
#include "core/net.h"
#include "core/secure_seq.h"
#include "ipv4/tcp_info.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "tcp_test_helpers.h"

namespace nettwin::test {
namespace {

constexpr uint16_t kPeerPort = 40000;
constexpr uint64_t kMs = 1'000'000;

struct TcpConnectTest : TcpDutTest {
  void SetUp() override {
    TcpDutTest::SetUp();
    d.trace();
  }
  int sock(bool nonblock = true) {
    return sys_socket(net, AF_INET_, SOCK_STREAM_ | (nonblock ? SOCK_NONBLOCK_ : 0), 0);
  }
  int connect(int fd, uint32_t addr = kTesterIp, uint16_t port = kPeerPort, int len = SOCKADDR_IN_LEN,
              int family = AF_INET_) {
    SockaddrIn a;
    a.family = family;
    a.addr = addr;
    a.port = port;
    return sys_connect(net, fd, a, len);
  }
  std::vector<Bytes> wire(uint64_t advance_ns = kMs) {
    d.stack.advance(advance_ns);
    std::vector<Bytes> out;
    for (auto& w : d.stack.take_wire()) out.push_back(w.data);
    return out;
  }
  // The SYN a non-blocking connect sends.
  Bytes connect_syn(int fd) {
    EXPECT_EQ(connect(fd), -E_INPROGRESS);
    auto out = wire();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? Bytes{} : out[0];
  }
  // A segment from the tester to the DUT's connecting socket.
  std::vector<Bytes> answer(const Bytes& syn, uint8_t flags, uint32_t seq, uint32_t ack, Bytes options = {},
                            uint16_t window = 65535) {
    SentTcp s(syn);
    TcpSeg t;
    t.sport = kPeerPort;
    t.dport = s.sport();
    t.flags = flags;
    t.seq = seq;
    t.ack = ack;
    t.window = window;
    t.options = std::move(options);
    d.inject(tcp_frame(t));
    return wire();
  }
  int so_error(int fd) {
    int v = -1;
    EXPECT_EQ(sys_getsockopt(net, fd, SOL_SOCKET_, SO_ERROR_, &v), 0);
    return v;
  }
  int state(int fd) { return net.sock.files.at(fd)->sk->sk_state; }
};

// A SYN-ACK offering MSS 1460, SACK, TS (echoing tsecr) and WS 7.
Bytes synack_options(uint32_t tsval, uint32_t tsecr) {
  return {2, 4, 0x05, 0xb4, 4, 2, 8, 10, uint8_t(tsval >> 24), uint8_t(tsval >> 16), uint8_t(tsval >> 8),
          uint8_t(tsval), uint8_t(tsecr >> 24), uint8_t(tsecr >> 16), uint8_t(tsecr >> 8), uint8_t(tsecr),
          1, 3, 3, 7};
}

// ------------------------------------------------------------------ errnos

TEST_F(TcpConnectTest, ShortAddressIsEinval) {
  const int fd = sock();
  EXPECT_EQ(connect(fd, kTesterIp, kPeerPort, 8), -E_INVAL);
  EXPECT_EQ(connect(fd, kTesterIp, kPeerPort, 1), -E_INVAL);
  EXPECT_TRUE(wire().empty());
}

TEST_F(TcpConnectTest, OtherFamilyIsEafnosupport) {
  const int fd = sock();
  EXPECT_EQ(connect(fd, kTesterIp, kPeerPort, SOCKADDR_IN_LEN, 10), -E_AFNOSUPPORT);  // AF_INET6
  EXPECT_EQ(state(fd), TCP_CLOSE);
}

TEST_F(TcpConnectTest, NoRouteIsEnetunreachAndCountsOutNoRoutes) {
  const int fd = sock();
  EXPECT_EQ(connect(fd, 0xcb007101), -E_NETUNREACH);  // 203.0.113.1: no route
  EXPECT_EQ(d.counter("Ip.OutNoRoutes"), 1u);
  EXPECT_EQ(d.counter("Tcp.ActiveOpens"), 0u);
  EXPECT_TRUE(wire().empty());
}

TEST_F(TcpConnectTest, BroadcastDestinationIsEnetunreach) {
  const int fd = sock();
  EXPECT_EQ(connect(fd, 0xc63364ff), -E_NETUNREACH);  // 198.51.100.255: RTCF_BROADCAST
  EXPECT_EQ(d.counter("Ip.OutNoRoutes"), 0u);
  EXPECT_EQ(state(fd), TCP_CLOSE);
}

TEST_F(TcpConnectTest, ListenerIsEisconn) {
  const int fd = sock();
  SockaddrIn a;
  a.port = 80;
  ASSERT_EQ(sys_bind(net, fd, a, SOCKADDR_IN_LEN), 0);
  ASSERT_EQ(sys_listen(net, fd, 4), 0);
  // __inet_stream_connect: SS_UNCONNECTED but not TCP_CLOSE.
  EXPECT_EQ(connect(fd), -E_ISCONN);
  EXPECT_EQ(state(fd), TCP_LISTEN);
}

TEST_F(TcpConnectTest, SecondConnectInProgressIsEalready) {
  const int fd = sock();
  connect_syn(fd);
  EXPECT_EQ(connect(fd), -E_ALREADY);
  EXPECT_EQ(state(fd), TCP_SYN_SENT);
  EXPECT_TRUE(wire().empty());  // no second SYN
}

TEST_F(TcpConnectTest, SameFourTupleTwiceWithOnePortIsEaddrnotavail) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.ip_local_port_range", "50000 50000").has_value());
  const int a = sock(), b = sock(), c = sock();
  connect_syn(a);
  EXPECT_EQ(connect(b), -E_ADDRNOTAVAIL);
  EXPECT_EQ(state(b), TCP_CLOSE);
  // Another destination port is another 4-tuple: the same local port serves.
  EXPECT_EQ(connect(c, kTesterIp, kPeerPort + 1), -E_INPROGRESS);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).sport(), 50000);
}

TEST_F(TcpConnectTest, PortBoundByBindIsNotSharedWithConnect) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.ip_local_port_range", "50000 50001").has_value());
  const int l = sock(), c = sock();
  SockaddrIn a;
  a.port = 50000;
  ASSERT_EQ(sys_bind(net, l, a, SOCKADDR_IN_LEN), 0);
  const Bytes syn = connect_syn(c);
  EXPECT_EQ(SentTcp(syn).sport(), 50001);
}

// ------------------------------------------------------------------ the SYN

TEST_F(TcpConnectTest, SynHasLinuxOptionsWindowAndState) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.ip_local_port_range", "50000 50000").has_value());
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  SentTcp t(syn);
  EXPECT_EQ(t.flags(), kSyn);
  EXPECT_EQ(t.sport(), 50000);
  EXPECT_EQ(t.dport(), kPeerPort);
  EXPECT_EQ(t.ack(), 0u);
  EXPECT_TRUE(t.csum_ok());
  // ISN: secure_tcp_seq over (our address, theirs, our port, theirs).
  const uint32_t later = secure_tcp_seq(net, kDutIp, kTesterIp, 50000, kPeerPort);
  EXPECT_LE(later - t.seq(), 2 * kMs / 64 + 1);
  // tcp_select_initial_window: 65536 rounded down to a multiple of 1460 (no
  // timestamps deducted before the peer agreed): 64240; wscale 10.
  EXPECT_EQ(t.window(), 64240);
  const Bytes o = t.options();
  ASSERT_EQ(o.size(), 20u);
  const Bytes head = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};
  EXPECT_EQ(Bytes(o.begin(), o.begin() + 8), head);
  EXPECT_EQ(be32(o, 12), 0u);  // nothing to echo yet
  const Bytes ws = {1, 3, 3, 10};
  EXPECT_EQ(Bytes(o.begin() + 16, o.end()), ws);
  EXPECT_EQ(be32(o, 8) - secure_tcp_ts_off(net, 1, kDutIp, kTesterIp), tcp_clock_ms_at(net, d.stack.now_ns() - kMs));
  EXPECT_EQ(be16(syn, 14 + 6), 0x4000);  // DF
  EXPECT_EQ(state(fd), TCP_SYN_SENT);
  auto st = d.named("sock:inet_sock_set_state");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(d.field(*st[0], "oldstate"), "TCP_CLOSE");
  EXPECT_EQ(d.field(*st[0], "newstate"), "TCP_SYN_SENT");
  EXPECT_EQ(d.field(*st[0], "sport"), "0");  // traced before the port is chosen
  EXPECT_EQ(d.counter("Tcp.ActiveOpens"), 1u);
  EXPECT_EQ(d.counter("Tcp.OutSegs"), 1u);
  // getsockname: the route's source and the ephemeral port.
  SockaddrIn me;
  ASSERT_EQ(sys_getsockname(net, fd, &me), 0);
  EXPECT_EQ(me.addr, kDutIp);
  EXPECT_EQ(me.port, 50000);
}

TEST_F(TcpConnectTest, WithoutTimestampsSackIsNopNopSackPerm) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_timestamps", "0").has_value());
  const Bytes syn = connect_syn(sock());
  const Bytes want = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 10};
  EXPECT_EQ(SentTcp(syn).options(), want);
}

// ------------------------------------------------------------------ SYN_SENT

// TCP_QUICKACK 0 before connect (pingpong mode): tcp_rcv_synsent_state_process
// saves the handshake's ACK for the delayed-ACK timer (TCP_DELACK_MAX, 200 ms),
// as Linux recorded it (explore seed 1796620267 #47; TcpExt.DelayedACKs).
TEST_F(TcpConnectTest, InPingpongModeTheHandshakeAckWaitsForTheDelayedAckTimer) {
  const int fd = sock();
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_TCP_, TCP_QUICKACK_, 0, 4), 0);
  const Bytes syn = connect_syn(fd);
  const uint32_t isn = SentTcp(syn).seq();
  const uint32_t tsval = be32(SentTcp(syn).options(), 8);
  EXPECT_TRUE(answer(syn, kSyn | kAck, 7000, isn + 1, synack_options(123456, tsval)).empty());
  EXPECT_EQ(state(fd), TCP_ESTABLISHED);
  d.stack.advance(150'000'000);
  EXPECT_TRUE(wire().empty());
  d.stack.advance(100'000'000);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);
  EXPECT_EQ(SentTcp(out[0]).ack(), 7001u);
  EXPECT_EQ(net.mib.tcpext.DelayedACKs, 1u);
}

// tcp_finish_connect: with window scaling the SYN-ACK's unscaled window can
// not predict the next header, so header prediction starts off and the first
// ACK takes the slow path (TcpExt.TCPPureAcks, not TCPHPAcks; recorded:
// explore seed 2026120714 #260, #269).
TEST_F(TcpConnectTest, WithWindowScalingTheFastPathStartsOff) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  const uint32_t isn = SentTcp(syn).seq();
  const uint32_t tsval = be32(SentTcp(syn).options(), 8);
  answer(syn, kSyn | kAck, 7000, isn + 1, synack_options(123456, tsval));
  ASSERT_EQ(state(fd), TCP_ESTABLISHED);
  EXPECT_EQ(static_cast<TcpSock*>(net.sock.files.at(fd)->sk)->pred_flags, 0u);
}

TEST_F(TcpConnectTest, SynAckEstablishesAndIsAcked) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  const uint32_t isn = SentTcp(syn).seq();
  const uint32_t tsval = be32(SentTcp(syn).options(), 8);
  auto out = answer(syn, kSyn | kAck, 7000, isn + 1, synack_options(123456, tsval));
  ASSERT_EQ(out.size(), 1u);
  SentTcp a(out[0]);
  EXPECT_EQ(a.flags(), kAck);
  EXPECT_EQ(a.seq(), isn + 1);
  EXPECT_EQ(a.ack(), 7001u);
  // NOP NOP TS echoing the peer's TSval.
  const Bytes o = a.options();
  ASSERT_EQ(o.size(), 12u);
  EXPECT_EQ(be32(o, 8), 123456u);
  EXPECT_EQ(state(fd), TCP_ESTABLISHED);
  // The non-blocking connect finishes once: 0, then EISCONN.
  EXPECT_EQ(connect(fd), 0);
  EXPECT_EQ(connect(fd), -E_ISCONN);
  EXPECT_EQ(so_error(fd), 0);
  EXPECT_EQ(sys_poll(net, fd, POLLOUT_, 0), int(POLLOUT_));
  Sock* sk = net.sock.files.at(fd)->sk;
  const TcpSock* tp = tcp_sk(sk);
  EXPECT_EQ(tcp_current_mss(sk), 1448u);  // 1460 less the timestamps
  EXPECT_EQ(tp->rx_opt.snd_wscale, 7);
  EXPECT_EQ(tp->rx_opt.rcv_wscale, 10);
  EXPECT_TRUE(tp->rx_opt.sack_ok);
  EXPECT_EQ(tp->snd_wnd, 65535u);  // a SYN-ACK's window is never scaled
  EXPECT_EQ(tp->snd_una, isn + 1);
  EXPECT_EQ(d.counter("Tcp.OutSegs"), 2u);
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 0u);
  // No retransmission later: the timer stopped with the SYN acked.
  EXPECT_TRUE(wire(3000 * kMs).empty());
}

TEST_F(TcpConnectTest, TcpInfoAfterTheHandshakeIsWhatLinuxRecorded) {
  // tcp_active_open_full's TCP_INFO right after connect: ESTABLISHED, TS +
  // SACK + WS, snd_wscale 7 / rcv_wscale 10, delivery_rate_app_limited, snd_mss
  // 1448, rcv_mss 536, pmtu 1500, rcv_ssthresh 64088 (one segment reserved),
  // ssthresh infinite, cwnd 10, advmss 1448, reordering 3.
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  const uint32_t tsval = be32(SentTcp(syn).options(), 8);
  ASSERT_EQ(answer(syn, kSyn | kAck, 7000, SentTcp(syn).seq() + 1, synack_options(99, tsval), 65160).size(), 1u);
  TcpInfo info;
  tcp_get_info(net.sock.files.at(fd)->sk, &info);
  EXPECT_EQ(info.tcpi_state, TCP_ESTABLISHED);
  EXPECT_EQ(info.tcpi_options, 7);  // TCPI_OPT_TIMESTAMPS | SACK | WSCALE
  EXPECT_EQ(info.tcpi_snd_wscale, 7);
  EXPECT_EQ(info.tcpi_rcv_wscale, 10);
  EXPECT_EQ(info.tcpi_delivery_rate_app_limited, 1);
  EXPECT_EQ(info.tcpi_snd_mss, 1448u);
  EXPECT_EQ(info.tcpi_rcv_mss, 536u);
  EXPECT_EQ(info.tcpi_pmtu, 1500u);
  EXPECT_EQ(info.tcpi_rcv_ssthresh, 64088u);
  EXPECT_EQ(info.tcpi_snd_ssthresh, 0x7fffffffu);
  EXPECT_EQ(info.tcpi_snd_cwnd, 10u);
  EXPECT_EQ(info.tcpi_advmss, 1448u);
  EXPECT_EQ(info.tcpi_reordering, 3u);
  EXPECT_EQ(info.tcpi_unacked, 0u);
  EXPECT_EQ(info.tcpi_total_retrans, 0u);
}

TEST_F(TcpConnectTest, RstAckRefusesNonBlocking) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  EXPECT_TRUE(answer(syn, kRst | kAck, 0, SentTcp(syn).seq() + 1).empty());
  EXPECT_EQ(state(fd), TCP_CLOSE);
  // tcp_poll: CLOSE is a hang-up, both directions shut, an error pending.
  EXPECT_EQ(sys_poll(net, fd, POLLOUT_, 0), int(POLLOUT_ | POLLERR_ | POLLHUP_));
  EXPECT_EQ(so_error(fd), E_CONNREFUSED);
  EXPECT_EQ(so_error(fd), 0);  // read once
  ASSERT_EQ(d.named("tcp:tcp_receive_reset").size(), 1u);
  auto st = d.named("sock:inet_sock_set_state");
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(d.field(*st[1], "newstate"), "TCP_CLOSE");
  EXPECT_EQ(d.counter("Tcp.AttemptFails"), 1u);
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 0u);
  // The socket is unhashed and its port free.
  EXPECT_TRUE(net.sock.tcp_ehash.empty());
  EXPECT_TRUE(net.sock.tcp_bhash.empty());
}

TEST_F(TcpConnectTest, ConnectAfterRefusalReportsItThenStartsAgain) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  answer(syn, kRst | kAck, 0, SentTcp(syn).seq() + 1);
  // SS_CONNECTING with a closed socket: the error, once (sock_error).
  EXPECT_EQ(connect(fd), -E_CONNREFUSED);
  EXPECT_EQ(so_error(fd), 0);
  // tcp_disconnect made it reusable: a new attempt.
  EXPECT_EQ(connect(fd), -E_INPROGRESS);
  EXPECT_EQ(wire().size(), 1u);
}

TEST_F(TcpConnectTest, BlockingConnectRefusedByRst) {
  const int fd = sock(false);
  // The tester answers the SYN 5 ms after it leaves, while connect() blocks.
  net.engine.add_timer(net.engine.now() + 5 * kMs, [&] {
    auto out = d.stack.take_wire();
    ASSERT_EQ(out.size(), 1u);
    const Bytes& syn = out[0].data;
    TcpSeg t;
    t.sport = kPeerPort;
    t.dport = SentTcp(syn).sport();
    t.flags = kRst | kAck;
    t.seq = 0;
    t.ack = SentTcp(syn).seq() + 1;
    d.inject(tcp_frame(t));
  });
  EXPECT_EQ(connect(fd), -E_CONNREFUSED);
  EXPECT_EQ(so_error(fd), 0);  // connect() took the error
}

TEST_F(TcpConnectTest, AckOfSomethingElseDrawsRstAndSynAgainSoon) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  const uint32_t isn = SentTcp(syn).seq();
  auto out = answer(syn, kSyn | kAck, 7000, isn + 100);
  ASSERT_GE(out.size(), 1u);
  SentTcp r(out[0]);
  EXPECT_EQ(r.flags(), kRst);
  EXPECT_EQ(r.seq(), isn + 100);  // the ACK's ack_seq
  EXPECT_EQ(state(fd), TCP_SYN_SENT);
  auto rst = d.named("tcp:tcp_send_reset");
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(d.field(*rst[0], "state"), "TCP_SYN_SENT");
  EXPECT_EQ(d.field(*rst[0], "reason"), "TCP_INVALID_ACK_SEQUENCE");
  // The retransmit timer was re-armed for TCP_TIMEOUT_MIN (2 jiffies).
  std::vector<Bytes> again = out.size() > 1 ? std::vector<Bytes>(out.begin() + 1, out.end()) : wire(20 * kMs);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(SentTcp(again[0]).flags(), kSyn);
  EXPECT_EQ(SentTcp(again[0]).seq(), isn);
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 1u);
}

TEST_F(TcpConnectTest, RstWithoutAckIsIgnored) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  EXPECT_TRUE(answer(syn, kRst, 0, 0).empty());
  EXPECT_EQ(state(fd), TCP_SYN_SENT);
  EXPECT_EQ(so_error(fd), 0);
  EXPECT_TRUE(d.named("tcp:tcp_receive_reset").empty());
}

TEST_F(TcpConnectTest, CrossedSynIsASimultaneousOpen) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  const uint32_t isn = SentTcp(syn).seq();
  // The peer's own SYN (no ACK), offering timestamps: our SYN again, with ACK.
  auto out = answer(syn, kSyn, 7000, 0, {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 42, 0, 0, 0, 0, 1, 3, 3, 7});
  ASSERT_EQ(out.size(), 1u);
  SentTcp sa(out[0]);
  EXPECT_EQ(sa.flags(), kSyn | kAck);
  EXPECT_EQ(sa.seq(), isn);
  EXPECT_EQ(sa.ack(), 7001u);
  EXPECT_EQ(sa.window(), 64240);  // a SYN's window: rcv_wnd, never scaled
  const Bytes o = sa.options();
  ASSERT_EQ(o.size(), 20u);
  const Bytes head = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};
  EXPECT_EQ(Bytes(o.begin(), o.begin() + 8), head);
  EXPECT_EQ(be32(o, 12), 42u);  // the peer's TSval echoed
  EXPECT_TRUE(sa.csum_ok());
  EXPECT_EQ(state(fd), TCP_SYN_RECV);
  auto st = d.named("sock:inet_sock_set_state");
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(d.field(*st[1], "oldstate"), "TCP_SYN_SENT");
  EXPECT_EQ(d.field(*st[1], "newstate"), "TCP_SYN_RECV");
  // Still connecting: a second connect says EALREADY, poll is not writable.
  EXPECT_EQ(connect(fd), -E_ALREADY);
  EXPECT_EQ(sys_poll(net, fd, POLLOUT_, 0), 0);
  // Unanswered, the SYN-ACK is retransmitted on the SYN's timer.
  auto again = wire(1100 * kMs);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(SentTcp(again[0]).flags(), kSyn | kAck);
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 1u);
  // The peer's ACK of our SYN establishes the connection.
  TcpSeg ack;
  ack.sport = kPeerPort;
  ack.dport = sa.sport();
  ack.flags = kAck;
  ack.seq = 7001;
  ack.ack = isn + 1;
  const uint32_t our_tsval = be32(SentTcp(again[0]).options(), 8);
  ack.options = {1, 1, 8, 10, 0, 0, 0, 43};  // NOP NOP TS 43, echoing ours
  put32(ack.options, our_tsval);
  d.inject(tcp_frame(ack));
  EXPECT_TRUE(wire().empty());
  EXPECT_EQ(state(fd), TCP_ESTABLISHED);
  EXPECT_EQ(connect(fd), 0);
  EXPECT_EQ(sys_poll(net, fd, POLLOUT_, 0), int(POLLOUT_));
  EXPECT_TRUE(wire(3000 * kMs).empty());  // nothing left to retransmit
}

TEST_F(TcpConnectTest, BoundSocketConnectsFromItsAddressAndPort) {
  const int fd = sock();
  SockaddrIn a;
  a.addr = kDutIp;
  a.port = 45000;
  ASSERT_EQ(sys_bind(net, fd, a, SOCKADDR_IN_LEN), 0);
  const Bytes syn = connect_syn(fd);
  EXPECT_EQ(SentTcp(syn).sport(), 45000);
  EXPECT_EQ(be32(syn, 14 + 12), kDutIp);
  // A second socket on that port (SO_REUSEADDR) to the same peer: the
  // 4-tuple is taken.
  const int fd2 = sock();
  int one = 1;
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_REUSEADDR_, one, 4), 0);
  ASSERT_EQ(sys_setsockopt(net, fd2, SOL_SOCKET_, SO_REUSEADDR_, one, 4), 0);
  ASSERT_EQ(sys_bind(net, fd2, a, SOCKADDR_IN_LEN), 0);
  EXPECT_EQ(connect(fd2), -E_ADDRNOTAVAIL);
}

TEST_F(TcpConnectTest, AfUnspecDisconnectsAConnectInProgress) {
  const int fd = sock();
  const uint32_t isn = SentTcp(connect_syn(fd)).seq();
  // __inet_stream_connect: AF_UNSPEC is tcp_disconnect; SYN_SENT says ECONNRESET.
  EXPECT_EQ(connect(fd, 0, 0, SOCKADDR_IN_LEN, AF_UNSPEC_), 0);
  EXPECT_EQ(state(fd), TCP_CLOSE);
  EXPECT_EQ(so_error(fd), E_CONNRESET);
  EXPECT_TRUE(net.sock.tcp_ehash.empty());
  EXPECT_TRUE(wire(3000 * kMs).empty());  // the SYN's timer is gone
  // The socket connects again; tcp_disconnect moved write_seq past what the
  // peer may have seen (write_seq + max_window + 2), and connect keeps it.
  EXPECT_EQ(connect(fd), -E_INPROGRESS);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).seq(), isn + 1 + 0 + 2);
}

TEST_F(TcpConnectTest, PeerNameOnlyOnceConnected) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  SockaddrIn peer;
  EXPECT_EQ(sys_getpeername(net, fd, &peer), -E_NOTCONN);  // SYN_SENT
  answer(syn, kSyn | kAck, 7000, SentTcp(syn).seq() + 1);
  ASSERT_EQ(sys_getpeername(net, fd, &peer), 0);
  EXPECT_EQ(peer.addr, kTesterIp);
  EXPECT_EQ(peer.port, kPeerPort);
}

TEST_F(TcpConnectTest, CloseDuringSynSentStopsTheRetransmissions) {
  const int fd = sock();
  connect_syn(fd);
  ASSERT_EQ(sys_close(net, fd), 0);
  EXPECT_TRUE(wire(5000 * kMs).empty());
  EXPECT_TRUE(net.sock.tcp_ehash.empty());
  EXPECT_TRUE(net.sock.tcp_bhash.empty());
  EXPECT_EQ(d.counter("Tcp.AttemptFails"), 0u);
}


TEST_F(TcpConnectTest, PortUnreachableRefusesTheConnect) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  d.inject(icmp_error_quoting(syn, 3, 3));  // ICMP_PORT_UNREACH
  d.stack.advance(kMs);
  EXPECT_EQ(state(fd), TCP_CLOSE);
  EXPECT_EQ(connect(fd), -E_CONNREFUSED);
  EXPECT_EQ(d.counter("Tcp.AttemptFails"), 1u);
  EXPECT_TRUE(wire(3000 * kMs).empty());  // no more SYNs
}

TEST_F(TcpConnectTest, HostUnreachableEndsABlockingConnect) {
  const int fd = sock(false);
  net.engine.add_timer(net.engine.now() + 5 * kMs, [&] {
    auto out = d.stack.take_wire();
    ASSERT_EQ(out.size(), 1u);
    d.inject(icmp_error_quoting(out[0].data, 3, 1));  // ICMP_HOST_UNREACH
  });
  EXPECT_EQ(connect(fd), -E_HOSTUNREACH);
}

TEST_F(TcpConnectTest, IcmpQuotingAnotherSequenceIsIgnored) {
  const int fd = sock();
  Bytes syn = connect_syn(fd);
  syn[14 + 20 + 7] ^= 0x55;  // the quoted seq is not one we sent
  d.inject(icmp_error_quoting(syn, 3, 3));
  d.stack.advance(kMs);
  EXPECT_EQ(state(fd), TCP_SYN_SENT);
  EXPECT_EQ(d.counter("TcpExt.OutOfWindowIcmps"), 1u);
  EXPECT_EQ(so_error(fd), 0);
}

// ------------------------------------------------------------------ SYN retries

// The times (ms after the first SYN) the SYN is sent again; the clock runs
// until the socket leaves SYN_SENT or `limit_ms` passes. A silent peer's
// neighbour entry would fail after its probes: it is made permanent, as the
// recordings do.
std::vector<uint64_t> retransmit_times(TcpConnectTest& t, int fd, uint64_t start, uint64_t limit_ms) {
  EXPECT_FALSE(t.d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  std::vector<uint64_t> times;
  for (uint64_t ms = 0; ms < limit_ms && t.state(fd) == TCP_SYN_SENT; ms += 4) {
    t.d.stack.advance(4 * kMs);
    for (auto& w : t.d.stack.take_wire())
      if (w.data.size() > 14 && be16(w.data, 12) == 0x0800) times.push_back((w.time_ns - start) / kMs);  // not ARP
  }
  return times;
}

TEST_F(TcpConnectTest, SynRetriesLinearThenDoublingThenEtimedout) {
  const int fd = sock();
  ASSERT_EQ(connect(fd), -E_INPROGRESS);
  const uint64_t start = d.stack.now_ns();
  ASSERT_EQ(d.stack.take_wire().size(), 1u);
  const auto times = retransmit_times(*this, fd, start, 200'000);
  // tcp_syn_linear_timeouts 4: five 1 s timeouts, then 2, 4, 8, 16, 32 s
  // (tcp_syn_retries 6 + 4 = 10 retransmissions); each fires on the timer
  // wheel, a granule late at most.
  const uint64_t want[] = {1000, 2000, 3000, 4000, 5000, 7000, 11000, 19000, 35000, 67000};
  ASSERT_EQ(times.size(), 10u) << ::testing::PrintToString(times) << " state " << state(fd) << " err "
                               << so_error(fd) << " at " << (d.stack.now_ns() - start) / kMs;
  uint64_t prev = 0, prev_want = 0;
  for (size_t i = 0; i < 10; ++i) {
    const uint64_t gap = times[i] - prev, want_gap = want[i] - prev_want;
    EXPECT_GE(gap, want_gap) << i;
    EXPECT_LE(gap, want_gap + want_gap / 8 + 8) << i;  // the wheel's level granularity
    prev = times[i];
    prev_want = want[i];
  }
  EXPECT_EQ(state(fd), TCP_CLOSE);
  EXPECT_EQ(so_error(fd), E_TIMEDOUT);
  EXPECT_EQ(d.named("tcp:tcp_retransmit_skb").size(), 10u);
  EXPECT_EQ(d.field(*d.named("tcp:tcp_retransmit_skb")[0], "state"), "TCP_SYN_SENT");
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 10u);
  EXPECT_EQ(d.counter("TcpExt.TCPSynRetrans"), 10u);
  EXPECT_EQ(d.counter("TcpExt.TCPTimeouts"), 11u);
  EXPECT_EQ(d.counter("TcpExt.TCPAbortOnTimeout"), 1u);
  EXPECT_EQ(d.counter("Tcp.AttemptFails"), 1u);
  EXPECT_EQ(d.counter("Tcp.OutSegs"), 1u);  // retransmissions are not OutSegs
}

TEST_F(TcpConnectTest, SynRetries2GivesUpAfterSevenSeconds) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_syn_retries", "2").has_value());
  const int fd = sock();
  ASSERT_EQ(connect(fd), -E_INPROGRESS);
  const uint64_t start = d.stack.now_ns();
  d.stack.take_wire();
  const auto times = retransmit_times(*this, fd, start, 20'000);
  // retransmits_timed_out: (2 << 2) - 1 = 7 initial RTOs; five linear
  // retransmissions fit, the sixth timer finds the time up.
  EXPECT_EQ(times.size(), 5u) << ::testing::PrintToString(times);
  EXPECT_EQ(state(fd), TCP_CLOSE);
  EXPECT_GE((d.stack.now_ns() - start) / kMs, 7000u);
  EXPECT_LE((d.stack.now_ns() - start) / kMs, 7200u);
  EXPECT_EQ(so_error(fd), E_TIMEDOUT);
}

TEST_F(TcpConnectTest, SyncntOnTheSocketOverridesTheSysctl) {
  const int fd = sock();
  tcp_sk(net.sock.files.at(fd)->sk)->icsk_syn_retries = 1;  // TCP_SYNCNT 1
  ASSERT_EQ(connect(fd), -E_INPROGRESS);
  const uint64_t start = d.stack.now_ns();
  d.stack.take_wire();
  const auto times = retransmit_times(*this, fd, start, 20'000);
  // (2 << 1) - 1 = 3 s: retransmissions at 1 and 2 s; the timer after 3 s
  // (a little late on the wheel) finds the time up: ETIMEDOUT.
  EXPECT_EQ(times.size(), 2u);
  EXPECT_EQ(so_error(fd), E_TIMEDOUT);
}

TEST_F(TcpConnectTest, BlockingConnectTimesOut) {
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_syn_retries", "1").has_value());
  const int fd = sock(false);
  EXPECT_EQ(connect(fd), -E_TIMEDOUT);
  EXPECT_EQ(state(fd), TCP_CLOSE);
  EXPECT_EQ(so_error(fd), 0);
}

TEST_F(TcpConnectTest, SynAckAfterRetransmissionsStillEstablishes) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  EXPECT_EQ(wire(1100 * kMs).size(), 1u);
  EXPECT_EQ(wire(1000 * kMs).size(), 1u);
  auto out = answer(syn, kSyn | kAck, 9000, SentTcp(syn).seq() + 1, synack_options(5, 0));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck);
  EXPECT_EQ(state(fd), TCP_ESTABLISHED);
  EXPECT_EQ(sys_poll(net, fd, POLLOUT_, 0), int(POLLOUT_));
  EXPECT_EQ(so_error(fd), 0);
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 2u);
  EXPECT_EQ(d.named("tcp:tcp_retransmit_skb").size(), 2u);
}

// After a SYN's RTO (tcp_enter_loss: ssthresh cut, CWR queued with ECN on), a
// SYN-ACK echoing the retransmitted SYN's TSval: Karn's rule bars the SYN's
// own RTT, the echo gives it (tcp_ack_update_rtt), and the echo is not older
// than the first retransmission, so tcp_packet_delayed says no: no
// TCPLossUndo, and the queued CWR stays for the first data (the recording
// tcp_ecn_syn_retransmit). tcp_init_metrics puts ssthresh back to infinite;
// one retransmission keeps the initial cwnd.
TEST_F(TcpConnectTest, SynAckToARetransmittedSynIsTimedByItsEchoAndUndoesNothing) {
  net.sysctl.tcp_ecn = 1;
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  EXPECT_EQ(SentTcp(syn).flags(), kSyn | kEce | kCwr);
  auto again = wire(1100 * kMs);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(SentTcp(again[0]).flags(), kSyn);  // tcp_ecn_clear_syn
  const uint32_t syn2_ts = be32(SentTcp(again[0]).options(), 8);
  auto out = answer(syn, kSyn | kAck | kEce, 9000, SentTcp(syn).seq() + 1, synack_options(5, syn2_ts));
  ASSERT_EQ(out.size(), 1u);
  const uint32_t ack_ts = be32(SentTcp(out[0]).options(), 4);
  const TcpSock* tp = tcp_sk(net.sock.files.at(fd)->sk);
  EXPECT_EQ(d.counter("TcpExt.TCPLossUndo"), 0u);
  EXPECT_EQ(tp->srtt_us >> 3, (ack_ts - syn2_ts) * 1000u);
  EXPECT_EQ(tp->snd_ssthresh, 0x7fffffffu);
  EXPECT_EQ(tp->snd_cwnd, 10u);
  EXPECT_EQ(tp->icsk_ca_state, TCP_CA_Open);
  SendMsg m;
  const uint8_t data[4] = {'d', 'a', 't', 'a'};
  m.data = std::span<const uint8_t>(data, 4);
  ASSERT_EQ(sys_sendmsg(net, fd, m), 4);
  out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(SentTcp(out[0]).flags(), kAck | kPsh | kCwr);
}

// tcp_init_transfer: a SYN sent three times (RFC 5681's rule takes more than
// one retransmission) starts the transfer from cwnd 1, and a handshake with
// no RTT sample (Karn's rule, TSecr 0) from the 3 s fallback RTO
// (tcp_init_metrics, RFC 6298 5.7).
TEST_F(TcpConnectTest, TwoSynRetransmissionsWithoutAnRttStartFromCwndOneAndAThreeSecondRto) {
  const int fd = sock();
  const Bytes syn = connect_syn(fd);
  ASSERT_EQ(wire(1100 * kMs).size(), 1u);
  ASSERT_EQ(wire(1000 * kMs).size(), 1u);  // tcp_syn_linear_timeouts: 1 s again
  ASSERT_EQ(answer(syn, kSyn | kAck, 9000, SentTcp(syn).seq() + 1, synack_options(5, 0)).size(), 1u);
  const TcpSock* tp = tcp_sk(net.sock.files.at(fd)->sk);
  EXPECT_EQ(tp->srtt_us, 0u);
  EXPECT_EQ(tp->icsk_rto, 3u * HZ);
  EXPECT_EQ(tp->snd_cwnd, 1u);
  EXPECT_EQ(tp->snd_ssthresh, 0x7fffffffu);
}

}  // namespace
}  // namespace nettwin::test

namespace nettwin::test {
namespace {

// A SYN sent at the virtual clock's very start still starts the give-up clock
// (retrans_stamp is "not set" at 0 in Linux, whose ms clock counts from boot):
// tcp_syn_retries 1 gives up 3 initial RTOs after it, as packetdrill's
// syn_retries script proves on Linux.
TEST(TcpConnectAtStart, SynRetriesOneGivesUpThreeSecondsAfterASynSentAtTimeZero) {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.tcp_syn_retries", "1").has_value());
  const int fd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
  ASSERT_EQ(sys_fcntl_setfl(net, fd, O_NONBLOCK_), 0);
  SockaddrIn a;
  a.addr = kTesterIp;
  a.port = 8080;
  ASSERT_EQ(sys_connect(net, fd, a, SOCKADDR_IN_LEN), -E_INPROGRESS);
  ASSERT_EQ(d.stack.now_ns(), 0u);
  const Sock* sk = net.sock.files.at(fd)->sk;
  uint64_t closed_at = 0;
  for (int i = 0; i < 500 && !closed_at; ++i) {
    d.stack.advance(10'000'000);
    if (sk->sk_state == TCP_CLOSE) closed_at = d.stack.now_ns();
  }
  EXPECT_GE(closed_at, 3'000'000'000u);
  EXPECT_LE(closed_at, 3'100'000'000u);
}

}  // namespace
}  // namespace nettwin::test
