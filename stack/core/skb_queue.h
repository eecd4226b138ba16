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
  void splice_tail_init(SkbQueue& from) {  // skb_queue_splice_tail_init
    if (from.empty()) return;
    if (tail) tail->next = from.head; else head = from.head;
    tail = from.tail;
    qlen += from.qlen;
    from = SkbQueue{};
  }
};

}  // namespace nettwin
