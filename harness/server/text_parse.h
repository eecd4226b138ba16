// Parsing of the text a user hands the server or the replay tool: MAC and IPv4
// addresses, CIDR prefixes, device names and kinds, numbers. Each parser returns
// nullopt on bad text; the caller names the offending field in its message.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stack/stack.h"

namespace nettwin::server {

using Mac = std::array<uint8_t, 6>;

// "02:00:00:00:01:02" (colons or dashes, hex digits of either case).
std::optional<Mac> parse_mac(std::string_view text);
std::string format_mac(const Mac& mac);
bool is_multicast_mac(const Mac& mac);  // includes broadcast
bool is_zero_mac(const Mac& mac);

// Dotted quad only ("198.51.100.2"), host byte order.
std::optional<uint32_t> parse_ipv4(std::string_view text);

struct Cidr {
  uint32_t addr = 0;
  int prefix_len = 0;
};
// "198.51.100.2/24"; the prefix length is required and within 0..32.
std::optional<Cidr> parse_cidr(std::string_view text);

// Linux's dev_valid_name(): empty, longer than IFNAMSIZ-1, "." / "..", or a
// name containing '/', ':' or white space is refused. Returns what is wrong.
std::optional<std::string> device_name_problem(std::string_view name);

// "ring", "veth", "loopback".
std::optional<DeviceKind> parse_device_kind(std::string_view text);
const char* device_kind_name(DeviceKind kind);

// Whole-string unsigned decimal number.
std::optional<uint64_t> parse_u64(std::string_view text);

// Neighbour states a client may set: "permanent", "reachable", "stale",
// "noarp" (empty means "permanent", as in `ip neigh add`). Returns the state
// name to hand to the stack.
std::optional<std::string> parse_neigh_state(std::string_view text);

// Text quoted for an error message: "eth9" with non-printable bytes escaped.
std::string quoted(std::string_view text);

}  // namespace nettwin::server
