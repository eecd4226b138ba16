// Two nettwin stacks in one process joined back to back (MTU 1500): a sender
// connected to a receiver over two ring NICs, each one's transmitted frames
// moved into the other's RX ring, optionally losing a seeded random share of
// them (both ways). Shared by the bulk TCP benchmark and the nettwin-tcp-bulk
// command that callgrind counts instructions in.
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

// The link's random loss: each frame, either way, is dropped with
// probability `rate`, drawn from a generator seeded with `seed` (the same
// frames are lost on every run).
struct LinkLoss {
  double rate = 0;
  uint64_t seed = 1;
  uint64_t state = 0;      // splitmix64's
  uint64_t dropped = 0;
  bool drop();
};

// A ring NIC `name` (MAC 02:00:00:00:01:<last>, rings of 256: e1000's default
// and the stack's) at `cidr`, the peer's address and MAC
// (02:00:00:00:01:0<peer_last>) a permanent neighbour.
bool setup_host(BulkHost& h, const char* name, uint8_t last, const char* cidr, const char* peer_ip,
                uint8_t peer_last);
// Moves every frame `from` put on its wire into `to`'s RX ring, but those
// the link loses (when loss is given); counts them and, when data_segments is
// given, those larger than a bare ACK.
size_t carry(BulkHost& from, BulkHost& to, uint64_t* data_segments, LinkLoss* loss = nullptr);
// Both clocks run to the same instant; they only move on when nothing else does.
void run_both(BulkHost& a, BulkHost& b, uint64_t t);

struct TcpBulkPair {
  BulkHost tx{1}, rx{2};
  int cfd = -1, afd = -1;   // the sender's socket, the receiver's accepted one
  uint64_t segments = 0;    // data segments carried (larger than a bare ACK)
  LinkLoss loss;            // applied once the connection is open
  // Devices, addresses, the connection. "" on success, else what failed.
  std::string open();
};

// bulk_transfer_chunk: `chunk` written by the sender and read by the receiver
// (appended to *received when given), the clocks moving on only when nothing
// else does. False if it stalled.
bool bulk_transfer_chunk(TcpBulkPair& p, const std::vector<uint8_t>& chunk, std::vector<uint8_t>* received = nullptr);

}  // namespace nettwin::bench
