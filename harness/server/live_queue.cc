#include "live_queue.h"

#include <algorithm>

namespace nettwin::server {

bool LiveQueue::push(const TraceEvent& event) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return true;  // the handler is gone; nobody is waiting for it
    if (events_.size() >= capacity_) {
      if (lost_unreported_ == 0) lost_time_ns_ = event.time_ns;
      ++lost_unreported_;
      return false;
    }
    events_.push_back(event);
  }
  ready_.notify_one();
  return true;
}

LiveQueue::Batch LiveQueue::pop(size_t max, std::chrono::milliseconds timeout) {
  Batch batch;
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, timeout,
                  [this] { return closed_ || !events_.empty() || lost_unreported_ > 0; });
  const size_t n = std::min(max, events_.size());
  batch.events.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    batch.events.push_back(std::move(events_.front()));
    events_.pop_front();
  }
  // A loss is reported after the events that were queued before it.
  if (events_.empty() && lost_unreported_ > 0) {
    batch.lost = lost_unreported_;
    batch.lost_time_ns = lost_time_ns_;
    lost_unreported_ = 0;
  }
  batch.closed = closed_ && events_.empty() && lost_unreported_ == 0;
  return batch;
}

void LiveQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

}  // namespace nettwin::server
