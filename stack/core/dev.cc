#include "core/dev.h"

#include <climits>

#include "core/gso.h"
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

static void netif_receive_skb_list_internal(SkbQueue& list);

// gro_normal_list: hand the batch GRO held back to the stack in one go.
void gro_normal_list(NapiStruct* napi) {
  if (!napi->rx_count) return;
  netif_receive_skb_list_internal(napi->rx_list);
  napi->rx_list = SkbQueue{};
  napi->rx_count = 0;
}

// napi_complete_done: flush what GRO batched, then the NAPI may be scheduled again.
void napi_complete_done(NapiStruct* napi, int /*work_done*/) {
  gro_normal_list(napi);
  napi->scheduled = false;
}

// napi_gro_receive: nothing here coalesces (no GRO engines), so every skb is
// GRO_NORMAL: gro_normal_one batches it on napi->rx_list, gro_normal_batch deep.
void napi_gro_receive(NapiStruct* napi, SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  checkpoint(net.tracer, "napi_gro_receive", skb);
  napi->rx_list.push_back(skb);
  if (++napi->rx_count >= int(net.sysctl.gro_normal_batch)) gro_normal_list(napi);
}

// enqueue_to_backlog: the per-CPU input_pkt_queue, netdev_max_backlog deep.
static int enqueue_to_backlog(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  SoftnetData& sd = net.softnet;
  checkpoint(net.tracer, "enqueue_to_backlog", skb);
  SkbDropReason reason = SkbDropReason::DEV_READY;
  if (skb->dev->is_up()) {
    reason = SkbDropReason::CPU_BACKLOG;
    const uint32_t qlen = sd.input_pkt_queue.qlen;
    if (int64_t(qlen) <= net.sysctl.netdev_max_backlog) {
      if (qlen == 0 && !sd.backlog.scheduled) napi_schedule(net, &sd.backlog);
      sd.input_pkt_queue.push_back(skb);
      return NET_RX_SUCCESS;
    }
    sd.dropped++;  // only a full backlog counts in softnet_stat
  }
  skb->dev->stats.rx_dropped++;
  checkpoint(net.tracer, "enqueue_to_backlog", skb, "drop");
  kfree_skb(skb, reason, "enqueue_to_backlog");
  return NET_RX_DROP;
}

// __netif_rx: what veth and loopback call from their xmit (BHs already off).
int __netif_rx(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  checkpoint(net.tracer, "__netif_rx", skb);
  trace_netif_rx(net.tracer, skb);  // netif_rx_internal
  return enqueue_to_backlog(skb);
}

int netif_rx_peer(Net& net, SkBuff* skb) {
  SoftnetData& sd = net.softnet;
  checkpoint(net.tracer, "netif_rx_peer", skb);
  skb->peer_rx = true;
  const uint32_t qlen = sd.input_pkt_queue.qlen;
  if (int64_t(qlen) > net.sysctl.netdev_max_backlog) {
    sd.dropped++;
    __kfree_skb(skb);  // the peer's drop: not the DUT's to trace
    return NET_RX_DROP;
  }
  if (qlen == 0 && !sd.backlog.scheduled) napi_schedule(net, &sd.backlog);
  sd.input_pkt_queue.push_back(skb);
  return NET_RX_SUCCESS;
}

int netif_rx(SkBuff* skb) {
  checkpoint(dev_net(skb->dev).tracer, "netif_rx", skb);
  return __netif_rx(skb);
}

// deliver_skb: every handler but the last gets its own reference.
static int deliver_skb(SkBuff* skb, PacketType* pt, NetDevice* orig_dev) {
  checkpoint(dev_net(skb->dev).tracer, "deliver_skb", skb);
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

  // Taps first (the net's ptype_all, then the device's), then the handlers
  // of the protocol; each one before the last gets a reference of its own.
  // The second pass of each list runs only when the first saw a handler
  // bound to a device (none, usually: the per-frame cost is one walk).
  PacketType* pt_prev = nullptr;
  bool bound = false;
  for (int pass = 0; pass < 2 && (pass == 0 || bound); ++pass) {
    for (PacketType* pt : net.ptype_all) {
      bound |= pt->dev != nullptr;
      if (pass == 0 ? pt->dev != nullptr : pt->dev != skb->dev) continue;
      if (pt_prev) deliver_skb(skb, pt_prev, orig_dev);
      pt_prev = pt;
    }
  }
  // ptype_base, then the handlers bound to the device (dev->ptype_specific).
  bound = false;
  for (int pass = 0; pass < 2 && (pass == 0 || bound); ++pass) {
    for (PacketType* pt : net.ptype_base) {
      bound |= pt->dev != nullptr;
      if (pt->type != skb->protocol || (pass == 0 ? pt->dev != nullptr : pt->dev != skb->dev)) continue;
      if (pt_prev) deliver_skb(skb, pt_prev, orig_dev);
      pt_prev = pt;
    }
  }
  if (pt_prev) return pt_prev->func(skb, skb->dev, pt_prev, orig_dev);  // the last one takes our reference

  skb->dev->stats.rx_dropped++;  // dev_core_stats_rx_dropped_inc (not deliver_exact)
  checkpoint(net.tracer, "__netif_receive_skb_core", skb, "drop");
  kfree_skb(skb, SkbDropReason::UNHANDLED_PROTO, "__netif_receive_skb_core");
  return NET_RX_DROP;
}

int netif_receive_skb(SkBuff* skb) {
  checkpoint(dev_net(skb->dev).tracer, "netif_receive_skb", skb);
  return __netif_receive_skb_core(skb);
}

static void netif_receive_skb_list_internal(SkbQueue& list) {
  while (SkBuff* skb = list.pop_front()) {
    checkpoint(dev_net(skb->dev).tracer, "netif_receive_skb_list_internal", skb);
    __netif_receive_skb_core(skb);
  }
}

int process_backlog(NapiStruct* napi, int quota) {
  Net& net = *static_cast<Net*>(napi->owner);
  SoftnetData& sd = net.softnet;
  napi->weight = net.sysctl.dev_rx_weight();
  int work = 0;
  for (;;) {
    while (SkBuff* skb = sd.process_queue.pop_front()) {
      checkpoint(net.tracer, "process_backlog", skb);
      if (skb->peer_rx) {
        // The peer's __netif_receive_skb_core: its ip_rcv_core orphans the skb
        // (the sender's tcp_wfree runs now), then it dies outside the DUT.
        sd.processed++;
        __kfree_skb(skb);
      } else {
        __netif_receive_skb_core(skb);
      }
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

// __napi_poll: one poll, traced, charged its virtual CPU time; a napi that
// used its whole weight is flushed and goes on repoll.
static int napi_poll(Net& net, NapiStruct* n, NapiList& repoll) {
  const int weight = n->weight;
  int work = 0;
  if (n->scheduled) {
    work = n->poll(n, weight);
    trace_napi_poll(net.tracer, n, work, weight);
    net.engine.spend(uint64_t(work) * kNapiPacketCostNs);
  }
  if (work < weight) return work;  // the driver completed (napi_complete_done)
  gro_normal_list(n);  // gro_flush_normal: nothing waits for a later poll
  if (n->scheduled) repoll.push_back(n);
  return work;
}

void net_rx_action(Net& net) {
  SoftnetData& sd = net.softnet;
  // netdev_budget_usecs in virtual time: polls spend kNapiPacketCostNs per packet.
  const uint64_t time_limit = net.engine.now() + uint64_t(net.sysctl.netdev_budget_usecs) * 1000u;
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
    if (budget <= 0 || int64_t(net.engine.now() - time_limit) >= 0) {
      sd.time_squeeze++;  // the softirq window is exhausted: punt
      break;
    }
  }
  // Not polled yet, then newly scheduled, then the repolls: the next round's order.
  list.splice_tail_init(sd.poll_list);
  list.splice_tail_init(repoll);
  sd.poll_list = list;
  if (!sd.poll_list.empty()) net.engine.raise_softirq(NET_RX_SOFTIRQ);
}

// ---------------------------------------------------------------- transmit

// dev_queue_xmit_nit: every ETH_P_ALL tap (the net's, then the device's) sees
// a clone of what leaves, marked PACKET_OUTGOING.
void dev_queue_xmit_nit(SkBuff* skb, NetDevice* dev) {
  Net& net = dev_net(dev);
  PacketType* pt_prev = nullptr;
  SkBuff* skb2 = nullptr;
  for (int pass = 0; pass < 2; ++pass) {
    for (PacketType* pt : net.ptype_all) {
      if (pass == 0 ? pt->dev != nullptr : pt->dev != dev) continue;
      if (skb->sk && pt->priv == static_cast<void*>(skb->sk)) continue;  // skb_loop_sk: not back to its sender
      if (pt_prev) {
        deliver_skb(skb2, pt_prev, skb->dev);
        pt_prev = pt;
        continue;
      }
      skb2 = skb_clone(skb);  // cloned once, shared by the taps
      skb_reset_mac_header(skb2);
      if (skb2->network_header == SKB_HEADER_UNSET || skb_network_header(skb2) < skb2->data ||
          skb_network_header(skb2) > skb_tail_pointer(skb2))
        skb_reset_network_header(skb2);
      skb2->transport_header = skb2->network_header;
      skb2->pkt_type = PACKET_OUTGOING;
      pt_prev = pt;
    }
  }
  if (pt_prev) pt_prev->func(skb2, skb->dev, pt_prev, skb->dev);
}

static bool dev_nit_active(const NetDevice* dev) { return !dev_net(dev).ptype_all.empty(); }

// xmit_one: taps, then the driver, traced net_dev_start_xmit / net_dev_xmit.
static int xmit_one(SkBuff* skb, NetDevice* dev) {
  Net& net = dev_net(dev);
  checkpoint(net.tracer, "dev_hard_start_xmit", skb);
  if (dev_nit_active(dev)) dev_queue_xmit_nit(skb, dev);
  trace_net_dev_start_xmit(net.tracer, skb, dev);
  // After ndo_start_xmit the skb belongs to the driver (it may be gone):
  // net_dev_xmit is traced from values saved before, as Linux does with len.
  const unsigned len = skb->len;
  const uint64_t id = skb->id;
  int rc = dev->ndo_start_xmit(skb);
  trace_net_dev_xmit(net.tracer, id, rc, dev, len);
  return rc;
}

SkBuff* dev_hard_start_xmit(SkBuff* first, NetDevice* dev, int* ret) {
  SkBuff* skb = first;
  int rc = NETDEV_TX_OK;
  while (skb) {
    SkBuff* next = skb->next;
    skb->next = nullptr;  // skb_mark_not_on_list
    rc = xmit_one(skb, dev);
    if (!dev_xmit_complete(rc)) {
      skb->next = next;
      break;
    }
    skb = next;
    if (skb && dev->xoff) {  // netif_tx_queue_stopped: the rest waits
      rc = NETDEV_TX_BUSY;
      break;
    }
  }
  *ret = rc;
  return skb;
}

SkBuff* validate_xmit_skb(SkBuff* skb, NetDevice* dev) {
  if (netif_needs_gso(skb, dev->features)) {
    checkpoint(dev_net(dev).tracer, "skb_gso_segment", skb);
    if (SkBuff* segs = skb_gso_segment(skb, dev->features)) {
      consume_skb(skb, "validate_xmit_skb");
      skb = segs;
    }
  }
  return skb;
}

SkBuff* validate_xmit_skb_list(SkBuff* skb, NetDevice* dev) {
  SkBuff* head = nullptr;
  SkBuff* tail = nullptr;
  while (skb) {
    SkBuff* next = skb->next;
    skb->next = nullptr;
    skb = validate_xmit_skb(skb, dev);
    if (skb) {
      if (!head) head = skb; else tail->next = skb;
      tail = skb;
      while (tail->next) tail = tail->next;  // a GSO skb became a list
    }
    skb = next;
  }
  return head;
}

static int __dev_xmit_skb(SkBuff* skb, Qdisc* q, NetDevice* dev) {
  SkbQueue to_free;
  int rc;
  if ((q->flags & TCQ_F_CAN_BYPASS) && q->empty() && !q->running) {
    // An empty work-conserving qdisc is bypassed: straight to the driver.
    q->running = true;
    q->packets += qdisc_pkt_segs(skb);
    q->bytes += qdisc_pkt_len(skb);
    if (sch_direct_xmit(skb, q, dev) && !q->empty()) __qdisc_run(q);
    q->running = false;
    rc = NET_XMIT_SUCCESS;
  } else {
    rc = dev_qdisc_enqueue(skb, q, to_free);
    qdisc_run(q);
  }
  // kfree_skb_list_reason(to_free, QDISC_DROP), inlined into __dev_queue_xmit.
  while (SkBuff* f = to_free.pop_front()) kfree_skb(f, SkbDropReason::QDISC_DROP, "__dev_queue_xmit");
  return rc;
}

int dev_queue_xmit(SkBuff* skb) {
  NetDevice* dev = skb->dev;
  Net& net = dev_net(dev);
  skb_reset_mac_header(skb);
  trace_net_dev_queue(net.tracer, skb);
  checkpoint(net.tracer, "dev_queue_xmit", skb);
  Qdisc* q = dev->qdisc.get();
  if (q && q->has_enqueue()) {
    if (!dev->is_up()) {
      // A device that is down has noop_qdisc attached (dev_deactivate): noop_enqueue drops.
      dev->stats.tx_dropped++;
      checkpoint(net.tracer, "noop_enqueue", skb, "drop");
      kfree_skb(skb, SkbDropReason::QDISC_DROP, "__dev_queue_xmit");
      return NET_XMIT_CN;
    }
    return __dev_xmit_skb(skb, q, dev);
  }

  // noqueue: virtual devices transmit right away.
  if (dev->is_up() && !dev->xoff) {
    skb = validate_xmit_skb(skb, dev);
    int rc = NETDEV_TX_OK;
    skb = dev_hard_start_xmit(skb, dev, &rc);
    if (dev_xmit_complete(rc)) return rc;
  }
  dev->stats.tx_dropped++;
  // kfree_skb_list: what the driver did not take.
  while (skb) {
    SkBuff* next = skb->next;
    skb->next = nullptr;
    checkpoint(net.tracer, "dev_queue_xmit", skb, "drop");
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "__dev_queue_xmit");
    skb = next;
  }
  return -100;  // -ENETDOWN
}

// dev_consume_skb_any from hard-IRQ context: the skb waits on the completion
// queue and NET_TX consumes it.
void dev_consume_skb_any(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  checkpoint(net.tracer, "dev_consume_skb_any", skb);
  net.softnet.completion_queue.push_back(skb);
  net.engine.raise_softirq(NET_TX_SOFTIRQ);
}

// napi_consume_skb: a TX completion inside a NAPI poll frees at once; the
// location is the driver function that called it.
void napi_consume_skb(SkBuff* skb, int budget, const char* location) {
  if (budget == 0) {  // netpoll: not from NAPI
    dev_consume_skb_any(skb);
    return;
  }
  checkpoint(dev_net(skb->dev).tracer, "napi_consume_skb", skb);
  consume_skb(skb, location);
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

void dev_change_tx_queue_len(NetDevice* dev, uint32_t len) {
  dev->tx_queue_len = len;
  if (dev->qdisc) dev->qdisc->change_tx_queue_len(len);
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
  // dev_deactivate: the qdisc is swapped for noop_qdisc and reset (what it
  // held is freed), then the driver stops.
  if (dev->qdisc && dev->qdisc->has_enqueue()) qdisc_reset(dev->qdisc.get());
  dev->ndo_stop();
}

// ---------------------------------------------------------------- ifindex

int dev_index_reserve(Net& net, int ifindex) {
  if (ifindex > 0) return net.dev_get_by_index(ifindex) ? 0 : ifindex;
  // Among devices.size() + 1 candidates one is free: each device holds one index.
  uint32_t candidate = net.ifindex;
  for (size_t tries = 0; tries <= net.devices.size(); ++tries, ++candidate) {
    if (candidate == 0 || candidate > uint32_t(INT_MAX)) candidate = 1;  // wrap
    if (!net.dev_get_by_index(int(candidate))) {
      net.ifindex = candidate + 1;
      return int(candidate);
    }
  }
  return 0;  // every index in use: unreachable with fewer than INT_MAX devices
}

}  // namespace nettwin
