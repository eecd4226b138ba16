// net/ipv4/inet_hashtables.c: TCP's bind buckets (bhash) and listening hash
// (lhash2), and the listener lookup tcp_v4_rcv makes.
#pragma once

#include <cstdint>

#include "wire/bytes.h"

namespace nettwin {

class Net;
struct Sock;
struct InetTimewaitSock;

// inet_bind_hash: sk becomes an owner of its port's bucket.
void inet_bind_hash(Sock* sk, uint16_t snum);
// inet_put_port: sk leaves its port's bucket.
void inet_put_port(Sock* sk);
// inet_hash / inet_unhash: a listener enters or leaves lhash2.
int inet_hash(Sock* sk);
void inet_unhash(Sock* sk);
// __inet_lookup_listener: the listener on hnum bound to daddr, else one bound
// to the wildcard (lhash2 is looked up with daddr first, then INADDR_ANY); in
// a SO_REUSEPORT group, the member the segment's 4-tuple hashes to.
Sock* inet_lookup_listener(Net& net, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr, uint16_t hnum,
                           int dif);
// __inet_check_established: may connecting sk (inet_rcv_saddr, inet_daddr,
// inet_dport set) use local port lport? Not while a socket of that 4-tuple
// is in ehash, unless it is a TIME_WAIT sock tcp_twsk_unique lets go
// (TWRecycled). On success sk takes lport and its place in ehash, and the tw
// sock leaves it: handed back in *twp for the caller to kill once sk is
// hashed, or killed here when twp is null. 0, or -EADDRNOTAVAIL.
int __inet_check_established(Sock* sk, uint16_t lport, InetTimewaitSock** twp);
// inet_hash_connect (__inet_hash_connect with __inet_check_established): a
// connecting socket gets its local port - its own if bound, else the first
// free one of ip_local_port_range from a secret offset - and enters ehash.
// 0, -EADDRNOTAVAIL with no port free or the 4-tuple taken.
int inet_hash_connect(Sock* sk);

}  // namespace nettwin
