// The text of trace fields written straight into a char buffer, as the
// printf formats the tracepoints use would write it (%u/%d, %pI4, %pM, %p),
// without printf's parsing or a std::string per value. Each writer returns
// the end of what it wrote; the caller's buffer must hold the maximum given.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace nettwin::trace_fmt {

// %llu / %lld: at most 20 characters.
inline char* put_u64(char* p, uint64_t v) { return std::to_chars(p, p + 20, v).ptr; }
inline char* put_i64(char* p, int64_t v) { return std::to_chars(p, p + 20, v).ptr; }

// Each octet value's "%u." (2 to 4 bytes) and its length, so that a dotted
// quad is four table reads and four 4-byte stores.
struct OctetText {
  char text[4];
  uint8_t len;
};
inline constexpr std::array<OctetText, 256> kOctetTexts = [] {
  std::array<OctetText, 256> t{};
  for (unsigned v = 0; v < 256; ++v) {
    unsigned n = 0;
    if (v >= 100) t[v].text[n++] = char('0' + v / 100);
    if (v >= 10) t[v].text[n++] = char('0' + v / 10 % 10);
    t[v].text[n++] = char('0' + v % 10);
    t[v].text[n++] = '.';
    t[v].len = uint8_t(n);
  }
  return t;
}();

// A host-order IPv4 address as "%u.%u.%u.%u": at most 15 characters, but it
// stores 16 bytes (the last octet's dot, not counted).
inline char* put_ipv4(char* p, uint32_t a) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    const OctetText& o = kOctetTexts[(a >> shift) & 0xff];
    std::memcpy(p, o.text, 4);
    p += o.len;
  }
  return p - 1;
}

inline constexpr char kHexDigits[] = "0123456789abcdef";

// A MAC address as "%02x:%02x:%02x:%02x:%02x:%02x": 17 characters.
inline char* put_mac(char* p, const uint8_t* m) {
  for (int i = 0; i < 6; ++i) {
    if (i) *p++ = ':';
    *p++ = kHexDigits[m[i] >> 4];
    *p++ = kHexDigits[m[i] & 15];
  }
  return p;
}

// A pointer as glibc's %p: "(nil)", else "0x" and lowercase hex without
// leading zeros. At most 18 characters.
inline char* put_ptr(char* p, const void* v) {
  const uintptr_t x = reinterpret_cast<uintptr_t>(v);
  if (!x) {
    for (const char* s = "(nil)"; *s;) *p++ = *s++;
    return p;
  }
  *p++ = '0';
  *p++ = 'x';
  return std::to_chars(p, p + 16, x, 16).ptr;
}

}  // namespace nettwin::trace_fmt
