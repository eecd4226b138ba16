// Path MTU discovery for TCP (Linux 6.18 tcp_v4_err -> tcp_v4_mtu_reduced ->
// tcp_sync_mss + tcp_simple_retransmit; __ip_rt_update_pmtu keeps the MTU as a
// route exception): an ICMP fragmentation needed lowers the MSS at once and the
// segments that were too large go again, cut to the new MSS.
#include <gtest/gtest.h>

#include <string>

#include "ipv4/ipv4.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

// The packetdrill script tcp_frag_needed (proven on Linux 6.18): MTU 1200 for a
// full-sized segment, sent again at once as 1160 + 300 (here 1148 + 300: the
// timestamps take 12 bytes of each segment).
TEST_F(TcpConnTest, FragNeededLowersTheMssAndSendsTheSegmentAgainCut) {
  ASSERT_EQ(write(std::string(1448, 'p')), 1448);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(payload(out[0]).size(), 1448u);
  const uint32_t cwnd = tp()->snd_cwnd;
  const uint64_t retrans = d.counter("Tcp.RetransSegs");
  d.inject(icmp_error_quoting(out[0], 3, 4, 1200));
  d.stack.advance(100'000);
  auto again = wire();
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(SentTcp(again[0]).seq(), isn + 1);
  EXPECT_EQ(payload(again[0]).size(), 1148u);
  EXPECT_EQ(SentTcp(again[0]).flags(), kAck);
  EXPECT_EQ(SentTcp(again[1]).seq(), isn + 1 + 1148);
  EXPECT_EQ(payload(again[1]).size(), 300u);
  EXPECT_EQ(SentTcp(again[1]).flags(), kAck | kPsh);
  EXPECT_EQ(tp()->icsk_pmtu_cookie, 1200u);
  EXPECT_EQ(tp()->mss_cache, 1148u);
  // Loss state, cwnd untouched (the data in flight only changed units).
  EXPECT_EQ(tp()->icsk_ca_state, TCP_CA_Loss);
  EXPECT_EQ(tp()->snd_cwnd, cwnd);
  EXPECT_EQ(d.counter("Tcp.RetransSegs") - retrans, 2u);
  // The route keeps the MTU for the destination (a route exception).
  ASSERT_NE(tp()->sk_dst_cache, nullptr);
  EXPECT_EQ(ipv4_mtu(tp()->sk_dst_cache), 1200u);
  // New data is cut at the new MSS too.
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 1448)).empty());
  ASSERT_EQ(write(std::string(2000, 'q')), 2000);
  auto next = wire();
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(payload(next[0]).size(), 1148u);
  EXPECT_EQ(payload(next[1]).size(), 852u);
}

// ip_rt_min_pmtu (552): a smaller MTU is taken as 552; and an MTU above the
// current one is no news (__ip_rt_update_pmtu never raises it).
TEST_F(TcpConnTest, FragNeededMtuIsClampedToMinPmtuAndNeverRaised) {
  ASSERT_EQ(write(std::string(1448, 'p')), 1448);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  d.inject(icmp_error_quoting(out[0], 3, 4, 1600));
  d.stack.advance(100'000);
  EXPECT_TRUE(wire().empty());
  EXPECT_EQ(tp()->mss_cache, 1448u);
  d.inject(icmp_error_quoting(out[0], 3, 4, 300));
  d.stack.advance(100'000);
  auto again = wire();
  ASSERT_EQ(again.size(), 3u);  // 500 + 500 + 448: 552 less IP, TCP and timestamps
  EXPECT_EQ(payload(again[0]).size(), 500u);
  EXPECT_EQ(payload(again[2]).size(), 448u);
  EXPECT_EQ(ipv4_mtu(tp()->sk_dst_cache), 552u);
  // __ip_rt_update_pmtu locks an MTU it raised to min_pmtu (the exception's fnhe_mtu_locked):
  // ip_dont_fragment sends without DF from then on (recorded: traces/pending/tcp_pmtu_below_min_pmtu).
  constexpr size_t kFragOff = 14 + 6;  // Ethernet, then the IP header's flags byte
  EXPECT_NE(out[0][kFragOff] & 0x40, 0);
  for (const auto& f : again) EXPECT_EQ(f[kFragOff] & 0x40, 0);
  EXPECT_TRUE(ip_mtu_locked(tp()->sk_dst_cache));
}

// An ICMP quoting a sequence outside snd_una..snd_nxt changes nothing.
TEST_F(TcpConnTest, FragNeededOutOfWindowIsCountedAndIgnored) {
  ASSERT_EQ(write(std::string(1448, 'p')), 1448);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  Bytes stale = out[0];
  const uint32_t bad = isn + 100000;
  for (int i = 0; i < 4; ++i) stale[SentTcp::T + 4 + i] = uint8_t(bad >> (24 - 8 * i));
  d.inject(icmp_error_quoting(stale, 3, 4, 1200));
  d.stack.advance(100'000);
  EXPECT_TRUE(wire().empty());
  EXPECT_EQ(tp()->mss_cache, 1448u);
  EXPECT_EQ(d.counter("TcpExt.OutOfWindowIcmps"), 1u);
}

// tcp_v4_mtu_reduced -> inet_csk_update_pmtu -> ip_rt_update_pmtu: the exception's route lookup uses
// build_sk_flow_key's flow: the socket's addresses, no ports, iif the loopback (flowi4_init_output).
// Recorded: traces/tcp_pmtu_frag_needed.
TEST_F(TcpConnTest, FragNeededPmtuUpdateLooksUpTheFlowWithoutPorts) {
  ASSERT_EQ(write(std::string(1448, 'p')), 1448);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  d.events.clear();
  d.inject(icmp_error_quoting(out[0], 3, 4, 1200));
  d.stack.advance(100'000);
  int without_ports = 0;
  for (const TraceEvent* e : d.named("fib:fib_table_lookup"))
    if (d.field(*e, "dst") == "198.51.100.1" && d.field(*e, "sport") == "0" && d.field(*e, "dport") == "0" &&
        d.field(*e, "iif") == "1")
      ++without_ports;
  EXPECT_EQ(without_ports, 1);
  EXPECT_EQ(tp()->mss_cache, 1148u);
}

// tcp_xmit_retransmit_queue caps each retransmission at tcp_tso_segs (min_tso_segs 2 on a device
// without GSO): a full segment cut to MSS 500 goes again as a 2-segment skb (1000 bytes, PSH forced
// as on any GSO skb) and the rest (448), tcp_fragment splitting it in the rtx queue
// (recorded: traces/pending/tcp_pmtu_below_min_pmtu, whose frames match).
TEST_F(TcpConnTest, FragNeededResendIsCappedAtTsoSegs) {
  tp()->sk_gso_max_segs = 2;
  ASSERT_EQ(write(std::string(1448, 'p')), 1448);
  auto out = wire();
  ASSERT_EQ(out.size(), 1u);
  d.inject(icmp_error_quoting(out[0], 3, 4, 500));
  d.stack.advance(100'000);
  auto again = wire();
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(payload(again[0]).size(), 500u);
  EXPECT_EQ(SentTcp(again[0]).flags(), kAck);
  EXPECT_EQ(SentTcp(again[1]).flags(), kAck | kPsh);
  EXPECT_EQ(payload(again[2]).size(), 448u);
  ASSERT_EQ(tp()->tcp_rtx_queue.front()->len, 1000u);  // split in two skbs
  EXPECT_EQ(tp()->tcp_rtx_queue.front()->next->len, 448u);
}

}  // namespace
}  // namespace nettwin::test
