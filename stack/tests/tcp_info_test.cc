// tcp_get_info (net/ipv4/tcp.c) over a TcpSock filled by hand: each expectation
// is what Linux's code does with the field it reads (jiffies to usec/ms, srtt
// and mdev unscaled, the listener's aliased fields, min(optlen, sizeof) bytes).
#include "ipv4/tcp_info.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/net.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"
#include "socket/uapi.h"

namespace nettwin {
namespace {

struct TcpInfoTest : ::testing::Test {
  Net net{1};
  TcpSock tp;

  TcpInfoTest() {
    tp.net = &net;
    tp.sk_type = SOCK_STREAM_;
    tp.sk_protocol = 6;
    tp.icsk_rto_min = TCP_RTO_MIN;  // tcp_init_sock's
    net.engine.advance(10'000'000'000ull);  // 10 s in: jiffies well past 0
  }
  uint32_t jiffies() const { return static_cast<uint32_t>(net.engine.jiffies()); }
  TcpInfo info() {
    TcpInfo i;
    tcp_get_info(&tp, &i);
    return i;
  }
};

TEST_F(TcpInfoTest, EstablishedConnectionFields) {
  tp.sk_state = TCP_ESTABLISHED;
  tp.icsk_ca_state = TCP_CA_Open;
  tp.icsk_rto = 51;         // jiffies: 51 * 4000 us at HZ 250
  tp.icsk_ack.ato = 10;     // jiffies, under icsk_delack_max
  tp.icsk_delack_max = 50;  // TCP_DELACK_MAX
  tp.mss_cache = 1448;
  tp.icsk_ack.rcv_mss = 536;
  tp.advmss = 1448;
  tp.icsk_pmtu_cookie = 1500;
  tp.rx_opt.tstamp_ok = true;
  tp.rx_opt.sack_ok = 1;
  tp.rx_opt.wscale_ok = true;
  tp.rx_opt.snd_wscale = 7;
  tp.rx_opt.rcv_wscale = 10;
  tp.srtt_us = 8 * 1234;  // srtt is kept scaled by 8
  tp.mdev_us = 4 * 617;   // mdev by 4
  tp.rtt_min_us = 1100;
  tp.snd_cwnd = 10;
  tp.snd_ssthresh = 0x7fffffff;  // TCP_INFINITE_SSTHRESH
  tp.reordering = 3;
  tp.packets_out = 4;
  tp.sacked_out = 1;
  tp.lost_out = 2;
  tp.retrans_out = 1;
  tp.write_seq = 5000;
  tp.snd_nxt = 3000;
  tp.lsndtime = jiffies() - 5;        // 20 ms ago
  tp.icsk_ack.lrcvtime = jiffies() - 25;  // 100 ms ago
  tp.rcv_tstamp = jiffies();
  tp.snd_wnd = 64000;
  tp.rcv_wnd = 65535;
  tp.rcv_rtt_est.rtt_us = 8 * 2000;
  tp.rcvq_space.space = 14480;
  tp.bytes_acked = 1001;
  tp.rate_delivered = 10;
  tp.rate_interval_us = 20000;
  tp.plb_rehash = 2;
  tp.timeout_rehash = 1;
  tp.delivered_ecn_bytes[0] = 11;  // ECT(1)
  tp.received_ecn_bytes[2] = 33;   // CE

  const TcpInfo i = info();
  EXPECT_EQ(i.tcpi_state, TCP_ESTABLISHED);
  EXPECT_EQ(i.tcpi_options, TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
  EXPECT_EQ(i.tcpi_snd_wscale, 7);
  EXPECT_EQ(i.tcpi_rcv_wscale, 10);
  EXPECT_EQ(i.tcpi_rto, 204000u);
  EXPECT_EQ(i.tcpi_ato, 40000u);
  EXPECT_EQ(i.tcpi_snd_mss, 1448u);
  EXPECT_EQ(i.tcpi_rcv_mss, 536u);
  EXPECT_EQ(i.tcpi_unacked, 4u);
  EXPECT_EQ(i.tcpi_sacked, 1u);
  EXPECT_EQ(i.tcpi_lost, 2u);
  EXPECT_EQ(i.tcpi_retrans, 1u);
  EXPECT_EQ(i.tcpi_last_data_sent, 20u);
  EXPECT_EQ(i.tcpi_last_data_recv, 100u);
  EXPECT_EQ(i.tcpi_last_ack_recv, 0u);
  EXPECT_EQ(i.tcpi_pmtu, 1500u);
  EXPECT_EQ(i.tcpi_rtt, 1234u);
  EXPECT_EQ(i.tcpi_rttvar, 617u);
  EXPECT_EQ(i.tcpi_min_rtt, 1100u);
  EXPECT_EQ(i.tcpi_snd_ssthresh, 0x7fffffffu);
  EXPECT_EQ(i.tcpi_snd_cwnd, 10u);
  EXPECT_EQ(i.tcpi_reordering, 3u);
  EXPECT_EQ(i.tcpi_notsent_bytes, 2000u);
  EXPECT_EQ(i.tcpi_rcv_rtt, 2000u);
  EXPECT_EQ(i.tcpi_rcv_space, 14480u);
  EXPECT_EQ(i.tcpi_bytes_acked, 1001u);
  // rate_delivered * mss_cache * USEC_PER_SEC / rate_interval_us
  EXPECT_EQ(i.tcpi_delivery_rate, 10ull * 1448 * 1000000 / 20000);
  EXPECT_EQ(i.tcpi_pacing_rate, ~0ull);  // sock_init_data's ~0UL: unlimited
  EXPECT_EQ(i.tcpi_max_pacing_rate, ~0ull);
  EXPECT_EQ(i.tcpi_snd_wnd, 64000u);
  EXPECT_EQ(i.tcpi_rcv_wnd, 65535u);
  EXPECT_EQ(i.tcpi_rehash, 3u);
  EXPECT_EQ(i.tcpi_delivered_e1_bytes, 11u);
  EXPECT_EQ(i.tcpi_received_ce_bytes, 33u);
  EXPECT_EQ(i.tcpi_last_ack_sent, 0u);  // "not remembered"
}

TEST_F(TcpInfoTest, AtoIsCappedAtDelackMax) {
  tp.sk_state = TCP_ESTABLISHED;
  tp.icsk_ack.ato = 100;
  tp.icsk_delack_max = 50;
  // tcp_delack_max: under the minimum RTO, 50 - 1 jiffies (6.18's tcp_output.c).
  EXPECT_EQ(info().tcpi_ato, 196000u);
}

TEST_F(TcpInfoTest, NotsentBytesNeverNegative) {
  tp.sk_state = TCP_ESTABLISHED;
  tp.write_seq = 100;
  tp.snd_nxt = 200;  // max_t(int, 0, write_seq - snd_nxt)
  EXPECT_EQ(info().tcpi_notsent_bytes, 0u);
}

TEST_F(TcpInfoTest, ListenerReportsAcceptQueueAndBacklog) {
  tp.sk_state = TCP_LISTEN;
  tp.sk_ack_backlog = 3;
  tp.sk_max_ack_backlog = 128;
  tp.snd_cwnd = 10;
  tp.reordering = 3;
  tp.packets_out = 7;  // not read for a listener
  tp.icsk_rto = 250;
  const TcpInfo i = info();
  EXPECT_EQ(i.tcpi_state, TCP_LISTEN);
  EXPECT_EQ(i.tcpi_unacked, 3u);
  EXPECT_EQ(i.tcpi_sacked, 128u);
  EXPECT_EQ(i.tcpi_snd_cwnd, 10u);
  EXPECT_EQ(i.tcpi_reordering, 3u);
  EXPECT_EQ(i.tcpi_rto, 0u);  // the rest stays zero
}

TEST_F(TcpInfoTest, ChronoStatsCountTheRunningChronoToNow) {
  tp.sk_state = TCP_ESTABLISHED;
  tp.chrono_stat[TCP_CHRONO_BUSY - 1] = 10;
  tp.chrono_stat[TCP_CHRONO_RWND_LIMITED - 1] = 5;
  tp.chrono_type = TCP_CHRONO_RWND_LIMITED;
  tp.chrono_start = jiffies() - 2;
  const TcpInfo i = info();
  EXPECT_EQ(i.tcpi_rwnd_limited, 7u * 4000);
  EXPECT_EQ(i.tcpi_busy_time, (10u + 7u) * 4000);  // busy is the sum of all chronos
  EXPECT_EQ(i.tcpi_sndbuf_limited, 0u);
}

TEST_F(TcpInfoTest, EcnAndFastOpenOptionBits) {
  tp.sk_state = TCP_ESTABLISHED;
  tp.ecn_flags = TCP_ECN_MODE_RFC3168 | TCP_ECN_SEEN;
  tp.syn_data_acked = true;
  tp.fastopen_client_fail = 2;
  tp.rate_app_limited = true;
  const TcpInfo i = info();
  EXPECT_EQ(i.tcpi_options, TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN | TCPI_OPT_SYN_DATA);
  EXPECT_EQ(i.tcpi_fastopen_client_fail, 2);
  EXPECT_EQ(i.tcpi_delivery_rate_app_limited, 1);
}

TEST_F(TcpInfoTest, RtoTimeIncludesTheRecoveryInProgress) {
  tp.sk_state = TCP_ESTABLISHED;
  tp.total_rto_time = 300;
  tp.rto_stamp = static_cast<uint32_t>(net.engine.now() / 1000000) - 40;
  EXPECT_EQ(info().tcpi_total_rto_time, 340u);
}

TEST_F(TcpInfoTest, NonStreamSocketIsAllZero) {
  tp.sk_type = SOCK_DGRAM_;
  tp.sk_state = TCP_ESTABLISHED;
  tp.snd_cwnd = 10;
  const TcpInfo i = info();
  const TcpInfo zero{};
  EXPECT_EQ(std::memcmp(&i, &zero, sizeof(i)), 0);
}

TEST_F(TcpInfoTest, BytesAreTheUapiLayoutCutAtOptlen) {
  tp.sk_state = 2;  // TCP_SYN_SENT
  tp.icsk_rto = 250;  // 1 s
  tp.rx_opt.wscale_ok = true;
  tp.rx_opt.snd_wscale = 2;
  tp.rx_opt.rcv_wscale = 7;
  tp.total_rto = 4;
  std::vector<uint8_t> out;
  tcp_get_info(&tp, out, 512);
  ASSERT_EQ(out.size(), 280u);
  EXPECT_EQ(out[0], 2);
  EXPECT_EQ(out[6], 0x72);  // snd_wscale in the low nibble, rcv_wscale in the high
  uint32_t rto;
  std::memcpy(&rto, &out[8], 4);
  EXPECT_EQ(rto, 1000000u);
  EXPECT_EQ(out[240], 4);  // tcpi_total_rto, little-endian u16
  tcp_get_info(&tp, out, 10);
  EXPECT_EQ(out.size(), 10u);
  tcp_get_info(&tp, out, 0);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace nettwin
