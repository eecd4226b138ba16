// struct neighbour and struct neigh_table (net/core/neighbour.c): NUD states,
// neigh_update, the resolve/connected output paths and the state timer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/engine.h"
#include "core/rng.h"
#include "core/skb_queue.h"
#include "stack.h"
#include "wire/bytes.h"

namespace nettwin {

class Net;
struct NetDevice;

// struct neigh_parms: the NUD knobs of one device (net.ipv4.neigh.<dev>.*),
// Linux 6.18 defaults. A device starts with the table's defaults
// (net.ipv4.neigh.default.*) and follows them for every field not set on it.
struct NeighParms {
  int64_t base_reachable_time_ms = 30000;
  int64_t retrans_time_ms = 1000;
  int64_t delay_first_probe_time = 5;  // seconds
  int64_t gc_stale_time = 60;          // seconds
  int64_t ucast_solicit = 3;
  int64_t mcast_solicit = 3;
  int64_t app_solicit = 0;
  int64_t mcast_resolicit = 0;
  int64_t unres_qlen_bytes = 212992;
  int64_t locktime = 100;              // USER_HZ (1/100 s), as /proc shows it
  uint64_t reachable_time_ns = 0;      // neigh_rand_reach_time(base_reachable_time)
  uint64_t last_rand = 0;              // when it was drawn
  uint32_t data_state = 0;             // a bit per field set on this device
};

// A knob of struct neigh_parms under its /proc name, with the range Linux accepts.
struct NeighParmField {
  const char* name;  // "retrans_time_ms"
  int64_t NeighParms::*field;
  int64_t min, max;
};
const std::vector<NeighParmField>& neigh_parm_fields();
// SKB_TRUESIZE(ETH_FRAME_LEN): unres_qlen counts unres_qlen_bytes in these.
inline constexpr int64_t kUnresQlenUnit = 1514 + 256 + 320;

enum : uint8_t {
  NUD_NONE = 0x00,
  NUD_INCOMPLETE = 0x01,
  NUD_REACHABLE = 0x02,
  NUD_STALE = 0x04,
  NUD_DELAY = 0x08,
  NUD_PROBE = 0x10,
  NUD_FAILED = 0x20,
  NUD_NOARP = 0x40,
  NUD_PERMANENT = 0x80,
  NUD_IN_TIMER = NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE,
  NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY,
  NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE,
};

enum : uint32_t {
  NEIGH_UPDATE_F_OVERRIDE = 0x00000001,
  NEIGH_UPDATE_F_WEAK_OVERRIDE = 0x00000002,
  NEIGH_UPDATE_F_OVERRIDE_ISROUTER = 0x00000004,
  NEIGH_UPDATE_F_ADMIN = 0x80000000,
};

// Times are virtual ns compared like jiffies (time_after): "confirmed" may
// be set into the past, before time 0, and must compare as such.
inline bool time_after(uint64_t a, uint64_t b) { return int64_t(b - a) < 0; }
inline bool time_before_eq(uint64_t a, uint64_t b) { return int64_t(a - b) <= 0; }

const char* neigh_state_name(uint8_t nud_state);  // "stale"; "none" for NUD_NONE
bool neigh_state_parse(const std::string& name, uint8_t* out);

struct NeighTable;

// struct hh_cache: the Ethernet header for this neighbour, built once
// (neigh_hh_init) and copied in front of every packet while the entry is
// connected (neigh_hh_output).
struct HhCache {
  uint16_t hh_len = 0;  // 0: not built yet
  uint8_t hh_data[14] = {};
};

// struct neighbour. (Plain "Neighbour" is stack.h's row type for the API.)
struct NeighbourEntry {
  NeighTable* tbl = nullptr;
  NetDevice* dev = nullptr;
  wire::Ipv4Addr primary_key = 0;
  wire::MacAddr ha{};
  uint8_t nud_state = NUD_NONE;
  uint8_t type = 1;  // RTN_UNICAST
  uint8_t flags = 0;
  uint8_t dead = 0;
  int refcnt = 1;  // the table's own reference
  uint64_t confirmed = 0, updated = 0, used = 0;  // virtual ns
  int probes = 0;
  HhCache hh;
  SkbQueue arp_queue;
  uint32_t arp_queue_len_bytes = 0;
  Engine::TimerId timer = 0;  // 0: none pending
  int (*output)(NeighbourEntry* n, SkBuff* skb) = nullptr;
  // tbl->gc_list, in creation order: every entry but the permanent ones.
  NeighbourEntry* gc_prev = nullptr;
  NeighbourEntry* gc_next = nullptr;
  bool on_gc_list = false;
};

// struct neigh_statistics (/proc/net/stat/arp_cache), the columns kept here.
struct NeighStatistics {
  uint64_t allocs = 0;            // entries made (neigh_alloc)
  uint64_t destroys = 0;          // entries freed (neigh_destroy)
  uint64_t res_failed = 0;        // resolutions that ended FAILED
  uint64_t periodic_gc_runs = 0;  // neigh_periodic_work runs
  uint64_t forced_gc_runs = 0;    // neigh_forced_gc runs
  uint64_t unresolved_discards = 0;  // queued skbs dropped for a newer one
  uint64_t table_fulls = 0;       // allocations refused at gc_thresh3
};

struct NeighTable {
  explicit NeighTable(Net& net_) : net(net_) {}
  Net& net;
  uint32_t family = 2;  // AF_INET: this is arp_tbl
  int gc_entries = 0;   // entries on gc_list
  // net.ipv4.neigh.default.gc_*: the table's own knobs. gc_interval is kept
  // for its name only: neigh_periodic_work runs every base_reachable_time/2.
  int64_t gc_thresh1 = 128, gc_thresh2 = 512, gc_thresh3 = 1024;
  int64_t gc_interval = 30;  // seconds
  uint64_t last_flush = 0;   // virtual ns of the last complete neigh_forced_gc
  NeighbourEntry* gc_list_head = nullptr;
  NeighbourEntry* gc_list_tail = nullptr;
  NeighStatistics stats;
  // tbl->gc_work. Linux runs it forever; here the timer is armed only while
  // the table holds gc_thresh1 entries or more (below that a run does nothing
  // but count), and the runs it skipped are counted when it is next armed.
  Engine::TimerId gc_work = 0;
  uint64_t gc_work_next = 0;  // when the next run is due, armed or not
  std::unordered_map<uint64_t, std::unique_ptr<NeighbourEntry>> entries;  // key: ifindex << 32 | ip
  NeighParms parms;                // tbl->parms: net.ipv4.neigh.default.*
  Rng rng{0};                      // reachable-time draws (seeded from the stack's generator)
};

// A parms' reachable_time: base_reachable_time_ms with Linux's random factor,
// drawn again (from the table's seeded generator) every 300 s or when the base
// changes (neigh_parms_rerandomize).
uint64_t neigh_reachable_time(NeighTable& tbl, NeighParms& p);
void neigh_parms_rerandomize(NeighTable& tbl, NeighParms& p);
// neigh_parms_alloc: a new device's parms, a copy of the defaults.
void neigh_parms_init(Net& net, NeighParms& p);
// neigh_copy_dflt_parms: a default changed; devices that did not set the field follow.
void neigh_copy_dflt_parms(Net& net);
// net.ipv4.neigh.<dev>.<field> (unres_qlen included) for one device.
Status neigh_parms_set(NeighTable& tbl, NeighParms& p, const std::string& field, const std::string& value);
std::optional<std::string> neigh_parms_get(const NeighParms& p, const std::string& field);

NeighbourEntry* neigh_lookup(NeighTable& tbl, wire::Ipv4Addr key, const NetDevice* dev);
// __neigh_create (traces neigh:neigh_create); want_ref adds the caller's reference.
// Null when the table is full (neigh_alloc: -ENOBUFS, counted in table_fulls).
NeighbourEntry* __neigh_create(NeighTable& tbl, wire::Ipv4Addr key, NetDevice* dev, bool want_ref);
// ___neigh_create: exempt_from_gc for what neigh_add makes permanent.
NeighbourEntry* ___neigh_create(NeighTable& tbl, wire::Ipv4Addr key, NetDevice* dev, bool exempt_from_gc,
                                bool want_ref);
// __neigh_lookup: lookup, and create when creat is set.
NeighbourEntry* __neigh_lookup(NeighTable& tbl, wire::Ipv4Addr key, NetDevice* dev, bool creat);
inline void neigh_hold(NeighbourEntry* n) { ++n->refcnt; }
void neigh_release(NeighbourEntry* n);
// neigh_update (traces neigh:neigh_update): lladdr may be null.
int neigh_update(NeighbourEntry* n, const wire::MacAddr* lladdr, uint8_t new_state, uint32_t flags, uint32_t nlmsg_pid);
// neigh_event_ns: what arp_process does for a request aimed at us.
NeighbourEntry* neigh_event_ns(NeighTable& tbl, const wire::MacAddr& lladdr, wire::Ipv4Addr saddr, NetDevice* dev);
// neigh_output: the cached header (neigh_hh_output) while the entry is
// connected and the cache is built, else n->output. Every device here has
// eth_header_ops, whose .cache makes ARP use arp_hh_ops: n->output is
// neigh_resolve_output in every state.
int neigh_output(NeighbourEntry* n, SkBuff* skb);
// neigh_confirm: traffic that proves the neighbour reachable (a socket's
// sock_confirm_neigh) restarts its reachable time, as an ARP reply would.
void neigh_confirm(NeighbourEntry* n);
int neigh_resolve_output(NeighbourEntry* n, SkBuff* skb);
// Forget every entry of a device (link down / device gone).
void neigh_ifdown(NeighTable& tbl, NetDevice* dev);
// neigh_table_init's part that starts the periodic collector's clock.
void neigh_table_init(NeighTable& tbl);
// Count the periodic runs that came due while the collector was not armed.
void neigh_periodic_catch_up(NeighTable& tbl);
// net.ipv4.neigh.default.gc_thresh1/2/3 and gc_interval; nullopt/"no such"
// error for other fields, which are neigh_parms'.
std::optional<Status> neigh_table_sysctl_set(NeighTable& tbl, const std::string& field, const std::string& value);
std::optional<std::string> neigh_table_sysctl_get(const NeighTable& tbl, const std::string& field);

}  // namespace nettwin
