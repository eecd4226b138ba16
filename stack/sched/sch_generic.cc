#include "sched/sch_generic.h"

#include "core/dev.h"
#include "core/net.h"
#include "core/trace_events.h"

namespace nettwin {

// ---------------------------------------------------------------- pfifo_fast

// pfifo_fast's priomap: skb->priority (TC_PRIO_*) to band, 0 served first.
static constexpr uint8_t prio2band[TC_PRIO_MAX + 1] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};

PfifoFast::PfifoFast(NetDevice* d) : Qdisc(d, "pfifo_fast") {
  // The default root qdisc of a single-queue device (attach_one_default_qdisc).
  flags = TCQ_F_CAN_BYPASS | TCQ_F_NOLOCK;
}

int PfifoFast::enqueue(SkBuff* skb, SkbQueue& to_free) {
  checkpoint(dev->net.tracer, "pfifo_fast_enqueue", skb);
  SkbQueue& band = bands[prio2band[skb->priority & TC_PRIO_MAX]];
  if (band.qlen >= dev->tx_queue_len) {  // skb_array_produce: the band's ring is full
    checkpoint(dev->net.tracer, "pfifo_fast_enqueue", skb, "drop");
    return qdisc_drop(skb, this, to_free);
  }
  band.push_back(skb);
  qlen++;
  return NET_XMIT_SUCCESS;
}

SkBuff* PfifoFast::dequeue() {
  for (SkbQueue& band : bands) {
    if (SkBuff* skb = band.pop_front()) {
      qlen--;
      return skb;
    }
  }
  return nullptr;
}

// pfifo_fast_reset: what the bands held is freed (kfree_skb, no reason given).
void PfifoFast::reset() {
  for (SkbQueue& band : bands)
    while (SkBuff* skb = band.pop_front()) kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "pfifo_fast_reset");
  qlen = 0;
}

// pfifo_fast_change_tx_queue_len → skb_array_resize_multiple: each band keeps
// its oldest len skbs; the rest go to __skb_array_destroy_skb.
void PfifoFast::change_tx_queue_len(uint32_t len) {
  for (SkbQueue& band : bands) {
    SkbQueue keep;
    while (SkBuff* skb = band.pop_front()) {
      if (keep.qlen < len) {
        keep.push_back(skb);
      } else {
        qlen--;
        kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "__skb_array_destroy_skb");
      }
    }
    band = keep;
  }
}

int NoQueue::enqueue(SkBuff* skb, SkbQueue& to_free) {
  to_free.push_back(skb);  // never called: dev_queue_xmit checks has_enqueue()
  return NET_XMIT_DROP;
}

// ---------------------------------------------------------------- the scheduler

void __netif_schedule(Qdisc* q) {
  if (q->scheduled) return;
  q->scheduled = true;
  SoftnetData& sd = q->dev->net.softnet;
  q->next_sched = nullptr;
  if (sd.output_queue_tail) sd.output_queue_tail->next_sched = q; else sd.output_queue = q;
  sd.output_queue_tail = q;
  q->dev->net.engine.raise_softirq(NET_TX_SOFTIRQ);
}

int qdisc_drop(SkBuff* skb, Qdisc* q, SkbQueue& to_free) {
  q->drops++;
  to_free.push_back(skb);
  return NET_XMIT_DROP;
}

int dev_qdisc_enqueue(SkBuff* skb, Qdisc* q, SkbQueue& to_free) {
  int rc = q->enqueue(skb, to_free);
  if (rc == NET_XMIT_SUCCESS) trace_qdisc_enqueue(q->dev->net.tracer, q, skb);
  return rc;
}

void qdisc_reset(Qdisc* q) {
  q->reset();
  // __skb_queue_purge(&q->gso_skb), inlined into qdisc_reset.
  while (SkBuff* skb = q->gso_skb.pop_front()) kfree_skb(skb, SkbDropReason::QUEUE_PURGE, "qdisc_reset");
}

// dev_requeue_skb: the skb (a list of segments, after GSO) waits in gso_skb.
static void dev_requeue_skb(SkBuff* skb, Qdisc* q) {
  while (skb) {
    SkBuff* next = skb->next;
    skb->next = nullptr;
    checkpoint(q->dev->net.tracer, "dev_requeue_skb", skb);
    q->gso_skb.push_back(skb);
    q->requeues++;
    skb = next;
  }
  __netif_schedule(q);
}

bool sch_direct_xmit(SkBuff* skb, Qdisc* q, NetDevice* dev) {
  checkpoint(dev->net.tracer, "sch_direct_xmit", skb);
  skb = validate_xmit_skb_list(skb, dev);
  if (!skb) return true;
  int ret = NETDEV_TX_BUSY;
  if (!dev->xoff) skb = dev_hard_start_xmit(skb, dev, &ret);
  if (!dev_xmit_complete(ret)) {
    dev_requeue_skb(skb, q);  // the driver refused: requeue and wait for a wake
    return false;
  }
  return true;
}

// dequeue_skb: requeued skbs first, none while the driver's queue is stopped.
static SkBuff* dequeue_skb(Qdisc* q, int* packets) {
  Tracer& tracer = q->dev->net.tracer;
  *packets = 1;
  SkBuff* skb = nullptr;
  if (!q->gso_skb.empty()) {
    if (!q->dev->xoff) skb = q->gso_skb.pop_front();
    trace_qdisc_dequeue(tracer, q, *packets, skb);
    if (skb) checkpoint(tracer, "dequeue_skb", skb);
    return skb;
  }
  if (q->dev->xoff) return nullptr;  // TCQ_F_ONETXQUEUE and the queue is stopped
  // No bulk dequeue: without byte queue limits dql_avail() is 0, so
  // try_bulk_dequeue_skb never adds a second skb.
  skb = q->dequeue();
  trace_qdisc_dequeue(tracer, q, *packets, skb);
  if (skb) checkpoint(tracer, "dequeue_skb", skb);
  return skb;
}

static bool qdisc_restart(Qdisc* q, int* packets) {
  SkBuff* skb = dequeue_skb(q, packets);
  if (!skb) return false;
  q->packets += qdisc_pkt_segs(skb);
  q->bytes += qdisc_pkt_len(skb);
  return sch_direct_xmit(skb, q, q->dev);
}

// __qdisc_run: restart until the qdisc is empty, the driver stops, or the
// dev_tx_weight quota is spent (then NET_TX carries on: __QDISC_STATE_MISSED).
void __qdisc_run(Qdisc* q) {
  int quota = q->dev->net.sysctl.dev_tx_weight();
  int packets = 0;
  while (qdisc_restart(q, &packets)) {
    quota -= packets;
    if (quota <= 0) {
      __netif_schedule(q);
      break;
    }
  }
}

void qdisc_run(Qdisc* q) {
  if (q->running) return;  // qdisc_run_begin failed: someone else is running it
  q->running = true;
  __qdisc_run(q);
  q->running = false;
}

}  // namespace nettwin
