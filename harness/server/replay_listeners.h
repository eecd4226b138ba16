// The DUT's servers during a replay: a TCP listener on each port the capture's
// DUT accepted connections on, whose connections are accepted and read as a
// program that reads everything would, so the stack's handshake and ACKs have
// a socket behind them as the DUT's did; a connection the peer closes is closed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stack/stack.h"

namespace nettwin::server {

class ReplayListeners {
 public:
  // Listens on addr:port for each port (addr in host byte order); "" or why not.
  std::string listen(Stack& stack, uint32_t addr, const std::vector<uint16_t>& ports);
  // Accepts what is queued and reads what arrived, without blocking.
  void serve(Stack& stack);
  bool empty() const { return listeners_.empty(); }

 private:
  std::vector<int> listeners_;
  std::vector<int> connections_;
};

}  // namespace nettwin::server
