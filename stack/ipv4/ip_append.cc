// The datagram-building half of net/ipv4/ip_output.c: ip_append_data,
// __ip_make_skb, ip_send_skb, ip_flush_pending_frames.
//
// The DUT's devices have no scatter-gather (veth loses NETIF_F_SG when its
// checksum offload is off), so each piece is a linear skb of at most
// maxfraglen bytes, as __ip_append_data builds them without SG.
#include "ipv4/ip_append.h"

#include <algorithm>
#include <cstring>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ip_sockglue.h"
#include "ipv4/ipv4.h"
#include "wire/headers.h"

namespace nettwin {

unsigned ip_cork_fragsize(const Sock* sk, const DstEntry* rt) {
  return ip_sk_use_pmtu(sk) ? ipv4_mtu(rt) : rt->dev->mtu;
}

namespace {
constexpr unsigned kHhLen = 16;  // LL_RESERVED_SPACE of an Ethernet device
constexpr unsigned kFragHeaderLen = wire::IPV4_MIN_HLEN;
constexpr unsigned IP_MAX_MTU = 0xFFFF;

// ip_sk_ignore_df: IP_PMTUDISC_DONT and _WANT let a datagram exceed the MTU (it is fragmented).
bool ip_sk_ignore_df(const Sock* sk) { return sk->pmtudisc < IP_PMTUDISC_DO_ || sk->pmtudisc == 5; }
// __ip_append_data's error exit: the datagram's length is taken back and the
// failure counts as an output discard.
int append_error(Sock* sk, InetCork& cork, unsigned length, int err) {
  cork.length -= length;
  sk->net->mib.ip.OutDiscards++;
  return err;
}
}  // namespace

int ip_append_data(Sock* sk, InetCork& cork, SkbQueue& queue, std::span<const uint8_t> data, unsigned transhdrlen,
                   int flags) {
  Net& net = *sk->net;
  if (!queue.empty()) transhdrlen = 0;  // appending to a corked datagram
  const unsigned mtu = cork.fragsize;
  const unsigned maxfraglen = ((mtu - kFragHeaderLen) & ~7u) + kFragHeaderLen;
  const unsigned maxnonfragsize = ip_sk_ignore_df(sk) ? IP_MAX_MTU : mtu;
  unsigned length = unsigned(data.size()) + transhdrlen;
  if (cork.length + length > maxnonfragsize - kFragHeaderLen) {
    ip_local_error(sk, E_MSGSIZE, cork.fl4.daddr, sk->inet_dport, mtu);
    return -E_MSGSIZE;
  }
  cork.length += length;
  int wmem_alloc_delta = 0;
  // Charged at the end (refcount_add in __ip_append_data); the skbs already
  // carry sock_wfree, which gives it back.
  struct ChargeOnExit {
    Sock* sk;
    int& delta;
    ~ChargeOnExit() { sk->sk_wmem_alloc += delta; }
  } charge{sk, wmem_alloc_delta};
  size_t from = 0;
  SkBuff* skb = queue.tail;
  unsigned copy = skb ? mtu - skb->len : 0;
  if (skb && copy < length) copy = maxfraglen - skb->len;
  while (length > 0) {
    if (!skb || int(copy) <= 0) {
      // A new piece: IP header room, the transport header in the first.
      const unsigned datalen_max = maxfraglen - kFragHeaderLen;
      unsigned datalen = std::min(length, datalen_max);
      const unsigned fraglen = datalen + kFragHeaderLen;
      // Room for a whole MTU: later appends land in this piece (as page frags in
      // Linux, on an SG device; linear here, and counted in data_len as paged).
      const unsigned room = std::max(mtu, fraglen) + kHhLen + 15;
      // What Linux allocates, and charges: fraglen, or the MTU for MSG_MORE
      // on a device without scatter-gather, plus hh_len + 15.
      const unsigned alloclen = ((flags & MSG_MORE_) ? std::max(mtu, fraglen) : fraglen) + kHhLen + 15;
      // The first piece waits for send-buffer room (sock_alloc_send_skb);
      // the rest may take up to twice sk_sndbuf, counting what this call has
      // already taken (wmem_alloc_delta).
      SkBuff* nskb;
      if (transhdrlen) {
        int err = 0;
        nskb = sock_alloc_send_skb(sk, alloclen, flags & MSG_DONTWAIT_, &err, room);
        if (!nskb) return append_error(sk, cork, length, err);
      } else {
        if (sk->sk_wmem_alloc + wmem_alloc_delta >= 2 * sk->sk_sndbuf)  // refcount (wmem + 1) > 2 * sndbuf
          return append_error(sk, cork, length, -E_NOBUFS);
        nskb = net.pool.alloc_skb(room);
        nskb->truesize = alloc_skb_truesize(alloclen);
        nskb->sk = sk;
        nskb->destructor = sock_wfree;
        wmem_alloc_delta += int(nskb->truesize);
      }
      // MSG_CONFIRM: the datagram's first skb confirms the neighbour it goes to.
      if ((flags & MSG_CONFIRM_) && queue.empty()) nskb->dst_pending_confirm = true;
      skb_reserve(nskb, int(kHhLen));
      skb_reset_network_header(nskb);
      skb_put(nskb, kFragHeaderLen);
      skb_set_transport_header(nskb, int(kFragHeaderLen));
      if (transhdrlen) std::memset(skb_put(nskb, transhdrlen), 0, transhdrlen);
      const unsigned payload = datalen - transhdrlen;
      if (payload) std::memcpy(skb_put(nskb, payload), data.data() + from, payload);
      from += payload;
      length -= datalen;
      transhdrlen = 0;
      queue.push_back(nskb);
      skb = nskb;
      copy = 0;
      continue;
    }
    // Room in the last piece: fill it.
    const unsigned n = std::min(copy, length);
    if (int(n) > skb_tailroom(skb)) {
      copy = 0;
      continue;
    }
    std::memcpy(skb_put(skb, n), data.data() + from, n);
    skb->data_len += n;
    // Linux puts these bytes in a page fragment and charges them as it goes.
    skb->truesize += n;
    wmem_alloc_delta += int(n);
    from += n;
    length -= n;
    copy = 0;
  }
  return 0;
}

SkBuff* __ip_make_skb(Sock* sk, InetCork& cork, SkbQueue& queue) {
  Net& net = *sk->net;
  SkBuff* skb = queue.pop_front();
  if (!skb) return nullptr;
  if (!queue.empty()) {
    // More than one piece: the datagram leaves as one linear skb (this stack
    // has no frag_list), which ip_output's fragmentation cuts at the same
    // maxfraglen boundaries the pieces had.
    unsigned total = skb->len;
    uint32_t truesize = skb->truesize;
    for (SkBuff* p = queue.head; p; p = p->next) total += p->len - kFragHeaderLen, truesize += p->truesize;
    SkBuff* big = net.pool.alloc_skb(total + kHhLen);
    skb_reserve(big, int(kHhLen));
    skb_reset_network_header(big);
    std::memcpy(skb_put(big, skb->len), skb->data, skb->len);
    skb_set_transport_header(big, int(kFragHeaderLen));
    // The datagram stays charged to the socket: the joined skb takes over the
    // pieces' charge (Linux moves their truesize onto the head).
    big->truesize = truesize;
    skb_set_owner_w(big, sk);
    __kfree_skb(skb);
    while (SkBuff* p = queue.pop_front()) {
      std::memcpy(skb_put(big, p->len - kFragHeaderLen), p->data + kFragHeaderLen, p->len - kFragHeaderLen);
      __kfree_skb(p);
    }
    skb = big;
  }
  DstEntry* rt = cork.dst;
  bool df = false;
  if (sk->pmtudisc == IP_PMTUDISC_DO_ || sk->pmtudisc == IP_PMTUDISC_PROBE_ ||
      (skb->len <= ipv4_mtu(rt) && ip_dont_fragment(sk, rt)))
    df = true;
  const int ttl = cork.ttl > 0 ? cork.ttl : int(net.sysctl.ip_default_ttl);  // ip_select_ttl
  wire::Iphdr iph{skb_network_header(skb)};
  iph.set_version_ihl(4, 5);
  iph.set_tos(uint8_t(cork.tos >= 0 ? cork.tos : sk->tos));
  iph.set_frag_off(df ? wire::IP_DF : 0);
  iph.set_ttl(uint8_t(ttl));
  iph.set_protocol(uint8_t(sk->sk_protocol == IPPROTO_IP_ ? IPPROTO_UDP_ : sk->sk_protocol));
  iph.set_saddr(cork.fl4.saddr);
  iph.set_daddr(cork.fl4.daddr);
  // ip_select_ident_segs: a connected socket counts its own IDs; an
  // unconnected DF datagram has ID 0; the rest take the shared generator's.
  if (sk->inet_daddr) iph.set_id(++sk->inet_id);
  else if (df) iph.set_id(0);
  else iph.set_id(ip_select_ident(net));
  // An ICMP message from a raw socket counts in the ICMP MIB (icmp_out_count).
  if (iph.protocol() == wire::IPPROTO_ICMP && skb->len > kFragHeaderLen) {
    net.mib.icmp.OutType[skb_transport_header(skb)[0]]++;
    net.mib.icmp.OutMsgs++;
  }
  skb->priority = sk->sk_priority;
  skb->dst = rt;
  skb->dev = rt->dev;
  skb->protocol = wire::ETH_P_IP;
  cork.length = 0;
  return skb;
}

int ip_send_skb(Net& net, SkBuff* skb) {
  int err = ip_local_out(net, skb);
  if (err) {
    if (err > 0) err = err != 2 ? -E_NOBUFS : 0;  // net_xmit_errno: NET_XMIT_CN is no error
    if (err) net.mib.ip.OutDiscards++;
  }
  return err;
}

void ip_flush_pending_frames(SkbQueue& queue) {
  while (SkBuff* skb = queue.pop_front()) kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "__ip_flush_pending_frames");
}

}  // namespace nettwin
