#include "core/timer_wheel.h"

namespace nettwin {

namespace {

// calc_index: rounded up with the level's granularity (a timer armed at the
// edge of a tick, or truncated by a coarse level, must not fire early).
WheelSlot calc_index(uint64_t expires, unsigned lvl) {
  expires = (expires >> LVL_SHIFT(lvl)) + 1;
  return {lvl, unsigned(LVL_OFFS(lvl) + (expires & LVL_MASK)), expires << LVL_SHIFT(lvl)};
}

}  // namespace

WheelSlot calc_wheel_index(uint64_t expires, uint64_t clk) {
  const uint64_t delta = expires - clk;
  for (unsigned lvl = 0; lvl + 1 < LVL_DEPTH; ++lvl)
    if (delta < LVL_START(lvl + 1)) return calc_index(expires, lvl);
  if (int64_t(delta) < 0) return {0, unsigned(clk & LVL_MASK), clk};  // already expired: the current bucket
  // Obscenely large timeouts expire at the wheel's capacity.
  if (delta >= WHEEL_TIMEOUT_CUTOFF) expires = clk + WHEEL_TIMEOUT_MAX;
  return calc_index(expires, LVL_DEPTH - 1);
}

}  // namespace nettwin
