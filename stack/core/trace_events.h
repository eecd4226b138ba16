// The tracepoints (include/trace/events/{net,napi,skb,qdisc,neigh,fib,icmp,udp,tcp}.h)
// and the layer checkpoints. Each inline wrapper is the one predictable branch
// a point costs while nobody listens; the out-of-line part writes the typed
// record (core/trace_record.h): the fields under their tracefs names, raw
// values whose text (core/trace_text.h) is the canonical one of traces/README.md.
#pragma once

#include <cstdint>

#include "core/drop_reason.h"
#include "core/trace.h"
#include "wire/bytes.h"

namespace nettwin {

struct SkBuff;
struct NetDevice;
struct NapiStruct;
struct Qdisc;
struct NeighbourEntry;
struct NeighTable;
struct Flowi4;
struct FibRoute;
struct Sock;

namespace tp {
void netif_rx(Tracer& t, const SkBuff* skb);
void netif_receive_skb(Tracer& t, const SkBuff* skb);
void net_dev_queue(Tracer& t, const SkBuff* skb);
void net_dev_start_xmit(Tracer& t, const SkBuff* skb, const NetDevice* dev);
void net_dev_xmit(Tracer& t, uint64_t skb_id, int rc, const NetDevice* dev, unsigned len);
void napi_poll(Tracer& t, const NapiStruct* napi, int work, int budget);
// rx_sk: the socket sk_skb_reason_drop names (only its presence is traced).
void kfree_skb(Tracer& t, const SkBuff* skb, const char* location, SkbDropReason reason, bool rx_sk = false);
void consume_skb(Tracer& t, const SkBuff* skb, const char* location);
void qdisc_enqueue(Tracer& t, const Qdisc* q, const SkBuff* skb);
void qdisc_dequeue(Tracer& t, const Qdisc* q, int packets, const SkBuff* skb);
void neigh_create(Tracer& t, const NeighTable& tbl, const NetDevice* dev, wire::Ipv4Addr key, const NeighbourEntry* n,
                  bool gc_exempt);
void neigh_update(Tracer& t, const NeighbourEntry* n, const wire::MacAddr* lladdr, uint8_t new_state, uint32_t flags,
                  uint32_t pid);
// The neigh__update class (neigh_update_done, neigh_timer_handler,
// neigh_event_send_done, neigh_cleanup_and_release): the entry as it is, and err.
void neigh__update(Tracer& t, Tp which, const NeighbourEntry* n, int err);
void fib_table_lookup(Tracer& t, uint32_t tb_id, const Flowi4& flp, const FibRoute* nh, int err);
void icmp_send(Tracer& t, const SkBuff* skb, int type, int code);
// udp_fail_queue_rcv_skb: the datagram's addresses and ports (source = the sender).
void udp_fail_queue_rcv_skb(Tracer& t, int rc, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr,
                            uint16_t dport);
// tcp_cong_state_set: the socket's addresses and ports (IPv4, with the v6 fields
// v4-mapped as TP_STORE_ADDRS fills them) and the new icsk_ca_state.
void tcp_cong_state_set(Tracer& t, const Sock* sk, uint8_t ca_state);
// tcp_send_reset: the segment being answered (skb, at its TCP header) and the
// socket (null for no socket); sk_rst_reason as its symbolic name.
void tcp_send_reset(Tracer& t, const Sock* sk, const SkBuff* skb, const char* reason);
// inet_sock_set_state (include/trace/events/sock.h): the socket's ports and
// addresses (v6 fields v4-mapped), family, protocol and the two states.
void inet_sock_set_state(Tracer& t, const Sock* sk, int oldstate, int newstate);
// tcp_retransmit_synack: the listener and the request's 4-tuple (addresses and ports host order).
void tcp_retransmit_synack(Tracer& t, const Sock* sk, const void* req, wire::Ipv4Addr saddr, uint16_t sport,
                           wire::Ipv4Addr daddr, uint16_t dport);
// tcp_receive_reset / tcp_destroy_sock (the tcp_event_sk class): the socket's
// ports and addresses (v6 fields v4-mapped) and sock_cookie.
void tcp_receive_reset(Tracer& t, const Sock* sk);
void tcp_destroy_sock(Tracer& t, const Sock* sk);
void tcp_rcv_space_adjust(Tracer& t, const Sock* sk);
// tcp_rcvbuf_grow: DRS's measure as tcp_rcv_space_adjust takes it, before
// tcp_rcvbuf_grow changes the buffer (rtt_us already unscaled, >> 3).
struct TcpRcvbufGrowFields {
  int time;
  uint32_t rtt_us, copied, inq, space, ooo_space, rcvbuf, rcv_ssthresh, window_clamp, rcv_wnd;
  uint8_t scaling_ratio;
};
void tcp_rcvbuf_grow(Tracer& t, const Sock* sk, const TcpRcvbufGrowFields& v);
// tcp_retransmit_skb: the socket's addresses and state, the skb sent again and err.
void tcp_retransmit_skb(Tracer& t, const Sock* sk, const SkBuff* skb, int err);
// tcp_probe (congestion window tracking, at tcp_rcv_established's start): the
// socket's addresses, the segment's payload length and the sender's state.
struct TcpProbeState {
  uint32_t snd_nxt, snd_una, snd_cwnd, ssthresh, snd_wnd, srtt, rcv_wnd;
};
void tcp_probe(Tracer& t, const Sock* sk, const SkBuff* skb, uint16_t data_len, const TcpProbeState& st);
// tcp_bad_csum: a segment whose checksum failed, its addresses as sockaddrs ("A:P", %pISpc).
void tcp_bad_csum(Tracer& t, const SkBuff* skb);
void checkpoint(Tracer& t, const char* function, const SkBuff* skb, const char* verdict);
}  // namespace tp

// t.on() is the branch a point costs while nobody listens; wants() then keeps
// a subscriber of other points from calling this one's out-of-line part.
#define NT_TRACE_WRAP(name, params, args)       \
  inline void trace_##name params {              \
    if (t.on() && t.wants(Tp::name)) [[unlikely]] \
      tp::name args;                             \
  }

NT_TRACE_WRAP(netif_rx, (Tracer& t, const SkBuff* skb), (t, skb))
NT_TRACE_WRAP(netif_receive_skb, (Tracer& t, const SkBuff* skb), (t, skb))
NT_TRACE_WRAP(net_dev_queue, (Tracer& t, const SkBuff* skb), (t, skb))
NT_TRACE_WRAP(net_dev_start_xmit, (Tracer& t, const SkBuff* skb, const NetDevice* dev), (t, skb, dev))
NT_TRACE_WRAP(net_dev_xmit, (Tracer& t, uint64_t skb_id, int rc, const NetDevice* dev, unsigned len),
              (t, skb_id, rc, dev, len))
NT_TRACE_WRAP(napi_poll, (Tracer& t, const NapiStruct* napi, int work, int budget), (t, napi, work, budget))
NT_TRACE_WRAP(kfree_skb, (Tracer& t, const SkBuff* skb, const char* location, SkbDropReason reason),
              (t, skb, location, reason))
NT_TRACE_WRAP(consume_skb, (Tracer& t, const SkBuff* skb, const char* location), (t, skb, location))
NT_TRACE_WRAP(qdisc_enqueue, (Tracer& t, const Qdisc* q, const SkBuff* skb), (t, q, skb))
NT_TRACE_WRAP(qdisc_dequeue, (Tracer& t, const Qdisc* q, int packets, const SkBuff* skb), (t, q, packets, skb))
NT_TRACE_WRAP(neigh_create,
              (Tracer& t, const NeighTable& tbl, const NetDevice* dev, wire::Ipv4Addr key, const NeighbourEntry* n,
               bool gc_exempt),
              (t, tbl, dev, key, n, gc_exempt))
NT_TRACE_WRAP(neigh_update,
              (Tracer& t, const NeighbourEntry* n, const wire::MacAddr* lladdr, uint8_t new_state, uint32_t flags,
               uint32_t pid),
              (t, n, lladdr, new_state, flags, pid))
#define NT_NEIGH_UPDATE_WRAP(name)                                        \
  inline void trace_##name(Tracer& t, const NeighbourEntry* n, int err) { \
    if (t.on() && t.wants(Tp::name)) [[unlikely]]                         \
      tp::neigh__update(t, Tp::name, n, err);                             \
  }
NT_NEIGH_UPDATE_WRAP(neigh_update_done)
NT_NEIGH_UPDATE_WRAP(neigh_timer_handler)
NT_NEIGH_UPDATE_WRAP(neigh_event_send_done)
NT_NEIGH_UPDATE_WRAP(neigh_cleanup_and_release)
#undef NT_NEIGH_UPDATE_WRAP
NT_TRACE_WRAP(fib_table_lookup, (Tracer& t, uint32_t tb_id, const Flowi4& flp, const FibRoute* nh, int err),
              (t, tb_id, flp, nh, err))
NT_TRACE_WRAP(icmp_send, (Tracer& t, const SkBuff* skb, int type, int code), (t, skb, type, code))
NT_TRACE_WRAP(udp_fail_queue_rcv_skb,
              (Tracer& t, int rc, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr, uint16_t dport),
              (t, rc, saddr, sport, daddr, dport))
NT_TRACE_WRAP(tcp_cong_state_set, (Tracer& t, const Sock* sk, uint8_t ca_state), (t, sk, ca_state))
NT_TRACE_WRAP(tcp_send_reset, (Tracer& t, const Sock* sk, const SkBuff* skb, const char* reason), (t, sk, skb, reason))
NT_TRACE_WRAP(inet_sock_set_state, (Tracer& t, const Sock* sk, int oldstate, int newstate), (t, sk, oldstate, newstate))
NT_TRACE_WRAP(tcp_retransmit_synack,
              (Tracer& t, const Sock* sk, const void* req, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr,
               uint16_t dport),
              (t, sk, req, saddr, sport, daddr, dport))
NT_TRACE_WRAP(tcp_receive_reset, (Tracer& t, const Sock* sk), (t, sk))
NT_TRACE_WRAP(tcp_destroy_sock, (Tracer& t, const Sock* sk), (t, sk))
NT_TRACE_WRAP(tcp_probe, (Tracer& t, const Sock* sk, const SkBuff* skb, uint16_t data_len, const tp::TcpProbeState& st),
              (t, sk, skb, data_len, st))
NT_TRACE_WRAP(tcp_rcv_space_adjust, (Tracer& t, const Sock* sk), (t, sk))
NT_TRACE_WRAP(tcp_rcvbuf_grow, (Tracer& t, const Sock* sk, const tp::TcpRcvbufGrowFields& v), (t, sk, v))
NT_TRACE_WRAP(tcp_bad_csum, (Tracer& t, const SkBuff* skb), (t, skb))
NT_TRACE_WRAP(tcp_retransmit_skb, (Tracer& t, const Sock* sk, const SkBuff* skb, int err), (t, sk, skb, err))
inline void trace_kfree_skb(Tracer& t, const SkBuff* skb, const char* location, SkbDropReason reason, bool rx_sk) {
  if (t.on() && t.wants(Tp::kfree_skb)) [[unlikely]]
    tp::kfree_skb(t, skb, location, reason, rx_sk);
}
#undef NT_TRACE_WRAP

// A checkpoint at a function that works for an skb it no longer holds (it may
// have been queued or freed): the skb's id and the function's verdict.
inline void checkpoint_verdict(Tracer& t, const char* function, uint64_t skb_id, const char* verdict) {
  if (t.on() && t.wants_checkpoints()) [[unlikely]] {
    TraceRecord r = t.record_checkpoint(function, skb_id);
    r.add("verdict", verdict);
    t.emit(r);
  }
}

// A checkpoint at a layer function: the skb's state, and a verdict where the
// function reaches one ("drop", "deliver", ...).
inline void checkpoint(Tracer& t, const char* function, const SkBuff* skb, const char* verdict = nullptr) {
  if (t.on() && t.wants_checkpoints()) [[unlikely]]
    tp::checkpoint(t, function, skb, verdict);
}

}  // namespace nettwin
