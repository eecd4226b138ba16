// net/ipv4/af_inet.c, its GSO part: inet_gso_segment and the inet_offloads
// table it dispatches through.
#include "ipv4/af_inet_gso.h"

#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

SkBuff* inet_gso_segment(SkBuff* skb, uint64_t features) {
  skb_reset_network_header(skb);
  const unsigned nhoff = unsigned(skb_network_header(skb) - skb_mac_header(skb));
  wire::Iphdr iph{skb_network_header(skb)};
  const unsigned ihl = iph.ihl() * 4u;
  if (ihl < wire::IPV4_MIN_HLEN || !pskb_may_pull(skb, ihl)) return nullptr;
  uint16_t id = iph.id();
  const uint8_t proto = iph.protocol();
  const bool fixedid = skb_shinfo(skb)->gso_type & SKB_GSO_TCP_FIXEDID;
  skb_pull(skb, ihl);
  skb_reset_transport_header(skb);
  // inet_offloads[proto]: TCP is the only one that segments here.
  SkBuff* segs = proto == wire::IPPROTO_TCP ? tcp4_gso_segment(skb, features) : nullptr;
  if (!segs) {
    skb->network_header = uint16_t(skb->mac_header + nhoff);
    return nullptr;
  }
  for (SkBuff* s = segs; s; s = s->next) {
    wire::Iphdr siph{skb_mac_header(s) + nhoff};
    if (!fixedid) siph.set_id(id);
    ++id;
    siph.set_tot_len(uint16_t(s->len - nhoff));
    siph.set_check(0);  // ip_send_check
    siph.set_check(wire::ip_fast_csum(siph.p, siph.ihl()));
    s->network_header = uint16_t(s->mac_header + nhoff);
    s->mac_len = uint16_t(s->network_header - s->mac_header);  // skb_reset_mac_len
  }
  return segs;
}

}  // namespace nettwin
