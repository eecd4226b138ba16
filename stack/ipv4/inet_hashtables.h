// net/ipv4/inet_hashtables.c: TCP's bind buckets (bhash) and listening hash
// (lhash2), and the listener lookup tcp_v4_rcv makes.
#pragma once

#include <cstdint>

#include "wire/bytes.h"

namespace nettwin {

class Net;
struct Sock;

// inet_bind_hash: sk becomes an owner of its port's bucket.
void inet_bind_hash(Sock* sk, uint16_t snum);
// inet_put_port: sk leaves its port's bucket.
void inet_put_port(Sock* sk);
// inet_hash / inet_unhash: a listener enters or leaves lhash2.
int inet_hash(Sock* sk);
void inet_unhash(Sock* sk);
// __inet_lookup_listener: the listener on hnum bound to daddr, else one bound
// to the wildcard (lhash2 is looked up with daddr first, then INADDR_ANY).
Sock* inet_lookup_listener(Net& net, wire::Ipv4Addr daddr, uint16_t hnum, int dif);

}  // namespace nettwin
