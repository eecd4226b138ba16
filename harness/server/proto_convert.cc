#include "proto_convert.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "engine_state.h"
#include "core/trace.h"
#include "core/trace_text.h"
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

// Edit distance counting a swap of two neighbours as one edit (optimal string
// alignment), so that "nte" is one edit from "net".
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// A typo (an edit per four letters, at least one) or a part of the name
// ("receive" for netif_receive_skb).
bool near(std::string_view typed, std::string_view known) {
  if (typed.empty()) return false;
  return edit_distance(typed, known) <= std::max<size_t>(1, known.size() / 4) ||
         known.find(typed) != std::string_view::npos || typed.find(known) != std::string_view::npos;
}

std::string_view group_of(std::string_view name) { return name.substr(0, name.find(':')); }
std::string_view event_of(std::string_view name) {
  const size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) out += (out.empty() ? "" : ", ") + word;
  return out;
}

// Why a well-formed pattern names nothing the stack emits, with the names it
// may have meant; "" when it matches some tracepoint.
std::string unknown_pattern_problem(const std::string& pattern) {
  const std::vector<std::string> names = tracepoint_names();
  for (const std::string& name : names)
    if (Tracer::pattern_matches(pattern, name)) return "";
  const std::string_view group = group_of(pattern);
  const std::string_view event = event_of(pattern);
  if (group == "checkpoint")
    return "trace filter event " + quoted(pattern) +
           ": checkpoints are not chosen by name; set checkpoints to receive them";

  std::vector<std::string> groups;
  for (const std::string& name : names) {
    const std::string g(group_of(name));
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  }
  const bool group_known = std::find(groups.begin(), groups.end(), group) != groups.end();
  if (event == "*" || !group_known) {
    std::vector<std::string> close;
    for (const std::string& g : groups)
      if (near(group, g)) close.push_back(g + ":*");
    if (event != "*")  // the event may exist under another group ("net:kfree_skb")
      for (const std::string& name : names)
        if (event_of(name) == event) close.push_back(name);
    return "unknown trace group " + quoted(std::string(group)) + " in " + quoted(pattern) +
           (close.empty() ? "" : " (did you mean " + joined(close) + "?)") +
           "; groups: " + joined(groups);
  }
  std::vector<std::string> close, in_group;
  for (const std::string& name : names) {
    if (near(event, event_of(name))) close.push_back(name);
    if (group_of(name) == group) in_group.push_back(name);
  }
  return "unknown trace event " + quoted(pattern) +
         (close.empty() ? "" : " (did you mean " + joined(close) + "?)") + "; " +
         std::string(group) + " has " + joined(in_group);
}

// For a pattern without "group:": the tracepoints whose event part it resembles.
std::string suggestions_for(const std::string& pattern) {
  std::vector<std::string> close;
  for (const std::string& name : tracepoint_names())
    if (near(event_of(pattern), event_of(name))) close.push_back(name);
  return close.empty() ? "" : " (did you mean " + joined(close) + "?)";
}

}  // namespace

grpc::Status to_stack_filter(const v1::TraceFilter& in, TraceFilter& out) {
  out.events.clear();
  for (const std::string& pattern : in.events()) {
    if (!valid_pattern(pattern))
      return invalid("trace filter event " + quoted(pattern) +
                     " is not \"group:event\", \"group:*\" or \"*\"" + suggestions_for(pattern));
    if (auto problem = unknown_pattern_problem(pattern); !problem.empty()) return invalid(problem);
    out.events.push_back(pattern);
  }
  out.checkpoints = in.checkpoints();
  out.skb_data = in.skb_data();
  return grpc::Status::OK;
}

void to_proto(const TraceRecord& in, v1::TraceEvent& out) {
  out.set_time_ns(in.time_ns());
  trace_record_name(in, *out.mutable_name());
  out.set_skb(in.skb());
  auto* fields = out.mutable_fields();
  fields->Reserve(static_cast<int>(in.size()));
  for (const TraceField& f : in) {
    auto* field = fields->Add();
    field->set_key(f.name);
    trace_field_text(f, *field->mutable_value());
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
