// net/core/secure_seq.c: ISNs, timestamp offsets and ephemeral-port offsets
// from siphash over the 4-tuple with per-net secrets.
// Linux fills its secrets once, on first use (net_get_random_once); here they
// are drawn from the Net's seeded Rng on first use, so one seed gives the same
// ISNs and draws made before the first TCP connection stay where they were.
// Addresses and ports are host order (as the stack keeps them); they are fed
// to siphash as the __be32/__be16 bits an x86 kernel would hash.
#pragma once

#include <cstdint>

#include "core/rng.h"
#include "core/siphash.h"

namespace nettwin {

class Net;

// The keys of secure_seq.c (net_secret, ts_secret) and syncookies.c
// (syncookie_secret[2]), each set filled on first use.
struct NetSecrets {
  const siphash_key_t& net_secret(Rng& rng);
  const siphash_key_t& ts_secret(Rng& rng);
  const siphash_key_t* syncookie_secret(Rng& rng);  // two keys

 private:
  siphash_key_t net_{}, ts_{}, syncookie_[2]{};
  bool net_init_ = false, ts_init_ = false, syncookie_init_ = false;
};

// The __force u32 of an __be32/__be16 on a little-endian host.
inline uint32_t be32_bits(uint32_t host) { return __builtin_bswap32(host); }
inline uint32_t be16_bits(uint16_t host) { return __builtin_bswap16(host); }

// seq_scale: hash plus the 64 ns clock (ktime_get_real_ns() >> 6, period 274 s).
inline uint32_t seq_scale(uint32_t seq, uint64_t real_ns) { return seq + uint32_t(real_ns >> 6); }

// The initial sequence number of a connection; the clock is net.engine.now().
uint32_t secure_tcp_seq(Net& net, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport);
// tp->tsoffset: 0 unless net.ipv4.tcp_timestamps is 1 (passed in, the value of
// that sysctl).
uint32_t secure_tcp_ts_off(Net& net, int sysctl_tcp_timestamps, uint32_t saddr, uint32_t daddr);
// The offset __inet_hash_connect starts its ephemeral-port search from.
// (The 64-bit siphash: __inet_hash_connect takes a table index from its low
// bits and adds its high 32 bits.)
uint64_t secure_ipv4_port_ephemeral(Net& net, uint32_t saddr, uint32_t daddr, uint16_t dport);

}  // namespace nettwin
