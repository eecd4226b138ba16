// net/ipv4/tcp_input.c (and the parts of tcp.c the state machine calls):
// segments of a connected socket, the ACK clock, the receive queue.
#pragma once

#include <cstdint>

#include "core/drop_reason.h"

namespace nettwin {

struct DstEntry;
struct Sock;
struct SkBuff;
struct TcpSock;

// tcp_rcv_established: a segment in ESTABLISHED (header prediction, then the slow path).
void tcp_rcv_established(Sock* sk, SkBuff* skb);
// tcp_rcv_state_process for every state but LISTEN and SYN_SENT: NOT_DROPPED_YET
// when the skb was consumed, or a reason the caller resets and drops with.
SkbDropReason tcp_rcv_state_process(Sock* sk, SkBuff* skb);
// tcp_v4_do_rcv for a full socket: checksum, then the state machine.
void tcp_v4_do_rcv_sk(Sock* sk, SkBuff* skb);
// The SYN_RECV -> ESTABLISHED part of tcp_rcv_state_process for a passive
// child and the ACK (skb->data at its TCP header) that completes it.
// rtt_us is the SYN-ACK's RTT (tcp_synack_rtt_meas), or -1 when it was retransmitted.
void tcp_child_established(Sock* sk, SkBuff* skb, long rtt_us);
// tcp_init_cwnd: the initial congestion window, the route's initcwnd if set.
uint32_t tcp_init_cwnd(const TcpSock* tp, const DstEntry* dst);
// tcp_init_transfer's part for a passive child: RTO, cwnd, buffer space, quick-ack start.
void tcp_init_transfer(Sock* sk);
// tcp_done: the connection is over (CLOSE, timers stopped, destroyed if orphaned).
void tcp_done(Sock* sk);
// inet_csk_destroy_sock: an orphan's end (tcp_destroy_sock traced, queues purged, memory freed).
void inet_csk_destroy_sock(Sock* sk);
// tcp_rtt_estimator: srtt/mdev/rttvar from one RTT sample (us).
void tcp_rtt_estimator(Sock* sk, long mrtt_us);
// tcp_write_queue_purge: every queued and unacked skb freed (sk_wmem_free_skb).
void tcp_write_queue_purge(Sock* sk);
// tcp_enter_loss: the RTO fired; all in flight is lost, cwnd back to one segment.
void tcp_enter_loss(Sock* sk);
// tcp_set_rto: icsk_rto from srtt and rttvar.
void tcp_set_rto(Sock* sk);
// tcp_fin: a FIN was received in sequence.
void tcp_fin(Sock* sk);
// tcp_ack(sk, skb, FLAG_SLOWPATH) for a SYN-ACK in SYN_SENT (the active open):
// < 0 a drop reason (negated), 0 an old ACK, 1 accepted.
int tcp_ack_synsent(Sock* sk, const SkBuff* skb);
// tcp_reset: a valid RST (sk_err per state, tcp_done).
void tcp_reset(Sock* sk, SkBuff* skb);
// tcp_in_quickack_mode: ACK at once (the route's quickack, or quick ACKs left
// outside pingpong mode).
bool tcp_in_quickack_mode(Sock* sk);
// tcp_enter_quickack_mode: ACK the next max_quickacks segments at once.
void tcp_enter_quickack_mode(Sock* sk, unsigned max_quickacks);
// inet_csk_in_pingpong_mode: an interactive exchange (sysctl tcp_pingpong_thresh 1).
bool inet_csk_in_pingpong_mode(const Sock* sk);
// tcp_data_ready / sk_data_ready: readers wake (nothing to do on the virtual clock).
void tcp_data_ready(Sock* sk);
// tcp_check_space (tcp_input.c): after an ACK or a segment sent, a writer that found no room
// (SOCK_NOSPACE) wakes if the socket is writeable again.
void tcp_check_space(Sock* sk);
// sk_stream_write_space: room in the send buffer again (__sk_stream_is_writeable): SOCK_NOSPACE
// cleared, writers woken.
void sk_stream_write_space(Sock* sk);
// tcp_cleanup_rbuf: after a read, an ACK if the window grew enough (or one is due).
void tcp_cleanup_rbuf(Sock* sk, int copied);
// tcp_rcv_space_adjust: receive buffer autotuning (DRS), after each copy to
// the reader: what the reader took in the last receiver RTT sizes sk_rcvbuf.
void tcp_rcv_space_adjust(Sock* sk);
void tcp_rcvbuf_grow(Sock* sk, uint32_t newval);
// skb_set_owner_r / sock_rfree for TCP's receive and out-of-order queues: the
// skb's truesize in sk_rmem_alloc, and taken from (given back to) the memory
// forward-allocated in whole pages (sk_mem_charge; sk_mem_uncharge, then
// sk_mem_reclaim keeps less than a page).
inline constexpr int SK_MEM_PAGE_SIZE = 4096;
inline int sk_mem_pages(int amt) { return (amt + SK_MEM_PAGE_SIZE - 1) / SK_MEM_PAGE_SIZE; }
void tcp_skb_set_owner_r(Sock* sk, SkBuff* skb);
void tcp_sock_rfree(Sock* sk, SkBuff* skb);
// tcp_fast_path_check: header prediction back on when nothing holds it off
// (out-of-order data, a closed window, a full buffer, urgent data).
void tcp_fast_path_check(Sock* sk);
// skb_rbtree_purge of the out-of-order queue: each skb is uncharged and
// freed by kfree_skb (traced, NOT_SPECIFIED at skb_rbtree_purge).
void tcp_ofo_queue_purge(Sock* sk);
// tcp_receive_window: what is left of the window we offered.
uint32_t tcp_receive_window(const Sock* sk);
// tcp_space / tcp_full_space: receive buffer as window bytes.
int tcp_space(const Sock* sk);
int tcp_full_space(const Sock* sk);

// tcp_rcv_state_process's TCP_SYN_SENT case (tcp_rcv_synsent_state_process):
// NOT_DROPPED_YET when the segment was taken (and freed), else the reason the
// caller answers it with a reset for and drops it with.
SkbDropReason tcp_rcv_synsent_state_process(Sock* sk, SkBuff* skb);
// tcp_rcv_state_process's TCP_SYN_RECV case for a full socket (crossed SYNs):
// the ACK of our SYN, already taken by tcp_ack, makes it ESTABLISHED.
void tcp_rcv_synrecv_state(Sock* sk, SkBuff* skb);
// tcp_initialize_rcv_mss: our first guess of the peer's segment size.
void tcp_initialize_rcv_mss(Sock* sk);

}  // namespace nettwin
