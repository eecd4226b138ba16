// net/ipv4/tcp_ipv4.c tcp_v4_send_ack and tcp_v4_timewait_ack: the ACK a
// socket without its full state (a TIME_WAIT sock) sends, through
// ip_send_unicast_reply on the per-netns control socket (IP_PMTUDISC_DO: DF,
// ID 0; the default TTL), with the tw sock's TOS.
#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/inet_timewait_sock.h"
#include "ipv4/ipv4.h"
#include "ipv4/tcp_ipv4.h"
#include "ipv4/tcp_output.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr uint8_t TCPHDR_ACK = 0x10;
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

}  // namespace nettwin
