// net/core/sock.c: what every socket has - buffers, options at SOL_SOCKET,
// the pending error and the error queue.
#include <algorithm>
#include <climits>

#include "core/net.h"
#include "core/skb_pool.h"
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
  if (sk->sk_wmem_alloc == 0 && sk->sk_free_deferred) sk->net->sock.sk_destruct(sk);
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
  constexpr unsigned kSmallHeadCache = 640;  // SKB_SMALL_HEAD_CACHE_SIZE: SKB_HEAD_ALIGN(MAX_TCP_HEADER)
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

void sk_error_report(Sock*) {
  // sk_error_report wakes pollers; readiness is computed on demand (datagram_poll).
}

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

// sk_setsockopt: SOL_SOCKET. val is the int the caller passed; optlen its size.
int sock_setsockopt(Socket* sock, int optname, int val, int optlen) {
  Sock* sk = sock->sk;
  if (optlen < int(sizeof(int))) return -E_INVAL;
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
      return 0;
    case SO_PRIORITY_:
      sk->sk_priority = uint32_t(val);  // root: any value
      return 0;
    case 11:  // SO_NO_CHECK
      sk->sk_no_check_tx = valbool;
      return 0;
    default:
      return -E_NOPROTOOPT;
  }
}

int sock_getsockopt(Socket* sock, int optname, int* val) {
  Sock* sk = sock->sk;
  switch (optname) {
    case SO_DEBUG_: *val = 0; return 0;
    case SO_REUSEADDR_: *val = sk->sk_reuse; return 0;
    case SO_REUSEPORT_: *val = sk->sk_reuseport; return 0;
    case SO_TYPE_: *val = sk->sk_type; return 0;
    case SO_PROTOCOL_: *val = sk->sk_protocol; return 0;
    case SO_DOMAIN_: *val = sk->sk_family; return 0;
    case SO_ERROR_:
      *val = -sock_error(sk);
      if (*val == 0) {
        *val = sk->sk_err_soft;
        sk->sk_err_soft = 0;
      }
      return 0;
    case SO_DONTROUTE_: *val = 0; return 0;
    case SO_BROADCAST_: *val = sk->sock_broadcast; return 0;
    case SO_SNDBUF_: *val = sk->sk_sndbuf; return 0;
    case SO_RCVBUF_: *val = sk->sk_rcvbuf; return 0;
    case SO_KEEPALIVE_: *val = 0; return 0;
    case SO_PRIORITY_: *val = int(sk->sk_priority); return 0;
    case 11: *val = sk->sk_no_check_tx; return 0;
    default: return -E_NOPROTOOPT;
  }
}

}  // namespace nettwin
