// include/linux/jhash.h: Bob Jenkins' lookup3 hash as the kernel computes it
// (jhash_3words), for the socket hashes that pick a SO_REUSEPORT member.
#pragma once

#include <cstdint>

namespace nettwin {

inline uint32_t rol32(uint32_t w, unsigned s) { return (w << s) | (w >> (32 - s)); }

inline uint32_t jhash_3words(uint32_t a, uint32_t b, uint32_t c, uint32_t initval) {
  constexpr uint32_t JHASH_INITVAL = 0xdeadbeef;
  a += JHASH_INITVAL + (3u << 2) + initval;  // __jhash_nwords(a, b, c, initval + JHASH_INITVAL + (3 << 2))
  b += JHASH_INITVAL + (3u << 2) + initval;
  c += JHASH_INITVAL + (3u << 2) + initval;
  // __jhash_final
  c ^= b; c -= rol32(b, 14);
  a ^= c; a -= rol32(c, 11);
  b ^= a; b -= rol32(a, 25);
  c ^= b; c -= rol32(b, 16);
  a ^= c; a -= rol32(c, 4);
  b ^= a; b -= rol32(a, 14);
  c ^= b; c -= rol32(b, 24);
  return c;
}

}  // namespace nettwin
