// net/ipv4/inet_connection_sock.c: port allocation with the bind-conflict
// rules, and the start and stop of listening.
#pragma once

#include <cstdint>

namespace nettwin {

class Net;
struct DstEntry;
struct RequestSock;
struct Sock;

// inet_csk_route_req (and inet_csk_route_child_sock, the same flow): the output
// route for a request's 4-tuple, or nullptr.
DstEntry* inet_csk_route_req(Net& net, const Sock* sk, const RequestSock* req);

// inet_csk_get_port: 0 when sk may have snum (0: an ephemeral port), else 1.
int inet_csk_get_port(Sock* sk, uint16_t snum);
// inet_csk_listen_start: state LISTEN, the port checked again, into lhash2.
int inet_csk_listen_start(Sock* sk);
// inet_csk_listen_stop: the request socks and the children not yet accepted go.
void inet_csk_listen_stop(Sock* sk);

}  // namespace nettwin
