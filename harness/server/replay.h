// The pcap replay: one stack with one device, the input's frames for that
// device injected at their recorded times, the stack's output written as pcap.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "replay_options.h"

namespace nettwin::server {

struct ReplaySummary {
  bool ran = false;           // the input was opened and the replay started
  std::string input;          // the input's name in messages ("stdin" for "-")
  uint64_t read = 0;          // records in the input (up to where it stopped)
  uint64_t injected = 0;      // handed to the device's RX ring (queued or missed)
  uint64_t rx_missed = 0;     // of those, lost: dropped by a full RX ring or backlog
  uint64_t own = 0;           // the DUT's own frames in the input (source MAC = the DUT's)
  uint64_t other_host = 0;    // unicast to another MAC
  uint64_t too_short = 0;     // shorter than an Ethernet header
  uint64_t cut = 0;           // cut short by the capture's snaplen: not the frame that was sent
  uint64_t refused = 0;       // the stack refused them: larger than the device's max frame
  uint64_t backwards = 0;     // records whose timestamp is earlier than the one before
  uint64_t written = 0;       // frames the stack put on the wire, in the output
  uint64_t neighbours_learnt = 0;   // --learn-neigh: peers made permanent neighbours
  uint64_t neighbours_refused = 0;
  uint64_t tcp_fitted = 0;          // peers' TCP frames whose ACK/SACK/TSecr were moved  // and those the stack refused (off the device's link)
  std::string stopped;        // where and why the input ended early ("" if it did not)
  double seconds = 0;         // wall time of the replay itself

  uint64_t skipped() const { return own + other_host + too_short + cut; }
};

// Exit status: 0 done; 1 the output could not be written; 2 bad input (options
// the stack refuses, a missing or broken pcap, --out naming the input; a pcap
// cut short or broken after its header still has the frames before the break
// replayed and written, as tshark reads them and exits 2); 3 replayed, but
// nothing was injected or frames were lost (rx_missed). Messages go to stderr.
int run_replay(const ReplayOptions& options, ReplaySummary& summary);

// --convert: the input's frames, made Ethernet frames, written to --out with
// their capture times; no stack. Exit status as run_replay's (0, 1, 2).
int run_convert(const ReplayOptions& options, ReplaySummary& summary);

// The summary lines nettwin-replay prints after every replay that started.
void print_summary(std::FILE* to, const ReplayOptions& options, const ReplaySummary& summary);

}  // namespace nettwin::server
