#include "proto_convert.h"

#include <cctype>
#include <string>

#include "engine_state.h"
#include "text_parse.h"

namespace nettwin::server {

namespace {

constexpr unsigned kDefaultMtu = 1500;
constexpr unsigned kMinMtu = 68;       // ETH_MIN_MTU
constexpr unsigned kMaxMtu = 65535;    // ETH_MAX_MTU
constexpr unsigned kDefaultRing = 256;
constexpr unsigned kMaxRing = 4096;    // E1000_MAX_RXD / E1000_MAX_TXD

bool is_trace_word(std::string_view word) {
  if (word.empty()) return false;
  for (char c : word)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

bool valid_pattern(std::string_view pattern) {
  if (pattern == "*") return true;
  const size_t colon = pattern.find(':');
  if (colon == std::string_view::npos) return false;
  const auto group = pattern.substr(0, colon);
  const auto event = pattern.substr(colon + 1);
  return is_trace_word(group) && (event == "*" || is_trace_word(event));
}

}  // namespace

grpc::Status to_stack_filter(const v1::TraceFilter& in, TraceFilter& out) {
  out.events.clear();
  for (const std::string& pattern : in.events()) {
    if (!valid_pattern(pattern))
      return invalid("trace filter event " + quoted(pattern) +
                     " is not \"group:event\", \"group:*\" or \"*\"");
    out.events.push_back(pattern);
  }
  out.checkpoints = in.checkpoints();
  return grpc::Status::OK;
}

void to_proto(const TraceEvent& in, v1::TraceEvent& out) {
  out.set_time_ns(in.time_ns);
  out.set_name(in.name);
  out.set_skb(in.skb);
  auto* fields = out.mutable_fields();
  fields->Reserve(static_cast<int>(in.fields.size()));
  for (const auto& [key, value] : in.fields) {
    auto* field = fields->Add();
    field->set_key(key);
    field->set_value(value);
  }
}

void to_proto(const DeviceInfo& in, v1::DeviceInfo& out) {
  auto* config = out.mutable_config();
  config->set_name(in.config.name);
  config->set_kind(device_kind_name(in.config.kind));
  config->set_mac(format_mac(in.config.mac));
  config->set_ifindex(in.config.ifindex);
  config->set_mtu(in.config.mtu);
  if (in.config.kind == DeviceKind::Ring) {
    config->set_rx_ring_size(in.config.rx_ring_size);
    config->set_tx_ring_size(in.config.tx_ring_size);
  }
  out.set_up(in.up);
  for (const std::string& address : in.addresses) out.add_addresses(address);
}

grpc::Status to_stack_config(const v1::DeviceConfig& in, DeviceConfig& out) {
  if (auto problem = device_name_problem(in.name())) return invalid(*problem);
  out.name = in.name();

  const auto kind = parse_device_kind(in.kind());
  if (!kind)
    return invalid("unknown device kind " + quoted(in.kind()) + " for device " + quoted(in.name()) +
                   " (kinds: ring, veth, loopback)");
  out.kind = *kind;

  if (in.mac().empty()) {
    if (out.kind != DeviceKind::Loopback)
      return invalid("device " + quoted(in.name()) + " needs a mac (\"02:00:00:00:01:02\")");
    out.mac = Mac{};  // loopback's address is all zeros, as in Linux
  } else {
    const auto mac = parse_mac(in.mac());
    if (!mac) return invalid("bad mac " + quoted(in.mac()) + " for device " + quoted(in.name()));
    if (out.kind != DeviceKind::Loopback && (is_multicast_mac(*mac) || is_zero_mac(*mac)))
      return invalid("mac " + quoted(in.mac()) + " for device " + quoted(in.name()) +
                     " is not a unicast address");
    out.mac = *mac;
  }

  if (in.ifindex() < 0)
    return invalid("ifindex " + std::to_string(in.ifindex()) + " for device " +
                   quoted(in.name()) + " is negative");
  out.ifindex = in.ifindex();

  out.mtu = in.mtu() == 0 ? kDefaultMtu : in.mtu();
  if (out.mtu < kMinMtu || out.mtu > kMaxMtu)
    return invalid("mtu " + std::to_string(out.mtu) + " for device " + quoted(in.name()) +
                   " is outside " + std::to_string(kMinMtu) + ".." + std::to_string(kMaxMtu));

  const bool ring_sizes_given = in.rx_ring_size() != 0 || in.tx_ring_size() != 0;
  if (out.kind != DeviceKind::Ring && ring_sizes_given)
    return invalid("rx_ring_size/tx_ring_size apply to ring devices only, not to " +
                   std::string(device_kind_name(out.kind)) + " device " + quoted(in.name()));
  out.rx_ring_size = in.rx_ring_size() == 0 ? kDefaultRing : in.rx_ring_size();
  out.tx_ring_size = in.tx_ring_size() == 0 ? kDefaultRing : in.tx_ring_size();
  if (out.rx_ring_size > kMaxRing || out.tx_ring_size > kMaxRing)
    return invalid("ring size for device " + quoted(in.name()) + " exceeds " +
                   std::to_string(kMaxRing) + " descriptors");
  return grpc::Status::OK;
}

}  // namespace nettwin::server
