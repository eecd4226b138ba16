#include "core/dev.h"

#include "core/net.h"
#include "core/trace_events.h"
#include "sched/sch_generic.h"

namespace nettwin {

// ---------------------------------------------------------------- NAPI and the backlog

void napi_schedule(Net& net, NapiStruct* napi) {
  if (napi->scheduled) return;  // napi_schedule_prep: already on a poll list
  napi->scheduled = true;
  net.softnet.poll_list.push_back(napi);  // ____napi_schedule
  net.engine.raise_softirq(NET_RX_SOFTIRQ);
}

void napi_complete_done(NapiStruct* napi, int /*work_done*/) { napi->scheduled = false; }

// enqueue_to_backlog: the per-CPU input_pkt_queue, netdev_max_backlog deep.
static int enqueue_to_backlog(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  SoftnetData& sd = net.softnet;
  if (skb->dev->is_up()) {
    uint32_t qlen = sd.input_pkt_queue.qlen;
    if (int64_t(qlen) <= net.sysctl.netdev_max_backlog) {
      if (qlen == 0 && !sd.backlog.scheduled) napi_schedule(net, &sd.backlog);
      sd.input_pkt_queue.push_back(skb);
      return NET_RX_SUCCESS;
    }
  }
  sd.dropped++;
  skb->dev->stats.rx_dropped++;
  kfree_skb(skb, SkbDropReason::CPU_BACKLOG, "enqueue_to_backlog");
  return NET_RX_DROP;
}

int netif_rx(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  checkpoint(net.tracer, "netif_rx", skb);
  trace_netif_rx(net.tracer, skb);
  return enqueue_to_backlog(skb);
}

// deliver_skb: every handler but the last gets its own reference.
static int deliver_skb(SkBuff* skb, PacketType* pt, NetDevice* orig_dev) {
  ++skb->users;
  return pt->func(skb, skb->dev, pt, orig_dev);
}

static int __netif_receive_skb_core(SkBuff* skb) {
  NetDevice* orig_dev = skb->dev;
  Net& net = dev_net(orig_dev);
  trace_netif_receive_skb(net.tracer, skb);
  checkpoint(net.tracer, "__netif_receive_skb_core", skb);
  skb_reset_network_header(skb);
  if (!skb_transport_header_was_set(skb)) skb_reset_transport_header(skb);
  skb->mac_len = uint16_t(skb->network_header - skb->mac_header);
  if (!skb->skb_iif) skb->skb_iif = skb->dev->ifindex;
  net.softnet.processed++;

  PacketType* pt_prev = nullptr;
  for (PacketType* pt : net.ptype_all) {
    if (pt->dev && pt->dev != skb->dev) continue;
    if (pt_prev) deliver_skb(skb, pt_prev, orig_dev);
    pt_prev = pt;
  }
  for (PacketType* pt : net.ptype_base) {
    if (pt->type != skb->protocol || (pt->dev && pt->dev != skb->dev)) continue;
    if (pt_prev) deliver_skb(skb, pt_prev, orig_dev);
    pt_prev = pt;
  }
  if (pt_prev) return pt_prev->func(skb, skb->dev, pt_prev, orig_dev);  // the last one takes our reference

  skb->dev->stats.rx_dropped++;
  checkpoint(net.tracer, "__netif_receive_skb_core", skb, "drop");
  kfree_skb(skb, SkbDropReason::UNHANDLED_PROTO, "__netif_receive_skb_core");
  return NET_RX_DROP;
}

int netif_receive_skb(SkBuff* skb) {
  checkpoint(dev_net(skb->dev).tracer, "netif_receive_skb", skb);
  return __netif_receive_skb_core(skb);
}

int process_backlog(NapiStruct* napi, int quota) {
  Net& net = *static_cast<Net*>(napi->owner);
  SoftnetData& sd = net.softnet;
  int work = 0;
  for (;;) {
    while (SkBuff* skb = sd.process_queue.pop_front()) {
      __netif_receive_skb_core(skb);
      if (++work >= quota) return work;
    }
    if (sd.input_pkt_queue.empty()) {
      napi->scheduled = false;  // napi->state = 0: the backlog is done
      break;
    }
    sd.process_queue.splice_tail_init(sd.input_pkt_queue);
  }
  return work;
}

// napi_poll: one poll, traced; a napi that used its whole weight goes on repoll.
static int napi_poll(Net& net, NapiStruct* n, NapiList& repoll) {
  const int weight = n->weight;
  int work = 0;
  if (n->scheduled) work = n->poll(n, weight);
  trace_napi_poll(net.tracer, n, work, weight);
  if (work < weight) return work;  // the driver completed (or will be polled again via schedule)
  if (n->scheduled) repoll.push_back(n);
  return work;
}

void net_rx_action(Net& net) {
  SoftnetData& sd = net.softnet;
  int budget = int(net.sysctl.netdev_budget);
  NapiList list, repoll;
  list.splice_tail_init(sd.poll_list);
  for (;;) {
    if (list.empty()) {
      if (repoll.empty() && !sd.poll_list.empty()) {
        list.splice_tail_init(sd.poll_list);  // scheduled while we ran
        continue;
      }
      break;
    }
    NapiStruct* n = list.pop_front();
    budget -= napi_poll(net, n, repoll);
    // Virtual time does not pass inside a softirq, so netdev_budget_usecs
    // never expires here: only the packet budget squeezes.
    if (budget <= 0) {
      sd.time_squeeze++;
      break;
    }
  }
  list.splice_tail_init(repoll);
  list.splice_tail_init(sd.poll_list);
  sd.poll_list = list;
  if (!sd.poll_list.empty()) net.engine.raise_softirq(NET_RX_SOFTIRQ);
}

// ---------------------------------------------------------------- transmit

int dev_hard_start_xmit(SkBuff* skb, NetDevice* dev) {
  Net& net = dev_net(dev);
  trace_net_dev_start_xmit(net.tracer, skb, dev);
  checkpoint(net.tracer, "dev_hard_start_xmit", skb);
  // After ndo_start_xmit the skb belongs to the driver (it may be gone):
  // net_dev_xmit is traced from values saved before, as Linux does with len.
  const unsigned len = skb->len;
  const uint64_t id = skb->id;
  int rc = dev->ndo_start_xmit(skb);
  trace_net_dev_xmit(net.tracer, id, rc, dev, len);
  return rc;
}

static int __dev_xmit_skb(SkBuff* skb, Qdisc* q, NetDevice* dev) {
  Net& net = dev_net(dev);
  SkbQueue to_free;
  int rc;
  if ((q->flags & TCQ_F_CAN_BYPASS) && q->empty() && !q->running) {
    // An empty work-conserving qdisc is bypassed: straight to the driver.
    q->running = true;
    q->packets++;
    q->bytes += skb->len;
    if (sch_direct_xmit(skb, q, dev) && !q->empty()) qdisc_run(q);
    q->running = false;
    rc = NET_XMIT_SUCCESS;
  } else {
    rc = q->enqueue(skb, to_free);
    if (rc == NET_XMIT_SUCCESS) trace_qdisc_enqueue(net.tracer, q, skb);
    qdisc_run(q);
  }
  while (SkBuff* f = to_free.pop_front()) kfree_skb(f, SkbDropReason::QDISC_DROP, "__dev_xmit_skb");
  return rc;
}

int dev_queue_xmit(SkBuff* skb) {
  NetDevice* dev = skb->dev;
  Net& net = dev_net(dev);
  skb_reset_mac_header(skb);
  trace_net_dev_queue(net.tracer, skb);
  checkpoint(net.tracer, "dev_queue_xmit", skb);
  Qdisc* q = dev->qdisc.get();
  if (q && q->has_enqueue()) return __dev_xmit_skb(skb, q, dev);

  // noqueue: virtual devices transmit right away.
  if (dev->is_up() && !dev->xoff) {
    int rc = dev_hard_start_xmit(skb, dev);
    if (dev_xmit_complete(rc)) return rc;
  }
  dev->stats.tx_dropped++;
  checkpoint(net.tracer, "dev_queue_xmit", skb, "drop");
  kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "__dev_queue_xmit");
  return -100;  // -ENETDOWN
}

void dev_consume_skb_any(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  net.softnet.completion_queue.push_back(skb);
  net.engine.raise_softirq(NET_TX_SOFTIRQ);
}

void net_tx_action(Net& net) {
  SoftnetData& sd = net.softnet;
  SkbQueue clist;
  clist.splice_tail_init(sd.completion_queue);
  while (SkBuff* skb = clist.pop_front()) consume_skb(skb, "net_tx_action");

  Qdisc* head = sd.output_queue;
  sd.output_queue = sd.output_queue_tail = nullptr;
  while (head) {
    Qdisc* q = head;
    head = q->next_sched;
    q->next_sched = nullptr;
    q->scheduled = false;
    qdisc_run(q);
  }
}

void netif_stop_queue(NetDevice* dev) { dev->xoff = true; }

void netif_wake_queue(NetDevice* dev) {
  if (!dev->xoff) return;
  dev->xoff = false;
  if (dev->qdisc && dev->qdisc->has_enqueue()) __netif_schedule(dev->qdisc.get());
}

void dev_open(NetDevice* dev) {
  if (dev->is_up()) return;
  dev->flags |= IFF_UP;
  dev->ndo_open();
}

void dev_close(NetDevice* dev) {
  if (!dev->is_up()) return;
  dev->flags &= ~IFF_UP;
  dev->ndo_stop();
}

}  // namespace nettwin
