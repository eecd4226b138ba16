#include "ipv4/devinet.h"

#include <algorithm>
#include <charconv>

#include "core/net.h"

namespace nettwin {

namespace {

constexpr const char* kConfPrefix = "net.ipv4.conf.";

struct Knob {
  const char* name;
  int8_t Ipv4Devconf::*field;
  int max;
};
const Knob kKnobs[] = {{"forwarding", &Ipv4Devconf::forwarding, 1},
                       {"send_redirects", &Ipv4Devconf::send_redirects, 1},
                       {"rp_filter", &Ipv4Devconf::rp_filter, 2},
                       {"accept_local", &Ipv4Devconf::accept_local, 1}};

// Splits "net.ipv4.conf.<dev>.<knob>" for a device of this stack ("all" and
// "default" are the global table's).
bool split(const Net& net, const std::string& name, NetDevice** dev, const Knob** knob) {
  if (name.rfind(kConfPrefix, 0) != 0) return false;
  const std::string rest = name.substr(std::string(kConfPrefix).size());
  const auto dot = rest.rfind('.');
  if (dot == std::string::npos) return false;
  const std::string d = rest.substr(0, dot), k = rest.substr(dot + 1);
  if (d == "all" || d == "default") return false;
  *dev = net.dev_get_by_name(d);
  if (!*dev) return false;
  for (const Knob& kn : kKnobs)
    if (k == kn.name) {
      *knob = &kn;
      return true;
    }
  return false;
}

}  // namespace

std::optional<Status> devinet_sysctl_set(Net& net, const std::string& name, const std::string& value) {
  NetDevice* dev = nullptr;
  const Knob* knob = nullptr;
  if (!split(net, name, &dev, &knob)) return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || p != value.data() + value.size())
    return Status(Error{"sysctl " + name + ": '" + value + "' is not an integer"});
  if (v < 0 || v > knob->max)
    return Status(Error{"sysctl " + name + ": " + value + " is outside [0, " + std::to_string(knob->max) + "]"});
  dev->cnf.*(knob->field) = int8_t(v);
  return Status{};
}

std::optional<std::string> devinet_sysctl_get(const Net& net, const std::string& name) {
  NetDevice* dev = nullptr;
  const Knob* knob = nullptr;
  if (!split(net, name, &dev, &knob)) return std::nullopt;
  if (knob->field == &Ipv4Devconf::forwarding) return std::to_string(in_dev_forward(net, dev) ? 1 : 0);
  return std::to_string(dev->cnf.*(knob->field));
}

void inet_forward_change(Net& net) {
  for (auto& d : net.devices) d->cnf.forwarding = -1;
}

}  // namespace nettwin
