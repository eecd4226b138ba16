// net/ipv4/tcp_output.c: what TCP sends. Other parts of TCP (input, timers,
// close, options) call these.
#pragma once

#include <cstdint>

namespace nettwin {

class Net;
struct Sock;
struct SkBuff;

// Linux's constants (include/net/tcp.h).
inline constexpr unsigned MAX_TCP_HEADER = 192;  // L1_CACHE_ALIGN(128 + MAX_HEADER): MAX_HEADER is LL_MAX_HEADER, 32, without WLAN, Hyper-V or IP tunnels (the recording kernel)
inline constexpr unsigned TCP_MSS_DEFAULT = 536;
inline constexpr unsigned TCP_MIN_MSS = 88;
inline constexpr unsigned TCPOLEN_TSTAMP_ALIGNED = 12;
inline constexpr unsigned TCP_INIT_CWND = 10;
inline constexpr unsigned TCP_MAX_QUICKACKS = 16;
enum : uint8_t { TCP_NAGLE_OFF = 1, TCP_NAGLE_CORK = 2, TCP_NAGLE_PUSH = 4 };

// __tcp_transmit_skb: the TCP header (options in tcp_options_write's order)
// and checksum on skb, or on a clone of it when clone_it (the original stays
// on the retransmit queue), then ip_queue_xmit. 0 or a negative errno.
int tcp_transmit_skb(Sock* sk, SkBuff* skb, bool clone_it);
// tcp_send_ack / __tcp_send_ack: a bare ACK of rcv_nxt now.
void tcp_send_ack(Sock* sk);
// tcp_send_delayed_ack: schedule the ACK (ato, clamped as Linux does).
void tcp_send_delayed_ack(Sock* sk);
// tcp_select_window: the window field of the next segment (scaled), and the
// new rcv_wnd / rcv_wup.
uint16_t tcp_select_window(Sock* sk);
// __tcp_select_window: the window we may offer now, unscaled.
uint32_t __tcp_select_window(Sock* sk);
// tcp_current_mss: the payload bytes of a full segment now (options counted).
unsigned tcp_current_mss(Sock* sk);
// tcp_sync_mss: mss_cache for a path MTU.
unsigned tcp_sync_mss(Sock* sk, unsigned pmtu);
// tcp_init_nondata_skb: seq/flags of a segment without data.
void tcp_init_nondata_skb(SkBuff* skb, uint32_t seq, uint8_t flags);
// tcp_write_xmit: send what the congestion window, the peer's window and
// Nagle allow from the write queue; true when nothing could be sent while
// data waits and nothing is in flight (the caller arms the probe timer).
bool tcp_write_xmit(Sock* sk, unsigned mss_now, int nonagle, int push_one);
// __tcp_push_pending_frames / tcp_push_one.
void __tcp_push_pending_frames(Sock* sk, unsigned cur_mss, int nonagle);
void tcp_push_one(Sock* sk, unsigned mss_now);
// tcp_retransmit_skb: the head of the retransmit queue again; 0 or -errno.
int tcp_retransmit_skb(Sock* sk, SkBuff* skb, int segs);
// tcp_send_fin: FIN on the last queued skb, or a new FIN skb.
void tcp_send_fin(Sock* sk);
// tcp_send_active_reset: RST|ACK at snd_nxt (reason: sk_rst_reason's name).
void tcp_send_active_reset(Sock* sk, const char* reason);
// tcp_rearm_rto: the retransmit timer for the head of the rtx queue, or none.
void tcp_rearm_rto(Sock* sk);
// tcp_event_new_data_sent: skb has left the write queue for the rtx queue.
void tcp_event_new_data_sent(Sock* sk, SkBuff* skb);
// tcp_check_probe_timer: a zero-window probe when data waits and nothing is out.
void tcp_check_probe_timer(Sock* sk);
// tcp_write_wakeup: what a probe timer sends (mib counts a bare probe): the send head, or
// an MSS of it, with PSH when the window has room for it, else a bare ACK below snd_una.
int tcp_write_wakeup(Sock* sk, uint64_t& mib);
// tcp_send_probe0: a zero-window probe, the probe timer backed off.
void tcp_send_probe0(Sock* sk);
// The tail loss probe timer fired (tcp_send_loss_probe).
void tcp_loss_probe_timer(Sock* sk);
// tcp_schedule_loss_probe: arm the tail loss probe; false when TLP does not apply.
bool tcp_schedule_loss_probe(Sock* sk, bool advancing_rto);
// tcp_chrono_start / tcp_chrono_stop (tcp_output.c, include/net/tcp.h): what limits the sender, timed
// in jiffies for TCP_INFO's busy_time, rwnd_limited and sndbuf_limited. A start of a higher chrono
// replaces the running one; a stop ends timing when both queues are empty, else falls back to busy.
void tcp_chrono_start(Sock* sk, uint8_t type);
void tcp_chrono_stop(Sock* sk, uint8_t type);
// tcp_add_write_queue_tail: skb at the tail of the write queue; the first one starts the busy chrono.
void tcp_add_write_queue_tail(Sock* sk, SkBuff* skb);
// tcp_cwnd_restart (RFC 2861): the first data after delta jiffies idle starts
// from a cwnd halved per RTO idle, down to the initial window.
void tcp_cwnd_restart(Sock* sk, int32_t delta);
// tcp_slow_start_after_idle_check (include/net/tcp.h): with the sysctl on and
// nothing in flight, the cwnd restarts when the last data left more than an
// RTO ago. Run when a new skb joins the write queue (tcp_skb_entail) and when
// the peer's window changes while data waits (tcp_ack_update_window).
void tcp_slow_start_after_idle_check(Sock* sk);
// TCP Small Queues. tcp_small_queue_check: more of this socket's memory below
// TCP (qdisc, device, the veth peer's backlog) than the pacing rate's ~1 ms
// (at least two skbs, at most tcp_limit_output_bytes, << factor) holds skb back
// (TSQF_THROTTLED) until a tcp_wfree; never with the rtx queue at most one skb.
bool tcp_small_queue_check(Sock* sk, const SkBuff* skb, unsigned factor);
// tcp_wfree: a sent data skb's destructor. Its memory goes back; a throttled
// socket goes on the TSQ work's list (TASKLET_SOFTIRQ, system_bh_wq's).
void tcp_wfree(SkBuff* skb);
// tcp_tsq_workfn: each socket tcp_wfree queued sends what TSQ held back
// (tcp_tsq_handler / tcp_tsq_write), most recently queued first.
void tcp_tsq_workfn(Net& net);
// tcp_mstamp_refresh: tp->tcp_mstamp from the clock.
void tcp_mstamp_refresh(Sock* sk);
// tcp_ns_to_ts: the ms clock TSval counts in, from the virtual clock's ns.
// Linux's tcp_clock_ns is CLOCK_MONOTONIC, whose ms edges may fall anywhere
// in the virtual clock's ms (the nettwin.tcp_clock_phase_ns knob).
uint32_t tcp_ns_to_ts(const Sock* sk, uint64_t ns);
// tcp_time_stamp_ts: the TSval clock (ms) without the connection's offset.
uint32_t tcp_time_stamp_ms(const Sock* sk);

// TSO in software: TCP builds skbs of several MSS (sk_setup_caps gives every
// TCP socket NETIF_F_GSO) and validate_xmit_skb cuts them at the device.
// tcp_xmit_size_goal: how large sendmsg makes an skb (whole MSS, at most
// half the peer's largest window and the GSO size); tcp_send_mss: the MSS
// now and, in *size_goal, that goal.
unsigned tcp_xmit_size_goal(Sock* sk, uint32_t mss_now, bool large_allowed);
unsigned tcp_send_mss(Sock* sk, unsigned* size_goal, int flags);
// tcp_tso_segs: how many segments one TSO skb may hold now (tcp_tso_autosize,
// from the pacing rate and the minimum RTT, within sk_gso_max_segs).
uint32_t tcp_tso_segs(Sock* sk, unsigned mss_now);
// tcp_set_skb_tso_segs: pcount and gso size of skb for mss_now.
unsigned tcp_set_skb_tso_segs(SkBuff* skb, unsigned mss_now);
// tcp_trim_head: len acked bytes off the front of a sent skb (pcount redone).
int tcp_trim_head(Sock* sk, SkBuff* skb, uint32_t len);
// tcp_fragment: skb cut at len, the rest a new skb behind it in its queue;
// the counters of what was already sent adjusted. 0 or -errno.
enum TcpQueue { TCP_FRAG_IN_WRITE_QUEUE, TCP_FRAG_IN_RTX_QUEUE };
int tcp_fragment(Sock* sk, TcpQueue tcp_queue, SkBuff* skb, uint32_t len, unsigned mss_now);

// tcp_connect: tcp_connect_init, the SYN queued and sent, ActiveOpens, the
// retransmit timer armed with the initial RTO.
int tcp_connect(Sock* sk);
// tcp_send_synack (simultaneous open): our queued SYN again, with ACK.
int tcp_send_synack(Sock* sk);

}  // namespace nettwin
