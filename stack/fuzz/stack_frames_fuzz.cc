// Fuzz target: frames into a configured stack.
//
// The stack has a ring NIC (ntring0, 198.51.100.2/24) and a veth end (ntveth0,
// 203.0.113.2/24), forwarding on, a static neighbour on each side and a route via
// one of them; UDP sockets bound on port 7 (wildcard, IP_RECVERR) and
// 203.0.113.2:53, a raw ICMP socket and two AF_PACKET sockets; every tracepoint
// and checkpoint is subscribed, so their formatting runs too.
//
// The input is a sequence of records: [ctrl][length, 2 bytes big-endian][bytes].
//   ctrl bit 0: the device (0 ntring0, 1 ntveth0); ctrl >> 1 == 127: the bytes
//   are sent as a datagram from the UDP (bit 0 clear) or raw (bit 0 set) socket
//   instead, so the output and fragmentation paths run on fuzzed payloads.
//   After each record the clock advances 1 ms + (ctrl >> 1) * 250 ms, so
//   reassembly queues, neighbour and ICMP rate-limit timers expire in between.
// At the end every socket is drained, the wire is taken and the stack runs idle.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz/fuzz_devices.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"
#include "stack.h"

namespace {

using namespace nettwin;

constexpr uint8_t kSendRecord = 127;
constexpr uint64_t kMs = 1'000'000;

int htons_arg(uint16_t v) { return int(uint16_t((v << 8) | (v >> 8))); }

struct Dut {
  Stack stack{7};
  Net& net = stack.net();
  std::vector<int> fds;
  int udp = -1;
  int raw = -1;

  Dut() {
    add_fuzz_devices(stack);
    stack.add_neighbour("ntring0", "198.51.100.1", "02:00:00:00:01:01", "permanent");
    stack.add_neighbour("ntveth0", "203.0.113.1", "02:00:00:00:02:01", "reachable");
    stack.set_sysctl("net.ipv4.ip_forward", "1");
    Route via;
    via.dst = "198.18.0.0/15";
    via.gateway = "203.0.113.1";
    stack.add_route(via);
    stack.subscribe(TraceFilter{{"*"}, true}, [](const TraceEvent&) {});

    udp = open(AF_INET_, SOCK_DGRAM_, 0);
    SockaddrIn any;
    any.port = 7;
    sys_bind(net, udp, any, SOCKADDR_IN_LEN);
    sys_setsockopt(net, udp, SOL_IP_, IP_RECVERR_, 1, 4);
    const int dns = open(AF_INET_, SOCK_DGRAM_, 0);
    SockaddrIn on_veth;
    on_veth.port = 53;
    on_veth.addr = 0xcb007102;  // 203.0.113.2
    sys_bind(net, dns, on_veth, SOCKADDR_IN_LEN);
    raw = open(AF_INET_, SOCK_RAW_, IPPROTO_ICMP_);
    open(AF_PACKET_, SOCK_RAW_, htons_arg(ETH_P_ALL_));
    open(AF_PACKET_, SOCK_DGRAM_, htons_arg(0x0800));
  }

  int open(int family, int type, int protocol) {
    const int fd = sys_socket(net, family, type, protocol);
    if (fd >= 0) fds.push_back(fd);
    return fd;
  }

  void send(bool use_raw, std::span<const uint8_t> payload) {
    SockaddrIn to;
    to.port = 9;
    to.addr = use_raw ? 0xc6120001 /* 198.18.0.1, via the veth */ : 0xc6336401 /* 198.51.100.1 */;
    SendMsg msg;
    msg.data = payload;
    msg.name = &to;
    msg.namelen = SOCKADDR_IN_LEN;
    msg.flags = MSG_DONTWAIT_;
    sys_sendmsg(net, use_raw ? raw : udp, msg);
  }

  void drain() {
    for (int fd : fds) {
      for (int flags : {int(MSG_DONTWAIT_ | MSG_ERRQUEUE_), int(MSG_DONTWAIT_)}) {
        for (;;) {
          RecvMsg msg;
          msg.len = 2048;
          if (sys_recvmsg(net, fd, msg, flags, 0) < 0) break;
        }
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Dut dut;
  const std::span<const uint8_t> input(data, size);
  size_t at = 0;
  while (at + 3 <= input.size()) {
    const uint8_t ctrl = input[at];
    const size_t len = std::min<size_t>((size_t(input[at + 1]) << 8) | input[at + 2], input.size() - at - 3);
    const auto bytes = input.subspan(at + 3, len);
    at += 3 + len;
    const bool second = ctrl & 1;
    if (ctrl >> 1 == kSendRecord) {
      dut.send(second, bytes);
    } else {
      dut.stack.inject(second ? "ntveth0" : "ntring0", bytes);  // an Error (empty, too long) is fine
    }
    dut.stack.advance(kMs + uint64_t(ctrl >> 1) * 250 * kMs);
    dut.drain();
    dut.stack.take_wire();
  }
  dut.stack.run_until_idle();
  dut.drain();
  dut.stack.take_wire();
  dut.stack.counters();
  dut.stack.neighbours();
  return 0;
}
