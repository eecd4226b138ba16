// The active open: connect() on a TCP socket, the SYN and its retransmissions,
// and the answer in SYN_SENT (tcp_ipv4.c, tcp_output.c, tcp_input.c, tcp_timer.c).
#pragma once

#include "core/drop_reason.h"
#include "socket/sock.h"

namespace nettwin {

struct SkBuff;

// tcp_v4_connect (tcp_prot.connect): route, source address, local port
// (inet_hash_connect), ISN and timestamp offset, state SYN_SENT, then
// tcp_connect. 0 or -errno (EINVAL, EAFNOSUPPORT, ENETUNREACH, EADDRNOTAVAIL).
int tcp_v4_connect(Sock* sk, const SockaddrIn* usin, int addr_len);
// tcp_connect: tcp_connect_init, the SYN queued and sent, ActiveOpens, the
// retransmit timer armed with the initial RTO.
int tcp_connect(Sock* sk);
// tcp_rcv_state_process's TCP_SYN_SENT case (tcp_rcv_synsent_state_process):
// NOT_DROPPED_YET when the segment was taken (and freed), else the reason the
// caller answers it with a reset for and drops it with.
SkbDropReason tcp_rcv_synsent_state_process(Sock* sk, SkBuff* skb);
// tcp_rcv_state_process's TCP_SYN_RECV case for a full socket (crossed SYNs):
// the ACK of our SYN, already taken by tcp_ack, makes it ESTABLISHED.
void tcp_rcv_synrecv_state(Sock* sk, SkBuff* skb);

}  // namespace nettwin
