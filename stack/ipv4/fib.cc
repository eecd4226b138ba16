#include "ipv4/fib.h"

#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"

namespace nettwin {

static wire::Ipv4Addr prefix_mask(uint8_t len) { return len == 0 ? 0 : ~wire::Ipv4Addr(0) << (32 - len); }

// fib_props[type].error
static int fib_props_error(RtnType type) {
  switch (type) {
    case RTN_UNREACHABLE: return -113;  // -EHOSTUNREACH
    case RTN_PROHIBIT: return -13;      // -EACCES
    case RTN_BLACKHOLE: return -22;     // -EINVAL
    default: return 0;
  }
}

// fib_props[type].scope: the narrowest scope a route of this type may have.
static uint8_t fib_props_scope(RtnType type) {
  switch (type) {
    case RTN_LOCAL: return RT_SCOPE_HOST;
    case RTN_BROADCAST: case RTN_MULTICAST: return RT_SCOPE_LINK;
    default: return RT_SCOPE_UNIVERSE;
  }
}

// fib4_rules_init: the three default rules.
Fib::Fib() {
  rules = {{0, 0, 0, 0, 0, 0, "", RT_TABLE_LOCAL},
           {32766, 0, 0, 0, 0, 0, "", RT_TABLE_MAIN},
           {32767, 0, 0, 0, 0, 0, "", RT_TABLE_DEFAULT}};
}

// Which routes a lookup in tb_id sees: while merged, local and main are one.
static bool table_sees(const Fib& fib, uint32_t tb_id, const FibRoute& r) {
  if (r.tb_id == tb_id) return true;
  const bool merged_pair = (tb_id == RT_TABLE_MAIN || tb_id == RT_TABLE_LOCAL) &&
                           (r.tb_id == RT_TABLE_MAIN || r.tb_id == RT_TABLE_LOCAL);
  return merged_pair && !fib.has_custom_rules;
}

static bool table_exists(const Fib& fib, uint32_t tb_id) {
  if (tb_id == RT_TABLE_MAIN || tb_id == RT_TABLE_LOCAL) return true;
  return std::any_of(fib.routes.begin(), fib.routes.end(), [&](const auto& r) { return r->tb_id == tb_id; });
}

// The trie again, from the routes in the order a lookup prefers them.
static void fib_rebuild_trie(Fib& fib) {
  std::vector<FibRoute*> order;
  for (const auto& r : fib.routes) order.push_back(r.get());
  std::stable_sort(order.begin(), order.end(), [](const FibRoute* a, const FibRoute* b) {
    if (a->dst_len != b->dst_len) return a->dst_len > b->dst_len;
    if (a->tos != b->tos) return a->tos > b->tos;
    return a->priority < b->priority;
  });
  fib.trie.build(order);
  fib.lookup_stale = false;
}

int fib_table_lookup(Net& net, uint32_t tb_id, const Flowi4& flp, FibResult* res, bool ignore_linkstate) {
  // The longest prefix holding daddr whose alias passes the lookup's tests;
  // the trie backtracks to shorter prefixes while none does.
  if (net.fib.lookup_stale) fib_rebuild_trie(net.fib);
  const bool merged = (tb_id == RT_TABLE_MAIN || tb_id == RT_TABLE_LOCAL) && !net.fib.has_custom_rules;
  FibRoute* best = net.fib.trie.lookup(flp.daddr, [&](const FibRoute* r) {
    if (r->tb_id != tb_id && !(merged && (r->tb_id == RT_TABLE_MAIN || r->tb_id == RT_TABLE_LOCAL))) return false;
    if (r->tos && r->tos != (flp.tos & 0xfc)) return false;  // fa_dscp against the flow's DSCP
    if (r->scope < flp.scope) return false;
    if (!fib_props_error(r->type)) {
      // A dead nexthop (fib_sync_down_dev) or one on another oif is skipped.
      if (r->dev && !r->dev->is_up() && !ignore_linkstate) return false;
      if (flp.oif && r->dev && r->dev->ifindex != flp.oif) return false;
    }
    return true;
  });
  if (!best) {
    trace_fib_table_lookup(net.tracer, tb_id, flp, nullptr, -11);  // -EAGAIN
    return -11;
  }
  int err = fib_props_error(best->type);
  trace_fib_table_lookup(net.tracer, tb_id, flp, err ? nullptr : best, err);
  res->route = best;
  res->type = best->type;
  res->prefixlen = best->dst_len;
  res->tb_id = tb_id;
  return err;
}

static bool rule_matches(Net& net, const FibRule& rule, const Flowi4& flp) {
  if (((flp.saddr ^ rule.src) & prefix_mask(rule.src_len)) || ((flp.daddr ^ rule.dst) & prefix_mask(rule.dst_len)))
    return false;
  if (rule.tos && rule.tos != (flp.tos & 0xfc)) return false;
  if (!rule.iifname.empty()) {
    const NetDevice* dev = net.dev_get_by_index(flp.iif);
    if (!dev || dev->name != rule.iifname) return false;
  }
  return true;
}

int fib_lookup(Net& net, const Flowi4& flp, FibResult* res, bool ignore_linkstate) {
  if (!net.fib.has_custom_rules) {
    int err = fib_table_lookup(net, RT_TABLE_MAIN, flp, res, ignore_linkstate);
    return err == -11 ? -101 : err;  // -EAGAIN becomes -ENETUNREACH
  }
  // __fib_lookup → fib_rules_lookup: a table that does not exist, or has no
  // match (-EAGAIN), sends the walk on to the next rule.
  for (const FibRule& rule : net.fib.rules) {
    if (!rule_matches(net, rule, flp) || !table_exists(net.fib, rule.table)) continue;
    int err = fib_table_lookup(net, rule.table, flp, res, ignore_linkstate);
    if (err != -11) return err;
  }
  return -101;
}

static FibRoute* fib_magic(Net& net, RtnType type, wire::Ipv4Addr dst, uint8_t len, uint8_t scope, uint32_t tb_id,
                           NetDevice* dev, wire::Ipv4Addr prefsrc) {
  auto r = std::make_unique<FibRoute>();
  r->dst = dst & prefix_mask(len);
  r->dst_len = len;
  r->type = type;
  r->scope = scope;
  r->nh_scope = type == RTN_LOCAL ? RT_SCOPE_NOWHERE : RT_SCOPE_HOST;
  r->protocol = RTPROT_KERNEL;
  r->tb_id = tb_id;
  r->dev = dev;
  r->prefsrc = prefsrc;
  net.fib.routes.push_back(std::move(r));
  net.fib.lookup_stale = true;
  return net.fib.routes.back().get();
}

void fib_add_ifaddr(Net& net, NetDevice* dev, wire::Ipv4Addr local, uint8_t prefixlen, wire::Ipv4Addr broadcast) {
  const wire::Ipv4Addr mask = prefix_mask(prefixlen);
  const wire::Ipv4Addr prefix = local & mask;
  fib_magic(net, RTN_LOCAL, local, 32, RT_SCOPE_HOST, RT_TABLE_LOCAL, dev, local);
  if (broadcast && broadcast != 0xffffffffu)
    fib_magic(net, RTN_BROADCAST, broadcast, 32, RT_SCOPE_LINK, RT_TABLE_LOCAL, dev, local);
  if (!wire::ipv4_is_zeronet(prefix) && (prefix != local || prefixlen < 32)) {
    fib_magic(net, (dev->flags & IFF_LOOPBACK) ? RTN_LOCAL : RTN_UNICAST, prefix, prefixlen,
              (dev->flags & IFF_LOOPBACK) ? RT_SCOPE_HOST : RT_SCOPE_LINK, RT_TABLE_MAIN, dev, local);
    // The network broadcast address, when it makes sense.
    if (prefixlen < 31 && (prefix | ~mask) != broadcast)
      fib_magic(net, RTN_BROADCAST, prefix | ~mask, 32, RT_SCOPE_LINK, RT_TABLE_LOCAL, dev, local);
  }
}

void fib_flush_dev(Net& net, NetDevice* dev) {
  auto& v = net.fib.routes;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& r) { return r->dev == dev; }), v.end());
  net.fib.lookup_stale = true;
}

// The device a gateway is reached through: a link-scope lookup (fib_check_nh_v4_gw).
static NetDevice* gateway_dev(Net& net, wire::Ipv4Addr gw, NetDevice* want, std::string* why) {
  Flowi4 fl4;
  fl4.daddr = gw;
  fl4.scope = RT_SCOPE_LINK;
  fl4.oif = want ? want->ifindex : 0;
  for (const auto& r : net.fib.routes) {
    if (!table_sees(net.fib, RT_TABLE_MAIN, *r) || r->type != RTN_UNICAST || r->gw) continue;
    if ((gw & prefix_mask(r->dst_len)) != r->dst || (want && r->dev != want)) continue;
    return r->dev;
  }
  *why = "gateway " + wire::format_ipv4(gw) + " is not on a directly connected network" +
         (want ? " of " + want->name : std::string());
  return nullptr;
}

// NLM_F_REPLACE: the alias takes the new fib_info (nexthop, type, scope,
// metrics). Linux flushes the route cache, so sockets look their route up
// again; here the cached dsts are the same objects, so they are marked for a
// new lookup and take the new metrics at once.
static void fib_replace_alias(FibRoute& old, const FibRoute& with) {
  old.type = with.type;
  old.scope = with.scope;
  old.nh_scope = with.nh_scope;
  old.protocol = with.protocol;
  old.dev = with.dev;
  old.gw = with.gw;
  old.prefsrc = with.prefsrc;
  old.fib_metrics = with.fib_metrics;
  old.rth_input_valid = old.rth_output_valid = false;
  old.rth_input.metrics = old.rth_output.metrics = with.fib_metrics;
  for (auto& fnhe : old.exceptions) {
    fnhe->fnhe_rth_output_valid = false;
    fnhe->fnhe_rth_output.metrics = with.fib_metrics;
  }
}

std::string fib_table_insert(Net& net, const RouteSpec& spec) {
  if (spec.dst_len > 32) return "prefix length " + std::to_string(spec.dst_len) + " is not in [0, 32]";
  if (spec.dst & ~prefix_mask(spec.dst_len))
    return "destination " + wire::format_ipv4(spec.dst) + "/" + std::to_string(spec.dst_len) +
           " has host bits set (the prefix is " + wire::format_ipv4(spec.dst & prefix_mask(spec.dst_len)) + ")";
  // Every other u32 is a table, up to RT_TABLE_MAX (fib_new_table creates it).
  if (spec.tb_id == RT_TABLE_UNSPEC) return "table 0 is not a routing table";
  auto r = std::make_unique<FibRoute>();
  r->fib_metrics = spec.metrics;
  r->dst = spec.dst;
  r->dst_len = spec.dst_len;
  r->type = spec.type;
  r->tos = spec.tos;
  r->tb_id = spec.tb_id;
  r->priority = spec.priority;
  r->gw = spec.gw;
  r->prefsrc = spec.prefsrc;
  r->protocol = RTPROT_BOOT;
  const bool has_nh = !fib_props_error(spec.type);
  if (has_nh) {
    if (spec.gw) {
      if (wire::ipv4_is_multicast(spec.gw) || wire::ipv4_is_lbcast(spec.gw) || wire::ipv4_is_zeronet(spec.gw) ||
          inet_lookup_ifaddr(net, spec.gw))
        return "gateway " + wire::format_ipv4(spec.gw) + " is not a unicast address of another host";
      std::string why;
      r->dev = gateway_dev(net, spec.gw, spec.dev, &why);
      if (!r->dev) return why;
      r->nh_scope = RT_SCOPE_LINK;
    } else {
      if (!spec.dev) return "a route of this type needs a device or a gateway";
      r->dev = spec.dev;
      r->nh_scope = RT_SCOPE_HOST;
    }
  }
  // Linux's default scope: host for local, link without a gateway, else universe.
  if (spec.scope >= 0) {
    r->scope = uint8_t(spec.scope);
  } else if (spec.type == RTN_LOCAL) {
    r->scope = RT_SCOPE_HOST;
  } else if (has_nh && !spec.gw && spec.type == RTN_UNICAST) {
    r->scope = RT_SCOPE_LINK;
  } else {
    r->scope = RT_SCOPE_UNIVERSE;
  }
  if (r->scope < fib_props_scope(spec.type) && spec.type != RTN_UNICAST)
    return "scope " + std::to_string(r->scope) + " is too wide for this route type";
  if (r->gw && r->scope >= RT_SCOPE_LINK) return "a route via a gateway must have a scope wider than link";
  const std::string name = "route " + wire::format_ipv4(r->dst) + "/" + std::to_string(r->dst_len) + " metric " +
                           std::to_string(r->priority);
  for (const auto& o : net.fib.routes) {
    if (o->tb_id != r->tb_id || o->dst != r->dst || o->dst_len != r->dst_len || o->tos != r->tos ||
        o->priority != r->priority)
      continue;
    if (!(spec.nlflags & NLM_F_REPLACE) || (spec.nlflags & NLM_F_EXCL))
      return name + " already exists in table " + std::to_string(r->tb_id);
    fib_replace_alias(*o, *r);
    net.fib.lookup_stale = true;
    return "";
  }
  if (!(spec.nlflags & NLM_F_CREATE)) return "no " + name + " in table " + std::to_string(r->tb_id) + " to change";
  net.fib.routes.push_back(std::move(r));
  net.fib.lookup_stale = true;
  return "";
}

std::string fib_table_delete(Net& net, const RouteSpec& spec) {
  auto& v = net.fib.routes;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const FibRoute& r = **it;
    if (r.tb_id != spec.tb_id || r.dst != spec.dst || r.dst_len != spec.dst_len) continue;
    if ((spec.gw && r.gw != spec.gw) || (spec.dev && r.dev != spec.dev) || (spec.tos && r.tos != spec.tos) ||
        (spec.priority && r.priority != spec.priority))
      continue;
    v.erase(it);
    net.fib.lookup_stale = true;
    return "";
  }
  return "no route " + wire::format_ipv4(spec.dst) + "/" + std::to_string(spec.dst_len) + " in table " +
         std::to_string(spec.tb_id) + " matches";
}

std::string fib_rule_add(Net& net, const FibRule& rule) {
  if (rule.src_len > 32 || rule.dst_len > 32) return "rule prefix length is not in [0, 32]";
  if (rule.table == RT_TABLE_UNSPEC) return "a rule needs a table";
  for (const auto& r : net.fib.rules)
    if (r.pref == rule.pref && rule.pref == 0) return "preference 0 is the local rule's";
  FibRule add = rule;
  add.src &= prefix_mask(rule.src_len);
  add.dst &= prefix_mask(rule.dst_len);
  // After the last rule with the same preference (fib_nl_newrule).
  auto pos = std::upper_bound(net.fib.rules.begin(), net.fib.rules.end(), add.pref,
                              [](uint32_t p, const FibRule& r) { return p < r.pref; });
  net.fib.rules.insert(pos, add);
  net.fib.has_custom_rules = true;  // fib_unmerge: local and main go their own ways
  return "";
}

RtnType inet_addr_type_dev_table(Net& net, const NetDevice* dev, wire::Ipv4Addr addr) {
  if (wire::ipv4_is_zeronet(addr) || wire::ipv4_is_lbcast(addr)) return RTN_BROADCAST;
  if (wire::ipv4_is_multicast(addr)) return RTN_MULTICAST;
  Flowi4 fl4;
  fl4.daddr = addr;
  FibResult res;
  // dev picks the table only (l3mdev_fib_table: none here, so the local table);
  // __inet_dev_addr_type is called with no device, so an address of any
  // interface is local (recorded: udp_bind_specific_other_address).
  (void)dev;
  if (fib_table_lookup(net, RT_TABLE_LOCAL, fl4, &res) == 0) return res.type;
  return RTN_UNICAST;
}

bool inet_lookup_ifaddr(Net& net, wire::Ipv4Addr addr) {
  for (const auto& d : net.devices)
    for (const auto& ifa : d->ifa_list)
      if (ifa.ifa_local == addr) return true;
  return false;
}

bool inet_addr_onlink(const NetDevice* dev, wire::Ipv4Addr a, wire::Ipv4Addr b) {
  for (const auto& ifa : dev->ifa_list) {
    if (((a ^ ifa.ifa_local) & ifa.ifa_mask) == 0 && (!b || ((b ^ ifa.ifa_local) & ifa.ifa_mask) == 0)) return true;
  }
  return false;
}

}  // namespace nettwin
