// net/ipv4/tcp.c: tcp_prot's socket calls (init, close, options) and the
// state changes every TCP socket makes through tcp_set_state.
#pragma once

#include "socket/sock.h"

namespace nettwin {

struct TcpSock;
struct SkBuff;
class Net;

extern Proto tcp_prot;

// tcp_set_state: the new state, traced (sock:inet_sock_set_state); to CLOSE
// the socket leaves the hashes and, unless bind() fixed it, its port.
void tcp_set_state(Sock* sk, int state);
// inet_sk_state_store / inet_sk_set_state: the state, traced, nothing else.
void tcp_set_state_store(Sock* sk, int state);
// reqsk_queue_remove for every request of a closing listener.
void tcp_reqsk_queue_purge(TcpSock* tp);
// tcp_v4_conn_request (tcp_conn_request): a SYN to a listener; the caller
// consumes the skb.
void tcp_v4_conn_request(Net& net, Sock* sk, SkBuff* skb);

}  // namespace nettwin
