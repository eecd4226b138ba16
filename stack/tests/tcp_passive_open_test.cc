// The passive open (tcp_conn_request, tcp_make_synack, tcp_check_req,
// tcp_v4_syn_recv_sock, inet_csk_accept): a SYN to a listener is answered with
// Linux's SYN-ACK; the ACK makes an established child that accept() returns.
#include <gtest/gtest.h>

#include "core/net.h"
#include "core/secure_seq.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "tcp_test_helpers.h"

namespace nettwin::test {
namespace {

struct TcpPassiveOpenTest : TcpDutTest {
  void SetUp() override {
    TcpDutTest::SetUp();
    d.trace();
  }
  int listener(uint32_t addr = 0, uint16_t port = 80, int backlog = 5) {
    const int fd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
    SockaddrIn a;
    a.addr = addr;
    a.port = port;
    EXPECT_EQ(sys_bind(net, fd, a, SOCKADDR_IN_LEN), 0);
    EXPECT_EQ(sys_listen(net, fd, backlog), 0);
    return fd;
  }
  // SYN then ACK from the tester's port; the SYN-ACK's seq in *isn.
  void handshake(uint16_t sport, uint32_t* isn = nullptr) {
    TcpSeg syn;
    syn.sport = sport;
    syn.seq = 5000;
    syn.options = linux_syn_options(777);
    auto out = send(syn);
    ASSERT_EQ(out.size(), 1u);
    SentTcp sa(out[0]);
    TcpSeg ack;
    ack.sport = sport;
    ack.flags = kAck;
    ack.seq = 5001;
    ack.ack = sa.seq() + 1;
    ack.window = 502;
    EXPECT_TRUE(send(ack).empty());
    if (isn) *isn = sa.seq();
  }
};

TEST_F(TcpPassiveOpenTest, SynGetsLinuxSynAckWithTimestampsSackAndWscale) {
  listener();
  TcpSeg syn;
  syn.seq = 0x10000000;
  syn.options = linux_syn_options(1000);
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  const Bytes& f = out[0];
  SentTcp t(f);
  EXPECT_EQ(t.flags(), kSyn | kAck);
  EXPECT_EQ(t.sport(), 80);
  EXPECT_EQ(t.dport(), 40000);
  EXPECT_EQ(t.ack(), 0x10000001u);
  EXPECT_TRUE(t.csum_ok());
  // ISN: secure_tcp_seq over (our address, theirs, our port, theirs); its
  // clock part moves by at most 1 ms / 64 ns between the SYN and now.
  const uint32_t later = secure_tcp_seq(net, kDutIp, kTesterIp, 80, 40000);
  EXPECT_LE(later - t.seq(), 1'000'000u / 64 + 1);
  // tcp_select_initial_window: 131072 * 128 >> 8 = 65536, rounded down to a
  // multiple of 1460 - 12 = 1448: 65160; wscale ilog2(tcp_rmem[2]) - 15 = 10.
  EXPECT_EQ(t.window(), 65160);
  ASSERT_EQ(t.doff(), 10u);
  const Bytes o = t.options();
  const Bytes head = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};
  EXPECT_EQ(Bytes(o.begin(), o.begin() + 8), head);
  EXPECT_EQ(be32(o, 12), 1000u);  // TSecr echoes the SYN's TSval
  const Bytes ws = {1, 3, 3, 10};
  EXPECT_EQ(Bytes(o.begin() + 16, o.end()), ws);
  // TSval: the ms clock plus the connection's offset.
  const uint32_t ts_off = secure_tcp_ts_off(net, 1, kDutIp, kTesterIp);
  const uint32_t ms = be32(o, 8) - ts_off;
  EXPECT_LE(ms, tcp_clock_ms_at(net, d.stack.now_ns()));
  EXPECT_GE(ms + 1, tcp_clock_ms_at(net, d.stack.now_ns() - 1'000'000));
  // ip_build_and_send_pkt: DF, ID 0, TTL 64, TOS 0.
  EXPECT_EQ(be16(f, 14 + 6), 0x4000);
  EXPECT_EQ(be16(f, 14 + 4), 0);
  EXPECT_EQ(f[14 + 8], 64);
  EXPECT_EQ(f[14 + 1], 0);
  EXPECT_EQ(be32(f, 14 + 12), kDutIp);
  EXPECT_EQ(be32(f, 14 + 16), kTesterIp);
  // The SYN is consumed, not dropped.
  EXPECT_TRUE(d.named("skb:kfree_skb").empty());
  auto consumed = d.named("skb:consume_skb");
  ASSERT_FALSE(consumed.empty());
  EXPECT_EQ(d.field(*consumed[0], "location"), "tcp_rcv_state_process");
  EXPECT_EQ(d.counter("Tcp.OutSegs"), 1u);
  EXPECT_EQ(d.counter("Tcp.OutRsts"), 0u);
}

TEST_F(TcpPassiveOpenTest, WithoutTimestampsSackIsNopNopAndWindowIsAMultipleOf1460) {
  listener();
  TcpSeg syn;
  syn.options = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  SentTcp t(out[0]);
  EXPECT_EQ(t.window(), 64240);  // 44 * 1460
  const Bytes want = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 10};
  EXPECT_EQ(t.options(), want);
}

TEST_F(TcpPassiveOpenTest, TimestampsSysctlOffIgnoresTheSynsTimestamp) {
  ASSERT_FALSE(net.sysctl.set("net.ipv4.tcp_timestamps", "0").has_value());
  listener();
  TcpSeg syn;
  syn.options = linux_syn_options(1000);
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  const Bytes want = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 10};
  EXPECT_EQ(SentTcp(out[0]).options(), want);
}

TEST_F(TcpPassiveOpenTest, SynWithoutOptionsGetsOnlyMss) {
  listener(kDutIp);
  TcpSeg syn;
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  const Bytes want = {2, 4, 0x05, 0xb4};
  EXPECT_EQ(SentTcp(out[0]).options(), want);
  EXPECT_EQ(SentTcp(out[0]).window(), 64240);
}

TEST_F(TcpPassiveOpenTest, AckCompletesTheHandshakeAndAcceptReturnsTheChild) {
  const int lfd = listener();
  uint32_t isn = 0;
  handshake(40000, &isn);
  EXPECT_EQ(d.counter("Tcp.PassiveOpens"), 1u);
  EXPECT_TRUE(d.named("skb:kfree_skb").empty());  // the ACK is freed untraced
  auto st = d.named("sock:inet_sock_set_state");
  // The listener CLOSE -> LISTEN; the child, cloned from it, LISTEN -> SYN_RECV
  // (inet_csk_clone_lock) then SYN_RECV -> ESTABLISHED, with its 4-tuple.
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(d.field(*st[0], "newstate"), "TCP_LISTEN");
  EXPECT_EQ(d.field(*st[1], "oldstate"), "TCP_LISTEN");
  EXPECT_EQ(d.field(*st[1], "newstate"), "TCP_SYN_RECV");
  EXPECT_EQ(d.field(*st[2], "oldstate"), "TCP_SYN_RECV");
  EXPECT_EQ(d.field(*st[2], "newstate"), "TCP_ESTABLISHED");
  for (int i : {1, 2}) {
    EXPECT_EQ(d.field(*st[i], "sport"), "80");
    EXPECT_EQ(d.field(*st[i], "dport"), "40000");
    EXPECT_EQ(d.field(*st[i], "saddr"), "198.51.100.2");
    EXPECT_EQ(d.field(*st[i], "daddr"), "198.51.100.1");
  }
  SockaddrIn peer;
  const int cfd = sys_accept4(net, lfd, &peer, 0, 0);
  ASSERT_GE(cfd, 3);
  EXPECT_EQ(peer.addr, kTesterIp);
  EXPECT_EQ(peer.port, 40000);
  SockaddrIn name, pn;
  ASSERT_EQ(sys_getsockname(net, cfd, &name), 0);
  EXPECT_EQ(name.addr, kDutIp);  // the listener was on the wildcard
  EXPECT_EQ(name.port, 80);
  ASSERT_EQ(sys_getpeername(net, cfd, &pn), 0);
  EXPECT_EQ(pn.addr, kTesterIp);
  EXPECT_EQ(pn.port, 40000);
  Sock* child = net.sock.files.at(cfd)->sk;
  EXPECT_EQ(child->sk_state, TCP_ESTABLISHED);
  auto* tp = static_cast<TcpSock*>(child);
  EXPECT_EQ(tp->snd_nxt, isn + 1);
  EXPECT_EQ(tp->rcv_nxt, 5001u);
  EXPECT_EQ(tp->snd_wnd, 502u << 7);  // the ACK's window, scaled by the SYN's wscale
  // tcp_create_openreq_child counts the SYN, tcp_child_process the ACK (tcpi_segs_in).
  EXPECT_EQ(tp->segs_in, 2u);
  EXPECT_EQ(tp->data_segs_in, 0u);
  EXPECT_EQ(sys_accept4(net, lfd, nullptr, SOCK_NONBLOCK_, 0), -E_AGAIN);
  // close() sends a FIN (tcp_close_state: FIN_WAIT1); the orphan stays in
  // the established hash, holding the port, until the peer answers.
  EXPECT_EQ(sys_close(net, cfd), 0);
  EXPECT_EQ(child->sk_state, TCP_FIN_WAIT1);
  EXPECT_EQ(sys_close(net, lfd), 0);
  EXPECT_EQ(net.sock.tcp_ehash.size(), 1u);
  EXPECT_EQ(net.sock.tcp_bhash.count(80), 1u);
}

// The request's window clamp is a u32 (65535 << rcv_wscale when nothing clamps
// it), so tcp_init_buffer_space clamps the child to its full space less one
// segment: with TCP_MAXSEG 88 (advmss 76), 65536 - 76 = 65460, the rcv_ssthresh
// Linux's tcp_info gave (explore seed 2026120799 #112; a 16-bit clamp had
// truncated it to 65536 - (1 << rcv_wscale)).
TEST_F(TcpPassiveOpenTest, TheChildsWindowClampIsItsFullSpaceLessOneSegment) {
  const int lfd = listener();
  ASSERT_EQ(sys_setsockopt(net, lfd, SOL_TCP_, TCP_MAXSEG_, 88, 4), 0);
  handshake(40000);
  const int cfd = sys_accept4(net, lfd, nullptr, 0, 0);
  ASSERT_GE(cfd, 3);
  auto* tp = static_cast<TcpSock*>(net.sock.files.at(cfd)->sk);
  ASSERT_GE(tp->rx_opt.rcv_wscale, 7);  // a 16-bit clamp would be 65536 - 128 or less
  EXPECT_EQ(tp->advmss, 76u);
  EXPECT_EQ(tp->rcv_wnd, 65512u);  // 65536 rounded down to the 76-byte MSS
  EXPECT_EQ(tp->window_clamp, 65460u);
  EXPECT_EQ(tp->rcv_ssthresh, 65460u);
}

TEST_F(TcpPassiveOpenTest, ClosingTheListenerResetsAConnectionNotYetAccepted) {
  const int lfd = listener();
  uint32_t isn = 0;
  handshake(40000, &isn);
  ASSERT_EQ(sys_close(net, lfd), 0);
  // inet_child_forget: tcp_disconnect sends the child's reset (ESTABLISHED needs one).
  auto out = take();
  ASSERT_EQ(out.size(), 1u);
  SentTcp r(out[0]);
  EXPECT_EQ(r.flags(), kRst | kAck);
  EXPECT_EQ(r.seq(), isn + 1);
  EXPECT_EQ(r.ack(), 5001u);
  EXPECT_EQ(r.dport(), 40000);
  auto rst = d.named("tcp:tcp_send_reset");
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(d.field(*rst[0], "reason"), "TCP_STATE");
  EXPECT_TRUE(net.sock.tcp_ehash.empty());
  EXPECT_EQ(net.sock.tcp_bhash.count(80), 0u);
}

TEST_F(TcpPassiveOpenTest, RetransmittedSynGetsTheSameSynAckOncePerRateLimit) {
  listener();
  TcpSeg syn;
  syn.options = linux_syn_options(1000);
  auto first = send(syn);
  ASSERT_EQ(first.size(), 1u);
  auto again = send(syn);  // 1 ms later
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(SentTcp(again[0]).seq(), SentTcp(first[0]).seq());
  EXPECT_EQ(SentTcp(again[0]).flags(), kSyn | kAck);
  EXPECT_EQ(d.counter("Tcp.RetransSegs"), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPSynRetrans"), 1u);
  EXPECT_TRUE(send(syn).empty());  // within 500 ms of the last answer
  EXPECT_EQ(d.counter("TcpExt.TCPACKSkippedSynRecv"), 1u);
  d.stack.advance(600'000'000);
  EXPECT_EQ(send(syn).size(), 1u);
  EXPECT_EQ(d.counter("TcpExt.TCPSynRetrans"), 2u);
}

TEST_F(TcpPassiveOpenTest, AckWithWrongAckNumberIsResetByTheListener) {
  listener();
  TcpSeg syn;
  syn.options = linux_syn_options(1);
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  TcpSeg ack;
  ack.flags = kAck;
  ack.seq = 1001;
  ack.ack = SentTcp(out[0]).seq() + 7;
  auto rst = send(ack);
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(SentTcp(rst[0]).flags(), kRst);
  EXPECT_EQ(SentTcp(rst[0]).seq(), ack.ack);
  EXPECT_EQ(d.counter("Tcp.PassiveOpens"), 0u);
}

TEST_F(TcpPassiveOpenTest, FullAcceptQueueDropsTheSyn) {
  const int lfd = listener(0, 80, 0);  // backlog 0 still takes one child
  handshake(40000);
  EXPECT_EQ(d.counter("Tcp.PassiveOpens"), 1u);
  TcpSeg syn;
  syn.sport = 40001;
  syn.options = linux_syn_options(1);
  EXPECT_TRUE(send(syn).empty());
  EXPECT_EQ(d.counter("TcpExt.ListenOverflows"), 1u);
  EXPECT_EQ(d.counter("TcpExt.ListenDrops"), 1u);
  EXPECT_TRUE(d.named("skb:kfree_skb").empty());  // tcp_rcv_state_process consumes it
  // Once accepted, there is room again.
  ASSERT_GE(sys_accept4(net, lfd, nullptr, 0, 0), 3);
  EXPECT_EQ(send(syn).size(), 1u);
}

TEST_F(TcpPassiveOpenTest, FullAcceptQueueAtTheAckDropsItAsListenOverflow) {
  // Backlog 1: two requests fit the SYN queue (inet_csk_reqsk_queue_is_full is
  // strict since 6.12); the third SYN comes after the first ACK, so it gets a
  // request too, and its ACK finds two children already queued.
  listener(0, 80, 1);
  TcpSeg s1, s2, s3;
  s1.sport = 40000;
  s2.sport = 40001;
  s3.sport = 40002;
  auto o1 = send(s1);
  auto o2 = send(s2);
  ASSERT_EQ(o1.size(), 1u);
  ASSERT_EQ(o2.size(), 1u);
  TcpSeg a1;
  a1.sport = 40000;
  a1.flags = kAck;
  a1.seq = 1001;
  a1.ack = SentTcp(o1[0]).seq() + 1;
  EXPECT_TRUE(send(a1).empty());
  auto o3 = send(s3);
  ASSERT_EQ(o3.size(), 1u);
  TcpSeg a2 = a1;
  a2.sport = 40001;
  a2.ack = SentTcp(o2[0]).seq() + 1;
  EXPECT_TRUE(send(a2).empty());
  TcpSeg a3 = a1;
  a3.sport = 40002;
  a3.ack = SentTcp(o3[0]).seq() + 1;
  EXPECT_TRUE(send(a3).empty());
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "TCP_LISTEN_OVERFLOW");
  EXPECT_EQ(d.field(*drops[0], "location"), "tcp_v4_rcv");
  EXPECT_EQ(d.counter("TcpExt.ListenOverflows"), 1u);
  EXPECT_EQ(d.counter("TcpExt.ListenDrops"), 1u);
  EXPECT_EQ(d.counter("Tcp.PassiveOpens"), 2u);
}

TEST_F(TcpPassiveOpenTest, DataOnTheHandshakeAckIsQueuedForTheChild) {
  const int lfd = listener();
  TcpSeg syn;
  syn.seq = 5000;
  auto out = send(syn);
  ASSERT_EQ(out.size(), 1u);
  TcpSeg ack;
  ack.flags = kAck | kPsh;
  ack.seq = 5001;
  ack.ack = SentTcp(out[0]).seq() + 1;
  ack.payload = {'h', 'i'};
  out = send(ack);
  ASSERT_EQ(out.size(), 1u);  // the first data segment: acked at once (quick-ack)
  EXPECT_EQ(SentTcp(out[0]).ack(), 5003u);
  const int cfd = sys_accept4(net, lfd, nullptr, 0, 0);
  ASSERT_GE(cfd, 3);
  RecvMsg m;
  m.len = 10;
  ASSERT_EQ(sys_recvmsg(net, cfd, m, MSG_DONTWAIT_, 0), 2);
  EXPECT_EQ(m.data, (Bytes{'h', 'i'}));
}

TEST_F(TcpPassiveOpenTest, ClosingAListenerFreesItsRequestsAndUnacceptedChildren) {
  const int lfd = listener(kDutIp);
  handshake(40000);
  TcpSeg syn;
  syn.sport = 40001;
  ASSERT_EQ(send(syn).size(), 1u);  // a request left in SYN_RECV
  EXPECT_EQ(sys_close(net, lfd), 0);
  EXPECT_TRUE(net.sock.tcp_bhash.empty());
  EXPECT_TRUE(net.sock.tcp_ehash.empty());
  EXPECT_TRUE(net.sock.tcp_listeners.empty());
  // The port is free again.
  listener(kDutIp);
}

}  // namespace
}  // namespace nettwin::test

namespace nettwin::test {
namespace {

// The handshake's RTT sample (tcp_synack_rtt_meas) is taken when the SYN-ACK
// left at the clock's very start too (Linux's clock is never 0; the virtual
// one is): a 100 ms handshake without timestamps gives srtt 100 ms and an RTO
// of 300 ms, as a recording of packetdrill's data_rto script shows.
TEST(TcpHandshakeRtt, ASynAckSentAtTimeZeroStillGivesTheRttSample) {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();
  const int lfd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
  SockaddrIn a;
  a.port = 80;
  ASSERT_EQ(sys_bind(net, lfd, a, SOCKADDR_IN_LEN), 0);
  ASSERT_EQ(sys_listen(net, lfd, 5), 0);
  d.inject(arp_request(kTesterIp, kDutIp));  // the tester's address known at once
  TcpSeg syn;
  syn.seq = 0;
  syn.options = {2, 4, 0x03, 0xe8, 4, 2, 1, 1, 1, 3, 3, 7};  // MSS 1000, SACK_PERM, WS 7: no timestamps
  d.inject(tcp_frame(syn));
  ASSERT_EQ(d.stack.now_ns(), 0u);
  d.stack.advance(100'000'000);
  uint32_t isn = 0;
  for (auto& w : d.stack.take_wire())
    if (is_ipv4_tcp(w.data)) isn = SentTcp(w.data).seq();
  TcpSeg ack;
  ack.flags = kAck;
  ack.seq = 1;
  ack.ack = isn + 1;
  ack.window = 257;
  d.inject(tcp_frame(ack));
  d.stack.advance(1'000);
  const int cfd = sys_accept4(net, lfd, nullptr, SOCK_NONBLOCK_, 0);
  ASSERT_GE(cfd, 3);
  const TcpSock* tp = tcp_sk(net.sock.files.at(cfd)->sk);
  EXPECT_NEAR(double(tp->srtt_us >> 3), 100'000.0, 1.0);  // stamped at 1 us: 0 means "not timed"
  EXPECT_EQ(tp->icsk_rto, 300u * HZ / 1000);
}

}  // namespace
}  // namespace nettwin::test
