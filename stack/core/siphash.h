// SipHash-2-4 after lib/siphash.c: the keyed PRF behind ISNs, timestamp
// offsets, ephemeral port offsets and syncookies (secure_seq.c, syncookies.c).
// The fixed-width helpers hash their words as the little-endian bytes Linux
// would see in memory, so siphash_3u32(a,b,c) == siphash(&{a,b,c}, 12).
#pragma once

#include <cstddef>
#include <cstdint>

namespace nettwin {

struct siphash_key_t {
  uint64_t key[2];
};

uint64_t siphash(const void* data, size_t len, const siphash_key_t* key);

uint64_t siphash_1u64(uint64_t a, const siphash_key_t* key);
uint64_t siphash_2u64(uint64_t a, uint64_t b, const siphash_key_t* key);
uint64_t siphash_3u64(uint64_t a, uint64_t b, uint64_t c, const siphash_key_t* key);
uint64_t siphash_4u64(uint64_t a, uint64_t b, uint64_t c, uint64_t d, const siphash_key_t* key);
uint64_t siphash_1u32(uint32_t a, const siphash_key_t* key);
uint64_t siphash_3u32(uint32_t a, uint32_t b, uint32_t c, const siphash_key_t* key);

// As include/linux/siphash.h: two u32 pack into one u64, first word low.
inline uint64_t siphash_2u32(uint32_t a, uint32_t b, const siphash_key_t* key) {
  return siphash_1u64(uint64_t(b) << 32 | a, key);
}
inline uint64_t siphash_4u32(uint32_t a, uint32_t b, uint32_t c, uint32_t d, const siphash_key_t* key) {
  return siphash_2u64(uint64_t(b) << 32 | a, uint64_t(d) << 32 | c, key);
}

}  // namespace nettwin
