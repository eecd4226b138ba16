#include "wire/checksum.h"

#include <endian.h>

#include <cstring>

#include "wire/bytes.h"

namespace nettwin::wire {

uint64_t csum_partial(const uint8_t* data, size_t len, uint64_t sum) {
  // The sum of big-endian 32-bit words, 8 bytes a load: 2^32 such words
  // cannot overflow 64 bits.
  while (len >= 8) {
    uint64_t w;
    std::memcpy(&w, data, 8);
    w = be64toh(w);
    sum += (w >> 32) + (w & 0xffffffffu);
    data += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t w;
    std::memcpy(&w, data, 4);
    sum += be32toh(w);
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

uint64_t csum_tcpudp_nofold(uint32_t saddr, uint32_t daddr, unsigned len, uint8_t proto) {
  uint8_t ph[12];
  store_be32(ph, saddr);
  store_be32(ph + 4, daddr);
  ph[8] = 0;
  ph[9] = proto;
  store_be16(ph + 10, uint16_t(len));
  return csum_partial(ph, sizeof ph);
}

}  // namespace nettwin::wire
