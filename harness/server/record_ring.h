// A buffered subscription's records on their way from the engine thread (the
// one producer) to Trace.Read (one reader at a time, on its own thread),
// with no lock and no copy per event between them: the engine stores each
// record (stored_record.h) at the end of a chain of blocks and publishes it
// with one release store; a reader formats records in place and frees the
// blocks it has read. What it does not take (the reply is full) stays for the
// next read, in order. Bounded in events; a record refused is the caller's to
// count as lost.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "core/trace_record.h"
#include "event_budget.h"
#include "stored_record.h"

namespace nettwin::server {

class RecordRing {
 public:
  // capacity: events held at most; budget (may be null): the server's total,
  // taken per event pushed and given back as they are read or dropped.
  RecordRing(size_t capacity, std::shared_ptr<EventBudget> budget);
  ~RecordRing();
  RecordRing(const RecordRing&) = delete;
  RecordRing& operator=(const RecordRing&) = delete;

  // Producer (the engine thread). false: full, or the budget spent; nothing kept.
  bool push(const TraceRecord& r) {
    const uint64_t pushed = pushed_.load(std::memory_order_relaxed);
    if (pushed - popped_.load(std::memory_order_acquire) >= capacity_) return false;
    if (budget_ && !budget_->take()) return false;
    const size_t size = stored_record_size(r);
    if (size > tail_->capacity - tail_end_) [[unlikely]] grow(size);
    store_record(tail_->bytes() + tail_end_, r, size);
    tail_end_ += size;
    pushed_.store(pushed + 1, std::memory_order_relaxed);  // published with the record:
    tail_->end.store(tail_end_, std::memory_order_release);  // a reader never takes more than were pushed
    return true;
  }

  // Reader: fn(const StoredRecordView&) on the oldest records in order, up to
  // max (0: no limit) of those held when the call began (a reader slower than
  // the engine still returns), until fn returns false (that record stays).
  // Records are read in place, valid during fn. Returns how many fn took.
  template <class Fn>
  size_t consume(size_t max, Fn&& fn) {
    std::lock_guard lock(reader_);
    const size_t held = size();
    const size_t limit = max == 0 ? held : std::min(max, held);
    size_t n = 0;
    while (n < limit) {
      size_t end = head_->end.load(std::memory_order_acquire);
      if (head_pos_ == end) {
        // The producer links a block only once it is done with the last one.
        Block* next = head_->next.load(std::memory_order_acquire);
        if (!next) break;
        end = head_->end.load(std::memory_order_acquire);
        if (head_pos_ == end) {
          retire(head_);
          head_ = next;
          head_pos_ = 0;
          continue;
        }
      }
      const StoredRecordView record(head_->bytes() + head_pos_);
      if (!fn(record)) break;
      head_pos_ += record.stored_size();
      ++n;
    }
    if (n) {
      popped_.fetch_add(n, std::memory_order_release);
      if (budget_) budget_->give(n);
    }
    return n;
  }

  // Events held: pushed and not yet taken (either side may ask).
  size_t size() const {
    const uint64_t popped = popped_.load(std::memory_order_acquire);  // first: never ahead of pushed
    return size_t(pushed_.load(std::memory_order_acquire) - popped);
  }

 private:
  struct Block {
    std::atomic<size_t> end{0};  // bytes published
    std::atomic<Block*> next{nullptr};
    size_t capacity = 0;
    char* bytes() { return reinterpret_cast<char*>(this + 1); }
  };
  static Block* new_block(size_t capacity);
  static void free_block(Block* b);
  // Producer: a block with room for `size` bytes after the tail.
  void grow(size_t size);
  // Reader: a block it has read through; kept as the producer's next one.
  void retire(Block* b);

  const size_t capacity_;
  const std::shared_ptr<EventBudget> budget_;
  std::atomic<uint64_t> pushed_{0};
  std::atomic<uint64_t> popped_{0};
  std::atomic<Block*> spare_{nullptr};  // one read block, handed back to the producer
  // Producer's.
  Block* tail_;
  size_t tail_end_ = 0;
  // Reader's, under reader_.
  std::mutex reader_;
  Block* head_;
  size_t head_pos_ = 0;
};

}  // namespace nettwin::server
