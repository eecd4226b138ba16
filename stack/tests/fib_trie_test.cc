// fib_table_lookup through the LC-trie (fib_trie.cc) against the plain
// longest-prefix scan it replaced: random tables of overlapping prefixes of
// every length 0..32, aliases that fail the lookup's tests (tos, scope, oif)
// so that the trie backtracks, and deletes; the same route each time.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/net.h"
#include "ipv4/fib.h"
#include "test_helpers.h"

namespace nettwin::test {
namespace {

struct FibTrieTest : ::testing::Test {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();
  std::mt19937 rng{7};

  NetDevice* dev() { return net.dev_get_by_name("ntdut0"); }
  void add(uint32_t dst, uint8_t len, uint8_t tos = 0, uint32_t priority = 0, uint8_t scope = RT_SCOPE_UNIVERSE,
           RtnType type = RTN_UNICAST) {
    auto r = std::make_unique<FibRoute>();
    r->dst = len ? dst & (~0u << (32 - len)) : 0;
    r->dst_len = len;
    r->tos = tos;
    r->priority = priority;
    r->scope = scope;
    r->type = type;
    r->dev = dev();
    net.fib.routes.push_back(std::move(r));
    net.fib.lookup_stale = true;
  }
  // The scan: every route, longest prefix first, then tos, metric, age.
  FibRoute* reference(const Flowi4& fl) {
    std::vector<FibRoute*> order;
    for (auto& r : net.fib.routes) order.push_back(r.get());
    std::stable_sort(order.begin(), order.end(), [](const FibRoute* a, const FibRoute* b) {
      if (a->dst_len != b->dst_len) return a->dst_len > b->dst_len;
      if (a->tos != b->tos) return a->tos > b->tos;
      return a->priority < b->priority;
    });
    for (FibRoute* r : order) {
      const uint32_t mask = r->dst_len ? ~0u << (32 - r->dst_len) : 0;
      if ((fl.daddr & mask) != r->dst || r->scope < fl.scope || (r->tos && r->tos != (fl.tos & 0xfc))) continue;
      if (r->type == RTN_UNICAST && fl.oif && r->dev->ifindex != fl.oif) continue;
      return r;
    }
    return nullptr;
  }
  FibRoute* lookup(const Flowi4& fl) {
    FibResult res;
    const int err = fib_table_lookup(net, RT_TABLE_MAIN, fl, &res);
    return err == -11 ? nullptr : res.route;
  }
};

TEST_F(FibTrieTest, EveryPrefixLengthIsFoundLongestFirst) {
  net.fib.routes.clear();
  const uint32_t a = 0xcb007105;  // 203.0.113.5
  for (int len = 0; len <= 32; ++len) add(a, uint8_t(len));
  Flowi4 fl;
  for (int bit = 0; bit < 32; ++bit) {
    fl.daddr = a ^ (1u << bit);  // differs at this bit: the longest prefix is the one above it
    FibRoute* r = lookup(fl);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->dst_len, 31 - bit) << bit;
  }
  fl.daddr = a;
  EXPECT_EQ(lookup(fl)->dst_len, 32);
}

TEST_F(FibTrieTest, ShorterPrefixWhenTheLongerFailsItsTests) {
  net.fib.routes.clear();
  add(0x0a000000, 8);
  add(0x0a010000, 16, 0, 0, RT_SCOPE_LINK);
  add(0x0a010200, 24, 0x10);
  Flowi4 fl;
  fl.daddr = 0x0a010203;
  EXPECT_EQ(lookup(fl)->dst_len, 16);  // the /24 wants tos 0x10
  fl.scope = RT_SCOPE_HOST;              // nothing of host scope: the link /16 fails too
  EXPECT_EQ(lookup(fl), nullptr);
  fl.scope = RT_SCOPE_UNIVERSE;
  fl.tos = 0x10;
  EXPECT_EQ(lookup(fl)->dst_len, 24);
  net.fib.routes.erase(net.fib.routes.begin() + 2);  // a delete
  net.fib.lookup_stale = true;
  EXPECT_EQ(lookup(fl)->dst_len, 16);
}

TEST_F(FibTrieTest, RandomTablesMatchTheScan) {
  for (int round = 0; round < 40; ++round) {
    net.fib.routes.clear();
    net.fib.lookup_stale = true;
    // Keys from a small space so that prefixes overlap and share leaves.
    const uint32_t base = uint32_t(rng()) & 0xffff0000u;
    const int n = 1 + int(rng() % 60);
    for (int i = 0; i < n; ++i) {
      const uint8_t len = uint8_t(rng() % 33);
      const uint32_t dst = base | (uint32_t(rng()) & 0xff0fu);
      const uint8_t tos = rng() % 4 == 0 ? uint8_t((rng() % 3 + 1) << 2) : 0;
      const uint8_t scope = rng() % 4 == 0 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
      add(len == 32 || rng() % 2 ? dst : base, len, tos, uint32_t(rng() % 3), scope,
          rng() % 10 == 0 ? RTN_UNREACHABLE : RTN_UNICAST);
    }
    for (int del = int(rng() % 5); del > 0 && !net.fib.routes.empty(); --del) {
      net.fib.routes.erase(net.fib.routes.begin() + long(rng() % net.fib.routes.size()));
      net.fib.lookup_stale = true;
    }
    for (int q = 0; q < 200; ++q) {
      Flowi4 fl;
      fl.daddr = rng() % 2 ? (base | (uint32_t(rng()) & 0xffffu)) : uint32_t(rng());
      fl.tos = uint8_t((rng() % 4) << 2);
      fl.scope = rng() % 3 == 0 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
      fl.oif = rng() % 5 == 0 ? 99 : 0;
      ASSERT_EQ(lookup(fl), reference(fl)) << "round " << round << " query " << q;
    }
  }
}

}  // namespace
}  // namespace nettwin::test
