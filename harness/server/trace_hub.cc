#include "trace_hub.h"

#include "reply_budget.h"

namespace nettwin::server {

void TraceHub::subscribe(Stack& stack, Buffered& sub) {
  sub.stack_id = stack.subscribe_records(sub.filter, [this, &sub](const TraceRecord& record) {
    if (sub.records.size() >= buffer_capacity_ || !budget_->take()) {
      ++sub.lost;
      ++lost_total_;
      return;
    }
    sub.records.push(record, uint32_t(trace_record_bytes(record)));
  });
}

void TraceHub::subscribe(Stack& stack, Live& sub) {
  sub.stack_id = stack.subscribe_records(sub.filter, [this, &sub](const TraceRecord& record) {
    if (!sub.queue->push(record)) ++lost_total_;
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

std::optional<TraceHub::ReadResult> TraceHub::read(uint64_t id, size_t max, const std::function<bool(size_t)>& fits) {
  const auto it = buffered_.find(id);
  if (it == buffered_.end()) return std::nullopt;
  Buffered& sub = *it->second;
  ReadResult result;
  budget_->give(sub.records.move_front_while(result.records, max, fits));
  result.lost = sub.lost;
  result.remaining = sub.records.size();
  return result;
}

bool TraceHub::close(Stack& stack, uint64_t id) {
  const auto it = buffered_.find(id);
  if (it == buffered_.end()) return false;
  stack.unsubscribe(it->second->stack_id);
  budget_->give(it->second->records.size());
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
