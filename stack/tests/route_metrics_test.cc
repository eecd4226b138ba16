// Route metrics (RTAX_*) as `ip route ... initcwnd 20 rto_min 50ms` sets them,
// each pinned to the Linux function that reads it: tcp_init_cwnd,
// tcp_select_initial_window / tcp_openreq_init_rwin, tcp_rto_min(_us) and
// tcp_delack_max, dst_metric_advmss and ipv4_mtu, tcp_in_quickack_mode,
// tcp_ca_dst_init / tcp_ca_openreq_child, tcp_ecn_send_syn /
// tcp_ecn_create_request. The packetdrill scripts traces/packetdrill/route_*
// show the same on this machine's kernel.
#include <gtest/gtest.h>

#include "core/dst.h"
#include "ipv4/ipv4.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_ecn.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

// The DUT's route to the tester with these metrics, added as `ip route add`.
Route tester_route() {
  Route r;
  r.dst = "198.51.100.1";
  r.dev = "ntdut0";
  return r;
}

void set(DstEntry& d, int metric, uint32_t value) { d.metrics[metric - 1] = value; }
void lock(DstEntry& d, int metric) { d.metrics[RTAX_LOCK - 1] |= 1u << metric; }

TEST(RouteMetrics, TcpInitCwndIsTheRoutesInitcwndWithinTheClamp) {
  TcpSock tp;
  tp.snd_cwnd_clamp = ~0u;
  DstEntry dst;
  EXPECT_EQ(tcp_init_cwnd(&tp, nullptr), 10u);  // TCP_INIT_CWND
  EXPECT_EQ(tcp_init_cwnd(&tp, &dst), 10u);
  set(dst, RTAX_INITCWND, 20);
  EXPECT_EQ(tcp_init_cwnd(&tp, &dst), 20u);
  tp.snd_cwnd_clamp = 15;
  EXPECT_EQ(tcp_init_cwnd(&tp, &dst), 15u);
}

TEST(RouteMetrics, InitrwndCapsTheFirstWindowInSegments) {
  Stack stack;
  uint32_t rcv_wnd = 0, clamp = 0;
  uint8_t wscale = 0;
  tcp_select_initial_window(stack.net(), 65535, 1460, &rcv_wnd, &clamp, true, &wscale, 0);
  EXPECT_EQ(rcv_wnd, 64240u);  // 65535 rounded down to the MSS
  clamp = 0;
  tcp_select_initial_window(stack.net(), 65535, 1460, &rcv_wnd, &clamp, true, &wscale, 5);
  EXPECT_EQ(rcv_wnd, 5u * 1460);
  // The window scale still follows the whole space, not the capped window.
  EXPECT_GT(wscale, 0);
}

TEST(RouteMetrics, RtoMinCountsOnlyWhenLocked) {
  TcpSock tp;
  tp.icsk_rto_min = 50;  // TCP_RTO_MIN, 200 ms
  tp.icsk_delack_max = 50;
  DstEntry dst;
  tp.sk_dst_cache = &dst;
  set(dst, RTAX_RTO_MIN, 20);  // 20 ms, not locked: ignored
  EXPECT_EQ(tcp_rto_min(&tp), 50u);
  lock(dst, RTAX_RTO_MIN);
  EXPECT_EQ(tcp_rto_min(&tp), 5u);  // msecs_to_jiffies(20) at HZ 250
  EXPECT_EQ(tcp_rto_min_us(&tp), 20'000u);
  // The delayed ACK waits less than the minimum RTO.
  EXPECT_EQ(tcp_delack_max(&tp), 4u);
  set(dst, RTAX_RTO_MIN, 0);  // `rto_min 0`: locked at 0, the delayed ACK at 1 jiffy
  EXPECT_EQ(tcp_delack_max(&tp), 1u);
}

TEST(RouteMetrics, QuickackMetricKeepsQuickackMode) {
  TcpSock tp;
  tp.icsk_ack.pingpong = 1;  // interactive: delayed ACKs
  EXPECT_FALSE(tcp_in_quickack_mode(&tp));
  DstEntry dst;
  tp.sk_dst_cache = &dst;
  set(dst, RTAX_QUICKACK, 1);
  EXPECT_TRUE(tcp_in_quickack_mode(&tp));
}

TEST(RouteMetrics, CongctlKeyNamesARegisteredAlgorithm) {
  const uint32_t key = tcp_ca_get_key_by_name("reno");
  ASSERT_NE(key, TCP_CA_UNSPEC);
  EXPECT_EQ(tcp_ca_find_key(key), &tcp_reno);
  EXPECT_EQ(tcp_ca_get_key_by_name("nosuchcc"), TCP_CA_UNSPEC);
  EXPECT_EQ(tcp_ca_find_key(TCP_CA_UNSPEC), nullptr);
}

TEST(RouteMetrics, EcnFeatureAcceptsAnEcnSynWithTcpEcnOff) {
  Stack stack;
  Net& net = stack.net();
  net.sysctl.tcp_ecn = 0;
  uint8_t th[20] = {};
  th[12] = 0x50;
  th[13] = 0x02 | 0x40 | 0x80;  // SYN ECE CWR
  DstEntry dst;
  EXPECT_FALSE(tcp_ecn_create_request(net, th, INET_ECN_NOT_ECT, &dst));
  set(dst, RTAX_FEATURES, RTAX_FEATURE_ECN);
  EXPECT_TRUE(tcp_ecn_create_request(net, th, INET_ECN_NOT_ECT, &dst));
  EXPECT_FALSE(tcp_ecn_create_request(net, th, INET_ECN_ECT_0, &dst));  // still not from an ECT SYN
}

// Through the Stack API and a route lookup.
struct RouteMetricsDutTest : TcpDutTest {
  DstEntry* route_to_tester() {
    Flowi4 fl4;
    fl4.daddr = kTesterIp;
    return ip_route_output_key(net, fl4);
  }
};

TEST_F(RouteMetricsDutTest, MtuAndAdvmssReachTheDst) {
  Route r = tester_route();
  r.mtu = 1200;
  ASSERT_FALSE(d.stack.add_route(r));
  DstEntry* dst = route_to_tester();
  ASSERT_NE(dst, nullptr);
  EXPECT_EQ(ipv4_mtu(dst), 1200u);
  EXPECT_EQ(dst_metric_advmss(dst), 1160u);  // ipv4_default_advmss from the route's MTU
  r.advmss = 1000;
  r.mtu_lock = true;
  ASSERT_FALSE(d.stack.replace_route(r, false));
  EXPECT_EQ(dst_metric_advmss(dst), 1000u);  // the cached dst takes the new metrics
  EXPECT_TRUE(ip_mtu_locked(dst));
}

TEST_F(RouteMetricsDutTest, LockedMtuLearnsNoPathMtuAndClearsDf) {
  Route r = tester_route();
  r.mtu = 1400;
  r.mtu_lock = true;
  ASSERT_FALSE(d.stack.add_route(r));
  DstEntry* dst = route_to_tester();
  ASSERT_NE(dst, nullptr);
  Flowi4 fl4;
  fl4.daddr = kTesterIp;
  __ip_rt_update_pmtu(net, dst, fl4, 1000);  // a frag-needed's MTU: ignored (ip_mtu_locked)
  EXPECT_EQ(ipv4_mtu(route_to_tester()), 1400u);
  TcpSock sk;
  sk.pmtudisc = IP_PMTUDISC_WANT_;
  EXPECT_FALSE(ip_dont_fragment(&sk, dst));
  sk.pmtudisc = IP_PMTUDISC_DO_;
  EXPECT_TRUE(ip_dont_fragment(&sk, dst));
}

TEST_F(RouteMetricsDutTest, ValuesAreCheckedAndClampedAsLinuxDoes) {
  Route r = tester_route();
  r.mtu = 67;
  EXPECT_TRUE(d.stack.add_route(r));
  r.mtu = 100000;   // ip_metrics_convert: 65535 - 15
  r.advmss = 70000; // 65535 - 40
  r.rto_min_ms = 0;
  r.congctl = "reno";
  r.congctl_lock = true;
  ASSERT_FALSE(d.stack.add_route(r));
  Route listed;
  for (const Route& x : d.stack.routes(254))
    if (x.dst == "198.51.100.1/32") listed = x;
  EXPECT_EQ(listed.mtu, 65520u);
  EXPECT_EQ(listed.advmss, 65495u);
  EXPECT_EQ(listed.rto_min_ms, std::optional<uint32_t>(0));
  EXPECT_EQ(listed.congctl, "reno");
  EXPECT_TRUE(listed.congctl_lock);
  r.congctl = "nosuchcc";
  EXPECT_TRUE(d.stack.replace_route(r, true));
  // add over an existing route, change of a missing one: refused as Linux does (EEXIST, ENOENT).
  EXPECT_TRUE(d.stack.add_route(tester_route()));
  Route missing = tester_route();
  missing.dst = "198.51.100.9";
  EXPECT_TRUE(d.stack.replace_route(missing, false));
  EXPECT_FALSE(d.stack.replace_route(missing, true));
}

TEST_F(RouteMetricsDutTest, UdpDatagramsAreFragmentedAtTheRoutesMtu) {
  // ip_setup_cork: a socket that uses the path MTU (IP_PMTUDISC_WANT) cuts its
  // datagrams at dst_mtu, the route's 1000, not the device's 1500. This kernel
  // (packetdrill --linux, udp sendto of 1200 bytes) sends a first fragment of 996.
  Route r = tester_route();
  r.mtu = 1000;
  ASSERT_FALSE(d.stack.add_route(r));
  const int fd = sys_socket(net, AF_INET_, SOCK_DGRAM_, 0);
  SockaddrIn peer;
  peer.addr = kTesterIp;
  peer.port = 4000;
  ASSERT_EQ(sys_connect(net, fd, peer, SOCKADDR_IN_LEN), 0);
  const Bytes data(1200, 'x');
  SendMsg m;
  m.data = data;
  EXPECT_EQ(sys_sendmsg(net, fd, m), 1200);
  d.stack.advance(1'000'000);
  std::vector<Bytes> frames = take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(be16(frames[0], 14 + 2), 996u);             // 20 + 976 (a multiple of 8)
  EXPECT_EQ(be16(frames[1], 14 + 2), 20u + 1208 - 976);  // the rest of the UDP datagram
  EXPECT_EQ(frames[0][14 + 6] & 0x40, 0);                // fragments carry no DF
}

// A passive connection over a route with metrics (tcp_openreq_init_rwin,
// tcp_init_transfer, tcp_ca_openreq_child).
struct RouteMetricsConnTest : TcpConnTest {
  void SetUp() override {
    TcpDutTest::SetUp();
    Route r = tester_route();
    r.initcwnd = 20;
    r.initrwnd = 5;
    r.congctl = "reno";
    r.congctl_lock = true;
    ASSERT_FALSE(d.stack.add_route(r));
    open_connection();
  }
};

TEST_F(RouteMetricsConnTest, TheChildTakesTheRoutesMetrics) {
  // 5 segments of our MSS less the timestamp option: 5 * 1448.
  EXPECT_EQ(syn_ack_window, 5 * 1448);
  EXPECT_EQ(tp()->snd_cwnd, 20u);
  EXPECT_EQ(tp()->icsk_ca_ops, &tcp_reno);
  EXPECT_EQ(tcp_set_congestion_control(tp(), "cubic"), -EPERM);
}

}  // namespace
}  // namespace nettwin::test
