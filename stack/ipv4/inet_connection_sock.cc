// net/ipv4/inet_connection_sock.c: inet_csk_get_port and the listen start/stop.
#include "ipv4/inet_connection_sock.h"

#include <algorithm>

#include "core/net.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ipv4.h"
#include "wire/headers.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"
#include "socket/uapi.h"

namespace nettwin {

DstEntry* inet_csk_route_req(Net& net, const Sock* sk, const RequestSock* req) {
  Flowi4 fl4;
  fl4.daddr = req->ir_rmt_addr;
  fl4.saddr = req->ir_loc_addr;
  fl4.proto = wire::IPPROTO_TCP;
  fl4.tos = sk->tos & 0xfc;
  fl4.sport = req->ir_num;
  fl4.dport = req->ir_rmt_port;
  return ip_route_output_key(net, fl4);
}

namespace {

// inet_bind_conflict (relax and reuseport_ok, as bind and listen ask): two
// SO_REUSEADDR sockets share a port unless the other one listens; two
// SO_REUSEPORT sockets of one user (one process drives the DUT) always do.
bool inet_bind_conflict(const Sock* sk, const Sock* sk2) {
  if (sk->sk_reuse && sk2->sk_reuse && sk2->sk_state != TCP_LISTEN) return false;
  return !(sk->sk_reuseport && sk2->sk_reuseport);
}

// inet_csk_bind_conflict over the bucket's owners: only those bound to the
// same device (or either to none) and to an overlapping address count.
bool inet_csk_bind_conflict(const Sock* sk, uint16_t snum) {
  auto& bhash = sk->net->sock.tcp_bhash;
  auto it = bhash.find(snum);
  if (it == bhash.end()) return false;
  for (const Sock* sk2 : it->second) {
    if (sk2 == sk) continue;
    if (sk->sk_bound_dev_if && sk2->sk_bound_dev_if && sk->sk_bound_dev_if != sk2->sk_bound_dev_if) continue;
    if (sk->inet_rcv_saddr && sk2->inet_rcv_saddr && sk->inet_rcv_saddr != sk2->inet_rcv_saddr) continue;
    if (inet_bind_conflict(sk, sk2)) return true;
  }
  return false;
}

}  // namespace

int inet_csk_get_port(Sock* sk, uint16_t snum) {
  Net& net = *sk->net;
  const bool hashed = sk->inet_num != 0;  // listen on a bound socket checks again
  if (!snum) {
    // inet_csk_find_open_port, simplified: a seeded start in
    // ip_local_port_range, then the next port without a conflict.
    const int low = net.sock.port_range_low, high = net.sock.port_range_high;
    const uint32_t remaining = uint32_t(high - low + 1);
    const uint32_t first = uint32_t((uint64_t(uint32_t(net.rng.next())) * remaining) >> 32);
    for (uint32_t i = 0; i < remaining; ++i) {
      const uint16_t port = uint16_t(low + (first + i) % remaining);
      if (!inet_csk_bind_conflict(sk, port)) {
        snum = port;
        break;
      }
    }
    if (!snum) return 1;
  } else if (inet_csk_bind_conflict(sk, snum)) {
    return 1;
  }
  if (!hashed) inet_bind_hash(sk, snum);
  return 0;
}

int inet_csk_listen_start(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->icsk_accept_queue.clear();
  sk->sk_ack_backlog = 0;
  // inet_sk_state_store traces CLOSE -> LISTEN before the port is checked.
  tcp_set_state_store(sk, TCP_LISTEN);
  if (sk->sk_prot->get_port(sk, sk->inet_num) == 0) {
    sk->inet_sport = sk->inet_num;
    sk->sk_dst_cache = nullptr;
    return inet_hash(sk);
  }
  tcp_set_state_store(sk, TCP_CLOSE);  // inet_sk_set_state
  return -E_ADDRINUSE;
}

void inet_csk_listen_stop(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tcp_reqsk_queue_purge(tp);
  // The children not accepted die with their queue (inet_child_forget): disconnect
  // resets an established one and closes it (tcp_set_state unhashes it), then the
  // orphan is destroyed (tcp_v4_destroy_sock gives the port it inherited back).
  for (auto& child : tp->icsk_accept_queue) {
    child->sk_prot->disconnect(child.get(), O_NONBLOCK_);
    child->sock_dead = true;
    if (child->inet_num) inet_put_port(child.get());
  }
  tp->icsk_accept_queue.clear();
  sk->sk_ack_backlog = 0;
}

int inet_csk_reqsk_queue_len(const Sock* sk) { return int(tcp_sk(sk)->reqsk_queue.size()); }

int inet_csk_reqsk_queue_young(const Sock* sk) {
  int young = 0;
  for (const auto& req : tcp_sk(sk)->reqsk_queue) young += req->num_timeout == 0;
  return young;
}

bool inet_csk_reqsk_queue_is_full(const Sock* sk) {
  return uint32_t(inet_csk_reqsk_queue_len(sk)) > sk->sk_max_ack_backlog;
}

uint64_t tcp_reqsk_timeout(const RequestSock* req) {
  const uint64_t timeout = uint64_t(req->timeout) << req->num_timeout;
  return std::min<uint64_t>(timeout, TCP_RTO_MAX);
}

namespace {

void reqsk_timer_handler(RequestSock* req);

void reqsk_arm(RequestSock* req, uint64_t expires) {
  Engine& engine = req->rsk_listener->net->engine;
  req->rsk_engine = &engine;
  req->rsk_timer = engine.mod_timer(expires, [req] { reqsk_timer_handler(req); });
}

// syn_ack_recalc: when to give the request up and when to resend the SYN-ACK.
// Without TCP_DEFER_ACCEPT: give up after max_syn_ack_retries timeouts, resend
// until then. With it, a request whose bare ACK came (acked) waits silently for
// data until the deferring's last timeout, resent once then as a last chance.
void syn_ack_recalc(const RequestSock* req, int max_syn_ack_retries, uint8_t rskq_defer_accept, bool* expire,
                    bool* resend) {
  if (!rskq_defer_accept) {
    *expire = req->num_timeout >= max_syn_ack_retries;
    *resend = true;
    return;
  }
  *expire = req->num_timeout >= max_syn_ack_retries &&
            (!req->acked || req->num_timeout >= rskq_defer_accept);
  *resend = !req->acked || req->num_timeout >= rskq_defer_accept - 1;
}

// reqsk_timer_handler: the SYN-ACK again (tcp_rtx_synack) and the timer set
// to twice its last timeout, until tcp_synack_retries timeouts; then, or when
// the SYN-ACK cannot be sent, or the listener is gone, the request is dropped.
// A SYN queue more than half full of old requests gets fewer retries.
void reqsk_timer_handler(RequestSock* req) {
  req->rsk_timer = 0;
  Sock* sk_listener = req->rsk_listener;
  Net& net = *sk_listener->net;
  if (sk_listener->sk_state != TCP_LISTEN) {
    inet_csk_reqsk_queue_drop(sk_listener, req);
    return;
  }
  const TcpSock* tp = tcp_sk(sk_listener);
  int max_syn_ack_retries = tp->icsk_syn_retries ? tp->icsk_syn_retries : int(net.sysctl.tcp_synack_retries);
  const int qlen = inet_csk_reqsk_queue_len(sk_listener);
  if ((qlen << 1) > int(std::max<uint32_t>(8u, sk_listener->sk_max_ack_backlog))) {
    int young = inet_csk_reqsk_queue_young(sk_listener) << 1;
    while (max_syn_ack_retries > 2) {
      if (qlen < young) break;
      max_syn_ack_retries--;
      young <<= 1;
    }
  }
  bool expire = false, resend = false;
  syn_ack_recalc(req, max_syn_ack_retries, tp->rskq_defer_accept, &expire, &resend);
  net.mib.tcpext.TCPTimeouts++;  // tcp_syn_ack_timeout
  if (!expire && (!resend || tcp_rtx_synack(net, sk_listener, req) == 0 || req->acked)) {
    req->num_timeout++;
    reqsk_arm(req, net.engine.jiffies() + tcp_reqsk_timeout(req));
    return;
  }
  inet_csk_reqsk_queue_drop(sk_listener, req);
}

}  // namespace

RequestSock* inet_csk_reqsk_queue_hash_add(Sock* sk, std::unique_ptr<RequestSock> req, uint32_t timeout) {
  RequestSock* r = req.get();
  r->rsk_listener = sk;
  r->timeout = timeout;
  // reqsk_queue_hash_req: the timer first, then into ehash and the queue's count.
  reqsk_arm(r, sk->net->engine.jiffies() + timeout);
  tcp_sk(sk)->reqsk_queue.push_back(std::move(req));
  return r;
}

bool inet_csk_reqsk_queue_drop(Sock* sk, RequestSock* req) {
  auto& q = tcp_sk(sk)->reqsk_queue;
  auto it = std::find_if(q.begin(), q.end(), [&](const std::unique_ptr<RequestSock>& r) { return r.get() == req; });
  if (it == q.end()) return false;
  q.erase(it);  // ~RequestSock stops the timer
  return true;
}

void reqsk_timer_mod_pending(RequestSock* req, uint64_t expires) {
  if (!req->rsk_engine || !req->rsk_timer || !req->rsk_engine->timer_pending(req->rsk_timer)) return;
  req->rsk_engine->del_timer(req->rsk_timer);
  reqsk_arm(req, expires);
}

}  // namespace nettwin
