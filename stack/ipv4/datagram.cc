// net/ipv4/datagram.c: connect() for datagram sockets, shared by udp_prot and
// raw_prot as in Linux.
#include "ipv4/datagram.h"

#include "core/net.h"
#include "ipv4/ipv4.h"
#include "wire/headers.h"

namespace nettwin {

int ip4_datagram_connect(Sock* sk, const SockaddrIn* usin, int addr_len) {
  Net& net = *sk->net;
  if (addr_len < SOCKADDR_IN_LEN) return -E_INVAL;
  if (usin->family != AF_INET_) return -E_AFNOSUPPORT;
  sk->sk_dst_cache = nullptr;  // sk_dst_reset
  // ip_route_connect: without a source or a destination, a first lookup picks
  // them (0.0.0.0 is the source itself, or loopback), then the real one.
  Flowi4 fl4;
  fl4.oif = sk->sk_bound_dev_if;
  fl4.tos = sk->tos & 0xfc;
  fl4.proto = uint8_t(sk->sk_protocol);
  fl4.saddr = sk->inet_saddr;
  fl4.daddr = usin->addr;
  fl4.sport = sk->inet_sport;
  fl4.dport = usin->port;
  DstEntry* rt;
  if (!fl4.saddr || !fl4.daddr) {
    Flowi4 first = fl4;
    rt = ip_route_output_key(net, first);
    if (!rt) {
      net.mib.ip.OutNoRoutes++;
      return -E_NETUNREACH;
    }
    fl4.saddr = first.saddr;  // flowi4_update_output
    fl4.daddr = first.daddr;
  }
  int err = 0;
  rt = ip_route_output_key(net, fl4, &err);
  if (!rt) {
    if (err == -E_NETUNREACH) net.mib.ip.OutNoRoutes++;
    return err;
  }
  if ((rt->rt_flags & RTCF_BROADCAST) && !sk->sock_broadcast) return -E_ACCES;
  if (!sk->inet_saddr) sk->inet_saddr = fl4.saddr;
  if (!sk->inet_rcv_saddr) {
    sk->inet_rcv_saddr = fl4.saddr;
    sk->sk_prot->rehash(sk);
  }
  sk->inet_daddr = fl4.daddr;
  sk->inet_dport = usin->port;
  sk->sk_state = TCP_ESTABLISHED;
  sk->inet_id = uint16_t(net.rng.next());
  sk->sk_dst_cache = rt;
  sk->sk_rx_dst = nullptr;
  if (sk->sk_socket) sk->sk_socket->state = SS_CONNECTED;
  return 0;
}

}  // namespace nettwin
