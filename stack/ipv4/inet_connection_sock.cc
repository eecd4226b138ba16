// net/ipv4/inet_connection_sock.c: inet_csk_get_port and the listen start/stop.
#include "ipv4/inet_connection_sock.h"

#include "core/net.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ipv4.h"
#include "wire/headers.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_sock.h"

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
  // The children not accepted die with their queue (inet_child_forget; the
  // reset Linux's tcp_disconnect sends them is not built yet).
  for (auto& child : tp->icsk_accept_queue) {
    child->sk_prot->unhash(child.get());
    if (child->inet_num) inet_put_port(child.get());
  }
  tp->icsk_accept_queue.clear();
  sk->sk_ack_backlog = 0;
}

}  // namespace nettwin
