// The Internet checksum (RFC 1071) computed with 64-bit wide adds, like the
// kernel's csum_partial on x86-64: add 64-bit words with carry into a 64-bit
// accumulator and fold once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nettwin::wire {

// One's-complement sum of len bytes (big-endian 16-bit words), continued from
// sum. Not folded: feed the result to csum_fold. Pieces chained through sum
// must each start at an even offset of the whole.
uint64_t csum_partial(const uint8_t* data, size_t len, uint64_t sum = 0);
// Fold to 16 bits and complement: the value that goes into a header. 64 to
// 32 bits, then 32 to 16, each with its end-around carry (as Linux's csum_fold).
inline uint16_t csum_fold(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  uint32_t s = uint32_t(sum);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s & 0xffff);
}
// 0xffff: the one's-complement zero a checksum field carries in place of 0 (UDP's
// 0 means "no checksum"; skb_checksum_help writes it for every protocol).
constexpr uint16_t CSUM_MANGLED_0 = 0xffff;
// skb_checksum_help's store, `csum_fold(csum) ?: CSUM_MANGLED_0`: how Linux completes
// a CHECKSUM_PARTIAL skb in software for a device without tx checksumming.
inline uint16_t csum_fold_mangled(uint64_t sum) {
  const uint16_t check = csum_fold(sum);
  return check ? check : CSUM_MANGLED_0;
}
// ip_fast_csum: 0 when the header of ihl 32-bit words checks out. As
// Linux's: native 32-bit words added into 64 bits (15 words cannot carry
// out), folded, and the fold swapped into big-endian order.
inline uint16_t ip_fast_csum(const uint8_t* iph, unsigned ihl) {
  uint64_t sum = 0;
  if (ihl == 5) [[likely]] {  // no options: five words, no loop
    uint32_t w[5];
    std::memcpy(w, iph, 20);
    sum = uint64_t(w[0]) + w[1] + w[2] + w[3] + w[4];
  } else {
    for (unsigned i = 0; i < ihl; ++i) {
      uint32_t w;
      std::memcpy(&w, iph + 4 * i, 4);
      sum += w;
    }
  }
  const uint16_t folded = uint16_t(~csum_fold(sum));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return uint16_t(~__builtin_bswap16(folded));
#else
  return uint16_t(~folded);
#endif
}
// csum_tcpudp_nofold: the IPv4 pseudo header's sum (addresses in host order),
// the start of every TCP and UDP checksum. A 32-bit address adds as its two
// 16-bit halves do (2^16 = 1 in one's complement), so no splitting is needed.
inline uint64_t csum_tcpudp_nofold(uint32_t saddr, uint32_t daddr, unsigned len, uint8_t proto) {
  return uint64_t(saddr) + daddr + proto + uint16_t(len);
}

}  // namespace nettwin::wire
