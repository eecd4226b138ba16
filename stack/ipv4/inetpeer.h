// net/ipv4/inetpeer.c (Linux 6.18): long-lived facts about remote addresses
// (ICMP and ip_error rate-limit buckets, redirect counts, fragment ids),
// one struct inet_peer per address, garbage-collected as new ones arrive.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "wire/bytes.h"

namespace nettwin {

class Net;

// struct inet_peer.
struct InetPeer {
  wire::Ipv4Addr daddr = 0;
  uint32_t dtime = 0;  // jiffies of the last lookup
  int refcnt = 1;      // the base's own reference; a fragment queue adds one
  uint64_t rate_tokens = 0;
  uint64_t rate_last = 0;  // jiffies; a new peer starts 60 s in the past
  uint32_t rid = 0;        // fragments seen from this source (ipfrag_max_dist)
  // ip_rt_send_redirect's count; it shares rate_tokens / rate_last with
  // ip_error and the ICMP rate limit, as Linux's inet_peer does.
  uint32_t n_redirects = 0;
  // Least-recently-looked-up order, the candidates inet_peer_gc examines.
  InetPeer* lru_prev = nullptr;
  InetPeer* lru_next = nullptr;
};

// struct inet_peer_base (net->ipv4.peers).
struct InetPeerBase {
  std::unordered_map<wire::Ipv4Addr, std::unique_ptr<InetPeer>> peers;
  int total = 0;
  InetPeer* lru_oldest = nullptr;
  InetPeer* lru_newest = nullptr;
  uint64_t gc_frees = 0;  // peers inet_peer_gc removed (Linux keeps no count)
};

// PEER_MAX_GC: at most this many peers are examined per new peer.
inline constexpr unsigned PEER_MAX_GC = 32;

// inet_getpeer_v4: the peer of addr, its dtime refreshed; created when
// missing, and then up to PEER_MAX_GC old peers are collected (inet_peer_gc).
// No reference is taken (6.18: callers run under RCU); the pointer is good
// until the next inet_getpeer_v4 call unless the caller holds a reference.
InetPeer* inet_getpeer_v4(Net& net, wire::Ipv4Addr addr);
// A reference that keeps a peer out of the collector (ip4_frag_init's).
inline void inet_peer_hold(InetPeer* p) { ++p->refcnt; }
inline void inet_putpeer(InetPeer* p) { --p->refcnt; }

}  // namespace nettwin
