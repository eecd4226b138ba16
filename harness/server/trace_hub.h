// Trace subscriptions held by the server: buffered ones (Open/Read/Close) and
// live ones (Stream). Everything here lives on the engine thread, but a
// buffered subscription's records go to Trace.Read through its RecordRing
// (record_ring.h), which the reader drains on its own thread, and a live
// subscription hands its events to its Stream handler through a LiveQueue.
// Losses are counted per subscription and in total, never silent. Events are
// held as typed records; text is made only for a reply. The number of
// subscriptions is bounded, and so is what each one holds.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "event_budget.h"
#include "live_queue.h"
#include "record_ring.h"
#include "stack/stack.h"

namespace nettwin::server {

class TraceHub {
 public:
  // buffer_capacity: events a buffered subscription holds; max_subscriptions:
  // buffered and live together.
  // budget: events held for all subscriptions together.
  TraceHub(size_t buffer_capacity, size_t max_subscriptions, size_t budget)
      : buffer_capacity_(buffer_capacity),
        max_subscriptions_(max_subscriptions),
        budget_(std::make_shared<EventBudget>(budget)) {}

  // Buffered subscriptions. open() gives nullopt when max_subscriptions are open.
  std::optional<uint64_t> open(Stack& stack, const TraceFilter& filter);
  // What a reader needs, outliving a Close that races with its read: the
  // records, and the subscription's loss count (since it opened).
  struct Reader {
    std::shared_ptr<RecordRing> records;
    std::shared_ptr<const std::atomic<uint64_t>> lost;
  };
  std::optional<Reader> reader(uint64_t id);  // nullopt: unknown id
  bool close(Stack& stack, uint64_t id);  // false: unknown id

  // Live subscriptions; open_live() gives nullopt when max_subscriptions are open.
  std::optional<uint64_t> open_live(Stack& stack, const TraceFilter& filter,
                                    std::shared_ptr<LiveQueue> queue);
  void close_live(Stack& stack, uint64_t id);
  void close_all_live();  // server shutdown: every Stream ends, later ones at once

  // Reset replaces the stack: move every subscription from the old stack to the
  // new one, so that a client's subscription survives a Reset.
  void move_subscriptions(Stack& old_stack, Stack& new_stack);

  size_t subscriptions() const { return buffered_.size() + live_.size(); }
  size_t max_subscriptions() const { return max_subscriptions_; }
  uint64_t lost_total() const { return lost_total_; }
  const EventBudget& budget() const { return *budget_; }

 private:
  struct Buffered {
    TraceFilter filter;
    int stack_id = 0;
    std::shared_ptr<RecordRing> records;
    std::shared_ptr<std::atomic<uint64_t>> lost = std::make_shared<std::atomic<uint64_t>>(0);
  };
  struct Live {
    TraceFilter filter;
    int stack_id = 0;
    std::shared_ptr<LiveQueue> queue;
  };

  void subscribe(Stack& stack, Buffered& sub);
  void subscribe(Stack& stack, Live& sub);

  size_t buffer_capacity_;
  size_t max_subscriptions_;
  std::shared_ptr<EventBudget> budget_;  // shared with the live queues, which may outlive the hub
  uint64_t next_id_ = 1;
  uint64_t lost_total_ = 0;
  bool live_closed_ = false;  // shutting down: no new live stream stays open
  std::map<uint64_t, std::unique_ptr<Buffered>> buffered_;
  std::map<uint64_t, std::unique_ptr<Live>> live_;
};

}  // namespace nettwin::server
