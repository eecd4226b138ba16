// Live mode: one stack device behind a TAP interface, on the real clock.
//
// Frames Linux sends on the TAP are read off its file descriptor and go in at
// the device's RX ring (Stack::inject, as Nic.Inject does); frames the stack
// puts on that device's wire are written to the TAP, where Linux receives
// them. The stack's clock follows CLOCK_MONOTONIC, so its timers (the same
// timer wheel as in virtual time) fire when real time reaches them.
//
// pump() is the engine thread's idle work (EngineThread's Idle): run what is
// due, hand the wire's frames to Linux, then sleep in ppoll() until a frame
// comes on the TAP, the next timer is due or a gRPC call wakes the thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "stack/stack.h"

namespace nettwin::server {

// The live clock: nanoseconds since the LiveTap was made, on CLOCK_MONOTONIC
// (never steps back, whatever the wall clock does).
std::function<uint64_t()> monotonic_clock();

class LiveTap {
 public:
  // fd: a TAP opened with IFF_TAP | IFF_NO_PI (one frame per read and write;
  // anything with datagram semantics will do), made non-blocking here; the
  // LiveTap closes it. dev: the stack device it is bridged to.
  LiveTap(int fd, std::string dev, std::function<uint64_t()> now = monotonic_clock());
  ~LiveTap();
  LiveTap(const LiveTap&) = delete;
  LiveTap& operator=(const LiveTap&) = delete;

  // One round: run the stack up to now, write its frames to the TAP, wait
  // (only when wake_fd >= 0) for a frame, the next timer or wake_fd, and take
  // in the frames that came. Never throws: a stack failure is counted and told
  // on stderr.
  void pump(Stack& stack, int wake_fd);

  // How long to sleep before the next timer is due: nothing when no timer is
  // pending (sleep until a frame or a wake-up), 0 when it is already due.
  static std::optional<uint64_t> sleep_ns(std::optional<uint64_t> next_timer, uint64_t now);

  const std::string& dev() const { return dev_; }
  // "live.tap_rx" (frames read from the TAP), "live.tap_tx" (written to it),
  // "live.tap_tx_errors" (a write Linux refused: the TAP was down or full),
  // "live.inject_errors" (frames the device would not take: it does not exist
  // or the frame is larger than its MTU allows), "live.stack_failures".
  std::vector<std::pair<std::string, uint64_t>> counters() const;

 private:
  void transmit(Stack& stack);  // the device's wire -> the TAP
  void receive(Stack& stack);   // the TAP -> the device's RX ring
  void wait(const Stack& stack, int wake_fd);

  int fd_;
  std::string dev_;
  std::function<uint64_t()> now_;
  bool readable_ = false;   // the last wait saw the TAP readable
  bool hung_up_ = false;    // the TAP went away (its namespace was deleted)
  std::vector<uint8_t> buffer_;
  uint64_t tap_rx_ = 0;
  uint64_t tap_tx_ = 0;
  uint64_t tap_tx_errors_ = 0;
  uint64_t inject_errors_ = 0;
  uint64_t stack_failures_ = 0;
};

}  // namespace nettwin::server
