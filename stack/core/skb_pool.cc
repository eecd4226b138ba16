#include "core/skb_pool.h"

#include <new>
#include <stdexcept>
#include <string>

namespace nettwin {

SkbPool::~SkbPool() = default;

// Grow by a chunk of headers: the only heap allocation for them, amortized
// away. Out of line, so the per-skb path saves no registers for it.
void SkbPool::grow_heads() {
  constexpr size_t kChunk = 256;
  auto chunk = std::make_unique<SkBuff[]>(kChunk);
  for (size_t i = 0; i < kChunk; ++i) {
    chunk[i].next = free_heads_;
    free_heads_ = &chunk[i];
  }
  head_chunks_.push_back(std::move(chunk));
  heads_created_ += kChunk;
}

SkBuff* SkbPool::alloc_head() {
  if (!free_heads_) [[unlikely]] grow_heads();
  SkBuff* skb = free_heads_;
  free_heads_ = skb->next;
  new (skb) SkBuff();  // built in place: no temporary to copy (SkBuff is trivially destructible)
  skb->pool = this;
  ++heads_in_use_;
  return skb;
}

void SkbPool::free_head(SkBuff* skb) {
  skb->buf = nullptr;
  skb->head = skb->data = nullptr;
  skb->next = free_heads_;
  free_heads_ = skb;
  --heads_in_use_;
}

void SkbPool::too_large(unsigned size) {
  throw std::length_error("alloc_skb: " + std::to_string(size) + " bytes is more than the largest buffer (" +
                          std::to_string(kMaxSize) + ")");
}

// A new data buffer of class cls, when its free list is empty (out of line).
SkbDataBuf* SkbPool::new_data(unsigned cls) {
  auto owned = std::make_unique<SkbDataBuf>();
  auto bytes = std::make_unique<uint8_t[]>(kMinClass << cls);
  owned->bytes = bytes.get();
  owned->size_class = uint8_t(cls);
  SkbDataBuf* buf = owned.get();
  data_bufs_.push_back(std::move(owned));
  data_bytes_.push_back(std::move(bytes));
  ++data_created_;
  return buf;
}

SkbDataBuf* SkbPool::alloc_data(unsigned size) {
  if (size > kMaxSize) [[unlikely]] too_large(size);
  // The smallest class that holds size: ceil(log2(size)) - log2(kMinClass).
  static_assert(kMinClass == 512);
  const unsigned cls = size <= kMinClass ? 0 : unsigned(32 - __builtin_clz(size - 1)) - 9;
  SkbDataBuf* buf = free_data_[cls];
  if (buf) [[likely]] {
    free_data_[cls] = buf->next_free;
  } else {
    buf = new_data(cls);
  }
  buf->next_free = nullptr;
  buf->shinfo = SkbSharedInfo{};
  buf->size = kMinClass << cls;
  ++data_in_use_;
  return buf;
}

void SkbPool::free_data(SkbDataBuf* buf) {
  buf->next_free = free_data_[buf->size_class];
  free_data_[buf->size_class] = buf;
  --data_in_use_;
}

SkBuff* SkbPool::alloc_skb(unsigned size) {
  SkbDataBuf* buf = alloc_data(SKB_DATA_ALIGN(size));
  SkBuff* skb = alloc_head();
  skb->id = next_id();
  skb->buf = buf;
  skb->head = skb->data = buf->bytes;
  skb->tail = 0;
  skb->end = buf->size;
  skb->truesize = buf->size + SKB_HEAD_OVERHEAD + SKB_SHINFO_OVERHEAD;
  return skb;
}

}  // namespace nettwin
