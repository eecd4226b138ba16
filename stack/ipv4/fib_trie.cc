#include "ipv4/fib_trie.h"

#include <algorithm>

#include "ipv4/fib.h"

namespace nettwin {

using namespace fib_trie_detail;

namespace {
// Linux's thresholds, in percent of a tnode's children (the root's lower: kept larger).
constexpr uint64_t halve_threshold = 25, inflate_threshold = 50;
constexpr uint64_t halve_threshold_root = 15, inflate_threshold_root = 30;

uint64_t child_length(const KeyVector* tn) { return uint64_t(1) << tn->bits; }

// tnode_full: n is a tnode that branches on the bits right below tn's.
bool tnode_full(const KeyVector* tn, const KeyVector* n) {
  return n && !is_leaf(n) && n->pos + n->bits == tn->pos;
}

// put_child: the counts of empty and full children follow the slot.
void put_child(KeyVector* tn, uint64_t i, KeyVector* n) {
  KeyVector* chi = tn->tnode[i];
  if (!n && chi) ++tn->empty_children;
  if (n && !chi) --tn->empty_children;
  const bool wasfull = tnode_full(tn, chi), isfull = tnode_full(tn, n);
  if (wasfull && !isfull) --tn->full_children;
  else if (!wasfull && isfull) ++tn->full_children;
  if (n && tn->slen < n->slen) tn->slen = n->slen;
  tn->tnode[i] = n;
}

void put_child_root(KeyVector* tp, uint32_t key, KeyVector* n) {
  if (is_trie(tp)) tp->tnode[0] = n;
  else put_child(tp, get_index(key, tp), n);
}

bool should_inflate(const KeyVector* tp, const KeyVector* tn) {
  uint64_t used = child_length(tn);
  const uint64_t threshold = used * (is_trie(tp) ? inflate_threshold_root : inflate_threshold);
  used -= tn->empty_children;
  used += tn->full_children;
  return used > 1 && tn->pos && 100 * used >= threshold;
}

bool should_halve(const KeyVector* tp, const KeyVector* tn) {
  uint64_t used = child_length(tn);
  const uint64_t threshold = used * (is_trie(tp) ? halve_threshold_root : halve_threshold);
  used -= tn->empty_children;
  return used > 1 && tn->bits > 1 && 100 * used < threshold;
}

// One child or none: time to drop the tnode from the trie.
bool should_collapse(const KeyVector* tn) { return child_length(tn) - tn->empty_children < 2; }

// update_children: the children point back at tn; a new tnode of our own
// (its parent already tn) passes that on to its children.
void update_children(KeyVector* tn) {
  for (KeyVector* inode : tn->tnode) {
    if (!inode) continue;
    if (inode->parent == tn && !is_leaf(inode)) {
      for (KeyVector* c : inode->tnode)
        if (c) c->parent = inode;
    } else {
      inode->parent = tn;
    }
  }
}
}  // namespace

// The trie's own key vector (struct trie's kv): pos 32, one child, every suffix.
FibTrie::FibTrie() {
  kv_.pos = 32;
  kv_.slen = 32;
  kv_.tnode.resize(1);
}

void FibTrie::build(const std::vector<FibRoute*>& routes) {
  kv_.tnode[0] = nullptr;
  nodes_.clear();
  for (FibRoute* r : routes) insert_alias(r, r->dst, uint8_t(32 - r->dst_len));
  if (kv_.tnode[0]) update_suffix(kv_.tnode[0]);
}

void FibTrie::insert(FibRoute* r, uint32_t key, uint8_t slen) {
  insert_alias(r, key, slen);
  update_suffix(kv_.tnode[0]);
}

// tnode_new: a leaf (bits 0) or a tnode of 1 << bits empty children; the key
// keeps only the bits above those it branches on.
KeyVector* FibTrie::tnode_new(uint32_t key, int pos, int bits) {
  auto n = std::make_unique<KeyVector>();
  const int shift = pos + bits;
  n->key = shift < 32 ? (key >> shift) << shift : 0;
  n->pos = uint8_t(pos);
  n->bits = uint8_t(bits);
  n->slen = uint8_t(pos);
  if (bits) {
    n->tnode.assign(size_t(1) << bits, nullptr);
    n->empty_children = uint64_t(1) << bits;
  }
  n->arena_index = nodes_.size();
  nodes_.push_back(std::move(n));
  return nodes_.back().get();
}

void FibTrie::node_free(KeyVector* n) {
  const size_t i = n->arena_index;
  nodes_.back()->arena_index = i;
  std::swap(nodes_[i], nodes_.back());
  nodes_.pop_back();
}

// fib_find_node, then fib_insert_alias into the leaf of key, or fib_insert_node.
void FibTrie::insert_alias(FibRoute* r, uint32_t key, uint8_t slen) {
  KeyVector* tp = &kv_;
  KeyVector* n = child(tp, 0);
  while (n) {
    const uint64_t index = get_index(key, n);
    if (index >= (uint64_t(1) << n->bits)) break;  // n's prefix is not key's
    if (is_leaf(n)) {  // after the aliases of longer or equal prefixes (fa_slen order)
      auto at = std::upper_bound(n->leaf.begin(), n->leaf.end(), slen,
                                 [](uint8_t s, const FibAlias& fa) { return s < fa.fa_slen; });
      n->leaf.insert(at, {r, slen});
      return;
    }
    tp = n;
    n = child(n, index);
  }
  insert_node(tp, r, key, slen);
}

// fib_insert_node: a tnode of one bit at the highest bit where the key and
// the node in its way differ takes both; then trie_rebalance from there.
void FibTrie::insert_node(KeyVector* tp, FibRoute* r, uint32_t key, uint8_t slen) {
  KeyVector* l = tnode_new(key, 0, 0);
  l->slen = slen;
  l->leaf.push_back({r, slen});
  KeyVector* n = child(tp, is_trie(tp) ? 0 : get_index(key, tp));
  if (n) {
    KeyVector* tn = tnode_new(key, 31 - __builtin_clz(key ^ n->key), 1);  // __fls
    tn->parent = tp;
    put_child(tn, get_index(key, tn) ^ 1, n);
    put_child_root(tp, key, tn);
    n->parent = tn;
    tp = tn;
  }
  l->parent = tp;
  put_child_root(tp, key, l);
  trie_rebalance(tp);
}

// fib_remove_alias: the alias goes; with the leaf's last, the leaf, and
// trie_rebalance from its tnode.
bool FibTrie::erase(FibRoute* r, uint32_t key) {
  KeyVector* tp = &kv_;
  KeyVector* l = child(tp, 0);
  while (l && !is_leaf(l)) {
    const uint64_t index = get_index(key, l);
    if (index >= (uint64_t(1) << l->bits)) return false;
    tp = l;
    l = child(l, index);
  }
  if (!l || l->key != key) return false;
  auto it = std::find_if(l->leaf.begin(), l->leaf.end(), [r](const FibAlias& fa) { return fa.route == r; });
  if (it == l->leaf.end()) return false;
  l->leaf.erase(it);
  if (l->leaf.empty()) {
    put_child_root(tp, l->key, nullptr);
    node_free(l);
    trie_rebalance(tp);
  }
  if (kv_.tnode[0]) update_suffix(kv_.tnode[0]);
  return true;
}

void FibTrie::trie_rebalance(KeyVector* tn) {
  while (!is_trie(tn)) tn = resize(tn);
}

// resize: inflate while the children are full enough (at most MAX_WORK
// times); if none was, halve while they are sparse; a tnode left with one
// child collapses. Returns the parent, where trie_rebalance goes on.
KeyVector* FibTrie::resize(KeyVector* tn) {
  constexpr int MAX_WORK = 10;
  KeyVector* tp = tn->parent;
  const uint64_t cindex = is_trie(tp) ? 0 : get_index(tn->key, tp);
  int max_work = MAX_WORK;
  while (should_inflate(tp, tn) && max_work) {
    tp = inflate(tn);
    max_work--;
    tn = child(tp, cindex);
  }
  tp = tn->parent;
  if (max_work != MAX_WORK) return tp;  // at least one inflate ran
  while (should_halve(tp, tn) && max_work) {
    tp = halve(tn);
    max_work--;
    tn = child(tp, cindex);
  }
  if (should_collapse(tn)) return collapse(tn);
  return tn->parent;
}

// inflate: one bit more at one position lower. Leaves and tnodes with skipped
// bits move as they are; a full child of one bit gives its two children; a
// wider full child splits into two of one bit less (node0, node1).
KeyVector* FibTrie::inflate(KeyVector* oldtnode) {
  KeyVector* tn = tnode_new(oldtnode->key, oldtnode->pos - 1, oldtnode->bits + 1);
  tn->parent = oldtnode;
  std::vector<KeyVector*> freed{oldtnode};
  const uint32_t m = 1u << tn->pos;
  for (uint64_t i = child_length(oldtnode); i;) {
    KeyVector* inode = child(oldtnode, --i);
    if (!inode) continue;
    if (!tnode_full(oldtnode, inode)) {
      put_child(tn, get_index(inode->key, tn), inode);
      continue;
    }
    freed.push_back(inode);
    if (inode->bits == 1) {
      put_child(tn, 2 * i + 1, child(inode, 1));
      put_child(tn, 2 * i, child(inode, 0));
      continue;
    }
    KeyVector* node1 = tnode_new(inode->key | m, inode->pos, inode->bits - 1);
    KeyVector* node0 = tnode_new(inode->key, inode->pos, inode->bits - 1);
    for (uint64_t k = child_length(inode), j = k / 2; j;) {
      put_child(node1, --j, child(inode, --k));
      put_child(node0, j, child(inode, j));
      put_child(node1, --j, child(inode, --k));
      put_child(node0, j, child(inode, j));
    }
    node1->parent = tn;
    node0->parent = tn;
    put_child(tn, 2 * i + 1, node1);
    put_child(tn, 2 * i, node0);
  }
  return replace(oldtnode, tn, freed);
}

// halve: one bit less at one position higher; two nonempty neighbours go
// under a new tnode of one bit.
KeyVector* FibTrie::halve(KeyVector* oldtnode) {
  KeyVector* tn = tnode_new(oldtnode->key, oldtnode->pos + 1, oldtnode->bits - 1);
  tn->parent = oldtnode;
  for (uint64_t i = child_length(oldtnode); i;) {
    KeyVector* node1 = child(oldtnode, --i);
    KeyVector* node0 = child(oldtnode, --i);
    if (!node1 || !node0) {
      put_child(tn, i / 2, node1 ? node1 : node0);
      continue;
    }
    KeyVector* inode = tnode_new(node0->key, oldtnode->pos, 1);
    put_child(inode, 1, node1);
    put_child(inode, 0, node0);
    inode->parent = tn;
    put_child(tn, i / 2, inode);
  }
  return replace(oldtnode, tn, {oldtnode});
}

// collapse: the one child left (if any) takes the tnode's place.
KeyVector* FibTrie::collapse(KeyVector* oldtnode) {
  KeyVector* n = nullptr;
  for (uint64_t i = child_length(oldtnode); !n && i;) n = child(oldtnode, --i);
  KeyVector* tp = oldtnode->parent;
  put_child_root(tp, oldtnode->key, n);
  if (n) n->parent = tp;
  node_free(oldtnode);
  return tp;
}

// replace: tn takes oldtnode's place under its parent, the children point
// at it, the old nodes are freed, then the full children are resized.
KeyVector* FibTrie::replace(KeyVector* oldtnode, KeyVector* tn, const std::vector<KeyVector*>& freed) {
  KeyVector* tp = oldtnode->parent;
  tn->parent = tp;
  put_child_root(tp, tn->key, tn);
  update_children(tn);
  for (KeyVector* f : freed) node_free(f);
  for (uint64_t i = child_length(tn); i;) {
    KeyVector* inode = child(tn, --i);
    if (tnode_full(tn, inode)) resize(inode);
  }
  return tp;
}

// The longest suffix below each node (update_suffix), a tnode's at least its pos.
uint8_t FibTrie::update_suffix(KeyVector* n) {
  if (is_leaf(n)) {
    n->slen = 0;
    for (const FibAlias& fa : n->leaf) n->slen = std::max(n->slen, fa.fa_slen);
    return n->slen;
  }
  n->slen = n->pos;
  for (KeyVector* c : n->tnode)
    if (c) n->slen = std::max(n->slen, update_suffix(c));
  return n->slen;
}

}  // namespace nettwin
