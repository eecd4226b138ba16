// nettwin-tcp-conns: N established TCP connections between two stacks in one
// process (tcp_bulk_pair.h's link), then their memory and what a lookup costs
// among them. A figure for ci/bench.sh (issue 12: 10,000 connections in one
// stack with their memory reported), never a test assertion.
//   nettwin-tcp-conns [N, default 10000]
// Prints: the time to open them (CPU), bytes per connection (both ends) from the
// stacks' own accounting (sizeof(TcpSock) + sizeof(Socket) + the skbs charged
// to the socks) and from mallinfo2 and RSS, and the CPU time of a 1-byte data
// segment into one of them (the receiver's established-hash lookup among N)
// beside the same among 16 connections.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench_frames.h"  // thread_cpu_ns
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"
#include "tcp_conns.h"

namespace {

using namespace nettwin;
using namespace nettwin::bench;

struct Pair : TcpConns {
  // CPU ns per 1-byte segment written on `count` of the connections, carried to
  // the server and received there (its established-hash lookup among all). In
  // rounds of at most one segment per connection, the delayed ACKs let go
  // between rounds (untimed), so that no congestion window holds a segment back.
  double segment_ns(size_t count) {
    const uint8_t byte = 'x';
    SendMsg m;
    m.data = std::span<const uint8_t>(&byte, 1);
    m.flags = MSG_DONTWAIT_;
    const size_t round = std::min<size_t>(cfds.size(), 1000);
    double ns = 0;
    for (size_t done = 0; done < count; done += round) {
      const double t0 = thread_cpu_ns();
      for (size_t i = done; i < done + round; ++i) {
        sys_sendmsg(client.net(), cfds[(i * 7919) % cfds.size()], m);  // spread over them
        carry(client, server, nullptr);
        server.net().engine.run_until(server.net().engine.now());
      }
      ns += thread_cpu_ns() - t0;
      run_both(client, server, client.net().engine.now() + 200'000'000);  // delayed ACKs due
      settle();
    }
    return ns / double((count + round - 1) / round * round);
  }
};

// The stack's own accounting of one stack's TCP socks: the sock objects, their
// sockets, the skbs charged to them (write queue and receive queue truesize).
size_t tcp_bytes(Net& net) {
  size_t bytes = net.sock.files.size() * sizeof(Socket);
  for (const auto& sk : net.sock.socks_alive) {
    if (sk->sk_protocol != IPPROTO_TCP_) continue;
    bytes += sizeof(TcpSock) + size_t(tcp_sk(sk.get())->sk_wmem_queued) + size_t(sk->sk_rmem_alloc);
  }
  return bytes;
}

size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * size_t(sysconf(_SC_PAGESIZE));
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10000;
  if (argc > 2 || n <= 16) {
    std::fprintf(stderr, "usage: nettwin-tcp-conns [N > 16, default 10000]\n");
    return 2;
  }
  Pair p;
  if (const std::string err = p.listen(); !err.empty()) {
    std::fprintf(stderr, "nettwin-tcp-conns: %s\n", err.c_str());
    return 1;
  }
  constexpr size_t kFew = 16;  // the baseline: a lookup among few
  if (!p.open(kFew)) {
    std::fprintf(stderr, "nettwin-tcp-conns: the first connections were not accepted\n");
    return 1;
  }
  const double one_ns = p.segment_ns(20000);

  const size_t heap0 = mallinfo2().uordblks, rss0 = rss_bytes();
  const size_t own0 = tcp_bytes(p.client.net()) + tcp_bytes(p.server.net());
  const double t0 = thread_cpu_ns();
  if (!p.open(size_t(n) - kFew)) {
    std::fprintf(stderr, "nettwin-tcp-conns: %zu of %ld connections accepted\n", p.afds.size(), n);
    return 1;
  }
  const double open_s = (thread_cpu_ns() - t0) / 1e9;
  const double per = double(size_t(n) - kFew);
  const double heap = double(mallinfo2().uordblks - heap0) / per;
  const double rss = double(rss_bytes() - rss0) / per;
  const double own = double(tcp_bytes(p.client.net()) + tcp_bytes(p.server.net()) - own0) / per;
  const double many_ns = p.segment_ns(20000);
  std::printf("nettwin-tcp-conns: %ld established connections (both ends in one process) opened in %.2f s CPU "
              "(%.1f us each); per connection, both ends: %.0f bytes by the stacks' accounting "
              "(TcpSock %zu + Socket %zu each end, and skbs), %.0f bytes of heap (mallinfo2), %.0f bytes of RSS; "
              "a 1-byte segment into one of them: %.0f ns CPU (%.0f ns among %zu connections)\n",
              n, open_s, open_s * 1e6 / per, own, sizeof(TcpSock), sizeof(Socket), heap, rss, many_ns, one_ns, kFew);
  return 0;
}
