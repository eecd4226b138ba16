// Every trace event the server holds for its clients, buffered (Trace.Open)
// and live (Trace.Stream) together. Each subscription has its own bound, which
// keeps one reader from taking all of it; this one keeps the sum bounded
// however many subscriptions are open. An event refused here is lost and
// counted like any other loss.
#pragma once

#include <atomic>
#include <cstddef>

namespace nettwin::server {

class EventBudget {
 public:
  explicit EventBudget(size_t capacity) : capacity_(capacity) {}

  // One more event held; false when the budget is spent.
  bool take() {
    size_t held = held_.load(std::memory_order_relaxed);
    do {
      if (held >= capacity_) return false;
    } while (!held_.compare_exchange_weak(held, held + 1, std::memory_order_relaxed));
    return true;
  }
  // n events delivered or discarded.
  void give(size_t n = 1) { held_.fetch_sub(n, std::memory_order_relaxed); }

  size_t held() const { return held_.load(std::memory_order_relaxed); }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  std::atomic<size_t> held_{0};
};

}  // namespace nettwin::server
