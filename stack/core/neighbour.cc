#include "core/neighbour.h"

#include <algorithm>
#include <charconv>

#include "core/dev.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ethernet/eth.h"
#include "ipv4/ipv4.h"
#include "wire/headers.h"

namespace nettwin {

namespace {
constexpr uint64_t kMs = 1000000ull;
constexpr uint64_t kSec = 1000000000ull;
constexpr uint64_t kMinRetrans = 10 * kMs;  // HZ/100

uint64_t neigh_key(int ifindex, wire::Ipv4Addr ip) { return (uint64_t(uint32_t(ifindex)) << 32) | ip; }
NeighParms& parms(const NeighbourEntry* n) { return n->dev->neigh_parms; }  // neigh->parms
uint64_t retrans_time(const NeighParms& p) { return std::max(uint64_t(p.retrans_time_ms) * kMs, kMinRetrans); }
uint64_t delay_probe_time(const NeighParms& p) { return uint64_t(p.delay_first_probe_time) * kSec; }

int neigh_max_probes(const NeighbourEntry* n) {
  const NeighParms& p = parms(n);
  return int(p.ucast_solicit + p.app_solicit) +
         int((n->nud_state & NUD_PROBE) ? p.mcast_resolicit : p.mcast_solicit);
}

void neigh_timer_handler(NeighbourEntry* n);

inline bool time_in_range(uint64_t a, uint64_t b, uint64_t c) { return !time_after(b, a) && time_before_eq(a, c); }
inline bool time_in_range_open(uint64_t a, uint64_t b, uint64_t c) { return !time_after(b, a) && time_after(c, a); }

void gc_list_add_tail(NeighTable& tbl, NeighbourEntry* n) {
  n->gc_prev = tbl.gc_list_tail;
  n->gc_next = nullptr;
  (tbl.gc_list_tail ? tbl.gc_list_tail->gc_next : tbl.gc_list_head) = n;
  tbl.gc_list_tail = n;
  n->on_gc_list = true;
  tbl.gc_entries++;
}

void gc_list_del(NeighTable& tbl, NeighbourEntry* n) {
  if (!n->on_gc_list) return;
  (n->gc_prev ? n->gc_prev->gc_next : tbl.gc_list_head) = n->gc_next;
  (n->gc_next ? n->gc_next->gc_prev : tbl.gc_list_tail) = n->gc_prev;
  n->gc_prev = n->gc_next = nullptr;
  n->on_gc_list = false;
  tbl.gc_entries--;
}

// neigh_update_gc_list: permanent entries leave the collector's list, others join it.
void neigh_update_gc_list(NeighbourEntry* n) {
  if (n->dead) return;
  const bool exempt_from_gc = n->nud_state & NUD_PERMANENT;
  if (exempt_from_gc) gc_list_del(*n->tbl, n);
  else if (!n->on_gc_list) gc_list_add_tail(*n->tbl, n);
}

// neigh_mark_dead + neigh_cleanup_and_release + neigh_destroy: the entry
// leaves the table (its timer and queue are gone already, or were never there).
void neigh_cleanup_and_release(NeighTable& tbl, NeighbourEntry* n) {
  n->dead = 1;
  gc_list_del(tbl, n);
  trace_neigh_cleanup_and_release(tbl.net.tracer, n, 0);
  tbl.stats.destroys++;
  tbl.entries.erase(neigh_key(n->dev->ifindex, n->primary_key));  // n is gone after this
}

// neigh_forced_gc: from the oldest, entries nobody holds that failed, need
// no resolution, are multicast, or were not updated for 5 s, until the table
// is back at gc_thresh2. (Linux also stops after 1 ms of CPU; virtual time
// has no such limit.)
int neigh_forced_gc(NeighTable& tbl) {
  const int64_t max_clean = tbl.gc_entries - tbl.gc_thresh2;
  const uint64_t now = tbl.net.engine.now();
  const uint64_t tref = now - 5 * kSec;
  int shrunk = 0;
  tbl.stats.forced_gc_runs++;
  for (NeighbourEntry* n = tbl.gc_list_head; n;) {
    NeighbourEntry* next = n->gc_next;
    if (n->refcnt == 1) {
      const bool remove = n->nud_state == NUD_FAILED || n->nud_state == NUD_NOARP ||
                          wire::ipv4_is_multicast(n->primary_key) || !time_in_range(n->updated, tref, now);
      if (remove) {
        neigh_cleanup_and_release(tbl, n);
        shrunk++;
      }
      if (shrunk >= max_clean) break;
    }
    n = next;
  }
  tbl.last_flush = now;
  return shrunk;
}

uint64_t gc_work_period(const NeighTable& tbl) {
  return std::max<uint64_t>(uint64_t(tbl.parms.base_reachable_time_ms) * kMs / 2, 1);
}

void neigh_periodic_work(NeighTable& tbl);

// Arm tbl->gc_work once the table may need it, counting the idle runs missed.
void neigh_gc_work_arm(NeighTable& tbl) {
  if (tbl.gc_work || int64_t(tbl.entries.size()) < tbl.gc_thresh1) return;
  neigh_periodic_catch_up(tbl);
  Engine& e = tbl.net.engine;
  const uint64_t delay = tbl.gc_work_next > e.now() ? tbl.gc_work_next - e.now() : 0;
  tbl.gc_work = e.mod_timer(e.jiffies_after(delay), [&tbl] { neigh_periodic_work(tbl); });
}

// neigh_periodic_work: every base_reachable_time/2, once the table holds
// gc_thresh1 entries, the entries nobody holds that failed or went unused
// for gc_stale_time go (timer-driven and permanent ones stay).
void neigh_periodic_work(NeighTable& tbl) {
  const uint64_t now = tbl.net.engine.now();
  tbl.gc_work = 0;
  tbl.stats.periodic_gc_runs++;
  tbl.gc_work_next = now + gc_work_period(tbl);
  if (int64_t(tbl.entries.size()) < tbl.gc_thresh1) return;  // parked until neigh_gc_work_arm
  for (auto it = tbl.entries.begin(); it != tbl.entries.end();) {
    NeighbourEntry* n = it->second.get();
    ++it;  // n may be erased below
    const uint8_t state = n->nud_state;
    if (state & (NUD_PERMANENT | NUD_IN_TIMER)) continue;
    if (time_after(n->confirmed, n->used) && time_before_eq(n->confirmed, now)) n->used = n->confirmed;
    const uint64_t stale = uint64_t(parms(n).gc_stale_time) * kSec;
    if (n->refcnt == 1 && (state == NUD_FAILED || !time_in_range_open(now, n->used, n->used + stale)))
      neigh_cleanup_and_release(tbl, n);
  }
  neigh_gc_work_arm(tbl);
}

void neigh_add_timer(NeighbourEntry* n, uint64_t when) {
  neigh_hold(n);  // a pending timer holds a reference, as in Linux
  // mod_timer(&n->timer, when): the neighbour's timeouts are whole jiffies.
  Engine& e = n->dev->net.engine;
  n->timer = e.mod_timer(e.jiffies_after(when > e.now() ? when - e.now() : 0), [n] { neigh_timer_handler(n); });
}

void neigh_del_timer(NeighbourEntry* n) {
  if (n->timer && n->dev->net.engine.del_timer(n->timer)) {
    n->timer = 0;
    neigh_release(n);
  }
  n->timer = 0;
}

// arp_hh_ops: connected_output and output are both neigh_resolve_output; what
// "connected" changes is that neigh_output may use the hh cache.
void neigh_connect(NeighbourEntry* n) { n->output = neigh_resolve_output; }
void neigh_suspect(NeighbourEntry* n) { n->output = neigh_resolve_output; }

// eth_header_cache: the header neigh_hh_output will copy.
void neigh_hh_init(NeighbourEntry* n) {
  HhCache& hh = n->hh;
  std::copy(n->ha.begin(), n->ha.end(), hh.hh_data);
  std::copy(n->dev->dev_addr.begin(), n->dev->dev_addr.end(), hh.hh_data + 6);
  hh.hh_data[12] = uint8_t(wire::ETH_P_IP >> 8);  // arp_tbl.protocol
  hh.hh_data[13] = uint8_t(wire::ETH_P_IP);
  hh.hh_len = wire::ETH_HLEN;
}

// neigh_update_hhs → eth_header_cache_update: a new address for a built cache.
void neigh_update_hhs(NeighbourEntry* n) {
  if (n->hh.hh_len) std::copy(n->ha.begin(), n->ha.end(), n->hh.hh_data);
}

int neigh_hh_output(NeighbourEntry* n, SkBuff* skb) {
  checkpoint(n->dev->net.tracer, "neigh_hh_output", skb);
  const HhCache& hh = n->hh;
  std::copy(hh.hh_data, hh.hh_data + hh.hh_len, skb_push(skb, hh.hh_len));
  return dev_queue_xmit(skb);
}

// neigh_probe: solicit with a clone of the newest queued skb (kept alive
// even if the queue overflows meanwhile).
void neigh_probe(NeighbourEntry* n) {
  SkBuff* skb = n->arp_queue.tail ? skb_clone(n->arp_queue.tail) : nullptr;
  arp_solicit(n, skb);
  ++n->probes;
  if (skb) consume_skb(skb, "neigh_probe");
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
    trace_neigh_timer_handler(net.tracer, n, 0);
    neigh_release(n);
    return;
  }
  NeighParms& p = parms(n);
  if (state & NUD_REACHABLE) {
    if (time_before_eq(now, n->confirmed + neigh_reachable_time(net.arp_tbl, p))) {
      next = n->confirmed + neigh_reachable_time(net.arp_tbl, p);
    } else if (time_before_eq(now, n->used + delay_probe_time(p))) {
      n->nud_state = NUD_DELAY;
      n->updated = now;
      neigh_suspect(n);
      next = now + delay_probe_time(p);
    } else {
      n->nud_state = NUD_STALE;
      n->updated = now;
      neigh_suspect(n);
    }
  } else if (state & NUD_DELAY) {
    if (time_before_eq(now, n->confirmed + delay_probe_time(p))) {
      n->nud_state = NUD_REACHABLE;
      n->updated = now;
      neigh_connect(n);
      next = n->confirmed + neigh_reachable_time(net.arp_tbl, p);
    } else {
      n->nud_state = NUD_PROBE;
      n->updated = now;
      n->probes = 0;
      next = now + retrans_time(p);
    }
  } else {
    next = now + retrans_time(p);  // NUD_PROBE | NUD_INCOMPLETE
  }

  if ((n->nud_state & (NUD_INCOMPLETE | NUD_PROBE)) && n->probes >= neigh_max_probes(n)) {
    n->nud_state = NUD_FAILED;
    net.arp_tbl.stats.res_failed++;
    neigh_invalidate(n);
    trace_neigh_timer_handler(net.tracer, n, 0);
    neigh_release(n);
    return;
  }
  if (n->nud_state & NUD_IN_TIMER) {
    if (next < now + kMinRetrans) next = now + kMinRetrans;
    neigh_add_timer(n, next);
  }
  if (n->nud_state & (NUD_INCOMPLETE | NUD_PROBE)) neigh_probe(n);
  trace_neigh_timer_handler(net.tracer, n, 0);
  neigh_release(n);  // the reference of the timer that just ran
}

// __neigh_event_send: start or continue resolution; 1 when skb was queued or dropped.
int __neigh_event_send(NeighbourEntry* n, SkBuff* skb) {
  Net& net = n->dev->net;
  const uint64_t now = net.engine.now();
  bool immediate_probe = false;
  int rc = 0;
  if (n->nud_state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE)) {
    trace_neigh_event_send_done(net.tracer, n, 0);
    return 0;
  }
  if (!(n->nud_state & (NUD_STALE | NUD_INCOMPLETE))) {
    if (parms(n).mcast_solicit + parms(n).app_solicit) {
      n->probes = int(parms(n).ucast_solicit);
      neigh_del_timer(n);
      n->nud_state = NUD_INCOMPLETE;
      n->updated = now;
      immediate_probe = true;
      neigh_add_timer(n, now + retrans_time(parms(n)));
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
    neigh_add_timer(n, now + delay_probe_time(parms(n)));
  }
  if (n->nud_state == NUD_INCOMPLETE) {
    if (skb) {
      while (n->arp_queue_len_bytes + skb->truesize > uint64_t(parms(n).unres_qlen_bytes)) {
        SkBuff* old = n->arp_queue.pop_front();
        if (!old) break;
        n->arp_queue_len_bytes -= old->truesize;
        kfree_skb(old, SkbDropReason::NEIGH_QUEUEFULL, "__neigh_event_send");
        net.arp_tbl.stats.unresolved_discards++;
      }
      n->arp_queue.push_back(skb);
      n->arp_queue_len_bytes += skb->truesize;
    }
    rc = 1;
  }
  if (immediate_probe) neigh_probe(n);
  trace_neigh_event_send_done(net.tracer, n, rc);
  return rc;
}

int neigh_event_send(NeighbourEntry* n, SkBuff* skb) {
  n->used = n->dev->net.engine.now();
  if (!(n->nud_state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE))) return __neigh_event_send(n, skb);
  return 0;
}
}  // namespace

// neigh_rand_reach_time: uniformly in [base/2, 3*base/2), from the table's
// seeded generator.
uint64_t neigh_rand_reach_time(NeighTable& tbl, int64_t base_ms) {
  const uint64_t base = uint64_t(base_ms) * kMs;
  return base ? tbl.rng.next() % base + (base >> 1) : 0;
}

void neigh_parms_rerandomize(NeighTable& tbl, NeighParms& p) {
  p.reachable_time_ns = neigh_rand_reach_time(tbl, p.base_reachable_time_ms);
  p.last_rand = tbl.net.engine.now();
}

uint64_t neigh_reachable_time(NeighTable& tbl, NeighParms& p) {
  // neigh_periodic_work draws a new reachable_time every 300 s; here the
  // draw happens when the value is next needed after that.
  if (time_after(tbl.net.engine.now(), p.last_rand + 300 * kSec)) neigh_parms_rerandomize(tbl, p);
  return p.reachable_time_ns;
}

const std::vector<NeighParmField>& neigh_parm_fields() {
  static const std::vector<NeighParmField> f = {
      {"base_reachable_time_ms", &NeighParms::base_reachable_time_ms, 1, INT32_MAX},
      {"retrans_time_ms", &NeighParms::retrans_time_ms, 1, INT32_MAX},
      {"delay_first_probe_time", &NeighParms::delay_first_probe_time, 0, INT32_MAX},
      {"gc_stale_time", &NeighParms::gc_stale_time, 0, INT32_MAX},
      {"ucast_solicit", &NeighParms::ucast_solicit, 0, INT32_MAX},
      {"mcast_solicit", &NeighParms::mcast_solicit, 0, INT32_MAX},
      {"app_solicit", &NeighParms::app_solicit, 0, INT32_MAX},
      {"mcast_resolicit", &NeighParms::mcast_resolicit, 0, INT32_MAX},
      {"unres_qlen_bytes", &NeighParms::unres_qlen_bytes, 0, INT32_MAX},
      {"locktime", &NeighParms::locktime, 0, INT32_MAX},
  };
  return f;
}

void neigh_parms_init(Net& net, NeighParms& p) {
  for (const auto& f : neigh_parm_fields()) p.*f.field = net.arp_tbl.parms.*f.field;
  p.data_state = 0;
  neigh_parms_rerandomize(net.arp_tbl, p);
}

void neigh_copy_dflt_parms(Net& net) {
  const auto& fields = neigh_parm_fields();
  for (auto& dev : net.devices) {
    NeighParms& p = dev->neigh_parms;
    const int64_t base = p.base_reachable_time_ms;
    for (size_t i = 0; i < fields.size(); ++i)
      if (!(p.data_state & (1u << i))) p.*fields[i].field = net.arp_tbl.parms.*fields[i].field;
    if (p.base_reachable_time_ms != base) neigh_parms_rerandomize(net.arp_tbl, p);
  }
}

Status neigh_parms_set(NeighTable& tbl, NeighParms& p, const std::string& name, const std::string& value) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size())
    return Error{"'" + value + "' is not an integer"};
  const auto& fields = neigh_parm_fields();
  std::string field = name;
  if (name == "unres_qlen") {  // proc_unres_qlen: kept as bytes
    if (v < 0 || v > INT32_MAX / kUnresQlenUnit)
      return Error{value + " is outside [0, " + std::to_string(INT32_MAX / kUnresQlenUnit) + "]"};
    v *= kUnresQlenUnit;
    field = "unres_qlen_bytes";
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (field != fields[i].name) continue;
    if (v < fields[i].min || v > fields[i].max)
      return Error{value + " is outside [" + std::to_string(fields[i].min) + ", " + std::to_string(fields[i].max) + "]"};
    p.*fields[i].field = v;
    p.data_state |= 1u << i;
    if (field == "base_reachable_time_ms") neigh_parms_rerandomize(tbl, p);
    return std::nullopt;
  }
  return Error{"no neighbour parameter '" + name + "'"};
}

std::optional<std::string> neigh_parms_get(const NeighParms& p, const std::string& name) {
  if (name == "unres_qlen") return std::to_string(p.unres_qlen_bytes / kUnresQlenUnit);
  for (const auto& f : neigh_parm_fields())
    if (name == f.name) return std::to_string(p.*f.field);
  return std::nullopt;
}

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

namespace {
// neigh_alloc's admission: at gc_thresh3 entries (or gc_thresh2 with no
// flush for 5 s) the collector runs first; at gc_thresh3 with nothing
// reclaimed the table is full ("neighbor table overflow!").
bool neigh_alloc_admit(NeighTable& tbl) {
  const int64_t entries = tbl.gc_entries++;  // atomic_inc_return - 1
  const uint64_t now = tbl.net.engine.now();
  if (entries >= tbl.gc_thresh3 || (entries >= tbl.gc_thresh2 && time_after(now, tbl.last_flush + 5 * kSec))) {
    if (!neigh_forced_gc(tbl) && entries >= tbl.gc_thresh3) {
      tbl.stats.table_fulls++;
      tbl.gc_entries--;
      return false;
    }
  }
  return true;
}
}  // namespace

NeighbourEntry* ___neigh_create(NeighTable& tbl, wire::Ipv4Addr key, NetDevice* dev, bool exempt_from_gc,
                                bool want_ref) {
  if (!exempt_from_gc && !neigh_alloc_admit(tbl)) {
    trace_neigh_create(tbl.net.tracer, tbl, dev, key, nullptr, exempt_from_gc);
    return nullptr;  // -ENOBUFS
  }
  auto owned = std::make_unique<NeighbourEntry>();
  NeighbourEntry* n = owned.get();
  tbl.stats.allocs++;
  trace_neigh_create(tbl.net.tracer, tbl, dev, key, n, exempt_from_gc);
  n->tbl = &tbl;
  n->dev = dev;
  n->primary_key = key;
  n->output = neigh_resolve_output;
  const uint64_t now = tbl.net.engine.now();
  n->updated = n->used = now;
  arp_constructor(n);
  tbl.entries.emplace(neigh_key(dev->ifindex, key), std::move(owned));
  if (!exempt_from_gc) {
    tbl.gc_entries--;  // counted by neigh_alloc_admit; gc_list_add_tail counts it again
    gc_list_add_tail(tbl, n);
  }
  if (want_ref) neigh_hold(n);
  neigh_gc_work_arm(tbl);
  return n;
}

NeighbourEntry* __neigh_create(NeighTable& tbl, wire::Ipv4Addr key, NetDevice* dev, bool want_ref) {
  return ___neigh_create(tbl, key, dev, false, want_ref);
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

static int __neigh_update(NeighbourEntry* n, const wire::MacAddr* lladdr, uint8_t new_state, uint32_t flags) {
  Net& net = n->dev->net;
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
      neigh_add_timer(n, now + ((new_state & NUD_REACHABLE) ? neigh_reachable_time(net.arp_tbl, parms(n)) : 0));
    n->nud_state = new_state;
  }
  if (changes_ha) {
    n->ha = addr;
    neigh_update_hhs(n);
    if (!(new_state & NUD_CONNECTED)) {
      n->confirmed = now - uint64_t(parms(n).base_reachable_time_ms) * kMs * 2;  // may wrap: see time_after
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

int neigh_update(NeighbourEntry* n, const wire::MacAddr* lladdr, uint8_t new_state, uint32_t flags, uint32_t pid) {
  Tracer& tracer = n->dev->net.tracer;
  trace_neigh_update(tracer, n, lladdr, new_state, flags, pid);
  const uint8_t old = n->nud_state;
  const int err = __neigh_update(n, lladdr, new_state, flags);
  if ((old ^ n->nud_state) & NUD_PERMANENT) neigh_update_gc_list(n);
  trace_neigh_update_done(tracer, n, err);
  return err;
}

NeighbourEntry* neigh_event_ns(NeighTable& tbl, const wire::MacAddr& lladdr, wire::Ipv4Addr saddr, NetDevice* dev) {
  NeighbourEntry* n = __neigh_lookup(tbl, saddr, dev, true);
  if (n) neigh_update(n, &lladdr, NUD_STALE, NEIGH_UPDATE_F_OVERRIDE, 0);
  return n;
}

void neigh_confirm(NeighbourEntry* n) { n->confirmed = n->dev->net.engine.now(); }

int neigh_output(NeighbourEntry* n, SkBuff* skb) {
  // The cache holds an IPv4 header type: only IPv4 skbs may take it.
  if ((n->nud_state & NUD_CONNECTED) && n->hh.hh_len && skb->protocol == wire::ETH_P_IP &&
      skb_headroom(skb) >= n->hh.hh_len)
    return neigh_hh_output(n, skb);
  return n->output(n, skb);
}

int neigh_resolve_output(NeighbourEntry* n, SkBuff* skb) {
  checkpoint(n->dev->net.tracer, "neigh_resolve_output", skb);
  if (neigh_event_send(n, skb)) return 0;
  if (!n->hh.hh_len) neigh_hh_init(n);  // dev->header_ops->cache
  eth_header(skb, n->dev, skb->protocol, n->ha, nullptr);
  return dev_queue_xmit(skb);
}

void neigh_ifdown(NeighTable& tbl, NetDevice* dev) {
  for (auto it = tbl.entries.begin(); it != tbl.entries.end();) {
    NeighbourEntry* n = it->second.get();
    ++it;  // n is erased below
    if (n->dev != dev) continue;
    if (n->timer) tbl.net.engine.del_timer(n->timer);
    n->timer = 0;
    while (SkBuff* skb = n->arp_queue.pop_front()) kfree_skb(skb, SkbDropReason::NEIGH_DEAD, "neigh_flush_dev");
    neigh_cleanup_and_release(tbl, n);
  }
}

void neigh_table_init(NeighTable& tbl) {
  tbl.last_flush = tbl.net.engine.now();
  tbl.gc_work_next = tbl.net.engine.now() + tbl.parms.reachable_time_ns;  // the first run: one reachable time
}

void neigh_periodic_catch_up(NeighTable& tbl) {
  const uint64_t now = tbl.net.engine.now();
  if (tbl.gc_work || !time_after(now, tbl.gc_work_next)) return;
  const uint64_t period = gc_work_period(tbl);
  const uint64_t missed = (now - tbl.gc_work_next - 1) / period + 1;  // runs due strictly before now
  tbl.stats.periodic_gc_runs += missed;
  tbl.gc_work_next += missed * period;
}

namespace {
struct TableKnob {
  const char* name;
  int64_t NeighTable::*field;
};
constexpr TableKnob kTableKnobs[] = {{"gc_thresh1", &NeighTable::gc_thresh1},
                                     {"gc_thresh2", &NeighTable::gc_thresh2},
                                     {"gc_thresh3", &NeighTable::gc_thresh3},
                                     {"gc_interval", &NeighTable::gc_interval}};
}  // namespace

std::optional<Status> neigh_table_sysctl_set(NeighTable& tbl, const std::string& field, const std::string& value) {
  for (const auto& k : kTableKnobs) {
    if (field != k.name) continue;
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (value.empty() || ec != std::errc() || ptr != value.data() + value.size())
      return Status{Error{"'" + value + "' is not an integer"}};
    if (v < INT32_MIN || v > INT32_MAX) return Status{Error{value + " is outside the range of an int"}};
    tbl.*k.field = v;
    neigh_gc_work_arm(tbl);  // a lower gc_thresh1 may put the collector to work
    return Status{std::nullopt};
  }
  return std::nullopt;
}

std::optional<std::string> neigh_table_sysctl_get(const NeighTable& tbl, const std::string& field) {
  for (const auto& k : kTableKnobs)
    if (field == k.name) return std::to_string(tbl.*k.field);
  return std::nullopt;
}

}  // namespace nettwin
