// The active open, gathered in one file: tcp_v4_connect (net/ipv4/tcp_ipv4.c)
// with ip_route_connect / ip_route_newports (include/net/route.h), tcp_connect
// and tcp_connect_init (tcp_output.c), tcp_rcv_synsent_state_process and
// tcp_finish_connect (tcp_input.c). The SYN leaves through tcp_transmit_skb;
// its retransmissions are tcp_retransmit_timer's (tcp_timer.cc, SYN_SENT part).
#include "ipv4/tcp_connect.h"

#include <algorithm>

#include "core/net.h"
#include "core/secure_seq.h"
#include "core/trace_events.h"
#include "ipv4/fib.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ipv4.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "ipv4/tcp_timer.h"
#include "wire/headers.h"

namespace nettwin {

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

namespace {

constexpr uint32_t TCP_TIMEOUT_MIN = 2;  // jiffies

// dst_metric_advmss (ipv4_default_advmss): the device MTU less 40, at least 256.
uint16_t dst_metric_advmss(const DstEntry* dst) {
  return uint16_t(std::clamp<unsigned>(dst->dev->mtu - 40, 256, 65535 - 40));
}

// tcp_initialize_rcv_mss: our guess of the peer's segment size.
void tcp_initialize_rcv_mss(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  unsigned hint = std::min<unsigned>(tp->advmss, tp->mss_cache);
  hint = std::min(hint, tp->rcv_wnd / 2);
  hint = std::min<unsigned>(hint, TCP_MSS_DEFAULT);
  hint = std::max<unsigned>(hint, TCP_MIN_MSS);
  tp->icsk_ack.rcv_mss = uint16_t(hint);
}

// tcp_connect_init: the header length with timestamps, MSS from the route,
// the initial window and our window scale, the sequence numbers from
// write_seq, the initial RTO.
void tcp_connect_init(Sock* sk) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  const DstEntry* dst = sk->sk_dst_cache;
  tp->tcp_header_len = uint16_t(20 + (net.sysctl.tcp_timestamps ? TCPOLEN_TSTAMP_ALIGNED : 0));
  if (tp->rx_opt.user_mss) tp->rx_opt.mss_clamp = tp->rx_opt.user_mss;
  tp->max_window = 0;
  tcp_sync_mss(sk, dst->dev->mtu);  // tcp_mtup_init leaves probing off
  // The route has no RTAX_WINDOW: window_clamp stays what the user set.
  tp->advmss = dst_metric_advmss(dst);
  if (tp->rx_opt.user_mss && tp->rx_opt.user_mss < tp->advmss) tp->advmss = tp->rx_opt.user_mss;
  tcp_initialize_rcv_mss(sk);
  const int full = tcp_full_space(sk);
  if ((sk->sk_userlocks & SOCK_RCVBUF_LOCK) && (tp->window_clamp > uint32_t(full) || tp->window_clamp == 0))
    tp->window_clamp = uint32_t(full);
  uint8_t rcv_wscale = 0;
  tcp_select_initial_window(net, full,
                            tp->advmss - (tp->rx_opt.ts_recent_stamp ? tp->tcp_header_len - 20u : 0u),
                            &tp->rcv_wnd, &tp->window_clamp, net.sysctl.tcp_window_scaling != 0, &rcv_wscale);
  tp->rx_opt.rcv_wscale = rcv_wscale;
  tp->rcv_ssthresh = tp->rcv_wnd;
  sk->sk_err = 0;
  tp->snd_wnd = 0;
  tp->snd_wl1 = 0;  // tcp_init_wl
  tcp_write_queue_purge(sk);
  tp->snd_una = tp->snd_sml = tp->snd_nxt = tp->write_seq;
  tp->snd_up = tp->write_seq;
  tp->rcv_nxt = 0;
  tp->rcv_wup = tp->copied_seq = tp->rcv_nxt;
  tp->icsk_rto = TCP_TIMEOUT_INIT;
  tp->icsk_retransmits = 0;
  // tcp_clear_retrans
  tp->retrans_out = tp->lost_out = tp->undo_marker = tp->sacked_out = 0;
  tp->undo_retrans = -1;
}

}  // namespace

int tcp_connect(Sock* sk) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  tcp_connect_init(sk);
  // tcp_stream_alloc_skb: an empty skb with room for the headers, charged to
  // the socket while it waits on the retransmit queue for its ACK.
  SkBuff* buff = net.pool.alloc_skb(MAX_TCP_HEADER);
  if (!buff) return -E_NOBUFS;
  skb_reserve(buff, int(MAX_TCP_HEADER));
  buff->truesize = alloc_skb_truesize(MAX_TCP_HEADER);
  tcp_init_nondata_skb(buff, tp->write_seq++, TCPHDR_SYN);
  tcp_mstamp_refresh(sk);
  tp->retrans_stamp = tcp_time_stamp_ms(sk);
  // tcp_connect_queue_skb
  tp->sk_wmem_queued += int(buff->truesize);
  tp->write_seq = TCP_SKB_CB(buff)->end_seq;
  tp->packets_out += tcp_skb_pcount(buff);
  tp->tcp_rtx_queue.push_back(buff);  // tcp_rbtree_insert
  const int err = tcp_transmit_skb(sk, buff, true);
  if (err == -E_CONNREFUSED) return err;
  // snd_nxt moves after the transmit so that the SYN counts in OutSegs.
  tp->snd_nxt = tp->write_seq;
  tp->pushed_seq = tp->write_seq;
  net.mib.tcp.ActiveOpens++;
  inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, tp->icsk_rto, TCP_RTO_MAX);
  return 0;
}

namespace {

// tcp_send_synack (simultaneous open): our SYN, still on the retransmit queue,
// goes again with ACK set (a copy if its last clone is still on its way).
int tcp_send_synack(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* skb = tp->tcp_rtx_queue.front();
  if (!skb || !(TCP_SKB_CB(skb)->tcp_flags & TCPHDR_SYN)) return -14;  // -EFAULT: wrong queue state
  if (!(TCP_SKB_CB(skb)->tcp_flags & TCPHDR_ACK)) {
    if (skb_cloned(skb)) {
      SkBuff* nskb = skb_copy(skb);
      if (!nskb) return -E_NOMEM;
      tp->tcp_rtx_queue.unlink(skb);
      tp->sk_wmem_queued -= int(skb->truesize);
      __kfree_skb(skb);
      tp->tcp_rtx_queue.push_front(nskb);
      tp->sk_wmem_queued += int(nskb->truesize);
      skb = nskb;
    }
    TCP_SKB_CB(skb)->tcp_flags |= TCPHDR_ACK;
  }
  tcp_mstamp_refresh(sk);
  return tcp_transmit_skb(sk, skb, true);
}

}  // namespace


namespace {

// tcp_finish_connect: ESTABLISHED, the input route kept, and what
// tcp_init_transfer starts the transfer with (initial cwnd, buffer space).
void tcp_finish_connect(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tcp_set_state(sk, TCP_ESTABLISHED);
  tp->icsk_ack.lrcvtime = uint32_t(sk->net->engine.jiffies());
  sk->sk_rx_dst = skb->dst;  // inet_sk_rx_dst_set: early demux spares later lookups
  tcp_init_transfer(sk);
  tp->lsndtime = uint32_t(sk->net->engine.jiffies());
}

}  // namespace

SkbDropReason tcp_rcv_synsent_state_process(Sock* sk, SkBuff* skb) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  const uint8_t* th = skb->data;
  const uint8_t flags = th[13];
  const uint32_t seq = wire::load_be32(th + 4), ack_seq = wire::load_be32(th + 8);
  tp->rx_opt.saw_tstamp = false;
  tcp_mstamp_refresh(sk);
  const uint16_t saved_clamp = tp->rx_opt.mss_clamp;
  const TcpOptionsReceived saved = tp->rx_opt;
  tcp_parse_options(net, skb->data, &tp->rx_opt, false);
  if (tp->rx_opt.saw_tstamp && tp->rx_opt.rcv_tsecr) tp->rx_opt.rcv_tsecr -= tp->tsoffset;
  // discard_and_undo / reset_and_undo: the options seen are forgotten.
  auto undo = [&] {
    tp->rx_opt = saved;  // tcp_clear_options
    tp->rx_opt.saw_tstamp = false;
    tp->rx_opt.mss_clamp = saved_clamp;
  };

  if (flags & TCPHDR_ACK) {
    // rfc793: an ACK outside (snd_una, snd_nxt] is answered with a reset;
    // the SYN goes again soon in case a previous RST was lost.
    if (!after(ack_seq, tp->snd_una) || after(ack_seq, tp->snd_nxt)) {
      if (tp->icsk_retransmits == 0) inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, TCP_TIMEOUT_MIN, TCP_RTO_MAX);
      undo();
      return SkbDropReason::TCP_INVALID_ACK_SEQUENCE;
    }
    if (tp->rx_opt.saw_tstamp && tp->rx_opt.rcv_tsecr &&
        !between(tp->rx_opt.rcv_tsecr, tp->retrans_stamp, tcp_time_stamp_ms(sk))) {
      net.mib.tcpext.PAWSActiveRejected++;
      undo();
      return SkbDropReason::TCP_RFC7323_PAWS;
    }
    // The ACK is acceptable: a RST refuses the connection.
    if (flags & TCPHDR_RST) {
      tcp_reset(sk, skb);
      __kfree_skb(skb);
      return SkbDropReason::NOT_DROPPED_YET;
    }
    if (!(flags & TCPHDR_SYN)) {
      undo();
      sk_skb_reason_drop(sk, skb, SkbDropReason::TCP_FLAGS, "tcp_rcv_synsent_state_process");
      return SkbDropReason::NOT_DROPPED_YET;
    }
    // Our SYN is acked: the SYN-ACK.
    tp->snd_wl1 = seq;  // tcp_init_wl
    tcp_ack_synsent(sk, skb);
    tp->rcv_nxt = seq + 1;
    tp->rcv_wup = seq + 1;
    tp->snd_wnd = wire::load_be16(th + 14);  // a SYN's window is never scaled
    if (!tp->rx_opt.wscale_ok) {
      tp->rx_opt.snd_wscale = tp->rx_opt.rcv_wscale = 0;
      tp->window_clamp = std::min(tp->window_clamp, 65535u);
    }
    if (tp->rx_opt.saw_tstamp) {
      tp->rx_opt.tstamp_ok = true;
      tp->tcp_header_len = uint16_t(20 + TCPOLEN_TSTAMP_ALIGNED);
      tp->advmss -= TCPOLEN_TSTAMP_ALIGNED;
      // tcp_store_ts_recent
      tp->rx_opt.ts_recent = tp->rx_opt.rcv_tsval;
      tp->rx_opt.ts_recent_stamp = uint32_t(net.engine.now() / 1'000'000'000);
    } else {
      tp->tcp_header_len = 20;
    }
    tcp_sync_mss(sk, tp->icsk_pmtu_cookie);
    tcp_initialize_rcv_mss(sk);
    tp->copied_seq = tp->rcv_nxt;
    tcp_finish_connect(sk, skb);
    tcp_send_ack(sk);
    // "Do step6 onward by hand": the SYN-ACK carries nothing more to queue.
    __kfree_skb(skb);
    return SkbDropReason::NOT_DROPPED_YET;
  }

  // No ACK: a RST is dropped.
  if (flags & TCPHDR_RST) {
    undo();
    sk_skb_reason_drop(sk, skb, SkbDropReason::TCP_RESET, "tcp_rcv_synsent_state_process");
    return SkbDropReason::NOT_DROPPED_YET;
  }
  // A SYN alone: crossed SYNs, a simultaneous open (or a connect to self).
  if (flags & TCPHDR_SYN) {
    tcp_set_state(sk, TCP_SYN_RECV);
    if (tp->rx_opt.saw_tstamp) {
      tp->rx_opt.tstamp_ok = true;
      tp->rx_opt.ts_recent = tp->rx_opt.rcv_tsval;  // tcp_store_ts_recent
      tp->rx_opt.ts_recent_stamp = uint32_t(net.engine.now() / 1'000'000'000);
      tp->tcp_header_len = uint16_t(20 + TCPOLEN_TSTAMP_ALIGNED);
    } else {
      tp->tcp_header_len = 20;
    }
    tp->rcv_nxt = seq + 1;
    tp->copied_seq = tp->rcv_nxt;
    tp->rcv_wup = seq + 1;
    tp->snd_wnd = wire::load_be16(th + 14);  // a SYN's window is never scaled
    tp->snd_wl1 = seq;
    tp->max_window = tp->snd_wnd;
    tcp_sync_mss(sk, tp->icsk_pmtu_cookie);
    tcp_initialize_rcv_mss(sk);
    tcp_send_synack(sk);
    __kfree_skb(skb);  // consume
    return SkbDropReason::NOT_DROPPED_YET;
  }
  // Neither SYN nor RST: dropped.
  undo();
  sk_skb_reason_drop(sk, skb, SkbDropReason::NOT_SPECIFIED, "tcp_rcv_synsent_state_process");
  return SkbDropReason::NOT_DROPPED_YET;
}

void tcp_rcv_synrecv_state(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tp->delivered++;  // SYN-ACK delivery is not tracked in tcp_ack
  tp->retrans_stamp = 0;
  tcp_init_transfer(sk);
  tp->copied_seq = tp->rcv_nxt;
  tcp_set_state(sk, TCP_ESTABLISHED);
  tp->snd_una = TCP_SKB_CB(skb)->ack_seq;
  tp->snd_wnd = uint32_t(wire::load_be16(skb->data + 14)) << tp->rx_opt.snd_wscale;
  tp->snd_wl1 = TCP_SKB_CB(skb)->seq;  // tcp_init_wl
  if (tp->rx_opt.tstamp_ok) tp->advmss = uint16_t(tp->advmss - TCPOLEN_TSTAMP_ALIGNED);
  tp->lsndtime = uint32_t(sk->net->engine.jiffies());
  tcp_initialize_rcv_mss(sk);
}

}  // namespace nettwin
