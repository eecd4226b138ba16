// The one seeded generator (splitmix64): IP IDs, reachable-time jitter, and
// every other "random" choice, so that one seed gives one behaviour.
#pragma once

#include <cstdint>

namespace nettwin {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return n ? uint32_t(next() % n) : 0; }

 private:
  uint64_t state_;
};

}  // namespace nettwin
