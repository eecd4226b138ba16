#include "wire/bytes.h"

#include <cstdio>

namespace nettwin::wire {

std::string format_ipv4(Ipv4Addr a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
  return buf;
}

std::string format_mac(const MacAddr& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

bool parse_ipv4(const std::string& text, Ipv4Addr* out) {
  uint32_t value = 0;
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
    size_t start = i;
    uint32_t octet = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
      octet = octet * 10 + uint32_t(text[i] - '0');
      ++i;
    }
    if (i == start || octet > 255) return false;
    if (i - start > 1 && text[start] == '0') return false;  // no leading zeros (octal ambiguity)
    value = (value << 8) | octet;
  }
  if (i != text.size()) return false;
  *out = value;
  return true;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_mac(const std::string& text, MacAddr* out) {
  if (text.size() != 17) return false;
  MacAddr m{};
  for (size_t b = 0; b < 6; ++b) {
    size_t i = b * 3;
    int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    if (b < 5 && text[i + 2] != ':') return false;
    m[b] = uint8_t(hi * 16 + lo);
  }
  *out = m;
  return true;
}

}  // namespace nettwin::wire
