// net/ipv4/inet_hashtables.c: the bind buckets and the listening hash of TCP.
#include "ipv4/inet_hashtables.h"

#include <algorithm>

#include "core/net.h"
#include "ipv4/inet_timewait_sock.h"
#include "ipv4/tcp_ipv4.h"
#include "socket/sock.h"

namespace nettwin {

void inet_bind_hash(Sock* sk, uint16_t snum) {
  auto& owners = sk->net->sock.tcp_bhash[snum];
  owners.insert(owners.begin(), sk);  // sk_add_bind_node: hlist_add_head
  sk->inet_num = snum;
}

void inet_put_port(Sock* sk) {
  auto& bhash = sk->net->sock.tcp_bhash;
  auto it = bhash.find(sk->inet_num);
  if (it != bhash.end()) {
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), sk), v.end());
    if (v.empty()) bhash.erase(it);  // inet_bind_bucket_destroy
  }
  sk->inet_num = 0;
}

int inet_hash(Sock* sk) {
  if (sk->sk_state == TCP_CLOSE) return 0;
  auto& l = sk->net->sock.tcp_listeners;
  l.insert(l.begin(), sk);  // __sk_nulls_add_node_rcu: at the head for AF_INET
  return 0;
}

void inet_unhash(Sock* sk) {
  auto& l = sk->net->sock.tcp_listeners;
  l.erase(std::remove(l.begin(), l.end(), sk), l.end());
}

namespace {

// compute_score for a listener: the port and address must match; a bound
// device must be the one the segment came in on.
int compute_score(const Sock* sk, wire::Ipv4Addr daddr, uint16_t hnum, int dif) {
  if (sk->inet_num != hnum || sk->inet_rcv_saddr != daddr) return -1;
  int score = 1;  // sk_family == PF_INET
  if (sk->sk_bound_dev_if) {
    if (sk->sk_bound_dev_if != dif) return -1;
    score++;
  }
  return score + 1;  // sk_incoming_cpu is never this CPU's here: only the base
}

Sock* inet_lhash2_lookup(Net& net, wire::Ipv4Addr daddr, uint16_t hnum, int dif) {
  Sock* result = nullptr;
  int hiscore = 0;
  for (Sock* sk : net.sock.tcp_listeners) {
    const int score = compute_score(sk, daddr, hnum, dif);
    if (score > hiscore) {
      result = sk;
      hiscore = score;
    }
  }
  return result;
}

}  // namespace

Sock* inet_lookup_listener(Net& net, wire::Ipv4Addr daddr, uint16_t hnum, int dif) {
  if (Sock* sk = inet_lhash2_lookup(net, daddr, hnum, dif)) return sk;
  return inet_lhash2_lookup(net, 0, hnum, dif);
}

int __inet_check_established(Sock* sk, uint16_t lport, InetTimewaitSock** twp) {
  Net& net = *sk->net;
  auto& ehash = net.sock.tcp_ehash;
  InetTimewaitSock* tw = nullptr;
  for (Sock* sk2 : ehash) {
    if (sk2 == sk || sk2->inet_num != lport || sk2->inet_rcv_saddr != sk->inet_rcv_saddr ||
        sk2->inet_daddr != sk->inet_daddr || sk2->inet_dport != sk->inet_dport)
      continue;
    if (sk->sk_bound_dev_if && sk2->sk_bound_dev_if && sk->sk_bound_dev_if != sk2->sk_bound_dev_if) continue;
    if (sk2->sk_state == TCP_TIME_WAIT && tcp_twsk_unique(sk, inet_twsk(sk2), twp != nullptr)) {
      tw = inet_twsk(sk2);
      break;
    }
    return -E_ADDRNOTAVAIL;
  }
  // The port and the place in ehash now, or sk would show a funny identity there.
  sk->inet_num = lport;
  sk->inet_sport = lport;
  ehash.insert(ehash.begin(), sk);
  if (tw) {
    ehash.erase(std::remove(ehash.begin(), ehash.end(), static_cast<Sock*>(tw)), ehash.end());
    net.mib.tcpext.TWRecycled++;
  }
  if (twp)
    *twp = tw;
  else if (tw)
    inet_twsk_deschedule_put(tw);  // silly: should hash-dance instead (Linux's words)
  return 0;
}

}  // namespace nettwin
