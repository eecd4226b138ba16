// net/ipv4/tcp.c and tcp_ipv4.c's tcp_prot: the socket side of TCP: sendmsg
// (MSS-sized skbs, Nagle, push), recvmsg (peek, waitall, FIN), poll, shutdown,
// close (FIN, or RST with unread data or SO_LINGER 0) and the state changes.
#include "ipv4/tcp.h"
#include "ipv4/tcp_rate.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <string>

#include "core/jiffies.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ip_sockglue.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_info.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_ipv4.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"

namespace nettwin {

void tcp_set_state_store(Sock* sk, int state) {
  trace_inet_sock_set_state(sk->net->tracer, sk, sk->sk_state, state);
  sk->sk_state = state;
}

void tcp_set_state(Sock* sk, int state) {
  const int oldstate = sk->sk_state;
  Net& net = *sk->net;
  // The CurrEstab gauge and EstabResets, as tcp_set_state counts them.
  if (state == TCP_ESTABLISHED && oldstate != TCP_ESTABLISHED) net.mib.tcp.CurrEstab++;
  if (state == TCP_CLOSE_WAIT && oldstate == TCP_SYN_RECV) net.mib.tcp.CurrEstab++;
  if (state == TCP_CLOSE && (oldstate == TCP_CLOSE_WAIT || oldstate == TCP_ESTABLISHED)) net.mib.tcp.EstabResets++;
  if (state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT && (oldstate == TCP_ESTABLISHED || oldstate == TCP_CLOSE_WAIT))
    net.mib.tcp.CurrEstab--;
  tcp_set_state_store(sk, state);
  if (state == TCP_CLOSE && oldstate != TCP_CLOSE) {
    sk->sk_prot->unhash(sk);
    if (sk->inet_num && !(sk->sk_userlocks & SOCK_BINDPORT_LOCK)) inet_put_port(sk);
  }
}

void tcp_reqsk_queue_purge(TcpSock* tp) { tp->reqsk_queue.clear(); }

namespace {

constexpr uint64_t kWaitStepNs = 1'000'000;         // how far a blocked call lets the clock run between looks
constexpr uint64_t kWaitLimitNs = 60'000'000'000;   // a blocked call's longest wait (as SO_RCVTIMEO/SNDTIMEO)

// tcp_v4_init_sock / tcp_init_sock: the buffers start at tcp_rmem[1] and
// tcp_wmem[1]; RTO, cwnd and delayed-ACK defaults.
int tcp_v4_init_sock(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tcp_init_sock_opts(sk);
  sk->sk_rcvbuf = int(sk->net->sysctl.tcp_rmem[1]);
  sk->sk_sndbuf = int(sk->net->sysctl.tcp_wmem[1]);
  tcp_init_xmit_timers(sk);
  tp->icsk_rto = TCP_TIMEOUT_INIT;
  tp->icsk_rto_min = TCP_RTO_MIN;
  tp->icsk_delack_max = TCP_DELACK_MAX;
  tp->mdev_us = TCP_TIMEOUT_INIT * uint32_t(1'000'000 / HZ);
  tp->snd_cwnd = TCP_INIT_CWND;
  tp->snd_ssthresh = 0x7fffffff;
  tp->snd_cwnd_clamp = ~0u;
  tp->mss_cache = TCP_MSS_DEFAULT;
  tp->rtt_min_us = ~0u;  // minmax_reset: no sample yet
  tp->rate_app_limited = true;
  return 0;
}

// sk_stream_wait: let the virtual clock run (softirqs, timers) while
// something is left to happen, until ready() or the limit.
template <typename Ready>
bool sk_stream_wait(Sock* sk, Ready&& ready) {
  Engine& engine = sk->net->engine;
  const uint64_t deadline = engine.now() + kWaitLimitNs;
  while (!ready()) {
    if (!(engine.softirq_pending() || engine.timers_pending()) || engine.now() >= deadline) return false;
    engine.run_until(engine.now() + kWaitStepNs);
  }
  return true;
}

// tcp_close_state: the state close() or shutdown(SHUT_WR) moves to; true when a FIN is to be sent.
bool tcp_close_state(Sock* sk) {
  static const int new_state[13][2] = {
      {TCP_CLOSE, 0},           // (none)
      {TCP_FIN_WAIT1, 1},       // TCP_ESTABLISHED
      {TCP_CLOSE, 0},           // TCP_SYN_SENT
      {TCP_FIN_WAIT1, 1},       // TCP_SYN_RECV
      {TCP_FIN_WAIT1, 0},       // TCP_FIN_WAIT1
      {TCP_FIN_WAIT2, 0},       // TCP_FIN_WAIT2
      {TCP_CLOSE, 0},           // TCP_TIME_WAIT
      {TCP_CLOSE, 0},           // TCP_CLOSE
      {TCP_LAST_ACK, 1},        // TCP_CLOSE_WAIT
      {TCP_LAST_ACK, 0},        // TCP_LAST_ACK
      {TCP_CLOSE, 0},           // TCP_LISTEN
      {TCP_CLOSING, 0},         // TCP_CLOSING
      {TCP_SYN_RECV, 0},        // TCP_NEW_SYN_RECV
  };
  const int* next = new_state[sk->sk_state];
  tcp_set_state(sk, next[0]);  // traced even when the state stays (FIN_WAIT2 -> FIN_WAIT2)
  return next[1];
}

bool tcp_need_reset(int state) {
  return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
         state == TCP_SYN_RECV;
}

// tcp_disconnect: the ABORT of RFC 793 (a RST where the peer may still send).
int tcp_disconnect(Sock* sk, int) {
  TcpSock* tp = tcp_sk(sk);
  const int old_state = sk->sk_state;
  if (old_state != TCP_CLOSE) tcp_set_state(sk, TCP_CLOSE);
  sk->sock_done = false;
  if (old_state == TCP_LISTEN) {
    inet_csk_listen_stop(sk);
  } else if (tcp_need_reset(old_state) ||
             (tp->snd_nxt != tp->write_seq && (old_state == TCP_CLOSING || old_state == TCP_LAST_ACK))) {
    tcp_send_active_reset(sk, "TCP_STATE");
    sk->sk_err = E_CONNRESET;
  } else if (old_state == TCP_SYN_SENT) {
    sk->sk_err = E_CONNRESET;
  }
  tcp_clear_xmit_timers(sk);
  while (SkBuff* skb = sk->sk_receive_queue.pop_front()) {
    tcp_sock_rfree(sk, skb);
    kfree_skb(skb, SkbDropReason::QUEUE_PURGE, "tcp_disconnect");
  }
  tp->copied_seq = tp->rcv_nxt;
  tp->urg_data = 0;
  tcp_write_queue_purge(sk);
  tcp_ofo_queue_purge(sk);  // skb_rbtree_purge
  // The 4-tuple is forgotten (inet_reset_saddr unless bind() fixed the address).
  if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK)) sk->inet_saddr = sk->inet_rcv_saddr = 0;
  sk->inet_dport = 0;
  sk->sk_dst_cache = nullptr;  // __sk_dst_reset
  sk->sk_shutdown = 0;
  tp->srtt_us = 0;
  tp->app_limited = ~0u;
  tp->rate_app_limited = true;
  tp->icsk_backoff = 0;
  tp->icsk_probes_out = 0;
  tp->icsk_rto = TCP_TIMEOUT_INIT;
  tp->snd_ssthresh = 0x7fffffff;
  tp->snd_cwnd = TCP_INIT_CWND;
  tp->packets_out = 0;
  tp->icsk_ack = {};
  // What a new connect() on this socket starts from: the next ISN past what
  // the peer saw, no options.
  uint32_t seq = tp->write_seq + tp->max_window + 2;
  if (!seq) seq = 1;
  tp->write_seq = seq;
  tp->icsk_retransmits = 0;
  tp->window_clamp = 0;
  // The congestion control starts afresh, in the Open state (traced).
  tcp_cleanup_congestion_control(sk);
  std::memset(tp->icsk_ca_priv, 0, sizeof(tp->icsk_ca_priv));
  tcp_set_ca_state(sk, TCP_CA_Open);
  tp->total_retrans = 0;
  tp->retrans_stamp = 0;
  tp->is_sack_reneg = false;
  tp->rx_opt = TcpOptionsReceived{};
  return 0;
}

// tcp_close (__tcp_close): a listener stops; unread data or SO_LINGER 0
// reset the connection; otherwise a FIN, and the orphan lives on until the
// protocol is done with it.
void tcp_close(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  Net& net = *sk->net;
  sk->sk_shutdown = SHUTDOWN_MASK;
  int state;
  if (sk->sk_state == TCP_LISTEN) {
    tcp_set_state(sk, TCP_CLOSE);
    inet_csk_listen_stop(sk);
    sk->sock_dead = true;
    sk->sk_prot->unhash(sk);
    if (sk->inet_num) inet_put_port(sk);
    return;
  }
  {
    // Flush the receive queue: was anything left unread?
    bool data_was_unread = false;
    while (SkBuff* skb = sk->sk_receive_queue.pop_front()) {
      uint32_t end_seq = TCP_SKB_CB(skb)->end_seq;
      if (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN) end_seq--;
      if (after(end_seq, tp->copied_seq)) data_was_unread = true;
      tcp_sock_rfree(sk, skb);
      __kfree_skb(skb);  // tcp_eat_recv_skb
    }
    if (sk->sk_state == TCP_CLOSE) {
      // Already reset (tcp_reset): only the socket is left to kill.
    } else if (data_was_unread) {
      // RFC 2525 2.17: unread data was tossed, zap the connection.
      net.mib.tcpext.TCPAbortOnClose++;
      tcp_set_state(sk, TCP_CLOSE);
      tcp_send_active_reset(sk, "TCP_ABORT_ON_CLOSE");
    } else if (sk->sock_linger && !sk->sk_lingertime) {
      // Zero linger, checked after unread data.
      tcp_disconnect(sk, 0);
      net.mib.tcpext.TCPAbortOnData++;
    } else if (tcp_close_state(sk)) {
      tcp_send_fin(sk);
    }
  }
  // adjudge_to_death
  state = sk->sk_state;
  sk->sock_dead = true;  // sock_orphan
  if (state == TCP_FIN_WAIT2) {
    if (tp->linger2 < 0) {
      tcp_set_state(sk, TCP_CLOSE);
      tcp_send_active_reset(sk, "TCP_ABORT_ON_LINGER");
      net.mib.tcpext.TCPAbortOnLinger++;
    } else {
      // Beyond TCP_TIMEWAIT_LEN the full socket waits first (the keepalive
      // timer), then a TIME_WAIT sock for the last TCP_TIMEWAIT_LEN.
      const int tmo = tcp_fin_time(sk);
      if (tmo > int(TCP_TIMEWAIT_LEN)) {
        inet_csk_reset_keepalive_timer(sk, uint32_t(tmo) - TCP_TIMEWAIT_LEN);
      } else {
        tcp_time_wait(sk, TCP_FIN_WAIT2, tmo);
        return;
      }
    }
  }
  if (sk->sk_state == TCP_CLOSE) inet_csk_destroy_sock(sk);
}


// __sk_stream_memory_free: the queued bytes below the send buffer, and TCP's notsent_lowat
// (tcp_stream_memory_free); sk_stream_memory_free is wake 0.
bool __sk_stream_memory_free(const Sock* sk, int wake) {
  if (tcp_sk(sk)->sk_wmem_queued >= sk->sk_sndbuf) return false;
  return tcp_stream_memory_free(sk, wake);
}
bool sk_stream_memory_free(const Sock* sk) { return __sk_stream_memory_free(sk, 0); }

bool forced_push(const TcpSock* tp) { return after(tp->write_seq, tp->pushed_seq + (tp->max_window >> 1)); }

void tcp_mark_push(TcpSock* tp, SkBuff* skb) {
  TCP_SKB_CB(skb)->tcp_flags |= TCPHDR_PSH;
  tp->pushed_seq = tp->write_seq;
}

// tcp_should_autocork: a short tail skb waits while this socket's earlier
// skbs are still below TCP (their tcp_wfree will push it, TSQ's way), so that
// more small writes can join it. Linux reads the refcount, sk_wmem_alloc + 1.
bool tcp_should_autocork(const Sock* sk, const SkBuff* skb, unsigned size_goal) {
  const TcpSock* tp = tcp_sk(sk);
  return skb->len < size_goal && sk->net->sysctl.tcp_autocorking && !tp->tcp_rtx_queue.empty() &&
         uint64_t(sk->sk_wmem_alloc) + 1 > skb->truesize && !TCP_SKB_CB(skb)->eor;  // tcp_skb_can_collapse_to
}

// tcp_push: PSH on the last skb unless MSG_MORE, then what may go now.
void tcp_push(Sock* sk, int flags, unsigned mss_now, int nonagle, unsigned size_goal) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* skb = tp->sk_write_queue.back();
  if (!skb) return;
  checkpoint(sk->net->tracer, "tcp_push", skb);
  if (!(flags & MSG_MORE_) || forced_push(tp)) tcp_mark_push(tp, skb);
  if (flags & MSG_OOB_) tp->snd_up = tp->write_seq;  // tcp_mark_urg
  if (tcp_should_autocork(sk, skb, size_goal)) {
    if (!(sk->sk_tsq_flags & TSQF_THROTTLED)) {
      sk->net->mib.tcpext.TCPAutoCorking++;
      sk->sk_tsq_flags |= TSQF_THROTTLED;
    }
    return;  // the wmem test again finds the same (no TX completion can race here)
  }
  if (flags & MSG_MORE_) nonagle = TCP_NAGLE_CORK;
  __tcp_push_pending_frames(sk, mss_now, nonagle);
}

// tcp_stream_alloc_skb + tcp_skb_entail: a new segment at the tail of the
// write queue, charged to the socket, ACK set.
SkBuff* tcp_stream_alloc_skb(Sock* sk, unsigned size_goal) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* skb = sk->net->pool.alloc_skb(MAX_TCP_HEADER + size_goal);
  skb_reserve(skb, int(MAX_TCP_HEADER));
  skb->truesize = alloc_skb_truesize(MAX_TCP_HEADER);
  TcpSkbCb* tcb = TCP_SKB_CB(skb);
  *tcb = TcpSkbCb{};
  tcb->seq = tcb->end_seq = tp->write_seq;
  tcb->tcp_flags = TCPHDR_ACK;
  tcp_skb_pcount_set(skb, 0);
  tp->sk_wmem_queued += int(skb->truesize);
  tcp_add_write_queue_tail(sk, skb);
  if (tp->nonagle & TCP_NAGLE_PUSH) tp->nonagle &= uint8_t(~TCP_NAGLE_PUSH);
  tcp_slow_start_after_idle_check(sk);
  return skb;
}

// tcp_sendmsg (tcp_sendmsg_locked): the data into skbs of size_goal (several
// MSS: TSO, cut by GSO at the device), appended to the last one while it has
// room, pushed as Nagle allows.
int tcp_sendmsg(Sock* sk, const SendMsg& msg) {
  TcpSock* tp = tcp_sk(sk);
  const int flags = msg.flags;
  const bool noblock = flags & MSG_DONTWAIT_;
  size_t left = msg.data.size();
  const uint8_t* from = msg.data.data();
  int copied = 0;
  int err = 0;
  unsigned mss_now, size_goal;
  tcp_rate_check_app_limited(sk);  // is sending application-limited?
  // Wait for a connection to finish (sk_stream_wait_connect): a socket that
  // is not connected says EPIPE, or its error.
  if (sk->sk_state != TCP_ESTABLISHED && sk->sk_state != TCP_CLOSE_WAIT) {
    if (sk->sk_err) return sock_error(sk);
    err = -E_PIPE;
    goto out_err;
  }
  mss_now = tcp_send_mss(sk, &size_goal, flags);
  err = -E_PIPE;
  if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN)) goto do_error;
  while (left) {
    SkBuff* skb = tp->sk_write_queue.back();
    int copy = skb ? int(size_goal) - int(skb->len) : 0;
    if (copy <= 0 || TCP_SKB_CB(skb)->eor || (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN)) {
      if (!sk_stream_memory_free(sk)) goto wait_for_space;
      skb = tcp_stream_alloc_skb(sk, size_goal);
      copy = int(size_goal);
    }
    if (size_t(copy) > left) copy = int(left);
    // Linux appends page fragments up to size_goal, whatever the skb's first
    // buffer held (a tso_fragment remainder, a goal grown since).
    skb_grow_tailroom(skb, unsigned(copy));
    std::copy(from, from + copy, skb_put(skb, unsigned(copy)));  // the one copy
    // Linux copies into page fragments (the device does scatter-gather): the
    // payload counts as data_len, the headers will be the linear part.
    skb->data_len += unsigned(copy);
    skb->truesize += unsigned(copy);
    tp->sk_wmem_queued += copy;
    if (!copied) TCP_SKB_CB(skb)->tcp_flags &= uint8_t(~TCPHDR_PSH);
    tp->write_seq += uint32_t(copy);
    TCP_SKB_CB(skb)->end_seq += uint32_t(copy);
    tcp_skb_pcount_set(skb, 0);
    checkpoint(sk->net->tracer, "tcp_sendmsg", skb);  // the write queue's skb, its data copied in
    from += copy;
    left -= size_t(copy);
    copied += copy;
    if (!left) {
      if (flags & MSG_EOR_) TCP_SKB_CB(skb)->eor = 1;
      break;
    }
    // MSG_OOB pushes nothing mid-loop: tcp_push sets snd_up at the end, so
    // every segment of the send carries URG and the pointer.
    if (skb->len < size_goal || (flags & MSG_OOB_)) continue;
    if (forced_push(tp)) {
      tcp_mark_push(tp, skb);
      __tcp_push_pending_frames(sk, mss_now, TCP_NAGLE_PUSH);
    } else if (skb == tp->sk_write_queue.front()) {
      tcp_push_one(sk, mss_now);
    }
    continue;
  wait_for_space:
    if (sk->sk_socket) sk->sk_socket->flags |= SOCK_NOSPACE;
    if (copied) tcp_push(sk, flags & ~MSG_MORE_, mss_now, TCP_NAGLE_PUSH, size_goal);
    // sk_stream_wait_memory.
    if (noblock || !sk_stream_wait(sk, [&] { return sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN) || sk_stream_memory_free(sk); })) {
      err = -E_AGAIN;
      goto do_error;
    }
    if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN)) {
      err = -E_PIPE;
      goto do_error;
    }
    mss_now = tcp_send_mss(sk, &size_goal, flags);
  }
  if (copied) tcp_push(sk, flags, mss_now, tp->nonagle, size_goal);
  return copied;
do_error:
  if (copied) {
    tcp_push(sk, flags, mss_now, tp->nonagle, size_goal);
    return copied;
  }
out_err:
  // sk_stream_error: EPIPE is the pending error if there is one (SIGPIPE
  // unless MSG_NOSIGNAL is Linux's business with the process, not the socket's).
  if (err == -E_PIPE) {
    if (const int e = sock_error(sk)) err = e;
  }
  // Make sure an edge-triggered epoll waiter wakes.
  if (tp->tcp_rtx_queue.empty() && tp->sk_write_queue.empty() && err == -E_AGAIN) {
    sk_stream_write_space(sk);
    tcp_chrono_stop(sk, TCP_CHRONO_SNDBUF_LIMITED);
  }
  return err;
}

// tcp_recv_urg: recv(MSG_OOB) takes the urgent byte, without waiting: EINVAL
// when there is none (or it is read, or kept in band by SO_OOBINLINE), EAGAIN
// while its pointer came without it, 0 after the peer's FIN.
int tcp_recv_urg(Sock* sk, RecvMsg& msg, int flags) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->sock_urginline || !tp->urg_data || tp->urg_data == TCP_URG_READ) return -E_INVAL;
  // SOCK_DONE (a FIN was read before the close) is not kept here: a closed
  // socket is not connected.
  if (sk->sk_state == TCP_CLOSE) return -E_NOTCONN;
  if (tp->urg_data & TCP_URG_VALID) {
    const uint8_t c = uint8_t(tp->urg_data);
    if (!(flags & MSG_PEEK_)) tp->urg_data = TCP_URG_READ;
    msg.flags |= MSG_OOB_;
    if (msg.len > 0) {
      if (!(flags & MSG_TRUNC_)) msg.data.push_back(c);
      return 1;
    }
    msg.flags |= MSG_TRUNC_;
    return 0;
  }
  if (sk->sk_state == TCP_CLOSE || (sk->sk_shutdown & RCV_SHUTDOWN)) return 0;
  return -E_AGAIN;
}

// tcp_recvmsg (tcp_recvmsg_locked): bytes in sequence from the receive queue;
// a FIN ends the stream (0); MSG_PEEK leaves them; MSG_WAITALL waits for all;
// MSG_TRUNC discards without copying.
int tcp_recvmsg(Sock* sk, RecvMsg& msg, int flags) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->sk_state == TCP_LISTEN) return -E_NOTCONN;
  if (flags & MSG_OOB_) return tcp_recv_urg(sk, msg, flags);
  const bool nonblock = flags & MSG_DONTWAIT_;
  uint32_t peek_seq = tp->copied_seq;
  uint32_t* seq = (flags & MSG_PEEK_) ? &peek_seq : &tp->copied_seq;
  size_t len = msg.len;
  // sock_rcvlowat (SO_RCVLOWAT 1): never below 1, so a zero-length read of an
  // empty queue is EAGAIN as in Linux, not 0.
  const size_t target = std::max<size_t>(1, (flags & MSG_WAITALL_) ? len : std::min<size_t>(1, len));
  size_t copied = 0;
  if (!(flags & MSG_TRUNC_)) msg.data.reserve(len);
  do {
    // At the urgent mark: stop if anything was read (the reader learns of the
    // mark before reading past it).
    if (tp->urg_data && tp->urg_seq == *seq && copied) break;
    SkBuff* skb = sk->sk_receive_queue.front();
    bool fin = false;
    for (; skb; skb = skb->next) {
      const uint32_t offset = *seq - TCP_SKB_CB(skb)->seq;
      if (offset < skb->len) break;
      if (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN) {
        fin = true;
        break;
      }
    }
    if (skb && !fin) {
      // found_ok_skb
      const uint32_t offset = *seq - TCP_SKB_CB(skb)->seq;
      uint32_t offset_now = offset;
      size_t used = skb->len - offset;
      if (len < used) used = len;
      checkpoint(sk->net->tracer, "tcp_recvmsg", skb);
      // Urgent data here: the read stops before the urgent byte, and without
      // SO_OOBINLINE the byte itself is skipped (it is recv(MSG_OOB)'s).
      bool skip_copy = false;
      if (tp->urg_data) {
        const uint32_t urg_offset = tp->urg_seq - *seq;
        if (urg_offset < used) {
          if (!urg_offset) {
            if (!sk->sock_urginline) {
              *seq += 1;
              offset_now++;
              used--;
              skip_copy = !used;
            }
          } else {
            used = urg_offset;
          }
        }
      }
      if (!skip_copy) {
        if (!(flags & MSG_TRUNC_))
          msg.data.insert(msg.data.end(), skb->data + offset_now, skb->data + offset_now + used);
        *seq += uint32_t(used);
        copied += used;
        len -= used;
        tcp_rcv_space_adjust(sk);
      }
      if (tp->urg_data && after(tp->copied_seq, tp->urg_seq)) {
        tp->urg_data = 0;
        tcp_fast_path_check(sk);
      }
      if (used + offset_now < skb->len) continue;
      if (TCP_SKB_CB(skb)->tcp_flags & TCPHDR_FIN) fin = true;
      else if (!(flags & MSG_PEEK_)) {
        // tcp_eat_recv_skb: the reader's copy is the skb's end (no tracepoint).
        sk->sk_receive_queue.unlink(skb);
        tcp_sock_rfree(sk, skb);
        __kfree_skb(skb);
      }
      if (!fin) continue;
    }
    if (fin) {
      // found_fin_ok: the FIN takes one sequence number.
      *seq += 1;
      if (!(flags & MSG_PEEK_)) {
        sk->sk_receive_queue.unlink(skb);
        tcp_sock_rfree(sk, skb);
        __kfree_skb(skb);
      }
      break;
    }
    if (copied >= target) break;
    if (copied) {
      if (nonblock || sk->sk_err || sk->sk_state == TCP_CLOSE || (sk->sk_shutdown & RCV_SHUTDOWN)) break;
    } else {
      if (sk->sk_err) {
        tcp_cleanup_rbuf(sk, 0);
        return sock_error(sk);
      }
      if (sk->sk_shutdown & RCV_SHUTDOWN) break;
      if (sk->sk_state == TCP_CLOSE) return -E_NOTCONN;  // never connected, or reset and read
      // Blocking or not, the caller (sys_recvmsg) waits on EAGAIN.
      tcp_cleanup_rbuf(sk, 0);
      return -E_AGAIN;
    }
    // MSG_WAITALL with part of it: sk_wait_data.
    tcp_cleanup_rbuf(sk, int(copied));
    const uint32_t have = tp->rcv_nxt;
    if (!sk_stream_wait(sk, [&] { return tp->rcv_nxt != have || sk->sk_err || (sk->sk_shutdown & RCV_SHUTDOWN); }))
      break;
  } while (len > 0);
  tcp_cleanup_rbuf(sk, int(copied));
  return int(copied);
}

void tcp_shutdown(Sock* sk, int how) {
  // Only SEND_SHUTDOWN sends anything: a FIN, unless one went already.
  if (!(how & SEND_SHUTDOWN)) return;
  if (sk->sk_state == TCP_ESTABLISHED || sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_CLOSE_WAIT) {
    if (tcp_close_state(sk)) tcp_send_fin(sk);
  }
}

// inet_unhash: out of the listening hash or the established hash.
void tcp_unhash(Sock* sk) {
  inet_unhash(sk);
  sk->net->sock.tcp_ehash.remove(sk);
}

void tcp_rehash(Sock*) {}

Sock* tcp_obj_alloc() { return new TcpSock; }

}  // namespace

void tcp_cleanup_rbuf(Sock* sk, int copied) {
  TcpSock* tp = tcp_sk(sk);
  bool time_to_ack = false;
  if (tp->icsk_ack.pending & ICSK_ACK_SCHED) {
    // Once-per-two-segments ACK was not sent, or this read emptied the buffer
    // after a pushed small segment.
    if (tp->rcv_nxt - tp->rcv_wup > tp->icsk_ack.rcv_mss ||
        (copied > 0 &&
         ((tp->icsk_ack.pending & ICSK_ACK_PUSHED2) ||
          ((tp->icsk_ack.pending & ICSK_ACK_PUSHED) && !inet_csk_in_pingpong_mode(sk))) &&
         !sk->sk_rmem_alloc))
      time_to_ack = true;
  }
  // The window can now grow "significantly" (at least twice): say so.
  if (copied > 0 && !time_to_ack && !(sk->sk_shutdown & RCV_SHUTDOWN)) {
    const uint32_t rcv_window_now = tcp_receive_window(sk);
    if (2 * rcv_window_now <= tp->window_clamp) {
      const uint32_t new_window = __tcp_select_window(sk);
      if (new_window && new_window >= 2 * rcv_window_now) time_to_ack = true;
    }
  }
  if (time_to_ack) tcp_send_ack(sk);
}

unsigned tcp_poll(Socket* sock) {
  Sock* sk = sock->sk;
  TcpSock* tp = tcp_sk(sk);
  const int state = sk->sk_state;
  if (state == TCP_LISTEN)  // inet_csk_listen_poll
    return tp->icsk_accept_queue.empty() ? 0 : (POLLIN_ | POLLRDNORM_);
  unsigned mask = 0;
  const int shutdown = sk->sk_shutdown;
  if (shutdown == SHUTDOWN_MASK || state == TCP_CLOSE) mask |= POLLHUP_;
  if (shutdown & RCV_SHUTDOWN) mask |= POLLIN_ | POLLRDNORM_ | POLLRDHUP_;
  if (state != TCP_SYN_SENT && state != TCP_SYN_RECV) {
    // tcp_stream_is_readable: anything unread (SO_RCVLOWAT 1), not counting
    // an urgent byte the reader stands on (it is not in band).
    const int target = 1 + (tp->urg_data && tp->urg_seq == tp->copied_seq && !sk->sock_urginline ? 1 : 0);
    if (int32_t(tp->rcv_nxt - tp->copied_seq) >= target) mask |= POLLIN_ | POLLRDNORM_;
    if (tp->urg_data & TCP_URG_VALID) mask |= POLLPRI_;
    if (!(shutdown & SEND_SHUTDOWN)) {
      // __sk_stream_is_writeable: a third of the buffer free, and below it.
      if (__sk_stream_is_writeable(sk, 1))
        mask |= POLLOUT_ | POLLWRNORM_;
      else
        sock->flags |= SOCK_NOSPACE;
    } else {
      mask |= POLLOUT_ | POLLWRNORM_;
    }
  }
  if (sk->sk_err || !sk->sk_error_queue.empty()) mask |= POLLERR_;
  return mask;
}

int tcp_inq(const Sock* sk) {
  const TcpSock* tp = tcp_sk(sk);
  if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_SYN_RECV) return 0;
  // Up to an urgent byte not yet read, when it is kept out of band.
  if (!sk->sock_urginline && tp->urg_data && !before(tp->urg_seq, tp->copied_seq) && before(tp->urg_seq, tp->rcv_nxt))
    return int(tp->urg_seq - tp->copied_seq);
  int answ = int(tp->rcv_nxt - tp->copied_seq);
  if (answ && sk->sock_done) answ--;  // the FIN's sequence number
  return answ;
}

int tcp_ioctl(Sock* sk, unsigned cmd, int* karg) {
  const TcpSock* tp = tcp_sk(sk);
  const bool handshaking = sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_SYN_RECV;
  switch (cmd) {
    case SIOCINQ_:
      if (sk->sk_state == TCP_LISTEN) return -E_INVAL;
      *karg = tcp_inq(sk);
      return 0;
    case SIOCATMARK_:
      *karg = tp->urg_data && tp->urg_seq == tp->copied_seq;
      return 0;
    case SIOCOUTQ_:
      if (sk->sk_state == TCP_LISTEN) return -E_INVAL;
      *karg = handshaking ? 0 : int(tp->write_seq - tp->snd_una);
      return 0;
    case SIOCOUTQNSD_:
      if (sk->sk_state == TCP_LISTEN) return -E_INVAL;
      *karg = handshaking ? 0 : int(tp->write_seq - tp->snd_nxt);
      return 0;
    default:
      return -E_NOIOCTLCMD;
  }
}

Proto tcp_prot = {
    "TCP",
    tcp_v4_init_sock,
    tcp_close,
    tcp_v4_connect,
    tcp_disconnect,
    tcp_setsockopt,
    tcp_getsockopt,
    tcp_sendmsg,
    tcp_recvmsg,
    inet_csk_get_port,
    tcp_unhash,
    tcp_rehash,
    tcp_obj_alloc,
    tcp_shutdown,
    tcp_set_keepalive,
    tcp_ioctl,
};

// ---------------------------------------------------------------------------
// Socket options (do_tcp_setsockopt / do_tcp_getsockopt).

namespace {

// TCP_MSS_DEFAULT, TCP_MIN_MSS, TCP_INIT_CWND (tcp_output.h) and the
// timer constants (tcp_timer.h) are Linux's include/net/tcp.h ones.
constexpr int MAX_TCP_WINDOW = 32767;          // the largest TCP_MAXSEG
constexpr int MAX_TCP_KEEPIDLE = 32767;
constexpr int MAX_TCP_KEEPINTVL = 32767;
constexpr int MAX_TCP_KEEPCNT = 127;
constexpr int MAX_TCP_SYNCNT = 127;
constexpr int TCP_FIN_TIMEOUT_MAX = int(120 * HZ);
constexpr uint32_t SOCK_MIN_RCVBUF = 2048 + 256;  // TCP_SKB_MIN_TRUESIZE

// TCPF_* state masks.
constexpr bool tcp_state_in(const Sock* sk, std::initializer_list<int> states) {
  for (int s : states)
    if (sk->sk_state == s) return true;
  return false;
}

// secs_to_retrans: seconds as the number of SYN-ACK retransmits (RTO
// doubling from timeout, capped at rto_max) they cover; retrans_to_secs back.
uint8_t secs_to_retrans(int seconds, int timeout, int rto_max) {
  uint8_t res = 0;
  if (seconds > 0) {
    int period = timeout;
    res = 1;
    while (seconds > period && res < 255) {
      res++;
      timeout <<= 1;
      if (timeout > rto_max) timeout = rto_max;
      period += timeout;
    }
  }
  return res;
}

int retrans_to_secs(uint8_t retrans, int timeout, int rto_max) {
  int period = 0;
  if (retrans > 0) {
    period = timeout;
    while (--retrans) {
      timeout <<= 1;
      if (timeout > rto_max) timeout = rto_max;
      period += timeout;
    }
  }
  return period;
}

void inet_csk_enter_pingpong_mode(Sock* sk) {
  tcp_sk(sk)->icsk_ack.pingpong = uint8_t(sk->net->sysctl.tcp_pingpong_thresh);
}
void inet_csk_exit_pingpong_mode(Sock* sk) { tcp_sk(sk)->icsk_ack.pingpong = 0; }

// tcp_push_pending_frames: what TCP_NODELAY and uncorking send at once, with
// the socket's Nagle mode.
void tcp_push_pending_frames(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->sk_write_queue.empty()) __tcp_push_pending_frames(sk, tcp_current_mss(sk), tp->nonagle);
}

void tcp_sock_set_nodelay(Sock* sk, bool on) {
  TcpSock* tp = tcp_sk(sk);
  if (on) {
    tp->nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH;
    tcp_push_pending_frames(sk);
  } else {
    tp->nonagle &= uint8_t(~TCP_NAGLE_OFF);
  }
}

// TCP_CORK: non-full segments wait; uncorking pushes what waited (with
// TCP_NODELAY, as a push).
void tcp_sock_set_cork(Sock* sk, bool on) {
  TcpSock* tp = tcp_sk(sk);
  if (on) {
    tp->nonagle |= TCP_NAGLE_CORK;
  } else {
    tp->nonagle &= uint8_t(~TCP_NAGLE_CORK);
    if (tp->nonagle & TCP_NAGLE_OFF) tp->nonagle |= TCP_NAGLE_PUSH;
    tcp_push_pending_frames(sk);
  }
}

// TCP_QUICKACK: 0 enters pingpong (delayed ACK) mode; non-zero leaves it,
// and on a connection with an ACK scheduled, tcp_cleanup_rbuf may send it
// now (pushed); an even non-zero value goes back to pingpong mode after.
void tcp_sock_set_quickack(Sock* sk, int val) {
  if (!val) {
    inet_csk_enter_pingpong_mode(sk);
    return;
  }
  inet_csk_exit_pingpong_mode(sk);
  TcpSock* tp = tcp_sk(sk);
  if (tcp_state_in(sk, {TCP_ESTABLISHED, TCP_CLOSE_WAIT}) && (tp->icsk_ack.pending & ICSK_ACK_SCHED)) {
    tp->icsk_ack.pending |= ICSK_ACK_PUSHED;
    tcp_cleanup_rbuf(sk, 1);
    if (!(val & 1)) inet_csk_enter_pingpong_mode(sk);
  }
}

int tcp_sock_set_keepidle_locked(Sock* sk, int val) {
  if (val < 1 || val > MAX_TCP_KEEPIDLE) return -E_INVAL;
  TcpSock* tp = tcp_sk(sk);
  tp->keepalive_time = uint32_t(val) * uint32_t(HZ);
  // A running keepalive timer is moved to the new idle time, counted from
  // when the peer was last heard from.
  if (sk->sock_keepopen && !tcp_state_in(sk, {TCP_CLOSE, TCP_LISTEN})) {
    const uint32_t elapsed = keepalive_time_elapsed(tp);
    inet_csk_reset_keepalive_timer(sk, tp->keepalive_time > elapsed ? tp->keepalive_time - elapsed : 0);
  }
  return 0;
}

}  // namespace

// tcp_set_window_clamp: 0 only before a connection; otherwise at least half
// of SOCK_MIN_RCVBUF, and rcv_ssthresh follows.
int tcp_set_window_clamp(Sock* sk, int val) {
  TcpSock* tp = tcp_sk(sk);
  if (!val) {
    if (sk->sk_state != TCP_CLOSE) return -E_INVAL;
    tp->window_clamp = 0;
    return 0;
  }
  const uint32_t old_window_clamp = tp->window_clamp;
  const uint32_t new_window_clamp = uint32_t(std::max(int(SOCK_MIN_RCVBUF / 2), val));
  if (new_window_clamp == old_window_clamp) return 0;
  tp->window_clamp = new_window_clamp;
  if (new_window_clamp < old_window_clamp) {
    tp->rcv_ssthresh = std::min(tp->rcv_ssthresh, new_window_clamp);  // __tcp_adjust_rcv_ssthresh
  } else {
    tp->rcv_ssthresh = std::max(std::min(tp->rcv_wnd, new_window_clamp), tp->rcv_ssthresh);
  }
  return 0;
}

namespace {

int do_tcp_setsockopt(Sock* sk, int optname, std::span<const uint8_t> optval) {
  TcpSock* tp = tcp_sk(sk);
  const int optlen = int(optval.size());

  // The string option; all the others are ints.
  if (optname == TCP_CONGESTION_) {
    if (optlen < 1) return -E_INVAL;
    // strncpy_from_sockptr: at most TCP_CA_NAME_MAX - 1 bytes, up to a NUL.
    const size_t n = std::min<size_t>(TCP_CA_NAME_MAX - 1, size_t(optlen));
    std::string name(reinterpret_cast<const char*>(optval.data()), n);
    name.resize(std::strlen(name.c_str()));
    return tcp_set_congestion_control(sk, name);
  }

  if (optlen < int(sizeof(int))) return -E_INVAL;
  const int val = sockopt_int(optval);

  switch (optname) {
    case TCP_SYNCNT_:
      if (val < 1 || val > MAX_TCP_SYNCNT) return -E_INVAL;
      tp->icsk_syn_retries = uint8_t(val);
      return 0;
    case TCP_USER_TIMEOUT_:
      // The longest time (ms) unacknowledged data or probes may go without
      // an answer before the connection is aborted with ETIMEDOUT.
      if (val < 0) return -E_INVAL;
      tp->icsk_user_timeout = uint32_t(val);
      return 0;
    case TCP_KEEPINTVL_:
      if (val < 1 || val > MAX_TCP_KEEPINTVL) return -E_INVAL;
      tp->keepalive_intvl = uint32_t(val) * uint32_t(HZ);
      return 0;
    case TCP_KEEPCNT_:
      if (val < 1 || val > MAX_TCP_KEEPCNT) return -E_INVAL;
      tp->keepalive_probes = uint8_t(val);
      return 0;
    case TCP_LINGER2_:
      if (val < 0) tp->linger2 = -1;
      else if (val > TCP_FIN_TIMEOUT_MAX / int(HZ)) tp->linger2 = TCP_FIN_TIMEOUT_MAX;
      else tp->linger2 = val * int(HZ);
      return 0;
    case TCP_DEFER_ACCEPT_:
      tp->rskq_defer_accept = secs_to_retrans(val, int(TCP_TIMEOUT_INIT / HZ), int(TCP_RTO_MAX / HZ));
      return 0;
    case TCP_MAXSEG_:
      // Larger than the device's MTU allows has no effect, but is accepted:
      // the device is not known yet.
      if (val && (val < int(TCP_MIN_MSS) || val > MAX_TCP_WINDOW)) return -E_INVAL;
      tp->rx_opt.user_mss = uint16_t(val);
      return 0;
    case TCP_NODELAY_:
      tcp_sock_set_nodelay(sk, val != 0);
      return 0;
    case TCP_CORK_:
      tcp_sock_set_cork(sk, val != 0);
      return 0;
    case TCP_KEEPIDLE_:
      return tcp_sock_set_keepidle_locked(sk, val);
    case TCP_WINDOW_CLAMP_:
      return tcp_set_window_clamp(sk, val);
    case TCP_QUICKACK_:
      tcp_sock_set_quickack(sk, val);
      return 0;
    case TCP_NOTSENT_LOWAT_:
      tp->notsent_lowat = uint32_t(val);
      sk_stream_write_space(sk);  // sk->sk_write_space: writers may go on under the new mark
      return 0;
    default:
      return -E_NOPROTOOPT;
  }
}

int do_tcp_getsockopt(Sock* sk, int optname, uint8_t* optval, int* optlen) {
  const TcpSock* tp = tcp_sk(sk);
  const Sysctls& sys = sk->net->sysctl;
  // The variable-length options copy min(len, their size) bytes, a negative
  // len being a huge unsigned one.
  switch (optname) {
    case TCP_INFO_: {
      TcpInfo info;
      tcp_get_info(sk, &info);
      const int len = int(std::min<unsigned>(unsigned(*optlen), sizeof(info)));
      std::memcpy(optval, &info, size_t(len));
      *optlen = len;
      return 0;
    }
    case TCP_CONGESTION_: {
      // The name's whole TCP_CA_NAME_MAX buffer, NUL padded.
      char name[TCP_CA_NAME_MAX] = {};
      std::strncpy(name, tp->icsk_ca_ops->name, TCP_CA_NAME_MAX - 1);
      const int len = int(std::min<unsigned>(unsigned(*optlen), TCP_CA_NAME_MAX));
      std::memcpy(optval, name, size_t(len));
      *optlen = len;
      return 0;
    }
    default:
      break;
  }

  int val;
  switch (optname) {
    case TCP_MAXSEG_:
      val = int(tp->mss_cache);
      if (tp->rx_opt.user_mss && tcp_state_in(sk, {TCP_CLOSE, TCP_LISTEN})) val = tp->rx_opt.user_mss;
      break;
    case TCP_NODELAY_: val = !!(tp->nonagle & TCP_NAGLE_OFF); break;
    case TCP_CORK_: val = !!(tp->nonagle & TCP_NAGLE_CORK); break;
    case TCP_KEEPIDLE_: val = int(keepalive_time_when(tp) / HZ); break;
    case TCP_KEEPINTVL_: val = int(keepalive_intvl_when(tp) / HZ); break;
    case TCP_KEEPCNT_: val = keepalive_probes(tp); break;
    case TCP_SYNCNT_: val = tp->icsk_syn_retries ? tp->icsk_syn_retries : int(sys.tcp_syn_retries); break;
    case TCP_LINGER2_:
      val = tp->linger2;
      if (val >= 0) val = (val ? val : int(sys.tcp_fin_timeout * HZ)) / int(HZ);
      break;
    case TCP_DEFER_ACCEPT_:
      val = retrans_to_secs(tp->rskq_defer_accept, int(TCP_TIMEOUT_INIT / HZ), int(TCP_RTO_MAX / HZ));
      break;
    case TCP_WINDOW_CLAMP_: val = int(tp->window_clamp); break;
    case TCP_QUICKACK_: val = !inet_csk_in_pingpong_mode(sk); break;
    case TCP_USER_TIMEOUT_: val = int(tp->icsk_user_timeout); break;
    case TCP_NOTSENT_LOWAT_: val = int(tp->notsent_lowat); break;
    default: return -E_NOPROTOOPT;
  }
  const int len = int(std::min<unsigned>(unsigned(*optlen), sizeof(int)));
  std::memcpy(optval, &val, size_t(len));
  *optlen = len;
  return 0;
}

}  // namespace

uint32_t keepalive_time_when(const TcpSock* tp) {
  return tp->keepalive_time ? tp->keepalive_time : uint32_t(tp->net->sysctl.tcp_keepalive_time * HZ);
}
uint32_t keepalive_intvl_when(const TcpSock* tp) {
  return tp->keepalive_intvl ? tp->keepalive_intvl : uint32_t(tp->net->sysctl.tcp_keepalive_intvl * HZ);
}
int keepalive_probes(const TcpSock* tp) {
  return tp->keepalive_probes ? tp->keepalive_probes : int(tp->net->sysctl.tcp_keepalive_probes);
}
uint32_t keepalive_time_elapsed(const TcpSock* tp) {
  const uint32_t now = uint32_t(tp->net->engine.jiffies());
  return std::min(now - tp->icsk_ack.lrcvtime, now - tp->rcv_tstamp);
}

void tcp_clone_sockopts(Sock* newsk, const Sock* sk) {
  TcpSock* newtp = tcp_sk(newsk);
  const TcpSock* tp = tcp_sk(sk);
  newsk->sk_reuse = sk->sk_reuse;
  newsk->sk_reuseport = sk->sk_reuseport;
  newsk->sk_priority = sk->sk_priority;
  newsk->sock_keepopen = sk->sock_keepopen;
  newsk->sock_linger = sk->sock_linger;
  newsk->sk_lingertime = sk->sk_lingertime;
  newtp->nonagle = tp->nonagle;
  newtp->keepalive_time = tp->keepalive_time;
  newtp->keepalive_intvl = tp->keepalive_intvl;
  newtp->keepalive_probes = tp->keepalive_probes;
  newtp->linger2 = tp->linger2;
  newtp->notsent_lowat = tp->notsent_lowat;
  newtp->rx_opt.user_mss = tp->rx_opt.user_mss;
  newtp->icsk_user_timeout = tp->icsk_user_timeout;
  newtp->icsk_syn_retries = tp->icsk_syn_retries;
  newtp->reordering = tp->reordering;
  newtp->app_limited = tp->app_limited;
  // The listener's algorithm, until tcp_ca_openreq_child decides.
  newtp->icsk_ca_ops = tp->icsk_ca_ops;
  newtp->icsk_ca_setsockopt = tp->icsk_ca_setsockopt;
  newtp->icsk_ca_dst_locked = tp->icsk_ca_dst_locked;
  // tcp_create_openreq_child: a keepalive listener's child starts its timer.
  if (newsk->sock_keepopen) inet_csk_reset_keepalive_timer(newsk, keepalive_time_when(newtp));
}

void tcp_init_sock_opts(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->app_limited = ~0u;  // a bubble in the pipe until the first ACK
  tp->reordering = uint32_t(sk->net->sysctl.tcp_reordering);
  tcp_assign_congestion_control(sk);
}

int tcp_setsockopt(Sock* sk, int level, int optname, std::span<const uint8_t> optval) {
  // Other levels are the address family's (ip_setsockopt: SOL_IP, or ENOPROTOOPT).
  if (level != SOL_TCP_) {
    if (level != SOL_IP_) return -E_NOPROTOOPT;
    return ip_setsockopt(sk, optname, sockopt_int(optval), int(optval.size()));
  }
  return do_tcp_setsockopt(sk, optname, optval);
}

int tcp_getsockopt(Sock* sk, int level, int optname, uint8_t* optval, int* optlen) {
  if (level != SOL_TCP_) {
    if (level != SOL_IP_) return -E_NOPROTOOPT;
    return sockopt_get_int(optval, optlen, [&](int* val) { return ip_getsockopt(sk, optname, val); });
  }
  return do_tcp_getsockopt(sk, optname, optval, optlen);
}

bool tcp_stream_memory_free(const Sock* sk, int wake) {
  const TcpSock* tp = tcp_sk(sk);
  const uint32_t notsent_bytes = tp->write_seq - tp->snd_nxt;
  // tcp_notsent_lowat: the socket's, else net.ipv4.tcp_notsent_lowat (UINT_MAX: no limit).
  const uint32_t lowat = tp->notsent_lowat ? tp->notsent_lowat : uint32_t(sk->net->sysctl.tcp_notsent_lowat);
  return (notsent_bytes << wake) < lowat;
}

bool __sk_stream_is_writeable(const Sock* sk, int wake) {
  const int queued = tcp_sk(sk)->sk_wmem_queued;
  return sk->sk_sndbuf - queued >= (queued >> 1) && __sk_stream_memory_free(sk, wake);
}

}  // namespace nettwin
