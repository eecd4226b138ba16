// The frames the per-frame benchmarks feed both nettwin and lwIP: Ethernet
// 02:00:00:00:01:01 > 02:00:00:00:01:02, IPv4 198.51.100.1 > 198.51.100.2.
// Plain byte builders with no stack code, so that either stack can take them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <utility>
#include <vector>

namespace nettwin::bench {

// The ones' complement sum of f[off, off+len) folded to 16 bits, plus `sum`.
inline uint16_t fold_csum(const std::vector<uint8_t>& f, size_t off, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += uint32_t(f[off + i] << 8 | f[off + i + 1]);
  if (len & 1) sum += uint32_t(f[off + len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

inline std::vector<uint8_t> ether_ipv4(uint8_t protocol, size_t l4_len) {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 1, 2, 0x02, 0, 0, 0, 1, 1, 0x08, 0x00};
  const size_t tot = 20 + l4_len;
  const uint8_t ip[20] = {0x45, 0, uint8_t(tot >> 8), uint8_t(tot), 0x10, 0x01, 0x40, 0, 64, protocol, 0, 0,
                          198, 51, 100, 1, 198, 51, 100, 2};
  f.insert(f.end(), ip, ip + 20);
  const uint16_t c = uint16_t(~fold_csum(f, 14, 20));
  f[24] = uint8_t(c >> 8);
  f[25] = uint8_t(c);
  return f;
}

// UDP 4000 > 5000 carrying `payload` bytes (0, 1, 2, ...). With `checksum`
// the UDP checksum is filled in (and so verified by the receiver); else 0.
inline std::vector<uint8_t> udp_frame(size_t payload, bool checksum = false) {
  std::vector<uint8_t> f = ether_ipv4(17, 8 + payload);
  const size_t ulen = 8 + payload;
  const uint8_t udp[8] = {0x0f, 0xa0, 0x13, 0x88, uint8_t(ulen >> 8), uint8_t(ulen), 0, 0};
  f.insert(f.end(), udp, udp + 8);
  for (size_t i = 0; i < payload; ++i) f.push_back(uint8_t(i));
  if (checksum) {
    // Pseudo-header: addresses, protocol, UDP length.
    uint32_t pseudo = 0xc633 + 0x6401 + 0xc633 + 0x6402 + 17 + uint32_t(ulen);
    uint16_t c = uint16_t(~fold_csum(f, 34, ulen, pseudo));
    if (c == 0) c = 0xffff;
    f[40] = uint8_t(c >> 8);
    f[41] = uint8_t(c);
  }
  return f;
}

// An ICMP echo request, id 0x4e54 sequence 1, carrying `payload` bytes.
inline std::vector<uint8_t> echo_request(size_t payload) {
  std::vector<uint8_t> f = ether_ipv4(1, 8 + payload);
  const uint8_t icmp[8] = {8, 0, 0, 0, 0x4e, 0x54, 0, 1};
  f.insert(f.end(), icmp, icmp + 8);
  for (size_t i = 0; i < payload; ++i) f.push_back(uint8_t(i));
  const uint16_t c = uint16_t(~fold_csum(f, 34, 8 + payload));
  f[36] = uint8_t(c >> 8);
  f[37] = uint8_t(c);
  return f;
}

// This thread's CPU time in ns: on a shared, loaded machine the wall clock also
// counts the time other processes ran, the thread's CPU clock does not.
inline double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

// The payload sizes of the figures: a 60-byte frame (the Ethernet minimum
// without FCS) and a 1514-byte one (MTU 1500).
constexpr size_t kUdpPayload60 = 60 - 14 - 20 - 8;
constexpr size_t kUdpPayload1514 = 1514 - 14 - 20 - 8;
constexpr size_t kEchoPayload60 = 60 - 14 - 20 - 8;

// n of a rig's frames (r.step() carries one). counted_frames is what callgrind counts
// (--toggle-collect='*counted_frames*'); noipa keeps both out of their callers.
template <class R>
void run_frames(R& r, long n) {
  for (long i = 0; i < n; ++i) r.step();
}
template <class R>
__attribute__((noipa)) void counted_frames(R& r, long n) { run_frames(r, n); }
template <class R>
__attribute__((noipa)) void timed_frames(R& r, long n) { run_frames(r, n); }

// n frames: once when counted (callgrind counts the instructions), else five times,
// timed. Returns the best run's thread CPU ns per frame (0 when counted) and how many
// frames went in.
template <class R>
std::pair<double, long> per_frame_ns(R& r, long n, bool count) {
  if (count) {
    counted_frames(r, n);
    return {0, n};
  }
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = thread_cpu_ns();
    timed_frames(r, n);
    const double ns = (thread_cpu_ns() - t0) / double(n);
    best = rep ? std::min(best, ns) : ns;
  }
  return {best, 5 * n};
}

}  // namespace nettwin::bench
