// net/core/secure_seq.c, IPv4 half.
#include "core/secure_seq.h"

#include "core/net.h"

namespace nettwin {
namespace {

void fill_key(siphash_key_t* k, Rng& rng) {
  k->key[0] = rng.next();
  k->key[1] = rng.next();
}

}  // namespace

const siphash_key_t& NetSecrets::net_secret(Rng& rng) {
  if (!net_init_) fill_key(&net_, rng), net_init_ = true;
  return net_;
}

const siphash_key_t& NetSecrets::ts_secret(Rng& rng) {
  if (!ts_init_) fill_key(&ts_, rng), ts_init_ = true;
  return ts_;
}

const siphash_key_t* NetSecrets::syncookie_secret(Rng& rng) {
  if (!syncookie_init_) {
    fill_key(&syncookie_[0], rng);
    fill_key(&syncookie_[1], rng);
    syncookie_init_ = true;
  }
  return syncookie_;
}

uint32_t secure_tcp_seq(Net& net, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport) {
  const siphash_key_t& key = net.secrets.net_secret(net.rng);
  uint32_t hash = uint32_t(siphash_3u32(be32_bits(saddr), be32_bits(daddr),
                                        be16_bits(sport) << 16 | be16_bits(dport), &key));
  return seq_scale(hash, net.engine.now());
}

uint32_t secure_tcp_ts_off(Net& net, int sysctl_tcp_timestamps, uint32_t saddr, uint32_t daddr) {
  if (sysctl_tcp_timestamps != 1) return 0;
  const siphash_key_t& key = net.secrets.ts_secret(net.rng);
  return uint32_t(siphash_2u32(be32_bits(saddr), be32_bits(daddr), &key));
}

uint64_t secure_ipv4_port_ephemeral(Net& net, uint32_t saddr, uint32_t daddr, uint16_t dport) {
  const siphash_key_t& key = net.secrets.net_secret(net.rng);
  return uint64_t(siphash_3u32(be32_bits(saddr), be32_bits(daddr), be16_bits(dport), &key));
}

}  // namespace nettwin
