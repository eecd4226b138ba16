// net/ipv4/inet_connection_sock.c: port allocation with the bind-conflict
// rules, and the start and stop of listening.
#pragma once

#include <cstdint>
#include <memory>

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

// The SYN queue (request_sock_queue's qlen): the listener's request socks.
int inet_csk_reqsk_queue_len(const Sock* sk);
// reqsk_queue_len_young: the requests whose SYN-ACK has not timed out yet.
int inet_csk_reqsk_queue_young(const Sock* sk);
// inet_csk_reqsk_queue_is_full: more requests than the backlog (strictly, since 6.12).
bool inet_csk_reqsk_queue_is_full(const Sock* sk);
// inet_csk_reqsk_queue_hash_add: req joins sk's SYN queue (and ehash) with its
// SYN-ACK retransmit timer set timeout jiffies out (reqsk_timer_handler).
RequestSock* inet_csk_reqsk_queue_hash_add(Sock* sk, std::unique_ptr<RequestSock> req, uint32_t timeout);
// inet_csk_reqsk_queue_drop: req leaves the queue and its timer stops; false
// if it was no longer there. req is freed.
bool inet_csk_reqsk_queue_drop(Sock* sk, RequestSock* req);
// tcp_reqsk_timeout: the request's next SYN-ACK timeout in jiffies,
// timeout << num_timeout, at most TCP_RTO_MAX.
uint64_t tcp_reqsk_timeout(const RequestSock* req);
// mod_timer_pending on the request's timer: moved to expires (jiffies) if it is pending.
void reqsk_timer_mod_pending(RequestSock* req, uint64_t expires);

}  // namespace nettwin
