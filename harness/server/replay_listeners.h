// The DUT's servers during a replay: a TCP listener on each port the capture's
// DUT accepted connections on, whose connections are accepted and read as a
// program that reads everything would, so the stack's handshake and ACKs have
// a socket behind them as the DUT's did. The program closes a connection when
// the capture shows the DUT's FIN on it, at that frame's time (what the stack
// sends between the peer's FIN and its own, a delayed ACK or none, then hangs on
// the same timing as the DUT's); one the capture never shows the DUT close is
// closed at the capture's end if its peer closed.
#pragma once

#include <cstdint>
#include <span>
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
  // A frame the capture's DUT sent: a FIN from a listened port closes its connection.
  void see_dut_frame(Stack& stack, std::span<const uint8_t> frame);
  // The capture has ended: closes each connection its peer closed.
  void close_finished(Stack& stack);
  bool empty() const { return listeners_.empty(); }

 private:
  struct Connection {
    int fd;
    uint32_t peer;  // the peer's address and port, and the DUT's port
    uint16_t peer_port, port;
    bool peer_closed = false;
  };
  std::vector<uint16_t> ports_;
  std::vector<int> listeners_;
  std::vector<Connection> connections_;
};

}  // namespace nettwin::server
