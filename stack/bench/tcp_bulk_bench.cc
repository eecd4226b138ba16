// Bulk TCP between two nettwin stacks in one process: a sender connects to a
// receiver over two ring NICs (MTU 1500) joined by moving each one's
// transmitted frames into the other's RX ring. Figures: Gbit/s of payload and
// CPU time and instructions per data segment (perf_event_open, user space
// only, where the machine has a PMU), with
// tracing off and with one trace subscriber on each stack.
#include <benchmark/benchmark.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "core/net.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"
#include "stack.h"

namespace {

using namespace nettwin;

constexpr uint16_t kPort = 5001;
constexpr wire::Ipv4Addr kReceiverAddr = 0xc6336402;  // 198.51.100.2
constexpr size_t kChunk = 64 * 1024;                   // one send() / recv()
constexpr uint64_t kIdleStepNs = 1'000'000;            // the clock's step when nothing moves

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

struct Host {
  Stack stack;
  NetDevice* dev = nullptr;
  explicit Host(uint64_t seed) : stack(seed) {}
  Net& net() { return stack.net(); }
};

bool setup_host(Host& h, const char* name, uint8_t last, const char* cidr, const char* peer_ip, uint8_t peer_last) {
  DeviceConfig c;
  c.name = name;
  c.kind = DeviceKind::Ring;
  c.mac = {0x02, 0, 0, 0, 1, last};
  c.rx_ring_size = 4096;
  c.tx_ring_size = 4096;
  const std::string peer_mac = "02:00:00:00:01:0" + std::to_string(peer_last);
  if (h.stack.create_device(c) || h.stack.add_address(name, cidr) ||
      h.stack.add_neighbour(name, peer_ip, peer_mac, "permanent"))
    return false;
  h.dev = h.net().dev_get_by_name(name);
  return h.dev != nullptr;
}

// Moves every frame `from` put on its wire into `to`'s RX ring; counts them
// and, when data_segments is given, those larger than a bare ACK.
size_t carry(Host& from, Host& to, uint64_t* data_segments) {
  return from.net().wire.drain(from.dev, 0, [&](const WireQueue::Slot& s) {
    if (data_segments && s.bytes.size() > 14 + 20 + 32 + 12) ++*data_segments;
    to.dev->receive_from_wire(s.bytes);
    return true;
  });
}

// Both clocks run to the same instant; they only move on when nothing else does.
void run_both(Host& a, Host& b, uint64_t t) {
  a.net().engine.run_until(t);
  b.net().engine.run_until(t);
}

void tcp_bulk(benchmark::State& state, bool subscriber) {
  Host tx(1), rx(2);
  if (!setup_host(tx, "ntsnd0", 1, "198.51.100.1/24", "198.51.100.2", 2) ||
      !setup_host(rx, "ntrcv0", 2, "198.51.100.2/24", "198.51.100.1", 1)) {
    state.SkipWithError("device setup failed");
    return;
  }
  uint64_t events = 0;
  if (subscriber) {
    tx.stack.subscribe({}, [&events](const TraceEvent&) { ++events; });
    rx.stack.subscribe({}, [&events](const TraceEvent&) { ++events; });
  }
  Net& tn = tx.net();
  Net& rn = rx.net();
  const SockaddrIn addr{AF_INET_, kPort, kReceiverAddr};
  const int lfd = sys_socket(rn, AF_INET_, SOCK_STREAM_, 0);
  const int cfd = sys_socket(tn, AF_INET_, SOCK_STREAM_, 0);
  if (lfd < 0 || cfd < 0 || sys_bind(rn, lfd, addr, SOCKADDR_IN_LEN) || sys_listen(rn, lfd, 16) ||
      sys_fcntl_setfl(tn, cfd, O_NONBLOCK_) || sys_fcntl_setfl(rn, lfd, O_NONBLOCK_)) {
    state.SkipWithError("socket setup failed");
    return;
  }
  const int c = sys_connect(tn, cfd, addr, SOCKADDR_IN_LEN);
  if (c != -E_INPROGRESS && c != 0) {
    state.SkipWithError("connect failed");
    return;
  }
  int afd = -1;
  for (int i = 0; i < 1000 && afd < 0; ++i) {
    carry(tx, rx, nullptr);
    carry(rx, tx, nullptr);
    run_both(tx, rx, tn.engine.now() + kIdleStepNs);
    afd = sys_accept4(rn, lfd, nullptr, SOCK_NONBLOCK_, 0);
  }
  if (afd < 0) {
    state.SkipWithError("the connection was not accepted");
    return;
  }
  const std::vector<uint8_t> chunk(kChunk, 0x5a);
  RecvMsg rmsg;
  rmsg.len = kChunk;
  uint64_t bytes = 0, segments = 0;
  InstructionCounter counter;
  const long long instr0 = counter.read_count();
  for (auto _ : state) {
    // One iteration: kChunk bytes written by the sender and read by the receiver.
    size_t sent = 0, received = 0;
    int idle = 0;
    while (received < kChunk) {
      bool moved = false;
      if (sent < kChunk) {
        SendMsg m;
        m.data = std::span<const uint8_t>(chunk.data() + sent, kChunk - sent);
        m.flags = MSG_DONTWAIT_;
        const int n = sys_sendmsg(tn, cfd, m);
        if (n > 0) sent += size_t(n), moved = true;
      }
      moved |= carry(tx, rx, &segments) > 0;
      rn.engine.run_until(rn.engine.now());
      const int r = sys_recvmsg(rn, afd, rmsg, MSG_DONTWAIT_, 0);
      if (r > 0) received += size_t(r), moved = true;
      moved |= carry(rx, tx, nullptr) > 0;
      tn.engine.run_until(tn.engine.now());
      if (moved) {
        idle = 0;
        continue;
      }
      if (++idle > 10000) {
        state.SkipWithError("the transfer stalled");
        return;
      }
      run_both(tx, rx, tn.engine.now() + kIdleStepNs);  // a delayed ACK or an RTO is due
    }
    bytes += received;
  }
  const long long instr1 = counter.read_count();
  state.SetBytesProcessed(int64_t(bytes));
  state.counters["Gbit/s"] = benchmark::Counter(double(bytes) * 8 / 1e9, benchmark::Counter::kIsRate);
  state.counters["segments"] = double(segments);
  // CPU time per data segment, both stacks' work included (s, printed as ns/us).
  state.counters["cpu/segment"] = benchmark::Counter(double(segments), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // Without a hardware PMU (most VMs) perf has no instruction counter: the column is left out.
  if (instr0 >= 0 && instr1 >= 0 && segments)
    state.counters["instr/segment"] = double(instr1 - instr0) / double(segments);
  if (subscriber && segments) state.counters["events/segment"] = double(events) / double(segments);
}

void BM_TcpBulk_TracingOff(benchmark::State& s) { tcp_bulk(s, false); }
void BM_TcpBulk_OneSubscriber(benchmark::State& s) { tcp_bulk(s, true); }

BENCHMARK(BM_TcpBulk_TracingOff)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TcpBulk_OneSubscriber)->Unit(benchmark::kMicrosecond);

}  // namespace
