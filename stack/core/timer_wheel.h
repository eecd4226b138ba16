// The timer wheel's placement of a timer (kernel/time/timer.c): where a
// timer_list armed for `expires` really fires. The wheel has LVL_DEPTH levels
// of 64 buckets; each level is 8 times coarser than the one below, a timer
// goes to the first level whose range holds its delta from the wheel's clock,
// and its expiry is rounded up to that level's granularity so it never fires
// early. A 30 s timer (7500 jiffies at HZ 250) lands on level 3, 512 jiffies
// (2.048 s) wide: it fires up to 2 s late.
#pragma once

#include <cstdint>

#include "core/jiffies.h"

namespace nettwin {

inline constexpr unsigned LVL_CLK_SHIFT = 3;
inline constexpr unsigned LVL_BITS = 6;
inline constexpr uint64_t LVL_SIZE = 1ull << LVL_BITS;
inline constexpr uint64_t LVL_MASK = LVL_SIZE - 1;
inline constexpr unsigned LVL_DEPTH = HZ > 100 ? 9 : 8;
inline constexpr unsigned LVL_SHIFT(unsigned n) { return n * LVL_CLK_SHIFT; }
inline constexpr uint64_t LVL_GRAN(unsigned n) { return 1ull << LVL_SHIFT(n); }
inline constexpr uint64_t LVL_OFFS(unsigned n) { return n * LVL_SIZE; }
// The smallest delta a level holds (level n >= 1).
inline constexpr uint64_t LVL_START(unsigned n) { return (LVL_SIZE - 1) << ((n - 1) * LVL_CLK_SHIFT); }
inline constexpr uint64_t WHEEL_TIMEOUT_CUTOFF = LVL_START(LVL_DEPTH);
inline constexpr uint64_t WHEEL_TIMEOUT_MAX = WHEEL_TIMEOUT_CUTOFF - LVL_GRAN(LVL_DEPTH - 1);

struct WheelSlot {
  unsigned level;          // 0 .. LVL_DEPTH-1
  unsigned idx;            // the bucket, LVL_OFFS(level) + slot
  uint64_t bucket_expiry;  // the jiffy the bucket (and the timer) expires at
};

// calc_wheel_index: the bucket for a timer expiring at `expires` on a wheel
// whose clock (base->clk) is `clk`.
WheelSlot calc_wheel_index(uint64_t expires, uint64_t clk);

// The granularity of the level a timeout of `delta` jiffies goes to.
inline uint64_t wheel_granularity(uint64_t delta) { return LVL_GRAN(calc_wheel_index(delta, 0).level); }

}  // namespace nettwin
