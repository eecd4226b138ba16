// net/ipv4/tcp_input.c: tcp_parse_options and tcp_conn_request, the
// passive open: a request sock, its ISN and timestamp offset, the SYN-ACK.
#include <algorithm>

#include "core/net.h"
#include "core/secure_seq.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/syncookies.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_sock.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

enum : uint8_t { TCPOPT_EOL = 0, TCPOPT_NOP = 1, TCPOPT_MSS = 2, TCPOPT_WINDOW = 3, TCPOPT_SACK_PERM = 4,
                 TCPOPT_TIMESTAMP = 8 };
constexpr uint16_t TCP_MSS_DEFAULT = 536;  // RFC 1122: what a SYN without MSS allows
constexpr uint8_t TCP_MAX_WSCALE = 14;

}  // namespace

void tcp_parse_options(const Net& net, const uint8_t* th, TcpOptionsReceived* opt, bool estab) {
  const bool syn = (th[13] & 0x02) && !estab;  // what only a SYN negotiates
  opt->saw_tstamp = false;
  const unsigned len = (th[12] >> 4) * 4u - 20;
  const uint8_t* p = th + 20;
  const uint8_t* end = p + len;
  while (p < end) {
    const uint8_t opcode = *p++;
    if (opcode == TCPOPT_EOL) return;
    if (opcode == TCPOPT_NOP) continue;
    if (p >= end) return;
    const uint8_t opsize = *p++;
    if (opsize < 2 || opsize > end - p + 2) return;  // silly or partial options
    switch (opcode) {
      case TCPOPT_MSS:
        if (opsize == 4 && syn) {
          uint16_t in_mss = wire::load_be16(p);
          if (in_mss) {
            if (opt->user_mss && opt->user_mss < in_mss) in_mss = opt->user_mss;
            opt->mss_clamp = in_mss;
          }
        }
        break;
      case TCPOPT_WINDOW:
        if (opsize == 3 && syn && net.sysctl.tcp_window_scaling) {
          opt->wscale_ok = true;
          opt->snd_wscale = std::min<uint8_t>(p[0], TCP_MAX_WSCALE);
        }
        break;
      case TCPOPT_TIMESTAMP:
        if (opsize == 10 && (estab ? opt->tstamp_ok : net.sysctl.tcp_timestamps != 0)) {
          opt->saw_tstamp = true;
          opt->rcv_tsval = wire::load_be32(p);
          opt->rcv_tsecr = wire::load_be32(p + 4);
        }
        break;
      case TCPOPT_SACK_PERM:
        if (opsize == 2 && syn && net.sysctl.tcp_sack) opt->sack_ok = 1;
        break;
      default:
        break;
    }
    p += opsize - 2;
  }
}

void tcp_listendrop(Net& net) { net.mib.tcpext.ListenDrops++; }

RequestSock* inet_lookup_reqsk(Net& net, uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport,
                               Sock** listener) {
  for (Sock* sk : net.sock.tcp_listeners) {
    for (auto& req : tcp_sk(sk)->reqsk_queue) {
      if (req->ir_rmt_addr == saddr && req->ir_rmt_port == sport && req->ir_loc_addr == daddr &&
          req->ir_num == dport) {
        *listener = sk;
        return req.get();
      }
    }
  }
  return nullptr;
}

namespace {

// tcp_syn_flood_action: a full SYN queue (or tcp_syncookies 2) answers with a
// cookie when tcp_syncookies allows (TCPReqQFullDoCookies), else drops the SYN
// (TCPReqQFullDrop). Linux logs "Possible SYN flooding on port ..." once per
// listener, unless cookies are always on; synflood_warned keeps that once.
bool tcp_syn_flood_action(Net& net, Sock* sk) {
  const int64_t syncookies = net.sysctl.tcp_syncookies;
  bool want_cookie = false;
  if (syncookies) {
    want_cookie = true;
    net.mib.tcpext.TCPReqQFullDoCookies++;
  } else {
    net.mib.tcpext.TCPReqQFullDrop++;
  }
  TcpSock* tp = tcp_sk(sk);
  if (!tp->synflood_warned && syncookies != 2) tp->synflood_warned = true;
  return want_cookie;
}

// tcp_synq_overflow: the listener's last overflow (rx_opt.ts_recent_stamp of a
// listener), refreshed at most once a second.
void tcp_synq_overflow(Net& net, Sock* sk) {
  const uint32_t now = uint32_t(net.engine.jiffies());
  uint32_t& last_overflow = tcp_sk(sk)->rx_opt.ts_recent_stamp;
  if (!(now - last_overflow <= uint32_t(HZ))) last_overflow = now;  // !time_between32(now, last, last + HZ)
}

}  // namespace

// tcp_v4_conn_request and tcp_conn_request. A SYN to a broadcast or
// multicast address is never answered. A full SYN queue (or tcp_syncookies 2)
// answers with a cookie and keeps nothing, or drops the SYN; a full accept
// queue drops it (ListenOverflows). A SYN a TIME_WAIT sock handed over
// (tcp_tw_isn) skips the flood checks and starts at the ISN it was given.
// The caller consumes the skb either way.
void tcp_v4_conn_request(Net& net, Sock* sk, SkBuff* skb) {
  if (!skb->dst || skb->dst->rt_type != RTN_LOCAL) {
    tcp_listendrop(net);
    return;
  }
  TcpSock* tp = tcp_sk(sk);
  bool want_cookie = false;
  int64_t syncookies = 0;
  uint32_t isn = net.tcp_death_row.tcp_tw_isn;
  if (isn) {
    net.tcp_death_row.tcp_tw_isn = 0;
  } else {
    syncookies = net.sysctl.tcp_syncookies;
    if (syncookies == 2 || inet_csk_reqsk_queue_is_full(sk)) {
      want_cookie = tcp_syn_flood_action(net, sk);
      if (!want_cookie) {
        tcp_listendrop(net);
        return;
      }
    }
  }
  // sk_acceptq_is_full: more children than the backlog (strictly).
  if (sk->sk_ack_backlog > sk->sk_max_ack_backlog) {
    net.mib.tcpext.ListenOverflows++;
    tcp_listendrop(net);
    return;
  }
  TcpOptionsReceived tmp_opt;
  tmp_opt.mss_clamp = TCP_MSS_DEFAULT;  // tcp_request_sock_ipv4_ops.mss_clamp
  tmp_opt.user_mss = tp->rx_opt.user_mss;
  tcp_parse_options(net, skb->data, &tmp_opt, false);
  if (want_cookie && !tmp_opt.saw_tstamp) {
    // tcp_clear_options: without timestamps a cookie cannot carry the options.
    tmp_opt.wscale_ok = false;
    tmp_opt.snd_wscale = 0;
    tmp_opt.sack_ok = 0;
  }
  tmp_opt.tstamp_ok = tmp_opt.saw_tstamp;

  wire::Iphdr iph{skb_network_header(skb)};
  const uint8_t* th = skb->data;
  auto req = std::make_unique<RequestSock>();
  req->syncookie = want_cookie;
  // tcp_openreq_init
  req->rcv_isn = wire::load_be32(th + 4);
  req->mss = tmp_opt.mss_clamp;
  req->ts_recent = tmp_opt.saw_tstamp ? tmp_opt.rcv_tsval : 0;
  req->tstamp_ok = tmp_opt.tstamp_ok;
  req->sack_ok = tmp_opt.sack_ok;
  req->snd_wscale = tmp_opt.snd_wscale;
  req->wscale_ok = tmp_opt.wscale_ok;
  req->ir_rmt_port = wire::load_be16(th);
  req->ir_num = wire::load_be16(th + 2);
  req->ir_loc_addr = iph.daddr();
  req->ir_rmt_addr = iph.saddr();
  req->ir_iif = skb->dev ? skb->dev->ifindex : 0;
  req->rsk_listener = sk;
  // route_req (tcp_v4_route_req): no route back, no answer.
  DstEntry* dst = inet_csk_route_req(net, sk, req.get());
  if (!dst) {
    tcp_listendrop(net);
    return;
  }
  if (tmp_opt.tstamp_ok)
    req->ts_off = secure_tcp_ts_off(net, int(net.sysctl.tcp_timestamps), req->ir_loc_addr, req->ir_rmt_addr);
  if (!want_cookie && !isn) {
    // Without cookies the last quarter of tcp_max_syn_backlog is kept for
    // peers proven alive (tcp_peer_is_proven: no inet_peer metrics here, so none is).
    const int64_t max_syn_backlog = net.sysctl.tcp_max_syn_backlog;
    if (!syncookies && max_syn_backlog - inet_csk_reqsk_queue_len(sk) < (max_syn_backlog >> 2)) {
      tcp_listendrop(net);
      return;
    }
    // tcp_v4_init_seq: the hash over (our address, theirs, our port, theirs).
    isn = secure_tcp_seq(net, req->ir_loc_addr, req->ir_rmt_addr, req->ir_num, req->ir_rmt_port);
  }
  if (want_cookie) {
    // cookie_init_sequence: the listener's last overflow, SyncookiesSent, and
    // the cookie, which rounds the MSS down to a msstab entry.
    tcp_synq_overflow(net, sk);
    net.mib.tcpext.SyncookiesSent++;
    isn = __cookie_v4_init_sequence(net, req->ir_rmt_addr, req->ir_loc_addr, req->ir_rmt_port, req->ir_num,
                                    req->rcv_isn, &req->mss);
  }
  req->snt_isn = isn;
  if (want_cookie) {
    // Nothing is kept: the SYN-ACK goes out and the request is freed.
    tcp_v4_send_synack(net, sk, req.get(), dst);
    return;
  }
  // tcp_timeout_init: TCP_TIMEOUT_INIT (1 s) for the first SYN-ACK timeout.
  RequestSock* r = inet_csk_reqsk_queue_hash_add(sk, std::move(req), uint32_t(HZ));
  tcp_v4_send_synack(net, sk, r, dst);
}

}  // namespace nettwin
