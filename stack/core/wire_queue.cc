#include "core/wire_queue.h"

#include <utility>

namespace nettwin {

void WireQueue::transmit(NetDevice* dev, uint64_t time_ns, std::span<const uint8_t> frame) {
  if (count_ == ring_.size()) {
    // Grow: unroll the ring into a bigger one (amortized, not per frame).
    std::vector<Slot> bigger(ring_.empty() ? 64 : ring_.size() * 2);
    for (size_t i = 0; i < count_; ++i) bigger[i] = std::move(at(i));
    ring_ = std::move(bigger);
    head_ = 0;
  }
  Slot& s = at(count_);
  s.dev = dev;
  s.time_ns = time_ns;
  s.bytes.assign(frame.begin(), frame.end());
  ++count_;
}

size_t WireQueue::drain(const NetDevice* dev, size_t max, const std::function<void(const Slot&)>& visit) {
  size_t taken = 0;
  if (!dev) {
    while (count_ > 0 && (max == 0 || taken < max)) {
      visit(at(0));
      head_ = (head_ + 1) % ring_.size();
      --count_;
      ++taken;
    }
    return taken;
  }
  // Take dev's frames, keep the others in order: compact in place.
  size_t kept = 0;
  for (size_t i = 0; i < count_; ++i) {
    Slot& s = at(i);
    if (s.dev == dev && (max == 0 || taken < max)) {
      visit(s);
      ++taken;
    } else {
      if (kept != i) std::swap(at(kept), s);
      ++kept;
    }
  }
  count_ = kept;
  return taken;
}

void WireQueue::forget(const NetDevice* dev) {
  drain(dev, 0, [](const Slot&) {});
}

}  // namespace nettwin
