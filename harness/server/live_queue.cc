#include "live_queue.h"

namespace nettwin::server {

LiveQueue::~LiveQueue() {
  if (budget_) budget_->give(events_.size());
}

bool LiveQueue::hand_turn() {
  if (reader_has_turn_) return false;
  reader_has_turn_ = true;
  return true;
}

bool LiveQueue::push(const TraceRecord& event) {
  bool lost = false;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return true;  // the stream is ending; nobody reads these
    if (events_.size() >= capacity_ || (budget_ && !budget_->take())) {
      if (lost_unreported_ == 0) lost_time_ns_ = event.time_ns();
      ++lost_unreported_;
      lost = true;
    } else {
      events_.push(event);
    }
    wake = hand_turn();
  }
  if (wake) ready_();
  return !lost;
}

void LiveQueue::set_and_wake(bool& flag) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    flag = true;
    wake = hand_turn();
  }
  if (wake) ready_();
}

void LiveQueue::close() { set_and_wake(closed_); }

void LiveQueue::announce() { set_and_wake(announce_pending_); }

LiveQueue::Item LiveQueue::next() {
  Item item;
  std::lock_guard lock(mutex_);
  if (announce_pending_) {
    item.kind = Item::kLive;
    announce_pending_ = false;
  } else if (!events_.empty()) {
    item.kind = Item::kEvent;
    events_.move_front_to(item.event);
    if (budget_) budget_->give();
  } else if (lost_unreported_ > 0) {
    // A loss is reported after the events that were queued before it.
    item.kind = Item::kLost;
    item.lost = lost_unreported_;
    item.lost_time_ns = lost_time_ns_;
    lost_unreported_ = 0;
  } else if (closed_) {
    item.kind = Item::kEnd;
  } else {
    reader_has_turn_ = false;
  }
  return item;
}

}  // namespace nettwin::server
