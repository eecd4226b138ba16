// Many TCP connections between two stacks in one process (tcp_bulk_pair.h's
// link): a client at 198.51.100.1 connecting to a listener at 198.51.100.2:5001,
// in batches, each accepted. Shared by nettwin-tcp-conns and its test.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tcp_bulk_pair.h"

namespace nettwin::bench {

struct TcpConns {
  BulkHost client{1}, server{2};
  int lfd = -1;
  std::vector<int> cfds, afds;  // the client's sockets, the server's accepted ones

  // Devices, addresses, the listener (backlog 4096). "" on success, else what failed.
  std::string listen();
  // Opens n more connections (TCP_NODELAY on the client's side); false if any
  // connect failed or was not accepted.
  bool open(size_t n);
  // Carries frames both ways and runs both clocks until neither sends more.
  void settle();
  void accept_all();
};

}  // namespace nettwin::bench
