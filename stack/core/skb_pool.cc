#include "core/skb_pool.h"

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

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

static_assert(std::is_standard_layout_v<SkBuff> && std::is_trivially_destructible_v<SkBuff>,
              "alloc_head clears a prefix of SkBuff and reuses it without a destructor");
static_assert(offsetof(SkBuff, tail) % 16 == 0);

namespace {
// The memset as 16-byte stores, unrolled: GCC makes a small constant memset a
// rep stosq, which costs an instruction (and a slow start) per 8 bytes. Each
// store is a 16-byte memcpy (one unaligned vector store): an SkBuff is only
// 8-byte aligned, so a vector-typed store would be misaligned (UBSan).
using Zero16 = uint64_t __attribute__((vector_size(16)));
template <size_t... I>
inline void zero16(uint8_t* p, std::index_sequence<I...>) {
  constexpr Zero16 zero{};
  (std::memcpy(p + 16 * I, &zero, sizeof zero), ...);
}
}  // namespace

SkBuff* SkbPool::alloc_head() {
  if (!free_heads_) [[unlikely]] grow_heads();
  SkBuff* skb = free_heads_;
  free_heads_ = skb->next;
  // What SkBuff{} holds, without building all of it: one memset up to tail
  // (__alloc_skb's), the header offsets unset, then the fields after tail.
  zero16(reinterpret_cast<uint8_t*>(skb), std::make_index_sequence<offsetof(SkBuff, tail) / 16>());
  skb->transport_header = skb->network_header = skb->mac_header = SKB_HEADER_UNSET;
  skb->tail = skb->end = 0;
  skb->head = skb->data = nullptr;
  skb->truesize = 0;
  skb->users = 1;
  skb->id = 0;
  skb->buf = nullptr;
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
