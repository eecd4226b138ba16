// Command line of nettwin-replay.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "stack/stack.h"
#include "text_parse.h"

namespace nettwin::server {

struct ReplayOptions {
  std::string in;
  std::string out;
  std::string dev;
  Mac mac{};
  std::string cidr;               // the DUT's address, "198.51.100.2/24"
  DeviceKind kind = DeviceKind::Veth;  // the Linux recordings are made on veth
  int ifindex = 0;
  std::vector<std::pair<std::string, std::string>> neighbours;  // ip, mac
  uint64_t seed = 1;
  std::vector<uint16_t> listen_ports;  // TCP listeners on the DUT address
  bool onlink_default = false;    // a default route on the device: every peer on its link
  bool learn_neighbours = false;  // a peer met with no ARP before it becomes a permanent neighbour
  bool progress = false;          // "progress POSITION SIZE" lines on stderr
  bool convert = false;           // only write the input's frames as Ethernet frames to --out
};

extern const char kReplayUsage[];

// Returns the options, or a message saying which argument is wrong.
std::variant<ReplayOptions, std::string> parse_replay_options(int argc, char** argv);

}  // namespace nettwin::server
