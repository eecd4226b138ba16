// Per-frame instruction counts for callgrind: N identical frames carried
// ring -> socket (UDP) or ring -> reply on the wire (ICMP echo), tracing off.
// Each frame goes through one noinline function, so
//   valgrind --tool=callgrind --toggle-collect='*rx_count_udp_frame*'
//       build/stack/nettwin-rx-count udp 60 100000
// counts only the frames (after a warm-up outside the toggled function);
// total / N is the cost of one frame. Modes: udp <frame bytes> <N>,
// echo <frame bytes> <N>.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/net.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"
#include "stack.h"

using namespace nettwin;

namespace {

uint16_t fold(const std::vector<uint8_t>& f, size_t off, size_t len, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) s += uint32_t(f[off + i] << 8 | f[off + i + 1]);
  if (len & 1) s += uint32_t(f[off + len - 1] << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

// Ether / IP 198.51.100.1 > .2 / proto / 8-byte header / payload, frame_len bytes in all.
std::vector<uint8_t> frame(size_t frame_len, uint8_t proto) {
  std::vector<uint8_t> f = {0x02, 0, 0, 0, 1, 2, 0x02, 0, 0, 0, 1, 1, 0x08, 0x00};
  const size_t tot = frame_len - 14;
  const uint8_t ip[20] = {0x45, 0, uint8_t(tot >> 8), uint8_t(tot), 0x10, 0x01, 0x40, 0, 64, proto, 0, 0,
                          198, 51, 100, 1, 198, 51, 100, 2};
  f.insert(f.end(), ip, ip + 20);
  f.resize(frame_len);
  for (size_t i = 42; i < frame_len; ++i) f[i] = uint8_t(i * 7);
  uint16_t c = fold(f, 14, 20);
  f[24] = uint8_t(c >> 8);
  f[25] = uint8_t(c);
  const size_t l4 = tot - 20;
  if (proto == 17) {  // UDP 4000 > 5000 with a real checksum (the stack verifies it)
    const uint8_t udp[8] = {0x0f, 0xa0, 0x13, 0x88, uint8_t(l4 >> 8), uint8_t(l4), 0, 0};
    std::memcpy(&f[34], udp, 8);
    uint32_t ph = (198u << 8 | 51u) + (100u << 8 | 1u) + (198u << 8 | 51u) + (100u << 8 | 2u) + 17u + uint32_t(l4);
    c = fold(f, 34, l4, ph);
    if (c == 0) c = 0xffff;
  } else {  // ICMP echo request
    const uint8_t icmp[8] = {8, 0, 0, 0, 0x4e, 0x54, 0, 1};
    std::memcpy(&f[34], icmp, 8);
    c = fold(f, 34, l4);
  }
  f[40 - (proto == 1 ? 4 : 0)] = uint8_t(c >> 8);
  f[41 - (proto == 1 ? 4 : 0)] = uint8_t(c);
  return f;
}

struct Rig {
  Stack stack{1};
  Net* net = nullptr;
  NetDevice* dev = nullptr;
  int fd = -1;
  RecvMsg msg;
};

inline bool udp_body(Rig& r, const std::vector<uint8_t>& f) {
  r.dev->receive_from_wire(f);
  r.net->engine.run_until(r.net->engine.now());
  r.msg.data.clear();
  return sys_recvmsg(*r.net, r.fd, r.msg, MSG_DONTWAIT_, 0) > 0;
}
inline bool echo_body(Rig& r, const std::vector<uint8_t>& f) {
  r.dev->receive_from_wire(f);
  r.net->engine.run_until(r.net->engine.now());
  return r.net->wire.drain(r.dev, 0, [](const WireQueue::Slot&) { return true; }) == 1;
}

}  // namespace

// Outside the anonymous namespace so callgrind's --toggle-collect finds the names.
__attribute__((noinline)) bool rx_count_warmup(Rig& r, const std::vector<uint8_t>& f, bool udp) {
  return udp ? udp_body(r, f) : echo_body(r, f);
}
__attribute__((noinline)) bool rx_count_udp_frame(Rig& r, const std::vector<uint8_t>& f) { return udp_body(r, f); }
__attribute__((noinline)) bool rx_count_echo_frame(Rig& r, const std::vector<uint8_t>& f) { return echo_body(r, f); }

int main(int argc, char** argv) {
  if (argc != 4 || (std::strcmp(argv[1], "udp") && std::strcmp(argv[1], "echo"))) {
    std::fprintf(stderr, "usage: %s udp|echo <frame bytes> <N>\n", argv[0]);
    return 2;
  }
  const bool udp = !std::strcmp(argv[1], "udp");
  const size_t len = size_t(std::atol(argv[2]));
  const long n = std::atol(argv[3]);
  if (len < 42 || len > 1514) {
    std::fprintf(stderr, "frame bytes: 42..1514\n");
    return 2;
  }
  Rig r;
  DeviceConfig c;
  c.name = "ntdut0";
  c.kind = DeviceKind::Ring;
  c.mac = {0x02, 0, 0, 0, 1, 2};
  if (r.stack.create_device(c) || r.stack.add_address("ntdut0", "198.51.100.2/24") ||
      r.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent")) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  r.net = &r.stack.net();
  r.dev = r.net->dev_get_by_name("ntdut0");
  if (udp) {
    r.fd = sys_socket(*r.net, AF_INET_, SOCK_DGRAM_, 0);
    if (r.fd < 0 || sys_bind(*r.net, r.fd, SockaddrIn{AF_INET_, 5000, 0}, SOCKADDR_IN_LEN)) {
      std::fprintf(stderr, "socket setup failed\n");
      return 1;
    }
    r.msg.len = 2048;
  }
  const auto f = frame(len, udp ? 17 : 1);
  long ok = 0;
  for (int i = 0; i < 1000; ++i) ok += rx_count_warmup(r, f, udp);
  if (ok != 1000) {
    std::fprintf(stderr, "warm-up: %ld of 1000 frames arrived\n", ok);
    return 1;
  }
  ok = 0;
  for (long i = 0; i < n; ++i) ok += udp ? rx_count_udp_frame(r, f) : rx_count_echo_frame(r, f);
  std::printf("%s %zu B: %ld of %ld frames %s\n", argv[1], len, ok, n, udp ? "received" : "answered");
  return ok == n ? 0 : 1;
}
