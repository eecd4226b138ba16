// SipHash-2-4 (Aumasson & Bernstein): 2 compression rounds per 8-byte word,
// 4 finalization rounds; the last word carries the message length in its top byte.
#include "core/siphash.h"

namespace nettwin {
namespace {

inline uint64_t rol64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

struct SipState {
  uint64_t v0, v1, v2, v3;
  explicit SipState(const siphash_key_t* k)
      : v0(0x736f6d6570736575ull ^ k->key[0]),
        v1(0x646f72616e646f6dull ^ k->key[1]),
        v2(0x6c7967656e657261ull ^ k->key[0]),
        v3(0x7465646279746573ull ^ k->key[1]) {}
  void round() {
    v0 += v1; v1 = rol64(v1, 13); v1 ^= v0; v0 = rol64(v0, 32);
    v2 += v3; v3 = rol64(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rol64(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rol64(v1, 17); v1 ^= v2; v2 = rol64(v2, 32);
  }
  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  uint64_t finish() {
    v2 ^= 0xff;
    round(); round(); round(); round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

// Bytes to a little-endian word, whatever the host order and alignment.
inline uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t w = 0;
  for (size_t i = 0; i < n; ++i) w |= uint64_t(p[i]) << (8 * i);
  return w;
}

inline uint64_t len_word(size_t len) { return uint64_t(len) << 56; }

}  // namespace

uint64_t siphash(const void* data, size_t len, const siphash_key_t* key) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  SipState s(key);
  size_t whole = len & ~size_t(7);
  for (size_t i = 0; i < whole; i += 8) s.compress(load_le(p + i, 8));
  s.compress(len_word(len) | load_le(p + whole, len & 7));
  return s.finish();
}

uint64_t siphash_1u64(uint64_t a, const siphash_key_t* key) {
  SipState s(key);
  s.compress(a);
  s.compress(len_word(8));
  return s.finish();
}

uint64_t siphash_2u64(uint64_t a, uint64_t b, const siphash_key_t* key) {
  SipState s(key);
  s.compress(a);
  s.compress(b);
  s.compress(len_word(16));
  return s.finish();
}

uint64_t siphash_3u64(uint64_t a, uint64_t b, uint64_t c, const siphash_key_t* key) {
  SipState s(key);
  s.compress(a);
  s.compress(b);
  s.compress(c);
  s.compress(len_word(24));
  return s.finish();
}

uint64_t siphash_4u64(uint64_t a, uint64_t b, uint64_t c, uint64_t d, const siphash_key_t* key) {
  SipState s(key);
  s.compress(a);
  s.compress(b);
  s.compress(c);
  s.compress(d);
  s.compress(len_word(32));
  return s.finish();
}

uint64_t siphash_1u32(uint32_t a, const siphash_key_t* key) {
  SipState s(key);
  s.compress(len_word(4) | a);
  return s.finish();
}

uint64_t siphash_3u32(uint32_t a, uint32_t b, uint32_t c, const siphash_key_t* key) {
  SipState s(key);
  s.compress(uint64_t(b) << 32 | a);
  s.compress(len_word(12) | c);
  return s.finish();
}

}  // namespace nettwin
