// jiffies on the virtual clock: the kernel these recordings come from runs at
// HZ=250, and rate limits (ICMP, redirects) count in whole jiffies.
#pragma once

#include <cstdint>

namespace nettwin {

inline constexpr uint64_t HZ = 250;
inline constexpr uint64_t NSEC_PER_JIFFY = 1000000000ull / HZ;

// INITIAL_JIFFIES: jiffies at boot, (unsigned int)(-300 * HZ), so that the
// 32-bit value wraps 5 minutes after boot.
inline constexpr uint64_t INITIAL_JIFFIES = uint32_t(-300 * int64_t(HZ));

inline uint64_t ns_to_jiffies(uint64_t ns) { return ns / NSEC_PER_JIFFY; }
// msecs_to_jiffies: rounds up, as the kernel does.
inline uint64_t msecs_to_jiffies(uint64_t ms) { return (ms * HZ + 999) / 1000; }

}  // namespace nettwin
