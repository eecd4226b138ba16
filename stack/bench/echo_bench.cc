// The echo path ring to ring: an ICMP echo request DMA'd into a ring NIC's RX
// ring, the stack run, the reply taken off the wire. Figures: frames/s and
// ns/frame, with tracing off and with one trace subscriber.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/net.h"
#include "stack.h"
#include "bench_frames.h"

namespace {

using namespace nettwin;
using bench::echo_request;

void echo(benchmark::State& state, DeviceKind kind, bool subscriber) {
  Stack stack(1);
  DeviceConfig c;
  c.name = "ntdut0";
  c.kind = kind;
  c.mac = {0x02, 0, 0, 0, 1, 2};
  if (stack.create_device(c) || stack.add_address("ntdut0", "198.51.100.2/24") ||
      stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent")) {
    state.SkipWithError("setup failed");
    return;
  }
  uint64_t events = 0;
  if (subscriber) stack.subscribe_records({}, [&events](const TraceRecord&) { ++events; });
  const auto req = echo_request(size_t(state.range(0)));
  Net& net = stack.net();
  NetDevice* dev = net.dev_get_by_name("ntdut0");
  uint64_t replies = 0;
  for (auto _ : state) {
    dev->receive_from_wire(req);
    net.engine.run_until(net.engine.now());
    replies += net.wire.drain(dev, 0, [](const WireQueue::Slot& s) {
      benchmark::DoNotOptimize(s.bytes.data());
      return true;
    });
  }
  if (replies != uint64_t(state.iterations())) state.SkipWithError("a reply went missing");
  // One frame per iteration: the Time column is ns/frame, items_per_second is frames/s.
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetLabel("Time = ns/frame");
  if (subscriber) state.counters["events/frame"] = double(events) / double(state.iterations());
}

void BM_EchoRing_TracingOff(benchmark::State& s) { echo(s, DeviceKind::Ring, false); }
void BM_EchoRing_OneSubscriber(benchmark::State& s) { echo(s, DeviceKind::Ring, true); }
void BM_EchoVeth_TracingOff(benchmark::State& s) { echo(s, DeviceKind::Veth, false); }
void BM_EchoVeth_OneSubscriber(benchmark::State& s) { echo(s, DeviceKind::Veth, true); }

BENCHMARK(BM_EchoRing_TracingOff)->Arg(32)->Arg(1472);
BENCHMARK(BM_EchoRing_OneSubscriber)->Arg(32)->Arg(1472);
BENCHMARK(BM_EchoVeth_TracingOff)->Arg(32);
BENCHMARK(BM_EchoVeth_OneSubscriber)->Arg(32);

}  // namespace

BENCHMARK_MAIN();
