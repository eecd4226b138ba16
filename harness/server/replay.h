// The pcap replay: one stack with one device, the input's frames for that
// device injected at their recorded times, the stack's output written as pcap.
#pragma once

#include <cstdint>
#include <string>

#include "replay_options.h"

namespace nettwin::server {

struct ReplaySummary {
  uint64_t read = 0;          // records in the input
  uint64_t injected = 0;      // handed to the device's RX ring (queued or missed)
  uint64_t rx_missed = 0;     // of those, dropped by a full RX ring
  uint64_t own = 0;           // the DUT's own frames in the input (source MAC = the DUT's)
  uint64_t other_host = 0;    // unicast to another MAC
  uint64_t too_short = 0;     // shorter than an Ethernet header
  uint64_t cut = 0;           // cut short by the capture's snaplen: not the frame that was sent
  uint64_t refused = 0;       // the stack refused them (e.g. larger than the device's max frame)
  uint64_t written = 0;       // frames the stack put on the wire, in the output
  double seconds = 0;         // wall time of the replay itself
};

// Exit status: 0 done, 1 the output could not be written, 2 bad input
// (options the stack refuses, a missing or broken pcap). Messages go to stderr.
int run_replay(const ReplayOptions& options, ReplaySummary& summary);

}  // namespace nettwin::server
