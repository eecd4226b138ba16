// net/ipv4/tcp_timer.c: the retransmit timer (data and FIN retransmits with
// exponential backoff, giving up after tcp_retries2) and the delayed-ACK timer.
// Each is a mod_timer on the engine's timer wheel: it fires at the granularity
// of its wheel level, as Linux's does.
#include "ipv4/tcp_timer.h"

#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_recovery.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"

namespace nettwin {

namespace {

void sk_stop_timer(Net& net, Engine::TimerId* id) {
  if (*id) net.engine.del_timer(*id);
  *id = 0;
}

// sk_reset_timer: mod_timer(timer, expires).
void sk_reset_timer(Sock* sk, Engine::TimerId* id, uint32_t expires, void (*fn)(Sock*)) {
  Net& net = *sk->net;
  if (*id) net.engine.del_timer(*id);
  // expires is a 32-bit jiffies value; the wheel counts in 64 bits.
  const uint64_t now = net.engine.jiffies();
  const uint64_t when = now + uint64_t(int64_t(int32_t(expires - uint32_t(now))));
  // Two pointers fit std::function's inline storage: arming allocates nothing.
  // Each handler clears its own id first (a fired timer is no longer pending).
  *id = net.engine.mod_timer(when, [sk, fn] { fn(sk); });
}

// tcp_orphan_retries: how often an orphaned socket retransmits before it is
// given up: the sysctl, where 0 means 8 while the peer seems alive.
unsigned tcp_orphan_retries(Sock* sk, bool alive) {
  unsigned retries = unsigned(sk->net->sysctl.tcp_orphan_retries);
  if (sk->sk_err_soft && !alive) retries = 0;
  if (retries == 0 && alive) retries = 8;
  return retries;
}

void tcp_write_timer(Sock* sk) {
  tcp_sk(sk)->icsk_retransmit_timer = 0;
  tcp_write_timer_handler(sk);
}
void tcp_delack_timer(Sock* sk) {
  tcp_sk(sk)->icsk_delack_timer = 0;
  tcp_delack_timer_handler(sk);
}

// tcp_model_timeout: how long boundary retransmits with exponential backoff
// from rto_base take (ms).
uint32_t tcp_model_timeout(unsigned boundary, uint32_t rto_base) {
  const unsigned linear_backoff_thresh = unsigned(31 - __builtin_clz(TCP_RTO_MAX / rto_base));
  uint64_t timeout;
  if (boundary <= linear_backoff_thresh)
    timeout = ((2ull << boundary) - 1) * rto_base;
  else
    timeout = ((2ull << linear_backoff_thresh) - 1) * rto_base + uint64_t(boundary - linear_backoff_thresh) * TCP_RTO_MAX;
  return uint32_t(timeout * 1000 / HZ);  // jiffies_to_msecs
}

// retransmits_timed_out: has the first retransmit been going on for as long
// as boundary backed-off retransmits take (or for timeout ms)?
bool retransmits_timed_out(Sock* sk, unsigned boundary, uint32_t timeout) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->icsk_retransmits) return false;
  const uint32_t start_ts = tp->retrans_stamp;
  // A handshake's retransmissions back off from the initial RTO (tcp_timeout_init).
  const bool syn = (1 << sk->sk_state) & ((1 << TCP_SYN_SENT) | (1 << TCP_SYN_RECV));
  if (timeout == 0) timeout = tcp_model_timeout(boundary, syn ? TCP_TIMEOUT_INIT : TCP_RTO_MIN);
  return int32_t(tcp_time_stamp_ms(sk) - start_ts - timeout) >= 0;
}

// tcp_write_timeout: true when the connection was given up.
bool tcp_write_timeout(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  unsigned retry_until = unsigned(net.sysctl.tcp_retries2);
  bool expired = false;
  if ((1 << sk->sk_state) & ((1 << TCP_SYN_SENT) | (1 << TCP_SYN_RECV))) {
    // The active open: tcp_syn_retries (TCP_SYNCNT), plus the linear
    // timeouts in SYN_SENT (__dst_negative_advice keeps a plain route).
    retry_until = tp->icsk_syn_retries ? tp->icsk_syn_retries : unsigned(net.sysctl.tcp_syn_retries);
    unsigned max_retransmits = retry_until;
    if (sk->sk_state == TCP_SYN_SENT) max_retransmits += unsigned(net.sysctl.tcp_syn_linear_timeouts);
    expired = tp->icsk_retransmits >= max_retransmits;
  } else if (sk->sock_dead) {
    const bool alive = tp->icsk_rto < TCP_RTO_MAX;
    retry_until = tcp_orphan_retries(sk, alive);
  }
  if (!expired) expired = retransmits_timed_out(sk, retry_until, tp->icsk_user_timeout);
  if (expired) {
    tcp_write_err(sk);
    return true;
  }
  // sk_rethink_txhash: a new flow hash after each timeout (txrehash is on).
  tp->timeout_rehash++;
  net.mib.tcpext.TCPTimeoutRehash++;
  return false;
}

// tcp_update_rto_stats.
void tcp_update_rto_stats(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->icsk_retransmits) {
    tp->total_rto_recoveries++;
    tp->rto_stamp = tcp_time_stamp_ms(sk);
  }
  tp->icsk_retransmits++;
  tp->total_rto++;
}

}  // namespace

void tcp_init_xmit_timers(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->icsk_retransmit_timer = 0;
  tp->icsk_delack_timer = 0;
  tp->pacing_timer = 0;
  tp->icsk_pending = 0;
  tp->icsk_ack.pending = 0;
}

void tcp_clear_xmit_timers(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->icsk_pending = 0;
  tp->icsk_ack.pending = 0;
  sk_stop_timer(*sk->net, &tp->icsk_retransmit_timer);
  sk_stop_timer(*sk->net, &tp->icsk_delack_timer);
  sk_stop_timer(*sk->net, &tp->sk_timer);
  sk_stop_timer(*sk->net, &tp->pacing_timer);  // hrtimer_try_to_cancel
}

void inet_csk_reset_xmit_timer(Sock* sk, int what, uint32_t when, uint32_t max_when) {
  TcpSock* tp = tcp_sk(sk);
  when = std::min(when, max_when);
  const uint32_t expires = uint32_t(sk->net->engine.jiffies()) + when;
  if (what == ICSK_TIME_RETRANS || what == ICSK_TIME_PROBE0 || what == ICSK_TIME_LOSS_PROBE ||
      what == ICSK_TIME_REO_TIMEOUT) {
    tp->icsk_pending = uint8_t(what);
    tp->icsk_timeout = expires;
    sk_reset_timer(sk, &tp->icsk_retransmit_timer, expires, tcp_write_timer);
  } else if (what == ICSK_TIME_DACK) {
    tp->icsk_ack.pending |= ICSK_ACK_TIMER;
    tp->icsk_ack.timeout = expires;
    sk_reset_timer(sk, &tp->icsk_delack_timer, expires, tcp_delack_timer);
  }
}

// Linux leaves the timer armed and lets its handler find nothing to do; a
// timer that does nothing is invisible, so it is stopped here.
void inet_csk_clear_xmit_timer(Sock* sk, int what) {
  TcpSock* tp = tcp_sk(sk);
  if (what == ICSK_TIME_RETRANS || what == ICSK_TIME_PROBE0) {
    tp->icsk_pending = 0;
    sk_stop_timer(*sk->net, &tp->icsk_retransmit_timer);
  } else if (what == ICSK_TIME_DACK) {
    tp->icsk_ack.pending = 0;
    tp->icsk_ack.retry = 0;
    sk_stop_timer(*sk->net, &tp->icsk_delack_timer);
  }
}

void tcp_write_err(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  sk->sk_err = sk->sk_err_soft ? sk->sk_err_soft : E_TIMEDOUT;
  sk_error_report(sk);
  (void)tp;
  tcp_write_queue_purge(sk);
  tcp_done(sk);
  sk->net->mib.tcpext.TCPAbortOnTimeout++;
}

void tcp_delack_timer_handler(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_LISTEN) return;
  if (!(tp->icsk_ack.pending & ICSK_ACK_TIMER)) return;
  const uint32_t now = uint32_t(sk->net->engine.jiffies());
  if (int32_t(tp->icsk_ack.timeout - now) > 0) {
    sk_reset_timer(sk, &tp->icsk_delack_timer, tp->icsk_ack.timeout, tcp_delack_timer);
    return;
  }
  tp->icsk_ack.pending &= uint8_t(~ICSK_ACK_TIMER);
  if (tp->icsk_ack.pending & ICSK_ACK_SCHED) {  // inet_csk_ack_scheduled
    if (!inet_csk_in_pingpong_mode(sk)) {
      // Delayed ACK missed: inflate ATO.
      tp->icsk_ack.ato = std::min(tp->icsk_ack.ato << 1, tp->icsk_rto);
    } else {
      // Delayed ACK missed: leave pingpong mode and deflate ATO.
      tp->icsk_ack.pingpong = 0;
      tp->icsk_ack.ato = TCP_ATO_MIN;
    }
    tcp_mstamp_refresh(sk);
    tcp_send_ack(sk);
    sk->net->mib.tcpext.DelayedACKs++;
  }
}

void tcp_write_timer_handler(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_LISTEN || !tp->icsk_pending) return;
  const uint32_t now = uint32_t(sk->net->engine.jiffies());
  if (int32_t(tp->icsk_timeout - now) > 0) {
    sk_reset_timer(sk, &tp->icsk_retransmit_timer, tp->icsk_timeout, tcp_write_timer);
    return;
  }
  tcp_mstamp_refresh(sk);
  const int event = tp->icsk_pending;
  switch (event) {
    case ICSK_TIME_RETRANS:
      tp->icsk_pending = 0;
      tcp_retransmit_timer(sk);
      break;
    case ICSK_TIME_REO_TIMEOUT:
      tcp_rack_reo_timeout(sk);
      break;
    case ICSK_TIME_LOSS_PROBE:
      tcp_loss_probe_timer(sk);
      break;
    case ICSK_TIME_PROBE0:
      tp->icsk_pending = 0;
      tcp_probe_timer(sk);
      break;
    default:
      tp->icsk_pending = 0;
      break;
  }
}

void tcp_retransmit_timer(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  if (!tp->packets_out) return;
  SkBuff* skb = tp->tcp_rtx_queue.front();
  if (!skb) return;
  net.mib.tcpext.TCPTimeouts++;
  if (tcp_write_timeout(sk)) return;
  if (tp->icsk_retransmits == 0) {
    // What the timeout interrupted.
    const bool sack = tp->rx_opt.sack_ok;
    if (tp->icsk_ca_state == TCP_CA_Recovery)
      (sack ? net.mib.tcpext.TCPSackRecoveryFail : net.mib.tcpext.TCPRenoRecoveryFail)++;
    else if (tp->icsk_ca_state == TCP_CA_Loss)
      net.mib.tcpext.TCPLossFailures++;
    else if (tp->icsk_ca_state == TCP_CA_Disorder || tp->sacked_out)
      (sack ? net.mib.tcpext.TCPSackFailures : net.mib.tcpext.TCPRenoFailures)++;
  }
  tcp_enter_loss(sk);
  tcp_update_rto_stats(sk);
  if (tcp_retransmit_skb(sk, tp->tcp_rtx_queue.front(), 1) > 0) {
    // Local congestion: probe again soon.
    inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, TCP_RESOURCE_PROBE_INTERVAL, TCP_RTO_MAX);
    return;
  }
  // Double the timeout each time (Jacobson): the RTT estimate stays. A SYN
  // keeps its 1 s timeout for the first tcp_syn_linear_timeouts rounds.
  if (sk->sk_state != TCP_SYN_SENT || tp->total_rto > net.sysctl.tcp_syn_linear_timeouts) {
    tp->icsk_backoff++;
    tp->icsk_rto = std::min(tp->icsk_rto << 1, TCP_RTO_MAX);
  }
  inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, tcp_clamp_rto_to_user_timeout(sk), TCP_RTO_MAX);
  if (retransmits_timed_out(sk, unsigned(sk->net->sysctl.tcp_retries1) + 1, 0))
    sk->sk_dst_cache = nullptr;  // __sk_dst_reset
}

uint32_t tcp_clamp_rto_to_user_timeout(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t user_timeout = tp->icsk_user_timeout;
  if (!user_timeout || !tp->icsk_retransmits) return tp->icsk_rto;
  const int32_t elapsed = int32_t(tcp_time_stamp_ms(sk) - tp->retrans_stamp);
  int32_t remaining = int32_t(user_timeout) - elapsed;
  if (remaining <= 0) return 1;  // user timeout has passed; fire ASAP
  return std::min<uint32_t>(tp->icsk_rto, uint32_t(msecs_to_jiffies(uint64_t(remaining))));
}

// tcp_probe_timer: a zero-window probe (tcp_send_probe0), backed off.
void tcp_probe_timer(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->packets_out || tp->sk_write_queue.empty()) {
    tp->icsk_probes_out = 0;
    tp->icsk_probes_tstamp = 0;
    return;
  }
  if (!tp->icsk_probes_tstamp) tp->icsk_probes_tstamp = uint32_t(sk->net->engine.jiffies());
  unsigned max_probes = unsigned(sk->net->sysctl.tcp_retries2);
  if (sk->sock_dead) max_probes = tcp_orphan_retries(sk, tp->icsk_rto < TCP_RTO_MAX);
  if (tp->icsk_probes_out >= max_probes) {
    tcp_write_err(sk);
    return;
  }
  tcp_send_probe0(sk);
}

// ---------------------------------------------------------------------------
// The keepalive timer (sk_timer): after keepalive_time without a word from
// the peer, probes every keepalive_intvl; keepalive_probes unanswered ones
// (or TCP_USER_TIMEOUT, when set) reset the connection with ETIMEDOUT.

TcpSock::~TcpSock() {
  if (!net) return;
  for (Engine::TimerId* id : {&icsk_retransmit_timer, &icsk_delack_timer, &sk_timer, &pacing_timer})
    sk_stop_timer(*net, id);
}

void inet_csk_reset_keepalive_timer(Sock* sk, uint32_t len) {
  sk_reset_timer(sk, &tcp_sk(sk)->sk_timer, uint32_t(sk->net->engine.jiffies()) + len, tcp_keepalive_timer);
}

void inet_csk_delete_keepalive_timer(Sock* sk) { sk_stop_timer(*sk->net, &tcp_sk(sk)->sk_timer); }

// tcp_set_keepalive: SO_KEEPALIVE on a connection arms the timer (if it was
// off) for keepalive_time from now; off stops it. A closed socket or a
// listener keeps only the flag (sk_timer is not keepalive's there).
void tcp_set_keepalive(Sock* sk, int val) {
  if (sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_LISTEN) return;
  if (val && !sk->sock_keepopen) inet_csk_reset_keepalive_timer(sk, keepalive_time_when(tcp_sk(sk)));
  else if (!val) inet_csk_delete_keepalive_timer(sk);
}

int tcp_fin_time(const Sock* sk) {
  const TcpSock* tp = tcp_sk(sk);
  int fin_timeout = tp->linger2 ? tp->linger2 : int(sk->net->sysctl.tcp_fin_timeout * HZ);
  const int rto = int(tp->icsk_rto);
  return std::max(fin_timeout, (rto << 2) - (rto >> 1));
}

void tcp_keepalive_timer(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->sk_timer = 0;
  if (sk->sk_state == TCP_LISTEN) return;  // "keepalive on a LISTEN ???"
  tcp_mstamp_refresh(sk);
  // An orphan in FIN_WAIT2 whose fin time is beyond TCP_TIMEWAIT_LEN waited
  // here for the part above it; the rest it waits as a TIME_WAIT sock.
  if (sk->sk_state == TCP_FIN_WAIT2 && sk->sock_dead) {
    if (tp->linger2 >= 0) {
      const int tmo = tcp_fin_time(sk) - int(TCP_TIMEWAIT_LEN);
      if (tmo > 0) {
        tcp_time_wait(sk, TCP_FIN_WAIT2, tmo);
        return;
      }
    }
    tcp_send_active_reset(sk, "TCP_STATE");
    tcp_done(sk);
    return;
  }
  if (!sk->sock_keepopen || sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_SYN_SENT) return;

  uint32_t elapsed = keepalive_time_when(tp);
  // It is alive without keepalive: data in flight or queued has its own timers.
  if (tp->packets_out || !tp->sk_write_queue.empty()) {
    inet_csk_reset_keepalive_timer(sk, elapsed);
    return;
  }
  elapsed = keepalive_time_elapsed(tp);
  if (elapsed >= keepalive_time_when(tp)) {
    // TCP_USER_TIMEOUT, when set, decides when to give up instead of the
    // probe count (once at least one probe went unanswered).
    const uint32_t user_timeout = tp->icsk_user_timeout;
    if ((user_timeout != 0 && elapsed >= msecs_to_jiffies(user_timeout) && tp->icsk_probes_out > 0) ||
        (user_timeout == 0 && tp->icsk_probes_out >= keepalive_probes(tp))) {
      tcp_send_active_reset(sk, "TCP_KEEPALIVE_TIMEOUT");
      tcp_write_err(sk);
      return;
    }
    if (tcp_write_wakeup(sk, sk->net->mib.tcpext.TCPKeepAlive) <= 0) {
      tp->icsk_probes_out++;
      elapsed = keepalive_intvl_when(tp);
    } else {
      elapsed = TCP_RESOURCE_PROBE_INTERVAL;  // the probe was lost to local congestion: try harder
    }
  } else {
    elapsed = keepalive_time_when(tp) - elapsed;  // rcv_tstamp + keepalive_time
  }
  inet_csk_reset_keepalive_timer(sk, elapsed);
}

}  // namespace nettwin
