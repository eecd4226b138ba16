// net/ipv4/inet_hashtables.c: the bind buckets and the listening hash of TCP.
#include "ipv4/inet_hashtables.h"

#include <algorithm>

#include "core/net.h"
#include "ipv4/inet_timewait_sock.h"
#include "ipv4/tcp_ipv4.h"
#include "core/secure_seq.h"
#include "ipv4/tcp_sock.h"
#include "socket/sock.h"
#include "socket/sock_reuseport.h"

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
  tcp_sk(sk)->icsk_bind_hash_connect = false;
}

namespace {

// inet_reuseport_add_sock: a SO_REUSEPORT listener joins the group of one
// bound the same way (port, device, exactly the same address), or starts one.
void inet_reuseport_add_sock(Sock* sk) {
  for (Sock* sk2 : sk->net->sock.tcp_listeners) {
    if (sk2 != sk && sk2->inet_num == sk->inet_num && sk2->sk_reuseport && sk2->reuseport_id &&
        sk2->sk_bound_dev_if == sk->sk_bound_dev_if && sk2->inet_rcv_saddr == sk->inet_rcv_saddr) {
      reuseport_add_sock(*sk->net, sk, sk2);
      return;
    }
  }
  reuseport_alloc(*sk->net, sk);
}

// inet_ehashfn: the 4-tuple hash a SO_REUSEPORT listener is picked by.
uint32_t inet_ehashfn(Net& net, wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr faddr, uint16_t fport) {
  SockNet& s = net.sock;
  if (!s.inet_ehash_secret_set) {  // net_get_random_once
    s.inet_ehash_secret = uint32_t(net.rng.next());
    s.inet_ehash_secret_set = true;
  }
  return __inet_ehashfn(laddr, lport, faddr, fport, s.inet_ehash_secret);
}

}  // namespace

int inet_hash(Sock* sk) {
  if (sk->sk_state == TCP_CLOSE) return 0;
  if (sk->sk_reuseport) inet_reuseport_add_sock(sk);
  auto& l = sk->net->sock.tcp_listeners;
  l.insert(l.begin(), sk);  // __sk_nulls_add_node_rcu: at the head for AF_INET
  return 0;
}

void inet_unhash(Sock* sk) {
  auto& l = sk->net->sock.tcp_listeners;
  l.erase(std::remove(l.begin(), l.end(), sk), l.end());
  reuseport_detach_sock(*sk->net, sk);
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

// inet_lhash2_lookup: the best-scoring listener; one in a SO_REUSEPORT group
// hands the segment to the member its 4-tuple hashes to (inet_lookup_reuseport).
Sock* inet_lhash2_lookup(Net& net, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr, uint16_t hnum,
                         int dif) {
  Sock* result = nullptr;
  int hiscore = 0;
  for (Sock* sk : net.sock.tcp_listeners) {
    const int score = compute_score(sk, daddr, hnum, dif);
    if (score > hiscore) {
      if (sk->sk_reuseport && sk->reuseport_id)
        if (Sock* sel = reuseport_select_sock(net, sk, inet_ehashfn(net, daddr, hnum, saddr, sport))) return sel;
      result = sk;
      hiscore = score;
    }
  }
  return result;
}

}  // namespace

Sock* inet_lookup_listener(Net& net, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr, uint16_t hnum,
                           int dif) {
  if (Sock* sk = inet_lhash2_lookup(net, saddr, sport, daddr, hnum, dif)) return sk;
  return inet_lhash2_lookup(net, saddr, sport, 0, hnum, dif);
}

int __inet_check_established(Sock* sk, uint16_t lport, InetTimewaitSock** twp) {
  Net& net = *sk->net;
  auto& ehash = net.sock.tcp_ehash;
  InetTimewaitSock* tw = nullptr;
  for (Sock* sk2 : ehash.chain(sk->inet_rcv_saddr, lport, sk->inet_daddr, sk->inet_dport)) {
    if (sk2 == sk) continue;
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
  ehash.add_head(sk);
  if (tw) {
    ehash.remove(tw);
    net.mib.tcpext.TWRecycled++;
  }
  if (twp)
    *twp = tw;
  else if (tw)
    inet_twsk_deschedule_put(tw);  // silly: should hash-dance instead (Linux's words)
  return 0;
}

namespace {

constexpr uint32_t INET_TABLE_PERTURB_SIZE = 1u << 16;

// A bind bucket made by bind() or listen() (tb->fastreuse >= 0) is not shared
// with connect(); one made by connect() is, for other 4-tuples.
bool inet_bind_bucket_from_bind(Net& net, uint16_t port) {
  auto it = net.sock.tcp_bhash.find(port);
  if (it == net.sock.tcp_bhash.end()) return false;
  for (const Sock* owner : it->second)
    if (!tcp_sk(owner)->icsk_bind_hash_connect) return true;
  return false;
}

// table_perturb[index]: random at first use (get_random_sleepable_once fills
// the whole table; here each slot on first use, from the seeded generator).
uint32_t& table_perturb(Net& net, uint32_t index) {
  auto [it, fresh] = net.sock.tcp_table_perturb.try_emplace(index, 0);
  if (fresh) it->second = uint32_t(net.rng.next());
  return it->second;
}

}  // namespace

int inet_hash_connect(Sock* sk) {
  Net& net = *sk->net;
  if (sk->inet_num) {
    // A bound port: only the 4-tuple's uniqueness is checked.
    return __inet_check_established(sk, sk->inet_num, nullptr);
  }
  const uint64_t port_offset = secure_ipv4_port_ephemeral(net, sk->inet_rcv_saddr, sk->inet_daddr, sk->inet_dport);
  const int low = net.sock.port_range_low;
  const int high = net.sock.port_range_high + 1;  // [low, high[
  const int step = 2;  // no IP_LOCAL_PORT_RANGE on the socket: even ports first
  uint32_t remaining = uint32_t(high - low);
  if (remaining > 1) remaining &= ~1u;
  const uint32_t index = uint32_t(port_offset & (INET_TABLE_PERTURB_SIZE - 1));
  uint32_t offset = (table_perturb(net, index) + uint32_t(port_offset >> 32)) % remaining;
  offset &= ~1u;
  for (;;) {
    int port = low + int(offset);
    for (uint32_t i = 0; i < remaining; i += step, port += step) {
      if (port >= high) port -= int(remaining);
      if (inet_bind_bucket_from_bind(net, uint16_t(port))) continue;
      InetTimewaitSock* tw = nullptr;
      if (__inet_check_established(sk, uint16_t(port), &tw)) continue;
      // A little randomness for the next search (max of i and a random step count).
      const uint32_t r = uint32_t((uint64_t(uint32_t(net.rng.next())) * 8) >> 32) * step;
      table_perturb(net, index) += std::max(i, r) + step;
      inet_bind_hash(sk, uint16_t(port));
      tcp_sk(sk)->icsk_bind_hash_connect = true;
      if (tw) inet_twsk_deschedule_put(tw);  // the tw sock gave its 4-tuple to sk
      return 0;
    }
    ++offset;
    if (!((offset & 1) && remaining > 1)) break;  // then the odd ports
  }
  return -E_ADDRNOTAVAIL;
}

}  // namespace nettwin
