#include "ipv4/inet_ehash.h"

#include <algorithm>

#include "socket/sock.h"
#include "socket/sock_reuseport.h"  // __inet_ehashfn

namespace nettwin {

size_t InetEhash::KeyHash::operator()(const Key& k) const {
  return __inet_ehashfn(k.laddr, k.lport, k.faddr, k.fport, 0);
}

InetEhash::Key InetEhash::key_of(const Sock* sk) {
  return Key{sk->inet_rcv_saddr, sk->inet_daddr, sk->inet_num, sk->inet_dport};
}

void InetEhash::add(Sock* sk, bool head) {
  if (places_.count(sk)) remove(sk);  // never twice, as an hlist node cannot be
  const Key key = key_of(sk);
  auto& chain = chains_[key];
  chain.insert(head ? chain.begin() : chain.end(), sk);
  const auto at = head ? order_.insert(order_.begin(), sk) : order_.insert(order_.end(), sk);
  places_.emplace(sk, Place{at, key});
}

void InetEhash::add_head(Sock* sk) { add(sk, true); }
void InetEhash::add_tail(Sock* sk) { add(sk, false); }

void InetEhash::remove(Sock* sk) {
  const auto place = places_.find(sk);
  if (place == places_.end()) return;
  const auto chain = chains_.find(place->second.key);
  chain->second.erase(std::find(chain->second.begin(), chain->second.end(), sk));
  if (chain->second.empty()) chains_.erase(chain);
  order_.erase(place->second.in_order);
  places_.erase(place);
}

const std::vector<Sock*>& InetEhash::chain(wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr faddr,
                                           uint16_t fport) const {
  static const std::vector<Sock*> kNone;
  const auto it = chains_.find(Key{laddr, faddr, lport, fport});
  return it == chains_.end() ? kNone : it->second;
}

}  // namespace nettwin
