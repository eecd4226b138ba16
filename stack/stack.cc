// The facade: stack.h's API over class Net. Every argument is checked here,
// so that the layers below only ever see valid devices, addresses and frames.
#include "stack.h"

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "core/dev.h"
#include "ipv4/devinet.h"
#include "core/net.h"
#include "core/packet_tap.h"
#include "packet/af_packet.h"
#include "drivers/ring_nic.h"
#include "drivers/veth.h"
#include "ipv4/fib.h"
#include "sched/sch_generic.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr uint64_t kIdleHorizonNs = 3600ull * 1000000000ull;  // run_until_idle leaves timers past 1 h

std::string check_name(const std::string& name) {
  if (name.empty()) return "device name is empty";
  if (name.size() > 15) return "device name '" + name + "' is longer than 15 characters (IFNAMSIZ)";
  for (char c : name)
    if (c == '/' || c == ':' || c <= ' ' || c > '~') return "device name '" + name + "' has a character Linux refuses";
  return {};
}

void refresh_weights(Net& net) {
  net.softnet.backlog.weight = net.sysctl.dev_rx_weight();
  for (auto& d : net.devices)
    if (auto* nic = dynamic_cast<RingNic*>(d.get())) nic->napi().weight = net.sysctl.dev_rx_weight();
}

}  // namespace

Stack::Stack(uint64_t seed) : net_(std::make_unique<Net>(seed)), taps_(std::make_unique<PacketTaps>(*net_)) {}
Stack::~Stack() = default;

Status Stack::create_device(const DeviceConfig& in) {
  Net& net = *net_;
  DeviceConfig config = in;
  if (auto why = check_name(config.name); !why.empty()) return Error{why};
  if (net.dev_get_by_name(config.name)) return Error{"device '" + config.name + "' already exists"};
  if (config.ifindex < 0) return Error{"ifindex " + std::to_string(config.ifindex) + " is negative"};
  if (config.ifindex > 0 && net.dev_get_by_index(config.ifindex))
    return Error{"ifindex " + std::to_string(config.ifindex) + " is already used by '" +
                 net.dev_get_by_index(config.ifindex)->name + "'"};
  if (config.mtu < 68 || config.mtu > 65535)
    return Error{"mtu " + std::to_string(config.mtu) + " is outside [68, 65535]"};
  if (config.kind != DeviceKind::Loopback) {
    if (wire::is_multicast_ether_addr(config.mac)) return Error{"mac " + wire::format_mac(config.mac) + " is not unicast"};
    if (config.mac == wire::MacAddr{}) return Error{"mac 00:00:00:00:00:00 is not a valid device address"};
  }
  if (config.kind == DeviceKind::Ring) {
    if (config.rx_ring_size < 1 || config.rx_ring_size > 4096)
      return Error{"rx_ring_size " + std::to_string(config.rx_ring_size) + " is outside [1, 4096]"};
    if (config.tx_ring_size < 1 || config.tx_ring_size > 4096)
      return Error{"tx_ring_size " + std::to_string(config.tx_ring_size) + " is outside [1, 4096]"};
  }
  // Reserved last, once nothing can refuse the device (Linux reserves it in register_netdevice).
  config.ifindex = dev_index_reserve(net, config.ifindex);
  if (config.ifindex == 0) return Error{"no free ifindex"};
  std::unique_ptr<NetDevice> dev;
  switch (config.kind) {
    case DeviceKind::Ring: dev = std::make_unique<RingNic>(net, config); break;
    case DeviceKind::Veth: dev = std::make_unique<Veth>(net, config); break;
    case DeviceKind::Loopback: dev = std::make_unique<Loopback>(net, config); break;
  }
  net.devices.push_back(std::move(dev));
  return std::nullopt;
}

std::vector<DeviceInfo> Stack::devices() const {
  std::vector<DeviceInfo> out;
  for (const auto& d : net_->devices) {
    DeviceInfo info;
    info.config = d->config;
    info.up = d->is_up();
    for (const auto& ifa : d->ifa_list)
      info.addresses.push_back(wire::format_ipv4(ifa.ifa_local) + "/" + std::to_string(ifa.ifa_prefixlen));
    out.push_back(std::move(info));
  }
  return out;
}

Status Stack::set_link(const std::string& name, bool up) {
  NetDevice* dev = net_->dev_get_by_name(name);
  if (!dev) return Error{"unknown device '" + name + "'"};
  const bool was_up = dev->is_up();
  if (up) {
    dev_open(dev);
  } else {
    dev_close(dev);
    neigh_ifdown(net_->arp_tbl, dev);  // arp_ifdown
  }
  if (was_up != up) packet_notifier(*net_, dev, up);  // NETDEV_UP / NETDEV_DOWN
  return std::nullopt;
}

Status Stack::set_coalesce(const std::string& name, unsigned rx_usecs, unsigned rx_frames) {
  NetDevice* dev = net_->dev_get_by_name(name);
  if (!dev) return Error{"unknown device '" + name + "'"};
  auto* nic = dynamic_cast<RingNic*>(dev);
  if (!nic) return Error{"device '" + name + "' is not a ring NIC: it has no interrupt to coalesce"};
  if (rx_usecs > 100000) return Error{"rx_usecs " + std::to_string(rx_usecs) + " is outside [0, 100000]"};
  if (rx_frames > 4096) return Error{"rx_frames " + std::to_string(rx_frames) + " is outside [0, 4096]"};
  nic->set_coalesce(rx_usecs, rx_frames);
  return std::nullopt;
}

Status Stack::set_ring_size(const std::string& name, unsigned rx, unsigned tx) {
  NetDevice* dev = net_->dev_get_by_name(name);
  if (!dev) return Error{"unknown device '" + name + "'"};
  auto* nic = dynamic_cast<RingNic*>(dev);
  if (!nic) return Error{"device '" + name + "' is not a ring NIC: it has no descriptor rings"};
  if (rx < 1 || rx > 4096) return Error{"rx ring size " + std::to_string(rx) + " is outside [1, 4096]"};
  if (tx < 1 || tx > 4096) return Error{"tx ring size " + std::to_string(tx) + " is outside [1, 4096]"};
  nic->set_ringparam(rx, tx);
  return std::nullopt;
}

Status Stack::set_tx_queue_len(const std::string& name, uint32_t len) {
  NetDevice* dev = net_->dev_get_by_name(name);
  if (!dev) return Error{"unknown device '" + name + "'"};
  dev_change_tx_queue_len(dev, len);
  return std::nullopt;
}

std::variant<int, Error> Stack::add_tap(const std::string& name, TapCallback callback) {
  NetDevice* dev = nullptr;
  if (!name.empty()) {
    dev = net_->dev_get_by_name(name);
    if (!dev) return Error{"unknown device '" + name + "'"};
  }
  if (!callback) return Error{"tap callback is empty"};
  return taps_->add(dev, std::move(callback));
}

void Stack::remove_tap(int id) { taps_->remove(id); }

Status Stack::add_address(const std::string& name, const std::string& cidr) {
  NetDevice* dev = net_->dev_get_by_name(name);
  if (!dev) return Error{"unknown device '" + name + "'"};
  const auto slash = cidr.find('/');
  if (slash == std::string::npos) return Error{"address '" + cidr + "' has no /prefix length"};
  wire::Ipv4Addr addr;
  if (!wire::parse_ipv4(cidr.substr(0, slash), &addr)) return Error{"'" + cidr.substr(0, slash) + "' is not an IPv4 address"};
  unsigned len = 0;
  const std::string lens = cidr.substr(slash + 1);
  auto [ptr, ec] = std::from_chars(lens.data(), lens.data() + lens.size(), len);
  if (lens.empty() || ec != std::errc() || ptr != lens.data() + lens.size() || len > 32)
    return Error{"prefix length '" + lens + "' is not in [0, 32]"};
  if (wire::ipv4_is_multicast(addr) || wire::ipv4_is_lbcast(addr) || addr == 0)
    return Error{"address " + wire::format_ipv4(addr) + " cannot be assigned to an interface"};
  if (inet_lookup_ifaddr(*net_, addr)) return Error{"address " + wire::format_ipv4(addr) + " is already assigned"};
  InIfaddr ifa;
  ifa.ifa_local = addr;
  ifa.ifa_prefixlen = uint8_t(len);
  ifa.ifa_mask = len == 0 ? 0 : ~wire::Ipv4Addr(0) << (32 - len);
  dev->ifa_list.push_back(ifa);
  fib_add_ifaddr(*net_, dev, addr, uint8_t(len), ifa.ifa_broadcast);
  return std::nullopt;
}

Status Stack::add_neighbour(const std::string& name, const std::string& ip, const std::string& mac,
                            const std::string& state) {
  NetDevice* dev = net_->dev_get_by_name(name);
  if (!dev) return Error{"unknown device '" + name + "'"};
  wire::Ipv4Addr addr;
  if (!wire::parse_ipv4(ip, &addr)) return Error{"'" + ip + "' is not an IPv4 address"};
  wire::MacAddr lladdr;
  if (!wire::parse_mac(mac, &lladdr)) return Error{"'" + mac + "' is not a MAC address (aa:bb:cc:dd:ee:ff)"};
  uint8_t nud;
  if (!neigh_state_parse(state, &nud))
    return Error{"'" + state + "' is not a neighbour state (permanent, noarp, reachable, stale, delay, probe, "
                 "incomplete, failed)"};
  // neigh_add: create if needed, then an administrative, overriding update.
  NeighbourEntry* n = neigh_lookup(net_->arp_tbl, addr, dev);
  if (n) neigh_hold(n);
  else n = ___neigh_create(net_->arp_tbl, addr, dev, nud == NUD_PERMANENT, true);
  if (!n) return Error{"neighbour table overflow: " + std::to_string(net_->arp_tbl.gc_thresh3) +
                       " entries (gc_thresh3) and none to reclaim (ENOBUFS)"};
  neigh_update(n, &lladdr, nud, NEIGH_UPDATE_F_ADMIN | NEIGH_UPDATE_F_OVERRIDE, 0);
  neigh_release(n);
  return std::nullopt;
}

std::vector<Neighbour> Stack::neighbours() const {
  std::vector<std::pair<std::pair<int, uint32_t>, Neighbour>> rows;
  for (const auto& [key, n] : net_->arp_tbl.entries) {
    Neighbour row;
    row.dev = n->dev->name;
    row.ip = wire::format_ipv4(n->primary_key);
    row.mac = wire::format_mac(n->ha);
    row.state = neigh_state_name(n->nud_state);
    rows.push_back({{n->dev->ifindex, n->primary_key}, std::move(row)});
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Neighbour> out;
  for (auto& r : rows) out.push_back(std::move(r.second));
  return out;
}

constexpr const char* kNeighPrefix = "net.ipv4.neigh.";

// "net.ipv4.neigh.<dev>.<field>" split into dev and field; false for other names.
bool split_neigh_name(const std::string& name, std::string* dev, std::string* field) {
  if (name.rfind(kNeighPrefix, 0) != 0) return false;
  const std::string rest = name.substr(std::string(kNeighPrefix).size());
  const auto dot = rest.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == rest.size()) return false;
  *dev = rest.substr(0, dot);
  *field = rest.substr(dot + 1);
  return true;
}

constexpr const char* kLocalPortRange = "net.ipv4.ip_local_port_range";

// ipv4_local_port_range: two ports ("low high", any blanks between), each in
// [1, 65535], high not below low and low not below ip_unprivileged_port_start
// (1024), or EINVAL.
Status ip_local_port_range_set(SockNet& s, const std::string& value) {
  int range[2];
  const char* p = value.data();
  const char* end = p + value.size();
  for (int& v : range) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n')) ++p;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || next == p) return Error{std::string("sysctl ") + kLocalPortRange + ": '" + value + "' is not two ports"};
    p = next;
  }
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n')) ++p;
  if (p != end) return Error{std::string("sysctl ") + kLocalPortRange + ": '" + value + "' is not two ports"};
  if (range[0] < 1024 || range[1] > 65535 || range[1] < range[0])
    return Error{std::string("sysctl ") + kLocalPortRange + ": " + value +
                 " must be low high with 1024 <= low <= high <= 65535"};
  s.port_range_low = range[0];
  s.port_range_high = range[1];
  return std::nullopt;
}

constexpr const char* kTcpCongestion = "net.ipv4.tcp_congestion_control";
constexpr const char* kTcpAvailableCongestion = "net.ipv4.tcp_available_congestion_control";
constexpr const char* kTcpAllowedCongestion = "net.ipv4.tcp_allowed_congestion_control";

// The algorithm names as /proc/sys prints a list of them: separated by spaces.
std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}

// proc_tcp_congestion_control: a registered algorithm's name (ENOENT
// otherwise, as for "bbr", which the twin does not have).
Status tcp_congestion_control_set(Net& net, const std::string& value) {
  std::string name = value;
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  const int err = tcp_set_default_congestion_control(net, name);
  if (err == -ENOENT)
    return Error{std::string("sysctl ") + kTcpCongestion + ": no congestion control '" + name + "' (ENOENT); available: " +
                 join_names(tcp_get_available_congestion_control())};
  if (err) return Error{std::string("sysctl ") + kTcpCongestion + ": '" + name + "' is restricted (EPERM)"};
  return std::nullopt;
}

Status Stack::set_sysctl(const std::string& name, const std::string& value) {
  Net& net = *net_;
  if (auto st = devinet_sysctl_set(net, name, value)) return *st;
  if (name == kLocalPortRange) return ip_local_port_range_set(net.sock, value);
  if (name == kTcpCongestion) return tcp_congestion_control_set(net, value);
  if (name == kTcpAvailableCongestion || name == kTcpAllowedCongestion)
    return Error{"sysctl " + name + " is read-only"};
  if (name == "nettwin.tcp_clock_phase_ns") {
    // Linux's tick is aligned to CLOCK_MONOTONIC (tick_next_period): jiffies
    // tick over on the TCP clock's ms edges, so timer-driven segments carry
    // the TSval of the tick.
    Status st = net.sysctl.set(name, value);
    if (!st) {
      // The tick moves by the least it can (under half a jiffy either way),
      // the jiffies' numbering kept: timers of the coarser wheel levels still
      // fall on the same multiples.
      const int64_t j = int64_t(NSEC_PER_JIFFY);
      const int64_t old_phase = int64_t(net.engine.jiffies_phase_ns());
      int64_t d = ((net.sysctl.nettwin_tcp_clock_phase_ns - old_phase) % j + j) % j;
      if (d > j / 2) d -= j;
      const int64_t total = int64_t(net.engine.jiffies_origin()) * j + old_phase + d;
      net.engine.set_jiffies_origin(uint64_t(total / j), uint64_t(total % j));
    }
    return st;
  }
  if (name == "net.ipv4.ip_forward" || name == "net.ipv4.conf.all.forwarding") {
    Status st = net.sysctl.set(name, value);
    if (!st) inet_forward_change(net);
    return st;
  }
  std::string dev_name, field;
  if (split_neigh_name(name, &dev_name, &field)) {
    // net.ipv4.neigh.default.* is the table's parms; a device's own parms follow
    // them for every field not set on the device.
    const bool dflt = dev_name == "default";
    if (dflt)
      if (auto st = neigh_table_sysctl_set(net.arp_tbl, field, value))
        return *st ? Status{Error{"sysctl " + name + ": " + (*st)->message}} : std::nullopt;
    NetDevice* dev = dflt ? nullptr : net.dev_get_by_name(dev_name);
    if (!dflt && !dev) return Error{"sysctl " + name + ": unknown device '" + dev_name + "'"};
    if (Status st = neigh_parms_set(net.arp_tbl, dflt ? net.arp_tbl.parms : dev->neigh_parms, field, value))
      return Error{"sysctl " + name + ": " + st->message};
    if (dflt) neigh_copy_dflt_parms(net);
    return std::nullopt;
  }
  if (Status st = net.sysctl.set(name, value)) return st;
  refresh_weights(net);
  return std::nullopt;
}

std::optional<std::string> Stack::get_sysctl(const std::string& name) const {
  if (auto v = devinet_sysctl_get(*net_, name)) return v;
  if (name == kLocalPortRange)  // printed as /proc/sys prints it
    return std::to_string(net_->sock.port_range_low) + "\t" + std::to_string(net_->sock.port_range_high);
  if (name == kTcpCongestion) return std::string(tcp_default_congestion_control(*net_)->name);
  if (name == kTcpAvailableCongestion) return join_names(tcp_get_available_congestion_control());
  if (name == kTcpAllowedCongestion) return join_names(tcp_get_allowed_congestion_control(*net_));
  std::string dev_name, field;
  if (split_neigh_name(name, &dev_name, &field)) {
    if (dev_name == "default") {
      if (auto v = neigh_table_sysctl_get(net_->arp_tbl, field)) return v;
      return neigh_parms_get(net_->arp_tbl.parms, field);
    }
    const NetDevice* dev = net_->dev_get_by_name(dev_name);
    return dev ? neigh_parms_get(dev->neigh_parms, field) : std::nullopt;
  }
  return net_->sysctl.get(name);
}

std::variant<InjectResult, Error> Stack::inject(const std::string& name, std::span<const uint8_t> frame) {
  NetDevice* dev = net_->dev_get_by_name(name);
  if (!dev) return Error{"unknown device '" + name + "'"};
  if (frame.empty()) return Error{"frame is empty"};
  if (frame.size() < wire::ETH_HLEN)
    return Error{"frame of " + std::to_string(frame.size()) + " bytes is shorter than an Ethernet header (14)"};
  if (frame.size() > dev->max_frame())
    return Error{"frame of " + std::to_string(frame.size()) + " bytes is larger than " + name + "'s max frame (" +
                 std::to_string(dev->max_frame()) + ")"};
  InjectResult r;
  if (!dev->is_up()) {
    r.link_down = true;
    dev->wire_rx_while_down++;
  }
  r.queued = dev->receive_from_wire(frame);
  return r;
}

std::vector<WireFrame> Stack::take_wire(const std::string& name, size_t max) {
  return take_wire(name, max, [](const std::string&, size_t) { return true; }).frames;
}

WireTake Stack::take_wire(const std::string& name, size_t max,
                          const std::function<bool(const std::string&, size_t)>& fits) {
  WireTake out;
  const NetDevice* dev = nullptr;
  if (!name.empty()) {
    dev = net_->dev_get_by_name(name);
    if (!dev) return out;
  }
  net_->wire.drain(dev, max, [&out, &fits](const WireQueue::Slot& s) {
    if (!fits(s.dev->name, s.bytes.size())) return false;
    WireFrame f;
    f.dev = s.dev->name;
    f.ifindex = s.dev->ifindex;
    f.time_ns = s.time_ns;
    f.data = s.bytes;
    out.frames.push_back(std::move(f));
    return true;
  });
  out.remaining = dev ? dev->wire_backlog.frames : net_->wire.size();
  return out;
}

std::variant<WireLimit, Error> Stack::set_wire_limit(const std::string& name, size_t frames, size_t bytes) {
  NetDevice* dev = net_->dev_get_by_name(name);
  if (!dev) return Error{"unknown device '" + name + "'"};
  if (bytes != 0 && bytes < dev->max_frame())
    return Error{"wire byte limit " + std::to_string(bytes) + " is smaller than " + name + "'s max frame (" +
                 std::to_string(dev->max_frame()) + ")"};
  WireBacklog& backlog = dev->wire_backlog;
  if (frames != 0) backlog.limit_frames = frames;
  if (bytes != 0) backlog.limit_bytes = bytes;
  return WireLimit{backlog.limit_frames, backlog.limit_bytes};
}

uint64_t Stack::now_ns() const { return net_->engine.now(); }
void Stack::advance(uint64_t ns) { net_->engine.advance(ns); }
void Stack::run_until(uint64_t t_ns) { net_->engine.run_until(t_ns); }
std::optional<uint64_t> Stack::next_timer_ns() const { return net_->engine.next_timer(); }
void Stack::run_until_idle() {
  const uint64_t now = net_->engine.now();
  net_->engine.run_until_idle(std::min(kIdleHorizonNs, kClockLimitNs - std::min(now, kClockLimitNs)));
}

int Stack::subscribe(const TraceFilter& filter, TraceCallback callback) {
  return net_->tracer.subscribe(filter, std::move(callback));
}
int Stack::subscribe_records(const TraceFilter& filter, TraceRecordCallback callback) {
  return net_->tracer.subscribe_records(filter, std::move(callback));
}
void Stack::unsubscribe(int id) { net_->tracer.unsubscribe(id); }

std::vector<std::pair<std::string, uint64_t>> Stack::counters() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& d : net_->devices) {
    const NetDeviceStats& s = d->stats;
    const std::string p = "dev." + d->name + ".";
    // rtnl_link_stats64, the fields `ip -s -s link` prints.
    const std::pair<const char*, uint64_t> rows[] = {
        {"rx_packets", s.rx_packets},
        {"tx_packets", s.tx_packets},
        {"rx_bytes", s.rx_bytes},
        {"tx_bytes", s.tx_bytes},
        {"rx_errors", s.rx_errors},
        {"tx_errors", s.tx_errors},
        {"rx_dropped", s.rx_dropped},
        {"tx_dropped", s.tx_dropped},
        {"multicast", s.multicast},
        {"collisions", s.collisions},
        {"rx_missed_errors", s.rx_missed_errors},
        {"tx_carrier_errors", s.tx_carrier_errors},
        {"rx_nohandler", s.rx_nohandler},
        {"rx_otherhost_dropped", s.rx_otherhost_dropped}};
    for (const auto& [k, v] : rows) out.emplace_back(p + k, v);
    out.emplace_back(p + "wire_qlen", d->wire_backlog.frames);
    out.emplace_back(p + "wire_dropped", d->wire_backlog.dropped);
    out.emplace_back(p + "wire.rx_while_down", d->wire_rx_while_down);
    if (d->qdisc && d->qdisc->has_enqueue()) {
      out.emplace_back(p + "qdisc.packets", d->qdisc->packets);
      out.emplace_back(p + "qdisc.drops", d->qdisc->drops);
      out.emplace_back(p + "qdisc.requeues", d->qdisc->requeues);
      out.emplace_back(p + "qdisc.qlen", d->qdisc->qlen + d->qdisc->gso_skb.qlen);
    }
  }
  // /proc/net/softnet_stat's columns for the one CPU.
  const SoftnetData& sd = net_->softnet;
  out.emplace_back("softnet.processed", sd.processed);
  out.emplace_back("softnet.dropped", sd.dropped);
  out.emplace_back("softnet.time_squeeze", sd.time_squeeze);
  out.emplace_back("softnet.received_rps", sd.received_rps);
  out.emplace_back("softnet.flow_limit_count", sd.flow_limit_count);
  out.emplace_back("softnet.backlog_len", uint64_t(sd.input_pkt_queue.qlen) + sd.process_queue.qlen);
  out.emplace_back("softnet.input_qlen", sd.input_pkt_queue.qlen);
  out.emplace_back("softnet.process_qlen", sd.process_queue.qlen);
  // /proc/net/stat/arp_cache's columns that are kept, and the table's size.
  NeighTable& tbl = net_->arp_tbl;
  neigh_periodic_catch_up(tbl);
  const NeighStatistics& ns = tbl.stats;
  out.emplace_back("arp_cache.entries", tbl.entries.size());
  out.emplace_back("arp_cache.allocs", ns.allocs);
  out.emplace_back("arp_cache.destroys", ns.destroys);
  out.emplace_back("arp_cache.res_failed", ns.res_failed);
  out.emplace_back("arp_cache.periodic_gc_runs", ns.periodic_gc_runs);
  out.emplace_back("arp_cache.forced_gc_runs", ns.forced_gc_runs);
  out.emplace_back("arp_cache.unresolved_discards", ns.unresolved_discards);
  out.emplace_back("arp_cache.table_fulls", ns.table_fulls);
  // The inet_peer store (Linux exports neither figure).
  out.emplace_back("inet_peer.total", uint64_t(net_->inet_peers.total));
  out.emplace_back("inet_peer.gc_frees", net_->inet_peers.gc_frees);
  net_->mib.append(out);
  net_->sock.append_counters(out);
  return out;
}

}  // namespace nettwin
