#include "text_parse.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstdio>

namespace nettwin::server {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr size_t kIfNameSize = 16;  // IFNAMSIZ, including the terminating NUL

}  // namespace

std::optional<Mac> parse_mac(std::string_view text) {
  // Six two-digit hex groups separated by one kind of separator.
  if (text.size() != 17) return std::nullopt;
  const char sep = text[2];
  if (sep != ':' && sep != '-') return std::nullopt;
  Mac mac{};
  for (size_t i = 0; i < 6; ++i) {
    const size_t at = i * 3;
    const int hi = hex_value(text[at]);
    const int lo = hex_value(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && text[at + 2] != sep) return std::nullopt;
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return mac;
}

std::string format_mac(const Mac& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return buf;
}

bool is_multicast_mac(const Mac& mac) { return (mac[0] & 1) != 0; }

bool is_zero_mac(const Mac& mac) {
  for (uint8_t b : mac)
    if (b != 0) return false;
  return true;
}

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  char buf[16];
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  in_addr addr{};
  if (inet_pton(AF_INET, buf, &addr) != 1) return std::nullopt;
  return ntohl(addr.s_addr);
}

std::optional<Cidr> parse_cidr(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto addr = parse_ipv4(text.substr(0, slash));
  if (!addr) return std::nullopt;
  const auto len_text = text.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 2) return std::nullopt;
  const auto len = parse_u64(len_text);
  if (!len || *len > 32) return std::nullopt;
  return Cidr{*addr, static_cast<int>(*len)};
}

std::optional<std::string> device_name_problem(std::string_view name) {
  if (name.empty()) return "device name is empty";
  if (name.size() >= kIfNameSize)
    return "device name " + quoted(name) + " is longer than 15 characters (IFNAMSIZ)";
  if (name == "." || name == "..") return "device name " + quoted(name) + " is not allowed";
  for (char c : name) {
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) ||
        !std::isprint(static_cast<unsigned char>(c)))
      return "device name " + quoted(name) + " contains '/', ':', white space or a control character";
  }
  return std::nullopt;
}

std::optional<DeviceKind> parse_device_kind(std::string_view text) {
  if (text == "ring") return DeviceKind::Ring;
  if (text == "veth") return DeviceKind::Veth;
  if (text == "loopback") return DeviceKind::Loopback;
  return std::nullopt;
}

const char* device_kind_name(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::Ring: return "ring";
    case DeviceKind::Veth: return "veth";
    case DeviceKind::Loopback: return "loopback";
  }
  return "unknown";
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::string> parse_neigh_state(std::string_view text) {
  if (text.empty()) return std::string("permanent");
  for (const char* state : {"permanent", "reachable", "stale", "noarp"})
    if (text == state) return std::string(state);
  return std::nullopt;
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (std::isprint(u)) {
      out += c;
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  out += '"';
  return out;
}

}  // namespace nettwin::server
