#include "trace_hub.h"

#include <algorithm>

namespace nettwin::server {

void TraceHub::subscribe(Stack& stack, Buffered& sub) {
  sub.stack_id = stack.subscribe(sub.filter, [this, &sub](const TraceEvent& event) {
    if (sub.events.size() >= buffer_capacity_) {
      ++sub.lost;
      ++lost_total_;
      return;
    }
    sub.events.push_back(event);
  });
}

void TraceHub::subscribe(Stack& stack, Live& sub) {
  sub.stack_id = stack.subscribe(sub.filter, [this, &sub](const TraceEvent& event) {
    if (!sub.queue->push(event)) ++lost_total_;
  });
}

uint64_t TraceHub::open(Stack& stack, const TraceFilter& filter) {
  const uint64_t id = next_id_++;
  auto sub = std::make_unique<Buffered>();
  sub->filter = filter;
  subscribe(stack, *sub);
  buffered_.emplace(id, std::move(sub));
  return id;
}

std::optional<TraceHub::ReadResult> TraceHub::read(uint64_t id, size_t max) {
  const auto it = buffered_.find(id);
  if (it == buffered_.end()) return std::nullopt;
  Buffered& sub = *it->second;
  ReadResult result;
  const size_t n = max == 0 ? sub.events.size() : std::min(max, sub.events.size());
  result.events.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    result.events.push_back(std::move(sub.events.front()));
    sub.events.pop_front();
  }
  result.lost = sub.lost;
  return result;
}

bool TraceHub::close(Stack& stack, uint64_t id) {
  const auto it = buffered_.find(id);
  if (it == buffered_.end()) return false;
  stack.unsubscribe(it->second->stack_id);
  buffered_.erase(it);
  return true;
}

uint64_t TraceHub::open_live(Stack& stack, const TraceFilter& filter,
                             std::shared_ptr<LiveQueue> queue) {
  const uint64_t id = next_id_++;
  auto sub = std::make_unique<Live>();
  sub->filter = filter;
  sub->queue = std::move(queue);
  subscribe(stack, *sub);
  if (live_closed_) sub->queue->close();
  live_.emplace(id, std::move(sub));
  return id;
}

void TraceHub::close_live(Stack& stack, uint64_t id) {
  const auto it = live_.find(id);
  if (it == live_.end()) return;
  stack.unsubscribe(it->second->stack_id);
  it->second->queue->close();
  live_.erase(it);
}

void TraceHub::close_all_live() {
  live_closed_ = true;
  for (auto& [id, sub] : live_) sub->queue->close();
}

void TraceHub::move_subscriptions(Stack& old_stack, Stack& new_stack) {
  for (auto& [id, sub] : buffered_) {
    old_stack.unsubscribe(sub->stack_id);
    subscribe(new_stack, *sub);
  }
  for (auto& [id, sub] : live_) {
    old_stack.unsubscribe(sub->stack_id);
    subscribe(new_stack, *sub);
  }
}

}  // namespace nettwin::server
