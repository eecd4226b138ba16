// nettwin-frames: N frames of one kind through one nettwin stack, ring to
// socket (UDP) or ring to ring (ICMP echo), then the best ns/frame of a few
// timed runs on one line. With --count it runs the N frames once, untimed,
// inside counted_frames: ci/bench.sh runs that under callgrind with
// --toggle-collect='*counted_frames*' and divides the instructions by N, so
// setup and warm-up are left out. stack/bench/lwip_frames.cc is lwIP's twin.
//
//   nettwin-frames udp60|udp1514|echo60 [N] [--count] [--trace|--checkpoints] [--text]
// The subscriber counts the typed records; with --text it takes each event as
// text (a TraceEvent), as a formatting consumer would.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_frames.h"
#include "core/net.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"
#include "stack.h"

namespace nettwin::bench {
namespace {

struct Rig {
  Stack stack{1};
  Net* net = nullptr;
  NetDevice* dev = nullptr;
  std::vector<uint8_t> frame;
  uint64_t events = 0, done = 0;
  bool open(bool neighbour) {
    DeviceConfig c;
    c.name = "ntdut0";
    c.kind = DeviceKind::Ring;
    c.mac = {0x02, 0, 0, 0, 1, 2};
    if (stack.create_device(c) || stack.add_address("ntdut0", "198.51.100.2/24")) return false;
    if (neighbour && stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent")) return false;
    net = &stack.net();
    dev = net->dev_get_by_name("ntdut0");
    return dev != nullptr;
  }
};

// A datagram DMA'd into the RX ring, the stack run, its payload read with recvmsg.
struct UdpRig : Rig {
  int fd = -1;
  RecvMsg msg;
  bool open(size_t payload) {
    if (!Rig::open(false)) return false;
    frame = udp_frame(payload, true);
    fd = sys_socket(*net, AF_INET_, SOCK_DGRAM_, 0);
    msg.len = 2048;
    return fd >= 0 && !sys_bind(*net, fd, SockaddrIn{AF_INET_, 5000, 0}, SOCKADDR_IN_LEN);
  }
  void step() {
    dev->receive_from_wire(frame);
    net->engine.run_until(net->engine.now());
    msg.data.clear();
    if (sys_recvmsg(*net, fd, msg, MSG_DONTWAIT_, 0) > 0) ++done;
  }
};

// An echo request DMA'd into the RX ring, the stack run, the reply taken off the wire.
struct EchoRig : Rig {
  bool open(size_t payload) {
    if (!Rig::open(true)) return false;
    frame = echo_request(payload);
    return true;
  }
  void step() {
    dev->receive_from_wire(frame);
    net->engine.run_until(net->engine.now());
    net->wire.drain(dev, 0, [this](const WireQueue::Slot& s) {
      const auto& b = s.bytes;  // an echo reply, nothing else
      done += b.size() > 34 && b[12] == 0x08 && b[13] == 0x00 && b[23] == 1 && b[34] == 0;
      return true;
    });
  }
};

template <class R>
int drive(R& r, const char* mode, long n, bool count, int trace, bool text) {
  if (trace) {
    TraceFilter f;  // every tracepoint
    f.checkpoints = trace > 1;
    if (text) r.stack.subscribe(f, [&r](const TraceEvent&) { ++r.events; });
    else r.stack.subscribe_records(f, [&r](const TraceRecord&) { ++r.events; });
  }
  timed_frames(r, 1000);  // warm: pools filled, caches and branch predictors trained
  r.done = r.events = 0;
  const auto [best, runs] = per_frame_ns(r, n, count);
  if (r.done != uint64_t(runs)) {
    std::fprintf(stderr, "nettwin-frames %s: %llu of %ld frames came through\n", mode,
                 static_cast<unsigned long long>(r.done), runs);
    return 1;
  }
  if (trace && !r.events) {
    std::fprintf(stderr, "nettwin-frames %s: the subscriber saw no event\n", mode);
    return 1;
  }
  std::printf("stack=nettwin mode=%s frames=%ld cpu_ns_per_frame=%.1f events_per_frame=%.2f\n", mode, n, best,
              double(r.events) / double(runs));
  return 0;
}

}  // namespace
}  // namespace nettwin::bench

int main(int argc, char** argv) {
  using namespace nettwin::bench;
  std::string mode;
  long n = 200000;
  bool count = false;
  int trace = 0;
  bool text = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--count")) count = true;
    else if (!std::strcmp(argv[i], "--trace")) trace = 1;
    else if (!std::strcmp(argv[i], "--checkpoints")) trace = 2;
    else if (!std::strcmp(argv[i], "--text")) text = true;
    else if (mode.empty()) mode = argv[i];
    else n = std::strtol(argv[i], nullptr, 10);
  }
  if (n <= 0 || (mode != "udp60" && mode != "udp1514" && mode != "echo60")) {
    std::fprintf(stderr, "usage: nettwin-frames udp60|udp1514|echo60 [N] [--count] [--trace|--checkpoints] [--text]\n");
    return 2;
  }
  if (mode == "echo60") {
    EchoRig r;
    if (!r.open(kEchoPayload60)) return std::fprintf(stderr, "nettwin-frames: setup failed\n"), 1;
    return drive(r, mode.c_str(), n, count, trace, text);
  }
  UdpRig r;
  if (!r.open(mode == "udp60" ? kUdpPayload60 : kUdpPayload1514))
    return std::fprintf(stderr, "nettwin-frames: setup failed\n"), 1;
  return drive(r, mode.c_str(), n, count, trace, text);
}
