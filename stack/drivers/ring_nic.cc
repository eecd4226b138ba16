#include "drivers/ring_nic.h"

#include <algorithm>
#include <cstring>

#include "core/dev.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ethernet/eth.h"
#include "sched/sch_generic.h"
#include "wire/headers.h"

namespace nettwin {

namespace {
constexpr unsigned E1000_RX_BUFFER_WRITE = 16;  // refill buffers in batches of this many
// The descriptor after i, wrapping at the ring's end (as e1000's
// `if (++i == ring->count) i = 0`): no division per frame.
unsigned ring_next(unsigned i, size_t count) { return ++i == count ? 0 : i; }
}

RingNic::RingNic(Net& net, const DeviceConfig& config) : NetDevice(net, config) {
  qdisc = std::make_unique<PfifoFast>(this);
  rx_buf_len_ = mtu + hard_header_len + 4;  // VLAN_HLEN
  napi_.poll = &RingNic::e1000_clean;
  napi_.weight = net.sysctl.dev_rx_weight();
  napi_.dev = this;
  napi_.owner = this;
  build_rings(config.rx_ring_size, config.tx_ring_size);
}

RingNic::~RingNic() {
  if (itr_timer_) net.engine.del_timer(itr_timer_);
  free_rings();
  while (SkBuff* skb = napi_.rx_list.pop_front()) __kfree_skb(skb);
}

void RingNic::build_rings(unsigned rx_size, unsigned tx_size) {
  rx_ring_.assign(rx_size, RxDesc{});
  tx_ring_.assign(tx_size, TxDesc{});
  rx_hw_next_ = rx_clean_next_ = rx_refill_next_ = rx_unused_ = 0;
  tx_use_next_ = tx_clean_next_ = tx_in_flight_ = 0;
  config.rx_ring_size = rx_size;
  config.tx_ring_size = tx_size;
  // e1000_configure: every descriptor gets a buffer before the receiver starts.
  for (auto& d : rx_ring_) {
    SkBuff* skb = net.pool.alloc_skb(NET_SKB_PAD + rx_buf_len_);  // netdev_alloc_skb
    skb_reserve(skb, int(NET_SKB_PAD));
    skb->dev = this;
    d.skb = skb;
  }
}

// Quietly gives back the rings' buffers (the skbs never reached the stack).
void RingNic::free_rings() {
  for (auto& d : rx_ring_)
    if (d.skb) __kfree_skb(d.skb);
  for (auto& d : tx_ring_)
    if (d.skb) __kfree_skb(d.skb);
  rx_ring_.clear();
  tx_ring_.clear();
  tx_in_flight_ = 0;
}

void RingNic::set_coalesce(unsigned rx_usecs, unsigned rx_frames) {
  rx_usecs_ = rx_usecs;
  rx_frames_ = rx_frames;
}

void RingNic::set_ringparam(unsigned rx_size, unsigned tx_size) {
  const bool running = is_up();
  if (running) dev_close(this);  // e1000_down: the TX ring is cleaned, RX frames are lost
  free_rings();
  build_rings(rx_size, tx_size);
  if (running) dev_open(this);
}

// e1000_alloc_rx_buffers: give the hardware back buffers for cleaned descriptors.
void RingNic::e1000_alloc_rx_buffers(int cleaned_count) {
  while (cleaned_count-- > 0) {
    RxDesc& d = rx_ring_[rx_refill_next_];
    if (d.skb) break;
    SkBuff* skb = net.pool.alloc_skb(NET_SKB_PAD + rx_buf_len_);  // netdev_alloc_skb
    skb_reserve(skb, int(NET_SKB_PAD));
    skb->dev = this;
    checkpoint(net.tracer, "e1000_alloc_rx_buffers", skb);
    d.skb = skb;
    --rx_unused_;
    ++rx_refills_;
    rx_refill_next_ = ring_next(rx_refill_next_, rx_ring_.size());
  }
}

// The hardware has an event to signal (a frame received, a TX descriptor
// done). Interrupt moderation decides when the interrupt is raised.
void RingNic::hw_event(bool rx_frame) {
  if (rx_frame) ++pending_frames_;
  irq_pending_ = true;
  if (rx_usecs_ == 0 || (rx_frames_ && pending_frames_ >= rx_frames_)) {
    if (itr_timer_) {
      net.engine.del_timer(itr_timer_);
      itr_timer_ = 0;
    }
    e1000_intr();
    return;
  }
  if (!itr_timer_) {
    itr_timer_ = net.engine.add_timer(net.engine.now() + uint64_t(rx_usecs_) * 1000u, [this] {
      itr_timer_ = 0;
      if (irq_pending_) e1000_intr();
    });
  }
}

// e1000_intr: mask the interrupt and hand over to NAPI. Masked, the cause
// stays latched: the poll's re-enable check sees it.
void RingNic::e1000_intr() {
  if (!irq_enabled_) return;
  irq_enabled_ = false;
  irq_pending_ = false;
  pending_frames_ = 0;
  ++interrupts_;
  napi_schedule(net, &napi_);
}

bool RingNic::receive_from_wire(std::span<const uint8_t> frame) {
  if (!is_up()) return false;  // the receiver is off: the frame is not seen at all
  RxDesc& d = rx_ring_[rx_hw_next_];
  if (d.done || !d.skb) {
    stats.rx_missed_errors++;  // no free descriptor: the frame never reaches memory
    return false;
  }
  std::memcpy(d.skb->data, frame.data(), frame.size());  // the DMA: the one copy
  d.length = uint32_t(frame.size());
  d.done = true;
  rx_hw_next_ = ring_next(rx_hw_next_, rx_ring_.size());
  hw_event(true);
  return true;
}

int RingNic::e1000_clean_rx_irq(int budget) {
  int work = 0;
  int cleaned_count = 0;
  while (work < budget) {
    RxDesc& d = rx_ring_[rx_clean_next_];
    if (!d.done) break;
    SkBuff* skb = d.skb;
    d.skb = nullptr;
    d.done = false;
    ++rx_unused_;
    ++work;
    rx_clean_next_ = ring_next(rx_clean_next_, rx_ring_.size());
    skb_put(skb, d.length);
    checkpoint(net.tracer, "e1000_clean_rx_irq", skb);
    stats.rx_packets++;
    stats.rx_bytes += skb->len;
    skb->protocol = eth_type_trans(skb, this);  // e1000_receive_skb
    skb->ip_summed = rxcsum ? CHECKSUM_UNNECESSARY : CHECKSUM_NONE;
    if (skb->pkt_type == PACKET_MULTICAST) stats.multicast++;
    napi_gro_receive(&napi_, skb);
    if (++cleaned_count >= int(E1000_RX_BUFFER_WRITE)) {
      e1000_alloc_rx_buffers(cleaned_count);
      cleaned_count = 0;
    }
  }
  // E1000_DESC_UNUSED: every descriptor without a buffer gets one now.
  if (rx_unused_) e1000_alloc_rx_buffers(int(rx_unused_));
  return work;
}

// e1000_clean_tx_irq: free what the hardware sent; wake a stopped queue once
// enough descriptors are free. true: everything done was cleaned.
bool RingNic::e1000_clean_tx_irq(int budget) {
  // Nothing in flight (a receive-only poll): nothing to clean, no queue to wake.
  if (!tx_in_flight_) return !tx_ring_.empty();
  unsigned count = 0;
  while (tx_in_flight_ > 0 && count < tx_ring_.size()) {
    TxDesc& d = tx_ring_[tx_clean_next_];
    if (!d.done) break;
    checkpoint(net.tracer, "e1000_clean_tx_irq", d.skb);
    napi_consume_skb(d.skb, budget, "e1000_unmap_and_free_tx_resource");
    d.skb = nullptr;
    d.done = false;
    tx_clean_next_ = ring_next(tx_clean_next_, tx_ring_.size());
    --tx_in_flight_;
    ++count;
  }
  const unsigned unused = unsigned(tx_ring_.size()) - tx_in_flight_;
  if (count && is_up() && unused >= std::min<unsigned>(kTxWakeThreshold, unsigned(tx_ring_.size())) && xoff) {
    netif_wake_queue(this);
    ++restart_queue_;
  }
  return count < tx_ring_.size();
}

// e1000_clean: the NAPI poll.
int RingNic::e1000_clean(NapiStruct* napi, int budget) {
  auto* nic = static_cast<RingNic*>(napi->owner);
  nic->irq_pending_ = false;  // the poll handles every cause latched so far
  const bool tx_clean_complete = nic->e1000_clean_tx_irq(budget);
  int work = nic->e1000_clean_rx_irq(budget);
  if (!tx_clean_complete || work == budget) return budget;
  napi_complete_done(napi, work);
  nic->irq_enabled_ = true;  // e1000_irq_enable
  // Work that arrived while the interrupt was masked (a TX completion from
  // this very poll, say) raises it again on unmask.
  if (nic->work_pending()) nic->hw_event(false);
  return work;
}

bool RingNic::work_pending() const {
  if (rx_ring_[rx_clean_next_].done) return true;
  return tx_in_flight_ > 0 && tx_ring_[tx_clean_next_].done;
}

NetdevTx RingNic::ndo_start_xmit(SkBuff* skb) {
  checkpoint(net.tracer, "e1000_xmit_frame", skb);
  if (tx_in_flight_ == tx_ring_.size()) {
    netif_stop_queue(this);  // e1000_maybe_stop_tx
    return NETDEV_TX_BUSY;
  }
  TxDesc& d = tx_ring_[tx_use_next_];
  d.skb = skb;
  tx_use_next_ = ring_next(tx_use_next_, tx_ring_.size());
  ++tx_in_flight_;
  stats.tx_packets++;
  stats.tx_bytes += skb->len;
  // The hardware reads the descriptor and puts the frame on the wire at once,
  // then signals completion.
  net.wire.transmit(this, net.engine.now(), {skb->data, skb->len});
  d.done = true;
  if (tx_in_flight_ == tx_ring_.size()) netif_stop_queue(this);
  hw_event(false);
  return NETDEV_TX_OK;
}

void RingNic::ndo_open() {
  // e1000_up: the receiver starts with every descriptor given a buffer.
  xoff = false;
  irq_enabled_ = true;
}

void RingNic::ndo_stop() {
  // e1000_down: frames waiting in the RX ring are lost, the TX ring is cleaned
  // (e1000_clean_tx_ring: napi_consume_skb with budget 0 → dev_consume_skb_any,
  // in process context: consumed at once), NAPI is disabled.
  for (auto& d : rx_ring_) {
    d.done = false;
    d.length = 0;
  }
  rx_hw_next_ = rx_clean_next_ = rx_refill_next_ = 0;
  for (auto& d : tx_ring_) {
    if (d.skb) consume_skb(d.skb, "dev_kfree_skb_any_reason");
    d = TxDesc{};
  }
  tx_use_next_ = tx_clean_next_ = tx_in_flight_ = 0;
  if (itr_timer_) {
    net.engine.del_timer(itr_timer_);
    itr_timer_ = 0;
  }
  irq_pending_ = false;
  pending_frames_ = 0;
  while (SkBuff* skb = napi_.rx_list.pop_front()) kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "napi_disable");
  napi_.rx_count = 0;
  if (napi_.scheduled) {
    // napi_disable: off the poll list.
    NapiList& pl = net.softnet.poll_list;
    NapiList keep;
    while (NapiStruct* n = pl.pop_front())
      if (n != &napi_) keep.push_back(n);
    pl = keep;
    napi_.scheduled = false;
  }
  irq_enabled_ = true;
}

}  // namespace nettwin
