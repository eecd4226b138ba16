// "The wire": frames that left a device's TX path, in order, until the harness
// takes them. Slots keep their byte buffers between uses, so a steady stream
// of frames reuses memory instead of allocating.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace nettwin {

struct NetDevice;

class WireQueue {
 public:
  struct Slot {
    NetDevice* dev = nullptr;
    uint64_t time_ns = 0;
    std::vector<uint8_t> bytes;
  };

  void transmit(NetDevice* dev, uint64_t time_ns, std::span<const uint8_t> frame);
  size_t size() const { return count_; }
  // Visit and remove up to max frames (0: all) of dev (nullptr: every device), in order.
  size_t drain(const NetDevice* dev, size_t max, const std::function<void(const Slot&)>& visit);
  // Remove every frame of dev (the device is going away).
  void forget(const NetDevice* dev);

 private:
  Slot& at(size_t i) { return ring_[(head_ + i) % ring_.size()]; }
  std::vector<Slot> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
};

}  // namespace nettwin
