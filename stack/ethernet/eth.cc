#include "ethernet/eth.h"

#include "core/net.h"
#include "core/netdevice.h"
#include "core/skbuff.h"
#include "core/trace_events.h"
#include "wire/headers.h"

namespace nettwin {

uint16_t eth_type_trans(SkBuff* skb, NetDevice* dev) {
  skb->dev = dev;
  skb_reset_mac_header(skb);
  checkpoint(dev->net.tracer, "eth_type_trans", skb);
  auto eth = *wire::EthHdr::parse({skb->data, skb->len});
  skb_pull(skb, wire::ETH_HLEN);
  const wire::MacAddr dest = eth.h_dest();
  if (wire::is_multicast_ether_addr(dest)) [[unlikely]] {
    skb->pkt_type = wire::is_broadcast_ether_addr(dest) ? PACKET_BROADCAST : PACKET_MULTICAST;
  } else if (dest != dev->dev_addr) [[unlikely]] {
    skb->pkt_type = PACKET_OTHERHOST;
  } else {
    skb->pkt_type = PACKET_HOST;
  }
  const uint16_t proto = eth.h_proto();
  if (proto >= wire::ETH_P_802_3_MIN) [[likely]] return proto;
  // 802.3 length field: raw 802.3 (0xFFFF) or 802.2 LLC.
  if (skb->len >= 2 && skb->data[0] == 0xff && skb->data[1] == 0xff) return 0x0001;  // ETH_P_802_3
  return 0x0004;                                                                    // ETH_P_802_2
}

void eth_header(SkBuff* skb, const NetDevice* dev, uint16_t type, const wire::MacAddr& daddr,
                const wire::MacAddr* saddr) {
  uint8_t* p = skb_push(skb, wire::ETH_HLEN);
  wire::EthHdr eth{p};
  eth.set_h_dest(daddr);
  eth.set_h_source(saddr ? *saddr : dev->dev_addr);
  eth.set_h_proto(type);
}

}  // namespace nettwin
