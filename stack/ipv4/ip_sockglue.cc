// net/ipv4/ip_sockglue.c: SOL_IP options, and the error queue IP_RECVERR fills.
#include "ipv4/ip_sockglue.h"

#include <cstring>

#include "core/net.h"
#include "wire/headers.h"

namespace nettwin {

const IcmpErrConvert icmp_err_convert[16] = {
    {E_NETUNREACH, false},    // ICMP_NET_UNREACH
    {E_HOSTUNREACH, false},   // ICMP_HOST_UNREACH
    {E_NOPROTOOPT, true},     // ICMP_PROT_UNREACH
    {E_CONNREFUSED, true},    // ICMP_PORT_UNREACH
    {E_MSGSIZE, false},       // ICMP_FRAG_NEEDED
    {E_OPNOTSUPP, false},     // ICMP_SR_FAILED
    {E_NETUNREACH, true},     // ICMP_NET_UNKNOWN
    {E_HOSTDOWN, true},       // ICMP_HOST_UNKNOWN
    {64, true},               // ICMP_HOST_ISOLATED: ENONET
    {E_NETUNREACH, true},     // ICMP_NET_ANO
    {E_HOSTUNREACH, true},    // ICMP_HOST_ANO
    {E_NETUNREACH, false},    // ICMP_NET_UNR_TOS
    {E_HOSTUNREACH, false},   // ICMP_HOST_UNR_TOS
    {E_HOSTUNREACH, true},    // ICMP_PKT_FILTERED
    {E_HOSTUNREACH, true},    // ICMP_PREC_VIOLATION
    {E_HOSTUNREACH, true},    // ICMP_PREC_CUTOFF
};

int ip_setsockopt(Sock* sk, int optname, int val, int optlen) {
  // do_ip_setsockopt reads an int, or a single byte when optlen is shorter;
  // optlen 0 is val 0.
  if (optlen <= 0) val = 0;
  else if (optlen < int(sizeof(int))) val = val & 0xff;
  switch (optname) {
    case IP_TTL_:
      if (optlen < 1) return -E_INVAL;
      if (val != -1 && (val < 1 || val > 255)) return -E_INVAL;
      sk->uc_ttl = val;
      return 0;
    case IP_TOS_:
      // __ip_sock_set_tos: a stream socket keeps its ECN bits; others take the byte.
      if (sk->sk_type == SOCK_STREAM_) val = (val & ~3) | (sk->tos & 3);
      if (sk->tos != uint8_t(val)) {
        sk->tos = uint8_t(val);
        sk->sk_priority = 0;  // rt_tos2priority: TC_PRIO_BESTEFFORT for the TOS values used here
        sk->sk_dst_cache = nullptr;  // sk_dst_reset
      }
      return 0;
    case IP_RECVERR_:
      sk->recverr = val != 0;
      if (!val) {
        while (SkBuff* skb = sk->sk_error_queue.pop_front()) {
          sk->sk_rmem_alloc -= int(skb->truesize);
          kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "skb_errqueue_purge");
        }
      }
      return 0;
    case IP_MTU_DISCOVER_:
      if (val < IP_PMTUDISC_DONT_ || val > 5) return -E_INVAL;  // IP_PMTUDISC_OMIT
      sk->pmtudisc = uint8_t(val);
      return 0;
    case IP_HDRINCL_:
      if (sk->sk_type != SOCK_RAW_) return -E_NOPROTOOPT;
      sk->hdrincl = val != 0;
      return 0;
    case IP_FREEBIND_:
      if (optlen < 1) return -E_INVAL;
      sk->freebind = val != 0;
      return 0;
    default:
      return -E_NOPROTOOPT;
  }
}

int ip_getsockopt(Sock* sk, int optname, int* val) {
  switch (optname) {
    case IP_TTL_:
      *val = sk->uc_ttl < 0 ? int(sk->net->sysctl.ip_default_ttl) : sk->uc_ttl;
      return 0;
    case IP_TOS_: *val = sk->tos; return 0;
    case IP_RECVERR_: *val = sk->recverr; return 0;
    case IP_MTU_DISCOVER_: *val = sk->pmtudisc; return 0;
    case IP_HDRINCL_: *val = sk->hdrincl; return 0;
    case IP_FREEBIND_: *val = sk->freebind; return 0;
    case IP_MTU_:
      if (!sk->sk_dst_cache || !sk->sk_dst_cache->dev) return -E_NOTCONN;
      *val = int(sk->sk_dst_cache->dev->mtu);
      return 0;
    default:
      return -E_NOPROTOOPT;
  }
}

void ip_icmp_error(Sock* sk, SkBuff* skb, int err, uint16_t port, uint32_t info, const uint8_t* payload) {
  SkBuff* clone = skb_clone(skb);
  SockExterrSkb serr;
  const uint8_t* icmph = skb_transport_header(skb);
  serr.ee.ee_errno = uint32_t(err);
  serr.ee.ee_origin = SO_EE_ORIGIN_ICMP;
  serr.ee.ee_type = icmph[0];
  serr.ee.ee_code = icmph[1];
  serr.ee.ee_info = info;
  serr.ee.offender.family = AF_INET_;
  serr.ee.offender.addr = wire::Iphdr{skb_network_header(skb)}.saddr();
  serr.addr = wire::Iphdr{const_cast<uint8_t*>(icmph + wire::ICMP_HLEN)}.daddr();
  serr.port = port;
  // The queued skb holds the offending datagram's payload.
  if (payload < clone->data || !skb_pull(clone, unsigned(payload - clone->data))) {
    kfree_skb(clone, SkbDropReason::NOT_SPECIFIED, "ip_icmp_error");
    return;
  }
  std::memcpy(clone->cb, &serr, sizeof serr);
  if (sock_queue_err_skb(sk, clone) != 0) kfree_skb(clone, SkbDropReason::NOT_SPECIFIED, "ip_icmp_error");
}

void ip_local_error(Sock* sk, int err, wire::Ipv4Addr daddr, uint16_t port, uint32_t info) {
  if (!sk->recverr) return;
  Net& net = *sk->net;
  SkBuff* skb = net.pool.alloc_skb(wire::IPV4_MIN_HLEN);
  skb_reset_network_header(skb);
  skb_put(skb, wire::IPV4_MIN_HLEN);
  wire::Iphdr iph{skb->data};
  iph.set_daddr(daddr);
  SockExterrSkb serr;
  serr.ee.ee_errno = uint32_t(err);
  serr.ee.ee_origin = SO_EE_ORIGIN_LOCAL;
  serr.ee.ee_info = info;
  serr.addr = daddr;
  serr.port = port;
  skb_pull(skb, skb->len);  // no payload: the error is all there is
  skb_reset_transport_header(skb);
  std::memcpy(skb->cb, &serr, sizeof serr);
  if (sock_queue_err_skb(sk, skb) != 0) kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "ip_local_error");
}

int ip_recv_error(Sock* sk, RecvMsg& msg) {
  SkBuff* skb = sk->sk_error_queue.pop_front();  // sock_dequeue_err_skb
  if (!skb) return -E_AGAIN;
  sk->sk_rmem_alloc -= int(skb->truesize);
  SockExterrSkb serr;
  std::memcpy(&serr, skb->cb, sizeof serr);
  // The next queued error becomes the pending one; none left: none pending.
  if (SkBuff* next = sk->sk_error_queue.head) {
    SockExterrSkb nerr;
    std::memcpy(&nerr, next->cb, sizeof nerr);
    sk->sk_err = int(nerr.ee.ee_errno);
  } else {
    sk->sk_err = 0;
  }
  unsigned copied = skb->len;
  if (copied > msg.len) {
    msg.flags |= MSG_TRUNC_;
    copied = unsigned(msg.len);
  }
  msg.data.assign(skb->data, skb->data + copied);
  if (serr.port) {
    SockaddrIn sin;
    sin.addr = serr.addr;
    sin.port = serr.port;
    msg.name = sin;
  }
  msg.ee = serr.ee;
  msg.flags |= MSG_ERRQUEUE_;
  consume_skb(skb, "ip_recv_error");
  return int(copied);
}

}  // namespace nettwin
