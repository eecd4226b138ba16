// net/ipv4/raw.c: raw sockets. They see whole IP datagrams (header included)
// of their protocol, and send with or without their own IP header (IP_HDRINCL).
#include "ipv4/raw.h"

#include <algorithm>
#include <cstring>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/datagram.h"
#include "ipv4/ip_append.h"
#include "ipv4/ip_sockglue.h"
#include "ipv4/ipv4.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

std::vector<Sock*>& raw_sockets(Net& net) { return net.sock.raw_socks; }

// raw_v4_match
bool raw_v4_match(const Sock* sk, int num, wire::Ipv4Addr raddr, wire::Ipv4Addr laddr, int dif) {
  return sk->inet_num == num && (!sk->inet_daddr || sk->inet_daddr == raddr) &&
         (!sk->inet_rcv_saddr || sk->inet_rcv_saddr == laddr) && (!sk->sk_bound_dev_if || sk->sk_bound_dev_if == dif);
}

// raw_rcv → raw_rcv_skb → sock_queue_rcv_skb_reason.
void raw_rcv(Sock* sk, SkBuff* skb) {
  Net& net = *sk->net;
  skb_push(skb, unsigned(skb->data - skb_network_header(skb)));  // the IP header is part of the data
  if (sk->sk_rmem_alloc >= sk->sk_rcvbuf) {
    sk->sk_drops++;
    sk_skb_reason_drop(sk, skb, SkbDropReason::SOCKET_RCVBUFF, "raw_rcv_skb");
    return;
  }
  (void)net;
  sk->sk_rmem_alloc += int(skb->truesize);
  skb->dst = nullptr;
  sk->sk_receive_queue.push_back(skb);
  sock_def_readable(sk);  // sk_data_ready
}

int raw_init(Sock* sk) {
  raw_sockets(*sk->net).insert(raw_sockets(*sk->net).begin(), sk);  // sk_add_node: newest first
  return 0;
}

void raw_close(Sock* sk) {
  auto& v = raw_sockets(*sk->net);
  v.erase(std::remove(v.begin(), v.end(), sk), v.end());
  sk->sock_dead = true;
  while (SkBuff* skb = sk->sk_receive_queue.pop_front()) kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "inet_sock_destruct");
  while (SkBuff* skb = sk->sk_error_queue.pop_front()) kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "inet_sock_destruct");
  sk->sk_rmem_alloc = 0;
}

int raw_sendmsg(Sock* sk, const SendMsg& msg) {
  Net& net = *sk->net;
  const size_t len = msg.data.size();
  if (len > 0xFFFF) return -E_MSGSIZE;
  if (msg.flags & MSG_OOB_) return -E_OPNOTSUPP;
  wire::Ipv4Addr daddr;
  if (msg.name) {
    if (msg.namelen < SOCKADDR_IN_LEN) return -E_INVAL;
    if (msg.name->family != AF_INET_ && msg.name->family != AF_UNSPEC_) return -E_AFNOSUPPORT;
    daddr = msg.name->addr;
  } else {
    if (sk->sk_state != TCP_ESTABLISHED) return -E_DESTADDRREQ;
    daddr = sk->inet_daddr;
  }
  Flowi4 fl4;
  fl4.oif = sk->sk_bound_dev_if;
  fl4.tos = sk->tos & 0xfc;
  fl4.proto = sk->hdrincl ? IPPROTO_RAW_ : uint8_t(sk->inet_num);
  fl4.saddr = sk->inet_saddr;
  fl4.daddr = daddr;
  DstEntry* rt = ip_route_output_key(net, fl4);
  if (!rt) {
    net.mib.ip.OutNoRoutes++;
    return -E_NETUNREACH;
  }
  if ((rt->rt_flags & RTCF_BROADCAST) && !sk->sock_broadcast) return -E_ACCES;
  if (int err = sock_error(sk); err) return err;
  if (sk->hdrincl) {
    // raw_send_hdrinc: the caller's header goes out as given, with length,
    // checksum and (when 0) ID and source filled in.
    if (len > rt->dev->mtu) return -E_MSGSIZE;
    if (len < wire::IPV4_MIN_HLEN) return -E_INVAL;
    int aerr = 0;
    SkBuff* skb = sock_alloc_send_skb(sk, unsigned(len) + 16, msg.flags & MSG_DONTWAIT_, &aerr);
    if (!skb) {
      net.mib.ip.OutDiscards++;
      return aerr;
    }
    skb_reserve(skb, 16);
    skb_reset_network_header(skb);
    std::memcpy(skb_put(skb, unsigned(len)), msg.data.data(), len);
    wire::Iphdr iph{skb->data};
    const unsigned ihl = iph.ihl() * 4u;
    if (ihl < wire::IPV4_MIN_HLEN || ihl > len) {
      __kfree_skb(skb);
      return -E_INVAL;
    }
    if (!iph.saddr()) iph.set_saddr(fl4.saddr);
    if (!iph.id()) iph.set_id(ip_select_ident(net));
    skb_set_transport_header(skb, int(ihl));
    skb->dst_pending_confirm = (msg.flags & MSG_CONFIRM_) != 0;
    skb->dst = rt;
    skb->dev = rt->dev;
    skb->priority = sk->sk_priority;
    int err = ip_send_skb(net, skb);
    return err ? err : int(len);
  }
  InetCork cork;
  cork.dst = rt;
  cork.fl4 = fl4;
  cork.ttl = sk->uc_ttl;
  cork.tos = sk->tos;
  cork.fragsize = ip_cork_fragsize(sk, rt);
  SkbQueue queue;
  int err = ip_append_data(sk, cork, queue, msg.data, 0, msg.flags);
  if (err) {
    ip_flush_pending_frames(queue);
    return err;
  }
  SkBuff* skb = __ip_make_skb(sk, cork, queue);
  if (!skb) return -E_NOBUFS;
  err = ip_send_skb(net, skb);
  return err ? err : int(len);
}

int raw_recvmsg(Sock* sk, RecvMsg& msg, int flags) {
  if (flags & MSG_OOB_) return -E_OPNOTSUPP;
  if (flags & MSG_ERRQUEUE_) return ip_recv_error(sk, msg);
  if (int err = sock_error(sk); err) return err;
  SkBuff* skb = sk->sk_receive_queue.head;
  if (!skb) return (sk->sk_shutdown & RCV_SHUTDOWN) ? 0 : -E_AGAIN;
  unsigned copied = skb->len;
  if (copied > msg.len) {
    msg.flags |= MSG_TRUNC_;
    copied = unsigned(msg.len);
  }
  msg.data.assign(skb->data, skb->data + copied);
  SockaddrIn from;
  from.addr = wire::Iphdr{skb_network_header(skb)}.saddr();
  msg.name = from;
  const int ret = (flags & MSG_TRUNC_) ? int(skb->len) : int(copied);
  if (!(flags & MSG_PEEK_)) {
    sk->sk_receive_queue.pop_front();
    sk->sk_rmem_alloc -= int(skb->truesize);
    consume_skb(skb, "skb_free_datagram");  // raw: skb_free_datagram → consume_skb
  }
  return ret;
}

int raw_setsockopt(Sock* sk, int level, int optname, std::span<const uint8_t> optval) {
  if (level != SOL_IP_) return -E_NOPROTOOPT;  // ICMP_FILTER is not built
  return ip_setsockopt(sk, optname, sockopt_int(optval), int(optval.size()));
}

int raw_getsockopt(Sock* sk, int level, int optname, uint8_t* optval, int* optlen) {
  if (level != SOL_IP_) return -E_NOPROTOOPT;
  return sockopt_get_int(optval, optlen, [&](int* val) { return ip_getsockopt(sk, optname, val); });
}

int raw_get_port(Sock*, uint16_t) { return 0; }
void raw_unhash(Sock*) {}
void raw_rehash(Sock*) {}

}  // namespace

Proto raw_prot = {
    "RAW", raw_init, raw_close, ip4_datagram_connect, __udp_disconnect, raw_setsockopt, raw_getsockopt,
    raw_sendmsg, raw_recvmsg, raw_get_port, raw_unhash, raw_rehash,
};

int raw_bind(Sock* sk, const SockaddrIn* addr, int addr_len) {
  if (sk->sk_state != TCP_CLOSE || addr_len < SOCKADDR_IN_LEN) return -E_INVAL;
  Net& net = *sk->net;
  const wire::Ipv4Addr a = addr->addr;
  const bool local = inet_lookup_ifaddr(net, a);
  const bool special = wire::ipv4_is_multicast(a) || wire::ipv4_is_lbcast(a);
  if (a && !local && !special) return -E_ADDRNOTAVAIL;
  sk->inet_rcv_saddr = sk->inet_saddr = a;
  if (special) sk->inet_saddr = 0;
  if (a) sk->sk_userlocks |= SOCK_BINDADDR_LOCK;
  sk->sk_dst_cache = nullptr;
  return 0;
}

bool raw_local_deliver(SkBuff* skb, int protocol) {
  Net& net = dev_net(skb->dev);
  auto& socks = raw_sockets(net);
  if (socks.empty()) return false;
  wire::Iphdr iph{skb_network_header(skb)};
  bool delivered = false;
  const int dif = skb->dev ? skb->dev->ifindex : 0;
  // Copy the list: a receive never changes it, but it is cheap and safe.
  const std::vector<Sock*> snapshot = socks;
  for (Sock* sk : snapshot) {
    if (!raw_v4_match(sk, protocol, iph.saddr(), iph.daddr(), dif)) continue;
    delivered = true;
    SkBuff* clone = skb_clone(skb);
    raw_rcv(sk, clone);
  }
  return delivered;
}

}  // namespace nettwin
