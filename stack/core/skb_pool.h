// The allocator behind alloc_skb: free lists of skb headers and of data
// buffers in power-of-two size classes. A pool grows when a list runs dry and
// never shrinks, so a steady stream of frames allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/skbuff.h"

namespace nettwin {

class Tracer;

// SKB_TRUESIZE: what Linux charges per skb beyond the data (aligned sizeof
// struct sk_buff and struct skb_shared_info on x86-64).
inline constexpr uint32_t SKB_HEAD_OVERHEAD = 256;
inline constexpr uint32_t SKB_SHINFO_OVERHEAD = 320;
inline constexpr unsigned NET_SKB_PAD = 64;
inline constexpr unsigned SMP_CACHE_BYTES = 64;
inline constexpr unsigned SKB_DATA_ALIGN(unsigned x) { return (x + SMP_CACHE_BYTES - 1) & ~(SMP_CACHE_BYTES - 1); }

class SkbPool {
 public:
  static constexpr unsigned kMinClass = 512;
  static constexpr unsigned kClasses = 9;  // 512 B .. 128 KiB
  static constexpr unsigned kMaxSize = kMinClass << (kClasses - 1);

  explicit SkbPool(Tracer& tracer) : tracer_(tracer) {}
  ~SkbPool();
  SkbPool(const SkbPool&) = delete;
  SkbPool& operator=(const SkbPool&) = delete;

  // alloc_skb(size): an empty skb (len 0, data == head) with at least size
  // bytes of room; throws std::length_error above kMaxSize.
  SkBuff* alloc_skb(unsigned size);

  // The pieces alloc_skb, skb_clone and skb_copy are made of.
  SkBuff* alloc_head();
  void free_head(SkBuff* skb);
  SkbDataBuf* alloc_data(unsigned size);
  void free_data(SkbDataBuf* buf);
  uint64_t next_id() { return ++last_id_; }

  Tracer& tracer() { return tracer_; }

  // For tests and benchmarks: what the pool has ever created, and what is out now.
  uint64_t heads_created() const { return heads_created_; }
  uint64_t data_created() const { return data_created_; }
  uint64_t heads_in_use() const { return heads_in_use_; }
  uint64_t data_in_use() const { return data_in_use_; }

 private:
  [[gnu::noinline, gnu::cold]] void grow_heads();
  [[gnu::noinline, gnu::cold]] SkbDataBuf* new_data(unsigned cls);
  [[noreturn, gnu::noinline, gnu::cold]] static void too_large(unsigned size);

  Tracer& tracer_;
  SkBuff* free_heads_ = nullptr;
  SkbDataBuf* free_data_[kClasses] = {};
  std::vector<std::unique_ptr<SkBuff[]>> head_chunks_;
  std::vector<std::unique_ptr<SkbDataBuf>> data_bufs_;
  std::vector<std::unique_ptr<uint8_t[]>> data_bytes_;
  uint64_t last_id_ = 0;
  uint64_t heads_created_ = 0, data_created_ = 0, heads_in_use_ = 0, data_in_use_ = 0;
};

}  // namespace nettwin
