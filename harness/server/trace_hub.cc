#include "trace_hub.h"

namespace nettwin::server {

void TraceHub::subscribe(Stack& stack, Buffered& sub) {
  sub.stack_id = stack.subscribe_records(sub.filter, [this, &sub, &ring = *sub.records](const TraceRecord& record) {
    if (ring.push(record)) [[likely]] return;
    sub.lost->fetch_add(1, std::memory_order_relaxed);
    ++lost_total_;
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
  sub->records = std::make_shared<RecordRing>(buffer_capacity_, budget_);
  subscribe(stack, *sub);
  buffered_.emplace(id, std::move(sub));
  return id;
}

std::optional<TraceHub::Reader> TraceHub::reader(uint64_t id) {
  const auto it = buffered_.find(id);
  if (it == buffered_.end()) return std::nullopt;
  return Reader{it->second->records, it->second->lost};
}

bool TraceHub::close(Stack& stack, uint64_t id) {
  const auto it = buffered_.find(id);
  if (it == buffered_.end()) return false;
  stack.unsubscribe(it->second->stack_id);
  buffered_.erase(it);  // the ring gives its records' budget back when its last reader is done
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
