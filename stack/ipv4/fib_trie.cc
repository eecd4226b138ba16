#include "ipv4/fib_trie.h"

#include <algorithm>

#include "ipv4/fib.h"

namespace nettwin {

using namespace fib_trie_detail;

// The trie's own key vector (struct trie's kv): pos 32, one child, every suffix.
FibTrie::FibTrie() {
  kv_.pos = 32;
  kv_.slen = 32;
  kv_.tnode.resize(1);
}

void FibTrie::build(const std::vector<FibRoute*>& routes) {
  kv_.tnode[0].reset();
  for (FibRoute* r : routes) insert(r, r->dst, uint8_t(32 - r->dst_len));
  if (kv_.tnode[0]) update_suffix(kv_.tnode[0].get());
}

// fib_find_node, then fib_insert_node: an alias of an existing key joins its
// leaf; else a tnode of one bit at the highest bit where the key and the node
// in its way differ takes both.
void FibTrie::insert(FibRoute* r, uint32_t key, uint8_t slen) {
  KeyVector* tp = &kv_;
  KeyVector* n = child(tp, 0);
  while (n) {
    const uint64_t index = get_index(key, n);
    if (index >= (uint64_t(1) << n->bits)) break;  // n's prefix is not key's
    if (is_leaf(n)) {
      n->leaf.push_back({r, slen});
      return;
    }
    tp = n;
    n = child(n, index);
  }
  if (n) {
    const int pos = 31 - __builtin_clz(key ^ n->key);  // __fls
    auto tn = std::make_unique<KeyVector>();
    tn->pos = uint8_t(pos);
    tn->bits = 1;
    tn->key = pos + 1 < 32 ? (key >> (pos + 1)) << (pos + 1) : 0;
    tn->parent = tp;
    tn->tnode.resize(2);
    auto& slot = tp->tnode[get_index(key, tp)];
    slot->parent = tn.get();
    tn->tnode[get_index(key, tn.get()) ^ 1] = std::move(slot);
    slot = std::move(tn);
    tp = slot.get();
  }
  auto l = std::make_unique<KeyVector>();
  l->key = key;
  l->parent = tp;
  l->leaf.push_back({r, slen});
  tp->tnode[get_index(key, tp)] = std::move(l);
}

// The longest suffix below each node (update_suffix), a tnode's at least its pos.
uint8_t FibTrie::update_suffix(KeyVector* n) {
  if (is_leaf(n)) {
    n->slen = 0;
    for (const FibAlias& fa : n->leaf) n->slen = std::max(n->slen, fa.fa_slen);
    return n->slen;
  }
  n->slen = n->pos;
  for (auto& c : n->tnode)
    if (c) n->slen = std::max(n->slen, update_suffix(c.get()));
  return n->slen;
}

}  // namespace nettwin
