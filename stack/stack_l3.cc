// Stack's routing and netfilter entry points: routes and rules as `ip route` /
// `ip rule` take them, and hook callbacks at the netfilter hook points.
#include <algorithm>
#include <charconv>

#include "core/net.h"
#include "ipv4/fib.h"
#include "ipv4/tcp_cong.h"
#include "netfilter/netfilter.h"
#include "stack.h"
#include "wire/bytes.h"

namespace nettwin {

namespace {

const char* const kTypes[] = {"unspec", "unicast", "local", "broadcast", "anycast",
                              "multicast", "blackhole", "unreachable", "prohibit"};

bool parse_prefix(const std::string& text, wire::Ipv4Addr* addr, uint8_t* len, std::string* why) {
  if (text == "default") {
    *addr = 0;
    *len = 0;
    return true;
  }
  const auto slash = text.find('/');
  const std::string a = text.substr(0, slash);
  if (!wire::parse_ipv4(a, addr)) {
    *why = "'" + a + "' is not an IPv4 address";
    return false;
  }
  if (slash == std::string::npos) {
    *len = 32;
    return true;
  }
  const std::string l = text.substr(slash + 1);
  unsigned v = 0;
  auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), v);
  if (l.empty() || ec != std::errc() || p != l.data() + l.size() || v > 32) {
    *why = "prefix length '" + l + "' is not in [0, 32]";
    return false;
  }
  *len = uint8_t(v);
  return true;
}

std::string format_prefix(wire::Ipv4Addr a, uint8_t len) {
  if (len == 0 && a == 0) return "default";
  return wire::format_ipv4(a) + "/" + std::to_string(len);
}

// ip_metrics_convert: the metrics a route keeps, clamped as Linux clamps them.
Status to_metrics(const Route& r, DstMetrics* m) {
  auto set = [m](int metric, uint32_t value) { (*m)[metric - 1] = value; };
  auto lock = [m](int metric) { (*m)[RTAX_LOCK - 1] |= 1u << metric; };
  if (r.mtu && r.mtu < 68) return Error{"route mtu " + std::to_string(r.mtu) + " is below IPv4's minimum of 68"};
  if (r.mtu_lock && !r.mtu) return Error{"route mtu lock needs an mtu"};
  set(RTAX_MTU, std::min<uint32_t>(r.mtu, 65535 - 15));
  if (r.mtu_lock) lock(RTAX_MTU);
  set(RTAX_WINDOW, r.window);
  set(RTAX_ADVMSS, std::min<uint32_t>(r.advmss, 65535 - 40));
  set(RTAX_INITCWND, r.initcwnd);
  set(RTAX_INITRWND, r.initrwnd);
  if (r.rto_min_ms) {
    set(RTAX_RTO_MIN, *r.rto_min_ms);
    lock(RTAX_RTO_MIN);
  }
  set(RTAX_QUICKACK, r.quickack);
  if (r.ecn) set(RTAX_FEATURES, RTAX_FEATURE_ECN);
  if (r.congctl_lock && r.congctl.empty()) return Error{"route congctl lock needs an algorithm"};
  if (!r.congctl.empty()) {
    const uint32_t key = tcp_ca_get_key_by_name(r.congctl);
    if (key == TCP_CA_UNSPEC) return Error{"unknown tcp congestion algorithm '" + r.congctl + "'"};
    set(RTAX_CC_ALGO, key);
    if (r.congctl_lock) lock(RTAX_CC_ALGO);
  }
  return std::nullopt;
}

Status to_spec(Net& net, const Route& r, RouteSpec* spec) {
  std::string why;
  if (r.dst.empty()) return Error{"route has no destination (a prefix or \"default\")"};
  if (!parse_prefix(r.dst, &spec->dst, &spec->dst_len, &why)) return Error{"route destination: " + why};
  int type = -1;
  for (int i = 1; i < int(std::size(kTypes)); ++i)
    if (r.type == kTypes[i]) type = i;
  if (type < 0 || type == RTN_ANYCAST || type == RTN_MULTICAST)
    return Error{"route type '" + r.type +
                 "' is not one of unicast, local, broadcast, unreachable, prohibit, blackhole"};
  spec->type = RtnType(type);
  if (!r.dev.empty()) {
    spec->dev = net.dev_get_by_name(r.dev);
    if (!spec->dev) return Error{"unknown device '" + r.dev + "'"};
  }
  if (!r.gateway.empty() && !wire::parse_ipv4(r.gateway, &spec->gw))
    return Error{"gateway '" + r.gateway + "' is not an IPv4 address"};
  if (!r.prefsrc.empty() && !wire::parse_ipv4(r.prefsrc, &spec->prefsrc))
    return Error{"preferred source '" + r.prefsrc + "' is not an IPv4 address"};
  if (spec->prefsrc && !inet_lookup_ifaddr(net, spec->prefsrc))
    return Error{"preferred source " + r.prefsrc + " is not an address of this stack"};
  if (r.scope.empty()) {
    spec->scope = -1;
  } else if (r.scope == "universe" || r.scope == "global") {
    spec->scope = RT_SCOPE_UNIVERSE;
  } else if (r.scope == "link") {
    spec->scope = RT_SCOPE_LINK;
  } else if (r.scope == "host") {
    spec->scope = RT_SCOPE_HOST;
  } else {
    return Error{"route scope '" + r.scope + "' is not one of universe, link, host"};
  }
  if (r.table == 0) return Error{"table 0 is not a routing table"};
  spec->tb_id = r.table;
  spec->priority = r.metric;
  spec->tos = r.tos;
  return to_metrics(r, &spec->metrics);
}

}  // namespace

Status Stack::add_route(const Route& route) {
  RouteSpec spec;
  if (auto err = to_spec(*net_, route, &spec)) return err;
  if (std::string why = fib_table_insert(*net_, spec); !why.empty()) return Error{why};
  return std::nullopt;
}

Status Stack::replace_route(const Route& route, bool create) {
  RouteSpec spec;
  if (auto err = to_spec(*net_, route, &spec)) return err;
  spec.nlflags = NLM_F_REPLACE | (create ? NLM_F_CREATE : 0);
  if (std::string why = fib_table_insert(*net_, spec); !why.empty()) return Error{why};
  return std::nullopt;
}

Status Stack::del_route(const Route& route) {
  RouteSpec spec;
  if (auto err = to_spec(*net_, route, &spec)) return err;
  if (std::string why = fib_table_delete(*net_, spec); !why.empty()) return Error{why};
  return std::nullopt;
}

std::vector<Route> Stack::routes(uint32_t table) const {
  std::vector<Route> out;
  for (const auto& r : net_->fib.routes) {
    if (table && r->tb_id != table) continue;
    Route row;
    row.dst = format_prefix(r->dst, r->dst_len);
    if (r->type == RTN_LOCAL || r->type == RTN_BROADCAST) row.dst = wire::format_ipv4(r->dst);
    row.gateway = r->gw ? wire::format_ipv4(r->gw) : "";
    row.dev = r->dev ? r->dev->name : "";
    row.type = kTypes[r->type];
    row.table = r->tb_id;
    row.metric = r->priority;
    row.tos = r->tos;
    row.scope = r->scope == RT_SCOPE_HOST ? "host" : r->scope == RT_SCOPE_LINK ? "link" : "universe";
    row.prefsrc = r->prefsrc ? wire::format_ipv4(r->prefsrc) : "";
    row.protocol = r->protocol == RTPROT_KERNEL ? "kernel" : "boot";
    const DstMetrics& m = r->fib_metrics;
    const uint32_t locks = m[RTAX_LOCK - 1];
    row.mtu = m[RTAX_MTU - 1];
    row.mtu_lock = locks & (1u << RTAX_MTU);
    row.window = m[RTAX_WINDOW - 1];
    row.advmss = m[RTAX_ADVMSS - 1];
    row.initcwnd = m[RTAX_INITCWND - 1];
    row.initrwnd = m[RTAX_INITRWND - 1];
    if (locks & (1u << RTAX_RTO_MIN)) row.rto_min_ms = m[RTAX_RTO_MIN - 1];
    row.quickack = m[RTAX_QUICKACK - 1];
    row.ecn = m[RTAX_FEATURES - 1] & RTAX_FEATURE_ECN;
    if (const TcpCongestionOps* ca = tcp_ca_find_key(m[RTAX_CC_ALGO - 1])) row.congctl = ca->name;
    row.congctl_lock = locks & (1u << RTAX_CC_ALGO);
    out.push_back(row);
  }
  return out;
}

Status Stack::add_rule(const Rule& rule) {
  FibRule r;
  std::string why;
  r.pref = rule.pref;
  if (!rule.from.empty() && !parse_prefix(rule.from, &r.src, &r.src_len, &why)) return Error{"rule from: " + why};
  if (!rule.to.empty() && !parse_prefix(rule.to, &r.dst, &r.dst_len, &why)) return Error{"rule to: " + why};
  if (!rule.iif.empty() && !net_->dev_get_by_name(rule.iif)) return Error{"unknown device '" + rule.iif + "'"};
  r.iifname = rule.iif;
  r.tos = rule.tos;
  r.table = rule.table;
  if (why = fib_rule_add(*net_, r); !why.empty()) return Error{why};
  return std::nullopt;
}

std::vector<Rule> Stack::rules() const {
  std::vector<Rule> out;
  for (const FibRule& r : net_->fib.rules) {
    Rule row;
    row.pref = r.pref;
    if (r.src_len) row.from = format_prefix(r.src, r.src_len);
    if (r.dst_len) row.to = format_prefix(r.dst, r.dst_len);
    row.tos = r.tos;
    row.iif = r.iifname;
    row.table = r.table;
    out.push_back(row);
  }
  return out;
}

std::variant<int, Error> Stack::register_hook(const std::string& hook, int priority, HookCallback callback) {
  int hooknum = -1;
  for (int h = 0; h < NF_INET_NUMHOOKS; ++h)
    if (hook == nf_inet_hook_name(NfInetHook(h))) hooknum = h;
  if (hooknum < 0)
    return Error{"unknown hook point '" + hook + "' (PRE_ROUTING, LOCAL_IN, FORWARD, LOCAL_OUT, POST_ROUTING)"};
  if (!callback) return Error{"hook callback is empty"};
  Net* net = net_.get();
  auto fn = [net, callback = std::move(callback)](SkBuff* skb, const NfHookState& st) -> NfHookResult {
    HookPacket p;
    p.hook = nf_inet_hook_name(st.hook);
    p.skb = skb->id;
    p.time_ns = net->engine.now();
    p.in = st.in ? st.in->name : "";
    p.out = st.out ? st.out->name : "";
    const uint8_t* nh = skb_network_header(skb);
    p.data.assign(nh, static_cast<const uint8_t*>(skb->data) + skb->len);
    HookVerdict v = callback(p);
    NfHookResult r;
    if (v.data) nf_replace_network_bytes(skb, v.data->data(), v.data->size());
    if (v.verdict == "drop") {
      r.verdict = NF_DROP;
      for (unsigned i = 1; i < unsigned(SkbDropReason::MAX); ++i)
        if (v.drop_reason == drop_reason_name(SkbDropReason(i))) r.reason = SkbDropReason(i);
    } else if (v.verdict == "stolen") {
      // Taken out of the stack's hands: the packet ends here, with no event.
      __kfree_skb(skb);
      r.verdict = NF_STOLEN;
    } else if (v.verdict == "queue") {
      r.verdict = NF_QUEUE;
    } else if (v.verdict == "repeat") {
      r.verdict = NF_REPEAT;
    } else {
      r.verdict = NF_ACCEPT;
    }
    return r;
  };
  return nf_register_net_hook(*net_, NfInetHook(hooknum), priority, std::move(fn));
}

Status Stack::unregister_hook(int id) {
  if (!nf_unregister_net_hook(*net_, id)) return Error{"no hook with id " + std::to_string(id)};
  return std::nullopt;
}

}  // namespace nettwin
