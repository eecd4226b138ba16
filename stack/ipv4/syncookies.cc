// net/ipv4/syncookies.c, the arithmetic: all u32 and wrapping, as in Linux.
#include "ipv4/syncookies.h"

#include <iterator>

#include "core/net.h"
#include "core/secure_seq.h"
#include "ipv4/inet_connection_sock.h"
#include "ipv4/tcp.h"
#include "socket/sock.h"
#include "wire/headers.h"

namespace nettwin {
namespace {

uint32_t cookie_hash(Net& net, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t count,
                     int c) {
  const siphash_key_t* keys = net.secrets.syncookie_secret(net.rng);
  return uint32_t(siphash_4u32(be32_bits(saddr), be32_bits(daddr), be16_bits(sport) << 16 | be16_bits(dport),
                               count, &keys[c]));
}

// HASH(sec1, tuple) + sseq + count<<24 + ((HASH(sec2, tuple, count) + data) mod 2^24)
uint32_t secure_tcp_syn_cookie(Net& net, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
                               uint32_t sseq, uint32_t data) {
  uint32_t count = tcp_cookie_time(net);
  return cookie_hash(net, saddr, daddr, sport, dport, 0, 0) + sseq + (count << COOKIEBITS) +
         ((cookie_hash(net, saddr, daddr, sport, dport, count, 1) + data) & COOKIEMASK);
}

// The data value back, or a value >= the msstab size if the cookie is bad.
uint32_t check_tcp_syn_cookie(Net& net, uint32_t cookie, uint32_t saddr, uint32_t daddr, uint16_t sport,
                              uint16_t dport, uint32_t sseq) {
  uint32_t count = tcp_cookie_time(net);
  cookie -= cookie_hash(net, saddr, daddr, sport, dport, 0, 0) + sseq;
  // Only the count's low 8 bits survive in the cookie: compare modulo 2^8.
  uint32_t diff = (count - (cookie >> COOKIEBITS)) & (uint32_t(-1) >> COOKIEBITS);
  if (diff >= MAX_SYNCOOKIE_AGE) return uint32_t(-1);
  return (cookie - cookie_hash(net, saddr, daddr, sport, dport, count - diff, 1)) & COOKIEMASK;
}

}  // namespace

uint32_t tcp_cookie_time(const Net& net) { return uint32_t(net.engine.jiffies() / TCP_SYNCOOKIE_PERIOD); }

uint32_t __cookie_v4_init_sequence(Net& net, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
                                   uint32_t seq, uint16_t* mssp) {
  const uint16_t mss = *mssp;
  int mssind;
  for (mssind = int(std::size(msstab)) - 1; mssind; mssind--)
    if (mss >= msstab[mssind]) break;
  *mssp = msstab[mssind];
  return secure_tcp_syn_cookie(net, saddr, daddr, sport, dport, seq, uint32_t(mssind));
}

int __cookie_v4_check(Net& net, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t seq,
                      uint32_t cookie) {
  // The ACK's seq is the SYN's plus one.
  uint32_t mssind = check_tcp_syn_cookie(net, cookie, saddr, daddr, sport, dport, seq - 1);
  return mssind < std::size(msstab) ? msstab[mssind] : 0;
}

uint64_t cookie_init_timestamp(bool wscale_ok, uint8_t snd_wscale, bool sack_ok, bool ecn_ok, uint64_t now_ns) {
  uint64_t ts_now = now_ns / (1000000000ull / TCP_TS_HZ);
  uint32_t options = wscale_ok ? snd_wscale : TS_OPT_WSCALE_MASK;
  if (sack_ok) options |= TS_OPT_SACK;
  if (ecn_ok) options |= TS_OPT_ECN;
  uint64_t ts = (ts_now >> TSBITS) << TSBITS;
  ts |= options;
  // Later TSvals come from the plain clock: the first must not be ahead of it.
  if (ts > ts_now) ts -= (1ul << TSBITS);
  return ts * (1000000000ull / TCP_TS_HZ);
}

bool cookie_timestamp_decode(int sysctl_tcp_timestamps, int sysctl_tcp_sack, int sysctl_tcp_window_scaling,
                             TcpOptionsReceived* tcp_opt) {
  uint32_t options = tcp_opt->rcv_tsecr;
  if (!tcp_opt->saw_tstamp) {
    // tcp_clear_options: no TSecr, no options to recover.
    tcp_opt->tstamp_ok = false;
    tcp_opt->sack_ok = 0;
    tcp_opt->wscale_ok = false;
    tcp_opt->snd_wscale = 0;
    return true;
  }
  if (!sysctl_tcp_timestamps) return false;
  tcp_opt->sack_ok = (options & TS_OPT_SACK) ? TCP_SACK_SEEN : 0;
  if (tcp_opt->sack_ok && !sysctl_tcp_sack) return false;
  if ((options & TS_OPT_WSCALE_MASK) == TS_OPT_WSCALE_MASK) return true;  // no window scaling
  tcp_opt->wscale_ok = true;
  tcp_opt->snd_wscale = uint8_t(options & TS_OPT_WSCALE_MASK);
  return sysctl_tcp_window_scaling != 0;
}

bool cookie_ecn_ok(const TcpOptionsReceived& tcp_opt, int sysctl_tcp_ecn, bool dst_feature_ecn) {
  if (!(tcp_opt.rcv_tsecr & TS_OPT_ECN)) return false;
  return sysctl_tcp_ecn ? true : dst_feature_ecn;
}

namespace {

// tcp_synq_no_recent_overflow: no cookie went out in the last
// TCP_SYNCOOKIE_VALID (two minutes; the listener's rx_opt.ts_recent_stamp
// holds the jiffies of the last overflow).
bool tcp_synq_no_recent_overflow(const Net& net, const Sock* sk) {
  constexpr uint32_t TCP_SYNCOOKIE_VALID = uint32_t(MAX_SYNCOOKIE_AGE * TCP_SYNCOOKIE_PERIOD);
  const uint32_t now = uint32_t(net.engine.jiffies());
  const uint32_t last_overflow = tcp_sk(sk)->rx_opt.ts_recent_stamp;
  const uint32_t lo = last_overflow - uint32_t(HZ), hi = last_overflow + TCP_SYNCOOKIE_VALID;
  return !(hi - lo >= now - lo);  // !time_between32(now, lo, hi)
}

}  // namespace

Sock* cookie_v4_check(Net& net, Sock* sk, SkBuff* skb) {
  const uint8_t* th = skb->data;
  const uint8_t flags = th[13];
  if (!net.sysctl.tcp_syncookies || !(flags & 0x10) || (flags & 0x04)) return sk;
  // cookie_tcp_check
  if (tcp_synq_no_recent_overflow(net, sk)) return sk;
  wire::Iphdr iph{skb_network_header(skb)};
  const uint16_t sport = wire::load_be16(th), dport = wire::load_be16(th + 2);
  const uint32_t seq = wire::load_be32(th + 4), ack_seq = wire::load_be32(th + 8);
  const int mss = __cookie_v4_check(net, iph.saddr(), iph.daddr(), sport, dport, seq, ack_seq - 1);
  if (!mss) {
    net.mib.tcpext.SyncookiesFailed++;
    return sk;
  }
  net.mib.tcpext.SyncookiesRecv++;
  // The options the SYN had come back from the echoed TSecr.
  TcpOptionsReceived tcp_opt;
  tcp_parse_options(net, skb->data, &tcp_opt, false);
  uint32_t tsoff = 0;
  if (tcp_opt.saw_tstamp && tcp_opt.rcv_tsecr) {
    tsoff = secure_tcp_ts_off(net, int(net.sysctl.tcp_timestamps), iph.daddr(), iph.saddr());
    tcp_opt.rcv_tsecr -= tsoff;
  }
  if (!cookie_timestamp_decode(int(net.sysctl.tcp_timestamps), int(net.sysctl.tcp_sack),
                               int(net.sysctl.tcp_window_scaling), &tcp_opt))
    return sk;
  // cookie_tcp_reqsk_alloc: the request the SYN would have made.
  RequestSock req;
  req.mss = uint16_t(mss);
  req.ts_recent = tcp_opt.saw_tstamp ? tcp_opt.rcv_tsval : 0;
  req.snd_wscale = tcp_opt.snd_wscale;
  req.tstamp_ok = tcp_opt.saw_tstamp;
  req.sack_ok = tcp_opt.sack_ok;
  req.wscale_ok = tcp_opt.wscale_ok;
  req.ir_loc_addr = iph.daddr();
  req.ir_rmt_addr = iph.saddr();
  req.ir_num = dport;
  req.ir_rmt_port = sport;
  req.ir_iif = skb->dev ? skb->dev->ifindex : 0;
  req.rcv_isn = seq - 1;
  req.snt_isn = ack_seq - 1;
  req.ts_off = tsoff;
  req.syncookie = true;
  req.rsk_listener = sk;
  DstEntry* dst = inet_csk_route_req(net, sk, &req);
  if (!dst) {
    sk_skb_reason_drop(sk, skb, SkbDropReason::IP_OUTNOROUTES, "cookie_v4_check");
    return nullptr;
  }
  // ECN as the SYN-ACK's TSval said it was accepted, with the route's `features ecn`.
  req.ecn_ok = cookie_ecn_ok(tcp_opt, int(net.sysctl.tcp_ecn), dst_feature(dst, DST_FEATURE_ECN_MASK));
  // Try to redo what tcp_v4_send_synack did: the window from the listener's
  // full space, the cookie's MSS (no timestamp allowance).
  const uint32_t full_space = uint32_t(uint64_t(sk->sk_rcvbuf) * 128 >> 8);  // tcp_full_space
  uint32_t clamp = tcp_sk(sk)->window_clamp;
  if (!clamp) clamp = dst_metric(dst, RTAX_WINDOW);
  // Only a user-set receive buffer limits the window (SOCK_RCVBUF_LOCK).
  if ((sk->sk_userlocks & SOCK_RCVBUF_LOCK) && (clamp == 0 || clamp > full_space)) clamp = full_space;
  tcp_select_initial_window(net, int(full_space), req.mss, &req.rsk_rcv_wnd, &clamp, req.wscale_ok, &req.rcv_wscale,
                            dst_metric(dst, RTAX_INITRWND));
  req.rsk_window_clamp = clamp;
  // tcp_get_cookie_sock
  Sock* child = tcp_v4_syn_recv_sock(net, sk, skb, &req, dst);
  if (!child) {
    sk_skb_reason_drop(sk, skb, SkbDropReason::NO_SOCKET, "cookie_v4_check");
    return nullptr;
  }
  return child;
}

}  // namespace nettwin
