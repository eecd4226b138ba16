#include "drivers/veth.h"

#include <cstring>

#include "core/dev.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ethernet/eth.h"
#include "sched/sch_generic.h"
#include "socket/sock.h"

namespace nettwin {

namespace {
constexpr unsigned kVethLlReservedSpace = 16;  // LL_RESERVED_SPACE: (ETH_HLEN & ~15) + HH_DATA_MOD
}  // namespace

Veth::Veth(Net& n, const DeviceConfig& config) : NetDevice(n, config) {
  qdisc = std::make_unique<NoQueue>(this);
  // Recorded DUTs run with rx-checksumming off (traces/*/meta.json), so frames
  // arrive CHECKSUM_NONE and ICMP checksums are verified in software.
  rxcsum = false;
}

bool Veth::receive_from_wire(std::span<const uint8_t> frame) {
  // The peer's skb: allocated and filled on the peer's side of the pair.
  // Its truesize is the peer's: packet_snd's alloc_skb of LL_RESERVED_SPACE
  // (16 on veth) plus the frame, a kmalloc'd head (recorded: with 1280 for a
  // 566-byte frame tcp_receive_window_closes keeps three segments in 4096).
  // Its tailroom is what inet_frag_reasm_finish can coalesce fragments into.
  // Eight recordings (traces/explore_frag_fraglist_release, explore seeds
  // 2026120713/4) agree on that head's data area less the frame, as if the 16
  // reserved bytes were not taken from it (256 - 98 for a 98-byte frame, not
  // 256 - 16 - 98); why is not pinned down. The buffer ends there.
  const unsigned size = unsigned(frame.size());
  const uint32_t truesize = alloc_skb_truesize(kVethLlReservedSpace + size);
  const unsigned tailroom = truesize - SKB_HEAD_OVERHEAD - SKB_SHINFO_OVERHEAD - size;
  SkBuff* skb = net.pool.alloc_skb(NET_SKB_PAD + size + tailroom);
  skb_reserve(skb, int(NET_SKB_PAD));
  std::memcpy(skb_put(skb, size), frame.data(), size);
  skb->end = skb->tail + tailroom;
  skb->truesize = truesize;
  const unsigned length = skb->len;
  // __dev_forward_skb2: a down device or an oversized frame is dropped here.
  if (!is_up() || length > max_frame()) {
    skb->dev = this;
    stats.rx_dropped++;
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "__dev_forward_skb2");
    return false;
  }
  skb->priority = 0;
  skb->protocol = eth_type_trans(skb, this);
  skb->ip_summed = rxcsum ? CHECKSUM_UNNECESSARY : CHECKSUM_NONE;
  if (__netif_rx(skb) != NET_RX_SUCCESS) return false;
  // veth_get_stats64: this end's rx counters are the peer's tx counters.
  stats.rx_packets++;
  stats.rx_bytes += length;
  return true;
}

NetdevTx Veth::ndo_start_xmit(SkBuff* skb) {
  // veth_xmit: the skb crosses to the peer (the wire). Its life goes on
  // there, outside the DUT's trace, so it leaves without a free event.
  checkpoint(net.tracer, "veth_xmit", skb);
  stats.tx_packets++;
  stats.tx_bytes += skb->len;
  net.wire.transmit(this, net.engine.now(), {skb->data, skb->len});
  // veth_forward_skb keeps the sender's ownership (skb_scrub_packet orphans no
  // more): the peer's ip_rcv_core does, when this CPU's backlog reaches it. In a
  // softirq that is after the work at hand (TSQ sees the bytes still out); from
  // a socket call, the bh-enable ending __dev_queue_xmit runs it before the
  // call goes on, as freeing it here does.
  if (net.engine.in_softirq()) {
    netif_rx_peer(net, skb);
  } else {
    __kfree_skb(skb);
  }
  return NETDEV_TX_OK;
}

Loopback::Loopback(Net& n, const DeviceConfig& config) : NetDevice(n, config) {
  qdisc = std::make_unique<NoQueue>(this);
  flags = IFF_UP | IFF_LOOPBACK;
  flags |= IFF_NOARP;
  rxcsum = true;
}

bool Loopback::receive_from_wire(std::span<const uint8_t> frame) {
  SkBuff* skb = net.pool.alloc_skb(NET_SKB_PAD + unsigned(frame.size()));
  skb_reserve(skb, int(NET_SKB_PAD));
  std::memcpy(skb_put(skb, unsigned(frame.size())), frame.data(), frame.size());
  const unsigned length = skb->len;
  skb->protocol = eth_type_trans(skb, this);
  skb->ip_summed = CHECKSUM_UNNECESSARY;
  if (__netif_rx(skb) != NET_RX_SUCCESS) return false;
  stats.rx_packets++;
  stats.rx_bytes += length;
  return true;
}

NetdevTx Loopback::ndo_start_xmit(SkBuff* skb) {
  // loopback_xmit: count it as sent and received, and feed it back in.
  checkpoint(net.tracer, "loopback_xmit", skb);
  skb_orphan(skb);  // the sender's buffer is free once the frame is on its way back in
  const unsigned length = skb->len;
  skb->protocol = eth_type_trans(skb, this);
  skb->ip_summed = CHECKSUM_UNNECESSARY;
  if (__netif_rx(skb) == NET_RX_SUCCESS) {
    stats.tx_packets++;
    stats.tx_bytes += length;
    stats.rx_packets++;
    stats.rx_bytes += length;
  }
  return NETDEV_TX_OK;
}

}  // namespace nettwin
