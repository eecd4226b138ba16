#include "tcp_conns.h"

#include <cstdio>

#include "socket/syscalls.h"
#include "socket/uapi.h"

namespace nettwin::bench {

namespace {
constexpr uint16_t kPort = 5001;
constexpr wire::Ipv4Addr kServerAddr = 0xc6336402;  // 198.51.100.2
constexpr size_t kConnectBatch = 256;               // connects before the frames are carried
}  // namespace

std::string TcpConns::listen() {
  if (!setup_host(client, "ntcli0", 1, "198.51.100.1/24", "198.51.100.2", 2) ||
      !setup_host(server, "ntsrv0", 2, "198.51.100.2/24", "198.51.100.1", 1))
    return "device setup failed";
  Net& sn = server.net();
  const SockaddrIn addr{AF_INET_, kPort, kServerAddr};
  lfd = sys_socket(sn, AF_INET_, SOCK_STREAM_ | SOCK_NONBLOCK_, 0);
  if (lfd < 0 || sys_bind(sn, lfd, addr, SOCKADDR_IN_LEN) || sys_listen(sn, lfd, 4096)) return "listen failed";
  return "";
}

void TcpConns::settle() {
  for (int i = 0; i < 100; ++i) {
    const size_t moved = carry(client, server, nullptr) + carry(server, client, nullptr);
    client.net().engine.run_until(client.net().engine.now());
    server.net().engine.run_until(server.net().engine.now());
    if (moved == 0) return;
  }
}

void TcpConns::accept_all() {
  for (;;) {
    const int fd = sys_accept4(server.net(), lfd, nullptr, SOCK_NONBLOCK_, 0);
    if (fd < 0) return;
    afds.push_back(fd);
  }
}

bool TcpConns::open(size_t n) {
  const SockaddrIn addr{AF_INET_, kPort, kServerAddr};
  const size_t want = afds.size() + n;
  for (size_t i = 0; i < n; ++i) {
    const int fd = sys_socket(client.net(), AF_INET_, SOCK_STREAM_ | SOCK_NONBLOCK_, 0);
    if (fd < 0) return false;
    const int c = sys_connect(client.net(), fd, addr, SOCKADDR_IN_LEN);
    if (c != -E_INPROGRESS && c != 0) {
      std::fprintf(stderr, "TcpConns: connect %zu: %d\n", cfds.size(), c);
      return false;
    }
    sys_setsockopt(client.net(), fd, SOL_TCP_, TCP_NODELAY_, 1, sizeof(int));  // a segment per write
    cfds.push_back(fd);
    if (cfds.size() % kConnectBatch == 0) {
      settle();
      accept_all();
    }
  }
  settle();
  accept_all();
  return afds.size() == want;
}

}  // namespace nettwin::bench
