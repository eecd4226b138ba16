// net/ipv4/tcp_ipv4.c: the IPv4 side of TCP. tcp_v4_rcv (header length,
// checksum, lookup of an established socket, a TIME_WAIT sock, a request
// sock or a listener) and tcp_v4_do_rcv; tcp_v4_send_reset and
// tcp_v4_send_ack, answered through ip_send_unicast_reply on the per-netns
// control socket; tcp_v4_connect (with ip_route_connect/ip_route_newports).
#include "ipv4/tcp_ipv4.h"

#include <algorithm>
#include <cstring>

#include "core/net.h"
#include "core/secure_seq.h"
#include "core/trace_events.h"
#include "ipv4/fib.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/inet_timewait_sock.h"
#include "ipv4/ip_sockglue.h"
#include "ipv4/ipv4.h"
#include "ipv4/syncookies.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_recovery.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"
#include "socket/sock.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

// tcp_checksum_complete (after skb_checksum_init): true when the segment,
// skb->data to the end, does not sum to zero with its pseudo header.
bool tcp_checksum_complete(const SkBuff* skb) {
  if (skb->ip_summed == CHECKSUM_UNNECESSARY) return false;
  wire::Iphdr iph{skb_network_header(skb)};
  const uint64_t sum = wire::csum_tcpudp_nofold(iph.saddr(), iph.daddr(), skb->len, wire::IPPROTO_TCP);
  return wire::csum_fold(wire::csum_partial(skb->data, skb->len, sum)) != 0;
}

namespace {

constexpr unsigned kTcpHlen = 20;  // sizeof(struct tcphdr)

uint8_t tcp_flags(const uint8_t* th) { return th[13]; }
unsigned tcp_doff(const uint8_t* th) { return th[12] >> 4; }
}  // namespace


// tcp_v4_send_reset with no socket (sk_rst_reason NO_SOCKET). Never answers
// a RST, nor a segment whose input route is not local. An ACK is answered
// with seq = its ack_seq; anything else with seq 0 and RST|ACK acking
// seq + SYN + FIN + payload.
void tcp_v4_send_reset(Net& net, SkBuff* skb, const char* reason, const Sock* sk) {
  const uint8_t* th = skb->data;
  if (tcp_flags(th) & TCPHDR_RST) return;
  if (!skb->dst || skb->dst->rt_type != RTN_LOCAL) return;
  wire::Iphdr in{skb_network_header(skb)};
  uint8_t rep[kTcpHlen] = {};
  wire::store_be16(rep, wire::load_be16(th + 2));  // source = their dest
  wire::store_be16(rep + 2, wire::load_be16(th));  // dest = their source
  rep[12] = uint8_t((kTcpHlen / 4) << 4);
  rep[13] = TCPHDR_RST;
  if (tcp_flags(th) & TCPHDR_ACK) {
    wire::store_be32(rep + 4, wire::load_be32(th + 8));
  } else {
    rep[13] |= TCPHDR_ACK;
    const uint32_t seq = wire::load_be32(th + 4);
    const uint32_t ack = seq + !!(tcp_flags(th) & TCPHDR_SYN) + !!(tcp_flags(th) & TCPHDR_FIN) + skb->len -
                         tcp_doff(th) * 4u;
    wire::store_be32(rep + 8, ack);
  }
  trace_tcp_send_reset(net.tracer, sk, skb, reason);

  // ip_send_unicast_reply: the segment's IP options (record route,
  // timestamp) echoed, routed back to the sender from the address it used.
  if (!ip_send_unicast_reply(net, skb, rep, kTcpHlen, in.tos(), 0)) return;
  net.mib.tcp.OutSegs++;
  net.mib.tcp.OutRsts++;
}

// tcp_v4_fill_cb: TCP_SKB_CB from the header, IP's control block kept in header.h4.
void tcp_v4_fill_cb(SkBuff* skb) {
  const uint8_t* th = skb->data;
  uint8_t h4[sizeof(InetSkbParm)];
  std::memcpy(h4, skb->cb, sizeof h4);
  TcpSkbCb* tcb = TCP_SKB_CB(skb);
  *tcb = TcpSkbCb{};
  std::memcpy(tcb->header.h4, h4, sizeof h4);
  const uint8_t flags = tcp_flags(th);
  tcb->seq = wire::load_be32(th + 4);
  tcb->end_seq = tcb->seq + !!(flags & TCPHDR_SYN) + !!(flags & TCPHDR_FIN) + skb->len - tcp_doff(th) * 4u;
  tcb->ack_seq = wire::load_be32(th + 8);
  tcb->tcp_flags = flags;
  tcb->ip_dsfield = wire::Iphdr{skb_network_header(skb)}.tos();
  tcb->sacked = 0;
}

namespace {

// __inet_lookup_established: a full socket of this 4-tuple.
Sock* inet_lookup_established(Net& net, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr, uint16_t dport) {
  const auto& chain = net.sock.tcp_ehash.chain(daddr, dport, saddr, sport);
  return chain.empty() ? nullptr : chain.front();
}


// tcp_rcv_state_process for a listener: an ACK is answered with a reset
// (TCP_FLAGS), a RST is dropped, a SYN goes to conn_request (consumed).
SkbDropReason tcp_rcv_state_process_listen(Net& net, Sock* sk, SkBuff* skb) {
  const uint8_t flags = tcp_flags(skb->data);
  if (flags & TCPHDR_ACK) return SkbDropReason::TCP_FLAGS;
  if (flags & TCPHDR_RST) {
    sk_skb_reason_drop(sk, skb, SkbDropReason::TCP_RESET, "tcp_rcv_state_process");
    return SkbDropReason::NOT_DROPPED_YET;
  }
  if ((flags & TCPHDR_SYN) && !(flags & TCPHDR_FIN)) {
    tcp_v4_conn_request(net, sk, skb);
    consume_skb(skb, "tcp_rcv_state_process");
    return SkbDropReason::NOT_DROPPED_YET;
  }
  sk_skb_reason_drop(sk, skb, SkbDropReason::TCP_FLAGS, "tcp_rcv_state_process");
  return SkbDropReason::NOT_DROPPED_YET;
}

// sk_rst_convert_drop_reason (include/net/rstreason.h): the drop reasons that
// name a reset reason of their own; any other is NOT_SPECIFIED.
const char* sk_rst_convert_drop_reason(SkbDropReason reason) {
  switch (reason) {
    case SkbDropReason::NO_SOCKET:
    case SkbDropReason::TCP_INVALID_ACK_SEQUENCE:
    case SkbDropReason::TCP_RFC7323_PAWS:
    case SkbDropReason::TCP_TOO_OLD_ACK:
    case SkbDropReason::TCP_ACK_UNSENT_DATA:
    case SkbDropReason::TCP_FLAGS:
    case SkbDropReason::TCP_OLD_ACK:
    case SkbDropReason::TCP_ABORT_ON_DATA:
      return drop_reason_name(reason);
    default:
      return "NOT_SPECIFIED";
  }
}

// tcp_v4_do_rcv for a listener: the full checksum, then the state machine; a
// reason back from it means a reset and a drop here. An ACK may carry a SYN
// cookie: cookie_v4_check makes the child, or drops it.
void tcp_v4_do_rcv(Net& net, Sock* sk, SkBuff* skb) {
  if (sk->sk_state == TCP_ESTABLISHED) {  // the fast path
    tcp_rcv_established(sk, skb);
    return;
  }
  if (tcp_checksum_complete(skb)) {
    trace_tcp_bad_csum(net.tracer, skb);
    net.mib.tcp.InCsumErrors++;
    net.mib.tcp.InErrs++;
    sk_skb_reason_drop(sk, skb, SkbDropReason::TCP_CSUM, "tcp_v4_do_rcv");
    return;
  }
  if (sk->sk_state == TCP_LISTEN && !(tcp_flags(skb->data) & TCPHDR_SYN)) {  // tcp_v4_cookie_check
    Sock* nsk = cookie_v4_check(net, sk, skb);
    if (!nsk) return;
    if (nsk != sk) {
      tcp_child_process(net, nsk, skb);
      return;
    }
  }
  // tcp_rcv_state_process's SYN_SENT case.
  if (sk->sk_state == TCP_SYN_SENT) {
    const SkbDropReason reason = tcp_rcv_synsent_state_process(sk, skb);
    if (reason == SkbDropReason::NOT_DROPPED_YET) return;
    tcp_v4_restore_cb(skb);
    tcp_v4_send_reset(net, skb, sk_rst_convert_drop_reason(reason), sk);
    sk_skb_reason_drop(sk, skb, reason, "tcp_v4_do_rcv");
    return;
  }
  const SkbDropReason reason = sk->sk_state == TCP_LISTEN ? tcp_rcv_state_process_listen(net, sk, skb)
                                                          : tcp_rcv_state_process(sk, skb);
  if (reason == SkbDropReason::NOT_DROPPED_YET) return;
  tcp_v4_restore_cb(skb);
  tcp_v4_send_reset(net, skb, sk_rst_convert_drop_reason(reason), sk);
  sk_skb_reason_drop(sk, skb, reason, "tcp_v4_do_rcv");
}

// do_time_wait: the segment goes to the TIME_WAIT sock (tcp_timewait_state_process)
// and is answered (an ACK, a RST) and freed here; a SYN that reopens the
// connection goes to the listener, returned, with the ISN in tcp_tw_isn.
Sock* tcp_v4_do_time_wait(Net& net, InetTimewaitSock* tw, SkBuff* skb) {
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  if (tcp_checksum_complete(skb)) {
    trace_tcp_bad_csum(net.tracer, skb);
    net.mib.tcp.InCsumErrors++;
    net.mib.tcp.InErrs++;
    reason = SkbDropReason::TCP_CSUM;
  } else {
    uint32_t isn = 0;
    const TcpTwStatus status = tcp_timewait_state_process(tw, skb, &isn, &reason);
    switch (status) {
      case TcpTwStatus::TCP_TW_SYN: {
        wire::Iphdr iph{skb_network_header(skb)};
        Sock* sk2 = inet_lookup_listener(net, iph.saddr(), wire::load_be16(skb->data), iph.daddr(),
                                         wire::load_be16(skb->data + 2), skb->dev ? skb->dev->ifindex : 0);
        if (sk2) {
          inet_twsk_deschedule_put(tw);
          net.tcp_death_row.tcp_tw_isn = isn;
          return sk2;
        }
        tcp_v4_timewait_ack(net, tw, skb, false);  // no listener: to ACK
        break;
      }
      case TcpTwStatus::TCP_TW_ACK:
      case TcpTwStatus::TCP_TW_ACK_OOW:
        tcp_v4_timewait_ack(net, tw, skb, status == TcpTwStatus::TCP_TW_ACK_OOW);
        break;
      case TcpTwStatus::TCP_TW_RST:
        tcp_v4_send_reset(net, skb, "TCP_TIMEWAIT_SOCKET", tw);
        inet_twsk_deschedule_put(tw);
        break;
      case TcpTwStatus::TCP_TW_SUCCESS:
        break;
    }
  }
  // discard_it with the tw sock as sk (rx_sk; it may be gone by now).
  checkpoint(net.tracer, "tcp_v4_rcv", skb, "drop");
  kfree_skb_rx_sk(skb, reason, "tcp_v4_rcv", true);
  return nullptr;
}

}  // namespace

void tcp_v4_early_demux(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  if (skb->pkt_type != PACKET_HOST) return;
  const uint8_t* th = skb_transport_header(skb);
  if (th + kTcpHlen > skb_tail_pointer(skb) || tcp_doff(th) < kTcpHlen / 4) return;
  wire::Iphdr iph{skb_network_header(skb)};
  Sock* sk = inet_lookup_established(net, iph.saddr(), wire::load_be16(th), iph.daddr(), wire::load_be16(th + 2));
  // A full socket's cached input route (inet_sk_rx_dst_set) spares the lookup.
  if (sk && sk->sk_rx_dst && (!sk->sk_bound_dev_if || sk->sk_bound_dev_if == skb->dev->ifindex))
    skb_dst_set_noref(skb, sk->sk_rx_dst);
}

int tcp_v4_rcv(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  checkpoint(net.tracer, "tcp_v4_rcv", skb);
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  Sock* sk = nullptr;
  if (skb->pkt_type != PACKET_HOST) goto discard_it;
  net.mib.tcp.InSegs++;  // counted even if it is bad
  if (!pskb_may_pull(skb, kTcpHlen)) goto discard_it;
  if (tcp_doff(skb->data) < kTcpHlen / 4) {
    reason = SkbDropReason::PKT_TOO_SMALL;
    goto bad_packet;
  }
  if (!pskb_may_pull(skb, tcp_doff(skb->data) * 4u)) goto discard_it;
  // skb_checksum_init checks a short segment (CHECKSUM_BREAK, 76 bytes) at
  // once; a longer one is checked where the socket takes it, or at no_tcp_socket.
  if (skb->len <= 76 && tcp_checksum_complete(skb)) goto csum_error;
  {
    wire::Iphdr iph{skb_network_header(skb)};
    const uint16_t sport = wire::load_be16(skb->data), dport = wire::load_be16(skb->data + 2);
    // __inet_lookup_established: a full socket, then a request sock.
    Sock* tw_listener = nullptr;
    if (Sock* esk = inet_lookup_established(net, iph.saddr(), sport, iph.daddr(), dport)) {
      if (esk->sk_state == TCP_TIME_WAIT) {
        // do_time_wait; a new SYN it hands over goes to the listener (process).
        tw_listener = tcp_v4_do_time_wait(net, inet_twsk(esk), skb);
        if (!tw_listener) return 0;
      } else {
        if (skb->len > 76 && esk->sk_state != TCP_ESTABLISHED && tcp_checksum_complete(skb)) goto csum_error;
        tcp_v4_fill_cb(skb);
        TcpSock* tp = tcp_sk(esk);
        tp->segs_in++;  // tcp_segs_in
        if (skb->len > tcp_doff(skb->data) * 4u) tp->data_segs_in++;
        checkpoint(net.tracer, "tcp_v4_do_rcv", skb);
        tcp_v4_do_rcv(net, esk, skb);
        return 0;
      }
    }
    Sock* listener = nullptr;
    if (tw_listener) {
      sk = tw_listener;
    } else if (RequestSock* req = inet_lookup_reqsk(net, iph.saddr(), sport, iph.daddr(), dport, &listener)) {
      sk = listener;  // from here the request's listener is sk (rx_sk of a drop)
      if (skb->len > 76 && tcp_checksum_complete(skb)) goto csum_error;
      reason = SkbDropReason::NOT_SPECIFIED;
      Sock* nsk = tcp_check_req(net, listener, skb, req, &reason);
      if (!nsk) {
        listener->sk_drops++;  // discard_and_relse
        goto discard_it;
      }
      if (nsk != listener) {
        tcp_child_process(net, nsk, skb);
        return 0;
      }
    } else {
      sk = inet_lookup_listener(net, iph.saddr(), sport, iph.daddr(), dport, skb->dev ? skb->dev->ifindex : 0);
    }
  }
  if (sk) {
    checkpoint(net.tracer, "tcp_v4_do_rcv", skb);
    tcp_v4_do_rcv(net, sk, skb);
    return 0;
  }
  // no_tcp_socket
  reason = SkbDropReason::NO_SOCKET;
  if (tcp_checksum_complete(skb)) goto csum_error;
  tcp_v4_send_reset(net, skb, "NO_SOCKET");
  goto discard_it;
csum_error:
  reason = SkbDropReason::TCP_CSUM;
  trace_tcp_bad_csum(net.tracer, skb);
  net.mib.tcp.InCsumErrors++;
bad_packet:
  net.mib.tcp.InErrs++;
discard_it:
  checkpoint(net.tracer, "tcp_v4_rcv", skb, "drop");
  sk_skb_reason_drop(sk, skb, reason, "tcp_v4_rcv");
  return 0;
}

bool tcp_twsk_unique(Sock* sk, InetTimewaitSock* tw, bool twp) {
  Net& net = *sk->net;
  int64_t reuse = net.sysctl.tcp_tw_reuse;
  if (tw->tw_substate == TCP_FIN_WAIT2) reuse = 0;
  if (reuse == 2) {
    // Loopback only: a loopback address on either side, or bound to lo.
    const bool loopback = tw->sk_bound_dev_if == 1 /* LOOPBACK_IFINDEX */ ||
                          wire::ipv4_is_loopback(tw->inet_daddr) || wire::ipv4_is_loopback(tw->inet_rcv_saddr);
    if (!loopback) reuse = 0;
  }
  const uint32_t reuse_thresh = tw->tw_entry_stamp + uint32_t(net.sysctl.tcp_tw_reuse_delay);
  const uint32_t now_ms = tcp_ns_to_ts(sk, net.engine.now());  // tcp_clock_ms
  if (tw->tw_ts_recent_stamp && (!twp || (reuse && int32_t(now_ms - reuse_thresh) > 0))) {
    TcpSock* tp = tcp_sk(sk);
    uint32_t seq = tw->tw_snd_nxt + 65535 + 2;
    if (!seq) seq = 1;
    tp->write_seq = seq;
    tp->rx_opt.ts_recent = tw->tw_ts_recent;
    tp->rx_opt.ts_recent_stamp = uint32_t(tw->tw_ts_recent_stamp);
    return true;
  }
  return false;
}

namespace {

// inet_csk_update_pmtu: the route learns the path MTU (a route exception); the
// socket's cached route is stale then and is looked up again.
DstEntry* inet_csk_update_pmtu(Sock* sk, uint32_t mtu) {
  Net& net = *sk->net;
  Flowi4 fl4 = ip_rt_build_flow_key(sk);
  Flowi4 key = fl4;
  DstEntry* dst = sk->sk_dst_cache ? sk->sk_dst_cache : ip_route_output_key(net, key);
  if (!dst) return nullptr;
  // ip_rt_update_pmtu's own key (ip_rt_build_flow_key -> build_sk_flow_key): the socket's
  // addresses without its ports, from the loopback ifindex (flowi4_init_output).
  key = fl4;
  key.sport = key.dport = 0;
  key.iif = LOOPBACK_IFINDEX;
  __ip_rt_update_pmtu(net, dst, key, mtu);
  key = fl4;
  dst = ip_route_output_key(net, key);
  sk->sk_dst_cache = dst;
  return dst;
}

}  // namespace

// tcp_v4_mtu_reduced: a smaller path MTU lowers the MSS, and what was sent
// larger goes again at once (tcp_simple_retransmit), unless PMTU discovery is off.
void tcp_v4_mtu_reduced(Sock* sk) {
  if (sk->sk_state == TCP_LISTEN || sk->sk_state == TCP_CLOSE) return;
  TcpSock* tp = tcp_sk(sk);
  uint32_t mtu = tp->mtu_info;
  DstEntry* dst = inet_csk_update_pmtu(sk, mtu);
  if (!dst) return;
  // Something is about to be wrong: a soft error in case the connection cannot recover.
  if (mtu < ipv4_mtu(dst) && ip_dont_fragment(sk, dst)) sk->sk_err_soft = E_MSGSIZE;
  mtu = ipv4_mtu(dst);
  // ip_sk_accept_pmtu: not under IP_PMTUDISC_INTERFACE (4) or OMIT (5).
  const bool accept_pmtu = sk->pmtudisc != 4 && sk->pmtudisc != 5;
  if (sk->pmtudisc != IP_PMTUDISC_DONT_ && accept_pmtu && tp->icsk_pmtu_cookie > mtu) {
    tcp_sync_mss(sk, mtu);
    tcp_simple_retransmit(sk);
  }
}

// The active open: ICMP errors for a connection (tcp_v4_err); a SYN_SENT or
// SYN_RECV socket dies with them. FRAG_NEEDED lowers the path MTU
// (tcp_v4_mtu_reduced); redirects and the RFC 6069 backoff revert are not built.
int tcp_v4_err(SkBuff* skb, uint32_t info) {
  Net& net = dev_net(skb->dev);
  wire::Iphdr iph{skb->data};
  const uint8_t* th = skb->data + iph.ihl() * 4u;
  const uint8_t* icmph = skb_transport_header(skb);
  const int type = icmph[0], code = icmph[1];
  Sock* sk = inet_lookup_established(net, iph.daddr(), wire::load_be16(th + 2), iph.saddr(), wire::load_be16(th));
  if (!sk) {
    net.mib.icmp.InErrors++;
    return -2;  // -ENOENT
  }
  if (sk->sk_state == TCP_CLOSE) return 0;
  TcpSock* tp = tcp_sk(sk);
  const uint32_t seq = wire::load_be32(th + 4);
  if (sk->sk_state != TCP_LISTEN && !between(seq, tp->snd_una, tp->snd_nxt)) {
    net.mib.tcpext.OutOfWindowIcmps++;
    return 0;
  }
  int err;
  switch (type) {
    case 12:  // ICMP_PARAMETERPROB
      err = 71;  // EPROTO
      break;
    case wire::ICMP_DEST_UNREACH:
      if (code > 15) return 0;  // NR_ICMP_UNREACH
      if (code == 4) {  // ICMP_FRAG_NEEDED: path MTU discovery (RFC 1191)
        if (sk->sk_state == TCP_LISTEN) return 0;
        tp->mtu_info = info;
        tcp_v4_mtu_reduced(sk);  // the socket is never owned by a user here: no deferral
        return 0;
      }
      err = icmp_err_convert[code].errno_;
      break;
    case wire::ICMP_TIME_EXCEEDED:
      err = E_HOSTUNREACH;
      break;
    default:  // redirects, source quench and the rest
      return 0;
  }
  if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_SYN_RECV) {
    if (sk->recverr) ip_icmp_error(sk, skb, err, wire::load_be16(th + 2), info, th);
    sk->sk_err = err;
    sk_error_report(sk);
    tcp_done(sk);
    return 0;
  }
  // A connection keeps trying until it times out, unless the user asked for errors.
  if (sk->recverr) {
    sk->sk_err = err;
    sk_error_report(sk);
  } else {
    sk->sk_err_soft = err;
  }
  return 0;
}


namespace {

constexpr uint8_t TCPOPT_NOP = 1, TCPOPT_TIMESTAMP = 8, TCPOLEN_TIMESTAMP = 10;

}  // namespace

void tcp_v4_send_ack(Net& net, const Sock* sk, const SkBuff* skb, uint32_t seq, uint32_t ack, uint32_t win,
                     uint32_t tsval, uint32_t tsecr, int oif, uint8_t tos) {
  (void)sk;
  const uint8_t* th = skb->data;
  uint8_t rep[20 + 12] = {};
  unsigned len = 20;
  if (tsecr) {
    rep[20] = TCPOPT_NOP;
    rep[21] = TCPOPT_NOP;
    rep[22] = TCPOPT_TIMESTAMP;
    rep[23] = TCPOLEN_TIMESTAMP;
    wire::store_be32(rep + 24, tsval);
    wire::store_be32(rep + 28, tsecr);
    len += 12;
  }
  // Swap the send and the receive.
  wire::store_be16(rep, wire::load_be16(th + 2));
  wire::store_be16(rep + 2, wire::load_be16(th));
  wire::store_be32(rep + 4, seq);
  wire::store_be32(rep + 8, ack);
  rep[12] = uint8_t((len / 4) << 4);
  rep[13] = TCPHDR_ACK;
  wire::store_be16(rep + 14, uint16_t(win));

  if (ip_send_unicast_reply(net, skb, rep, len, tos, oif)) net.mib.tcp.OutSegs++;
}

void tcp_v4_timewait_ack(Net& net, InetTimewaitSock* tw, const SkBuff* skb, bool oow) {
  uint8_t tos = tw->tos;
  // An out-of-window ACK clears only the ECT bits (the whole ECN field
  // for ip_send_unicast_reply anyway).
  if (oow) tos &= uint8_t(~0x3);
  // tcp_tw_tsval: the ms clock plus the connection's offset.
  const uint32_t tsval = tcp_ns_to_ts(tw, net.engine.now()) + tw->tw_ts_offset;
  tcp_v4_send_ack(net, tw, skb, tw->tw_snd_nxt, tw->tw_rcv_nxt, tw->tw_rcv_wnd >> tw->tw_rcv_wscale, tsval,
                  tw->tw_ts_recent, tw->sk_bound_dev_if, tos);
}


namespace {

constexpr uint8_t FLOWI_FLAG_ANY_SPORT = 0x08;  // include/net/flow.h: no source port chosen yet

// ip_route_connect_init: the flow of a connecting socket; a socket without a
// port yet says so (FLOWI_FLAG_ANY_SPORT, CONFIG_IP_ROUTE_MULTIPATH).
Flowi4 ip_route_connect_init(const Sock* sk, wire::Ipv4Addr dst, wire::Ipv4Addr src, uint16_t sport,
                             uint16_t dport) {
  Flowi4 fl4;
  fl4.oif = sk->sk_bound_dev_if;
  fl4.tos = sk->tos & 0xfc;  // ip_sock_rt_tos
  fl4.proto = wire::IPPROTO_TCP;
  fl4.flags = sport ? 0 : FLOWI_FLAG_ANY_SPORT;
  fl4.daddr = dst;
  fl4.saddr = src;
  fl4.sport = sport;
  fl4.dport = dport;
  return fl4;
}

// ip_route_connect: without a source address, a first lookup chooses one
// (traced), then the flow is looked up again with it.
DstEntry* ip_route_connect(Net& net, Flowi4& fl4) {
  if (!fl4.daddr || !fl4.saddr) {
    Flowi4 first = fl4;
    if (!ip_route_output_key(net, first)) return nullptr;
    fl4.daddr = first.daddr;
    fl4.saddr = first.saddr;  // flowi4_update_output
  }
  return ip_route_output_key(net, fl4);
}

// ip_route_newports: the route again once the ports are known, if they changed.
DstEntry* ip_route_newports(Net& net, Flowi4& fl4, DstEntry* rt, uint16_t orig_sport, uint16_t orig_dport,
                            uint16_t sport, uint16_t dport, int oif) {
  if (sport == orig_sport && dport == orig_dport) return rt;
  fl4.sport = sport;
  fl4.dport = dport;
  fl4.oif = oif;  // flowi4_update_output
  return ip_route_output_key(net, fl4);
}

}  // namespace

int tcp_v4_connect(Sock* sk, const SockaddrIn* usin, int addr_len) {
  if (addr_len < SOCKADDR_IN_LEN) return -E_INVAL;
  if (usin->family != AF_INET_) return -E_AFNOSUPPORT;
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  const uint16_t orig_sport = sk->inet_sport, orig_dport = usin->port;
  Flowi4 fl4 = ip_route_connect_init(sk, usin->addr, sk->inet_saddr, orig_sport, orig_dport);
  DstEntry* rt = ip_route_connect(net, fl4);
  if (!rt) {
    net.mib.ip.OutNoRoutes++;
    return -E_NETUNREACH;
  }
  if (rt->rt_flags & (RTCF_MULTICAST | RTCF_BROADCAST)) return -E_NETUNREACH;
  const wire::Ipv4Addr daddr = fl4.daddr;
  // inet_bhash2_update_saddr: the route's source becomes the socket's.
  if (!sk->inet_saddr) sk->inet_saddr = fl4.saddr;
  sk->inet_rcv_saddr = sk->inet_saddr;
  if (tp->rx_opt.ts_recent_stamp && sk->inet_daddr != daddr) {
    tp->rx_opt.ts_recent = 0;  // inherited from another peer
    tp->rx_opt.ts_recent_stamp = 0;
    tp->write_seq = 0;
  }
  sk->inet_dport = usin->port;
  sk->inet_daddr = daddr;
  tp->rx_opt.mss_clamp = TCP_MSS_DEFAULT;

  // SYN_SENT before the port is known (the trace shows sport 0), then the
  // port and ehash.
  tcp_set_state(sk, TCP_SYN_SENT);
  int err = inet_hash_connect(sk);
  if (!err) {
    rt = ip_route_newports(net, fl4, rt, orig_sport, orig_dport, sk->inet_sport, sk->inet_dport,
                           sk->sk_bound_dev_if);
    if (!rt) err = -E_NETUNREACH;
  }
  if (!err) {
    tp->sk_gso_type = 1;    // SKB_GSO_TCPV4
    sk->sk_dst_cache = rt;  // sk_setup_caps
    if (!tp->write_seq)
      tp->write_seq = secure_tcp_seq(net, sk->inet_saddr, sk->inet_daddr, sk->inet_sport, usin->port);
    tp->tsoffset = secure_tcp_ts_off(net, int(net.sysctl.tcp_timestamps), sk->inet_saddr, sk->inet_daddr);
    sk->inet_id = uint16_t(net.rng.next());  // get_random_u16
    err = tcp_connect(sk);
    if (!err) return 0;
  }
  // failure: out of the hashes and off the port (tcp_set_state), the source
  // forgotten unless bound (inet_bhash2_reset_saddr).
  tcp_set_state(sk, TCP_CLOSE);
  if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK)) sk->inet_saddr = sk->inet_rcv_saddr = 0;
  sk->sk_dst_cache = nullptr;
  sk->inet_dport = 0;
  return err;
}

}  // namespace nettwin
