// net/packet/af_packet.c: packet_create, packet_do_bind and the prot hook,
// packet_rcv (a clone per socket, charged to its receive buffer),
// packet_recvmsg (the frame and a sockaddr_ll) and packet_snd (straight to
// dev_queue_xmit). The TPACKET rings and fanout are not part of this stack.
#include "packet/af_packet.h"

#include <algorithm>
#include <cstring>

#include "core/dev.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ethernet/eth.h"
#include "socket/af_inet.h"
#include "wire/bytes.h"

namespace nettwin {

namespace {

constexpr unsigned VLAN_HLEN = 4;
constexpr uint16_t ETH_P_8021Q = 0x8100;

uint16_t be16_arg(int protocol) { return uint16_t(((protocol & 0xff) << 8) | ((protocol >> 8) & 0xff)); }

// struct packet_skb_cb: the sender's sockaddr_ll rides in skb->cb until recvmsg.
struct PacketSkbCb {
  SockaddrLl ll;
  unsigned origlen = 0;
};
static_assert(sizeof(PacketSkbCb) <= sizeof(SkBuff::cb));
PacketSkbCb* PACKET_SKB_CB(SkBuff* skb) { return reinterpret_cast<PacketSkbCb*>(skb->cb); }

Proto packet_proto = {"PACKET", nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                      nullptr,  nullptr, nullptr, nullptr, nullptr};

// dev_add_pack / dev_remove_pack: Linux adds at the head of the list
// (list_add_rcu), so a socket opened later sees a frame before IP or ARP do.
void register_prot_hook(Sock* sk) {
  if (sk->pkt_running) return;
  auto& list = sk->prot_hook.type == ETH_P_ALL_ ? sk->net->ptype_all : sk->net->ptype_base;
  list.insert(list.begin(), &sk->prot_hook);
  sk->pkt_running = true;
}

void unregister_prot_hook(Sock* sk) {
  if (!sk->pkt_running) return;
  for (auto* list : {&sk->net->ptype_all, &sk->net->ptype_base})
    list->erase(std::remove(list->begin(), list->end(), &sk->prot_hook), list->end());
  sk->pkt_running = false;
}

// eth_header_parse: the link-layer source address.
uint8_t dev_parse_header(const SkBuff* skb, uint8_t* haddr) {
  if (!skb_mac_header_was_set(skb)) return 0;
  std::memcpy(haddr, skb_mac_header(skb) + 6, 6);
  return 6;
}

int packet_rcv(SkBuff* skb, NetDevice* dev, PacketType* pt, NetDevice* orig_dev) {
  Sock* sk = static_cast<Sock*>(pt->priv);
  Net& net = *sk->net;
  checkpoint(net.tracer, "packet_rcv", skb);
  uint8_t* const skb_head = skb->data;
  const unsigned skb_len = skb->len;
  auto restore = [&] {
    if (skb_head != skb->data && skb_shared(skb)) {
      skb->data = skb_head;
      skb->len = skb_len;
    }
  };
  if (skb->pkt_type == PACKET_LOOPBACK) {
    sk_skb_reason_drop(sk, skb, SkbDropReason::CONSUMED, "packet_rcv");
    return 0;
  }
  skb->dev = dev;
  // dev_has_header: a SOCK_RAW socket gets the link-layer header; a SOCK_DGRAM
  // one does not (outgoing copies still start at it, so it is pulled).
  if (sk->sk_type != SOCK_DGRAM_) {
    skb_push(skb, unsigned(skb->data - skb_mac_header(skb)));
  } else if (skb->pkt_type == PACKET_OUTGOING) {
    skb_pull(skb, unsigned(skb_network_offset(skb)));
  }
  // No socket filter: snaplen is the whole frame and nothing is consumed before here.
  if (sk->sk_rmem_alloc >= sk->sk_rcvbuf) {
    sk->sk_drops++;  // drop_n_acct (po->tp_drops and sk_drops)
    restore();
    checkpoint(net.tracer, "packet_rcv", skb, "drop");
    sk_skb_reason_drop(sk, skb, SkbDropReason::PACKET_SOCK_ERROR, "packet_rcv");
    return 0;
  }
  if (skb_shared(skb)) {
    SkBuff* nskb = skb_clone(skb);
    restore();
    consume_skb(skb, "packet_rcv");
    skb = nskb;
  }
  PacketSkbCb* cb = PACKET_SKB_CB(skb);
  *cb = PacketSkbCb{};
  cb->ll.hatype = dev->type;
  cb->ll.pkttype = uint8_t(skb->pkt_type);
  cb->ll.ifindex = dev->ifindex;
  (void)orig_dev;  // PACKET_ORIGDEV is not settable here
  cb->ll.halen = dev_parse_header(skb, cb->ll.addr);
  cb->origlen = skb->len;
  // skb_set_owner_r
  sk->sk_rmem_alloc += int(skb->truesize);
  skb->dev = nullptr;
  skb->dst = nullptr;  // skb_dst_drop
  sk->sk_receive_queue.push_back(skb);
  sock_def_readable(sk);  // sk_data_ready
  return 0;
}

int packet_do_bind(Sock* sk, int ifindex, uint16_t proto) {
  NetDevice* dev = nullptr;
  if (ifindex) {
    dev = sk->net->dev_get_by_index(ifindex);
    if (!dev) return -E_NODEV;
  }
  const bool need_rehook = sk->prot_hook.type != proto || sk->prot_hook.dev != dev;
  if (need_rehook) {
    if (sk->pkt_running) {
      sk->pkt_num = 0;
      unregister_prot_hook(sk);
    }
    sk->pkt_num = proto;
    sk->prot_hook.type = proto;
    sk->prot_hook.dev = dev;
    sk->pkt_ifindex = dev ? dev->ifindex : 0;
  }
  if (proto == 0 || !need_rehook) return 0;
  if (!dev || dev->is_up()) {
    register_prot_hook(sk);
  } else {
    sk->sk_err = E_NETDOWN;
    sk_error_report(sk);
  }
  return 0;
}

int packet_release(Socket* sock) {
  Sock* sk = sock->sk;
  if (!sk) return 0;
  auto& all = sk->net->sock.packet_socks;  // sk_del_node_init_rcu
  all.erase(std::remove(all.begin(), all.end(), sk), all.end());
  unregister_prot_hook(sk);
  sk->prot_hook.dev = nullptr;
  sk->sock_dead = true;  // sock_orphan
  sock->sk = nullptr;
  while (SkBuff* skb = sk->sk_receive_queue.pop_front()) {
    sk->sk_rmem_alloc -= int(skb->truesize);
    kfree_skb(skb, SkbDropReason::QUEUE_PURGE, "skb_queue_purge_reason");
  }
  return 0;
}

// packet_bind given something that is not a sockaddr_ll.
int packet_bind_in(Socket*, const SockaddrIn*, int addr_len) {
  if (addr_len < SOCKADDR_LL_LEN) return -E_INVAL;
  return -E_INVAL;  // sll_family != AF_PACKET
}

int packet_no_connect(Socket*, const SockaddrIn*, int, int) { return -E_OPNOTSUPP; }
int packet_no_accept(Socket*) { return -E_OPNOTSUPP; }
int packet_no_listen(Socket*, int) { return -E_OPNOTSUPP; }
int packet_no_shutdown(Socket*, int) { return -E_OPNOTSUPP; }
// getname with a sockaddr_in: a packet socket's name is a sockaddr_ll (see packet_getname_ll).
int packet_getname_in(Socket*, SockaddrIn*, int peer) { return peer ? -E_OPNOTSUPP : -E_INVAL; }

// packet_setsockopt: SOL_SOCKET goes to sock_setsockopt (sys_setsockopt does
// that in Linux); no SOL_PACKET option (rings, fanout, membership) is built.
int packet_setsockopt(Socket* sock, int level, int optname, std::span<const uint8_t> optval) {
  if (level == SOL_SOCKET_) return sock_setsockopt(sock, optname, optval);
  return -E_NOPROTOOPT;
}

int packet_getsockopt(Socket* sock, int level, int optname, uint8_t* optval, int* optlen) {
  if (level == SOL_SOCKET_) return sock_getsockopt(sock, optname, optval, optlen);  // SO_PROTOCOL: 0, as Linux has it
  return -E_NOPROTOOPT;
}

// packet_extra_vlan_len_allowed: a tagged Ethernet frame may be VLAN_HLEN longer.
bool packet_extra_vlan_len_allowed(const NetDevice* dev, const SkBuff* skb) {
  if (dev->type != 1 || skb->len < 14) return false;  // ARPHRD_ETHER
  return wire::load_be16(skb->data + 12) == ETH_P_8021Q;
}

int packet_snd(Socket* sock, const SendMsg& msg) {
  Sock* sk = sock->sk;
  Net& net = *sk->net;
  const SockaddrLl* saddr = msg.ll_name;
  const size_t len = msg.data.size();
  NetDevice* dev = nullptr;
  uint16_t proto = 0;
  const uint8_t* addr = nullptr;
  if (!saddr && !msg.name) {
    dev = sk->pkt_ifindex > 0 ? net.dev_get_by_index(sk->pkt_ifindex) : nullptr;  // packet_cached_dev_get
    proto = sk->pkt_num;
  } else {
    // A sockaddr_in is too short to be a sockaddr_ll.
    if (!saddr || msg.namelen < SOCKADDR_LL_LEN) return -E_INVAL;
    if (msg.namelen < saddr->halen + SOCKADDR_LL_ADDR_OFF) return -E_INVAL;
    proto = saddr->protocol;
    dev = net.dev_get_by_index(saddr->ifindex);
    if (sock->type == SOCK_DGRAM_) {
      if (dev && msg.namelen < int(dev->addr_len) + SOCKADDR_LL_ADDR_OFF) return -E_INVAL;
      addr = saddr->addr;
    }
  }
  if (!dev) return -E_NXIO;
  if (!dev->is_up()) return -E_NETDOWN;
  const unsigned reserve = sock->type == SOCK_RAW_ ? dev->hard_header_len : 0;
  if (len > dev->mtu + reserve + VLAN_HLEN) return -E_MSGSIZE;

  // packet_alloc_skb: LL_RESERVED_SPACE(dev) of headroom, the data linear.
  const unsigned hlen = ((dev->hard_header_len) & ~15u) + 16;
  int err = 0;
  SkBuff* skb = sock_alloc_send_skb(sk, hlen + unsigned(len), msg.flags & MSG_DONTWAIT_, &err);
  if (!skb) return err;
  skb_reserve(skb, int(hlen));
  skb_reset_network_header(skb);
  uint8_t* to = skb_put(skb, unsigned(len));
  if (sock->type == SOCK_DGRAM_) {
    if (!addr) {  // eth_header without a destination returns -ETH_HLEN
      kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "packet_snd");
      return -E_INVAL;
    }
    wire::MacAddr daddr{};
    std::memcpy(daddr.data(), addr, 6);
    eth_header(skb, dev, proto, daddr, nullptr);
  } else {
    skb->data -= reserve;  // skb_reserve(skb, -reserve): the frame starts at the link-layer header
    skb->tail -= reserve;
    to = skb->data;
  }
  std::memcpy(to, msg.data.data(), len);
  if (sock->type == SOCK_RAW_ && len < dev->hard_header_len) {  // dev_validate_header (with CAP_SYS_RAWIO)
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "packet_snd");
    return -E_INVAL;
  }
  if (len > dev->mtu + reserve && !packet_extra_vlan_len_allowed(dev, skb)) {
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "packet_snd");
    return -E_MSGSIZE;
  }
  skb->protocol = proto;
  skb->dev = dev;
  skb->priority = sk->sk_priority;
  // packet_parse_headers: a SOCK_RAW frame sent with no protocol takes its ethertype.
  if ((!skb->protocol || skb->protocol == ETH_P_ALL_) && sock->type == SOCK_RAW_) {
    skb_reset_mac_header(skb);
    skb->protocol = wire::load_be16(skb->data + 12);
  }
  checkpoint(net.tracer, "packet_snd", skb);
  err = dev_queue_xmit(skb);  // po->xmit
  if (err > 0) {
    if (err == NET_XMIT_DROP) return -E_NOBUFS;  // net_xmit_errno; NET_XMIT_CN is not an error
  } else if (err < 0) {
    return err;
  }
  return int(len);
}

int packet_sendmsg(Socket* sock, const SendMsg& msg) { return packet_snd(sock, msg); }

int packet_recvmsg(Socket* sock, RecvMsg& msg, int flags) {
  Sock* sk = sock->sk;
  constexpr int MSG_CMSG_COMPAT = 0x80000000;
  if (flags & ~(MSG_PEEK_ | MSG_DONTWAIT_ | MSG_TRUNC_ | MSG_CMSG_COMPAT | MSG_ERRQUEUE_)) return -E_INVAL;
  if (flags & MSG_ERRQUEUE_) return -E_AGAIN;  // sock_recv_errqueue: nothing (no TX timestamps here)
  // skb_recv_datagram
  if (int err = sock_error(sk); err) return err;
  SkBuff* skb = sk->sk_receive_queue.head;
  if (!skb) return (sk->sk_shutdown & RCV_SHUTDOWN) ? 0 : -E_AGAIN;
  unsigned copied = skb->len;
  if (copied > msg.len) {
    copied = unsigned(msg.len);
    msg.flags |= MSG_TRUNC_;
  }
  msg.data.assign(skb->data, skb->data + copied);
  SockaddrLl sll = PACKET_SKB_CB(skb)->ll;
  sll.family = AF_PACKET_;
  sll.protocol = skb->protocol;
  msg.ll_name = sll;
  const int ret = (flags & MSG_TRUNC_) ? int(skb->len) : int(copied);
  if (!(flags & MSG_PEEK_)) {
    sk->sk_receive_queue.pop_front();
    sk->sk_rmem_alloc -= int(skb->truesize);  // sock_rfree
    consume_skb(skb, "packet_recvmsg");  // skb_free_datagram tail-calls consume_skb (recorded)
  }
  return ret;
}

}  // namespace

const ProtoOps packet_ops = {
    AF_PACKET_,       packet_release,     packet_bind_in,    packet_no_connect, packet_no_accept,
    packet_getname_in, datagram_poll,     packet_no_listen,  packet_no_shutdown, packet_setsockopt,
    packet_getsockopt, packet_sendmsg,    packet_recvmsg,
};

int packet_create(Net& net, Socket* sock, int protocol, std::unique_ptr<Sock>& out) {
  // CAP_NET_RAW: the stack's programs run as root.
  if (sock->type != SOCK_DGRAM_ && sock->type != SOCK_RAW_) return -E_SOCKTNOSUPPORT;  // SOCK_PACKET is not built
  auto sk = std::make_unique<Sock>();
  sk->net = &net;
  sk->sk_prot = &packet_proto;
  sk->sk_family = AF_PACKET_;
  sk->sk_protocol = 0;
  sock->ops = &packet_ops;
  sock->state = SS_UNCONNECTED;
  sock_init_data(sock, sk.get());
  const uint16_t proto = be16_arg(protocol);
  sk->pkt_num = proto;
  sk->prot_hook.func = packet_rcv;
  sk->prot_hook.priv = sk.get();
  if (proto) {
    sk->prot_hook.type = proto;
    register_prot_hook(sk.get());
  }
  net.sock.packet_socks.push_back(sk.get());  // sk_add_node_tail_rcu
  out = std::move(sk);
  return 0;
}

void packet_notifier(Net& net, NetDevice* dev, bool up) {
  for (Sock* sk : net.sock.packet_socks) {
    if (sk->pkt_ifindex != dev->ifindex) continue;
    if (up) {
      if (sk->pkt_num) register_prot_hook(sk);
    } else if (sk->pkt_running) {
      unregister_prot_hook(sk);
      sk->sk_err = E_NETDOWN;
      if (!sk->sock_dead) sk_error_report(sk);
    }
  }
}

int packet_bind_ll(Socket* sock, const SockaddrLl* sll, int addr_len) {
  if (addr_len < SOCKADDR_LL_LEN) return -E_INVAL;
  if (sll->family != AF_PACKET_) return -E_INVAL;
  return packet_do_bind(sock->sk, sll->ifindex, sll->protocol ? sll->protocol : sock->sk->pkt_num);
}

int packet_getname_ll(Socket* sock, SockaddrLl* sll, int peer) {
  if (peer) return -E_OPNOTSUPP;
  Sock* sk = sock->sk;
  *sll = SockaddrLl{};
  sll->family = AF_PACKET_;
  sll->ifindex = sk->pkt_ifindex;
  sll->protocol = sk->pkt_num;
  sll->pkttype = 0;
  if (NetDevice* dev = sk->net->dev_get_by_index(sk->pkt_ifindex); dev && sk->pkt_ifindex) {
    sll->hatype = dev->type;
    sll->halen = uint8_t(dev->addr_len);
    std::memcpy(sll->addr, dev->dev_addr.data(), std::min<size_t>(dev->addr_len, sizeof(sll->addr)));
  }
  return SOCKADDR_LL_ADDR_OFF + sll->halen;
}

}  // namespace nettwin
