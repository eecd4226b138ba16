// net/core/sock.c: what every socket has - buffers, options at SOL_SOCKET,
// the pending error and the error queue.
#include <algorithm>
#include <climits>
#include <cstring>

#include "core/jiffies.h"
#include "core/net.h"
#include "core/skb_pool.h"
#include "socket/eventpoll.h"
#include "socket/sock.h"

namespace nettwin {

namespace {
// TCP_SKB_MIN_TRUESIZE = 2048 + SKB_DATA_ALIGN(sizeof(struct sk_buff)).
constexpr int SOCK_MIN_RCVBUF = 2048 + 256;
constexpr int SOCK_MIN_SNDBUF = 2 * SOCK_MIN_RCVBUF;
constexpr uint64_t kWmemWaitStepNs = 1'000'000;  // how far a blocked writer lets the clock run between looks
constexpr uint64_t kSndWaitLimitNs = 60'000'000'000;  // a blocked writer's longest wait (as an SO_SNDTIMEO)
}  // namespace

void sock_init_data(Socket* sock, Sock* sk) {
  sk->sk_rcvbuf = int(sk->net->sysctl.rmem_default);
  sk->sk_sndbuf = int(sk->net->sysctl.wmem_default);
  sk->sk_state = TCP_CLOSE;
  sk->sk_socket = sock;
  if (sock) {
    sk->sk_type = sock->type;
    sock->sk = sk;
  }
}

void skb_set_owner_w(SkBuff* skb, Sock* sk) {
  skb_orphan(skb);
  skb->sk = sk;
  skb->destructor = sock_wfree;
  sk->sk_wmem_alloc += int(skb->truesize);
}

// sock_wfree: the skb's memory goes back to its socket; sock_def_write_space
// would wake a writer, and readiness here is computed on demand
// (sock_writeable). A closed socket waiting on its last skbs is freed now.
void sock_wfree(SkBuff* skb) {
  Sock* sk = skb->sk;
  sk->sk_wmem_alloc -= int(skb->truesize);
  if (sk->sk_wmem_alloc == 0 && sk->sk_free_deferred && !(sk->sk_tsq_flags & TSQF_QUEUED)) sk->net->sock.sk_destruct(sk);
}

SkBuff* sock_alloc_send_skb(Sock* sk, unsigned size, bool noblock, int* errcode, unsigned room) {
  Engine& engine = sk->net->engine;
  const uint64_t deadline = engine.now() + kSndWaitLimitNs;
  for (;;) {
    if (int err = sock_error(sk); err) {
      *errcode = err;
      return nullptr;
    }
    if (sk->sk_shutdown & SEND_SHUTDOWN) {
      *errcode = -E_PIPE;
      return nullptr;
    }
    if (sk->sk_wmem_alloc < sk->sk_sndbuf) break;
    if (sk->sk_socket) sk->sk_socket->flags |= SOCK_NOSPACE;
    // sock_wait_for_wmem: the clock runs while anything is left to happen,
    // and at most kSndWaitLimitNs (a blocked call must not hang the stack).
    if (noblock || !(engine.softirq_pending() || engine.timers_pending()) || engine.now() >= deadline) {
      *errcode = -E_AGAIN;
      return nullptr;
    }
    engine.run_until(engine.now() + kWmemWaitStepNs);
  }
  SkBuff* skb = sk->net->pool.alloc_skb(std::max(size, room));
  skb->truesize = alloc_skb_truesize(size);
  skb_set_owner_w(skb, sk);
  return skb;
}

uint32_t alloc_skb_truesize(unsigned size) {
  constexpr unsigned kSmallHeadCache = 576;  // SKB_SMALL_HEAD_CACHE_SIZE: SKB_HEAD_ALIGN(MAX_TCP_HEADER) = 512, a power of two: + L1_CACHE_BYTES
  unsigned obj = SKB_DATA_ALIGN(size) + SKB_SHINFO_OVERHEAD;  // SKB_HEAD_ALIGN
  if (obj <= kSmallHeadCache) {
    obj = kSmallHeadCache;
  } else {
    unsigned k = 1024;  // kmalloc_size_roundup past 640: the power-of-two caches, then pages
    while (k < obj) k <<= 1;
    obj = k;
  }
  return obj - SKB_SHINFO_OVERHEAD + SKB_HEAD_OVERHEAD + SKB_SHINFO_OVERHEAD;  // SKB_TRUESIZE
}

int sock_error(Sock* sk) {
  const int err = sk->sk_err;
  sk->sk_err = 0;
  return -err;
}

void sk_wake_up(Sock* sk, unsigned key) {
  if (!sk->sk_socket) return;  // orphaned: nobody waits
  // A wakeup may not change the queue it walks (ep_poll_callback only links items).
  for (EpItem* epi : sk->sk_socket->wq) ep_poll_callback(epi, key);
}

void sk_error_report(Sock* sk) { sk_wake_up(sk, EPOLLERR_); }

void sock_def_readable(Sock* sk) { sk_wake_up(sk, EPOLLIN_ | EPOLLPRI_ | EPOLLRDNORM_ | EPOLLRDBAND_); }

void sock_def_wakeup(Sock* sk) { sk_wake_up(sk, 0); }

int sock_queue_err_skb(Sock* sk, SkBuff* skb) {
  if (sk->sk_rmem_alloc + int(skb->truesize) >= sk->sk_rcvbuf) return -E_NOMEM;
  sk->sk_rmem_alloc += int(skb->truesize);
  skb->dst = nullptr;  // skb_dst_force: the error outlives the input route
  sk->sk_error_queue.push_back(skb);
  sk_error_report(sk);
  return 0;
}

void sk_skb_reason_drop(Sock* sk, SkBuff* skb, SkbDropReason reason, const char* location) {
  kfree_skb_rx_sk(skb, reason, location, sk != nullptr);
}

int sockopt_int(std::span<const uint8_t> optval) {
  int val = 0;
  std::memcpy(&val, optval.data(), std::min(optval.size(), sizeof(val)));
  return val;
}

int sockopt_put_bytes(const void* val, int size, uint8_t* optval, int* optlen) {
  if (*optlen < 0) return -E_INVAL;
  const int len = std::min(*optlen, size);
  std::memcpy(optval, val, size_t(len));
  *optlen = len;
  return 0;
}

int sockopt_put_int(int val, uint8_t* optval, int* optlen) {
  return sockopt_put_bytes(&val, int(sizeof(val)), optval, optlen);
}

namespace {
// struct linger (include/linux/socket.h).
struct Linger {
  int l_onoff;
  int l_linger;
};
constexpr int64_t MAX_SCHEDULE_TIMEOUT = INT64_MAX;  // LONG_MAX
}  // namespace

// sk_setsockopt: SOL_SOCKET. Every option reads an int first (so optlen below
// sizeof(int) is EINVAL); SO_LINGER reads a struct linger.
int sock_setsockopt(Socket* sock, int optname, std::span<const uint8_t> optval) {
  Sock* sk = sock->sk;
  const int optlen = int(optval.size());
  if (optlen < int(sizeof(int))) return -E_INVAL;
  const int val = sockopt_int(optval);
  const bool valbool = val != 0;
  const Sysctls& sys = sk->net->sysctl;
  switch (optname) {
    case SO_DEBUG_:
      return 0;  // root may; nothing in the stack reads it
    case SO_REUSEADDR_:
      sk->sk_reuse = valbool;
      return 0;
    case SO_REUSEPORT_:
      sk->sk_reuseport = valbool;
      return 0;
    case SO_TYPE_:
    case SO_PROTOCOL_:
    case SO_DOMAIN_:
    case SO_ERROR_:
      return -E_NOPROTOOPT;
    case SO_DONTROUTE_:
      return 0;
    case SO_BROADCAST_:
      sk->sock_broadcast = valbool;
      return 0;
    case SO_SNDBUF_:
    case SO_SNDBUFFORCE_: {
      // Linux doubles the value (room for struct sk_buff overhead); the
      // unforced option is clamped to wmem_max first (as an unsigned compare).
      uint32_t v = uint32_t(val);
      if (optname == SO_SNDBUF_) v = std::min<uint32_t>(v, uint32_t(sys.wmem_max));
      else if (val < 0) v = 0;
      v = std::min<uint32_t>(v, INT_MAX / 2);
      sk->sk_userlocks |= SOCK_SNDBUF_LOCK;
      sk->sk_sndbuf = std::max(int(v) * 2, SOCK_MIN_SNDBUF);
      return 0;
    }
    case SO_RCVBUF_:
    case SO_RCVBUFFORCE_: {
      uint32_t v = uint32_t(val);
      if (optname == SO_RCVBUF_) v = std::min<uint32_t>(v, uint32_t(sys.rmem_max));
      else if (val < 0) v = 0;
      v = std::min<uint32_t>(v, INT_MAX / 2);
      sk->sk_userlocks |= SOCK_RCVBUF_LOCK;
      sk->sk_rcvbuf = std::max(int(v) * 2, SOCK_MIN_RCVBUF);
      return 0;
    }
    case SO_KEEPALIVE_:
      // The protocol sees the old flag (tcp_set_keepalive arms the timer only
      // when keepalive was off).
      if (sk->sk_prot->keepalive) sk->sk_prot->keepalive(sk, valbool);
      sk->sock_keepopen = valbool;
      return 0;
    case SO_OOBINLINE_:
      sk->sock_urginline = valbool;
      return 0;
    case SO_LINGER_: {
      if (optlen < int(sizeof(Linger))) return -E_INVAL;  // 1003.1g
      Linger ling;
      std::memcpy(&ling, optval.data(), sizeof(ling));
      if (!ling.l_onoff) {
        sk->sock_linger = false;
      } else {
        // unsigned long t_sec = l_linger: a negative value is a huge one.
        const uint64_t t_sec = uint64_t(int64_t(ling.l_linger));
        sk->sk_lingertime = t_sec >= uint64_t(MAX_SCHEDULE_TIMEOUT / HZ) ? MAX_SCHEDULE_TIMEOUT
                                                                          : int64_t(t_sec * HZ);
        sk->sock_linger = true;
      }
      return 0;
    }
    case SO_PRIORITY_:
      sk->sk_priority = uint32_t(val);  // root: any value
      return 0;
    case 11:  // SO_NO_CHECK
      sk->sk_no_check_tx = valbool;
      return 0;
    case SO_MAX_PACING_RATE_: {
      // An int, ~0U meaning unlimited, or (optlen 8) the unsigned long itself.
      uint64_t ulval = uint32_t(val) == ~0u ? ~0ull : uint64_t(uint32_t(val));
      if (optlen >= int(sizeof(uint64_t))) std::memcpy(&ulval, optval.data(), sizeof ulval);
      if (ulval != ~0ull && sk->sk_pacing_status == SK_PACING_NONE) sk->sk_pacing_status = SK_PACING_NEEDED;
      sk->sk_max_pacing_rate = ulval;
      sk->sk_pacing_rate = std::min(sk->sk_pacing_rate, ulval);
      return 0;
    }
    default:
      return -E_NOPROTOOPT;
  }
}

// sk_getsockopt: a negative optlen is EINVAL; the caller gets min(optlen, the
// option's size) bytes.
int sock_getsockopt(Socket* sock, int optname, uint8_t* optval, int* optlen) {
  Sock* sk = sock->sk;
  if (*optlen < 0) return -E_INVAL;
  int v = 0;
  switch (optname) {
    case SO_DEBUG_: v = 0; break;
    case SO_REUSEADDR_: v = sk->sk_reuse; break;
    case SO_REUSEPORT_: v = sk->sk_reuseport; break;
    case SO_TYPE_: v = sk->sk_type; break;
    case SO_PROTOCOL_: v = sk->sk_protocol; break;
    case SO_DOMAIN_: v = sk->sk_family; break;
    case SO_ERROR_:
      v = -sock_error(sk);
      if (v == 0) {
        v = sk->sk_err_soft;
        sk->sk_err_soft = 0;
      }
      break;
    case SO_DONTROUTE_: v = 0; break;
    case SO_BROADCAST_: v = sk->sock_broadcast; break;
    case SO_SNDBUF_: v = sk->sk_sndbuf; break;
    case SO_RCVBUF_: v = sk->sk_rcvbuf; break;
    case SO_KEEPALIVE_: v = sk->sock_keepopen; break;
    case SO_OOBINLINE_: v = sk->sock_urginline; break;
    case SO_LINGER_: {
      const Linger ling{sk->sock_linger, int(sk->sk_lingertime / HZ)};
      return sockopt_put_bytes(&ling, int(sizeof(ling)), optval, optlen);
    }
    case SO_PRIORITY_: v = int(sk->sk_priority); break;
    case 11: v = sk->sk_no_check_tx; break;
    case SO_MAX_PACING_RATE_: {
      if (*optlen >= int(sizeof(uint64_t))) {
        const uint64_t rate = sk->sk_max_pacing_rate;
        return sockopt_put_bytes(&rate, int(sizeof rate), optval, optlen);
      }
      v = int(uint32_t(std::min<uint64_t>(sk->sk_max_pacing_rate, ~0u)));  // the 32-bit version
      break;
    }
    default: return -E_NOPROTOOPT;
  }
  return sockopt_put_int(v, optval, optlen);
}

}  // namespace nettwin
