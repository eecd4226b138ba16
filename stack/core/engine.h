// The engine: one thread, a virtual nanosecond clock, softirqs and timers.
// Nothing happens between calls; time moves only through run_until/advance.
// Softirqs run at the current virtual time, in Linux's order (NET_TX before
// NET_RX), until none is pending; then the next timer's time comes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "core/jiffies.h"

namespace nettwin {

// In Linux's order: TASKLET_SOFTIRQ (where system_bh_wq's work runs, TSQ's)
// comes after NET_RX.
enum Softirq : unsigned { NET_TX_SOFTIRQ = 0, NET_RX_SOFTIRQ = 1, TASKLET_SOFTIRQ = 2, NR_SOFTIRQS = 3 };

class Engine {
 public:
  using TimerId = uint64_t;

  uint64_t now() const { return now_; }
  const uint64_t* clock() const { return &now_; }

  // softirq_vec: a plain function and its argument per softirq (here the
  // Net), no std::function on the per-frame path.
  using SoftirqAction = void (*)(void* data);
  void open_softirq(Softirq nr, SoftirqAction action, void* data) { softirq_vec_[nr] = {action, data}; }
  void raise_softirq(Softirq nr) { pending_ |= 1u << nr; }
  // Work done inside a softirq costs virtual time: the clock moves on by ns.
  void spend(uint64_t ns) { now_ += ns; }
  bool softirq_pending() const { return pending_ != 0; }
  // in_softirq: inside do_softirq (process context otherwise, e.g. a socket call).
  bool in_softirq() const { return softirq_depth_ > 0; }
  // __do_softirq, looped until nothing is pending.
  void do_softirq();

  // mod_timer-like: fn runs when the clock reaches expires (absolute ns).
  TimerId add_timer(uint64_t expires, std::function<void()> fn);
  bool del_timer(TimerId id);  // false: not pending
  bool timer_pending(TimerId id) const { return pending_slot(id) != nullptr; }
  // The jiffies a pending mod_timer timer was set for (timer->expires, what
  // ss -o reports; the wheel fires it up to a granule later); nothing if it is
  // not pending or was not set with mod_timer.
  std::optional<uint64_t> timer_expires(TimerId id) const {
    const TimerSlot* t = pending_slot(id);
    return t && t->wheel ? std::optional<uint64_t>(t->expires_jiffies) : std::nullopt;
  }
  size_t timers_pending() const { return heap_.size(); }
  // When the earliest pending timer fires (absolute ns); nothing if none is pending.
  std::optional<uint64_t> next_timer() const {
    return heap_.empty() ? std::nullopt : std::optional<uint64_t>(slots_[heap_[0]].expires);
  }

  // jiffies: the clock in ticks of 1/HZ. At virtual time 0 it reads `origin`
  // (as long after boot as the seed made it), `phase_ns` into that tick.
  uint64_t jiffies() const { return jiffies_origin_ + (now_ + jiffies_phase_ns_) / NSEC_PER_JIFFY; }
  uint64_t jiffies_origin() const { return jiffies_origin_; }
  uint64_t jiffies_phase_ns() const { return jiffies_phase_ns_; }
  void set_jiffies_origin(uint64_t origin, uint64_t phase_ns) {
    jiffies_origin_ = origin;
    jiffies_phase_ns_ = phase_ns % NSEC_PER_JIFFY;
  }
  // The virtual time at which jiffies becomes j (0 for any j already reached at 0).
  uint64_t jiffies_to_time(uint64_t j) const;
  // Jiffies a delay of ns from now ends at, rounded up to a whole tick (the
  // kernel's timeouts are whole jiffies: msecs_to_jiffies rounds up).
  uint64_t jiffies_after(uint64_t delay_ns) const { return jiffies() + (delay_ns + NSEC_PER_JIFFY - 1) / NSEC_PER_JIFFY; }
  // mod_timer on a struct timer_list: fn runs once the timer wheel's bucket
  // for expires (absolute jiffies) expires, as calc_wheel_index places it
  // relative to the current jiffies: up to its level's granularity late.
  TimerId mod_timer(uint64_t expires_jiffies, std::function<void()> fn);

  void run_until(uint64_t t_ns);
  void advance(uint64_t ns) { run_until(now_ + ns); }
  // Run softirqs and timers until nothing is pending, leaving timers further
  // out than horizon_ns from now.
  void run_until_idle(uint64_t horizon_ns);

 private:
  // A pending timer lives in a slot that is reused once it fired or was
  // deleted (as a timer_list lives in its owner: arming allocates nothing).
  // TimerId: the slot's generation above its index, so a stale id matches
  // nothing. The heap orders slots by (expires, seq): timers due at the same
  // time fire in the order they were armed.
  struct TimerSlot {
    uint64_t expires = 0;          // absolute ns
    uint64_t seq = 0;              // arming order
    uint64_t expires_jiffies = 0;  // mod_timer's expires (wheel: set with mod_timer)
    bool wheel = false;
    uint32_t gen = 1;
    uint32_t heap_pos = kNotPending;
    std::function<void()> fn;
  };
  static constexpr uint32_t kNotPending = ~0u;
  const TimerSlot* pending_slot(TimerId id) const {
    const uint64_t idx = id & 0xffffffffu;
    if (idx >= slots_.size()) return nullptr;
    const TimerSlot& t = slots_[idx];
    return t.gen == (id >> 32) && t.heap_pos != kNotPending ? &t : nullptr;
  }
  bool timer_before(uint32_t a, uint32_t b) const {
    const TimerSlot &x = slots_[a], &y = slots_[b];
    return x.expires != y.expires ? x.expires < y.expires : x.seq < y.seq;
  }
  void heap_place(size_t pos, uint32_t slot) {
    heap_[pos] = slot;
    slots_[slot].heap_pos = uint32_t(pos);
  }
  void heap_up(size_t pos);
  void heap_down(size_t pos);
  // Takes the slot off the heap and frees it, handing back its function.
  std::function<void()> release_timer(uint32_t slot);
  bool run_next_timer(uint64_t limit);

  uint64_t now_ = 0;
  uint64_t jiffies_origin_ = 0;
  uint64_t jiffies_phase_ns_ = 0;
  unsigned pending_ = 0;
  unsigned softirq_depth_ = 0;
  struct SoftirqVec {
    SoftirqAction action = nullptr;
    void* data = nullptr;
  };
  SoftirqVec softirq_vec_[NR_SOFTIRQS];
  uint64_t timer_seq_ = 0;
  std::vector<TimerSlot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> heap_;  // slot indices, a binary min-heap by timer_before
};

}  // namespace nettwin
