#include "core/wire_queue.h"

#include <utility>

#include "core/netdevice.h"

namespace nettwin {

namespace {
// A slot keeps its buffer for the next frame unless the buffer is much larger
// than that frame (a jumbo frame's): memory held follows what is queued.
constexpr size_t kSlotKeepBytes = 4096;
}  // namespace

bool WireQueue::transmit(NetDevice* dev, uint64_t time_ns, std::span<const uint8_t> frame) {
  WireBacklog& backlog = dev->wire_backlog;
  if (backlog.frames >= backlog.limit_frames || backlog.bytes + frame.size() > backlog.limit_bytes) {
    ++backlog.dropped;
    return false;
  }
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
  if (s.bytes.capacity() > kSlotKeepBytes && s.bytes.capacity() > 2 * frame.size())
    std::vector<uint8_t>().swap(s.bytes);
  s.bytes.assign(frame.begin(), frame.end());
  ++count_;
  ++backlog.frames;
  backlog.bytes += frame.size();
  return true;
}

void WireQueue::release(Slot& s) {
  WireBacklog& backlog = s.dev->wire_backlog;
  --backlog.frames;
  backlog.bytes -= s.bytes.size();
}

size_t WireQueue::drain(const NetDevice* dev, size_t max, const std::function<bool(const Slot&)>& take) {
  size_t taken = 0;
  auto wanted = [&] { return max == 0 || taken < max; };
  if (!dev) {
    while (count_ > 0 && wanted() && take(at(0))) {
      release(at(0));
      head_ = (head_ + 1) % ring_.size();
      --count_;
      ++taken;
    }
    return taken;
  }
  // Take dev's frames, keep the others in order: compact in place.
  bool stopped = false;
  size_t kept = 0;
  for (size_t i = 0; i < count_; ++i) {
    Slot& s = at(i);
    if (!stopped && s.dev == dev && wanted() && take(s)) {
      release(s);
      ++taken;
      continue;
    }
    if (s.dev == dev) stopped = true;  // refused or over max: dev's later frames stay too
    if (kept != i) std::swap(at(kept), s);
    ++kept;
  }
  count_ = kept;
  return taken;
}

void WireQueue::forget(const NetDevice* dev) {
  drain(dev, 0, [](const Slot&) { return true; });
}

}  // namespace nettwin
