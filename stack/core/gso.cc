#include "core/gso.h"

#include "core/netdevice.h"
#include "ipv4/af_inet_gso.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

// struct packet_offload: the net_hotdata.offload_base list, by ethertype.
struct PacketOffload {
  uint16_t type;
  SkBuff* (*gso_segment)(SkBuff* skb, uint64_t features);
};
constexpr PacketOffload offload_base[] = {
    {wire::ETH_P_IP, inet_gso_segment},  // ip_packet_offload
};

}  // namespace

bool net_gso_ok(uint64_t features, uint32_t gso_type) {
  const uint64_t feature = uint64_t(gso_type) << NETIF_F_GSO_SHIFT;
  return (features & feature) == feature;
}

bool skb_gso_ok(const SkBuff* skb, uint64_t features) {
  return net_gso_ok(features, skb_shinfo(skb)->gso_type) && !skb_has_frag_list(skb);
}

bool netif_needs_gso(const SkBuff* skb, uint64_t features) {
  return skb_is_gso(skb) && (!skb_gso_ok(skb, features) ||
                             (skb->ip_summed != CHECKSUM_PARTIAL && skb->ip_summed != CHECKSUM_UNNECESSARY));
}

SkBuff* skb_mac_gso_segment(SkBuff* skb, uint64_t features) {
  const unsigned vlan_depth = skb->mac_len;
  skb_pull(skb, vlan_depth);
  SkBuff* segs = nullptr;
  for (const PacketOffload& ptype : offload_base) {
    if (ptype.type == skb->protocol) {
      segs = ptype.gso_segment(skb, features);
      break;
    }
  }
  skb_push(skb, unsigned(skb->data - skb_mac_header(skb)));
  return segs;
}

SkBuff* skb_gso_segment(SkBuff* skb, uint64_t features) {
  skb->mac_len = uint16_t(skb->network_header - skb->mac_header);  // skb_reset_mac_len
  return skb_mac_gso_segment(skb, features);
}

bool skb_gso_validate_network_len(const SkBuff* skb, unsigned mtu) {
  // skb_gso_network_seglen: the network and transport headers plus gso_size.
  const unsigned hdr_len = unsigned(skb->transport_header - skb->network_header);
  const uint8_t* th = skb->head + skb->transport_header;
  const unsigned seglen = hdr_len + unsigned(th[12] >> 4) * 4 + skb_shinfo(skb)->gso_size;
  return seglen <= mtu;
}

}  // namespace nettwin
