// struct tcp_info (include/uapi/linux/tcp.h, Linux 6.18) and tcp_get_info
// (net/ipv4/tcp.c): what getsockopt(TCP_INFO) returns, byte for byte as on x86-64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nettwin {

struct Sock;

// tcpi_options bits.
enum : uint8_t { TCPI_OPT_TIMESTAMPS = 1, TCPI_OPT_SACK = 2, TCPI_OPT_WSCALE = 4, TCPI_OPT_ECN = 8,
                 TCPI_OPT_ECN_SEEN = 16, TCPI_OPT_SYN_DATA = 32, TCPI_OPT_USEC_TS = 64,
                 TCPI_OPT_TFO_CHILD = 128 };

struct TcpInfo {
  uint8_t tcpi_state;
  uint8_t tcpi_ca_state;
  uint8_t tcpi_retransmits;
  uint8_t tcpi_probes;
  uint8_t tcpi_backoff;
  uint8_t tcpi_options;
  uint8_t tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4;
  uint8_t tcpi_delivery_rate_app_limited : 1, tcpi_fastopen_client_fail : 2;

  uint32_t tcpi_rto;  // usec
  uint32_t tcpi_ato;  // usec
  uint32_t tcpi_snd_mss;
  uint32_t tcpi_rcv_mss;

  uint32_t tcpi_unacked;
  uint32_t tcpi_sacked;
  uint32_t tcpi_lost;
  uint32_t tcpi_retrans;
  uint32_t tcpi_fackets;

  // Times, ms.
  uint32_t tcpi_last_data_sent;
  uint32_t tcpi_last_ack_sent;  // never filled, as in Linux
  uint32_t tcpi_last_data_recv;
  uint32_t tcpi_last_ack_recv;

  uint32_t tcpi_pmtu;
  uint32_t tcpi_rcv_ssthresh;
  uint32_t tcpi_rtt;     // usec
  uint32_t tcpi_rttvar;  // usec
  uint32_t tcpi_snd_ssthresh;
  uint32_t tcpi_snd_cwnd;
  uint32_t tcpi_advmss;
  uint32_t tcpi_reordering;

  uint32_t tcpi_rcv_rtt;
  uint32_t tcpi_rcv_space;

  uint32_t tcpi_total_retrans;

  uint64_t tcpi_pacing_rate;
  uint64_t tcpi_max_pacing_rate;
  uint64_t tcpi_bytes_acked;
  uint64_t tcpi_bytes_received;
  uint32_t tcpi_segs_out;
  uint32_t tcpi_segs_in;

  uint32_t tcpi_notsent_bytes;
  uint32_t tcpi_min_rtt;
  uint32_t tcpi_data_segs_in;
  uint32_t tcpi_data_segs_out;

  uint64_t tcpi_delivery_rate;

  uint64_t tcpi_busy_time;       // usec
  uint64_t tcpi_rwnd_limited;    // usec
  uint64_t tcpi_sndbuf_limited;  // usec

  uint32_t tcpi_delivered;
  uint32_t tcpi_delivered_ce;

  uint64_t tcpi_bytes_sent;
  uint64_t tcpi_bytes_retrans;
  uint32_t tcpi_dsack_dups;
  uint32_t tcpi_reord_seen;

  uint32_t tcpi_rcv_ooopack;

  uint32_t tcpi_snd_wnd;
  uint32_t tcpi_rcv_wnd;

  uint32_t tcpi_rehash;

  uint16_t tcpi_total_rto;
  uint16_t tcpi_total_rto_recoveries;
  uint32_t tcpi_total_rto_time;  // ms

  uint32_t tcpi_received_ce;
  uint32_t tcpi_delivered_e1_bytes;
  uint32_t tcpi_delivered_e0_bytes;
  uint32_t tcpi_delivered_ce_bytes;
  uint32_t tcpi_received_e1_bytes;
  uint32_t tcpi_received_e0_bytes;
  uint32_t tcpi_received_ce_bytes;
  uint16_t tcpi_accecn_fail_mode;
  uint16_t tcpi_accecn_opt_seen;
};

// The layout getsockopt returns on Linux 6.18 x86-64 (280 bytes; checked against the kernel).
static_assert(sizeof(TcpInfo) == 280);
static_assert(offsetof(TcpInfo, tcpi_rto) == 8);
static_assert(offsetof(TcpInfo, tcpi_total_retrans) == 100);
static_assert(offsetof(TcpInfo, tcpi_pacing_rate) == 104);
static_assert(offsetof(TcpInfo, tcpi_delivery_rate) == 160);
static_assert(offsetof(TcpInfo, tcpi_snd_wnd) == 228);
static_assert(offsetof(TcpInfo, tcpi_total_rto) == 240);
static_assert(offsetof(TcpInfo, tcpi_received_ce) == 248);
static_assert(offsetof(TcpInfo, tcpi_accecn_opt_seen) == 278);

// tcp_get_info: fill *info from the socket (zeroed first; only tcpi_state for a
// non-stream socket, the listener's aliased fields for TCP_LISTEN).
void tcp_get_info(Sock* sk, TcpInfo* info);
// What getsockopt(TCP_INFO) copies to the caller: the first min(optlen, sizeof) bytes.
void tcp_get_info(Sock* sk, std::vector<uint8_t>& out, unsigned optlen);

}  // namespace nettwin
