// net/packet/af_packet.c: AF_PACKET sockets (SOCK_RAW and SOCK_DGRAM), the
// packet_type hooks they put on ptype_all / ptype_base, and their proto_ops.
#pragma once

#include <memory>

#include "socket/sock.h"

namespace nettwin {

extern const ProtoOps packet_ops;

// packet_create: protocol is socket()'s third argument as a program passes
// it, i.e. the ethertype in network byte order (htons(ETH_P_ALL)); 0 or -errno.
int packet_create(Net& net, Socket* sock, int protocol, std::unique_ptr<Sock>& out);
// packet_bind with a struct sockaddr_ll.
int packet_bind_ll(Socket* sock, const SockaddrLl* sll, int addr_len);
// packet_getname: the bound address (always a sockaddr_ll); its length.
int packet_getname_ll(Socket* sock, SockaddrLl* sll, int peer);
// packet_notifier for NETDEV_UP / NETDEV_DOWN: sockets bound to dev leave the
// packet_type lists while it is down (with ENETDOWN as their error) and return.
void packet_notifier(Net& net, NetDevice* dev, bool up);

}  // namespace nettwin
