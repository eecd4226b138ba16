// net/ipv4/udp.c: UDP. Receive: udp_rcv → __udp4_lib_rcv (header, checksum
// init, socket lookup) → udp_unicast_rcv_skb → udp_queue_rcv_one_skb →
// __udp_queue_rcv_skb → __udp_enqueue_schedule_skb (receive-buffer
// accounting); no socket: ICMP port unreachable and NO_SOCKET. Send:
// udp_sendmsg → route → ip_make_skb / ip_append_data (corking) →
// udp_send_skb → ip_send_skb. Errors: udp_err → __udp4_lib_err.
#include "ipv4/udp.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/datagram.h"
#include "ipv4/ip_append.h"
#include "ipv4/ip_sockglue.h"
#include "ipv4/ipv4.h"
#include "socket/sock_reuseport.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

// struct udp_skb_cb, past the IPCB in skb->cb: is the checksum known good?
inline uint8_t& udp_csum_valid(SkBuff* skb) { return skb->cb[40]; }
inline uint8_t& udp_csum_unknown(SkBuff* skb) { return skb->cb[41]; }

wire::Ipv4Addr ip_saddr(const SkBuff* skb) { return wire::Iphdr{skb_network_header(skb)}.saddr(); }
wire::Ipv4Addr ip_daddr(const SkBuff* skb) { return wire::Iphdr{skb_network_header(skb)}.daddr(); }
uint16_t udp_source(const SkBuff* skb) { return wire::load_be16(skb_transport_header(skb)); }
uint16_t udp_dest(const SkBuff* skb) { return wire::load_be16(skb_transport_header(skb) + 2); }
uint16_t udp_len(const SkBuff* skb) { return wire::load_be16(skb_transport_header(skb) + 4); }
uint16_t udp_check(const SkBuff* skb) { return wire::load_be16(skb_transport_header(skb) + 6); }


// udp_lib_checksum_complete: true when the checksum is wrong. The datagram
// runs from the transport header for udp_len bytes.
bool udp_lib_checksum_complete(SkBuff* skb) {
  if (udp_csum_valid(skb) || !udp_csum_unknown(skb)) return false;
  const unsigned ulen = udp_len(skb);
  const uint64_t sum = wire::csum_tcpudp_nofold(ip_saddr(skb), ip_daddr(skb), ulen, wire::IPPROTO_UDP);
  const bool bad = wire::csum_fold(wire::csum_partial(skb_transport_header(skb), ulen, sum)) != 0;
  if (!bad) udp_csum_valid(skb) = 1;
  return bad;
}

// --------------------------------------------------------------- the hash

SockNet& sn(Net& net) { return net.sock; }

// inet_rcv_saddr_equal with match_wildcard: a wildcard matches everything.
bool inet_rcv_saddr_equal(const Sock* a, const Sock* b) {
  return !a->inet_rcv_saddr || !b->inet_rcv_saddr || a->inet_rcv_saddr == b->inet_rcv_saddr;
}

// udp_lib_lport_inuse: another socket on the port that this one may not share it with.
bool udp_lib_lport_inuse(Net& net, uint16_t num, const Sock* sk) {
  for (const Sock* sk2 : sn(net).udp_hslot(num)) {
    if (sk2 == sk || sk2->inet_num != num) continue;
    if (sk2->sk_reuse && sk->sk_reuse) continue;
    if (sk2->sk_bound_dev_if && sk->sk_bound_dev_if && sk2->sk_bound_dev_if != sk->sk_bound_dev_if) continue;
    if (!inet_rcv_saddr_equal(sk, sk2)) continue;
    if (sk2->sk_reuseport && sk->sk_reuseport) continue;  // same uid: one process drives the DUT
    return true;
  }
  return false;
}

// udp_reuseport_add_sock: join the group of a socket bound the same way, or start one.
void udp_reuseport_add_sock(Net& net, Sock* sk, const std::vector<Sock*>& slot) {
  for (Sock* sk2 : slot) {
    if (sk2 != sk && sk2->inet_num == sk->inet_num && sk2->sk_reuseport && sk2->reuseport_id && sk2->inet_rcv_saddr == sk->inet_rcv_saddr &&
        sk2->sk_bound_dev_if == sk->sk_bound_dev_if) {
      reuseport_add_sock(net, sk, sk2);
      return;
    }
  }
  reuseport_alloc(net, sk);
}

int udp_v4_get_port(Sock* sk, uint16_t snum) {
  Net& net = *sk->net;
  SockNet& s = sn(net);
  if (!snum) {
    // A random start in ip_local_port_range (seeded), then the next free port.
    const int low = s.port_range_low, high = s.port_range_high;
    const uint32_t remaining = uint32_t(high - low + 1);
    const uint32_t first = uint32_t(low) + uint32_t((uint64_t(uint32_t(net.rng.next())) * remaining) >> 32);
    bool found = false;
    for (uint32_t i = 0; i < remaining; ++i) {
      const uint16_t port = uint16_t(low + (first - low + i) % remaining);
      if (!udp_lib_lport_inuse(net, port, sk)) {
        snum = port;
        found = true;
        break;
      }
    }
    if (!found) return 1;
  } else if (udp_lib_lport_inuse(net, snum, sk)) {
    return 1;
  }
  sk->inet_num = snum;
  auto& slot = s.udp_hslot(snum);
  if (sk->sk_reuseport) udp_reuseport_add_sock(net, sk, slot);
  slot.insert(slot.begin(), sk);  // hlist_add_head_rcu: newest first
  return 0;
}

void udp_lib_unhash(Sock* sk) {
  Net& net = *sk->net;
  if (!sk->inet_num) return;
  auto& v = sn(net).udp_hslot(sk->inet_num);
  v.erase(std::remove(v.begin(), v.end(), sk), v.end());
  reuseport_detach_sock(net, sk);
  sk->inet_num = 0;
  sk->inet_sport = 0;
}

// udp_lib_rehash: the bound address changed (connect on a wildcard socket);
// the group is left, as Linux's reuseport_detach_sock does there.
void udp_v4_rehash(Sock* sk) {
  if (sk->reuseport_id) reuseport_detach_sock(*sk->net, sk);
}

int compute_score(const Sock* sk, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr, uint16_t hnum,
                  int dif) {
  if (sk->inet_num != hnum) return -1;
  if (sk->inet_rcv_saddr != daddr) return -1;
  int score = 2;  // PF_INET
  if (sk->inet_daddr) {
    if (sk->inet_daddr != saddr) return -1;
    score += 4;
  }
  if (sk->inet_dport) {
    if (sk->inet_dport != sport) return -1;
    score += 4;
  }
  if (sk->sk_bound_dev_if) {
    if (sk->sk_bound_dev_if != dif) return -1;
    score += 4;
  }
  return score;
}

// udp_ehashfn: __inet_ehashfn with UDP's own secret.
uint32_t udp_ehashfn(Net& net, wire::Ipv4Addr laddr, uint16_t lport, wire::Ipv4Addr faddr, uint16_t fport) {
  SockNet& s = sn(net);
  if (!s.udp_ehash_secret_set) {  // net_get_random_once
    s.udp_ehash_secret = uint32_t(net.rng.next());
    s.udp_ehash_secret_set = true;
  }
  return __inet_ehashfn(laddr, lport, faddr, fport, s.udp_ehash_secret);
}

// udp4_lib_lookup2: the best-scoring socket on hnum whose bound address is
// daddr. __udp4_lib_lookup calls it with the datagram's destination, then with
// INADDR_ANY for the wildcard sockets: daddr is what compute_score matches
// inet_rcv_saddr against and what the reuseport hash is taken over.
// Inlined into udp4_lib_lookup: the per-datagram path calls it twice.
[[gnu::always_inline]] inline Sock* udp4_lib_lookup2(Net& net, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr, uint16_t hnum,
                       int dif, const std::vector<Sock*>& slot) {
  Sock* result = nullptr;
  int badness = 0;
  for (Sock* sk : slot) {
    const int score = compute_score(sk, saddr, sport, daddr, hnum, dif);
    if (score <= badness) continue;
    result = sk;
    badness = score;
    if (sk->sk_state == TCP_ESTABLISHED || !sk->reuseport_id) continue;
    Sock* sel = reuseport_select_sock(net, sk, udp_ehashfn(net, daddr, hnum, saddr, sport));
    if (!sel) continue;
    if (!reuseport_has_conns(net, sk)) return sel;
    result = sel;
    badness = compute_score(sel, saddr, sport, daddr, hnum, dif);
  }
  return result;
}

// --------------------------------------------------------------- receive

int __udp_enqueue_schedule_skb(Sock* sk, SkBuff* skb) {
  const int rmem = sk->sk_rmem_alloc;
  const int rcvbuf = sk->sk_rcvbuf;
  const int size = int(skb->truesize);
  // Drop when full, but always accept one datagram into an empty queue.
  if (int64_t(rmem) + size > rcvbuf) {
    if (rcvbuf > (INT_MAX >> 1) || rmem) {
      sk->sk_drops++;
      return -E_NOMEM;
    }
  }
  sk->sk_rmem_alloc += size;
  skb->dst = nullptr;  // skb_dst_drop (ipv4_pktinfo_prepare)
  sk->sk_receive_queue.push_back(skb);
  sock_def_readable(sk);  // sk_data_ready
  return 0;
}

int __udp_queue_rcv_skb(Sock* sk, SkBuff* skb) {
  Net& net = *sk->net;
  const wire::Ipv4Addr saddr = ip_saddr(skb), daddr = ip_daddr(skb);
  const uint16_t sport = udp_source(skb), dport = udp_dest(skb);
  const int rc = __udp_enqueue_schedule_skb(sk, skb);
  if (rc < 0) {
    SkbDropReason reason;
    if (rc == -E_NOMEM) {
      net.sock.udp_mib.RcvbufErrors++;
      reason = SkbDropReason::SOCKET_RCVBUFF;
    } else {
      net.sock.udp_mib.MemErrors++;
      reason = SkbDropReason::PROTO_MEM;
    }
    net.sock.udp_mib.InErrors++;
    trace_udp_fail_queue_rcv_skb(net.tracer, rc, saddr, sport, daddr, dport);
    checkpoint(net.tracer, "__udp_queue_rcv_skb", skb, "drop");
    // __udp_queue_rcv_skb is inlined into udp_queue_rcv_one_skb: that is the location.
    sk_skb_reason_drop(sk, skb, reason, "udp_queue_rcv_one_skb");
    return -1;
  }
  return 0;
}

int udp_queue_rcv_one_skb(Sock* sk, SkBuff* skb) {
  checkpoint(sk->net->tracer, "udp_queue_rcv_one_skb", skb);
  skb_pull(skb, UDP_HLEN);  // udp_csum_pull_header
  return __udp_queue_rcv_skb(sk, skb);
}

int udp_unicast_rcv_skb(Sock* sk, SkBuff* skb) {
  // udp_sk_rx_dst_set: a socket early demux found (connected, exact match)
  // remembers the input route, so that its next datagrams skip the lookup.
  if (sk->sk_state == TCP_ESTABLISHED && sk->inet_daddr == ip_saddr(skb) && sk->inet_dport == udp_source(skb) &&
      sk->inet_rcv_saddr == ip_daddr(skb))
    sk->sk_rx_dst = skb->dst;
  udp_queue_rcv_one_skb(sk, skb);
  return 0;
}

// __udp4_lib_mcast_deliver for broadcasts: every matching socket gets a clone
// (the last one the skb itself); none: the skb is consumed.
int udp4_lib_mcast_deliver(Net& net, SkBuff* skb, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr,
                           uint16_t dport) {
  const int dif = skb->dev ? skb->dev->ifindex : 0;
  std::vector<Sock*> matches;
  for (Sock* sk : net.sock.udp_hslot(dport)) {
    // __udp_is_mcast_sock
    if (sk->inet_num != dport) continue;
    if (sk->inet_daddr && sk->inet_daddr != saddr) continue;
    if (sk->inet_dport && sk->inet_dport != sport) continue;
    if (sk->inet_rcv_saddr && sk->inet_rcv_saddr != daddr) continue;
    if (sk->sk_bound_dev_if && sk->sk_bound_dev_if != dif) continue;
    matches.push_back(sk);
  }
  if (matches.empty()) {
    net.sock.udp_mib.IgnoredMulti++;
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "__udp4_lib_rcv");  // mcast_deliver is inlined there
    return 0;
  }
  for (size_t i = 0; i + 1 < matches.size(); ++i) {
    SkBuff* nskb = skb_clone(skb);
    udp_queue_rcv_one_skb(matches[i], nskb);
  }
  udp_queue_rcv_one_skb(matches.back(), skb);
  return 0;
}

}  // namespace

Sock* udp4_lib_lookup(Net& net, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr, uint16_t dport, int dif,
                      const SkBuff*) {
  const std::vector<Sock*>& hslot = net.sock.udp_hslot(dport);
  if (hslot.empty()) return nullptr;
  // Connected or bound to daddr first; then the sockets bound to 0.0.0.0.
  constexpr wire::Ipv4Addr inaddr_any = 0;  // htonl(INADDR_ANY)
  Sock* result = udp4_lib_lookup2(net, saddr, sport, daddr, dport, dif, hslot);
  if (result) return result;
  return udp4_lib_lookup2(net, saddr, sport, inaddr_any, dport, dif, hslot);
}

int udp_rcv(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  checkpoint(net.tracer, "__udp4_lib_rcv", skb);
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  unsigned ulen;
  if (!pskb_may_pull(skb, UDP_HLEN)) goto drop;
  ulen = udp_len(skb);
  if (ulen > skb->len || ulen < UDP_HLEN) goto short_packet;
  skb_trim(skb, ulen);  // pskb_trim_rcsum
  // udp4_csum_init: a zero checksum means none; otherwise it is checked late.
  udp_csum_valid(skb) = udp_check(skb) == 0 || skb->ip_summed == CHECKSUM_UNNECESSARY;
  udp_csum_unknown(skb) = !udp_csum_valid(skb);
  // __skb_checksum_validate_complete: a short datagram (<= CHECKSUM_BREAK, 76
  // bytes) is checked at once; a longer one when it is read.
  if (ulen <= 76 && udp_lib_checksum_complete(skb)) goto csum_error;
  {
    const wire::Ipv4Addr saddr = ip_saddr(skb), daddr = ip_daddr(skb);
    const uint16_t sport = udp_source(skb), dport = udp_dest(skb);
    if (skb->dst && (skb->dst->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)))
      return udp4_lib_mcast_deliver(net, skb, saddr, sport, daddr, dport);
    Sock* sk = udp4_lib_lookup(net, saddr, sport, daddr, dport, skb->dev ? skb->dev->ifindex : 0, skb);
    if (sk) return udp_unicast_rcv_skb(sk, skb);
    // No socket: a bad checksum is dropped silently, else port unreachable.
    if (udp_lib_checksum_complete(skb)) goto csum_error;
    net.sock.udp_mib.NoPorts++;
    icmp_send(skb, wire::ICMP_DEST_UNREACH, wire::ICMP_PORT_UNREACH, 0);
    checkpoint(net.tracer, "__udp4_lib_rcv", skb, "drop");
    kfree_skb(skb, SkbDropReason::NO_SOCKET, "__udp4_lib_rcv");
    return 0;
  }
short_packet:
  reason = SkbDropReason::PKT_TOO_SMALL;
  goto drop;
csum_error:
  reason = SkbDropReason::UDP_CSUM;
  net.sock.udp_mib.InCsumErrors++;
drop:
  net.sock.udp_mib.InErrors++;
  checkpoint(net.tracer, "__udp4_lib_rcv", skb, "drop");
  kfree_skb(skb, reason, "__udp4_lib_rcv");
  return 0;
}

bool udp_v4_early_demux(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  if (skb->pkt_type != PACKET_HOST) return false;
  const uint8_t* th = skb->data + (skb_transport_header(skb) - skb->data);
  if (skb_transport_header(skb) + UDP_HLEN > skb_tail_pointer(skb)) return false;
  const wire::Ipv4Addr saddr = ip_saddr(skb), daddr = ip_daddr(skb);
  const uint16_t sport = wire::load_be16(th), dport = wire::load_be16(th + 2);
  // __udp4_lib_demux_lookup: an exact match of a connected socket only.
  for (Sock* sk : net.sock.udp_hslot(dport)) {
    if (sk->inet_num == dport && sk->inet_rcv_saddr == daddr && sk->inet_daddr == saddr && sk->inet_dport == sport &&
        (!sk->sk_bound_dev_if || sk->sk_bound_dev_if == skb->dev->ifindex)) {
      if (!sk->sk_rx_dst) return false;
      skb_dst_set_noref(skb, sk->sk_rx_dst);
      return true;
    }
  }
  return false;
}

// --------------------------------------------------------------- errors

int udp_err(SkBuff* skb, uint32_t info) {
  Net& net = dev_net(skb->dev);
  const uint8_t* iph_p = skb->data;
  wire::Iphdr iph{const_cast<uint8_t*>(iph_p)};
  const uint8_t* uh = iph_p + iph.ihl() * 4u;
  if (uh + UDP_HLEN > skb_tail_pointer(skb)) return -E_INVAL;
  const uint8_t* icmph = skb_transport_header(skb);
  const int type = icmph[0], code = icmph[1];
  Sock* sk = udp4_lib_lookup(net, iph.daddr(), wire::load_be16(uh + 2), iph.saddr(), wire::load_be16(uh),
                             skb->dev->ifindex, skb);
  if (!sk) {
    net.mib.icmp.InErrors++;
    return -2;  // -ENOENT
  }
  int err = 0;
  bool harderr = false;
  switch (type) {
    default:
    case wire::ICMP_TIME_EXCEEDED:
      err = E_HOSTUNREACH;
      break;
    case 4:  // ICMP_SOURCE_QUENCH
      return 0;
    case 12:  // ICMP_PARAMETERPROB
      err = 71;  // EPROTO
      harderr = true;
      break;
    case wire::ICMP_DEST_UNREACH:
      if (code == 4) {  // ICMP_FRAG_NEEDED: path MTU discovery
        if (sk->pmtudisc != IP_PMTUDISC_DONT_) {
          err = E_MSGSIZE;
          harderr = true;
          break;
        }
        return 0;
      }
      err = E_HOSTUNREACH;
      if (code <= 15) {
        harderr = icmp_err_convert[code].fatal;
        err = icmp_err_convert[code].errno_;
      }
      break;
    case 5:  // ICMP_REDIRECT
      return 0;
  }
  if (!sk->recverr) {
    if (!harderr || sk->sk_state != TCP_ESTABLISHED) return 0;
  } else {
    ip_icmp_error(sk, skb, err, wire::load_be16(uh + 2), info, uh + UDP_HLEN);
  }
  sk->sk_err = err;
  sk_error_report(sk);
  return 0;
}

// --------------------------------------------------------------- send

namespace {

int udp_send_skb(Sock* sk, SkBuff* skb, const Flowi4& fl4) {
  Net& net = *sk->net;
  const unsigned len = skb->len - unsigned(skb_transport_offset(skb));
  uint8_t* uh = skb_transport_header(skb);
  wire::store_be16(uh, sk->inet_sport);
  wire::store_be16(uh + 2, fl4.dport);
  wire::store_be16(uh + 4, uint16_t(len));
  wire::store_be16(uh + 6, 0);
  if (!sk->sk_no_check_tx) {
    // udp_csum: the data is linear here, so one pass over header and payload.
    const uint16_t check = wire::csum_fold_mangled(wire::csum_partial(uh, len, wire::csum_tcpudp_nofold(fl4.saddr, fl4.daddr, len, wire::IPPROTO_UDP)));
    wire::store_be16(uh + 6, check);
  }
  skb->ip_summed = CHECKSUM_NONE;
  checkpoint(net.tracer, "udp_send_skb", skb);
  int err = ip_send_skb(net, skb);
  if (err) {
    if (err == -E_NOBUFS && !sk->recverr) {
      net.sock.udp_mib.SndbufErrors++;
      err = 0;
    }
  } else {
    net.sock.udp_mib.OutDatagrams++;
  }
  return err;
}

InetCork make_cork(Sock* sk, DstEntry* rt, const Flowi4& fl4) {
  InetCork cork;
  cork.dst = rt;
  cork.fl4 = fl4;
  cork.ttl = sk->uc_ttl;
  cork.tos = sk->tos;
  cork.fragsize = ip_cork_fragsize(sk, rt);
  return cork;
}

int udp_push_pending_frames(Sock* sk) {
  InetCork cork;
  cork.dst = sk->cork_dst;
  cork.fl4.saddr = sk->cork_saddr;
  cork.fl4.daddr = sk->cork_daddr;
  cork.fl4.dport = sk->cork_dport;
  cork.ttl = sk->cork_ttl;
  cork.tos = sk->cork_tos;
  cork.fragsize = sk->cork_dst ? ip_cork_fragsize(sk, sk->cork_dst) : 1500;
  int err = 0;
  SkBuff* skb = __ip_make_skb(sk, cork, sk->cork_queue);
  if (skb) err = udp_send_skb(sk, skb, cork.fl4);
  sk->pending_len = 0;
  sk->pending = 0;
  return err;
}

void udp_flush_pending_frames(Sock* sk) {
  if (sk->pending) {
    sk->pending_len = 0;
    sk->pending = 0;
    ip_flush_pending_frames(sk->cork_queue);
  }
}

// udp_sendmsg's exit (out:): ENOBUFS, or any failure once the send buffer was
// found full (SOCK_NOSPACE stays set on a datagram socket), counts SndbufErrors.
int udp_sendmsg_out(Sock* sk, int err, size_t len) {
  if (!err) return int(len);
  if (err == -E_NOBUFS || (sk->sk_socket && (sk->sk_socket->flags & SOCK_NOSPACE)))
    sk->net->sock.udp_mib.SndbufErrors++;
  return err;
}

}  // namespace

int udp_sendmsg(Sock* sk, const SendMsg& msg) {
  Net& net = *sk->net;
  const size_t len = msg.data.size();
  const bool corkreq = sk->corkflag || (msg.flags & MSG_MORE_);
  if (len > 0xFFFF) return -E_MSGSIZE;
  if (msg.flags & MSG_OOB_) return -E_OPNOTSUPP;  // Mirror BSD error message compatibility
  if (sk->pending) {
    // A corked datagram is being built: append to it (its destination stands).
    InetCork cork;
    cork.dst = sk->cork_dst;
    cork.fl4.saddr = sk->cork_saddr;
    cork.fl4.daddr = sk->cork_daddr;
    cork.fragsize = sk->cork_dst->dev->mtu;
    cork.length = unsigned(sk->pending_len) + UDP_HLEN;
    int err = ip_append_data(sk, cork, sk->cork_queue, msg.data, 0, msg.flags);
    if (err) udp_flush_pending_frames(sk);
    else if (!corkreq) err = udp_push_pending_frames(sk);
    else sk->pending_len += int(len);
    return udp_sendmsg_out(sk, err, len);
  }
  wire::Ipv4Addr daddr;
  uint16_t dport;
  bool connected = false;
  if (msg.name) {
    if (msg.namelen < SOCKADDR_IN_LEN) return -E_INVAL;
    if (msg.name->family != AF_INET_ && msg.name->family != AF_UNSPEC_) return -E_AFNOSUPPORT;
    daddr = msg.name->addr;
    dport = msg.name->port;
    if (dport == 0) return -E_INVAL;
  } else {
    if (sk->sk_state != TCP_ESTABLISHED) return -E_DESTADDRREQ;
    daddr = sk->inet_daddr;
    dport = sk->inet_dport;
    connected = true;
  }
  if (msg.flags & MSG_DONTROUTE_) connected = false;
  DstEntry* rt = nullptr;
  Flowi4 fl4;
  if (connected && sk->sk_dst_cache) {
    rt = sk->sk_dst_cache;  // sk_dst_check
    fl4.saddr = sk->inet_saddr;
    fl4.daddr = daddr;
  }
  if (!rt) {
    // flowi4_init_output + ip_route_output_flow
    fl4.oif = sk->sk_bound_dev_if;
    fl4.tos = sk->tos & 0xfc;
    fl4.proto = wire::IPPROTO_UDP;
    fl4.saddr = sk->inet_saddr;
    fl4.daddr = daddr;
    fl4.sport = sk->inet_sport;
    fl4.dport = dport;
    fl4.flags = 0;
    int err = 0;
    rt = ip_route_output_key(net, fl4, &err);
    if (!rt) {
      if (err == -E_NETUNREACH) net.mib.ip.OutNoRoutes++;
      return udp_sendmsg_out(sk, err, len);
    }
    if ((rt->rt_flags & RTCF_BROADCAST) && !sk->sock_broadcast) return udp_sendmsg_out(sk, -E_ACCES, len);
    if (connected) sk->sk_dst_cache = rt;
  }
  fl4.dport = dport;
  // A pending error and SHUT_WR are reported by sock_alloc_send_skb, inside
  // ip_append_data.
  InetCork cork = make_cork(sk, rt, fl4);
  int err;
  if (!corkreq) {
    // The lockless fast path: one datagram, built and sent at once.
    SkbQueue queue;
    err = ip_append_data(sk, cork, queue, msg.data, UDP_HLEN, msg.flags);
    if (err) {
      ip_flush_pending_frames(queue);
    } else {
      SkBuff* skb = __ip_make_skb(sk, cork, queue);
      err = skb ? udp_send_skb(sk, skb, fl4) : -E_NOBUFS;
    }
  } else {
    sk->pending = AF_INET_;
    sk->cork_dst = rt;
    sk->cork_saddr = fl4.saddr;
    sk->cork_daddr = fl4.daddr;
    sk->cork_dport = dport;
    sk->cork_ttl = sk->uc_ttl;
    sk->cork_tos = sk->tos;
    err = ip_append_data(sk, cork, sk->cork_queue, msg.data, UDP_HLEN, msg.flags);
    if (err) udp_flush_pending_frames(sk);
    else sk->pending_len = int(len);
  }
  return udp_sendmsg_out(sk, err, len);
}

// --------------------------------------------------------------- recvmsg

int udp_recvmsg(Sock* sk, RecvMsg& msg, int flags) {
  Net& net = *sk->net;
  if (flags & MSG_ERRQUEUE_) return ip_recv_error(sk, msg);
  for (;;) {
    // __skb_recv_udp: a pending error first, then the queue.
    if (int err = sock_error(sk); err) return err;
    SkBuff* skb = sk->sk_receive_queue.head;
    if (!skb) {
      // Shut down for reading: a blocking reader sees end-of-file, a non-blocking one EAGAIN.
      if ((sk->sk_shutdown & RCV_SHUTDOWN) && !(flags & MSG_DONTWAIT_)) return 0;
      return -E_AGAIN;
    }
    const bool peeking = flags & MSG_PEEK_;
    const unsigned ulen = skb->len;  // the payload: the header was pulled on enqueue
    unsigned copied = unsigned(std::min<size_t>(msg.len, ulen));
    if (copied < ulen) msg.flags |= MSG_TRUNC_;
    // The checksum is checked now, as the data is copied (skb_copy_and_csum_datagram_msg).
    if (udp_lib_checksum_complete(skb)) {
      if (!peeking) {
        sk->sk_receive_queue.pop_front();
        sk->sk_rmem_alloc -= int(skb->truesize);
        net.sock.udp_mib.InCsumErrors++;
        net.sock.udp_mib.InErrors++;
      } else {
        sk->sk_receive_queue.pop_front();
        sk->sk_rmem_alloc -= int(skb->truesize);
      }
      kfree_skb(skb, SkbDropReason::UDP_CSUM, "udp_recvmsg");
      msg.flags &= ~MSG_TRUNC_;
      continue;
    }
    msg.data.assign(skb->data, skb->data + copied);
    if (!peeking) net.sock.udp_mib.InDatagrams++;
    SockaddrIn from;
    from.family = AF_INET_;
    from.addr = ip_saddr(skb);
    from.port = udp_source(skb);
    msg.name = from;
    const int ret = (flags & MSG_TRUNC_) ? int(ulen) : int(copied);
    if (!peeking) {
      // skb_consume_udp: the data reached the application; freed without a tracepoint.
      sk->sk_receive_queue.pop_front();
      sk->sk_rmem_alloc -= int(skb->truesize);
      __kfree_skb(skb);
    }
    return ret;
  }
}

// udp_poll's first_packet_length: bad-checksum datagrams at the head are dropped
// (a blocking reader must not be woken for them). The first good one's length (0
// for an empty datagram, which is readable), or -1 when none is left.
int udp_first_packet_length(Sock* sk) {
  Net& net = *sk->net;
  while (SkBuff* skb = sk->sk_receive_queue.head) {
    if (!udp_lib_checksum_complete(skb)) return int(skb->len);
    sk->sk_receive_queue.pop_front();
    sk->sk_rmem_alloc -= int(skb->truesize);
    net.sock.udp_mib.InCsumErrors++;
    net.sock.udp_mib.InErrors++;
    sk->sk_drops++;
    kfree_skb(skb, SkbDropReason::UDP_CSUM, "__first_packet_length");  // where 6.18 frees it
  }
  return -1;
}

// --------------------------------------------------------------- connect, close, options

int __udp_disconnect(Sock* sk, int) {
  sk->sk_state = TCP_CLOSE;
  sk->inet_daddr = 0;
  sk->inet_dport = 0;
  sk->sk_bound_dev_if = 0;
  if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK)) {
    // inet_reset_saddr, and the socket is rehashed under the wildcard.
    sk->inet_saddr = sk->inet_rcv_saddr = 0;
  }
  if (!(sk->sk_userlocks & SOCK_BINDPORT_LOCK)) {
    sk->sk_prot->unhash(sk);
    sk->inet_sport = 0;
  }
  sk->sk_dst_cache = nullptr;
  sk->sk_rx_dst = nullptr;
  if (sk->sk_socket) sk->sk_socket->state = SS_UNCONNECTED;
  return 0;
}


namespace {


void udp_lib_close(Sock* sk) {
  // sk_common_release: udp_destroy_sock flushes a corked datagram, unhash, and
  // the queues are purged (udp_destruct_common, inet_sock_destruct).
  udp_flush_pending_frames(sk);
  udp_lib_unhash(sk);
  sk->sock_dead = true;
  while (SkBuff* skb = sk->sk_receive_queue.pop_front()) kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "udp_destruct_common");
  while (SkBuff* skb = sk->sk_error_queue.pop_front()) kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "skb_queue_purge_reason");
  sk->sk_rmem_alloc = 0;
}

int udp_lib_setsockopt(Sock* sk, int level, int optname, std::span<const uint8_t> optval) {
  const int val = sockopt_int(optval);
  const int optlen = int(optval.size());
  if (level == SOL_IP_) return ip_setsockopt(sk, optname, val, optlen);
  if (level != SOL_UDP_) return -E_NOPROTOOPT;
  if (optlen < int(sizeof(int))) return -E_INVAL;
  switch (optname) {
    case UDP_CORK_:
      if (val != 0) {
        sk->corkflag = true;
      } else {
        sk->corkflag = false;
        if (sk->pending) return udp_push_pending_frames(sk);
      }
      return 0;
    default:
      return -E_NOPROTOOPT;
  }
}

int udp_lib_getsockopt(Sock* sk, int level, int optname, uint8_t* optval, int* optlen) {
  return sockopt_get_int(optval, optlen, [&](int* val) {
    if (level == SOL_IP_) return ip_getsockopt(sk, optname, val);
    if (level != SOL_UDP_) return int(-E_NOPROTOOPT);
    switch (optname) {
      case UDP_CORK_: *val = sk->corkflag; return 0;
      default: return int(-E_NOPROTOOPT);
    }
  });
}

}  // namespace

Proto udp_prot = {
    "UDP",
    nullptr,
    udp_lib_close,
    ip4_datagram_connect,
    __udp_disconnect,
    udp_lib_setsockopt,
    udp_lib_getsockopt,
    udp_sendmsg,
    udp_recvmsg,
    udp_v4_get_port,
    udp_lib_unhash,
    udp_v4_rehash,
};

}  // namespace nettwin
