// The IPv4 FIB (net/ipv4/fib_trie.c, fib_frontend.c, fib_rules.c): routing
// tables with longest-prefix match, the routes an address brings (local,
// prefix, broadcast), policy rules, and fib_lookup.
//
// Tables: while no custom rule exists, the local table (255) shares the main
// table's routes (fib_new_table's alias) and fib_lookup looks in main only;
// the first custom rule unmerges them (fib_unmerge) and fib_lookup walks the
// rules in order (0 local, 32766 main, 32767 default).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dst.h"
#include "ipv4/fib_trie.h"
#include "wire/bytes.h"

namespace nettwin {

class Net;
struct NetDevice;

enum RtnType : uint8_t {
  RTN_UNSPEC = 0,
  RTN_UNICAST = 1,
  RTN_LOCAL = 2,
  RTN_BROADCAST = 3,
  RTN_ANYCAST = 4,
  RTN_MULTICAST = 5,
  RTN_BLACKHOLE = 6,
  RTN_UNREACHABLE = 7,
  RTN_PROHIBIT = 8,
};
enum : uint8_t { RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RT_SCOPE_HOST = 254, RT_SCOPE_NOWHERE = 255 };
enum : uint32_t { RT_TABLE_UNSPEC = 0, RT_TABLE_DEFAULT = 253, RT_TABLE_MAIN = 254, RT_TABLE_LOCAL = 255 };
enum : uint8_t { RTPROT_KERNEL = 2, RTPROT_BOOT = 3, RTPROT_STATIC = 4 };
enum : uint8_t { FLOWI_FLAG_ANYSRC = 0x01 };
inline constexpr int LOOPBACK_IFINDEX = 1;

// struct flowi4: the lookup key, as fib_table_lookup's tracepoint reads it.
struct Flowi4 {
  int oif = 0;
  int iif = 0;
  uint32_t mark = 0;
  uint8_t tos = 0;  // the DS field (inet_dscp_to_dsfield(flowi4_dscp))
  uint8_t scope = RT_SCOPE_UNIVERSE;
  uint8_t proto = 0;
  uint8_t flags = 0;
  wire::Ipv4Addr saddr = 0;
  wire::Ipv4Addr daddr = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
};

// One fib_alias with its fib_info and single nexthop, plus the dsts Linux
// caches on the nexthop (nhc_rth_input, nhc_pcpu_rth_output).
// fib_nh_exception: what one destination behind a route has taught us (a path
// MTU from ICMP fragmentation needed), with its own cached output route.
struct FibNhException {
  wire::Ipv4Addr fnhe_daddr = 0;
  uint32_t fnhe_pmtu = 0;
  bool fnhe_mtu_locked = false;
  uint64_t fnhe_expires = 0;  // jiffies
  DstEntry fnhe_rth_output;
  bool fnhe_rth_output_valid = false;
};

struct FibRoute {
  wire::Ipv4Addr dst = 0;
  uint8_t dst_len = 0;
  RtnType type = RTN_UNICAST;
  uint8_t scope = RT_SCOPE_UNIVERSE;  // fib_scope
  uint8_t nh_scope = RT_SCOPE_HOST;   // fib_nh_scope: HOST on-link, LINK via a gateway, NOWHERE local
  uint8_t tos = 0;                    // fa_tos: 0 matches any
  uint8_t protocol = RTPROT_BOOT;
  uint32_t tb_id = RT_TABLE_MAIN;
  uint32_t priority = 0;  // the metric: lower wins among equal prefixes
  NetDevice* dev = nullptr;
  wire::Ipv4Addr gw = 0;
  wire::Ipv4Addr prefsrc = 0;
  DstMetrics fib_metrics{};  // fib_info's: copied into every dst of the route
  DstEntry rth_input;
  DstEntry rth_output;
  bool rth_input_valid = false;
  bool rth_output_valid = false;
  std::vector<std::unique_ptr<FibNhException>> exceptions;  // fnhe_hash
};

struct FibResult {
  FibRoute* route = nullptr;
  RtnType type = RTN_UNSPEC;
  uint8_t prefixlen = 0;
  uint32_t tb_id = 0;
};

// struct fib4_rule: selectors and the table it looks up.
struct FibRule {
  uint32_t pref = 0;
  wire::Ipv4Addr src = 0;
  uint8_t src_len = 0;
  wire::Ipv4Addr dst = 0;
  uint8_t dst_len = 0;
  uint8_t tos = 0;     // 0: any
  std::string iifname;  // empty: any
  uint32_t table = RT_TABLE_MAIN;
};

struct Fib {
  std::vector<std::unique_ptr<FibRoute>> routes;  // every table's, tb_id on each
  // The routes' trie (every table's: while merged, main and local are one),
  // each leaf's aliases in the order a lookup prefers them (highest tos, then
  // lowest metric, then the older). Rebuilt after routes change (lookup_stale).
  FibTrie trie;
  bool lookup_stale = true;
  std::vector<FibRule> rules;                     // by pref
  bool has_custom_rules = false;                  // net->ipv4.fib_has_custom_rules
  Fib();
};

// fib_table_lookup on table tb_id: longest prefix, then lowest metric. While
// the tables are merged, main and local both see every route. Traces
// fib:fib_table_lookup; returns 0, the route type's error, or -EAGAIN.
int fib_table_lookup(Net& net, uint32_t tb_id, const Flowi4& flp, FibResult* res, bool ignore_linkstate = false);
// fib_lookup: main only while merged, else the rules; 0 or -ENETUNREACH (or
// the error of an unreachable / prohibit / blackhole route).
int fib_lookup(Net& net, const Flowi4& flp, FibResult* res, bool ignore_linkstate = false);
// fib_add_ifaddr: the local, prefix and broadcast routes of an address.
void fib_add_ifaddr(Net& net, NetDevice* dev, wire::Ipv4Addr local, uint8_t prefixlen, wire::Ipv4Addr broadcast);
void fib_flush_dev(Net& net, NetDevice* dev);
// The nlmsg_flags `ip route` sends: add is CREATE|EXCL, change REPLACE,
// replace CREATE|REPLACE.
enum : uint16_t { NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400 };
// A route added by the user (ip route add): validated; the message says what is wrong.
struct RouteSpec {
  wire::Ipv4Addr dst = 0;
  uint8_t dst_len = 0;
  RtnType type = RTN_UNICAST;
  NetDevice* dev = nullptr;  // may be null with a gateway: found from the gateway
  wire::Ipv4Addr gw = 0;
  wire::Ipv4Addr prefsrc = 0;
  uint32_t tb_id = RT_TABLE_MAIN;
  uint32_t priority = 0;
  uint8_t tos = 0;
  int scope = -1;  // -1: Linux's default for the type
  DstMetrics metrics{};  // as ip_metrics_convert leaves them
  uint16_t nlflags = NLM_F_CREATE | NLM_F_EXCL;
};
std::string fib_table_insert(Net& net, const RouteSpec& spec);  // "" on success
std::string fib_table_delete(Net& net, const RouteSpec& spec);
std::string fib_rule_add(Net& net, const FibRule& rule);
// inet_addr_type_dev_table: RTN_LOCAL for one of our addresses (on any
// interface), else what the local table says (traced, as in Linux); dev only
// chooses the table.
RtnType inet_addr_type_dev_table(Net& net, const NetDevice* dev, wire::Ipv4Addr addr);
// inet_lookup_ifaddr_rcu: is addr assigned to some device?
bool inet_lookup_ifaddr(Net& net, wire::Ipv4Addr addr);
// inet_addr_onlink: is addr inside one of dev's prefixes (a == 0: dev has any)?
bool inet_addr_onlink(const NetDevice* dev, wire::Ipv4Addr a, wire::Ipv4Addr b);

}  // namespace nettwin
