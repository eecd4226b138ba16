#include "core/neighbour.h"

#include <algorithm>

#include "core/dev.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ethernet/eth.h"
#include "ipv4/ipv4.h"

namespace nettwin {

namespace {
constexpr uint64_t kMs = 1000000ull;
constexpr uint64_t kSec = 1000000000ull;
constexpr uint64_t kMinRetrans = 10 * kMs;  // HZ/100

uint64_t neigh_key(int ifindex, wire::Ipv4Addr ip) { return (uint64_t(uint32_t(ifindex)) << 32) | ip; }
uint64_t retrans_time(const Net& net) { return std::max(uint64_t(net.sysctl.retrans_time_ms) * kMs, kMinRetrans); }
uint64_t delay_probe_time(const Net& net) { return uint64_t(net.sysctl.delay_first_probe_time) * kSec; }

int neigh_max_probes(const NeighbourEntry* n) {
  const Sysctls& s = n->dev->net.sysctl;
  return int(s.ucast_solicit + s.app_solicit) +
         int((n->nud_state & NUD_PROBE) ? s.mcast_resolicit : s.mcast_solicit);
}

void neigh_timer_handler(NeighbourEntry* n);

void neigh_add_timer(NeighbourEntry* n, uint64_t when) {
  neigh_hold(n);  // a pending timer holds a reference, as in Linux
  n->timer = n->dev->net.engine.add_timer(when, [n] { neigh_timer_handler(n); });
}

void neigh_del_timer(NeighbourEntry* n) {
  if (n->timer && n->dev->net.engine.del_timer(n->timer)) {
    n->timer = 0;
    neigh_release(n);
  }
  n->timer = 0;
}

void neigh_connect(NeighbourEntry* n) { n->output = neigh_connected_output; }
void neigh_suspect(NeighbourEntry* n) { n->output = neigh_resolve_output; }

void neigh_probe(NeighbourEntry* n) {
  SkBuff* skb = n->arp_queue.tail;
  arp_solicit(n, skb);
  ++n->probes;
}

// neigh_invalidate: resolution failed, the queued skbs are reported and freed.
void neigh_invalidate(NeighbourEntry* n) {
  while (n->nud_state == NUD_FAILED) {
    SkBuff* skb = n->arp_queue.pop_front();
    if (!skb) break;
    arp_error_report(n, skb);
  }
  n->arp_queue_len_bytes = 0;
}

void neigh_timer_handler(NeighbourEntry* n) {
  Net& net = n->dev->net;
  n->timer = 0;
  const uint64_t now = net.engine.now();
  uint64_t next = now + kSec;
  const uint8_t state = n->nud_state;
  if (!(state & NUD_IN_TIMER)) {
    neigh_release(n);
    return;
  }
  if (state & NUD_REACHABLE) {
    if (time_before_eq(now, n->confirmed + net.arp_tbl.reachable_time_ns)) {
      next = n->confirmed + net.arp_tbl.reachable_time_ns;
    } else if (time_before_eq(now, n->used + delay_probe_time(net))) {
      n->nud_state = NUD_DELAY;
      n->updated = now;
      neigh_suspect(n);
      next = now + delay_probe_time(net);
    } else {
      n->nud_state = NUD_STALE;
      n->updated = now;
      neigh_suspect(n);
    }
  } else if (state & NUD_DELAY) {
    if (time_before_eq(now, n->confirmed + delay_probe_time(net))) {
      n->nud_state = NUD_REACHABLE;
      n->updated = now;
      neigh_connect(n);
      next = n->confirmed + net.arp_tbl.reachable_time_ns;
    } else {
      n->nud_state = NUD_PROBE;
      n->updated = now;
      n->probes = 0;
      next = now + retrans_time(net);
    }
  } else {
    next = now + retrans_time(net);  // NUD_PROBE | NUD_INCOMPLETE
  }

  if ((n->nud_state & (NUD_INCOMPLETE | NUD_PROBE)) && n->probes >= neigh_max_probes(n)) {
    n->nud_state = NUD_FAILED;
    neigh_invalidate(n);
    neigh_release(n);
    return;
  }
  if (n->nud_state & NUD_IN_TIMER) {
    if (next < now + kMinRetrans) next = now + kMinRetrans;
    neigh_add_timer(n, next);
  }
  if (n->nud_state & (NUD_INCOMPLETE | NUD_PROBE)) neigh_probe(n);
  neigh_release(n);  // the reference of the timer that just ran
}

// __neigh_event_send: start or continue resolution; 1 when skb was queued or dropped.
int __neigh_event_send(NeighbourEntry* n, SkBuff* skb) {
  Net& net = n->dev->net;
  const uint64_t now = net.engine.now();
  bool immediate_probe = false;
  int rc = 0;
  if (n->nud_state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE)) return 0;
  if (!(n->nud_state & (NUD_STALE | NUD_INCOMPLETE))) {
    if (net.sysctl.mcast_solicit + net.sysctl.app_solicit) {
      n->probes = int(net.sysctl.ucast_solicit);
      neigh_del_timer(n);
      n->nud_state = NUD_INCOMPLETE;
      n->updated = now;
      immediate_probe = true;
      neigh_add_timer(n, now + retrans_time(net));
    } else {
      n->nud_state = NUD_FAILED;
      n->updated = now;
      kfree_skb(skb, SkbDropReason::NEIGH_FAILED, "__neigh_event_send");
      return 1;
    }
  } else if (n->nud_state & NUD_STALE) {
    neigh_del_timer(n);
    n->nud_state = NUD_DELAY;
    n->updated = now;
    neigh_add_timer(n, now + delay_probe_time(net));
  }
  if (n->nud_state == NUD_INCOMPLETE) {
    if (skb) {
      while (n->arp_queue_len_bytes + skb->truesize > uint64_t(net.sysctl.unres_qlen_bytes)) {
        SkBuff* old = n->arp_queue.pop_front();
        if (!old) break;
        n->arp_queue_len_bytes -= old->truesize;
        kfree_skb(old, SkbDropReason::NEIGH_QUEUEFULL, "__neigh_event_send");
      }
      n->arp_queue.push_back(skb);
      n->arp_queue_len_bytes += skb->truesize;
    }
    rc = 1;
  }
  if (immediate_probe) neigh_probe(n);
  return rc;
}

int neigh_event_send(NeighbourEntry* n, SkBuff* skb) {
  n->used = n->dev->net.engine.now();
  if (!(n->nud_state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE))) return __neigh_event_send(n, skb);
  return 0;
}
}  // namespace

const char* neigh_state_name(uint8_t s) {
  switch (s) {
    case NUD_NONE: return "none";
    case NUD_INCOMPLETE: return "incomplete";
    case NUD_REACHABLE: return "reachable";
    case NUD_STALE: return "stale";
    case NUD_DELAY: return "delay";
    case NUD_PROBE: return "probe";
    case NUD_FAILED: return "failed";
    case NUD_NOARP: return "noarp";
    case NUD_PERMANENT: return "permanent";
  }
  return "unknown";
}

bool neigh_state_parse(const std::string& name, uint8_t* out) {
  for (uint8_t s : {NUD_INCOMPLETE, NUD_REACHABLE, NUD_STALE, NUD_DELAY, NUD_PROBE, NUD_FAILED, NUD_NOARP,
                    NUD_PERMANENT}) {
    if (name == neigh_state_name(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

NeighbourEntry* neigh_lookup(NeighTable& tbl, wire::Ipv4Addr key, const NetDevice* dev) {
  auto it = tbl.entries.find(neigh_key(dev->ifindex, key));
  return it == tbl.entries.end() ? nullptr : it->second.get();
}

NeighbourEntry* __neigh_create(NeighTable& tbl, wire::Ipv4Addr key, NetDevice* dev, bool want_ref) {
  auto owned = std::make_unique<NeighbourEntry>();
  NeighbourEntry* n = owned.get();
  tbl.gc_entries++;  // neigh_alloc counts the entry before the tracepoint reads it
  trace_neigh_create(tbl.net.tracer, tbl, dev, key, n, false);
  n->tbl = &tbl;
  n->dev = dev;
  n->primary_key = key;
  n->output = neigh_resolve_output;
  const uint64_t now = tbl.net.engine.now();
  n->updated = n->used = now;
  arp_constructor(n);
  tbl.entries.emplace(neigh_key(dev->ifindex, key), std::move(owned));
  if (want_ref) neigh_hold(n);
  return n;
}

NeighbourEntry* __neigh_lookup(NeighTable& tbl, wire::Ipv4Addr key, NetDevice* dev, bool creat) {
  NeighbourEntry* n = neigh_lookup(tbl, key, dev);
  if (n) {
    neigh_hold(n);
    return n;
  }
  if (!creat) return nullptr;
  return __neigh_create(tbl, key, dev, true);
}

void neigh_release(NeighbourEntry* n) {
  // The table's own reference keeps an entry alive until neigh_ifdown.
  if (n->refcnt > 1) --n->refcnt;
}

int neigh_update(NeighbourEntry* n, const wire::MacAddr* lladdr, uint8_t new_state, uint32_t flags, uint32_t pid) {
  Net& net = n->dev->net;
  trace_neigh_update(net.tracer, n, lladdr, new_state, flags, pid);
  const uint64_t now = net.engine.now();
  const uint8_t old = n->nud_state;
  if (!(flags & NEIGH_UPDATE_F_ADMIN) && (old & (NUD_NOARP | NUD_PERMANENT))) return -1;  // -EPERM

  if (!(new_state & NUD_VALID)) {
    neigh_del_timer(n);
    if (old & NUD_CONNECTED) neigh_suspect(n);
    n->nud_state = new_state;
    if ((old & (NUD_INCOMPLETE | NUD_PROBE)) && (new_state & NUD_FAILED)) neigh_invalidate(n);
    return 0;
  }

  wire::MacAddr addr = n->ha;
  bool changes_ha = false;
  if (lladdr) {
    changes_ha = !((old & NUD_VALID) && *lladdr == n->ha);
    if (changes_ha) addr = *lladdr;
  } else if (!(old & NUD_VALID)) {
    return -22;  // -EINVAL: nothing known and nothing supplied
  }
  if (new_state & NUD_CONNECTED) n->confirmed = now;

  if (old & NUD_VALID) {
    if (changes_ha && !(flags & NEIGH_UPDATE_F_OVERRIDE)) {
      if ((flags & NEIGH_UPDATE_F_WEAK_OVERRIDE) && (old & NUD_CONNECTED)) {
        changes_ha = false;
        new_state = NUD_STALE;
      } else {
        return 0;
      }
    } else if (!changes_ha && new_state == NUD_STALE && !(flags & NEIGH_UPDATE_F_ADMIN)) {
      new_state = old;
    }
  }
  if (new_state != old || changes_ha) n->updated = now;
  if (new_state != old) {
    neigh_del_timer(n);
    if (new_state & NUD_PROBE) n->probes = 0;
    if (new_state & NUD_IN_TIMER)
      neigh_add_timer(n, now + ((new_state & NUD_REACHABLE) ? net.arp_tbl.reachable_time_ns : 0));
    n->nud_state = new_state;
  }
  if (changes_ha) {
    n->ha = addr;
    if (!(new_state & NUD_CONNECTED)) {
      n->confirmed = now - uint64_t(net.sysctl.base_reachable_time_ms) * kMs * 2;  // may wrap: see time_after
    }
  }
  if (new_state == old) return 0;
  if (new_state & NUD_CONNECTED) neigh_connect(n); else neigh_suspect(n);
  if (!(old & NUD_VALID)) {
    // Resolution finished: send what waited for it.
    while ((n->nud_state & NUD_VALID)) {
      SkBuff* skb = n->arp_queue.pop_front();
      if (!skb) break;
      n->arp_queue_len_bytes -= skb->truesize;
      n->output(n, skb);
    }
    while (SkBuff* skb = n->arp_queue.pop_front()) kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "neigh_update");
    n->arp_queue_len_bytes = 0;
  }
  return 0;
}

NeighbourEntry* neigh_event_ns(NeighTable& tbl, const wire::MacAddr& lladdr, wire::Ipv4Addr saddr, NetDevice* dev) {
  NeighbourEntry* n = __neigh_lookup(tbl, saddr, dev, true);
  if (n) neigh_update(n, &lladdr, NUD_STALE, NEIGH_UPDATE_F_OVERRIDE, 0);
  return n;
}

int neigh_output(NeighbourEntry* n, SkBuff* skb) { return n->output(n, skb); }

int neigh_resolve_output(NeighbourEntry* n, SkBuff* skb) {
  checkpoint(n->dev->net.tracer, "neigh_resolve_output", skb);
  if (neigh_event_send(n, skb)) return 0;
  eth_header(skb, n->dev, skb->protocol, n->ha, nullptr);
  return dev_queue_xmit(skb);
}

int neigh_connected_output(NeighbourEntry* n, SkBuff* skb) {
  checkpoint(n->dev->net.tracer, "neigh_connected_output", skb);
  eth_header(skb, n->dev, skb->protocol, n->ha, nullptr);
  return dev_queue_xmit(skb);
}

void neigh_ifdown(NeighTable& tbl, NetDevice* dev) {
  for (auto it = tbl.entries.begin(); it != tbl.entries.end();) {
    NeighbourEntry* n = it->second.get();
    if (n->dev != dev) {
      ++it;
      continue;
    }
    if (n->timer) tbl.net.engine.del_timer(n->timer);
    while (SkBuff* skb = n->arp_queue.pop_front()) kfree_skb(skb, SkbDropReason::NEIGH_DEAD, "neigh_flush_dev");
    tbl.gc_entries--;
    it = tbl.entries.erase(it);
  }
}

}  // namespace nettwin
