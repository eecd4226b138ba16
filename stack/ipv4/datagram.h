// net/ipv4/datagram.c and udp.c's __udp_disconnect: connect and disconnect of
// datagram sockets, the Proto.connect / Proto.disconnect of udp_prot and raw_prot.
#pragma once

#include "socket/sock.h"

namespace nettwin {

// ip4_datagram_connect: route to the peer (ip_route_connect), take the source
// address, and become TCP_ESTABLISHED. 0 or -errno.
int ip4_datagram_connect(Sock* sk, const SockaddrIn* usin, int addr_len);
// __udp_disconnect: connect(AF_UNSPEC); unhashes unless the port was bound.
int __udp_disconnect(Sock* sk, int flags);

}  // namespace nettwin
