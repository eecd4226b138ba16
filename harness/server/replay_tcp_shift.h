// TCP numbers of a capture's peers made to fit the stack: the peer of a
// captured connection acknowledges the sequence numbers of the capture's DUT,
// whose ISN (and TCP timestamp clock) the stack does not share. Per connection,
// the DUT's ISN and first TSval are read from its SYN or SYN-ACK in the capture
// and the stack's from its own; every later frame of the peer is injected with
// its ACK number, SACK blocks and TSecr moved by the difference, its checksum
// updated incrementally (RFC 1624), so a wrong checksum stays wrong.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace nettwin::server {

class TcpShift {
 public:
  // A TCP frame the capture's DUT sent (from_stack false) or the stack sent.
  void see_dut_frame(std::span<const uint8_t> frame, bool from_stack);
  // The peer's frame as the stack should get it: `frame` itself, or a copy in
  // `buffer` with the numbers moved. Returns true when it moved anything.
  bool fit_peer_frame(std::span<const uint8_t>& frame, std::vector<uint8_t>& buffer) const;
  uint64_t connections() const { return flows_.size(); }

 private:
  struct Numbers {
    bool have_capture = false, have_stack = false;
    uint32_t capture_isn = 0, stack_isn = 0;
    bool have_ts = false;
    uint32_t capture_tsval = 0, stack_tsval = 0;
    bool capture_ts = false, stack_ts = false;
  };
  std::unordered_map<uint64_t, Numbers> flows_;  // (peer address, peer port, DUT port)
};

}  // namespace nettwin::server
