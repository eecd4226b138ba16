// net/ipv4/ip_output.c: ip_fragment and ip_do_fragment. A datagram larger
// than the MTU leaves as fragments: over its frag_list when ip_append_data
// already cut it to fragment geometry (the fast path: no copy, the pieces get
// headers), by copying into new skbs otherwise (the slow path).
#include <algorithm>
#include <cstring>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ip_fragment.h"
#include "socket/sock.h"
#include "ipv4/ipv4.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

// LL_RESERVED_SPACE for an Ethernet device: the hard header rounded up to 16.
constexpr unsigned kLLReservedSpace = 16;

void ip_send_check(uint8_t* iph) {
  wire::Iphdr h{iph};
  h.set_check(0);
  h.set_check(wire::ip_fast_csum(iph, h.ihl()));
}

// ip_options_fragment: the options a later fragment must not carry (copied
// flag clear) become NOPs; the option list keeps its length.
void ip_options_fragment(uint8_t* iph) {
  const unsigned hlen = wire::Iphdr{iph}.ihl() * 4u;
  unsigned i = wire::IPV4_MIN_HLEN;
  while (i < hlen) {
    const uint8_t type = iph[i];
    if (type == 0) return;  // IPOPT_END
    if (type == 1) {        // IPOPT_NOOP
      ++i;
      continue;
    }
    if (i + 1 >= hlen) return;
    const unsigned optlen = iph[i + 1];
    if (optlen < 2 || i + optlen > hlen) return;
    if (!(type & 0x80)) std::memset(iph + i, 1, optlen);  // IPOPT_COPIED clear
    i += optlen;
  }
}

// ip_copy_metadata: what each fragment inherits from the datagram.
void ip_copy_metadata(SkBuff* to, const SkBuff* from) {
  to->pkt_type = from->pkt_type;
  to->priority = from->priority;
  to->protocol = from->protocol;
  to->skb_iif = from->skb_iif;
  to->dst = from->dst;
  to->dev = from->dev;
  to->mark = from->mark;
  std::memcpy(to->cb, from->cb, sizeof to->cb);
}

bool frag_list_geometry_ok(SkBuff* skb, unsigned hlen, unsigned mtu) {
  const unsigned first_len = skb_headlen(skb);
  const wire::Iphdr iph{skb_network_header(skb)};
  if (first_len - hlen > mtu || ((first_len - hlen) & 7) || (iph.frag_off() & (wire::IP_MF | wire::IP_OFFSET)) ||
      skb_cloned(skb) || skb_headroom(skb) < kLLReservedSpace)
    return false;
  for (SkBuff* frag = skb_shinfo(skb)->frag_list; frag; frag = frag->next) {
    if (frag->len > mtu || ((frag->len & 7) && frag->next) || skb_headroom(frag) < hlen + kLLReservedSpace)
      return false;
    if (skb_shared(frag)) return false;  // partially cloned
  }
  return true;
}

int ip_do_fragment_fast(Net& net, SkBuff* skb, unsigned hlen, IpFragOutput output) {
  // ip_fraglist_init: the head becomes the first fragment.
  SkBuff* frag = skb_shinfo(skb)->frag_list;
  skb_shinfo(skb)->frag_list = nullptr;
  const unsigned first_len = skb_headlen(skb);
  skb->data_len = 0;
  skb->len = first_len;
  uint8_t* iph = skb_network_header(skb);
  const bool has_options = hlen > wire::IPV4_MIN_HLEN;
  wire::Iphdr{iph}.set_tot_len(uint16_t(first_len));
  wire::Iphdr{iph}.set_frag_off(wire::IP_MF);
  ip_send_check(iph);
  unsigned offset = 0;
  int err = 0;
  for (;;) {
    if (frag) {
      // ip_fraglist_prepare: the next piece gets the header (before the
      // previous one goes down).
      const bool first_frag = offset == 0;
      frag->ip_summed = CHECKSUM_NONE;
      skb_reset_transport_header(frag);
      skb_push(frag, hlen);
      skb_reset_network_header(frag);
      std::memcpy(skb_network_header(frag), iph, hlen);
      iph = skb_network_header(frag);
      wire::Iphdr h{iph};
      h.set_tot_len(uint16_t(frag->len));
      ip_copy_metadata(frag, skb);
      offset += skb->len - hlen;
      h.set_frag_off(uint16_t((offset >> 3) | (frag->next ? wire::IP_MF : 0)));
      if (first_frag && has_options) ip_options_fragment(iph);
      ip_send_check(iph);
    }
    err = output(net, skb);
    if (!err) net.mib.ip.FragCreates++;
    if (err || !frag) break;
    skb = frag;  // ip_fraglist_next
    frag = frag->next;
    skb->next = nullptr;
  }
  if (err == 0) {
    net.mib.ip.FragOKs++;
    return 0;
  }
  while (frag) {  // kfree_skb_list
    SkBuff* n = frag->next;
    frag->next = nullptr;
    kfree_skb(frag, SkbDropReason::NOT_SPECIFIED, "ip_do_fragment");
    frag = n;
  }
  net.mib.ip.FragFails++;
  return err;
}

// The slow path's ip_frag_init / ip_frag_next: copies of at most mtu bytes of
// payload (a multiple of 8 unless last), each with the header.
int ip_do_fragment_slow(Net& net, SkBuff* skb, unsigned hlen, unsigned mtu, IpFragOutput output) {
  const unsigned ll_rs = kLLReservedSpace;
  uint8_t* iph = skb_network_header(skb);
  const uint16_t orig_frag_off = wire::Iphdr{iph}.frag_off();
  const bool df = orig_frag_off & wire::IP_DF;
  const bool not_last_frag = orig_frag_off & wire::IP_MF;
  unsigned left = skb->len - hlen;
  unsigned ptr = hlen;
  unsigned offset = unsigned(orig_frag_off & wire::IP_OFFSET) << 3;
  int err = 0;
  while (left > 0) {
    const bool first_frag = ptr == hlen;
    unsigned len = std::min(left, mtu);
    if (len < left) len &= ~7u;
    SkBuff* skb2 = net.pool.alloc_skb(len + hlen + ll_rs);
    ip_copy_metadata(skb2, skb);
    if (skb->sk) skb_set_owner_w(skb2, skb->sk);  // each fragment is charged to the owner
    skb_reserve(skb2, int(ll_rs));
    skb_put(skb2, len + hlen);
    skb_reset_network_header(skb2);
    skb2->transport_header = uint16_t(skb2->network_header + hlen);
    std::memcpy(skb2->data, iph, hlen);
    std::memcpy(skb2->data + hlen, skb->data + ptr, len);
    left -= len;
    wire::Iphdr h{skb2->data};
    uint16_t fo = uint16_t(offset >> 3);
    if (df) fo |= wire::IP_DF;
    if (left > 0 || not_last_frag) fo |= wire::IP_MF;
    h.set_frag_off(fo);
    h.set_tot_len(uint16_t(len + hlen));
    ptr += len;
    offset += len;
    ip_send_check(skb2->data);
    // ip_frag_ipcb: after the first fragment, the options that are not copied go.
    if (first_frag && hlen > wire::IPV4_MIN_HLEN) {
      ip_options_fragment(iph);
      ip_send_check(iph);
    }
    err = output(net, skb2);
    if (err) {
      kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "ip_do_fragment");
      net.mib.ip.FragFails++;
      return err;
    }
    net.mib.ip.FragCreates++;
  }
  checkpoint(net.tracer, "ip_do_fragment", skb, "consume");
  consume_skb(skb, "ip_do_fragment");
  net.mib.ip.FragOKs++;
  return 0;
}

}  // namespace

int ip_do_fragment(Net& net, SkBuff* skb, unsigned mtu, IpFragOutput output) {
  checkpoint(net.tracer, "ip_do_fragment", skb);
  const unsigned hlen = wire::Iphdr{skb_network_header(skb)}.ihl() * 4u;
  mtu -= hlen;  // the data space
  if (skb_has_frag_list(skb) && frag_list_geometry_ok(skb, hlen, mtu))
    return ip_do_fragment_fast(net, skb, hlen, output);
  if (skb_has_frag_list(skb) && skb->data_len) {
    // Bad geometry: fall back to copying, from a linear datagram. (A frag_list
    // with data_len 0 holds a reassembled datagram's pieces, not its bytes.)
    SkBuff* frag = skb_shinfo(skb)->frag_list;
    skb_shinfo(skb)->frag_list = nullptr;
    const unsigned extra = skb->data_len;
    if (unsigned(skb_tailroom(skb)) < extra) pskb_expand_head(skb, 0, extra);
    for (SkBuff* f = frag; f;) {
      std::memcpy(skb_tail_pointer(skb), f->data, f->len);
      skb->tail += f->len;
      SkBuff* n = f->next;
      f->next = nullptr;
      __kfree_skb(f);
      f = n;
    }
    skb->data_len = 0;
  }
  return ip_do_fragment_slow(net, skb, hlen, mtu, output);
}

int ip_fragment(Net& net, SkBuff* skb, unsigned mtu, IpFragOutput output) {
  wire::Iphdr iph{skb_network_header(skb)};
  if (!(iph.frag_off() & wire::IP_DF)) return ip_do_fragment(net, skb, mtu, output);
  // DF and too big: the sender must learn the MTU (skb->ignore_df is never set here).
  net.mib.ip.FragFails++;
  icmp_send(skb, wire::ICMP_DEST_UNREACH, wire::ICMP_FRAG_NEEDED, mtu);
  checkpoint(net.tracer, "ip_fragment", skb, "drop");
  kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "ip_fragment");
  return -90;  // -EMSGSIZE
}

}  // namespace nettwin
