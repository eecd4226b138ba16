// The Internet checksum (RFC 1071) computed with 64-bit wide adds, like the
// kernel's csum_partial on x86-64: add 32-bit words into a 64-bit accumulator
// and fold once at the end.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nettwin::wire {

// One's-complement sum of len bytes (big-endian 16-bit words), continued from
// sum. Not folded: feed the result to csum_fold.
uint64_t csum_partial(const uint8_t* data, size_t len, uint64_t sum = 0);
// Fold to 16 bits and complement: the value that goes into a header.
uint16_t csum_fold(uint64_t sum);
// ip_fast_csum: 0 when the header of ihl 32-bit words checks out.
inline uint16_t ip_fast_csum(const uint8_t* iph, unsigned ihl) {
  return csum_fold(csum_partial(iph, size_t(ihl) * 4));
}
// csum_tcpudp_nofold: the IPv4 pseudo header's sum (addresses in host order),
// the start of every TCP and UDP checksum.
uint64_t csum_tcpudp_nofold(uint32_t saddr, uint32_t daddr, unsigned len, uint8_t proto);

}  // namespace nettwin::wire
