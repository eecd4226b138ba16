// nettwin-tcp-bulk: one bulk TCP transfer between two stacks in one process
// (tcp_bulk_pair.h), optionally over a link losing a share of its frames
// (seeded), then its figures on one line. ci/bench.sh runs it under
// callgrind to count instructions per data segment where no PMU is at hand:
// only counted_transfer is counted (--toggle-collect), so the setup, the
// handshake and the warm-up are left out. As nettwin-lwip-bench tcp, the first
// MiB warms the pair (pools filled, slow start over) before the timed transfer.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_frames.h"  // thread_cpu_ns
#include "tcp_bulk_pair.h"

namespace {

// The timed (and counted) transfer: `chunks` chunks, each written and read whole.
__attribute__((noipa)) bool counted_transfer(nettwin::bench::TcpBulkPair& p, const std::vector<uint8_t>& chunk,
                                             long chunks) {
  for (long i = 0; i < chunks; ++i)
    if (!nettwin::bench::bulk_transfer_chunk(p, chunk)) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const long mib = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 64;
  const double loss_pct = argc > 2 ? std::strtod(argv[2], nullptr) : 0;
  if (argc > 3 || mib <= 0 || loss_pct < 0 || loss_pct >= 100) {
    std::fprintf(stderr, "usage: nettwin-tcp-bulk [MiB, default 64] [loss %%, default 0]\n");
    return 2;
  }
  nettwin::bench::TcpBulkPair p;
  if (const std::string err = p.open(); !err.empty()) {
    std::fprintf(stderr, "nettwin-tcp-bulk: %s\n", err.c_str());
    return 1;
  }
  p.loss.rate = loss_pct / 100;
  const std::vector<uint8_t> chunk(64 * 1024, 0x5a);
  constexpr long kChunksPerMib = 16;
  for (long i = 0; i < kChunksPerMib; ++i) {  // the warm-up MiB, neither timed nor counted
    if (!nettwin::bench::bulk_transfer_chunk(p, chunk)) {
      std::fprintf(stderr, "nettwin-tcp-bulk: the transfer stalled warming up\n");
      return 1;
    }
  }
  p.segments = p.loss.dropped = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = nettwin::bench::thread_cpu_ns();
  if (!counted_transfer(p, chunk, mib * kChunksPerMib)) {
    std::fprintf(stderr, "nettwin-tcp-bulk: the transfer stalled\n");
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu_s = (nettwin::bench::thread_cpu_ns() - cpu0) / 1e9;
  const double bytes = double(mib) * 1024 * 1024;
  std::printf("bytes=%.0f segments=%llu dropped=%llu seconds=%.3f gbit_per_s=%.2f cpu_gbit_per_s=%.2f\n", bytes,
              static_cast<unsigned long long>(p.segments), static_cast<unsigned long long>(p.loss.dropped), s,
              bytes * 8 / 1e9 / s, bytes * 8 / 1e9 / cpu_s);
  return 0;
}
