// net/ipv4/tcp_output.c: tcp_select_initial_window, tcp_synack_options and
// tcp_make_synack; net/ipv4/tcp_ipv4.c tcp_v4_send_synack sends it with
// ip_build_and_send_pkt (DF and ID 0 under PMTU discovery, default TTL).
#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/ipv4.h"
#include "ipv4/tcp.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_sock.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr uint32_t TCP_MAX_WSCALE = 14;
constexpr unsigned kLLReservedSpace = 16;
constexpr uint8_t TCPHDR_SYN = 0x02, TCPHDR_ACK = 0x10;
// TCP_RMEM_TO_WIN_SCALE and the scaling_ratio tcp_init_sock starts with
// (TCP_DEFAULT_SCALING_RATIO): half of the buffer is window.
constexpr unsigned TCP_RMEM_TO_WIN_SCALE = 8;
constexpr uint64_t TCP_DEFAULT_SCALING_RATIO = 1u << (TCP_RMEM_TO_WIN_SCALE - 1);

int ilog2(uint32_t v) { return 31 - __builtin_clz(v); }

}  // namespace

// tcp_select_initial_window with no initial-window route metric.
void tcp_select_initial_window(Net& net, int space_in, uint32_t mss, uint32_t* rcv_wnd, uint32_t* window_clamp,
                               bool wscale_ok, uint8_t* rcv_wscale) {
  uint32_t space = space_in < 0 ? 0 : uint32_t(space_in);
  uint32_t clamp = *window_clamp;
  if (clamp == 0) clamp = 65535u << TCP_MAX_WSCALE;
  space = std::min(clamp, space);
  if (space > mss) space = space / mss * mss;  // a multiple of the MSS
  *rcv_wnd = space;  // tcp_workaround_signed_windows is 0
  *rcv_wscale = 0;
  if (wscale_ok) {
    space = std::max<uint32_t>(space, uint32_t(net.sysctl.tcp_rmem[2]));
    space = std::max<uint32_t>(space, uint32_t(net.sysctl.rmem_max));
    space = std::min(space, clamp);
    *rcv_wscale = uint8_t(std::clamp<int>(ilog2(space) - 15, 0, int(TCP_MAX_WSCALE)));
  }
  *window_clamp = std::min<uint32_t>(65535u << *rcv_wscale, clamp);
}

void tcp_openreq_init_rwin(Net& net, const Sock* sk, RequestSock* req, unsigned mss) {
  // tcp_full_space: tcp_win_from_space of the listener's receive buffer.
  const int full_space = int(uint64_t(sk->sk_rcvbuf) * TCP_DEFAULT_SCALING_RATIO >> TCP_RMEM_TO_WIN_SCALE);
  uint32_t clamp = tcp_sk(sk)->window_clamp;  // 0: the route's RTAX_WINDOW, none here
  if ((sk->sk_userlocks & SOCK_RCVBUF_LOCK) && (clamp > uint32_t(full_space) || clamp == 0))
    clamp = uint32_t(full_space);
  uint32_t rcv_wnd = 0;
  tcp_select_initial_window(net, full_space, mss - (req->tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0), &rcv_wnd, &clamp,
                            req->wscale_ok, &req->rcv_wscale);
  req->rsk_rcv_wnd = rcv_wnd;
  req->rsk_window_clamp = clamp;
}

int tcp_v4_send_synack(Net& net, const Sock* sk, RequestSock* req) {
  DstEntry* rt = inet_csk_route_req(net, sk, req);
  if (!rt) return -1;
  // dst_metric_advmss: the device MTU less the IP and TCP headers.
  const unsigned mss = std::min<unsigned>(rt->dev->mtu - 40, 65535 - 40);
  if (!req->rsk_rcv_wnd) tcp_openreq_init_rwin(net, sk, req, mss);

  // tcp_synack_options, written in tcp_options_write's order.
  uint8_t opts[40];
  unsigned olen = 0;
  auto put32 = [&](uint32_t v) { wire::store_be32(opts + olen, v); olen += 4; };
  put32(0x02040000u | mss);
  const bool sack = req->sack_ok;
  if (req->tstamp_ok) {
    put32(sack ? 0x0402080au : 0x0101080au);
    const uint32_t tsval = tcp_ns_to_ts(sk, net.engine.now()) + req->ts_off;  // ms clock
    put32(tsval);
    put32(req->ts_recent);
  } else if (sack) {
    put32(0x01010402u);
  }
  if (req->wscale_ok) put32(0x01030300u | req->rcv_wscale);
  const unsigned thl = 20 + olen;

  uint8_t th[60] = {};
  wire::store_be16(th, req->ir_num);
  wire::store_be16(th + 2, req->ir_rmt_port);
  wire::store_be32(th + 4, req->snt_isn);
  wire::store_be32(th + 8, req->rcv_isn + 1);
  th[12] = uint8_t((thl / 4) << 4);
  th[13] = TCPHDR_SYN | TCPHDR_ACK;
  // The window of a SYN-ACK is never scaled.
  wire::store_be16(th + 14, uint16_t(std::min<uint32_t>(req->rsk_rcv_wnd, 65535)));
  std::copy(opts, opts + olen, th + 20);
  const uint64_t sum = wire::csum_tcpudp_nofold(req->ir_loc_addr, req->ir_rmt_addr, thl, wire::IPPROTO_TCP);
  wire::store_be16(th + 16, wire::csum_fold(wire::csum_partial(th, thl, sum)));

  // ip_build_and_send_pkt
  const unsigned hlen = wire::IPV4_MIN_HLEN;
  SkBuff* skb = net.pool.alloc_skb(hlen + thl + kLLReservedSpace);
  skb_reserve(skb, int(kLLReservedSpace));
  skb_reset_network_header(skb);
  uint8_t* p = skb_put(skb, hlen + thl);
  skb_set_transport_header(skb, int(hlen));
  wire::Iphdr iph{p};
  iph.set_version_ihl(4, uint8_t(hlen / 4));
  iph.set_tos(sk->tos);
  const bool df = sk->pmtudisc == IP_PMTUDISC_WANT_ || sk->pmtudisc == IP_PMTUDISC_DO_;
  iph.set_frag_off(df ? wire::IP_DF : 0);
  iph.set_id(0);  // DF: ID 0 (without DF Linux would pick an ident; pmtudisc is WANT by default)
  iph.set_ttl(uint8_t(sk->uc_ttl >= 0 ? sk->uc_ttl : net.sysctl.ip_default_ttl));
  iph.set_protocol(wire::IPPROTO_TCP);
  iph.set_saddr(req->ir_loc_addr);
  iph.set_daddr(req->ir_rmt_addr);
  std::copy(th, th + thl, p + hlen);
  skb->ip_summed = CHECKSUM_NONE;
  skb->dst = rt;
  skb->dev = rt->dev;
  skb->protocol = wire::ETH_P_IP;
  req->snt_synack = net.engine.now() / 1000;  // tcp_skb_timestamp_us of the SYN-ACK
  checkpoint(net.tracer, "ip_build_and_send_pkt", skb);
  ip_local_out(net, skb);
  net.mib.tcp.OutSegs++;
  return 0;
}

}  // namespace nettwin
