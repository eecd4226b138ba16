// net/ipv4/af_inet.c: the AF_INET family's create and its proto_ops tables.
#pragma once

#include <memory>

#include "socket/sock.h"

namespace nettwin {

extern const ProtoOps inet_dgram_ops;
extern const ProtoOps inet_sockraw_ops;
extern const ProtoOps inet_stream_ops;

// inet_create: the Sock for sock->type and protocol; 0 or -errno.
int inet_create(Net& net, Socket* sock, int protocol, std::unique_ptr<Sock>& out);
int inet_autobind(Sock* sk);
unsigned datagram_poll(Socket* sock);
// sock_alloc + fd install for an accepted child (net/socket.c do_accept): a
// connected socket of the listener's type and ops; the new descriptor.
int sock_attach_accepted(Net& net, std::unique_ptr<Sock> child, const ProtoOps* ops, int type);

}  // namespace nettwin
