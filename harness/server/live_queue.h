// The hand-over from the engine thread to one Trace.Stream handler: a bounded
// queue that counts what it had to drop and reports it after the events queued
// before the loss.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "stack/stack.h"

namespace nettwin::server {

// Bounded queue from the engine thread (push) to one Stream handler (pop).
class LiveQueue {
 public:
  explicit LiveQueue(size_t capacity) : capacity_(capacity) {}

  // Engine thread. Returns false when the event was lost because the queue was full.
  bool push(const TraceEvent& event);

  struct Batch {
    std::vector<TraceEvent> events;
    uint64_t lost = 0;          // events lost since the previous batch
    uint64_t lost_time_ns = 0;  // virtual time of the first of them
    bool closed = false;        // no more events will come
  };
  // Handler thread: wait up to timeout for events, a loss or close().
  Batch pop(size_t max, std::chrono::milliseconds timeout);

  // Ends the stream: the handler drains what is left and returns.
  void close();

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<TraceEvent> events_;
  size_t capacity_;
  uint64_t lost_unreported_ = 0;
  uint64_t lost_time_ns_ = 0;
  bool closed_ = false;
};

}  // namespace nettwin::server
