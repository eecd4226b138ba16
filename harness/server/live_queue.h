// The hand-over from the engine thread to one Trace.Stream: a bounded queue
// that counts what it had to drop and reports it after the events queued before
// the loss. No thread waits on it: the reader takes items while it has its
// turn, and when it runs dry the turn ends; the next push (or close) hands the
// turn back through the `ready` callback.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "event_budget.h"
#include "record_fifo.h"
#include "stack/stack.h"

namespace nettwin::server {

class LiveQueue {
 public:
  // ready() runs, on the pushing or closing thread and outside the queue's
  // lock, each time an idle reader gets its turn back.
  LiveQueue(size_t capacity, std::function<void()> ready)
      : capacity_(capacity), ready_(std::move(ready)) {}
  ~LiveQueue();

  // Events this queue holds also count against budget (the server's total);
  // set before the first push.
  void set_budget(std::shared_ptr<EventBudget> budget) { budget_ = std::move(budget); }

  // Engine thread. Returns false when the event was lost because the queue (or
  // the budget) was full.
  bool push(const TraceRecord& record);
  // No more events: the reader gets End after what is left.
  void close();
  // The subscription is in place: the reader gets Live before anything else,
  // so that it can tell its client (gRPC initial metadata) that no event will
  // be missed from here on.
  void announce();

  struct Item {
    enum Kind { kLive, kEvent, kLost, kEnd, kIdle } kind = kIdle;
    RecordFifo event;           // kEvent: the one record, formatted by the reader
    uint64_t lost = 0;          // kLost: events lost since the previous loss report
    uint64_t lost_time_ns = 0;  // kLost: virtual time of the first of them
  };
  // Only the reader with the turn calls this. kIdle ends the turn; after kEnd
  // the turn is kept for good (nothing will come).
  Item next();

 private:
  // Under the lock: give an idle reader its turn; true when ready_ must run.
  bool hand_turn();
  // Sets flag (closed_, announce_pending_) and gives an idle reader its turn.
  void set_and_wake(bool& flag);

  std::mutex mutex_;
  RecordFifo events_;
  size_t capacity_;
  std::shared_ptr<EventBudget> budget_;
  std::function<void()> ready_;
  uint64_t lost_unreported_ = 0;
  uint64_t lost_time_ns_ = 0;
  bool announce_pending_ = false;
  bool closed_ = false;
  bool reader_has_turn_ = false;
};

}  // namespace nettwin::server
