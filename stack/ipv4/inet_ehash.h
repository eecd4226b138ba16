// inet_hashinfo's ehash (include/net/inet_hashtables.h): the established and
// TIME_WAIT socks by 4-tuple, looked up for every segment a connection receives.
// Linux's table has a fixed number of buckets (tcp_ehash_entries: 262144 on the
// recording machine, sized by alloc_large_system_hash from RAM); this one grows
// with its socks, so that a lookup stays O(1) at 10,000 connections without
// megabytes per stack. Buckets are picked with __inet_ehashfn under a fixed key:
// drawing Linux's random inet_ehash_secret would move every later draw of the
// stack's seeded generator (ISNs, IP IDs).
// Socks also keep the order they joined in (a chain's head or tail), which is
// the order ss lists TIME_WAIT socks in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "wire/bytes.h"

namespace nettwin {

struct Sock;

class InetEhash {
 public:
  // __sk_nulls_add_node_rcu: at the head of its chain (connect, TIME_WAIT).
  void add_head(Sock* sk);
  // inet_ehash_nolisten's place for an accepted child, after the others.
  void add_tail(Sock* sk);
  // __sk_nulls_del_node_init_rcu: out of its chain, if in one.
  void remove(Sock* sk);
  // The socks of this 4-tuple (the fields a sock holds them in), in chain order;
  // empty when none.
  const std::vector<Sock*>& chain(wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr faddr, uint16_t fport) const;

  size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }
  Sock* front() const { return order_.front(); }  // the first in that order
  // Every sock, in the order they joined.
  std::list<Sock*>::const_iterator begin() const { return order_.begin(); }
  std::list<Sock*>::const_iterator end() const { return order_.end(); }

 private:
  struct Key {
    wire::Ipv4Addr laddr, faddr;
    uint16_t lport, fport;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Place {
    std::list<Sock*>::iterator in_order;
    Key key;  // as it was hashed: the sock's fields may change before it leaves
  };
  static Key key_of(const Sock* sk);
  void add(Sock* sk, bool head);

  std::list<Sock*> order_;
  std::unordered_map<const Sock*, Place> places_;
  std::unordered_map<Key, std::vector<Sock*>, KeyHash> chains_;
};

}  // namespace nettwin
