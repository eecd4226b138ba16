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

struct InjectResult {
  bool queued = false;  // false: the RX ring was full, counted as rx_missed
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
};

using TraceCallback = std::function<void(const TraceEvent&)>;

struct Neighbour {
  std::string dev;
  std::string ip;
  std::string mac;
  std::string state;  // "incomplete", "reachable", "stale", "delay", "probe", "failed", "noarp", "permanent"
};

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
  Status add_address(const std::string& dev, const std::string& cidr);
  Status add_neighbour(const std::string& dev, const std::string& ip,
                       const std::string& mac, const std::string& state);
  std::vector<Neighbour> neighbours() const;
  Status set_sysctl(const std::string& name, const std::string& value);
  std::optional<std::string> get_sysctl(const std::string& name) const;

  // Frames in and out. inject() fills the next free RX descriptor and raises
  // the device's interrupt; nothing runs until the clock is driven.
  // An unknown device, an empty frame or one larger than the device's
  // max frame is an Error.
  std::variant<InjectResult, Error> inject(const std::string& dev, std::span<const uint8_t> frame);
  std::vector<WireFrame> take_wire(const std::string& dev = "", size_t max = 0);

  // Virtual clock.
  uint64_t now_ns() const;
  void advance(uint64_t ns);       // run everything due up to now + ns
  void run_until(uint64_t t_ns);   // run everything due up to t_ns (no-op if in the past)
  void run_until_idle();           // run softirqs and timers until nothing is pending
                                   // (timers further out than 1 hour of virtual time are left)

  // Tracing: one predictable branch per tracepoint while nobody subscribes.
  int subscribe(const TraceFilter& filter, TraceCallback callback);
  void unsubscribe(int id);

  // Counters: "dev.<name>.rx_packets", "softnet.processed", "Ip.InReceives", ...
  std::vector<std::pair<std::string, uint64_t>> counters() const;

  Net& net() { return *net_; }

 private:
  std::unique_ptr<Net> net_;
};

}  // namespace nettwin
