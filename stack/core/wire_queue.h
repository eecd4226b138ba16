// "The wire": frames that left a device's TX path, in order, until the harness
// takes them. It is the harness's capture of each device's transmissions, and
// like a capture socket's buffer it holds a bounded backlog per device: a frame
// that does not fit is not kept and is counted as that device's wire_dropped
// (what pcap reports as ps_drop). The stack itself sent the frame either way
// (tx_packets counts it). Slots keep their byte buffers between uses, so a
// steady stream of frames reuses memory instead of allocating.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace nettwin {

struct NetDevice;

// One device's share of the wire: what it holds, its bound, what did not fit.
struct WireBacklog {
  static constexpr size_t kDefaultLimitFrames = 65536;
  static constexpr size_t kDefaultLimitBytes = size_t(64) << 20;  // frame bytes
  size_t frames = 0;
  size_t bytes = 0;
  size_t limit_frames = kDefaultLimitFrames;
  size_t limit_bytes = kDefaultLimitBytes;
  uint64_t dropped = 0;  // frames not kept because the backlog was full
};

class WireQueue {
 public:
  struct Slot {
    NetDevice* dev = nullptr;
    uint64_t time_ns = 0;
    std::vector<uint8_t> bytes;
  };

  // Keeps the frame unless dev's backlog is full; then counts it in
  // dev->wire_backlog.dropped and returns false.
  bool transmit(NetDevice* dev, uint64_t time_ns, std::span<const uint8_t> frame);
  size_t size() const { return count_; }
  // Removes, in order, the frames of dev (nullptr: every device) that take()
  // accepts, up to max (0: no limit). The first frame take() refuses stops the
  // drain: it and every later one stay. Returns how many were removed.
  size_t drain(const NetDevice* dev, size_t max, const std::function<bool(const Slot&)>& take);
  // Remove every frame of dev (the device is going away).
  void forget(const NetDevice* dev);

 private:
  Slot& at(size_t i) { return ring_[(head_ + i) % ring_.size()]; }
  static void release(Slot& s);
  std::vector<Slot> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace nettwin
