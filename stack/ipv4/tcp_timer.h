// net/ipv4/tcp_timer.c and the timer helpers of include/net/inet_connection_sock.h:
// the retransmit timer (retransmits, zero-window probes) and the delayed-ACK timer
// of a TCP socket, on the engine's timer wheel (jiffies, Linux's granularity).
#pragma once

#include <cstdint>

namespace nettwin {

struct Sock;

// TCP's time constants in jiffies (HZ 250).
inline constexpr uint32_t TCP_RTO_MAX = 120 * 250;
inline constexpr uint32_t TCP_RTO_MIN = 250 / 5;
inline constexpr uint32_t TCP_TIMEOUT_INIT = 1 * 250;
// TCP_TIMEOUT_FALLBACK: the RTO after a handshake without an RTT sample (RFC 6298 5.7).
inline constexpr uint32_t TCP_TIMEOUT_FALLBACK = 3 * 250;
inline constexpr uint32_t TCP_DELACK_MAX = 250 / 5;
inline constexpr uint32_t TCP_DELACK_MIN = 250 / 25;
inline constexpr uint32_t TCP_ATO_MIN = 250 / 25;
inline constexpr uint32_t TCP_RESOURCE_PROBE_INTERVAL = 250 / 2;
inline constexpr uint32_t TCP_TIMEWAIT_LEN = 60 * 250;

// tcp_fin_time: how long an orphan waits in FIN_WAIT2 for the peer's FIN
// (TCP_LINGER2, else tcp_fin_timeout), in jiffies; at least 3.5 RTO.
int tcp_fin_time(const Sock* sk);

// tcp_init_xmit_timers: the socket's timers exist but are not armed.
void tcp_init_xmit_timers(Sock* sk);
// tcp_clear_xmit_timers: all of them stopped (a socket going to CLOSE).
void tcp_clear_xmit_timers(Sock* sk);
// inet_csk_reset_xmit_timer: what (ICSK_TIME_*) due in when jiffies (at most max_when).
void inet_csk_reset_xmit_timer(Sock* sk, int what, uint32_t when, uint32_t max_when);
// inet_csk_clear_xmit_timer: the event is no longer wanted.
void inet_csk_clear_xmit_timer(Sock* sk, int what);
// The handlers (tcp_write_timer / tcp_delack_timer bodies), callable from tests.
void tcp_retransmit_timer(Sock* sk);
void tcp_delack_timer_handler(Sock* sk);
void tcp_write_timer_handler(Sock* sk);
// tcp_probe_timer: the zero-window probe timer fired.
void tcp_probe_timer(Sock* sk);
// tcp_clamp_rto_to_user_timeout: the RTO, but no later than TCP_USER_TIMEOUT allows.
uint32_t tcp_clamp_rto_to_user_timeout(Sock* sk);
// tcp_write_err: the connection timed out (sk_err, tcp_done).
void tcp_write_err(Sock* sk);

}  // namespace nettwin
