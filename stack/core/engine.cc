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
  while (pending_) {
    for (unsigned nr = 0; nr < NR_SOFTIRQS; ++nr) {
      if (!(pending_ & (1u << nr))) continue;
      pending_ &= ~(1u << nr);
      if (softirq_vec_[nr].action) softirq_vec_[nr].action(softirq_vec_[nr].data);
    }
  }
}

Engine::TimerId Engine::add_timer(uint64_t expires, std::function<void()> fn) {
  TimerId id = ++next_timer_;
  timers_.emplace(std::make_pair(expires, id), std::move(fn));
  timer_index_.emplace(id, expires);
  return id;
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
  timer_jiffies_.emplace(id, expires_jiffies);
  return id;
}

bool Engine::del_timer(TimerId id) {
  auto it = timer_index_.find(id);
  if (it == timer_index_.end()) return false;
  timers_.erase(std::make_pair(it->second, id));
  timer_index_.erase(it);
  timer_jiffies_.erase(id);
  return true;
}

bool Engine::run_next_timer(uint64_t limit) {
  if (timers_.empty()) return false;
  auto it = timers_.begin();
  if (it->first.first > limit) return false;
  if (it->first.first > now_) now_ = it->first.first;
  auto fn = std::move(it->second);
  timer_index_.erase(it->first.second);
  timer_jiffies_.erase(it->first.second);
  timers_.erase(it);
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
