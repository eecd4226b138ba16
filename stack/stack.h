// The stack's public face: everything the gRPC server, the pcap replay tool and
// the benchmarks may touch. Nothing here knows about gRPC.
//
// All calls run on the caller's thread and are not thread-safe: the server hands
// them to one engine thread. Time is virtual: nothing happens between calls.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace nettwin {

// An error the caller made (unknown device, bad address...). The message says
// what was wrong; the server turns it into INVALID_ARGUMENT.
struct Error {
  std::string message;
};
using Status = std::optional<Error>;  // empty: success

enum class DeviceKind { Ring, Veth, Loopback };

struct DeviceConfig {
  std::string name;
  DeviceKind kind = DeviceKind::Ring;
  std::array<uint8_t, 6> mac{};
  int ifindex = 0;             // 0: next free
  unsigned mtu = 1500;
  unsigned rx_ring_size = 256;  // Ring only
  unsigned tx_ring_size = 256;  // Ring only
};

struct DeviceInfo {
  DeviceConfig config;
  bool up = true;
  std::vector<std::string> addresses;  // "198.51.100.2/24"
};

// A frame that left a device's TX ring onto the wire.
struct WireFrame {
  std::string dev;
  int ifindex = 0;
  uint64_t time_ns = 0;
  std::vector<uint8_t> data;
};

// Frames taken off the wire, and how many of the asked device(s) stay there.
struct WireTake {
  std::vector<WireFrame> frames;
  size_t remaining = 0;
};

// The bound on one device's frames held on the wire (see core/wire_queue.h).
struct WireLimit {
  size_t frames = 0;
  size_t bytes = 0;  // frame bytes
};

struct InjectResult {
  bool queued = false;     // false: the RX ring was full (counted as rx_missed), or link_down
  // The device was down. A ring NIC's receiver is off (e1000_down clears
  // RCTL.EN): the MAC ignores the frame and no Linux counter moves. A veth
  // counts rx_dropped (__dev_forward_skb2). Either way the stack counts it in
  // dev.<name>.wire.rx_while_down, its own counter, so that it is not lost unseen.
  bool link_down = false;
};

// One tracepoint or checkpoint, its fields as text in the kernel's format order.
// Tracepoints: "net:netif_receive_skb", "skb:kfree_skb" (reason as its symbol,
// location as the Linux function name), ... Checkpoints: "checkpoint:<function>".
struct TraceEvent {
  uint64_t time_ns = 0;
  std::string name;
  uint64_t skb = 0;  // skb id (unique for the stack's lifetime), 0 if none
  std::vector<std::pair<std::string, std::string>> fields;
};

struct TraceFilter {
  std::vector<std::string> events;  // names or "group:*" / "*"; empty: all tracepoints
  bool checkpoints = false;
  // Checkpoints also carry the skb's bytes as pwru reads them (fields "frame", hex,
  // and "frame_layer": l2 from the MAC header, l3 from the network header), for
  // pcap-filter matching; every checkpoint subscriber then sees them.
  bool skb_data = false;
};

// Every tracepoint the stack emits ("net:netif_rx", ...), in a fixed order.
std::vector<std::string> tracepoint_names();

using TraceCallback = std::function<void(const TraceEvent&)>;
// A consumer of the stack's typed records (core/trace_record.h), which formats
// them only if and when it needs their text (core/trace_text.h).
class TraceRecord;
using TraceRecordCallback = std::function<void(const TraceRecord&)>;

// A frame an ETH_P_ALL tap saw (what tcpdump would capture on the device):
// received ones as they reach __netif_receive_skb_core, sent ones as
// dev_hard_start_xmit hands them to the driver (dev_queue_xmit_nit).
struct TapFrame {
  std::string dev;
  uint64_t time_ns = 0;
  bool outgoing = false;  // PACKET_OUTGOING
  std::vector<uint8_t> data;  // from the Ethernet header
};
using TapCallback = std::function<void(const TapFrame&)>;

struct Neighbour {
  std::string dev;
  std::string ip;
  std::string mac;
  std::string state;  // "incomplete", "reachable", "stale", "delay", "probe", "failed", "noarp", "permanent"
};

// A route as `ip route` shows it. dst "203.0.113.0/24" or "default"; type
// unicast, local, broadcast, unreachable, prohibit, blackhole; scope "" (the
// type's default), "universe", "link" or "host".
struct Route {
  std::string dst;
  std::string gateway;  // "" when on-link
  std::string dev;      // "" with a gateway: the device the gateway is reached by
  std::string type = "unicast";
  uint32_t table = 254;  // main; 255 is local
  uint32_t metric = 0;
  uint8_t tos = 0;
  std::string scope;
  std::string prefsrc;
  std::string protocol;  // listing only: "kernel" (from an address) or "boot"
  // The route's metrics, as `ip route ... mtu lock 1400 initcwnd 20 rto_min 100ms
  // congctl reno features ecn` sets them; 0, "" or false: unset.
  uint32_t mtu = 0;  // at least 68; above 65520 taken as 65520
  bool mtu_lock = false;
  uint32_t window = 0;
  uint32_t advmss = 0;  // above 65495 taken as 65495
  uint32_t initcwnd = 0;
  uint32_t initrwnd = 0;
  std::optional<uint32_t> rto_min_ms;  // always locked, as iproute2 sends it (0 is a value)
  bool quickack = false;
  std::string congctl;  // a registered congestion control
  bool congctl_lock = false;
  bool ecn = false;  // features ecn
};

// A policy rule as `ip rule` shows it: selectors (empty / 0: any) → table.
struct Rule {
  uint32_t pref = 0;
  std::string from;  // "198.51.100.0/24"
  std::string to;
  uint8_t tos = 0;
  std::string iif;
  uint32_t table = 254;
};

// A packet at a netfilter hook point, handed to a hook callback. data is the
// packet from its IP header on.
struct HookPacket {
  std::string hook;  // "PRE_ROUTING", "LOCAL_IN", "FORWARD", "LOCAL_OUT", "POST_ROUTING"
  uint64_t skb = 0;
  uint64_t time_ns = 0;
  std::string in;   // device names, "" when none
  std::string out;
  std::vector<uint8_t> data;
};

// The callback's verdict. verdict: "accept", "drop", "stolen", "queue",
// "repeat"; drop_reason a Linux drop reason symbol ("" = NETFILTER_DROP);
// data, when set, replaces the packet's bytes from its IP header on.
struct HookVerdict {
  std::string verdict = "accept";
  std::string drop_reason;
  std::optional<std::vector<uint8_t>> data;
};
using HookCallback = std::function<HookVerdict(const HookPacket&)>;

class Net;  // the stack's internals (struct net and everything hanging off it)

class Stack {
 public:
  explicit Stack(uint64_t seed = 1);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // Topology and configuration.
  Status create_device(const DeviceConfig& config);
  std::vector<DeviceInfo> devices() const;
  Status set_link(const std::string& dev, bool up);
  // ethtool -C dev rx-usecs U rx-frames F (Ring only): the interrupt waits up
  // to rx_usecs after the first event, or until rx_frames frames are pending
  // (0: no frame limit); rx_usecs 0 interrupts at once. rx_usecs <= 100000.
  Status set_coalesce(const std::string& dev, unsigned rx_usecs, unsigned rx_frames);
  // ethtool -G dev rx N tx M (Ring only, each in [1, 4096]): the rings are
  // rebuilt; a device that is up goes down and up around it.
  Status set_ring_size(const std::string& dev, unsigned rx, unsigned tx);
  // ip link set dev D txqueuelen N: pfifo_fast's bands shrink or grow to N;
  // what no longer fits is freed, newest first.
  Status set_tx_queue_len(const std::string& dev, uint32_t len);
  Status add_address(const std::string& dev, const std::string& cidr);
  Status add_neighbour(const std::string& dev, const std::string& ip,
                       const std::string& mac, const std::string& state);
  std::vector<Neighbour> neighbours() const;
  Status set_sysctl(const std::string& name, const std::string& value);
  std::optional<std::string> get_sysctl(const std::string& name) const;

  // Routing: tables and policy rules (fib), validated like `ip route` / `ip rule`.
  Status add_route(const Route& route);
  Status del_route(const Route& route);
  // `ip route replace` (create: a missing route is added) or `ip route change`
  // (it must exist): the route with the same table, prefix, tos and metric
  // takes the new nexthop and metrics.
  Status replace_route(const Route& route, bool create);
  std::vector<Route> routes(uint32_t table = 0) const;  // 0: every table
  Status add_rule(const Rule& rule);
  std::vector<Rule> rules() const;

  // Netfilter: a callback at a hook point ("PRE_ROUTING"...), run in priority
  // order with the others there. Returns the hook's id, or an Error. The
  // callback runs on the stack's thread, in the middle of the packet's path.
  std::variant<int, Error> register_hook(const std::string& hook, int priority, HookCallback callback);
  Status unregister_hook(int id);

  // Frames in and out. inject() fills the next free RX descriptor and raises
  // the device's interrupt; nothing runs until the clock is driven.
  // An unknown device, an empty frame or one larger than the device's
  // max frame is an Error.
  std::variant<InjectResult, Error> inject(const std::string& dev, std::span<const uint8_t> frame);
  std::vector<WireFrame> take_wire(const std::string& dev = "", size_t max = 0);
  // The same, stopping before the first frame fits(dev name, frame bytes)
  // refuses: that frame and every later one stay on the wire. An unknown
  // device takes nothing.
  WireTake take_wire(const std::string& dev, size_t max,
                     const std::function<bool(const std::string&, size_t)>& fits);
  // The bound on dev's frames held on the wire; a frame beyond it is not kept
  // and counts in dev.<name>.wire_dropped. 0 keeps that bound as it is; the
  // byte bound must hold at least one of the device's largest frames.
  // Returns the bounds now in force.
  std::variant<WireLimit, Error> set_wire_limit(const std::string& dev, size_t frames, size_t bytes);

  // Virtual clock.
  uint64_t now_ns() const;
  // The clock stops at KTIME_MAX (Linux's ktime_t is signed 64-bit ns), which
  // leaves room above it for any timer's expiry; callers keep within it.
  static constexpr uint64_t kClockLimitNs = uint64_t(INT64_MAX);
  void advance(uint64_t ns);       // run everything due up to now + ns
  void run_until(uint64_t t_ns);   // run everything due up to t_ns (no-op if in the past)
  void run_until_idle();           // run softirqs and timers until nothing is pending (up to the limit)
                                   // (timers further out than 1 hour of virtual time are left)
  // When the earliest pending timer is due (ns); nothing when no timer is
  // pending. A real-time driver sleeps until then (or until a frame comes).
  std::optional<uint64_t> next_timer_ns() const;

  // Tracing: one predictable branch per tracepoint while nobody subscribes.
  int subscribe(const TraceFilter& filter, TraceCallback callback);
  int subscribe_records(const TraceFilter& filter, TraceRecordCallback callback);
  void unsubscribe(int id);

  // ETH_P_ALL taps (ptype_all), for one device or ("") all: each frame is a
  // clone the tap consumes (tpacket_rcv). Returns the tap's id.
  std::variant<int, Error> add_tap(const std::string& dev, TapCallback callback);
  void remove_tap(int id);  // unknown ids are ignored

  // Counters: "dev.<name>.<rtnl_link_stats64 field>" (rx_packets, rx_bytes,
  // rx_errors, rx_dropped, rx_missed_errors, multicast, tx_packets, tx_bytes,
  // tx_errors, tx_dropped, tx_carrier_errors, collisions, rx_nohandler,
  // rx_otherhost_dropped: what `ip -s -s link` shows), "dev.<name>.qdisc.*",
  // "softnet.<column>" (/proc/net/softnet_stat: processed, dropped,
  // time_squeeze, received_rps, flow_limit_count, backlog_len, input_qlen,
  // process_qlen), "dev.<name>.wire_qlen" and "dev.<name>.wire_dropped" (the
  // frames held on the wire for the harness, and those not kept because that
  // backlog was full), "Ip.InReceives", ...
  std::vector<std::pair<std::string, uint64_t>> counters() const;

  // The internals; also what the socket calls of stack/socket/syscalls.h take
  // (sys_socket(stack.net(), ...)): the DUT's programs.
  Net& net() { return *net_; }

 private:
  std::unique_ptr<Net> net_;
  std::unique_ptr<class PacketTaps> taps_;  // after net_: gone before it
};

}  // namespace nettwin
