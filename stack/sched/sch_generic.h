// struct Qdisc and the generic transmit scheduler (net/sched/sch_generic.c):
// qdisc_run → qdisc_restart → dequeue_skb → sch_direct_xmit → dev_hard_start_xmit,
// with requeue when the driver's queue is stopped.
#pragma once

#include <cstdint>

#include "core/skb_queue.h"
#include "core/skbuff.h"

namespace nettwin {

struct NetDevice;

inline constexpr uint32_t TC_H_ROOT = 0xFFFFFFFFu;
enum : unsigned { TCQ_F_CAN_BYPASS = 4, TCQ_F_NOLOCK = 0x100 };
inline constexpr unsigned TC_PRIO_MAX = 15;

struct Qdisc {
  explicit Qdisc(NetDevice* dev_, const char* kind_) : dev(dev_), kind(kind_) {}
  virtual ~Qdisc() = default;

  // ->enqueue / ->dequeue. enqueue returns NET_XMIT_*; a dropped skb goes on
  // *to_free for the caller to free (as Linux's qdisc_drop does).
  virtual int enqueue(SkBuff* skb, SkbQueue& to_free) = 0;
  virtual SkBuff* dequeue() = 0;
  virtual bool has_enqueue() const { return true; }  // false: noqueue (q->enqueue == NULL)
  virtual void reset() {}                            // ->reset: free what is queued
  virtual void change_tx_queue_len(uint32_t) {}      // ->change_tx_queue_len
  bool empty() const { return qlen == 0 && gso_skb.empty(); }

  NetDevice* dev;
  const char* kind;
  uint32_t handle = 0;
  uint32_t parent = TC_H_ROOT;
  unsigned flags = 0;
  uint32_t qlen = 0;
  SkbQueue gso_skb;        // requeued skbs, sent before anything else
  bool running = false;    // qdisc_run_begin/end
  bool scheduled = false;  // __QDISC_STATE_SCHED: on the NET_TX output_queue
  Qdisc* next_sched = nullptr;
  // gnet_stats
  uint64_t packets = 0, bytes = 0, drops = 0, requeues = 0, overlimits = 0;
};

// qdisc_pkt_len_init / qdisc_bstats_update: a GSO skb counts as the
// segments it stands for, each with its own copy of the headers.
inline unsigned qdisc_pkt_segs(const SkBuff* skb) {
  return skb_is_gso(skb) ? skb_shinfo(skb)->gso_segs : 1;
}
inline unsigned qdisc_pkt_len(const SkBuff* skb) {
  if (!skb_is_gso(skb) || !skb_transport_header_was_set(skb) || !skb_mac_header_was_set(skb)) return skb->len;
  const uint8_t* th = skb_transport_header(skb);
  const unsigned hdr_len = unsigned(th - skb_mac_header(skb)) + unsigned(th[12] >> 4) * 4;
  return skb->len + (skb_shinfo(skb)->gso_segs - 1) * hdr_len;
}

// pfifo_fast: three FIFO bands picked by skb->priority, limit tx_queue_len.
struct PfifoFast : Qdisc {
  explicit PfifoFast(NetDevice* dev);
  int enqueue(SkBuff* skb, SkbQueue& to_free) override;
  SkBuff* dequeue() override;
  void reset() override;
  void change_tx_queue_len(uint32_t len) override;
  SkbQueue bands[3];
};

// noqueue: virtual devices (veth, loopback) transmit directly.
struct NoQueue : Qdisc {
  explicit NoQueue(NetDevice* dev) : Qdisc(dev, "noqueue") {}
  int enqueue(SkBuff* skb, SkbQueue& to_free) override;
  SkBuff* dequeue() override { return nullptr; }
  bool has_enqueue() const override { return false; }
};

// Run the qdisc until it is empty, the driver stops, or the quota is spent.
void qdisc_run(Qdisc* q);
void __qdisc_run(Qdisc* q);  // the same, for a caller that already owns the qdisc
// q->enqueue, traced qdisc:qdisc_enqueue on success.
int dev_qdisc_enqueue(SkBuff* skb, Qdisc* q, SkbQueue& to_free);
// qdisc_drop: count it and leave it on to_free for the caller to free.
int qdisc_drop(SkBuff* skb, Qdisc* q, SkbQueue& to_free);
// qdisc_reset: free everything queued and requeued (dev_deactivate).
void qdisc_reset(Qdisc* q);
// Put the qdisc on the NET_TX output_queue (after a driver wakes its queue).
void __netif_schedule(Qdisc* q);
// Send one skb the bypass way or after dequeue; false when the qdisc should stop.
bool sch_direct_xmit(SkBuff* skb, Qdisc* q, NetDevice* dev);

}  // namespace nettwin
