// net/ipv4/tcp.c: tcp_prot's socket calls (init, close, options) and the
// state changes every TCP socket makes through tcp_set_state.
#pragma once

#include <cstdint>
#include <span>

#include "core/drop_reason.h"
#include "socket/sock.h"

namespace nettwin {

struct TcpSock;
struct RequestSock;
struct TcpOptionsReceived;
struct SkBuff;
struct DstEntry;
struct Socket;
class Net;

extern Proto tcp_prot;

// tcp_poll: a listener is readable with a child to accept; a connection in
// SYN_SENT / SYN_RECV is neither readable nor writable; CLOSE is a hang-up;
// a pending error is POLLERR.
unsigned tcp_poll(Socket* sock);

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
// tcp_parse_options: the options of the segment whose TCP header is th. A SYN
// outside an established connection (estab false) negotiates MSS, window scale
// and SACK permitted, each only if its sysctl allows it; timestamps are read
// when the sysctl allows them (estab false) or they were negotiated (estab).
void tcp_parse_options(const Net& net, const uint8_t* th, TcpOptionsReceived* opt, bool estab);
// tcp_v4_send_synack (tcp_make_synack, ip_build_and_send_pkt): 0, or -1 with no route.
// dst: the route tcp_conn_request looked up (null: look it up, as a retransmission does).
int tcp_v4_send_synack(Net& net, const Sock* sk, RequestSock* req, DstEntry* dst = nullptr);
// tcp_rtx_synack: the SYN-ACK again (RetransSegs, TCPSynRetrans, traced); 0 or -1.
int tcp_rtx_synack(Net& net, const Sock* sk, RequestSock* req);
// tcp_select_initial_window: the first window (a multiple of mss), its clamp
// and our window scale for a receive space; init_rcv_wnd (the route's
// initrwnd, 0: none) caps the window at that many segments.
void tcp_select_initial_window(Net& net, int space_in, uint32_t mss, uint32_t* rcv_wnd, uint32_t* window_clamp,
                               bool wscale_ok, uint8_t* rcv_wscale, uint32_t init_rcv_wnd);
// tcp_openreq_init_rwin: the request's window, clamp and our window scale,
// with the route's window and initrwnd metrics.
void tcp_openreq_init_rwin(Net& net, const Sock* sk, RequestSock* req, const DstEntry* dst, unsigned mss);
// tcp_check_req: the ACK that completes req's handshake. Returns the child
// (queued for accept), the listener when the segment is to be processed by it
// (an unacceptable ACK: the listener answers with a reset), or null when the
// skb is to be dropped with *reason.
Sock* tcp_check_req(Net& net, Sock* sk, SkBuff* skb, RequestSock* req, SkbDropReason* reason);
// The request sock of a listener for this 4-tuple (the ehash lookup of a
// TCP_NEW_SYN_RECV socket), with its listener in *listener.
RequestSock* inet_lookup_reqsk(Net& net, uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
                               Sock** listener);
// tcp_poll: inet_stream_ops' poll (readable, writable, RDHUP/HUP, errors).
unsigned tcp_poll(Socket* sock);
// tcp_stream_memory_free: the unsent bytes (doubled when wake) below TCP_NOTSENT_LOWAT (or the sysctl,
// unlimited by default).
bool tcp_stream_memory_free(const Sock* sk, int wake);
// __sk_stream_is_writeable: a third of the send buffer free (wspace >= wmem_queued / 2), the queued
// bytes below it and tcp_stream_memory_free(wake). tcp_poll and sk_stream_write_space use wake 1.
bool __sk_stream_is_writeable(const Sock* sk, int wake);
// tcp_listendrop: ListenDrops.
void tcp_listendrop(Net& net);
// tcp_v4_syn_recv_sock: the child of a completed handshake (SYN_RECV, in
// ehash, on the accept queue), or null when the accept queue is full
// (ListenOverflows) or there is no route back. dst: the route a cookie's
// check looked up (null: the child looks it up).
Sock* tcp_v4_syn_recv_sock(Net& net, Sock* sk, SkBuff* skb, RequestSock* req, DstEntry* dst);
// tcp_child_process: the child (ESTABLISHED by tcp_v4_syn_recv_sock) takes the
// segment that completed its handshake: data or a FIN on it is the new
// connection's first segment; a pure ACK is freed.
void tcp_child_process(Net& net, Sock* child, SkBuff* skb);
// tcp_time_wait: sk is replaced by a TIME_WAIT sock (tw_substate state:
// TCP_TIME_WAIT, or TCP_FIN_WAIT2 for an orphan waiting for the peer's FIN,
// timeo jiffies, at least 3.5 RTO), then tcp_done(sk).
void tcp_time_wait(Sock* sk, int state, int timeo);

// Socket options (tcp.c): SOL_TCP here, SOL_IP to ip_setsockopt, any other
// level ENOPROTOOPT. getsockopt: optval has room for *optlen bytes.
int tcp_setsockopt(Sock* sk, int level, int optname, std::span<const uint8_t> optval);
// tcp_set_window_clamp: TCP_WINDOW_CLAMP, and the clamp tcp_measure_rcv_mss
// recomputes when the payload/truesize ratio changes (0 or -EINVAL).
int tcp_set_window_clamp(Sock* sk, int val);
int tcp_getsockopt(Sock* sk, int level, int optname, uint8_t* optval, int* optlen);
// tcp_ioctl: SIOCINQ (tcp_inq: unread bytes, the FIN not counted), SIOCATMARK,
// SIOCOUTQ (unacked and unsent) and SIOCOUTQNSD (unsent); EINVAL on a listener.
int tcp_ioctl(Sock* sk, unsigned cmd, int* karg);
int tcp_inq(const Sock* sk);
// tcp_init_sock's defaults that TCP_INFO and TCP_CONGESTION report before a
// connection and tcp_v4_init_sock leaves to this: app_limited, reordering and
// the namespace's congestion control.
void tcp_init_sock_opts(Sock* sk);
// sk_clone_lock copies the listener's options to a child: what setsockopt
// set on the listener (and tcp_ca_openreq_child's congestion control).
void tcp_clone_sockopts(Sock* newsk, const Sock* sk);
// keepalive_time_when / keepalive_intvl_when (jiffies) and keepalive_probes:
// the socket's TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT, else the sysctl.
uint32_t keepalive_time_when(const TcpSock* tp);
uint32_t keepalive_intvl_when(const TcpSock* tp);
int keepalive_probes(const TcpSock* tp);
// keepalive_time_elapsed: jiffies since the peer was last heard from (the
// later of the last data and the last ACK).
uint32_t keepalive_time_elapsed(const TcpSock* tp);
// The keepalive timer (tcp_timer.cc): sk_timer armed len jiffies from now
// (inet_csk_reset_keepalive_timer) or stopped (inet_csk_delete_keepalive_timer);
// tcp_set_keepalive is SO_KEEPALIVE's proto->keepalive.
void inet_csk_reset_keepalive_timer(Sock* sk, uint32_t len);
void inet_csk_delete_keepalive_timer(Sock* sk);
void tcp_set_keepalive(Sock* sk, int val);
// tcp_keepalive_timer: the timer's handler, callable from tests.
void tcp_keepalive_timer(Sock* sk);

}  // namespace nettwin
