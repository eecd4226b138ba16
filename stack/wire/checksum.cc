#include "wire/checksum.h"

#include <cstring>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace nettwin::wire {

namespace {
// acc + w with the carry out added back in (x86-64: add, adc $0).
inline uint64_t add64_carry(uint64_t acc, uint64_t w) {
  acc += w;
  return acc + (acc < w);
}
inline uint64_t load64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
}  // namespace

// As Linux's do_csum: the bytes are summed as native (little-endian) 64-bit
// words with end-around carry; the one's-complement sum is byte-order
// independent (RFC 1071 2.B), so the 16-bit fold is swapped into big-endian
// order once at the end and added to sum.
uint64_t csum_partial(const uint8_t* data, size_t len, uint64_t sum) {
  uint64_t acc = 0;
#if defined(__x86_64__)
  // 64 bytes a round as one add-with-carry chain (adcq, as do_csum's
  // unrolled loop); the carry left over goes back in at the end.
  if (len >= 64) {
    unsigned long long a = 0;
    unsigned char c = 0;
    do {
      c = _addcarry_u64(c, a, load64(data), &a);
      c = _addcarry_u64(c, a, load64(data + 8), &a);
      c = _addcarry_u64(c, a, load64(data + 16), &a);
      c = _addcarry_u64(c, a, load64(data + 24), &a);
      c = _addcarry_u64(c, a, load64(data + 32), &a);
      c = _addcarry_u64(c, a, load64(data + 40), &a);
      c = _addcarry_u64(c, a, load64(data + 48), &a);
      c = _addcarry_u64(c, a, load64(data + 56), &a);
      data += 64;
      len -= 64;
    } while (len >= 64);
    acc = add64_carry(a, c);
  }
#endif
  while (len >= 32) {
    acc = add64_carry(acc, load64(data));
    acc = add64_carry(acc, load64(data + 8));
    acc = add64_carry(acc, load64(data + 16));
    acc = add64_carry(acc, load64(data + 24));
    data += 32;
    len -= 32;
  }
  while (len >= 8) {
    acc = add64_carry(acc, load64(data));
    data += 8;
    len -= 8;
  }
  if (len) {
    // The last 1..7 bytes, zero-padded: an odd last byte is the high (first)
    // byte of its big-endian word, the low byte of a native one.
    uint64_t w = 0;
    unsigned shift = 0;
    if (len & 4) {
      uint32_t x;
      std::memcpy(&x, data, 4);
      w = x;
      data += 4;
      shift = 32;
    }
    if (len & 2) {
      uint16_t x;
      std::memcpy(&x, data, 2);
      w |= uint64_t(x) << shift;
      data += 2;
      shift += 16;
    }
    if (len & 1) w |= uint64_t(*data) << shift;
    acc = add64_carry(acc, w);
  }
  // Fold without complement; 0 only when every byte was 0, as the plain sum.
  const uint16_t folded = uint16_t(~csum_fold(acc));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return sum + __builtin_bswap16(folded);
#else
  return sum + folded;
#endif
}

}  // namespace nettwin::wire
