// tcp_get_info after net/ipv4/tcp.c: the socket's state as TCP_INFO reports it.
#include "ipv4/tcp_info.h"

#include <algorithm>
#include <cstring>

#include "core/jiffies.h"
#include "core/net.h"
#include "ipv4/tcp_sock.h"

namespace nettwin {
namespace {

constexpr uint64_t USEC_PER_SEC = 1000000;

uint32_t jiffies_to_usecs(uint64_t j) { return static_cast<uint32_t>(j * (USEC_PER_SEC / HZ)); }
uint32_t jiffies_to_msecs(uint64_t j) { return static_cast<uint32_t>(j * (1000 / HZ)); }

// tcp_compute_delivery_rate: the last rate sample, bytes per second.
uint64_t tcp_compute_delivery_rate(const TcpSock* tp) {
  if (tp->rate_delivered == 0 || tp->rate_interval_us == 0) return 0;
  return static_cast<uint64_t>(tp->rate_delivered) * tp->mss_cache * USEC_PER_SEC / tp->rate_interval_us;
}

// tcp_get_info_chrono_stats: busy = the sum of every chrono, the running one up to now.
void tcp_get_info_chrono_stats(const TcpSock* tp, uint32_t now, TcpInfo* info) {
  uint64_t stats[__TCP_CHRONO_MAX] = {};
  uint64_t total = 0;
  for (int i = TCP_CHRONO_BUSY; i < __TCP_CHRONO_MAX; ++i) {
    stats[i] = tp->chrono_stat[i - 1];
    if (i == tp->chrono_type) stats[i] += static_cast<uint32_t>(now - tp->chrono_start);
    stats[i] *= USEC_PER_SEC / HZ;
    total += stats[i];
  }
  info->tcpi_busy_time = total;
  info->tcpi_rwnd_limited = stats[TCP_CHRONO_RWND_LIMITED];
  info->tcpi_sndbuf_limited = stats[TCP_CHRONO_SNDBUF_LIMITED];
}

}  // namespace

void tcp_get_info(Sock* sk, TcpInfo* info) {
  std::memset(info, 0, sizeof(*info));
  if (sk->sk_type != SOCK_STREAM_) return;
  const TcpSock* tp = tcp_sk(sk);

  info->tcpi_state = static_cast<uint8_t>(sk->sk_state);
  // Meaningful for every state, listeners included.
  info->tcpi_pacing_rate = sk->sk_pacing_rate;
  info->tcpi_max_pacing_rate = sk->sk_max_pacing_rate;
  info->tcpi_reordering = tp->reordering;
  info->tcpi_snd_cwnd = tp->snd_cwnd;
  if (sk->sk_state == TCP_LISTEN) {
    // A listener's aliases: children ready for accept() and the backlog.
    info->tcpi_unacked = sk->sk_ack_backlog;
    info->tcpi_sacked = sk->sk_max_ack_backlog;
    return;
  }

  info->tcpi_ca_state = tp->icsk_ca_state;
  info->tcpi_retransmits = tp->icsk_retransmits;
  info->tcpi_probes = tp->icsk_probes_out;
  info->tcpi_backoff = tp->icsk_backoff;

  if (tp->rx_opt.tstamp_ok) info->tcpi_options |= TCPI_OPT_TIMESTAMPS;
  if (tp->rx_opt.sack_ok) info->tcpi_options |= TCPI_OPT_SACK;  // tcp_is_sack
  if (tp->rx_opt.wscale_ok) {
    info->tcpi_options |= TCPI_OPT_WSCALE;
    info->tcpi_snd_wscale = tp->rx_opt.snd_wscale & 0xF;
    info->tcpi_rcv_wscale = tp->rx_opt.rcv_wscale & 0xF;
  }
  if (tp->ecn_flags & TCP_ECN_MODE_ANY) info->tcpi_options |= TCPI_OPT_ECN;
  if (tp->ecn_flags & TCP_ECN_SEEN) info->tcpi_options |= TCPI_OPT_ECN_SEEN;
  if (tp->syn_data_acked) info->tcpi_options |= TCPI_OPT_SYN_DATA;
  if (tp->tcp_usec_ts) info->tcpi_options |= TCPI_OPT_USEC_TS;
  if (tp->syn_fastopen_child) info->tcpi_options |= TCPI_OPT_TFO_CHILD;

  info->tcpi_rto = jiffies_to_usecs(tp->icsk_rto);
  info->tcpi_ato = jiffies_to_usecs(std::min(tp->icsk_ack.ato, tcp_delack_max(sk)));
  info->tcpi_snd_mss = tp->mss_cache;
  info->tcpi_rcv_mss = tp->icsk_ack.rcv_mss;

  info->tcpi_unacked = tp->packets_out;
  info->tcpi_sacked = tp->sacked_out;
  info->tcpi_lost = tp->lost_out;
  info->tcpi_retrans = tp->retrans_out;

  const Engine& engine = sk->net->engine;
  const auto now = static_cast<uint32_t>(engine.jiffies());  // tcp_jiffies32
  info->tcpi_last_data_sent = jiffies_to_msecs(static_cast<uint32_t>(now - tp->lsndtime));
  info->tcpi_last_data_recv = jiffies_to_msecs(static_cast<uint32_t>(now - tp->icsk_ack.lrcvtime));
  info->tcpi_last_ack_recv = jiffies_to_msecs(static_cast<uint32_t>(now - tp->rcv_tstamp));

  info->tcpi_pmtu = tp->icsk_pmtu_cookie;
  info->tcpi_rcv_ssthresh = tp->rcv_ssthresh;
  info->tcpi_rtt = tp->srtt_us >> 3;
  info->tcpi_rttvar = tp->mdev_us >> 2;
  info->tcpi_snd_ssthresh = tp->snd_ssthresh;
  info->tcpi_advmss = tp->advmss;

  info->tcpi_rcv_rtt = tp->rcv_rtt_est.rtt_us >> 3;
  info->tcpi_rcv_space = tp->rcvq_space.space;
  info->tcpi_total_retrans = tp->total_retrans;

  info->tcpi_bytes_acked = tp->bytes_acked;
  info->tcpi_bytes_received = tp->bytes_received;
  info->tcpi_notsent_bytes = static_cast<uint32_t>(std::max(0, static_cast<int>(tp->write_seq - tp->snd_nxt)));
  tcp_get_info_chrono_stats(tp, now, info);

  info->tcpi_segs_out = tp->segs_out;
  info->tcpi_segs_in = tp->segs_in;
  info->tcpi_min_rtt = tp->rtt_min_us;  // tcp_min_rtt: ~0U until the first sample
  info->tcpi_data_segs_in = tp->data_segs_in;
  info->tcpi_data_segs_out = tp->data_segs_out;

  info->tcpi_delivery_rate_app_limited = tp->rate_app_limited ? 1 : 0;
  if (const uint64_t rate = tcp_compute_delivery_rate(tp)) info->tcpi_delivery_rate = rate;
  info->tcpi_delivered = tp->delivered;
  info->tcpi_delivered_ce = tp->delivered_ce;
  info->tcpi_bytes_sent = tp->bytes_sent;
  info->tcpi_bytes_retrans = tp->bytes_retrans;
  info->tcpi_dsack_dups = tp->dsack_dups;
  info->tcpi_reord_seen = tp->reord_seen;
  info->tcpi_rcv_ooopack = tp->rcv_ooopack;
  info->tcpi_snd_wnd = tp->snd_wnd;
  info->tcpi_rcv_wnd = tp->rcv_wnd;
  info->tcpi_rehash = tp->plb_rehash + tp->timeout_rehash;
  info->tcpi_fastopen_client_fail = tp->fastopen_client_fail & 3;

  info->tcpi_total_rto = tp->total_rto;
  info->tcpi_total_rto_recoveries = tp->total_rto_recoveries;
  info->tcpi_total_rto_time = tp->total_rto_time;
  if (tp->rto_stamp) {
    const auto clock_ms = static_cast<uint32_t>(engine.now() / 1000000);  // tcp_clock_ms
    info->tcpi_total_rto_time += clock_ms - tp->rto_stamp;
  }

  info->tcpi_accecn_fail_mode = tp->accecn_fail_mode;
  info->tcpi_accecn_opt_seen = tp->saw_accecn_opt;
  info->tcpi_received_ce = tp->received_ce;
  // Indexed INET_ECN_ECT_1 - 1, INET_ECN_ECT_0 - 1, INET_ECN_CE - 1.
  info->tcpi_delivered_e1_bytes = tp->delivered_ecn_bytes[0];
  info->tcpi_delivered_e0_bytes = tp->delivered_ecn_bytes[1];
  info->tcpi_delivered_ce_bytes = tp->delivered_ecn_bytes[2];
  info->tcpi_received_e1_bytes = tp->received_ecn_bytes[0];
  info->tcpi_received_e0_bytes = tp->received_ecn_bytes[1];
  info->tcpi_received_ce_bytes = tp->received_ecn_bytes[2];
}

void tcp_get_info(Sock* sk, std::vector<uint8_t>& out, unsigned optlen) {
  TcpInfo info;
  tcp_get_info(sk, &info);
  const size_t len = std::min<size_t>(optlen, sizeof(info));
  out.resize(len);
  std::memcpy(out.data(), &info, len);
}

}  // namespace nettwin
