// sock_diag_dump, the listing behind the ss view: UDP and raw sockets through
// the system calls, TCP sockets built by hand in known states. The queue and
// timer columns follow inet_sk_diag_fill and tcp_diag_get_info; the text
// follows ss (sstate_name, print_ms_timer).
#include "socket/sock_diag.h"

#include <gtest/gtest.h>

#include "core/net.h"
#include "ipv4/tcp_info.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "test_helpers.h"

namespace nettwin::test {
namespace {

constexpr int AF_INET = 2, SOCK_DGRAM = 2;

SockaddrIn addr(uint32_t ip, uint16_t port) {
  SockaddrIn a;
  a.addr = ip;
  a.port = port;
  return a;
}

struct SockDiagTest : ::testing::Test {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();

  const SockDiag* find(const std::vector<SockDiag>& all, int fd) {
    for (const SockDiag& s : all)
      if (s.fd == fd) return &s;
    return nullptr;
  }
};

TEST_F(SockDiagTest, UdpSocketsUnconnectedAndConnected) {
  const int a = sys_socket(net, AF_INET, SOCK_DGRAM, 0);
  const int b = sys_socket(net, AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(sys_bind(net, a, addr(kDutIp, 5000), 16), 0);
  ASSERT_EQ(sys_connect(net, b, addr(kTesterIp, 4000), 16), 0);
  const auto all = sock_diag_dump(net);
  ASSERT_EQ(all.size(), 2u);
  const SockDiag* sa = find(all, a);
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->netid, "udp");
  EXPECT_STREQ(ss_state_name(sa->sk_state), "UNCONN");
  EXPECT_EQ(sa->local, "198.51.100.2:5000");
  EXPECT_EQ(sa->peer, "0.0.0.0:*");
  EXPECT_EQ(sa->recv_q, 0u);
  EXPECT_EQ(ss_timer(*sa), "");
  const SockDiag* sb = find(all, b);
  ASSERT_NE(sb, nullptr);
  EXPECT_STREQ(ss_state_name(sb->sk_state), "ESTAB");
  EXPECT_EQ(sb->peer, "198.51.100.1:4000");
  EXPECT_EQ(sb->local.rfind("198.51.100.2:", 0), 0u);  // the autobound source and port
  EXPECT_NE(sb->local, "198.51.100.2:*");
  EXPECT_TRUE(sb->tcp_info.empty());
}

TEST_F(SockDiagTest, RawSocketRecvQueueIsItsReceiveMemory) {
  const int r = sys_socket(net, AF_INET, SOCK_RAW_, IPPROTO_ICMP_);
  ASSERT_GE(r, 0);
  EXPECT_EQ(find(sock_diag_dump(net), r)->recv_q, 0u);
  d.inject(arp_request(kTesterIp, kDutIp));
  d.inject(icmp_echo_request(1, 1, Bytes(32, 0)));
  d.stack.advance(1'000'000);
  const auto all = sock_diag_dump(net);
  const SockDiag* s = find(all, r);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->netid, "raw");
  EXPECT_EQ(s->local, "0.0.0.0:1");  // a raw socket's port column is its protocol
  const Sock* sk = net.sock.files.at(r)->sk;
  EXPECT_GT(sk->sk_rmem_alloc, 0);  // the echo request is queued to it
  EXPECT_EQ(s->recv_q, static_cast<uint32_t>(sk->sk_rmem_alloc));
}

TEST_F(SockDiagTest, TcpListenerQueuesAreAcceptQueueAndBacklog) {
  TcpSock tp;
  tp.net = &net;
  tp.sk_type = SOCK_STREAM_;
  tp.sk_state = TCP_LISTEN;
  tp.inet_rcv_saddr = 0;
  tp.inet_sport = 80;
  tp.sk_ack_backlog = 2;
  tp.sk_max_ack_backlog = 4096;
  const SockDiag s = sock_diag_fill(net, &tp, 5);
  EXPECT_EQ(s.netid, "tcp");
  EXPECT_STREQ(ss_state_name(s.sk_state), "LISTEN");
  EXPECT_EQ(s.recv_q, 2u);
  EXPECT_EQ(s.send_q, 4096u);
  EXPECT_EQ(s.local, "0.0.0.0:80");
  EXPECT_EQ(s.peer, "0.0.0.0:*");
  ASSERT_EQ(s.tcp_info.size(), sizeof(TcpInfo));
  EXPECT_EQ(s.tcp_info[0], TCP_LISTEN);
}

TEST_F(SockDiagTest, TcpConnectionQueuesTimerAndCongestionControl) {
  TcpCongestionOps reno{};
  reno.name = "reno";
  TcpSock tp;
  tp.net = &net;
  tp.sk_type = SOCK_STREAM_;
  tp.sk_state = TCP_ESTABLISHED;
  tp.inet_rcv_saddr = kDutIp;
  tp.inet_sport = 5000;
  tp.inet_daddr = kTesterIp;
  tp.inet_dport = 40000;
  tp.rcv_nxt = 1300;
  tp.copied_seq = 1000;   // 300 bytes received, unread
  tp.write_seq = 9000;
  tp.snd_una = 7000;      // 2000 bytes sent or queued, unacked
  tp.icsk_ca_ops = &reno;
  tp.icsk_pending = ICSK_TIME_RETRANS;
  tp.icsk_retransmits = 2;
  tp.icsk_retransmit_timer = net.engine.mod_timer(net.engine.jiffies() + 50, [] {});  // 200 ms at HZ 250
  const SockDiag s = sock_diag_fill(net, &tp, 6);
  EXPECT_EQ(s.recv_q, 300u);
  EXPECT_EQ(s.send_q, 2000u);
  EXPECT_EQ(s.local, "198.51.100.2:5000");
  EXPECT_EQ(s.peer, "198.51.100.1:40000");
  EXPECT_EQ(s.cc, "reno");
  EXPECT_EQ(ss_timer(s), "timer:(on,200ms,2)");

  // Timers within 64 jiffies: the wheel's level 0, where a timer fires in the jiffy it was set for.
  tp.icsk_pending = ICSK_TIME_PROBE0;
  tp.icsk_probes_out = 1;
  net.engine.del_timer(tp.icsk_retransmit_timer);
  tp.icsk_retransmit_timer = net.engine.mod_timer(net.engine.jiffies() + 60, [] {});
  EXPECT_EQ(ss_timer(sock_diag_fill(net, &tp, 6)), "timer:(persist,240ms,1)");

  tp.icsk_pending = 0;
  net.engine.del_timer(tp.icsk_retransmit_timer);
  tp.sk_timer = net.engine.mod_timer(net.engine.jiffies() + 1, [] {});
  EXPECT_EQ(ss_timer(sock_diag_fill(net, &tp, 6)), "timer:(keepalive,004ms,1)");  // ss pads ms to 3 digits
  net.engine.del_timer(tp.sk_timer);
  EXPECT_EQ(ss_timer(sock_diag_fill(net, &tp, 6)), "");
}

TEST(SsTimer, PrintsTimesAsSsDoes) {
  // print_ms_timer: ms below a second, "1.500ms" with seconds, minutes drop the ms.
  SockDiag d;
  d.timer = SS_TIMER_PERSIST;
  d.timer_expires_ms = 1500;
  EXPECT_EQ(ss_timer(d), "timer:(persist,1.500ms,0)");
  d.timer = SS_TIMER_KEEPALIVE;
  d.timer_expires_ms = 125000;
  EXPECT_EQ(ss_timer(d), "timer:(keepalive,2min5sec,0)");
  d.timer_expires_ms = 12000;
  EXPECT_EQ(ss_timer(d), "timer:(keepalive,12sec,0)");
  d.timer = SS_TIMER_TIMEWAIT;
  d.timer_expires_ms = 0;
  EXPECT_EQ(ss_timer(d), "timer:(timewait,,0)");
}

}  // namespace
}  // namespace nettwin::test
