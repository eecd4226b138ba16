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
};

extern const char kReplayUsage[];

// Returns the options, or a message saying which argument is wrong.
std::variant<ReplayOptions, std::string> parse_replay_options(int argc, char** argv);

}  // namespace nettwin::server
