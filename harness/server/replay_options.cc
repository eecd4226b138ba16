#include "replay_options.h"

#include <limits>

namespace nettwin::server {

const char kReplayUsage[] =
    "usage: nettwin-replay --in FILE.pcap --out OUT.pcap --dev NAME --mac MAC --ip CIDR\n"
    "                      [--kind veth|ring] [--ifindex N] [--neigh IP=MAC ...] [--seed N]\n"
    "                      [--listen PORT ...] [--learn-neigh] [--onlink] [--progress]\n"
    "       nettwin-replay --convert --in FILE.pcap --out OUT.pcap [--progress]\n"
    "Injects the frames of FILE.pcap addressed to the device (its MAC, broadcast or\n"
    "multicast) at their recorded times, and writes what the stack sends to OUT.pcap.\n"
    "FILE.pcap: pcap or pcapng, gzip-compressed or not, of Ethernet, Linux cooked\n"
    "(SLL, SLL2), loopback (NULL, LOOP) or raw IP (RAW, IPV4) frames; the others are\n"
    "given an Ethernet header whose MACs are 02:00 and the host's IPv4 address.\n"
    "--convert writes those Ethernet frames to OUT.pcap and runs no stack.\n"
    "--listen PORT: a TCP listener on the device's address whose connections are\n"
    "accepted and read, each closed when the capture shows the DUT's FIN on it (at\n"
    "that frame's time), or at the end if its peer closed. --learn-neigh: a peer\n"
    "whose IPv4 frame comes with no ARP for it before becomes a permanent neighbour\n"
    "with the MAC of that frame. --onlink: a\n"
    "default route on the device, no gateway: every peer is on the device's link.\n"
    "--progress: \"nettwin-replay: progress POSITION SIZE\" on stderr as it reads.\n"
    "--in - (or a pipe) reads standard input. A timestamp earlier than the one before\n"
    "is warned about and its frame injected at the current virtual time.\n"
    "Prints what it injected, skipped, refused and lost on every run. Exit status:\n"
    "  0 done; 1 OUT.pcap could not be written; 2 bad options or input (a pcap cut\n"
    "  short or broken in the middle: the frames before the break are replayed and\n"
    "  written, as tshark does); 3 nothing injected, or frames lost (rx_missed).\n";

std::variant<ReplayOptions, std::string> parse_replay_options(int argc, char** argv) {
  ReplayOptions options;
  bool have_mac = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return std::string();
    if (arg == "--learn-neigh" || arg == "--onlink" || arg == "--progress" || arg == "--convert") {
      (arg == "--learn-neigh" ? options.learn_neighbours
       : arg == "--onlink"    ? options.onlink_default
       : arg == "--progress"  ? options.progress
                              : options.convert) = true;
      continue;
    }
    if (i + 1 >= argc) return arg + " needs a value";
    const std::string value = argv[++i];
    if (arg == "--in") {
      options.in = value;
    } else if (arg == "--out") {
      options.out = value;
    } else if (arg == "--dev") {
      if (auto problem = device_name_problem(value)) return "--dev: " + *problem;
      options.dev = value;
    } else if (arg == "--mac") {
      const auto mac = parse_mac(value);
      if (!mac) return "--mac: bad mac " + quoted(value);
      if (is_multicast_mac(*mac) || is_zero_mac(*mac))
        return "--mac: " + quoted(value) + " is not a unicast address";
      options.mac = *mac;
      have_mac = true;
    } else if (arg == "--ip") {
      if (!parse_cidr(value)) return "--ip: bad cidr " + quoted(value) + " (like 198.51.100.2/24)";
      options.cidr = value;
    } else if (arg == "--kind") {
      const auto kind = parse_device_kind(value);
      if (!kind || *kind == DeviceKind::Loopback)
        return "--kind: unknown device kind " + quoted(value) + " (veth or ring)";
      options.kind = *kind;
    } else if (arg == "--ifindex") {
      const auto n = parse_u64(value);
      if (!n || *n == 0 || *n > uint64_t(std::numeric_limits<int>::max()))
        return "--ifindex: bad ifindex " + quoted(value);
      options.ifindex = int(*n);
    } else if (arg == "--neigh") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos) return "--neigh: " + quoted(value) + " is not IP=MAC";
      const std::string ip = value.substr(0, eq);
      const std::string mac = value.substr(eq + 1);
      if (!parse_ipv4(ip)) return "--neigh: bad ip " + quoted(ip);
      const auto parsed = parse_mac(mac);
      if (!parsed) return "--neigh: bad mac " + quoted(mac);
      options.neighbours.emplace_back(ip, format_mac(*parsed));
    } else if (arg == "--listen") {
      const auto n = parse_u64(value);
      if (!n || *n == 0 || *n > 65535) return "--listen: bad port " + quoted(value);
      options.listen_ports.push_back(uint16_t(*n));
    } else if (arg == "--seed") {
      const auto n = parse_u64(value);
      if (!n) return "--seed: bad number " + quoted(value);
      options.seed = *n;
    } else {
      return "unknown option " + quoted(arg);
    }
  }
  if (options.in.empty()) return "--in is required";
  if (options.out.empty()) return "--out is required";
  if (options.convert) return options;
  if (options.dev.empty()) return "--dev is required";
  if (!have_mac) return "--mac is required";
  if (options.cidr.empty()) return "--ip is required";
  return options;
}

}  // namespace nettwin::server
