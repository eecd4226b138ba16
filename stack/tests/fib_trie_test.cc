// fib_table_lookup through the LC-trie (fib_trie.cc) against the plain
// longest-prefix scan it replaced: random tables of overlapping prefixes of
// every length 0..32, aliases that fail the lookup's tests (tos, scope, oif)
// so that the trie backtracks, and deletes; the same route each time. And
// resize's inflate / halve / collapse (Linux's thresholds) on the trie's shape.
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

// Dense tables: tnodes inflate to many bits, and the walk's backtracking
// (stripping the child index's lowest bit) must still find the shorter prefixes.
TEST_F(FibTrieTest, DenseTablesInflateAndMatchTheScan) {
  int widest = 0;
  for (int round = 0; round < 10; ++round) {
    net.fib.routes.clear();
    const uint32_t base = uint32_t(rng()) & 0xfffff000u;
    for (int i = 0; i < 400; ++i) {
      const uint8_t len = uint8_t(rng() % 4 == 0 ? rng() % 33 : 20 + rng() % 13);
      add(base | (uint32_t(rng()) & 0xfffu), len, rng() % 8 == 0 ? 0x10 : 0, uint32_t(rng() % 2),
          rng() % 6 == 0 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
    }
    Flowi4 fl;
    lookup(fl);  // builds the trie
    std::vector<const KeyVector*> todo{net.fib.trie.root()};
    while (!todo.empty()) {
      const KeyVector* n = todo.back();
      todo.pop_back();
      widest = std::max(widest, int(n->bits));
      for (const KeyVector* c : n->tnode)
        if (c) todo.push_back(c);
    }
    for (int q = 0; q < 1000; ++q) {
      fl.daddr = rng() % 8 ? (base | (uint32_t(rng()) & 0xfffu)) : uint32_t(rng());
      fl.tos = rng() % 2 ? 0x10 : 0;
      fl.scope = rng() % 3 == 0 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
      ASSERT_EQ(lookup(fl), reference(fl)) << "round " << round << " query " << q;
    }
  }
  EXPECT_GE(widest, 4) << "dense tables make wide tnodes";
}

// The trie alone: its leaf for a key, and the longest prefix holding a key.
struct TrieShape : ::testing::Test {
  FibTrie trie;
  std::vector<std::unique_ptr<FibRoute>> routes;
  FibRoute* add(uint32_t dst, uint8_t len) {
    routes.push_back(std::make_unique<FibRoute>());
    routes.back()->dst = dst;
    routes.back()->dst_len = len;
    trie.insert(routes.back().get(), dst, uint8_t(32 - len));
    return routes.back().get();
  }
  void erase(uint32_t dst, uint8_t len) {
    auto it = std::find_if(routes.begin(), routes.end(), [&](auto& r) { return r->dst == dst && r->dst_len == len; });
    ASSERT_TRUE(trie.erase(it->get(), dst));
    routes.erase(it);
  }
  const KeyVector* leaf(uint32_t key) const {
    const KeyVector* n = trie.root();
    while (n && n->bits) n = n->tnode[fib_trie_detail::get_index(key, n)];
    return n && n->key == key ? n : nullptr;
  }
  FibRoute* lpm(uint32_t key) const {
    return trie.lookup(key, [](const FibRoute*) { return true; });
  }
  FibRoute* scan(uint32_t key) const {
    FibRoute* best = nullptr;
    for (auto& r : routes) {
      const uint32_t mask = r->dst_len ? ~0u << (32 - r->dst_len) : 0;
      if ((key & mask) == r->dst && (!best || r->dst_len > best->dst_len)) best = r.get();
    }
    return best;
  }
};

// inflate: sixteen neighbours under one tnode of one bit each become one
// tnode of four bits (every child a leaf); halve: with three left of the
// sixteen, under 25% used, it halves to three bits; collapse: with one left,
// the tnode goes and the leaf hangs from the root tnode.
TEST_F(TrieShape, ResizeInflatesHalvesAndCollapses) {
  add(0xcb007100, 24);  // 203.0.113.0/24: the 10.0.0.x tnode is not the root (thresholds 50/25)
  for (uint32_t i = 0; i < 16; ++i) add(0x0a000000 | i, 32);
  const KeyVector* tn = leaf(0x0a000005)->parent;
  EXPECT_EQ(tn->bits, 4);
  EXPECT_EQ(tn->pos, 0);
  EXPECT_EQ(tn->empty_children, 0u);
  EXPECT_EQ(tn->parent, trie.root());
  for (uint32_t i = 0; i < 16; ++i) EXPECT_EQ(leaf(0x0a000000 | i)->parent, tn) << i;
  for (uint32_t i : {1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14}) erase(0x0a000000 | i, 32);
  EXPECT_EQ(leaf(0x0a000005)->parent->bits, 4) << "4 of 16 used: 25%, not below";
  erase(0x0a00000f, 32);
  tn = leaf(0x0a000005)->parent;
  EXPECT_EQ(tn->bits, 3);
  EXPECT_EQ(tn->pos, 1);
  EXPECT_EQ(leaf(0x0a000000)->parent, tn);
  EXPECT_EQ(leaf(0x0a00000a)->parent, tn);
  erase(0x0a000000, 32);
  erase(0x0a00000a, 32);
  EXPECT_EQ(leaf(0x0a000005)->parent, trie.root());
  EXPECT_EQ(lpm(0x0a000005)->dst, 0x0a000005u);
  EXPECT_EQ(lpm(0x0a000006), nullptr);
}

// Random inserts and erases of prefixes of every length: the longest prefix
// the trie finds is the scan's, after every change.
TEST_F(TrieShape, RandomInsertsAndErasesMatchTheScan) {
  std::mt19937 rng{12};
  for (int step = 0; step < 3000; ++step) {
    if (routes.empty() || rng() % 3) {
      const uint8_t len = uint8_t(rng() % 33);
      const uint32_t dst = (0x0a000000u | (uint32_t(rng()) & 0x3ffu)) & (len ? ~0u << (32 - len) : 0);
      if (std::none_of(routes.begin(), routes.end(), [&](auto& r) { return r->dst == dst && r->dst_len == len; }))
        add(dst, len);
    } else {
      FibRoute* r = routes[rng() % routes.size()].get();
      erase(r->dst, r->dst_len);
    }
    for (int q = 0; q < 8; ++q) {
      const uint32_t key = rng() % 4 ? 0x0a000000u | (uint32_t(rng()) & 0x3ffu) : uint32_t(rng());
      ASSERT_EQ(lpm(key), scan(key)) << "step " << step << " key " << std::hex << key;
    }
  }
}

}  // namespace
}  // namespace nettwin::test
