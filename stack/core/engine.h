// The engine: one thread, a virtual nanosecond clock, softirqs and timers.
// Nothing happens between calls; time moves only through run_until/advance.
// Softirqs run at the current virtual time, in Linux's order (NET_TX before
// NET_RX), until none is pending; then the next timer's time comes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

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
  bool timer_pending(TimerId id) const { return timer_index_.count(id) != 0; }
  // The jiffies a pending mod_timer timer was set for (timer->expires, what
  // ss -o reports; the wheel fires it up to a granule later); nothing if it is
  // not pending or was not set with mod_timer.
  std::optional<uint64_t> timer_expires(TimerId id) const {
    auto it = timer_jiffies_.find(id);
    return it == timer_jiffies_.end() ? std::nullopt : std::optional<uint64_t>(it->second);
  }
  size_t timers_pending() const { return timers_.size(); }
  // When the earliest pending timer fires (absolute ns); nothing if none is pending.
  std::optional<uint64_t> next_timer() const {
    return timers_.empty() ? std::nullopt : std::optional<uint64_t>(timers_.begin()->first.first);
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
  TimerId next_timer_ = 0;
  std::map<std::pair<uint64_t, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, uint64_t> timer_index_;
  std::unordered_map<TimerId, uint64_t> timer_jiffies_;  // mod_timer's expires, by timer
};

}  // namespace nettwin
