#include "record_ring.h"

#include <algorithm>
#include <new>

namespace nettwin::server {

namespace {
// Blocks of 256 KiB: ~5,000 small records each, one allocation (or none,
// reusing the spare) every few thousand events.
constexpr size_t kBlockBytes = size_t(256) << 10;
}  // namespace

RecordRing::Block* RecordRing::new_block(size_t capacity) {
  void* mem = ::operator new(sizeof(Block) + capacity);
  Block* b = new (mem) Block;
  b->capacity = capacity;
  return b;
}

void RecordRing::free_block(Block* b) {
  if (!b) return;
  b->~Block();
  ::operator delete(b);
}

RecordRing::RecordRing(size_t capacity, std::shared_ptr<EventBudget> budget)
    : capacity_(capacity), budget_(std::move(budget)), tail_(new_block(kBlockBytes)), head_(tail_) {}

RecordRing::~RecordRing() {
  if (budget_) budget_->give(size());
  for (Block* b = head_; b;) {
    Block* next = b->next.load(std::memory_order_relaxed);
    free_block(b);
    b = next;
  }
  free_block(spare_.load(std::memory_order_relaxed));
}

void RecordRing::grow(size_t size) {
  Block* b = nullptr;
  if (size <= kBlockBytes) b = spare_.exchange(nullptr, std::memory_order_acquire);
  if (b) {
    b->end.store(0, std::memory_order_relaxed);
    b->next.store(nullptr, std::memory_order_relaxed);
  } else {
    b = new_block(std::max(size, kBlockBytes));
  }
  tail_->next.store(b, std::memory_order_release);
  tail_ = b;
  tail_end_ = 0;
}

void RecordRing::retire(Block* b) {
  if (b->capacity != kBlockBytes) return free_block(b);
  free_block(spare_.exchange(b, std::memory_order_acq_rel));
}

}  // namespace nettwin::server
