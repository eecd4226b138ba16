// Bulk TCP between two nettwin stacks in one process (tcp_bulk_pair.h).
// Figures: Gbit/s of payload and
// CPU time and instructions per data segment (perf_event_open, user space
// only, where the machine has a PMU), with
// tracing off and with one trace subscriber on each stack, and with tracing
// off over a link losing 1% of the frames either way (seeded: loss recovery's
// cost, retransmissions counted as segments).
#include <benchmark/benchmark.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "tcp_bulk_pair.h"

namespace {

using namespace nettwin;

constexpr size_t kChunk = 64 * 1024;  // one send() / recv()

// Counts this thread's user-space instructions; -1 when perf events are not allowed here.
class InstructionCounter {
 public:
  InstructionCounter() {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_HARDWARE;
    attr.config = PERF_COUNT_HW_INSTRUCTIONS;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    fd_ = int(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  }
  ~InstructionCounter() {
    if (fd_ >= 0) close(fd_);
  }
  long long read_count() const {
    long long v = -1;
    if (fd_ < 0 || ::read(fd_, &v, sizeof(v)) != sizeof(v)) return -1;
    return v;
  }

 private:
  int fd_ = -1;
};

void tcp_bulk(benchmark::State& state, bool subscriber, double loss = 0) {
  bench::TcpBulkPair p;
  if (const std::string err = p.open(); !err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  p.loss.rate = loss;
  uint64_t events = 0;
  if (subscriber) {
    p.tx.stack.subscribe_records({}, [&events](const TraceRecord&) { ++events; });
    p.rx.stack.subscribe_records({}, [&events](const TraceRecord&) { ++events; });
  }
  const std::vector<uint8_t> chunk(kChunk, 0x5a);
  uint64_t bytes = 0;
  p.segments = 0;
  InstructionCounter counter;
  const long long instr0 = counter.read_count();
  for (auto _ : state) {
    // One iteration: kChunk bytes written by the sender and read by the receiver.
    if (!bench::bulk_transfer_chunk(p, chunk)) {
      state.SkipWithError("the transfer stalled");
      return;
    }
    bytes += kChunk;
  }
  const long long instr1 = counter.read_count();
  const uint64_t segments = p.segments;
  state.SetBytesProcessed(int64_t(bytes));
  state.counters["Gbit/s"] = benchmark::Counter(double(bytes) * 8 / 1e9, benchmark::Counter::kIsRate);
  state.counters["segments"] = double(segments);
  // CPU time per data segment, both stacks' work included (s, printed as ns/us).
  state.counters["cpu/segment"] = benchmark::Counter(double(segments), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // Without a hardware PMU (most VMs) perf has no instruction counter: the column is left out
  // (ci/bench.sh counts them with callgrind instead).
  if (instr0 >= 0 && instr1 >= 0 && segments)
    state.counters["instr/segment"] = double(instr1 - instr0) / double(segments);
  if (subscriber && segments) state.counters["events/segment"] = double(events) / double(segments);
  if (loss > 0) state.counters["dropped"] = double(p.loss.dropped);
}

void BM_TcpBulk_TracingOff(benchmark::State& s) { tcp_bulk(s, false); }
void BM_TcpBulk_OneSubscriber(benchmark::State& s) { tcp_bulk(s, true); }
void BM_TcpBulk_Loss1Pct(benchmark::State& s) { tcp_bulk(s, false, 0.01); }

BENCHMARK(BM_TcpBulk_TracingOff)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TcpBulk_OneSubscriber)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TcpBulk_Loss1Pct)->Unit(benchmark::kMicrosecond);

}  // namespace
