// Opening a TAP interface, as Documentation/networking/tuntap.rst's tun_alloc
// does, in a network namespace named as `ip netns` names them.
#pragma once

#include <string>
#include <variant>

namespace nettwin::server {

// Creates TAP interface `ifname` (IFF_TAP | IFF_NO_PI: one Ethernet frame per
// read and write, no packet information header) in network namespace `netns`
// (/run/netns/<netns>; "" is the caller's own) and returns its file descriptor,
// or an error message. The interface goes when the descriptor is closed. The
// namespace belongs to the descriptor from the open of /dev/net/tun on, so the
// calling thread switches there only for that open and comes back.
std::variant<int, std::string> tun_alloc(const std::string& netns, const std::string& ifname);

}  // namespace nettwin::server
