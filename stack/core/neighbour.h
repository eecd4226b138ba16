// struct neighbour and struct neigh_table (net/core/neighbour.c): NUD states,
// neigh_update, the resolve/connected output paths and the state timer.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "core/engine.h"
#include "core/skb_queue.h"
#include "wire/bytes.h"

namespace nettwin {

class Net;
struct NetDevice;

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
  SkbQueue arp_queue;
  uint32_t arp_queue_len_bytes = 0;
  Engine::TimerId timer = 0;  // 0: none pending
  int (*output)(NeighbourEntry* n, SkBuff* skb) = nullptr;
};

struct NeighTable {
  explicit NeighTable(Net& net_) : net(net_) {}
  Net& net;
  uint32_t family = 2;  // AF_INET: this is arp_tbl
  int gc_entries = 0;
  std::unordered_map<uint64_t, std::unique_ptr<NeighbourEntry>> entries;  // key: ifindex << 32 | ip
  uint64_t reachable_time_ns = 0;  // drawn from base_reachable_time like neigh_rand_reach_time
};

NeighbourEntry* neigh_lookup(NeighTable& tbl, wire::Ipv4Addr key, const NetDevice* dev);
// __neigh_create (traces neigh:neigh_create); want_ref adds the caller's reference.
NeighbourEntry* __neigh_create(NeighTable& tbl, wire::Ipv4Addr key, NetDevice* dev, bool want_ref);
// __neigh_lookup: lookup, and create when creat is set.
NeighbourEntry* __neigh_lookup(NeighTable& tbl, wire::Ipv4Addr key, NetDevice* dev, bool creat);
inline void neigh_hold(NeighbourEntry* n) { ++n->refcnt; }
void neigh_release(NeighbourEntry* n);
// neigh_update (traces neigh:neigh_update): lladdr may be null.
int neigh_update(NeighbourEntry* n, const wire::MacAddr* lladdr, uint8_t new_state, uint32_t flags, uint32_t nlmsg_pid);
// neigh_event_ns: what arp_process does for a request aimed at us.
NeighbourEntry* neigh_event_ns(NeighTable& tbl, const wire::MacAddr& lladdr, wire::Ipv4Addr saddr, NetDevice* dev);
// neigh_output → n->output: neigh_resolve_output or neigh_connected_output.
int neigh_output(NeighbourEntry* n, SkBuff* skb);
int neigh_resolve_output(NeighbourEntry* n, SkBuff* skb);
int neigh_connected_output(NeighbourEntry* n, SkBuff* skb);
// Forget every entry of a device (link down / device gone).
void neigh_ifdown(NeighTable& tbl, NetDevice* dev);

}  // namespace nettwin
