// net/core/sock_reuseport.c: SO_REUSEPORT groups, shared by UDP sockets bound
// to one port and TCP listeners on one port; a group's member is picked by the
// packet's 4-tuple hash (no BPF program: reuseport_select_sock_by_hash).
#pragma once

#include <cstdint>

namespace nettwin {

class Net;
struct Sock;

// reuseport_alloc / reuseport_add_sock: sk starts a group, or joins sk2's.
void reuseport_alloc(Net& net, Sock* sk);
void reuseport_add_sock(Net& net, Sock* sk, Sock* sk2);
// reuseport_detach_sock: sk leaves its group; the last member takes its slot.
void reuseport_detach_sock(Net& net, Sock* sk);
// reuseport_select_sock: the member at reciprocal_scale(hash, n), or the next
// one not in TCP_ESTABLISHED (a connected UDP member is never picked by hash).
Sock* reuseport_select_sock(Net& net, Sock* sk, uint32_t hash);
// reuseport_has_conns: a member is connected (UDP).
bool reuseport_has_conns(Net& net, const Sock* sk);
// __inet_ehashfn: the 4-tuple hash, over the words as the kernel reads them on x86.
uint32_t __inet_ehashfn(uint32_t laddr, uint16_t lport, uint32_t faddr, uint16_t fport, uint32_t initval);

}  // namespace nettwin
