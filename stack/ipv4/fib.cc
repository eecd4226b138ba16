#include "ipv4/fib.h"

#include "core/net.h"
#include "core/trace_events.h"

namespace nettwin {

static wire::Ipv4Addr prefix_mask(uint8_t len) { return len == 0 ? 0 : ~wire::Ipv4Addr(0) << (32 - len); }

static int fib_props_error(RtnType type) {
  switch (type) {
    case RTN_UNREACHABLE: return -113;  // -EHOSTUNREACH
    case RTN_PROHIBIT: return -13;      // -EACCES
    case RTN_BLACKHOLE: return -22;     // -EINVAL
    default: return 0;
  }
}

int fib_table_lookup(Net& net, uint32_t tb_id, const Flowi4& flp, FibResult* res) {
  FibRoute* best = nullptr;
  for (const auto& r : net.fib.routes) {
    if ((flp.daddr & prefix_mask(r->dst_len)) != r->dst) continue;
    if (r->scope < flp.scope) continue;
    if (r->dev && !r->dev->is_up()) continue;  // a dead nexthop (fib_sync_down_dev)
    if (flp.oif && r->dev && r->dev->ifindex != flp.oif) continue;
    if (!best || r->dst_len > best->dst_len) best = r.get();
  }
  if (!best) {
    trace_fib_table_lookup(net.tracer, tb_id, flp, nullptr, -11);  // -EAGAIN
    return -11;
  }
  int err = fib_props_error(best->type);
  trace_fib_table_lookup(net.tracer, tb_id, flp, err ? nullptr : best, err);
  res->route = best;
  res->type = best->type;
  res->prefixlen = best->dst_len;
  return err;
}

int fib_lookup(Net& net, const Flowi4& flp, FibResult* res) {
  int err = fib_table_lookup(net, RT_TABLE_MAIN, flp, res);
  return err == -11 ? -101 : err;  // -EAGAIN becomes -ENETUNREACH
}

static void fib_magic(Net& net, RtnType type, wire::Ipv4Addr dst, uint8_t len, uint8_t scope, uint32_t tb_id,
                      NetDevice* dev, wire::Ipv4Addr prefsrc) {
  auto r = std::make_unique<FibRoute>();
  r->dst = dst & prefix_mask(len);
  r->dst_len = len;
  r->type = type;
  r->scope = scope;
  r->tb_id = tb_id;
  r->dev = dev;
  r->prefsrc = prefsrc;
  net.fib.routes.push_back(std::move(r));
}

void fib_add_ifaddr(Net& net, NetDevice* dev, wire::Ipv4Addr local, uint8_t prefixlen, wire::Ipv4Addr broadcast) {
  fib_magic(net, RTN_LOCAL, local, 32, RT_SCOPE_HOST, RT_TABLE_LOCAL, dev, local);
  if (prefixlen < 32)
    fib_magic(net, RTN_UNICAST, local, prefixlen, RT_SCOPE_LINK, RT_TABLE_MAIN, dev, local);
  if (broadcast && broadcast != 0xffffffffu)
    fib_magic(net, RTN_BROADCAST, broadcast, 32, RT_SCOPE_LINK, RT_TABLE_LOCAL, dev, local);
}

void fib_flush_dev(Net& net, NetDevice* dev) {
  auto& v = net.fib.routes;
  for (size_t i = 0; i < v.size();) {
    if (v[i]->dev == dev) v.erase(v.begin() + long(i)); else ++i;
  }
}

RtnType inet_addr_type_dev_table(Net& net, const NetDevice* dev, wire::Ipv4Addr addr) {
  if (wire::ipv4_is_zeronet(addr) || wire::ipv4_is_lbcast(addr)) return RTN_BROADCAST;
  if (wire::ipv4_is_multicast(addr)) return RTN_MULTICAST;
  Flowi4 fl4;
  fl4.daddr = addr;
  FibResult res;
  if (fib_table_lookup(net, RT_TABLE_LOCAL, fl4, &res) == 0 && (!dev || dev == res.route->dev)) return res.type;
  return RTN_UNICAST;
}

bool inet_lookup_ifaddr(Net& net, wire::Ipv4Addr addr) {
  for (const auto& d : net.devices)
    for (const auto& ifa : d->ifa_list)
      if (ifa.ifa_local == addr) return true;
  return false;
}

}  // namespace nettwin
