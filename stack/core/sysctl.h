// The knobs that exist so far, under their Linux names, with Linux 6.18
// defaults (shared/reference/linux-6.18/sysctl-defaults.txt). The stack reads
// the fields directly; set/get go through the name table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack.h"

namespace nettwin {

struct Sysctls {
  // net.core
  int64_t netdev_budget = 300;
  int64_t netdev_budget_usecs = 8000;  // 2 * USEC_PER_SEC / HZ, HZ = 250 here
  int64_t gro_normal_batch = 8;
  int64_t dev_weight = 64;
  int64_t dev_weight_rx_bias = 1;
  int64_t dev_weight_tx_bias = 1;
  int64_t netdev_max_backlog = 1000;
  int64_t rmem_default = 212992;
  int64_t rmem_max = 4194304;
  int64_t wmem_default = 212992;
  int64_t wmem_max = 4194304;
  int64_t somaxconn = 4096;
  // net.ipv4
  int64_t ip_default_ttl = 64;
  int64_t ip_forward = 0;
  int64_t ip_forward_use_pmtu = 0;
  int64_t ip_no_pmtu_disc = 0;
  int64_t icmp_echo_ignore_all = 0;
  int64_t icmp_echo_ignore_broadcasts = 1;
  int64_t icmp_ratelimit = 1000;
  int64_t icmp_ratemask = 6168;
  int64_t icmp_msgs_per_sec = 1000;
  int64_t icmp_msgs_burst = 50;
  int64_t icmp_errors_use_inbound_ifaddr = 0;
  int64_t icmp_ignore_bogus_error_responses = 1;
  int64_t icmp_echo_enable_probe = 0;  // RFC 8335 PROBE answers are not built: 0 only
  int64_t ipfrag_time = 30;  // seconds
  int64_t ipfrag_high_thresh = 4194304;
  int64_t ipfrag_low_thresh = 3145728;  // obsolete since Linux 4.17: kept for the name only
  int64_t ipfrag_max_dist = 64;
  // inet_initpeers: 1% of RAM in peers, clamped to [4096, 65536 + 128]; any
  // machine with more than ~1.3 GB gets the upper bound.
  int64_t inet_peer_threshold = 65536 + 128;
  int64_t inet_peer_minttl = 120;  // seconds (proc_dointvec_jiffies)
  int64_t inet_peer_maxttl = 600;
  // net.ipv4.conf.all
  int64_t rp_filter = 0;
  int64_t send_redirects = 1;
  int64_t shared_media = 1;
  int64_t arp_ignore = 0;
  int64_t arp_announce = 0;
  int64_t arp_accept = 0;
  int64_t accept_local = 0;
  int64_t drop_gratuitous_arp = 0;
  int64_t route_localnet = 0;
  // net.ipv4 TCP: what socket options fall back to (keepalive, TCP_LINGER2,
  // TCP_SYNCNT, TCP_QUICKACK's pingpong mode); times in seconds, as /proc shows them.
  int64_t tcp_keepalive_time = 7200;
  int64_t tcp_keepalive_intvl = 75;
  int64_t tcp_keepalive_probes = 9;
  int64_t tcp_fin_timeout = 60;
  int64_t tcp_slow_start_after_idle = 1;
  int64_t tcp_notsent_lowat = UINT32_MAX;  // a u32 (proc_douintvec): unlimited by default
  int64_t tcp_syn_retries = 6;
  // How long retransmissions go on (tcp_timer.c): retries1 before the route is
  // rethought, retries2 before an established connection is given up, and an
  // orphan's own limit (0: 8 while the peer is alive).
  int64_t tcp_retries1 = 3;
  int64_t tcp_retries2 = 15;
  int64_t tcp_orphan_retries = 0;
  int64_t tcp_pingpong_thresh = 1;
  // net.ipv4 TCP
  int64_t tcp_timestamps = 1;
  int64_t tcp_sack = 1;
  // ECN (tcp_ecn.h): 2 answers ECN-setup SYNs, 1 also asks on active opens
  // (Accurate ECN, 3 and up, is not modelled); fallback strips a retransmitted
  // SYN's ECE|CWR. D-SACK blocks are sent when tcp_dsack is on.
  int64_t tcp_ecn = 2, tcp_ecn_fallback = 1, tcp_dsack = 1;
  int64_t tcp_window_scaling = 1;
  int64_t tcp_moderate_rcvbuf = 1;
  int64_t tcp_syncookies = 1;
  int64_t tcp_max_syn_backlog = 2048;
  // Request socks and TIME_WAIT (tcp_synack_retries, tcp_rfc1337, tcp_tw_reuse, tcp_max_tw_buckets,
  // tcp_tw_reuse_delay).
  int64_t tcp_synack_retries = 5;
  int64_t tcp_rfc1337 = 0;
  int64_t tcp_tw_reuse = 2;
  int64_t tcp_max_tw_buckets = 131072;
  int64_t tcp_tw_reuse_delay = 1000;  // ms
  // Active open: the first tcp_syn_linear_timeouts SYN retries wait 1 s each, then doubling.
  int64_t tcp_syn_linear_timeouts = 4;
  // TSO sizing: segments a TSO skb may hold at least, the RTT shift that
  // lets it grow on short paths, the share of the window worth not deferring
  // for, and the pacing rate's ratios in slow start and congestion avoidance.
  int64_t tcp_min_tso_segs = 2;
  int64_t tcp_tso_rtt_log = 9;
  int64_t tcp_tso_win_divisor = 3;
  int64_t tcp_pacing_ss_ratio = 200;
  int64_t tcp_pacing_ca_ratio = 120;
  // TCP Small Queues' ceiling (bytes below TCP) and autocorking (tcp_push).
  int64_t tcp_limit_output_bytes = 4194304;
  int64_t tcp_autocorking = 1;
  // min, default, max (bytes): the buffers a socket starts with (tcp_init_sock) and
  // may grow to (tcp_rcv_space_adjust, tcp_sndbuf_expand); written as "4096 131072 33554432".
  // Loss recovery: the initial and largest reordering degree, F-RTO, tail loss
  // probes (3 and 4 alike), RACK (bit 1 only: the static window and the duplicate
  // threshold's removal, bits 2 and 4, are not modelled). tcp_fack has no effect
  // since Linux 4.15; kept for the name, as Linux keeps it.
  int64_t tcp_reordering = 3, tcp_max_reordering = 300, tcp_frto = 2, tcp_early_retrans = 3;
  int64_t tcp_recovery = 1, tcp_fack = 0;
  // Accurate ECN's option (read only when tcp_ecn asks for AccECN, 3 and up, which is
  // refused) and Fast Open's switches (the stack has no Fast Open: a SYN's TFO
  // option is ignored and TCP_FASTOPEN refused, whatever they say).
  int64_t tcp_ecn_option = 2, tcp_fastopen = 1;
  std::string tcp_fastopen_key = "00000000-00000000-00000000-00000000";
  int64_t tcp_rmem[3] = {4096, 131072, 33554432};
  int64_t tcp_wmem[3] = {4096, 16384, 4194304};
  // Not Linux's: where the DUT's tick falls on the virtual clock (the jiffies
  // phase, ns within a jiffy); TCP's ms clock (tcp_clock_ns, CLOCK_MONOTONIC,
  // to which Linux aligns its tick) ticks over with it. A replay sets it from
  // the recording's TSvals and timer-driven frames.
  int64_t nettwin_tcp_clock_phase_ns = 0;
  // net.ipv4.neigh.default.* live in arp_tbl.parms (struct neigh_parms, as tbl->parms in Linux).

  Status set(const std::string& name, const std::string& value);
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> names() const;

  // dev_weight * bias, as proc_do_dev_weight keeps them.
  int dev_rx_weight() const { return int(dev_weight * dev_weight_rx_bias); }
  int dev_tx_weight() const { return int(dev_weight * dev_weight_tx_bias); }

  // The vectors (proc_dointvec_minmax over an int[3], each at least min).
  struct Vector {
    const char* name;
    int64_t (Sysctls::*field)[3];
    int64_t min;
  };
  static const std::vector<Vector>& vectors();

 private:
  struct Entry {
    const char* name;
    int64_t Sysctls::*field;
    int64_t min;
    int64_t max;
  };
  static const std::vector<Entry>& table();
};

}  // namespace nettwin
