#include "sched/sch_generic.h"

#include "core/dev.h"
#include "core/net.h"
#include "core/trace_events.h"

namespace nettwin {

// ---------------------------------------------------------------- pfifo_fast

static constexpr uint8_t kPrio2Band[16] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};

PfifoFast::PfifoFast(NetDevice* d) : Qdisc(d, "pfifo_fast") {
  // The default root qdisc of a single-queue device (attach_one_default_qdisc).
  flags = TCQ_F_CAN_BYPASS | TCQ_F_NOLOCK;
}

int PfifoFast::enqueue(SkBuff* skb, SkbQueue& to_free) {
  SkbQueue& band = bands[kPrio2Band[skb->priority & 15]];
  if (band.qlen >= dev->tx_queue_len) {  // skb_array_produce: the band's ring is full
    drops++;
    to_free.push_back(skb);
    return NET_XMIT_DROP;
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

static void dev_requeue_skb(SkBuff* skb, Qdisc* q) {
  q->gso_skb.push_back(skb);
  q->requeues++;
  __netif_schedule(q);
}

bool sch_direct_xmit(SkBuff* skb, Qdisc* q, NetDevice* dev) {
  int ret = NETDEV_TX_BUSY;
  if (!dev->xoff) ret = dev_hard_start_xmit(skb, dev);
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
    return skb;
  }
  if (q->dev->xoff) return nullptr;  // TCQ_F_ONETXQUEUE and the queue is stopped
  skb = q->dequeue();
  trace_qdisc_dequeue(tracer, q, *packets, skb);
  return skb;
}

static bool qdisc_restart(Qdisc* q, int* packets) {
  SkBuff* skb = dequeue_skb(q, packets);
  if (!skb) return false;
  q->packets++;
  q->bytes += skb->len;
  return sch_direct_xmit(skb, q, q->dev);
}

void qdisc_run(Qdisc* q) {
  if (q->running) return;  // qdisc_run_begin failed: someone else is running it
  q->running = true;
  int quota = q->dev->net.sysctl.dev_tx_weight();
  int packets = 0;
  while (qdisc_restart(q, &packets)) {
    quota -= packets;
    if (quota <= 0) {
      __netif_schedule(q);  // __QDISC_STATE_MISSED: NET_TX picks it up again
      break;
    }
  }
  q->running = false;
}

}  // namespace nettwin
