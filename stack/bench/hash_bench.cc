// The keyed hashes on the TCP connect/SYN path: one siphash_3u32 per ISN.
#include <benchmark/benchmark.h>

#include "core/net.h"
#include "core/secure_seq.h"
#include "core/siphash.h"

namespace nettwin {
namespace {

void BM_Siphash3u32(benchmark::State& state) {
  const siphash_key_t key = {{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull}};
  uint32_t a = 0xc6336401;
  for (auto _ : state) benchmark::DoNotOptimize(siphash_3u32(a++, 0xcb007102, 0x9c400050, &key));
}

void BM_SecureTcpSeq(benchmark::State& state) {
  Net net{1};
  uint16_t sport = 1024;
  for (auto _ : state) benchmark::DoNotOptimize(secure_tcp_seq(net, 0xc6336401, 0xcb007102, sport++, 80));
}

}  // namespace

BENCHMARK(BM_Siphash3u32);
BENCHMARK(BM_SecureTcpSeq);

}  // namespace nettwin
