#include "trace_hub.h"

namespace nettwin::server {

void TraceHub::subscribe(Stack& stack, Buffered& sub) {
  sub.stack_id = stack.subscribe(sub.filter, [this, &sub](const TraceEvent& event) {
    if (sub.events.size() >= buffer_capacity_ || !budget_->take()) {
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

std::optional<uint64_t> TraceHub::open(Stack& stack, const TraceFilter& filter) {
  if (subscriptions() >= max_subscriptions_) return std::nullopt;
  const uint64_t id = next_id_++;
  auto sub = std::make_unique<Buffered>();
  sub->filter = filter;
  subscribe(stack, *sub);
  buffered_.emplace(id, std::move(sub));
  return id;
}

std::optional<TraceHub::ReadResult> TraceHub::read(uint64_t id, size_t max,
                                                   const std::function<bool(const TraceEvent&)>& fits) {
  const auto it = buffered_.find(id);
  if (it == buffered_.end()) return std::nullopt;
  Buffered& sub = *it->second;
  ReadResult result;
  while (!sub.events.empty() && (max == 0 || result.events.size() < max) && fits(sub.events.front())) {
    result.events.push_back(std::move(sub.events.front()));
    sub.events.pop_front();
    budget_->give();
  }
  result.lost = sub.lost;
  result.remaining = sub.events.size();
  return result;
}

bool TraceHub::close(Stack& stack, uint64_t id) {
  const auto it = buffered_.find(id);
  if (it == buffered_.end()) return false;
  stack.unsubscribe(it->second->stack_id);
  budget_->give(it->second->events.size());
  buffered_.erase(it);
  return true;
}

std::optional<uint64_t> TraceHub::open_live(Stack& stack, const TraceFilter& filter,
                                            std::shared_ptr<LiveQueue> queue) {
  if (subscriptions() >= max_subscriptions_) return std::nullopt;
  const uint64_t id = next_id_++;
  auto sub = std::make_unique<Live>();
  sub->filter = filter;
  sub->queue = std::move(queue);
  sub->queue->set_budget(budget_);
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
