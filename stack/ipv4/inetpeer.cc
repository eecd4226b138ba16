#include "ipv4/inetpeer.h"

#include "core/jiffies.h"
#include "core/net.h"

namespace nettwin {

namespace {

void lru_unlink(InetPeerBase& base, InetPeer* p) {
  (p->lru_prev ? p->lru_prev->lru_next : base.lru_oldest) = p->lru_next;
  (p->lru_next ? p->lru_next->lru_prev : base.lru_newest) = p->lru_prev;
  p->lru_prev = p->lru_next = nullptr;
}

void lru_push_newest(InetPeerBase& base, InetPeer* p) {
  p->lru_prev = base.lru_newest;
  p->lru_next = nullptr;
  (base.lru_newest ? base.lru_newest->lru_next : base.lru_oldest) = p;
  base.lru_newest = p;
}

// inet_peer_gc: each examined peer goes when it was not looked up for ttl
// jiffies and nobody but the base holds it. ttl shrinks from inet_peer_maxttl
// toward inet_peer_minttl as the base fills, and is 0 once it holds
// inet_peer_threshold peers. Linux examines the peers its rb-tree lookup for
// the new address passed; the twin keeps a hash table, and examines the
// PEER_MAX_GC least recently looked-up peers instead.
void inet_peer_gc(Net& net, InetPeerBase& base, const InetPeer* fresh) {
  const int64_t threshold = net.sysctl.inet_peer_threshold;
  const int64_t maxttl = net.sysctl.inet_peer_maxttl * int64_t(HZ);
  const int64_t minttl = net.sysctl.inet_peer_minttl * int64_t(HZ);
  uint32_t ttl = 0;  // be aggressive
  if (base.total < threshold)
    ttl = uint32_t(maxttl - (maxttl - minttl) / int64_t(HZ) * base.total / threshold * int64_t(HZ));
  const uint32_t now = uint32_t(ns_to_jiffies(net.engine.now()));
  InetPeer* p = base.lru_oldest;
  for (unsigned examined = 0; p && examined < PEER_MAX_GC; ++examined) {
    InetPeer* next = p->lru_next;
    const uint32_t delta = now - p->dtime;
    if (p != fresh && delta >= ttl && p->refcnt == 1) {  // refcount_dec_if_one
      lru_unlink(base, p);
      base.total--;
      base.gc_frees++;
      base.peers.erase(p->daddr);
    }
    p = next;
  }
}

}  // namespace

InetPeer* inet_getpeer_v4(Net& net, wire::Ipv4Addr addr) {
  InetPeerBase& base = net.inet_peers;
  const uint64_t now = ns_to_jiffies(net.engine.now());
  auto it = base.peers.find(addr);
  if (it != base.peers.end()) {
    InetPeer* p = it->second.get();
    p->dtime = uint32_t(now);
    lru_unlink(base, p);
    lru_push_newest(base, p);
    return p;
  }
  auto owned = std::make_unique<InetPeer>();
  InetPeer* p = owned.get();
  p->daddr = addr;
  p->dtime = uint32_t(now);
  // 60*HZ in the past: the first token calculation starts at its maximum.
  p->rate_last = now - 60 * HZ;
  base.peers.emplace(addr, std::move(owned));
  base.total++;
  lru_push_newest(base, p);
  inet_peer_gc(net, base, p);
  return p;
}

}  // namespace nettwin
