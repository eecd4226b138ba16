// The UDP receive path ring to socket: a datagram DMA'd into a ring NIC's RX
// ring, the stack run, the payload read with recvmsg from a socket bound to
// the wildcard address. Figures: datagrams/s and ns/datagram, tracing off and
// with one subscriber.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/net.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"
#include "stack.h"
#include "bench_frames.h"

namespace {

using namespace nettwin;
using bench::udp_frame;

void udp_recv(benchmark::State& state, bool subscriber) {
  Stack stack(1);
  DeviceConfig c;
  c.name = "ntdut0";
  c.kind = DeviceKind::Ring;
  c.mac = {0x02, 0, 0, 0, 1, 2};
  if (stack.create_device(c) || stack.add_address("ntdut0", "198.51.100.2/24")) {
    state.SkipWithError("setup failed");
    return;
  }
  Net& net = stack.net();
  const int fd = sys_socket(net, AF_INET_, SOCK_DGRAM_, 0);
  if (fd < 0 || sys_bind(net, fd, SockaddrIn{AF_INET_, 5000, 0}, SOCKADDR_IN_LEN)) {
    state.SkipWithError("socket setup failed");
    return;
  }
  uint64_t events = 0;
  if (subscriber) stack.subscribe_records({}, [&events](const TraceRecord&) { ++events; });
  const auto frame = udp_frame(size_t(state.range(0)));
  NetDevice* dev = net.dev_get_by_name("ntdut0");
  RecvMsg msg;
  msg.len = 2048;
  uint64_t received = 0;
  for (auto _ : state) {
    dev->receive_from_wire(frame);
    net.engine.run_until(net.engine.now());
    msg.data.clear();
    if (sys_recvmsg(net, fd, msg, MSG_DONTWAIT_, 0) > 0) ++received;
  }
  if (received != uint64_t(state.iterations())) state.SkipWithError("a datagram went missing");
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetLabel("Time = ns/datagram");
  if (subscriber) state.counters["events/datagram"] = double(events) / double(state.iterations());
}

void BM_UdpRecv_TracingOff(benchmark::State& s) { udp_recv(s, false); }
void BM_UdpRecv_OneSubscriber(benchmark::State& s) { udp_recv(s, true); }

BENCHMARK(BM_UdpRecv_TracingOff)->Arg(32)->Arg(1472);
BENCHMARK(BM_UdpRecv_OneSubscriber)->Arg(32);

}  // namespace
