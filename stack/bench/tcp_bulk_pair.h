// Two nettwin stacks in one process joined back to back (MTU 1500): a sender
// connected to a receiver over two ring NICs, each one's transmitted frames
// moved into the other's RX ring. Shared by the bulk TCP benchmark and the
// nettwin-tcp-bulk command that callgrind counts instructions in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/net.h"
#include "stack.h"

namespace nettwin::bench {

struct BulkHost {
  Stack stack;
  NetDevice* dev = nullptr;
  explicit BulkHost(uint64_t seed) : stack(seed) {}
  Net& net() { return stack.net(); }
};

struct TcpBulkPair {
  BulkHost tx{1}, rx{2};
  int cfd = -1, afd = -1;   // the sender's socket, the receiver's accepted one
  uint64_t segments = 0;    // data segments carried (larger than a bare ACK)
  // Devices, addresses, the connection. "" on success, else what failed.
  std::string open();
};

// bulk_transfer_chunk: `chunk` written by the sender and read by the receiver,
// the clocks moving on only when nothing else does. False if it stalled.
bool bulk_transfer_chunk(TcpBulkPair& p, const std::vector<uint8_t>& chunk);

}  // namespace nettwin::bench
