#include "wire/checksum.h"

#include <cstring>

namespace nettwin::wire {

uint64_t csum_partial(const uint8_t* data, size_t len, uint64_t sum) {
  // Sum big-endian 32-bit words: 2^32 of them cannot overflow 64 bits.
  while (len >= 4) {
    sum += (uint64_t(data[0]) << 24) | (uint64_t(data[1]) << 16) | (uint64_t(data[2]) << 8) | data[3];
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    sum += (uint64_t(data[0]) << 8) | data[1];
    data += 2;
    len -= 2;
  }
  if (len == 1) sum += uint64_t(data[0]) << 8;
  return sum;
}

uint16_t csum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum & 0xffff);
}

}  // namespace nettwin::wire
