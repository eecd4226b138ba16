// The text of trace fields written straight into a char buffer, as the
// printf formats the tracepoints use would write it (%u/%d, %pI4, %pM, %p),
// without printf's parsing or a std::string per value. Each writer returns
// the end of what it wrote; the caller's buffer must hold the maximum given.
#pragma once

#include <charconv>
#include <cstdint>

namespace nettwin::trace_fmt {

// %llu / %lld: at most 20 characters.
inline char* put_u64(char* p, uint64_t v) { return std::to_chars(p, p + 20, v).ptr; }
inline char* put_i64(char* p, int64_t v) { return std::to_chars(p, p + 20, v).ptr; }

// One octet as %u: 1 to 3 digits.
inline char* put_u8(char* p, unsigned v) {
  if (v >= 100) {
    *p++ = char('0' + v / 100);
    v %= 100;
    *p++ = char('0' + v / 10);
  } else if (v >= 10) {
    *p++ = char('0' + v / 10);
  }
  *p++ = char('0' + v % 10);
  return p;
}

// A host-order IPv4 address as "%u.%u.%u.%u": at most 15 characters.
inline char* put_ipv4(char* p, uint32_t a) {
  p = put_u8(p, a >> 24);
  *p++ = '.';
  p = put_u8(p, (a >> 16) & 0xff);
  *p++ = '.';
  p = put_u8(p, (a >> 8) & 0xff);
  *p++ = '.';
  return put_u8(p, a & 0xff);
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
