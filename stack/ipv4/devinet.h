// struct ipv4_devconf per device (net/ipv4/devinet.c): the conf.<dev>.* knobs
// routing reads. -1 means "as conf.all / ip_forward say": writing ip_forward
// or conf.all.forwarding sets every device's forwarding (inet_forward_change),
// so a device only differs once its own knob is written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stack.h"

namespace nettwin {

class Net;
struct NetDevice;

struct Ipv4Devconf {
  int8_t forwarding = -1;
  int8_t send_redirects = 1;
  int8_t rp_filter = 0;
  int8_t accept_local = 0;
};

// IN_DEV_FORWARD, IN_DEV_TX_REDIRECTS, IN_DEV_RPFILTER and IN_DEV_ACCEPT_LOCAL,
// read by every routed packet, are inline in core/net.h (they need Net's sysctls).

// "net.ipv4.conf.<dev>.<knob>": nullopt when name is not one (the caller goes on).
std::optional<Status> devinet_sysctl_set(Net& net, const std::string& name, const std::string& value);
std::optional<std::string> devinet_sysctl_get(const Net& net, const std::string& name);
// ip_forward / conf.all.forwarding written: every device follows.
void inet_forward_change(Net& net);

}  // namespace nettwin
