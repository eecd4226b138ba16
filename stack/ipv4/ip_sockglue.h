// net/ipv4/ip_sockglue.c: the SOL_IP options and the IP_RECVERR error queue.
#pragma once

#include <cstdint>

#include "core/skbuff.h"
#include "socket/sock.h"

namespace nettwin {

int ip_setsockopt(Sock* sk, int optname, int val, int optlen);
int ip_getsockopt(Sock* sk, int optname, int* val);
// ip_icmp_error: queue a clone of the ICMP error on sk's error queue; port is
// the remote port, payload the first byte past the offending UDP header.
void ip_icmp_error(Sock* sk, SkBuff* skb, int err, uint16_t port, uint32_t info, const uint8_t* payload);
// ip_local_error: with IP_RECVERR, an error the stack itself found (EMSGSIZE
// past the size limit) is queued too, origin SO_EE_ORIGIN_LOCAL, info the MTU.
void ip_local_error(Sock* sk, int err, wire::Ipv4Addr daddr, uint16_t port, uint32_t info);
// ip_recv_error: recvmsg(MSG_ERRQUEUE).
int ip_recv_error(Sock* sk, RecvMsg& msg);

// icmp_err_convert (net/ipv4/icmp.c): the errno of each ICMP_DEST_UNREACH code,
// and whether it is fatal (reported to a connected socket without IP_RECVERR).
struct IcmpErrConvert {
  int errno_;
  bool fatal;
};
extern const IcmpErrConvert icmp_err_convert[16];

}  // namespace nettwin
