#include "tcp_bulk_pair.h"

#include "core/net.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"

namespace nettwin::bench {

namespace {

constexpr uint16_t kPort = 5001;
constexpr wire::Ipv4Addr kReceiverAddr = 0xc6336402;  // 198.51.100.2
constexpr uint64_t kIdleStepNs = 1'000'000;            // the clock's step when nothing moves

}  // namespace

bool setup_host(BulkHost& h, const char* name, uint8_t last, const char* cidr, const char* peer_ip,
                uint8_t peer_last) {
  DeviceConfig c;
  c.name = name;
  c.kind = DeviceKind::Ring;
  c.mac = {0x02, 0, 0, 0, 1, last};
  const std::string peer_mac = "02:00:00:00:01:0" + std::to_string(peer_last);
  if (h.stack.create_device(c) || h.stack.add_address(name, cidr) ||
      h.stack.add_neighbour(name, peer_ip, peer_mac, "permanent"))
    return false;
  h.dev = h.net().dev_get_by_name(name);
  return h.dev != nullptr;
}

size_t carry(BulkHost& from, BulkHost& to, uint64_t* data_segments, LinkLoss* loss) {
  return from.net().wire.drain(from.dev, 0, [&](const WireQueue::Slot& s) {
    if (loss && loss->drop()) return true;
    if (data_segments && s.bytes.size() > 14 + 20 + 32 + 12) ++*data_segments;
    to.dev->receive_from_wire(s.bytes);
    return true;
  });
}

void run_both(BulkHost& a, BulkHost& b, uint64_t t) {
  a.net().engine.run_until(t);
  b.net().engine.run_until(t);
}

bool LinkLoss::drop() {
  if (rate <= 0) return false;
  if (!state) state = seed;
  // splitmix64: a small generator whose sequence is fixed by the seed.
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  if (double(z >> 11) * 0x1.0p-53 >= rate) return false;
  ++dropped;
  return true;
}

std::string TcpBulkPair::open() {
  if (!setup_host(tx, "ntsnd0", 1, "198.51.100.1/24", "198.51.100.2", 2) ||
      !setup_host(rx, "ntrcv0", 2, "198.51.100.2/24", "198.51.100.1", 1))
    return "device setup failed";
  Net& tn = tx.net();
  Net& rn = rx.net();
  const SockaddrIn addr{AF_INET_, kPort, kReceiverAddr};
  const int lfd = sys_socket(rn, AF_INET_, SOCK_STREAM_, 0);
  cfd = sys_socket(tn, AF_INET_, SOCK_STREAM_, 0);
  if (lfd < 0 || cfd < 0 || sys_bind(rn, lfd, addr, SOCKADDR_IN_LEN) || sys_listen(rn, lfd, 16) ||
      sys_fcntl_setfl(tn, cfd, O_NONBLOCK_) || sys_fcntl_setfl(rn, lfd, O_NONBLOCK_))
    return "socket setup failed";
  const int c = sys_connect(tn, cfd, addr, SOCKADDR_IN_LEN);
  if (c != -E_INPROGRESS && c != 0) return "connect failed";
  for (int i = 0; i < 1000 && afd < 0; ++i) {
    carry(tx, rx, nullptr);
    carry(rx, tx, nullptr);
    run_both(tx, rx, tn.engine.now() + kIdleStepNs);
    afd = sys_accept4(rn, lfd, nullptr, SOCK_NONBLOCK_, 0);
  }
  return afd < 0 ? "the connection was not accepted" : "";
}

__attribute__((noinline)) bool bulk_transfer_chunk(TcpBulkPair& p, const std::vector<uint8_t>& chunk,
                                                  std::vector<uint8_t>* received_bytes) {
  Net& tn = p.tx.net();
  Net& rn = p.rx.net();
  RecvMsg rmsg;
  rmsg.len = chunk.size();
  size_t sent = 0, received = 0;
  int idle = 0;
  while (received < chunk.size()) {
    bool moved = false;
    if (sent < chunk.size()) {
      SendMsg m;
      m.data = std::span<const uint8_t>(chunk.data() + sent, chunk.size() - sent);
      m.flags = MSG_DONTWAIT_;
      const int n = sys_sendmsg(tn, p.cfd, m);
      if (n > 0) sent += size_t(n), moved = true;
    }
    moved |= carry(p.tx, p.rx, &p.segments, &p.loss) > 0;
    rn.engine.run_until(rn.engine.now());
    const int r = sys_recvmsg(rn, p.afd, rmsg, MSG_DONTWAIT_, 0);
    if (r > 0) {
      received += size_t(r), moved = true;
      if (received_bytes) received_bytes->insert(received_bytes->end(), rmsg.data.begin(), rmsg.data.begin() + r);
    }
    moved |= carry(p.rx, p.tx, nullptr, &p.loss) > 0;
    tn.engine.run_until(tn.engine.now());
    if (moved) {
      idle = 0;
      continue;
    }
    if (++idle > 10000) return false;
    run_both(p.tx, p.rx, tn.engine.now() + kIdleStepNs);  // a delayed ACK or an RTO is due
  }
  return true;
}

}  // namespace nettwin::bench
