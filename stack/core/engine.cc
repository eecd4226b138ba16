#include "core/engine.h"

#include <algorithm>

#include "core/timer_wheel.h"

namespace nettwin {

void Engine::do_softirq() {
  ++softirq_depth_;
  struct Leave {
    unsigned& d;
    ~Leave() { --d; }
  } leave{softirq_depth_};
  // As __do_softirq: take what is pending and clear it, run those softirqs
  // lowest first (ffs), then restart for any raised meanwhile.
  while (unsigned pending = pending_) {
    pending_ = 0;
    do {
      const unsigned nr = unsigned(__builtin_ctz(pending));
      pending &= pending - 1;
      if (softirq_vec_[nr].action) softirq_vec_[nr].action(softirq_vec_[nr].data);
    } while (pending);
  }
}

Engine::TimerId Engine::add_timer(uint64_t expires, std::function<void()> fn) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = uint32_t(slots_.size());
    slots_.emplace_back();
  }
  TimerSlot& t = slots_[slot];
  t.expires = expires;
  t.seq = ++timer_seq_;
  t.wheel = false;
  t.fn = std::move(fn);
  heap_.push_back(slot);
  t.heap_pos = uint32_t(heap_.size() - 1);
  heap_up(heap_.size() - 1);
  return (uint64_t(t.gen) << 32) | slot;
}

void Engine::heap_up(size_t pos) {
  const uint32_t slot = heap_[pos];
  while (pos > 0) {
    const size_t parent = (pos - 1) / 2;
    if (!timer_before(slot, heap_[parent])) break;
    heap_place(pos, heap_[parent]);
    pos = parent;
  }
  heap_place(pos, slot);
}

void Engine::heap_down(size_t pos) {
  const uint32_t slot = heap_[pos];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && timer_before(heap_[child + 1], heap_[child])) ++child;
    if (!timer_before(heap_[child], slot)) break;
    heap_place(pos, heap_[child]);
    pos = child;
  }
  heap_place(pos, slot);
}

std::function<void()> Engine::release_timer(uint32_t slot) {
  TimerSlot& t = slots_[slot];
  const size_t pos = t.heap_pos;
  const uint32_t last = heap_.back();
  heap_.pop_back();
  if (last != slot) {
    heap_place(pos, last);
    heap_down(pos);
    heap_up(slots_[last].heap_pos);
  }
  t.heap_pos = kNotPending;
  ++t.gen;
  free_slots_.push_back(slot);
  return std::move(t.fn);
}

uint64_t Engine::jiffies_to_time(uint64_t j) const {
  if (j <= jiffies_origin_) return 0;
  const uint64_t t = (j - jiffies_origin_) * NSEC_PER_JIFFY;
  return t > jiffies_phase_ns_ ? t - jiffies_phase_ns_ : 0;
}

Engine::TimerId Engine::mod_timer(uint64_t expires_jiffies, std::function<void()> fn) {
  // The wheel's clock (base->clk) is jiffies: mod_timer forwards an idle base first.
  const WheelSlot slot = calc_wheel_index(expires_jiffies, jiffies());
  const TimerId id = add_timer(std::max(now_, jiffies_to_time(slot.bucket_expiry)), std::move(fn));
  TimerSlot& t = slots_[id & 0xffffffffu];
  t.wheel = true;
  t.expires_jiffies = expires_jiffies;
  return id;
}

bool Engine::del_timer(TimerId id) {
  if (!pending_slot(id)) return false;
  release_timer(uint32_t(id & 0xffffffffu));  // its function (and what it holds) goes with it
  return true;
}

bool Engine::run_next_timer(uint64_t limit) {
  if (heap_.empty()) return false;
  const uint32_t slot = heap_[0];
  const uint64_t expires = slots_[slot].expires;
  if (expires > limit) return false;
  if (expires > now_) now_ = expires;
  auto fn = release_timer(slot);
  // A timer runs in TIMER_SOFTIRQ: softirq context (veth_xmit defers to the backlog).
  ++softirq_depth_;
  fn();
  --softirq_depth_;
  do_softirq();
  return true;
}

void Engine::run_until(uint64_t t_ns) {
  // do_softirq with nothing pending does nothing: only called when something is.
  if (pending_) do_softirq();
  while (run_next_timer(t_ns)) {
  }
  if (t_ns > now_) now_ = t_ns;
  if (pending_) do_softirq();
}

void Engine::run_until_idle(uint64_t horizon_ns) {
  const uint64_t limit = now_ + horizon_ns;
  do_softirq();
  while (run_next_timer(limit)) {
  }
}

}  // namespace nettwin
