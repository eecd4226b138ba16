// net/ipv4/tcp_offload.c: a TCP GSO skb cut into MSS-sized segments in
// software (tcp4_gso_segment, tcp_gso_segment), for a device without TSO.
#include "core/skbuff.h"
#include "ipv4/af_inet_gso.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_skb_cb.h"
#include "socket/sock.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

SkBuff* tcp4_gso_segment(SkBuff* skb, uint64_t features) {
  if (!(skb_shinfo(skb)->gso_type & SKB_GSO_TCPV4)) return nullptr;
  if (!pskb_may_pull(skb, 20)) return nullptr;
  return tcp_gso_segment(skb, features);
}

SkBuff* tcp_gso_segment(SkBuff* skb, uint64_t features) {
  (void)features;  // no device here offloads the checksum: every segment is summed
  SkBuff* gso_skb = skb;
  const unsigned thlen = unsigned(skb_transport_header(skb)[12] >> 4) * 4;
  if (thlen < 20 || !pskb_may_pull(skb, thlen)) return nullptr;
  skb_pull(skb, thlen);
  const unsigned mss = skb_shinfo(skb)->gso_size;
  if (skb->len <= mss) return nullptr;
  // The segments take the socket's charge over from the GSO skb, so that the
  // write memory is given back as each one is freed (copy_destructor): TSQ
  // hears of the last one's TX completion, not of the GSO skb's free.
  const bool copy_destructor = gso_skb->destructor == tcp_wfree;
  SkBuff* segs = skb_segment(skb);
  uint32_t seq = wire::load_be32(skb_transport_header(segs) + 4);
  for (SkBuff* s = segs; s; s = s->next) {
    uint8_t* th = skb_transport_header(s);
    wire::store_be32(th + 4, seq);
    seq += mss;
    if (s != segs) th[13] &= uint8_t(~TCPHDR_CWR);              // CWR only on the first
    if (s->next) th[13] &= uint8_t(~(TCPHDR_FIN | TCPHDR_PSH));  // PSH and FIN only on the last
    // gso_make_checksum: the whole segment summed, pseudo header first.
    wire::Iphdr iph{skb_network_header(s)};
    const unsigned len = unsigned(skb_tail_pointer(s) - th);
    wire::store_be16(th + 16, 0);
    const uint64_t sum = wire::csum_tcpudp_nofold(iph.saddr(), iph.daddr(), len, wire::IPPROTO_TCP);
    wire::store_be16(th + 16, wire::csum_fold(wire::csum_partial(th, len, sum)));
    if (copy_destructor) {
      skb_set_owner_w(s, gso_skb->sk);
      s->destructor = tcp_wfree;
    }
  }
  if (copy_destructor) {
    // swap(gso_skb->sk, skb->sk) and the truesize delta: the GSO skb's charge
    // goes without a tcp_wfree of its own.
    gso_skb->sk->sk_wmem_alloc -= int(gso_skb->truesize);
    gso_skb->destructor = nullptr;
    gso_skb->sk = nullptr;
  }
  return segs;
}

}  // namespace nettwin
