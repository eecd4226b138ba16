// The timer wheel (kernel/time/timer.c): levels, granularity and where a
// timer really fires, from the formulas in timer.c: level n holds deltas in
// [63 << 3(n-1), 63 << 3n), its granularity is 8^n jiffies, and the expiry is
// rounded up to the next multiple of it.
#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/net.h"
#include "core/timer_wheel.h"

namespace nettwin {
namespace {

TEST(TimerWheel, LevelsAt250Hz) {
  EXPECT_EQ(LVL_DEPTH, 9u);  // HZ > 100
  EXPECT_EQ(calc_wheel_index(1000 + 1, 1000).level, 0u);
  EXPECT_EQ(calc_wheel_index(1000 + 62, 1000).level, 0u);
  EXPECT_EQ(calc_wheel_index(1000 + 63, 1000).level, 1u);    // LVL_START(1) = 63
  EXPECT_EQ(calc_wheel_index(1000 + 503, 1000).level, 1u);
  EXPECT_EQ(calc_wheel_index(1000 + 504, 1000).level, 2u);   // 63 << 3
  EXPECT_EQ(calc_wheel_index(1000 + 4031, 1000).level, 2u);
  EXPECT_EQ(calc_wheel_index(1000 + 4032, 1000).level, 3u);  // 63 << 6
  // The reassembly timeout: 30 s = 7500 jiffies, level 3, 512 jiffies wide.
  EXPECT_EQ(calc_wheel_index(1000 + 7500, 1000).level, 3u);
  EXPECT_EQ(wheel_granularity(7500), 512u);
  EXPECT_EQ(wheel_granularity(250), 8u);   // 1 s: level 1
  EXPECT_EQ(wheel_granularity(50), 1u);    // 200 ms: level 0
  EXPECT_EQ(wheel_granularity(15000), 512u);  // 60 s (TIME_WAIT): still level 3
  EXPECT_EQ(wheel_granularity(32256), 4096u);  // 63 << 9: level 4
}

TEST(TimerWheel, ExpiryRoundsUpToTheLevelsGranularity) {
  // Level 0: the next tick after expires (a timer armed at a tick's edge must
  // not fire early).
  EXPECT_EQ(calc_wheel_index(1010, 1000).bucket_expiry, 1011u);
  // Level 3 (granularity 512): the next multiple of 512 above expires.
  const uint64_t clk = 100000;
  const uint64_t expires = clk + 7500;  // 107500 = 209 * 512 + 492
  EXPECT_EQ(calc_wheel_index(expires, clk).bucket_expiry, 210u * 512);
  // Exactly on a multiple: still the next one, never expires itself.
  EXPECT_EQ(calc_wheel_index(210 * 512, 210 * 512 - 7500).bucket_expiry, 211u * 512);
  // The bucket: level offset + (rounded expiry mod 64).
  EXPECT_EQ(calc_wheel_index(expires, clk).idx, 3 * 64 + 210 % 64);
  // Already expired: the current bucket.
  EXPECT_EQ(calc_wheel_index(990, 1000).bucket_expiry, 1000u);
  // Beyond the wheel's capacity: clamped to clk + WHEEL_TIMEOUT_MAX.
  EXPECT_EQ(WHEEL_TIMEOUT_CUTOFF, 63ull << 24);
  EXPECT_EQ(calc_wheel_index(1ull << 40, 0).bucket_expiry, ((WHEEL_TIMEOUT_MAX >> 24) + 1) << 24);
}

TEST(TimerWheel, ModTimerFiresWhereTheWheelPutsIt) {
  Engine e;
  e.set_jiffies_origin(100000, 1000000);  // 1 ms into tick 100000 at t = 0
  uint64_t fired_ns = 0;
  e.mod_timer(e.jiffies() + 7500, [&] { fired_ns = e.now(); });
  e.advance(40ull * 1000000000);
  // Bucket 210 * 512 = 107520: 7520 ticks after 100000, less the 1 ms phase.
  EXPECT_EQ(fired_ns, 7520ull * NSEC_PER_JIFFY - 1000000);
  EXPECT_GE(fired_ns, 30ull * 1000000000 - 1000000);  // never early
}

TEST(TimerWheel, SeedsPutJiffiesInDifferentPlaces) {
  Net a(1), b(2);
  EXPECT_NE(a.engine.jiffies(), b.engine.jiffies());
  EXPECT_GE(a.engine.jiffies(), INITIAL_JIFFIES);
  Net a2(1);
  EXPECT_EQ(a.engine.jiffies(), a2.engine.jiffies());  // one seed, one boot
}

}  // namespace
}  // namespace nettwin
