// The IPv4 FIB (net/ipv4/fib_trie.c, fib_frontend.c): routes added with an
// address, longest-prefix lookup, and fib_lookup, which without custom rules
// looks in the main table only, the local table being merged into it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/dst.h"
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
enum : uint32_t { RT_TABLE_MAIN = 254, RT_TABLE_LOCAL = 255 };
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
struct FibRoute {
  wire::Ipv4Addr dst = 0;
  uint8_t dst_len = 0;
  RtnType type = RTN_UNICAST;
  uint8_t scope = RT_SCOPE_UNIVERSE;
  uint32_t tb_id = RT_TABLE_MAIN;
  NetDevice* dev = nullptr;
  wire::Ipv4Addr gw = 0;
  wire::Ipv4Addr prefsrc = 0;
  DstEntry rth_input;
  DstEntry rth_output;
  bool rth_input_valid = false;
  bool rth_output_valid = false;
};

struct FibResult {
  FibRoute* route = nullptr;
  RtnType type = RTN_UNSPEC;
  uint8_t prefixlen = 0;
};

struct FibTable {
  uint32_t tb_id = RT_TABLE_MAIN;
  std::vector<std::unique_ptr<FibRoute>> routes;
};

// fib_table_lookup on table tb_id: the local and main tables share one set of
// routes (merged, as Linux has them without custom rules), so the id only
// names the table in the trace. Traces fib:fib_table_lookup; 0 or -EAGAIN.
int fib_table_lookup(Net& net, uint32_t tb_id, const Flowi4& flp, FibResult* res);
// fib_lookup: 0, or -ENETUNREACH (also for unreachable/prohibit routes' errors).
int fib_lookup(Net& net, const Flowi4& flp, FibResult* res);
// fib_add_ifaddr / fib_del_ifaddr: the local, prefix and broadcast routes of an address.
void fib_add_ifaddr(Net& net, NetDevice* dev, wire::Ipv4Addr local, uint8_t prefixlen, wire::Ipv4Addr broadcast);
void fib_flush_dev(Net& net, NetDevice* dev);
// inet_addr_type: RTN_LOCAL for one of our addresses, else what the FIB says (no trace).
RtnType inet_addr_type_dev_table(Net& net, const NetDevice* dev, wire::Ipv4Addr addr);
// inet_lookup_ifaddr_rcu: is addr assigned to some device?
bool inet_lookup_ifaddr(Net& net, wire::Ipv4Addr addr);

}  // namespace nettwin
