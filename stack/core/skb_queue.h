// struct sk_buff_head: an intrusive FIFO of skbs through skb->next.
#pragma once

#include <cstdint>

#include "core/skbuff.h"

namespace nettwin {

struct SkbQueue {
  SkBuff* head = nullptr;
  SkBuff* tail = nullptr;
  uint32_t qlen = 0;

  bool empty() const { return qlen == 0; }
  void push_back(SkBuff* skb) {  // __skb_queue_tail
    skb->next = nullptr;
    if (tail) tail->next = skb; else head = skb;
    tail = skb;
    ++qlen;
  }
  void push_front(SkBuff* skb) {  // __skb_queue_head
    skb->next = head;
    head = skb;
    if (!tail) tail = skb;
    ++qlen;
  }
  SkBuff* pop_front() {  // __skb_dequeue
    SkBuff* skb = head;
    if (!skb) return nullptr;
    head = skb->next;
    if (!head) tail = nullptr;
    skb->next = nullptr;
    --qlen;
    return skb;
  }
  SkBuff* front() const { return head; }    // skb_peek
  SkBuff* back() const { return tail; }     // skb_peek_tail
  // __skb_unlink (the list is singly linked: a walk unless skb is the head).
  void unlink(SkBuff* skb) {
    SkBuff* prev = nullptr;
    for (SkBuff* p = head; p; prev = p, p = p->next) {
      if (p != skb) continue;
      if (prev) prev->next = p->next; else head = p->next;
      if (tail == p) tail = prev;
      p->next = nullptr;
      --qlen;
      return;
    }
  }
  // __skb_unlink of skb, already cut out of the chain behind prev: the tail
  // and the count follow.
  void unlink_counted(SkBuff* skb, SkBuff* prev) {
    if (tail == skb) tail = prev;
    --qlen;
  }
  // __skb_queue_after: skb behind prev (null: at the head).
  void insert_after(SkBuff* prev, SkBuff* skb) {
    if (!prev) { push_front(skb); return; }
    skb->next = prev->next;
    prev->next = skb;
    if (tail == prev) tail = skb;
    ++qlen;
  }
  void splice_tail_init(SkbQueue& from) {  // skb_queue_splice_tail_init
    if (from.empty()) return;
    if (tail) tail->next = from.head; else head = from.head;
    tail = from.tail;
    qlen += from.qlen;
    from = SkbQueue{};
  }
};

}  // namespace nettwin
