#include "core/skbuff.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/netdevice.h"
#include "core/skb_pool.h"
#include "core/trace_events.h"

namespace nettwin {

std::string skb_describe(const SkBuff* skb) {
  return "len:" + std::to_string(skb->len) + " data:" + std::to_string(skb->data - skb->head) +
         " tail:" + std::to_string(skb->tail) + " end:" + std::to_string(skb->end) +
         " dev:" + (skb->dev ? skb->dev->name : std::string("<NULL>"));
}

void skb_over_panic(const SkBuff* skb, unsigned int sz, const char* op) {
  throw SkbPanic(std::string("skb_over_panic: text:") + op + " put:" + std::to_string(sz) + " " +
                 skb_describe(skb));
}

void skb_under_panic(const SkBuff* skb, unsigned int sz, const char* op) {
  throw SkbPanic(std::string("skb_under_panic: text:") + op + " push:" + std::to_string(sz) + " " +
                 skb_describe(skb));
}

// Everything but the links, identity and reference counts (__copy_skb_header).
static void copy_skb_header(SkBuff* n, const SkBuff* old) {
  n->tstamp = old->tstamp;
  n->dev = old->dev;
  n->dst = old->dst;
  std::memcpy(n->cb, old->cb, sizeof n->cb);
  n->len = old->len;
  n->data_len = old->data_len;
  n->mac_len = old->mac_len;
  n->queue_mapping = old->queue_mapping;
  n->pkt_type = old->pkt_type;
  n->ip_summed = old->ip_summed;
  n->priority = old->priority;
  n->mark = old->mark;
  n->skb_iif = old->skb_iif;
  n->protocol = old->protocol;
  n->dst_pending_confirm = old->dst_pending_confirm;
  n->transport_header = old->transport_header;
  n->network_header = old->network_header;
  n->mac_header = old->mac_header;
  n->tail = old->tail;
  n->end = old->end;
}

SkBuff* skb_clone(SkBuff* skb) {
  SkBuff* n = skb->pool->alloc_head();
  n->id = skb->pool->next_id();
  copy_skb_header(n, skb);
  n->buf = skb->buf;
  n->head = skb->head;
  n->data = skb->data;
  n->truesize = skb->truesize;
  n->cloned = true;
  skb->cloned = true;
  ++skb_shinfo(skb)->dataref;
  return n;
}

SkBuff* skb_copy(const SkBuff* skb) {
  SkbPool* pool = skb->pool;
  SkbDataBuf* buf = pool->alloc_data(skb->end);
  SkBuff* n = pool->alloc_head();
  n->id = pool->next_id();
  copy_skb_header(n, skb);
  n->buf = buf;
  n->head = buf->bytes;
  n->data = n->head + (skb->data - skb->head);
  n->truesize = buf->size + SKB_HEAD_OVERHEAD + SKB_SHINFO_OVERHEAD;
  std::memcpy(n->head, skb->head, skb->end);  // headroom and all, like skb_copy
  buf->shinfo.gso_size = skb_shinfo(skb)->gso_size;
  buf->shinfo.gso_segs = skb_shinfo(skb)->gso_segs;
  buf->shinfo.gso_type = skb_shinfo(skb)->gso_type;
  return n;
}

static void skb_release_all(SkBuff* skb, SkbDropReason reason);

// kfree_skb_list_reason, as skb_release_data calls it for a frag_list. Linux
// frees an skb's data from __kfree_skb with NOT_SPECIFIED whatever the owner's
// fate, so each piece is traced as kfree_skb NOT_SPECIFIED at skb_release_data
// (recorded: frag_echo_large3).
static void skb_release_frag_list(SkBuff* segs) {
  while (segs) {
    SkBuff* next = segs->next;
    segs->next = nullptr;
    if (segs->users == 1) {
      trace_kfree_skb(segs->pool->tracer(), segs, "skb_release_data", SkbDropReason::NOT_SPECIFIED);
      skb_release_all(segs, SkbDropReason::NOT_SPECIFIED);
    } else {
      --segs->users;
    }
    segs = next;
  }
}

// skb_release_head_state (the destructor) + skb_release_data + kfree_skbmem.
static void skb_release_all(SkBuff* skb, SkbDropReason reason) {
  if (skb->destructor) skb->destructor(skb);
  SkbPool* pool = skb->pool;
  SkbDataBuf* buf = skb->buf;
  if (buf && --buf->shinfo.dataref == 0) {
    SkBuff* frags = buf->shinfo.frag_list;
    buf->shinfo.frag_list = nullptr;
    pool->free_data(buf);
    skb_release_frag_list(frags);
  }
  pool->free_head(skb);
}

// skb_unref: true when the caller held the last reference.
static bool skb_unref(SkBuff* skb) {
  if (skb->users == 1) return true;
  --skb->users;
  return false;
}

void kfree_skb(SkBuff* skb, SkbDropReason reason, const char* location) {
  if (!skb || !skb_unref(skb)) return;
  trace_kfree_skb(skb->pool->tracer(), skb, location, reason);
  skb_release_all(skb, reason);
}

void kfree_skb_rx_sk(SkBuff* skb, SkbDropReason reason, const char* location, bool rx_sk) {
  if (!skb || !skb_unref(skb)) return;
  trace_kfree_skb(skb->pool->tracer(), skb, location, reason, rx_sk);
  skb_release_all(skb, reason);
}

void consume_skb(SkBuff* skb, const char* location) {
  if (!skb || !skb_unref(skb)) return;
  trace_consume_skb(skb->pool->tracer(), skb, location);
  skb_release_all(skb, SkbDropReason::CONSUMED);
}

void __kfree_skb(SkBuff* skb) {
  if (!skb || !skb_unref(skb)) return;
  skb_release_all(skb, SkbDropReason::CONSUMED);
}

void pskb_expand_head(SkBuff* skb, unsigned nhead, unsigned ntail) {
  SkbPool* pool = skb->pool;
  const unsigned size = skb->end + nhead + ntail;
  SkbDataBuf* buf = pool->alloc_data(size);
  std::memcpy(buf->bytes + nhead, skb->head, skb->tail);
  buf->shinfo.frag_list = skb_shinfo(skb)->frag_list;
  skb_shinfo(skb)->frag_list = nullptr;
  const long off = long(skb->data - skb->head) + nhead;
  if (--skb->buf->shinfo.dataref == 0) pool->free_data(skb->buf);
  skb->buf = buf;
  skb->head = buf->bytes;
  skb->data = skb->head + off;
  skb->end = buf->size;
  skb->tail += nhead;
  auto shift = [nhead](uint16_t& h) {
    if (h != SKB_HEADER_UNSET) h = uint16_t(h + nhead);
  };
  shift(skb->mac_header);
  shift(skb->network_header);
  shift(skb->transport_header);
  skb->cloned = false;
  // An owned skb keeps the truesize it was charged with, so that its
  // destructor gives back exactly that.
  if (!skb->sk) skb->truesize = buf->size + SKB_HEAD_OVERHEAD + SKB_SHINFO_OVERHEAD;
}

void skb_grow_tailroom(SkBuff* skb, unsigned len) {
  const int room = skb_tailroom(skb);
  if (room >= int(len)) return;
  const unsigned truesize = skb->truesize;
  pskb_expand_head(skb, 0, len - unsigned(std::max(room, 0)));
  skb->truesize = truesize;
}

SkBuff* skb_segment(SkBuff* head_skb) {
  // doffset: the headers in front of the payload (MAC, IP, TCP), copied into
  // every segment; headroom: what the GSO skb had in front of its MAC header.
  const unsigned doffset = unsigned(head_skb->data - skb_mac_header(head_skb));
  const unsigned headroom = unsigned(skb_mac_header(head_skb) - head_skb->head);
  const unsigned mss = skb_shinfo(head_skb)->gso_size;
  const unsigned len = head_skb->len;
  const uint8_t* hdr = skb_mac_header(head_skb);
  const unsigned nh_off = unsigned(head_skb->network_header - head_skb->mac_header);
  const unsigned th_off = unsigned(head_skb->transport_header - head_skb->mac_header);
  SkBuff* segs = nullptr;
  SkBuff** link = &segs;
  for (unsigned offset = 0; offset < len; offset += mss) {
    const unsigned size = std::min(mss, len - offset);
    SkBuff* nskb = head_skb->pool->alloc_skb(headroom + doffset + size);
    skb_reserve(nskb, int(headroom));
    uint8_t* p = skb_put(nskb, doffset + size);
    std::memcpy(p, hdr, doffset);
    std::memcpy(p + doffset, head_skb->data + offset, size);  // Linux shares the pages; here the one copy
    nskb->data_len = size;  // the payload stands for the shared page fragments
    // __copy_skb_header's share of what a segment inherits.
    nskb->tstamp = head_skb->tstamp;
    nskb->dev = head_skb->dev;
    nskb->dst = head_skb->dst;
    nskb->priority = head_skb->priority;
    nskb->mark = head_skb->mark;
    nskb->protocol = head_skb->protocol;
    nskb->queue_mapping = head_skb->queue_mapping;
    nskb->pkt_type = head_skb->pkt_type;
    nskb->dst_pending_confirm = head_skb->dst_pending_confirm;
    nskb->mac_len = head_skb->mac_len;
    skb_reset_mac_header(nskb);
    nskb->network_header = uint16_t(nskb->mac_header + nh_off);
    nskb->transport_header = uint16_t(nskb->mac_header + th_off);
    nskb->ip_summed = CHECKSUM_NONE;  // no checksum offload: each segment is summed in software
    *link = nskb;
    link = &nskb->next;
  }
  return segs;
}

}  // namespace nettwin
