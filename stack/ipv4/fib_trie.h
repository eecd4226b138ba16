// The LC-trie of net/ipv4/fib_trie.c that fib_table_lookup walks: key vectors
// (struct key_vector), tnodes that branch on `bits` bits at `pos`, leaves that
// hold the aliases of one key, each tnode's longest suffix (slen) for pruning,
// and the longest-prefix match with backtracking of fib_table_lookup. Built
// by fib_insert_node's inserts, each followed by trie_rebalance: resize()
// inflates a tnode whose children are full enough into one of twice the
// children (one bit more), halves a sparse one, collapses one with one child,
// with Linux's thresholds. Rebuilt after the routes change.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace nettwin {

struct FibRoute;

// A fib_alias in its leaf: the route and its suffix length (32 - prefix length).
struct FibAlias {
  FibRoute* route;
  uint8_t fa_slen;
};

struct KeyVector {
  uint32_t key = 0;
  uint8_t pos = 0;   // the lowest bit the tnode branches on
  uint8_t bits = 0;  // 0: a leaf
  uint8_t slen = 0;  // the longest suffix (32 - prefix length) below
  KeyVector* parent = nullptr;
  // tn_info: children that are null, and tnodes that branch right below us.
  uint64_t empty_children = 0;
  uint64_t full_children = 0;
  size_t arena_index = 0;  // where the trie keeps it
  std::vector<KeyVector*> tnode;  // 1 << bits children, owned by the trie
  std::vector<FibAlias> leaf;     // the aliases, in lookup order
};

class FibTrie {
 public:
  FibTrie();
  // The aliases of every route, each in the leaf of its prefix; `routes` in
  // lookup order (longest prefix first, then tos, metric, age).
  void build(const std::vector<FibRoute*>& routes);
  // fib_insert_alias / fib_insert_node (then trie_rebalance) and
  // fib_remove_alias (the leaf goes with its last alias, then
  // trie_rebalance): one route's alias in the leaf of key; the suffixes
  // are brought up to date after each.
  void insert(FibRoute* r, uint32_t key, uint8_t slen);
  bool erase(FibRoute* r, uint32_t key);
  // fib_table_lookup's walk: the aliases whose prefix holds key, longest
  // prefix first, offered to accept until it returns true; null when none does.
  template <typename Accept>
  FibRoute* lookup(uint32_t key, Accept&& accept) const;
  // The trie's first node (null when empty), for tests that read its shape.
  const KeyVector* root() const { return kv_.tnode[0]; }

 private:
  KeyVector* tnode_new(uint32_t key, int pos, int bits);
  void insert_alias(FibRoute* r, uint32_t key, uint8_t slen);
  void insert_node(KeyVector* tp, FibRoute* r, uint32_t key, uint8_t slen);
  void trie_rebalance(KeyVector* tn);
  KeyVector* resize(KeyVector* tn);
  KeyVector* inflate(KeyVector* oldtnode);
  KeyVector* halve(KeyVector* oldtnode);
  KeyVector* collapse(KeyVector* oldtnode);
  KeyVector* replace(KeyVector* oldtnode, KeyVector* tn, const std::vector<KeyVector*>& freed);
  void node_free(KeyVector* n);
  static uint8_t update_suffix(KeyVector* n);
  KeyVector kv_;  // the trie's root: pos 32, one child
  std::vector<std::unique_ptr<KeyVector>> nodes_;  // every node made since build, live or freed
};

namespace fib_trie_detail {
inline bool is_leaf(const KeyVector* n) { return n->bits == 0; }
inline bool is_trie(const KeyVector* n) { return n->pos >= 32; }
// get_index / get_cindex: the child a key goes to (0 past the root's 32 bits).
inline uint64_t get_index(uint32_t key, const KeyVector* n) { return uint64_t(key ^ n->key) >> n->pos; }
// prefix_mismatch: the key differs from the node's key where the node's prefix keeps bits.
inline bool prefix_mismatch(uint32_t key, const KeyVector* n) { return (key ^ n->key) & (n->key | -n->key); }
inline KeyVector* child(const KeyVector* n, uint64_t i) { return n->tnode[i]; }
}  // namespace fib_trie_detail

template <typename Accept>
FibRoute* FibTrie::lookup(uint32_t key, Accept&& accept) const {
  using namespace fib_trie_detail;
  const KeyVector* pn = &kv_;
  uint64_t cindex = 0;
  const KeyVector* n = child(pn, cindex);
  if (!n) return nullptr;
  // Step 1: down to the longest prefix match, remembering the last tnode
  // with shorter prefixes below it (where backtracking resumes).
  for (;;) {
    const uint64_t index = get_index(key, n);
    if (index >= (uint64_t(1) << n->bits)) break;
    if (is_leaf(n)) goto found;
    if (n->slen > n->pos) {
      pn = n;
      cindex = index;
    }
    n = child(n, index);
    if (!n) goto backtrace;
  }
  // Step 2: a leaf or a tnode whose prefix may still hold key; else strip the
  // lowest set bit of the child index (a shorter prefix) and go up when none is left.
  for (;;) {
    if (prefix_mismatch(key, n) || n->slen == n->pos) goto backtrace;
    if (is_leaf(n)) break;
    n = child(n, 0);
    while (!n) {
    backtrace:
      while (!cindex) {
        const uint32_t pkey = pn->key;
        if (is_trie(pn)) return nullptr;
        pn = pn->parent;
        cindex = get_index(pkey, pn);
      }
      cindex &= cindex - 1;
      n = child(pn, cindex);
    }
  }
found:
  // Step 3: the leaf's aliases whose prefix holds key; none taken: backtrack.
  {
    const uint32_t index = key ^ n->key;
    for (const FibAlias& fa : n->leaf) {
      if (index >= (uint64_t(1) << fa.fa_slen)) continue;
      if (accept(fa.route)) return fa.route;
    }
  }
  goto backtrace;
}

}  // namespace nettwin
