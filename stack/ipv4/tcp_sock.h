// struct tcp_sock, with struct inet_connection_sock folded in (include/linux/tcp.h,
// include/net/inet_connection_sock.h): the state of one TCP endpoint. A TcpSock
// is a Sock (struct sock and struct inet_sock are its first members in Linux
// too); tcp_sk() is the cast.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/dst.h"
#include "core/engine.h"
#include "ipv4/tcp_cong.h"
#include "socket/sock.h"

namespace nettwin {

// struct tcp_options_received: what the peer's SYN and later segments said.
struct TcpOptionsReceived {
  uint32_t ts_recent_stamp = 0;  // when ts_recent was taken (seconds)
  uint32_t ts_recent = 0;        // the TSval to echo
  uint32_t rcv_tsval = 0;        // TSval of the last segment
  uint32_t rcv_tsecr = 0;        // TSecr of the last segment
  bool saw_tstamp = false;       // the last segment carried a timestamp
  bool tstamp_ok = false;        // timestamps negotiated
  bool dsack = false;            // a D-SACK is to be sent
  bool wscale_ok = false;        // window scaling negotiated
  uint8_t sack_ok = 0;           // SACK negotiated
  uint8_t snd_wscale = 0;        // the peer's window scale
  uint8_t rcv_wscale = 0;        // ours
  uint8_t num_sacks = 0;
  uint16_t user_mss = 0;         // TCP_MAXSEG
  uint16_t mss_clamp = 0;        // the peer's MSS, clamped by user_mss
};

// tp->ecn_flags (include/net/tcp_ecn.h).
enum : uint8_t { TCP_ECN_MODE_RFC3168 = 1, TCP_ECN_QUEUE_CWR = 2, TCP_ECN_DEMAND_CWR = 4, TCP_ECN_SEEN = 8,
                 TCP_ECN_MODE_ACCECN = 16, TCP_ECN_MODE_ANY = TCP_ECN_MODE_RFC3168 | TCP_ECN_MODE_ACCECN };
// enum tcp_chrono: what limits the sender now (tcp_chrono_start/stop).
enum : uint8_t { TCP_CHRONO_UNSPEC, TCP_CHRONO_BUSY, TCP_CHRONO_RWND_LIMITED, TCP_CHRONO_SNDBUF_LIMITED,
                 __TCP_CHRONO_MAX };

// struct inet_connection_sock_af_ops is IPv4-only here; icsk_ack's pending bits.
enum : uint8_t { ICSK_ACK_SCHED = 1, ICSK_ACK_TIMER = 2, ICSK_ACK_PUSHED = 4, ICSK_ACK_PUSHED2 = 8, ICSK_ACK_NOW = 16,
                 ICSK_ACK_NOMEM = 32 };
// icsk_pending: which event the retransmit timer stands for.
enum : uint8_t { ICSK_TIME_RETRANS = 1, ICSK_TIME_DACK = 2, ICSK_TIME_PROBE0 = 3, ICSK_TIME_LOSS_PROBE = 5,
                 ICSK_TIME_REO_TIMEOUT = 6 };

// struct tcp_request_sock (with inet_request_sock and request_sock folded in):
// a connection in SYN_RECV, known by its 4-tuple until the handshake's ACK.
struct RequestSock {
  wire::Ipv4Addr ir_loc_addr = 0, ir_rmt_addr = 0;
  uint16_t ir_num = 0, ir_rmt_port = 0;  // host order
  int ir_iif = 0;
  uint32_t rcv_isn = 0;   // the peer's ISN
  uint32_t snt_isn = 0;   // ours
  uint32_t ts_off = 0;    // the connection's timestamp offset
  uint32_t ts_recent = 0; // the peer's TSval to echo
  uint16_t mss = 0;       // the peer's MSS (mss_clamp)
  uint32_t rsk_window_clamp = 0;  // u32 in Linux: 65535 << rcv_wscale when nothing clamps it
  uint32_t rsk_rcv_wnd = 0;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool tstamp_ok = false, sack_ok = false, wscale_ok = false;
  bool ecn_ok = false;    // an ECN-setup SYN we accept (tcp_ecn_create_request)
  uint8_t num_retrans = 0;
  uint32_t last_oow_ack_time = 0;  // jiffies of the last out-of-window answer (rate limit)
  uint64_t snt_synack = 0;         // when the SYN-ACK was sent, us (the handshake's RTT sample)
  // The SYN-ACK retransmit timer (rsk_timer, reqsk_timer_handler): its listener,
  // the first timeout (jiffies, tcp_timeout_init) and the timeouts so far.
  Sock* rsk_listener = nullptr;
  Engine* rsk_engine = nullptr;  // set when the timer is armed
  Engine::TimerId rsk_timer = 0;
  uint32_t timeout = 0;
  uint8_t num_timeout = 0;
  bool syncookie = false;  // answered with a cookie: no state kept, no timer
  bool acked = false;      // the handshake's ACK came, but was deferred (TCP_DEFER_ACCEPT) or the accept queue was full

  RequestSock() = default;
  RequestSock(const RequestSock&) = delete;
  RequestSock& operator=(const RequestSock&) = delete;
  // reqsk_put of the last reference: the timer dies with the request.
  ~RequestSock() {
    if (rsk_engine && rsk_timer) rsk_engine->del_timer(rsk_timer);
  }
};

struct TcpSock : Sock {
  // A TcpSock freed with a timer armed (a child dropped with its listener's
  // accept queue) takes its timers with it (tcp_timer.cc).
  ~TcpSock() override;
  // ---- a listener's queues (struct request_sock_queue): the SYN_RECV
  // requests (in ehash in Linux) and the children waiting for accept().
  std::vector<std::unique_ptr<RequestSock>> reqsk_queue;
  std::vector<std::unique_ptr<Sock>> icsk_accept_queue;
  bool synflood_warned = false;  // request_sock_queue.synflood_warned: the flood note was made
  uint8_t rskq_defer_accept = 0;  // TCP_DEFER_ACCEPT, in SYN-ACK retransmits

  // ---- struct inet_connection_sock
  uint32_t icsk_rto = 0;          // jiffies
  uint32_t icsk_rto_min = 0;      // jiffies
  uint32_t icsk_delack_max = 0;   // jiffies
  uint32_t icsk_pmtu_cookie = 0;
  uint32_t mtu_info = 0;  // the next-hop MTU of the last ICMP fragmentation needed
  const TcpCongestionOps* icsk_ca_ops = nullptr;
  uint8_t icsk_ca_state = TCP_CA_Open;
  bool icsk_ca_initialized = false;
  bool icsk_ca_setsockopt = false;  // TCP_CONGESTION chose the algorithm
  bool icsk_ca_dst_locked = false;  // the route chose it and locked it (congctl lock)
  uint8_t icsk_retransmits = 0;
  uint8_t icsk_pending = 0;       // ICSK_TIME_*
  uint8_t icsk_backoff = 0;
  uint8_t icsk_syn_retries = 0;   // TCP_SYNCNT (0: the sysctl)
  uint8_t icsk_probes_out = 0;
  uint32_t icsk_probes_tstamp = 0;
  uint32_t icsk_user_timeout = 0; // TCP_USER_TIMEOUT, ms
  bool icsk_bind_hash_connect = false;  // the port came from connect() (its bucket's fastreuse is -1)
  struct {
    uint8_t pending = 0;          // ICSK_ACK_*
    uint8_t quick = 0;            // segments left to ACK at once (quick-ack mode)
    uint8_t pingpong = 0;         // interactive session (delayed ACKs piggyback)
    uint8_t retry = 0;
    uint32_t ato = 0;             // the delayed-ACK timeout, jiffies
    uint32_t lrcvtime = 0;        // jiffies of the last data received
    uint16_t last_seg_size = 0;
    uint16_t rcv_mss = 0;         // the peer's MSS as we estimate it
    uint32_t timeout = 0;         // jiffies the delayed ACK is due
  } icsk_ack;
  uint32_t icsk_timeout = 0;      // jiffies the retransmit timer's event is due
  Engine::TimerId icsk_retransmit_timer = 0;  // retransmit, probe0, loss probe
  Engine::TimerId icsk_delack_timer = 0;
  Engine::TimerId sk_timer = 0;               // keepalive, SYN-ACK, FIN_WAIT2
  // pacing_timer (an hrtimer): internal pacing's next departure (tcp_pace_kick).
  Engine::TimerId pacing_timer = 0;
  // The GSO size sk_setup_caps takes from the device (sk_dst_gso_max_size:
  // GSO_LEGACY_MAX_SIZE less MAX_TCP_HEADER + 1).
  uint32_t sk_gso_max_size = 65536 - (192 + 1);
  // Private data of the congestion control (icsk_ca_priv: ICSK_CA_PRIV_SIZE, 104 bytes).
  alignas(8) uint8_t icsk_ca_priv[104] = {};

  // ---- struct tcp_sock
  uint32_t rcv_nxt = 0;       // what we want to receive next
  uint32_t copied_seq = 0;    // head of yet unread data
  uint32_t rcv_wup = 0;       // rcv_nxt at the last window update sent
  uint32_t snd_nxt = 0;       // next sequence we send
  uint32_t snd_una = 0;       // first byte we want an ACK for
  uint32_t snd_sml = 0;       // last byte of the most recently sent small packet
  uint32_t snd_wl1 = 0;       // sequence for the window update
  uint32_t snd_wnd = 0;       // the window we expect to receive
  uint32_t max_window = 0;    // the largest window the peer offered
  uint32_t write_seq = 0;     // tail+1 of the data in the write queue
  uint32_t pushed_seq = 0;    // last pushed seq
  uint32_t rcv_wnd = 0;       // current receiver window
  uint32_t rcv_ssthresh = 0;  // current window clamp
  uint32_t window_clamp = 0;  // the maximal window to advertise
  uint32_t mss_cache = 0;     // cached effective MSS, not counting SACKs
  uint16_t advmss = 0;        // the MSS we advertise
  uint32_t snd_up = 0;        // urgent pointer
  uint16_t urg_data = 0;      // the urgent byte received, with TCP_URG_* flags
  uint32_t urg_seq = 0;       // the sequence number of the urgent byte
  uint32_t tsoffset = 0;      // per-connection timestamp offset
  uint32_t rcv_tstamp = 0;    // timestamp (jiffies) of the last received ACK (keepalive)
  uint32_t lsndtime = 0;      // timestamp (jiffies) of the last sent data packet (restart window)
  uint32_t last_oow_ack_time = 0;  // jiffies of the last out-of-window ACK (rate limit)
  uint64_t tcp_mstamp = 0;    // the most recent clock, us (tcp_clock_us)
  uint64_t tcp_clock_cache = 0;  // ns

  uint32_t snd_ssthresh = 0;  // slow start threshold
  uint32_t snd_cwnd = 0;      // sending congestion window
  uint32_t snd_cwnd_cnt = 0;  // linear increase counter
  uint32_t snd_cwnd_clamp = 0;
  uint32_t snd_cwnd_used = 0;
  uint32_t snd_cwnd_stamp = 0;  // jiffies
  uint32_t prior_cwnd = 0;
  uint32_t prior_ssthresh = 0;
  bool is_cwnd_limited = false;
  uint32_t max_packets_out = 0;
  uint32_t cwnd_usage_seq = 0;
  uint32_t packets_out = 0;   // packets "in flight"
  uint32_t retrans_out = 0;   // retransmitted packets out
  uint32_t sacked_out = 0;
  uint32_t lost_out = 0;
  uint32_t high_seq = 0;      // snd_nxt at the onset of congestion
  uint32_t retrans_stamp = 0; // timestamp of the first retransmission (ms)
  uint32_t undo_marker = 0;
  int undo_retrans = 0;
  uint32_t total_retrans = 0;
  uint32_t reordering = 0;    // packet reordering metric (tcp_reordering)
  uint32_t prr_delivered = 0;
  uint32_t prr_out = 0;
  uint32_t delivered = 0;     // total data packets delivered, including retransmits
  uint32_t delivered_ce = 0;
  uint32_t lost = 0;          // total data packets lost, including retransmits
  uint32_t app_limited = 0;
  uint32_t rate_delivered = 0;
  uint32_t rate_interval_us = 0;
  uint64_t first_tx_mstamp = 0;
  uint64_t delivered_mstamp = 0;

  // RTT (tcp_rtt_estimator): microseconds, srtt and mdev scaled by 8 and 4.
  uint32_t srtt_us = 0;
  uint32_t mdev_us = 0;
  uint32_t mdev_max_us = 0;
  uint32_t rttvar_us = 0;
  uint32_t rtt_seq = 0;
  uint32_t rtt_min_us = 0;    // windowed min filter's current value (tcp_min_rtt)

  // Counters TCP_INFO reports.
  uint32_t segs_in = 0, data_segs_in = 0, segs_out = 0, data_segs_out = 0;
  uint64_t bytes_received = 0, bytes_sent = 0, bytes_acked = 0, bytes_retrans = 0;
  uint32_t dsack_dups = 0;
  uint32_t rcv_ooopack = 0;
  uint32_t reord_seen = 0;      // reordering events seen
  // RACK (tcp_recovery.c): the most recently sent skb known delivered (SACKed or acked).
  struct {
    uint64_t mstamp = 0;        // its departure, us
    uint32_t rtt_us = 0;        // its RTT
    uint32_t end_seq = 0;
    uint32_t last_delivered = 0;  // delivered when reo_wnd_steps last grew
    uint8_t reo_wnd_steps = 1;  // the reordering window, in min_rtt/4 steps
    uint8_t reo_wnd_persist = 0;  // recoveries left before reo_wnd_steps falls back to 1
    bool dsack_seen = false;    // a D-SACK since reo_wnd_steps last grew
    bool advanced = false;      // a newer delivery since the last loss scan
  } rack;
  // Tail loss probe (tcp_send_loss_probe): snd_nxt when the probe went (0:
  // none outstanding), and whether it was a retransmission.
  uint32_t tlp_high_seq = 0;
  bool tlp_retrans = false;
  uint32_t plb_rehash = 0;      // PLB-triggered rehashes
  uint16_t timeout_rehash = 0;  // RTO-triggered rehashes
  bool rate_app_limited = false;  // the last rate sample was application-limited

  // Time spent busy or limited (tcp_chrono_*), in jiffies.
  uint32_t chrono_start = 0;
  uint32_t chrono_stat[__TCP_CHRONO_MAX - 1] = {};
  uint8_t chrono_type = TCP_CHRONO_UNSPEC;

  // RTO recoveries (tcp_enter_loss ... tcp_end_rto_recovery).
  uint16_t total_rto = 0;
  uint16_t total_rto_recoveries = 0;
  uint32_t total_rto_time = 0;  // ms
  uint32_t rto_stamp = 0;       // tcp_clock_ms() at the start of the recovery in progress (0: none)

  // ECN: the negotiated mode and what was seen (RFC 3168 and Accurate ECN).
  uint8_t ecn_flags = 0;        // TCP_ECN_*
  uint8_t accecn_fail_mode = 0;
  uint8_t saw_accecn_opt = 0;
  uint32_t received_ce = 0;     // CE-marked segments received
  uint32_t delivered_ecn_bytes[3] = {};  // ECT(1), ECT(0), CE: index INET_ECN_* - 1
  uint32_t received_ecn_bytes[3] = {};

  // TCP Fast Open outcome bits TCP_INFO reports.
  bool syn_data_acked = false;
  bool syn_fastopen_child = false;
  uint8_t fastopen_client_fail = 0;
  bool tcp_usec_ts = false;     // timestamps in usec (TCPI_OPT_USEC_TS)

  TcpOptionsReceived rx_opt;
  // SACK blocks we send (tcp_sack_block): the D-SACK, then the out-of-order ranges.
  struct SackBlock { uint32_t start_seq = 0, end_seq = 0; };
  SackBlock duplicate_sack[1];
  SackBlock selective_acks[4];

  // Receive-side state tcp_rcv_established's header prediction uses.
  uint32_t pred_flags = 0;        // the expected 4th word of the TCP header (0: slow path)
  uint16_t tcp_header_len = 20;   // bytes of TCP header we expect (with timestamps: 32)
  uint8_t scaling_ratio = 128;    // payload share of truesize, <<8 (TCP_DEFAULT_SCALING_RATIO)
  uint64_t tcp_wstamp_ns = 0;     // departure time of the next skb (ns)
  uint32_t sk_gso_type = 1;       // SKB_GSO_TCPV4 (sk_setup_caps)
  // sk_setup_caps: every TCP socket may build GSO skbs (NETIF_F_GSO, software
  // segmentation), as many segments as the device allows; gso_segs is
  // tcp_xmit_size_goal's cached segment count.
  uint16_t sk_gso_max_segs = 65535;
  uint16_t gso_segs = 0;
  uint8_t sk_pacing_shift = 10;

  uint8_t nonagle = 0;        // TCP_NAGLE_OFF / TCP_NAGLE_CORK / TCP_NAGLE_PUSH
  bool thin_lto = false;
  uint8_t frto = 0;
  bool is_sack_reneg = false;   // the peer reneged on SACKs: set until this loss recovers
  uint8_t keepalive_probes = 0;  // TCP_KEEPCNT (0: the sysctl)
  uint32_t keepalive_time = 0;   // TCP_KEEPIDLE, jiffies (0: the sysctl)
  uint32_t keepalive_intvl = 0;  // TCP_KEEPINTVL, jiffies (0: the sysctl)
  int linger2 = 0;               // TCP_LINGER2 (FIN_WAIT2 timeout)
  uint32_t notsent_lowat = 0;

  // Receiver-side RTT and buffer autotuning (tcp_rcv_space_adjust).
  struct { uint32_t rtt_us = 0; uint32_t seq = 0; uint64_t time = 0; } rcv_rtt_est;  // rtt_us << 3, time in us
  uint32_t rcv_rtt_last_tsecr = 0;
  struct { uint32_t space = 0; uint32_t seq = 0; uint64_t time = 0; } rcvq_space;

  // Queues: the write queue (not yet sent), the retransmit queue (sent, not
  // acked; an rbtree in Linux, in sequence order here) and the out-of-order queue.
  SkbQueue sk_write_queue;
  SkbQueue tcp_rtx_queue;
  SkbQueue out_of_order_queue;
  int sk_wmem_queued = 0;       // bytes charged for the write and retransmit queues
  int sk_forward_alloc = 0;
};

// ktime_get_seconds: the monotonic clock in whole seconds since boot (jiffies
// start at INITIAL_JIFFIES at boot), the clock ts_recent_stamp is kept in; a
// kernel is never 0 s up, so a stamp of 0 means "no timestamp seen".
inline int64_t tcp_ktime_get_seconds(const Engine& e) { return int64_t((e.jiffies() - INITIAL_JIFFIES) / HZ); }

inline TcpSock* tcp_sk(Sock* sk) { return static_cast<TcpSock*>(sk); }
inline const TcpSock* tcp_sk(const Sock* sk) { return static_cast<const TcpSock*>(sk); }
// tcp_mss_clamp: TCP_MAXSEG lowers the MSS a route allows, never raises it.
inline unsigned tcp_mss_clamp(const TcpSock* tp, unsigned mss) {
  const unsigned user_mss = tp->rx_opt.user_mss;
  return (user_mss && user_mss < mss) ? user_mss : mss;
}
// tcp_rto_min: the socket's minimum RTO, unless the route locks its own
// (`rto_min 100ms`: iproute2 always locks it); jiffies.
inline uint32_t tcp_rto_min(const Sock* sk) {
  const DstEntry* dst = sk->sk_dst_cache;
  return dst_metric_locked(dst, RTAX_RTO_MIN) ? dst_metric_rtt(dst, RTAX_RTO_MIN) : tcp_sk(sk)->icsk_rto_min;
}
inline uint32_t tcp_rto_min_us(const Sock* sk) { return tcp_rto_min(sk) * uint32_t(1'000'000 / HZ); }
// tcp_delack_max: the delayed ACK's longest wait, under the minimum RTO.
inline uint32_t tcp_delack_max(const Sock* sk) {
  return std::min(tcp_sk(sk)->icsk_delack_max, std::max(tcp_rto_min(sk), 2u) - 1);
}
// The congestion control's private area (inet_csk_ca).
template <typename T>
inline T* inet_csk_ca(Sock* sk) {
  static_assert(sizeof(T) <= sizeof(TcpSock::icsk_ca_priv));
  return reinterpret_cast<T*>(tcp_sk(sk)->icsk_ca_priv);
}

// tp->urg_data's states: the byte is in (VALID, the byte in the low 8 bits),
// a pointer came but not its byte (NOTYET), the byte was read with MSG_OOB (READ).
inline constexpr uint16_t TCP_URG_VALID = 0x0100, TCP_URG_NOTYET = 0x0200, TCP_URG_READ = 0x0400;

// tcp_urg_mode: urgent data sent (MSG_OOB) and not yet acked: snd_up ahead
// of snd_una.
inline bool tcp_urg_mode(const TcpSock* tp) { return tp->snd_una != tp->snd_up; }

}  // namespace nettwin
