#include "drivers/ring_nic.h"

#include <cstring>

#include "core/dev.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ethernet/eth.h"
#include "sched/sch_generic.h"
#include "wire/headers.h"

namespace nettwin {

RingNic::RingNic(Net& net, const DeviceConfig& config) : NetDevice(net, config) {
  qdisc = std::make_unique<PfifoFast>(this);
  rx_buf_len_ = mtu + hard_header_len + 4;  // VLAN_HLEN
  rx_ring_.resize(config.rx_ring_size);
  tx_ring_.resize(config.tx_ring_size);
  for (auto& d : rx_ring_) d.skb = alloc_rx_buffer();
  napi_.poll = &RingNic::poll;
  napi_.weight = net.sysctl.dev_rx_weight();
  napi_.dev = this;
  napi_.owner = this;
}

RingNic::~RingNic() {
  for (auto& d : rx_ring_)
    if (d.skb) __kfree_skb(d.skb);
  for (auto& d : tx_ring_)
    if (d.skb) __kfree_skb(d.skb);
}

// netdev_alloc_skb: NET_SKB_PAD of headroom, then room for a whole frame.
SkBuff* RingNic::alloc_rx_buffer() {
  SkBuff* skb = net.pool.alloc_skb(NET_SKB_PAD + rx_buf_len_);
  skb_reserve(skb, int(NET_SKB_PAD));
  skb->dev = this;
  return skb;
}

void RingNic::raise_irq() {
  if (!irq_enabled_) return;  // masked: the poll running now, or the re-enable check, sees the work
  irq_enabled_ = false;  // the handler masks the interrupt and hands over to NAPI
  napi_schedule(net, &napi_);
}

bool RingNic::receive_from_wire(std::span<const uint8_t> frame) {
  RxDesc& d = rx_ring_[rx_hw_next_];
  if (!is_up() || d.done || !d.skb) {
    stats.rx_missed_errors++;  // no free descriptor: the frame never reaches memory
    return false;
  }
  std::memcpy(d.skb->data, frame.data(), frame.size());  // the DMA: the one copy
  d.length = uint32_t(frame.size());
  d.done = true;
  rx_hw_next_ = (rx_hw_next_ + 1) % rx_ring_.size();
  raise_irq();
  return true;
}

int RingNic::clean_rx_irq(int budget) {
  int work = 0;
  while (work < budget) {
    RxDesc& d = rx_ring_[rx_clean_next_];
    if (!d.done) break;
    SkBuff* skb = d.skb;
    skb_put(skb, d.length);
    d.skb = alloc_rx_buffer();  // refill the descriptor before passing the frame up
    d.done = false;
    ++rx_refills_;
    rx_clean_next_ = (rx_clean_next_ + 1) % rx_ring_.size();
    stats.rx_packets++;
    stats.rx_bytes += skb->len;
    skb->protocol = eth_type_trans(skb, this);
    if (skb->pkt_type == PACKET_MULTICAST) stats.multicast++;
    netif_receive_skb(skb);
    ++work;
  }
  return work;
}

void RingNic::clean_tx_irq() {
  bool cleaned = false;
  while (tx_in_flight_ > 0) {
    TxDesc& d = tx_ring_[tx_clean_next_];
    if (!d.done) break;
    dev_consume_skb_any(d.skb);
    d.skb = nullptr;
    d.done = false;
    tx_clean_next_ = (tx_clean_next_ + 1) % tx_ring_.size();
    --tx_in_flight_;
    cleaned = true;
  }
  if (cleaned && xoff) netif_wake_queue(this);
}

int RingNic::poll(NapiStruct* napi, int budget) {
  auto* nic = static_cast<RingNic*>(napi->owner);
  nic->clean_tx_irq();
  int work = nic->clean_rx_irq(budget);
  if (work < budget) {
    napi_complete_done(napi, work);
    nic->irq_enabled_ = true;
    // Work that arrived while the interrupt was masked (a TX completion from
    // this very poll, say) raises it again on unmask.
    if (nic->work_pending()) nic->raise_irq();
  }
  return work;
}

bool RingNic::work_pending() const {
  if (rx_ring_[rx_clean_next_].done) return true;
  return tx_in_flight_ > 0 && tx_ring_[tx_clean_next_].done;
}

NetdevTx RingNic::ndo_start_xmit(SkBuff* skb) {
  if (tx_in_flight_ == tx_ring_.size()) {
    netif_stop_queue(this);
    return NETDEV_TX_BUSY;
  }
  TxDesc& d = tx_ring_[tx_use_next_];
  d.skb = skb;
  tx_use_next_ = (tx_use_next_ + 1) % tx_ring_.size();
  ++tx_in_flight_;
  stats.tx_packets++;
  stats.tx_bytes += skb->len;
  // The hardware reads the descriptor and puts the frame on the wire at once,
  // then signals completion.
  net.wire.transmit(this, net.engine.now(), {skb->data, skb->len});
  d.done = true;
  if (tx_in_flight_ == tx_ring_.size()) netif_stop_queue(this);
  raise_irq();
  return NETDEV_TX_OK;
}

void RingNic::ndo_stop() {
  // Taken down: frames waiting in the RX ring are lost, the TX ring is cleaned.
  for (auto& d : rx_ring_) {
    d.done = false;
    d.length = 0;
  }
  rx_hw_next_ = rx_clean_next_ = 0;
  clean_tx_irq();
}

}  // namespace nettwin
