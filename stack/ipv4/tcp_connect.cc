// The active open, gathered in one file: tcp_v4_connect (net/ipv4/tcp_ipv4.c)
// with ip_route_connect / ip_route_newports (include/net/route.h), tcp_connect
// and tcp_connect_init (tcp_output.c), tcp_rcv_synsent_state_process and
// tcp_finish_connect (tcp_input.c), and the SYN_SENT part of the retransmit
// timer (tcp_timer.c: tcp_write_timeout, retransmits_timed_out).
#include "ipv4/tcp_connect.h"

#include <algorithm>

#include "core/net.h"
#include "core/secure_seq.h"
#include "core/trace_events.h"
#include "ipv4/fib.h"
#include "ipv4/inet_hashtables.h"
#include "ipv4/ipv4.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_sock.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr uint16_t TCP_MSS_DEFAULT = 536;
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

// ---- Stand-ins for the TCP foundation (tcp_transmit_skb, TCP_SKB_CB, the
// retransmit timer, tcp_ack, tcp_send_ack) until the data path provides them;
// only what the handshake needs.
namespace {

inline bool before(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
inline bool after(uint32_t a, uint32_t b) { return before(b, a); }
inline bool between(uint32_t seq1, uint32_t seq2, uint32_t seq3) { return seq3 - seq2 >= seq1 - seq2; }

constexpr int FLAG_SLOWPATH = 0x100;
constexpr unsigned MAX_TCP_HEADER = 320;
constexpr uint32_t SKB_GSO_TCPV4 = 1;

struct TcpSkbCb {
  uint32_t seq = 0, end_seq = 0;
  uint8_t tcp_flags = 0;
  uint64_t skb_mstamp_ns = 0;  // when it was last sent
};
TcpSkbCb* TCP_SKB_CB(SkBuff* skb) { return reinterpret_cast<TcpSkbCb*>(skb->cb); }

SkBuff* tcp_stream_alloc_skb(Sock* sk) {
  SkBuff* skb = sk->net->pool.alloc_skb(MAX_TCP_HEADER);
  skb_reserve(skb, int(MAX_TCP_HEADER));
  *TCP_SKB_CB(skb) = TcpSkbCb{};
  return skb;
}

void tcp_init_nondata_skb(SkBuff* skb, uint32_t seq, uint8_t flags) {
  skb->ip_summed = CHECKSUM_PARTIAL;
  TCP_SKB_CB(skb)->tcp_flags = flags;
  skb_shinfo(skb)->gso_segs = 1;
  TCP_SKB_CB(skb)->seq = seq;
  if (flags & 0x03) ++seq;  // SYN, FIN
  TCP_SKB_CB(skb)->end_seq = seq;
}

void tcp_mstamp_refresh(TcpSock* tp) {
  tp->tcp_clock_cache = tp->net->engine.now();
  tp->tcp_mstamp = tp->tcp_clock_cache / 1000;
}
uint32_t tcp_time_stamp_ts(const TcpSock* tp) { return uint32_t(tp->tcp_mstamp / 1000); }

// tcp_syn_options / tcp_established_options written in tcp_options_write's
// order: MSS, SACK_PERM with TS (or NOP NOP SACK_PERM), NOP WS; after the
// handshake NOP NOP TS.
unsigned tcp_write_options(Sock* sk, SkBuff* skb, uint8_t* opts) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  unsigned olen = 0;
  auto put32 = [&](uint32_t v) { wire::store_be32(opts + olen, v); olen += 4; };
  const uint32_t tsval = uint32_t(TCP_SKB_CB(skb)->skb_mstamp_ns / 1'000'000) + tp->tsoffset;
  if (TCP_SKB_CB(skb)->tcp_flags & 0x02) {
    put32(0x02040000u | tp->advmss);
    const bool ts = net.sysctl.tcp_timestamps != 0, sack = net.sysctl.tcp_sack != 0;
    if (ts) {
      put32(sack ? 0x0402080au : 0x0101080au);
      put32(tsval);
      put32(tp->rx_opt.ts_recent);
    } else if (sack) {
      put32(0x01010402u);
    }
    if (net.sysctl.tcp_window_scaling) put32(0x01030300u | tp->rx_opt.rcv_wscale);
  } else if (tp->rx_opt.tstamp_ok) {
    put32(0x0101080au);
    put32(tsval);
    put32(tp->rx_opt.ts_recent);
  }
  return olen;
}

// tcp_select_window for the handshake's ACK (__tcp_select_window with an
// empty receive queue): the free space within window_clamp and rcv_ssthresh,
// aligned to the scale, never shrinking the window offered.
uint16_t tcp_select_window(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  const uint32_t cur_win = tp->rcv_wup + tp->rcv_wnd - tp->rcv_nxt;
  const uint32_t space = uint32_t(uint64_t(sk->sk_rcvbuf) * 128 >> 8);
  uint32_t free_space = std::min(space, tp->rcv_ssthresh);
  const uint8_t ws = tp->rx_opt.rcv_wscale;
  uint32_t new_win = ws ? (free_space + (1u << ws) - 1) & ~((1u << ws) - 1) : free_space;
  if (new_win < cur_win) new_win = (cur_win + (1u << ws) - 1) & ~((1u << ws) - 1);
  tp->rcv_wnd = new_win;
  tp->rcv_wup = tp->rcv_nxt;
  new_win = std::min(new_win, 65535u << ws);
  return uint16_t(new_win >> ws);
}

// tcp_transmit_skb and ip_queue_xmit: a copy of skb (the original stays
// queued for retransmission) with the TCP and IP headers pushed.
int tcp_transmit_skb(Sock* sk, SkBuff* skb, int) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  tcp_mstamp_refresh(tp);
  TCP_SKB_CB(skb)->skb_mstamp_ns = tp->tcp_clock_cache;
  const TcpSkbCb* tcb = TCP_SKB_CB(skb);
  uint8_t opts[40];
  const unsigned olen = tcp_write_options(sk, skb, opts);
  const unsigned thl = 20 + olen;
  SkBuff* out = net.pool.alloc_skb(MAX_TCP_HEADER + skb->len);
  skb_reserve(out, int(MAX_TCP_HEADER));
  uint8_t* th = skb_push(out, thl);
  std::fill(th, th + thl, 0);
  skb_set_transport_header(out, 0);
  wire::store_be16(th, sk->inet_sport);
  wire::store_be16(th + 2, sk->inet_dport);
  wire::store_be32(th + 4, tcb->seq);
  wire::store_be32(th + 8, (tcb->tcp_flags & 0x10) ? tp->rcv_nxt : 0);
  th[12] = uint8_t((thl / 4) << 4);
  th[13] = tcb->tcp_flags;
  const uint16_t window = (tcb->tcp_flags & 0x02) ? uint16_t(std::min(tp->rcv_wnd, 65535u)) : tcp_select_window(sk);
  wire::store_be16(th + 14, window);
  std::copy(opts, opts + olen, th + 20);
  const uint64_t sum = wire::csum_tcpudp_nofold(sk->inet_saddr, sk->inet_daddr, thl, wire::IPPROTO_TCP);
  wire::store_be16(th + 16, wire::csum_fold(wire::csum_partial(th, thl, sum)));
  if (after(tcb->end_seq, tp->snd_nxt) || tcb->seq == tcb->end_seq) net.mib.tcp.OutSegs++;
  tp->segs_out++;
  skb_shinfo(out)->gso_segs = 1;
  skb_shinfo(out)->gso_type = SKB_GSO_TCPV4;
  // ip_queue_xmit: the socket's route (looked up again if it was reset).
  DstEntry* rt = sk->sk_dst_cache;
  if (!rt) {
    Flowi4 fl4;
    fl4.oif = sk->sk_bound_dev_if;
    fl4.tos = sk->tos & 0xfc;
    fl4.proto = wire::IPPROTO_TCP;
    fl4.saddr = sk->inet_saddr;
    fl4.daddr = sk->inet_daddr;
    fl4.sport = sk->inet_sport;
    fl4.dport = sk->inet_dport;
    rt = ip_route_output_key(net, fl4);
    if (!rt) {
      __kfree_skb(out);
      return -E_HOSTUNREACH;
    }
    sk->sk_dst_cache = rt;
  }
  uint8_t* p = skb_push(out, wire::IPV4_MIN_HLEN);
  skb_reset_network_header(out);
  wire::Iphdr iph{p};
  iph.set_version_ihl(4, 5);
  iph.set_tos(sk->tos);
  const bool df = sk->pmtudisc == IP_PMTUDISC_WANT_ || sk->pmtudisc == IP_PMTUDISC_DO_;
  iph.set_frag_off(df ? wire::IP_DF : 0);
  iph.set_id(df ? sk->inet_id++ : ip_select_ident(net));
  iph.set_ttl(uint8_t(sk->uc_ttl >= 0 ? sk->uc_ttl : net.sysctl.ip_default_ttl));
  iph.set_protocol(wire::IPPROTO_TCP);
  iph.set_saddr(sk->inet_saddr);
  iph.set_daddr(sk->inet_daddr);
  out->ip_summed = CHECKSUM_NONE;
  out->dst = rt;
  out->dev = rt->dev;
  out->protocol = wire::ETH_P_IP;
  out->priority = sk->sk_priority;
  checkpoint(net.tracer, "ip_queue_xmit", out);
  ip_local_out(net, out);
  return 0;
}

// tcp_retransmit_skb: the queued segment again, counted (RetransSegs,
// TCPSynRetrans) and traced.
int tcp_retransmit_skb(Sock* sk, SkBuff* skb, int) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  net.mib.tcp.RetransSegs++;
  if (TCP_SKB_CB(skb)->tcp_flags & 0x02) net.mib.tcpext.TCPSynRetrans++;
  tp->total_retrans++;
  tp->bytes_retrans += skb->len;
  const int err = tcp_transmit_skb(sk, skb, 1);
  trace_tcp_retransmit_skb(net.tracer, sk, skb, err);
  if (!err) tp->retrans_out++;
  if (!tp->retrans_stamp) tp->retrans_stamp = uint32_t(TCP_SKB_CB(skb)->skb_mstamp_ns / 1'000'000);
  return err;
}

void tcp_syn_sent_retransmit_timer_fn(Sock* sk);

// inet_csk_reset_xmit_timer(ICSK_TIME_RETRANS): the retransmit timer at
// jiffies + when (at most max_when).
void inet_csk_reset_xmit_timer(Sock* sk, uint8_t what, uint32_t when, uint32_t max_when) {
  TcpSock* tp = tcp_sk(sk);
  Engine& engine = sk->net->engine;
  tp->icsk_pending = what;
  engine.del_timer(tp->icsk_retransmit_timer);
  tp->icsk_retransmit_timer =
      engine.mod_timer(engine.jiffies() + std::min(when, max_when), [sk] { tcp_syn_sent_retransmit_timer_fn(sk); });
}

uint32_t tcp_clamp_rto_to_user_timeout(Sock* sk) { return tcp_sk(sk)->icsk_rto; }

// tcp_enter_loss for a lost SYN: the congestion state Loss, every packet
// in flight presumed lost.
void tcp_enter_loss(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->icsk_ca_state = TCP_CA_Loss;
  tp->undo_marker = tp->snd_una;
}

// tcp_ack for the SYN-ACK: the SYN acked, its RTT sampled (unless it was
// retransmitted: Karn), the timer stopped.
void tcp_ack(Sock* sk, SkBuff*, int) {
  TcpSock* tp = tcp_sk(sk);
  Engine& engine = sk->net->engine;
  SkBuff* syn = tp->tcp_rtx_queue.pop_front();
  if (syn) {
    if (!tp->total_retrans) {
      const uint64_t rtt_us = (tp->tcp_clock_cache - TCP_SKB_CB(syn)->skb_mstamp_ns) / 1000;
      tp->srtt_us = uint32_t(std::max<uint64_t>(rtt_us, 1) << 3);
      tp->mdev_us = uint32_t(rtt_us << 1);
      tp->rtt_min_us = uint32_t(std::max<uint64_t>(rtt_us, 1));
    }
    tp->sk_wmem_queued -= int(syn->truesize);
    __kfree_skb(syn);
  }
  tp->snd_una = tp->snd_nxt;
  tp->packets_out = 0;
  tp->retrans_out = 0;
  tp->icsk_retransmits = 0;
  tp->icsk_backoff = 0;
  tp->icsk_ca_state = TCP_CA_Open;
  engine.del_timer(tp->icsk_retransmit_timer);
  tp->icsk_pending = 0;
}

// tcp_init_transfer: the initial congestion window (1 after more than one
// SYN retransmission) and buffer space (tcp_init_buffer_space).
void tcp_init_transfer(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->snd_cwnd = (tp->total_retrans > 1 && tp->undo_marker) ? 1 : 10;
  tp->snd_cwnd_stamp = uint32_t(sk->net->engine.jiffies());
  const uint32_t maxwin = uint32_t(uint64_t(sk->sk_rcvbuf) * 128 >> 8);
  if (tp->window_clamp >= maxwin) tp->window_clamp = maxwin;  // tcp_app_win 31 reserves maxwin >> 31: nothing
  if (tp->window_clamp > 2u * tp->advmss && tp->window_clamp + tp->advmss > maxwin)
    tp->window_clamp = std::max(2u * tp->advmss, maxwin - tp->advmss);
  tp->rcv_ssthresh = std::min(tp->rcv_ssthresh, tp->window_clamp);
}

// tcp_send_ack: a bare ACK at snd_nxt.
void tcp_send_ack(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  SkBuff* buff = tcp_stream_alloc_skb(sk);
  tcp_init_nondata_skb(buff, tp->snd_nxt, 0x10);
  tcp_transmit_skb(sk, buff, 0);
  __kfree_skb(buff);
}

}  // namespace
// ---- end of the stand-ins

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

constexpr unsigned TCPOLEN_TSTAMP_ALIGNED = 12;
constexpr uint16_t TCP_MIN_MSS = 88;
constexpr uint8_t TCPHDR_SYN = 0x02, TCPHDR_RST = 0x04, TCPHDR_ACK = 0x10;
constexpr uint32_t TCP_TIMEOUT_INIT = HZ;       // 1 s
constexpr uint32_t TCP_TIMEOUT_MIN = 2;         // jiffies
constexpr uint32_t TCP_RTO_MAX = 120 * HZ;
constexpr unsigned TCP_RMEM_TO_WIN_SCALE = 8;
constexpr uint64_t TCP_DEFAULT_SCALING_RATIO = 1u << (TCP_RMEM_TO_WIN_SCALE - 1);

// dst_metric_advmss (ipv4_default_advmss): the device MTU less 40, at least 256.
uint16_t dst_metric_advmss(const DstEntry* dst) {
  return uint16_t(std::clamp<unsigned>(dst->dev->mtu - 40, 256, 65535 - 40));
}

// tcp_full_space: the window a buffer of sk_rcvbuf allows (tcp_win_from_space
// with the initial scaling ratio).
int tcp_full_space(const Sock* sk) {
  return int(uint64_t(sk->sk_rcvbuf) * TCP_DEFAULT_SCALING_RATIO >> TCP_RMEM_TO_WIN_SCALE);
}

// tcp_mtu_to_mss: the MTU less the headers and the options every segment
// carries (tcp_header_len), within mss_clamp, at least TCP_MIN_SND_MSS.
int tcp_mtu_to_mss(const TcpSock* tp, unsigned pmtu) {
  int mss = int(pmtu) - 20 - 20;
  if (mss > tp->rx_opt.mss_clamp) mss = tp->rx_opt.mss_clamp;
  mss = std::max(mss, 48);
  return mss - int(tp->tcp_header_len - 20);
}

}  // namespace

// tcp_sync_mss: mss_cache from the path MTU, bounded by half the largest
// window the peer offered (tcp_bound_to_half_wnd); MTU probing is off.
unsigned tcp_connect_sync_mss(Sock* sk, unsigned pmtu) {
  TcpSock* tp = tcp_sk(sk);
  int mss = tcp_mtu_to_mss(tp, pmtu);
  const uint32_t cutoff = tp->max_window > 1220 ? tp->max_window >> 1 : tp->max_window;  // TCP_MSS_DESIRED
  if (cutoff && uint32_t(mss) > cutoff) mss = std::max<int>(int(cutoff), 68 - int(tp->tcp_header_len));
  tp->icsk_pmtu_cookie = pmtu;
  tp->mss_cache = uint32_t(mss);
  return uint32_t(mss);
}

// tcp_initialize_rcv_mss: our guess of the peer's segment size.
void tcp_connect_initialize_rcv_mss(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  unsigned hint = std::min<unsigned>(tp->advmss, tp->mss_cache);
  hint = std::min(hint, tp->rcv_wnd / 2);
  hint = std::min<unsigned>(hint, TCP_MSS_DEFAULT);
  hint = std::max<unsigned>(hint, TCP_MIN_MSS);
  tp->icsk_ack.rcv_mss = uint16_t(hint);
}

namespace {

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
  tcp_connect_sync_mss(sk, dst->dev->mtu);  // tcp_mtup_init leaves probing off
  // The route has no RTAX_WINDOW: window_clamp stays what the user set.
  tp->advmss = dst_metric_advmss(dst);
  if (tp->rx_opt.user_mss && tp->rx_opt.user_mss < tp->advmss) tp->advmss = tp->rx_opt.user_mss;
  tcp_connect_initialize_rcv_mss(sk);
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
  SkBuff* buff = tcp_stream_alloc_skb(sk);
  if (!buff) return -E_NOBUFS;
  tcp_init_nondata_skb(buff, tp->write_seq++, TCPHDR_SYN);
  tcp_mstamp_refresh(tp);
  tp->retrans_stamp = tcp_time_stamp_ts(tp);
  // tcp_connect_queue_skb: the SYN is charged to the socket and counted in
  // flight; it waits on the retransmit queue for its ACK.
  tp->sk_wmem_queued += int(buff->truesize);
  tp->write_seq = TCP_SKB_CB(buff)->end_seq;
  tp->packets_out += 1;
  tp->tcp_rtx_queue.push_back(buff);
  const int err = tcp_transmit_skb(sk, buff, 1);
  if (err == -E_CONNREFUSED) return err;
  // snd_nxt moves after the transmit so that the SYN counts in OutSegs.
  tp->snd_nxt = tp->write_seq;
  tp->pushed_seq = tp->write_seq;
  net.mib.tcp.ActiveOpens++;
  inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, tp->icsk_rto, TCP_RTO_MAX);
  return 0;
}

namespace {

// tcp_model_timeout: how long `boundary` retransmissions take with the RTO
// doubling from rto_base (linear at TCP_RTO_MAX past the doubling), in ms.
uint32_t tcp_model_timeout(uint32_t boundary, uint32_t rto_base) {
  const uint32_t linear_backoff_thresh = uint32_t(31 - __builtin_clz(TCP_RTO_MAX / rto_base));  // ilog2
  uint64_t timeout;
  if (boundary <= linear_backoff_thresh)
    timeout = ((2ull << boundary) - 1) * rto_base;
  else
    timeout = ((2ull << linear_backoff_thresh) - 1) * rto_base + uint64_t(boundary - linear_backoff_thresh) * TCP_RTO_MAX;
  return uint32_t(timeout * 1000 / HZ);  // jiffies_to_msecs
}

// retransmits_timed_out: the time since the first retransmission's original
// transmit (retrans_stamp) has reached what `boundary` doublings of the
// initial RTO take (SYN_SENT / SYN_RECV: 1 s), or `timeout` ms if given.
bool retransmits_timed_out(Sock* sk, uint32_t boundary, uint32_t timeout) {
  TcpSock* tp = tcp_sk(sk);
  if (!tp->icsk_retransmits) return false;
  if (timeout == 0) timeout = tcp_model_timeout(boundary, TCP_TIMEOUT_INIT);
  return int32_t(tcp_time_stamp_ts(tp) - tp->retrans_stamp - timeout) >= 0;
}

// tcp_write_err: the connection dies with ETIMEDOUT (or the soft error seen).
void tcp_write_err(Sock* sk) {
  tcp_done_with_error(sk, sk->sk_err_soft ? sk->sk_err_soft : E_TIMEDOUT);
  sk->net->mib.tcpext.TCPAbortOnTimeout++;
}

// tcp_write_timeout for SYN_SENT: expired after tcp_syn_retries (or
// TCP_SYNCNT) plus tcp_syn_linear_timeouts retransmissions, or once their
// modelled time (or TCP_USER_TIMEOUT) has passed. 1: the socket is dead.
int tcp_write_timeout(Sock* sk) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  // __dst_negative_advice: a plain route stays.
  const uint32_t retry_until = tp->icsk_syn_retries ? tp->icsk_syn_retries : uint32_t(net.sysctl.tcp_syn_retries);
  const uint32_t max_retransmits = retry_until + uint32_t(net.sysctl.tcp_syn_linear_timeouts);
  bool expired = tp->icsk_retransmits >= max_retransmits;
  if (!expired) expired = retransmits_timed_out(sk, retry_until, tp->icsk_user_timeout);
  if (expired) {
    tcp_write_err(sk);
    return 1;
  }
  // sk_rethink_txhash: a new flow hash after each timeout (txrehash is on).
  tp->timeout_rehash++;
  net.mib.tcpext.TCPTimeoutRehash++;
  return 0;
}

// inet_sk_rebuild_header: a socket whose route was reset looks it up again
// (with the socket's flow: no FLOWI_FLAG_ANY_SPORT now). 0 or -EHOSTUNREACH.
int inet_sk_rebuild_header(Sock* sk) {
  if (sk->sk_dst_cache) return 0;
  Flowi4 fl4 = ip_route_connect_init(sk, sk->inet_daddr, sk->inet_saddr, sk->inet_sport, sk->inet_dport);
  DstEntry* rt = ip_route_output_key(*sk->net, fl4);
  if (!rt) return -E_HOSTUNREACH;
  sk->sk_dst_cache = rt;
  return 0;
}

}  // namespace

void tcp_syn_sent_retransmit_timer(Sock* sk) {
  Net& net = *sk->net;
  TcpSock* tp = tcp_sk(sk);
  if (!tp->packets_out || tp->tcp_rtx_queue.empty()) return;
  net.mib.tcpext.TCPTimeouts++;
  if (tcp_write_timeout(sk)) return;
  tcp_enter_loss(sk);
  // tcp_update_rto_stats
  if (!tp->icsk_retransmits) {
    tp->total_rto_recoveries++;
    tp->rto_stamp = uint32_t(tp->tcp_mstamp / 1000);
  }
  tp->icsk_retransmits++;
  tp->total_rto++;
  if (inet_sk_rebuild_header(sk) == 0) tcp_retransmit_skb(sk, tp->tcp_rtx_queue.head, 1);
  // The first tcp_syn_linear_timeouts retransmissions keep the RTO; then it doubles.
  if (tp->total_rto > net.sysctl.tcp_syn_linear_timeouts) {
    tp->icsk_backoff++;
    tp->icsk_rto = std::min(tp->icsk_rto << 1, TCP_RTO_MAX);
  }
  inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, tcp_clamp_rto_to_user_timeout(sk), TCP_RTO_MAX);
  if (retransmits_timed_out(sk, uint32_t(net.sysctl.tcp_retries1) + 1, 0)) sk->sk_dst_cache = nullptr;  // __sk_dst_reset
}

namespace {

// The SYN-ACK acked our SYN (tcp_ack's part for it): snd_una moves on, the
// SYN leaves the retransmit queue, the RTT is sampled, the timer stops.
void tcp_ack_syn(Sock* sk, SkBuff* skb) {
  tcp_ack(sk, skb, FLAG_SLOWPATH);
}

// tcp_finish_connect: ESTABLISHED, and what tcp_init_transfer starts the
// transfer with (initial cwnd, congestion control, buffer space).
void tcp_finish_connect(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tcp_set_state(sk, TCP_ESTABLISHED);
  tp->icsk_ack.lrcvtime = uint32_t(sk->net->engine.jiffies());
  (void)skb;
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
  tcp_mstamp_refresh(tp);
  const uint16_t saved_clamp = tp->rx_opt.mss_clamp;
  const TcpOptionsReceived saved = tp->rx_opt;
  tcp_parse_syn_options(net, skb, &tp->rx_opt);
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
        !between(tp->rx_opt.rcv_tsecr, tp->retrans_stamp, tcp_time_stamp_ts(tp))) {
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
    tcp_ack_syn(sk, skb);
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
    tcp_connect_sync_mss(sk, tp->icsk_pmtu_cookie);
    tcp_connect_initialize_rcv_mss(sk);
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
  // A SYN alone is a simultaneous open: not built; dropped as Linux drops a
  // segment with neither SYN nor RST.
  undo();
  sk_skb_reason_drop(sk, skb, SkbDropReason::NOT_SPECIFIED, "tcp_rcv_synsent_state_process");
  return SkbDropReason::NOT_DROPPED_YET;
}

void tcp_done(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_SYN_RECV) sk->net->mib.tcp.AttemptFails++;
  tcp_set_state(sk, TCP_CLOSE);
  // tcp_clear_xmit_timers
  sk->net->engine.del_timer(tp->icsk_retransmit_timer);
  sk->net->engine.del_timer(tp->icsk_delack_timer);
  tp->icsk_pending = 0;
  sk->sk_shutdown = SHUTDOWN_MASK;
}

void tcp_done_with_error(Sock* sk, int err) {
  TcpSock* tp = tcp_sk(sk);
  sk->sk_err = err;
  // tcp_write_queue_purge
  while (SkBuff* skb = tp->sk_write_queue.pop_front()) __kfree_skb(skb);
  while (SkBuff* skb = tp->tcp_rtx_queue.pop_front()) __kfree_skb(skb);
  tp->packets_out = 0;
  tp->sk_wmem_queued = 0;
  tcp_done(sk);
  sk_error_report(sk);
}

void tcp_reset(Sock* sk, SkBuff*) {
  trace_tcp_receive_reset(sk->net->tracer, sk);
  int err;
  switch (sk->sk_state) {
    case TCP_SYN_SENT: err = E_CONNREFUSED; break;
    case TCP_CLOSE_WAIT: err = E_PIPE; break;
    case TCP_CLOSE: return;
    default: err = E_CONNRESET; break;
  }
  tcp_done_with_error(sk, err);
}

namespace {
void tcp_syn_sent_retransmit_timer_fn(Sock* sk) {
  tcp_sk(sk)->icsk_pending = 0;
  tcp_mstamp_refresh(tcp_sk(sk));  // tcp_write_timer_handler
  if (sk->sk_state == TCP_SYN_SENT) tcp_syn_sent_retransmit_timer(sk);
}
}  // namespace

}  // namespace nettwin
