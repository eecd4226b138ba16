#include "core/trace_events.h"

#include <cstdio>
#include <string>

#include "core/neighbour.h"
#include "core/netdevice.h"
#include "core/skbuff.h"
#include "ipv4/fib.h"
#include "sched/sch_generic.h"
#include "socket/sock.h"
#include "wire/headers.h"

namespace nettwin::tp {

namespace {
using std::to_string;
const std::string kZeroMac = "00:00:00:00:00:00";
std::string dev_name(const NetDevice* dev) { return dev ? dev->name : std::string("NULL"); }
}  // namespace

void netif_rx(Tracer& t, const SkBuff* skb) {
  if (!t.wants(Tp::netif_rx)) return;
  t.emit(Tp::netif_rx, skb->id, {{"len", to_string(skb->len)}, {"name", dev_name(skb->dev)}});
}

void netif_receive_skb(Tracer& t, const SkBuff* skb) {
  if (!t.wants(Tp::netif_receive_skb)) return;
  t.emit(Tp::netif_receive_skb, skb->id, {{"len", to_string(skb->len)}, {"name", dev_name(skb->dev)}});
}

void net_dev_queue(Tracer& t, const SkBuff* skb) {
  if (!t.wants(Tp::net_dev_queue)) return;
  t.emit(Tp::net_dev_queue, skb->id, {{"len", to_string(skb->len)}, {"name", dev_name(skb->dev)}});
}

void net_dev_start_xmit(Tracer& t, const SkBuff* skb, const NetDevice* dev) {
  if (!t.wants(Tp::net_dev_start_xmit)) return;
  const SkbSharedInfo* sh = skb_shinfo(skb);
  const bool tvalid = skb_transport_header_was_set(skb);
  t.emit(Tp::net_dev_start_xmit, skb->id,
         {{"name", dev_name(dev)},
          {"queue_mapping", to_string(skb->queue_mapping)},
          {"vlan_tagged", "0"},
          {"vlan_proto", "0"},
          {"vlan_tci", "0"},
          {"protocol", to_string(skb->protocol)},
          {"ip_summed", to_string(skb->ip_summed)},
          {"len", to_string(skb->len)},
          {"data_len", to_string(skb->data_len)},
          {"network_offset", to_string(skb_network_offset(skb))},
          {"transport_offset_valid", tvalid ? "1" : "0"},
          {"transport_offset", to_string(tvalid ? skb_transport_offset(skb) : 0)},
          {"tx_flags", to_string(sh->tx_flags)},
          {"gso_size", to_string(sh->gso_size)},
          {"gso_segs", to_string(sh->gso_segs)},
          {"gso_type", to_string(sh->gso_type)}});
}

void net_dev_xmit(Tracer& t, uint64_t skb_id, int rc, const NetDevice* dev, unsigned len) {
  if (!t.wants(Tp::net_dev_xmit)) return;
  t.emit(Tp::net_dev_xmit, skb_id, {{"len", to_string(len)}, {"rc", to_string(rc)}, {"name", dev_name(dev)}});
}

void napi_poll(Tracer& t, const NapiStruct* napi, int work, int budget) {
  if (!t.wants(Tp::napi_poll)) return;
  t.emit(Tp::napi_poll, 0,
         {{"dev_name", napi->dev ? napi->dev->name : std::string("(no_device)")},
          {"work", to_string(work)},
          {"budget", to_string(budget)}});
}

void kfree_skb(Tracer& t, const SkBuff* skb, const char* location, SkbDropReason reason, bool rx_sk) {
  if (!t.wants(Tp::kfree_skb)) return;
  t.emit(Tp::kfree_skb, skb->id,
         {{"location", location},
          {"rx_sk", rx_sk ? "1" : "0"},
          {"protocol", to_string(skb->protocol)},
          {"reason", drop_reason_name(reason)}});
}

void udp_fail_queue_rcv_skb(Tracer& t, int rc, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr,
                            uint16_t dport) {
  if (!t.wants(Tp::udp_fail_queue_rcv_skb)) return;
  t.emit(Tp::udp_fail_queue_rcv_skb, 0,
         {{"rc", to_string(rc)},
          {"sport", to_string(sport)},
          {"dport", to_string(dport)},
          {"family", "2"},
          {"saddr", wire::format_ipv4(saddr)},
          {"daddr", wire::format_ipv4(daddr)}});
}

namespace {

// A kernel pointer as the tracepoints print it (%p).
std::string ptr_string(const void* p) {
  char buf[2 + 16 + 1];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

// The skb's bytes as pwru reads them for its pcap filter: from the MAC header
// when one was set before the network header (l2), else from the network
// header (l3); nothing while the skb holds no header yet (a socket's payload).
void add_frame_fields(const SkBuff* skb, TraceFields& f) {
  const uint8_t* from = nullptr;
  const char* layer = nullptr;
  if (skb_mac_header_was_set(skb) && skb->network_header != SKB_HEADER_UNSET && skb->mac_header < skb->network_header) {
    from = skb_mac_header(skb), layer = "l2";
  } else if (skb->network_header != SKB_HEADER_UNSET) {
    from = skb_network_header(skb), layer = "l3";
  }
  const uint8_t* end = skb->data + skb->len;
  if (!from || from > end) return;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size_t(end - from) * 2);
  for (const uint8_t* p = from; p < end; ++p) hex += kHex[*p >> 4], hex += kHex[*p & 15];
  f.emplace_back("frame_layer", layer);
  f.emplace_back("frame", std::move(hex));
}

// TP_STORE_ADDR_PORTS for IPv4: the ports, the family, the addresses and
// their v4-mapped v6 forms.
TraceFields tcp_addr_port_fields(uint16_t sport, uint16_t dport, wire::Ipv4Addr saddr, wire::Ipv4Addr daddr) {
  const std::string s = wire::format_ipv4(saddr), d = wire::format_ipv4(daddr);
  return {{"sport", to_string(sport)}, {"dport", to_string(dport)}, {"family", "2"},
          {"saddr", s}, {"daddr", d}, {"saddr_v6", "::ffff:" + s}, {"daddr_v6", "::ffff:" + d}};
}

// skaddr, any fields of the event's own, then a socket's addresses and ports.
TraceFields tcp_sk_fields(const Sock* sk, TraceFields own = {}) {
  TraceFields f = {{"skaddr", ptr_string(sk)}};
  f.insert(f.end(), own.begin(), own.end());
  const TraceFields a = tcp_addr_port_fields(sk->inet_sport, sk->inet_dport, sk->inet_saddr, sk->inet_daddr);
  f.insert(f.end(), a.begin(), a.end());
  return f;
}

}  // namespace

void tcp_cong_state_set(Tracer& t, const Sock* sk, uint8_t ca_state) {
  if (!t.wants(Tp::tcp_cong_state_set)) return;
  TraceFields f = tcp_sk_fields(sk);
  f.emplace_back("cong_state", to_string(ca_state));
  t.emit(Tp::tcp_cong_state_set, 0, std::move(f));
}

// show_tcp_state_name.
const char* tcp_state_name(int state) {
  static const char* const names[] = {"UNKNOWN", "TCP_ESTABLISHED", "TCP_SYN_SENT", "TCP_SYN_RECV",
                                      "TCP_FIN_WAIT1", "TCP_FIN_WAIT2", "TCP_TIME_WAIT", "TCP_CLOSE",
                                      "TCP_CLOSE_WAIT", "TCP_LAST_ACK", "TCP_LISTEN", "TCP_CLOSING",
                                      "TCP_NEW_SYN_RECV"};
  return state >= 0 && state <= 12 ? names[state] : "UNKNOWN";
}

void inet_sock_set_state(Tracer& t, const Sock* sk, int oldstate, int newstate) {
  if (!t.wants(Tp::inet_sock_set_state)) return;
  TraceFields f = {{"skaddr", ptr_string(sk)},
                   {"oldstate", tcp_state_name(oldstate)},
                   {"newstate", tcp_state_name(newstate)}};
  TraceFields a = tcp_addr_port_fields(sk->inet_sport, sk->inet_dport, sk->inet_saddr, sk->inet_daddr);
  a.insert(a.begin() + 3, {"protocol", to_string(sk->sk_protocol)});  // after family, as the format has it
  f.insert(f.end(), a.begin(), a.end());
  t.emit(Tp::inet_sock_set_state, 0, std::move(f));
}

// include/trace/events/tcp.h tcp_retransmit_synack: the request's addresses
// (ir_loc_addr is saddr) and ports, IPv4 so the v6 fields are v4-mapped.
void tcp_retransmit_synack(Tracer& t, const Sock* sk, const void* req, wire::Ipv4Addr saddr, uint16_t sport,
                           wire::Ipv4Addr daddr, uint16_t dport) {
  if (!t.wants(Tp::tcp_retransmit_synack)) return;
  TraceFields f = {{"skaddr", ptr_string(sk)}, {"req", ptr_string(req)}};
  const TraceFields a = tcp_addr_port_fields(sport, dport, saddr, daddr);
  f.insert(f.end(), a.begin(), a.end());
  t.emit(Tp::tcp_retransmit_synack, 0, std::move(f));
}

namespace {

// The tcp_event_sk class: skaddr, ports, family, addresses, sock_cookie.
TraceFields tcp_event_sk_fields(const Sock* sk) {
  TraceFields f = tcp_sk_fields(sk);
  f.emplace_back("sock_cookie", "0");
  return f;
}

}  // namespace

void tcp_receive_reset(Tracer& t, const Sock* sk) {
  if (t.wants(Tp::tcp_receive_reset)) t.emit(Tp::tcp_receive_reset, 0, tcp_event_sk_fields(sk));
}

void tcp_destroy_sock(Tracer& t, const Sock* sk) {
  if (t.wants(Tp::tcp_destroy_sock)) t.emit(Tp::tcp_destroy_sock, 0, tcp_event_sk_fields(sk));
}

void tcp_rcv_space_adjust(Tracer& t, const Sock* sk) {
  if (t.wants(Tp::tcp_rcv_space_adjust)) t.emit(Tp::tcp_rcv_space_adjust, 0, tcp_event_sk_fields(sk));
}

// include/trace/events/tcp.h tcp_rcvbuf_grow: the measure, then the socket
// (ports and addresses, skaddr, sock_cookie) in the format's order.
void tcp_rcvbuf_grow(Tracer& t, const Sock* sk, const TcpRcvbufGrowFields& v) {
  if (!t.wants(Tp::tcp_rcvbuf_grow)) return;
  TraceFields f = {{"time", to_string(v.time)},
                   {"rtt_us", to_string(v.rtt_us)},
                   {"copied", to_string(v.copied)},
                   {"inq", to_string(v.inq)},
                   {"space", to_string(v.space)},
                   {"ooo_space", to_string(v.ooo_space)},
                   {"rcvbuf", to_string(v.rcvbuf)},
                   {"rcv_ssthresh", to_string(v.rcv_ssthresh)},
                   {"window_clamp", to_string(v.window_clamp)},
                   {"rcv_wnd", to_string(v.rcv_wnd)},
                   {"scaling_ratio", to_string(v.scaling_ratio)}};
  const TraceFields a = tcp_addr_port_fields(sk->inet_sport, sk->inet_dport, sk->inet_saddr, sk->inet_daddr);
  f.insert(f.end(), a.begin(), a.end());
  f.emplace_back("skaddr", ptr_string(sk));
  f.emplace_back("sock_cookie", "0");
  t.emit(Tp::tcp_rcvbuf_grow, 0, std::move(f));
}

void tcp_retransmit_skb(Tracer& t, const Sock* sk, const SkBuff* skb, int err) {
  if (!t.wants(Tp::tcp_retransmit_skb)) return;
  TraceFields f = {{"skbaddr", ptr_string(skb)}};
  const TraceFields s = tcp_sk_fields(sk, {{"state", tcp_state_name(sk->sk_state)}});
  f.insert(f.end(), s.begin(), s.end());
  f.emplace_back("err", std::to_string(err));
  t.emit(Tp::tcp_retransmit_skb, 0, std::move(f));
}

void tcp_probe(Tracer& t, const Sock* sk, const SkBuff* skb, uint16_t data_len, const TcpProbeState& st) {
  if (!t.wants(Tp::tcp_probe)) return;
  TraceFields f = tcp_sk_fields(sk, {{"skbaddr", ptr_string(skb)}});
  const std::pair<const char*, uint32_t> values[] = {
      {"mark", 0},         {"data_len", data_len},         {"snd_nxt", st.snd_nxt}, {"snd_una", st.snd_una},
      {"snd_cwnd", st.snd_cwnd}, {"ssthresh", st.ssthresh}, {"snd_wnd", st.snd_wnd}, {"srtt", st.srtt},
      {"rcv_wnd", st.rcv_wnd}};
  for (const auto& [name, value] : values) f.emplace_back(name, std::to_string(value));
  f.emplace_back("sock_cookie", "0");
  t.emit(Tp::tcp_probe, skb->id, std::move(f));
}

void tcp_bad_csum(Tracer& t, const SkBuff* skb) {
  if (!t.wants(Tp::tcp_bad_csum)) return;
  const uint8_t* nh = skb_network_header(skb);
  const uint8_t* th = skb->data;
  t.emit(Tp::tcp_bad_csum, skb->id,
         {{"saddr", wire::format_ipv4(wire::load_be32(nh + 12)) + ":" + to_string(wire::load_be16(th))},
          {"daddr", wire::format_ipv4(wire::load_be32(nh + 16)) + ":" + to_string(wire::load_be16(th + 2))}});
}

// include/trace/events/tcp.h tcp_send_reset: without a full socket the
// addresses come from the segment, swapped (saddr is the segment's dest), and
// state is 0, which prints as UNKNOWN.
void tcp_send_reset(Tracer& t, const Sock* sk, const SkBuff* skb, const char* reason) {
  if (!t.wants(Tp::tcp_send_reset)) return;
  std::string src, dst;
  if (sk && sk->sk_state != TCP_TIME_WAIT && sk->sk_state != TCP_NEW_SYN_RECV) {
    // A full socket gives its own addresses (TP_STORE_ADDR_PORTS): a
    // listener's are its bound ones, 0.0.0.0 and port 0 for the peer; so
    // are an active reset's.
    src = wire::format_ipv4(sk->inet_saddr) + ":" + to_string(sk->inet_sport);
    dst = wire::format_ipv4(sk->inet_daddr) + ":" + to_string(sk->inet_dport);
  } else if (skb) {
    const uint8_t* nh = skb_network_header(skb);
    const uint8_t* th = skb->data;
    src = wire::format_ipv4(wire::load_be32(nh + 16)) + ":" + to_string(wire::load_be16(th + 2));
    dst = wire::format_ipv4(wire::load_be32(nh + 12)) + ":" + to_string(wire::load_be16(th));
  }
  t.emit(Tp::tcp_send_reset, skb ? skb->id : 0,
         {{"skaddr", sk ? ptr_string(sk) : "0000000000000000"},
          {"state", sk ? tcp_state_name(sk->sk_state) : "UNKNOWN"},
          {"reason", reason},
          {"saddr", src},
          {"daddr", dst}});
}

void consume_skb(Tracer& t, const SkBuff* skb, const char* location) {
  if (!t.wants(Tp::consume_skb)) return;
  t.emit(Tp::consume_skb, skb->id, {{"location", location}});
}

void qdisc_enqueue(Tracer& t, const Qdisc* q, const SkBuff* skb) {
  if (!t.wants(Tp::qdisc_enqueue)) return;
  t.emit(Tp::qdisc_enqueue, skb->id,
         {{"ifindex", to_string(q->dev->ifindex)}, {"handle", to_string(q->handle)}, {"parent", to_string(q->parent)}});
}

void qdisc_dequeue(Tracer& t, const Qdisc* q, int packets, const SkBuff* skb) {
  if (!t.wants(Tp::qdisc_dequeue)) return;
  t.emit(Tp::qdisc_dequeue, skb ? skb->id : 0,
         {{"packets", to_string(packets)},
          {"ifindex", to_string(q->dev->ifindex)},
          {"handle", to_string(q->handle)},
          {"parent", to_string(q->parent)},
          {"txq_state", q->dev->xoff ? "1" : "0"}});
}

void neigh_create(Tracer& t, const NeighTable& tbl, const NetDevice* dev, wire::Ipv4Addr key, const NeighbourEntry* n,
                  bool gc_exempt) {
  if (!t.wants(Tp::neigh_create)) return;
  t.emit(Tp::neigh_create, 0,
         {{"family", to_string(tbl.family)},
          {"dev", dev_name(dev)},
          {"entries", to_string(tbl.gc_entries)},
          {"created", n ? "1" : "0"},
          {"gc_exempt", gc_exempt ? "1" : "0"},
          {"primary_key4", wire::format_ipv4(key)},
          {"primary_key6", "::"}});
}

// The fields every neigh tracepoint about an entry starts with, in format order.
static TraceFields neigh_entry_fields(const NeighbourEntry* n) {
  return {{"family", to_string(n->tbl->family)},
          {"dev", dev_name(n->dev)},
          {"lladdr", wire::format_mac(n->ha)},
          {"lladdr_len", to_string(n->dev ? n->dev->addr_len : 32)},
          {"flags", to_string(n->flags)},
          {"nud_state", neigh_state_name(n->nud_state)},
          {"type", to_string(n->type)},
          {"dead", to_string(n->dead)},
          {"refcnt", to_string(n->refcnt)},
          {"primary_key4", wire::format_ipv4(n->primary_key)},
          {"primary_key6", "::ffff:" + wire::format_ipv4(n->primary_key)}};  // ipv6_addr_set_v4mapped
}

void neigh_update(Tracer& t, const NeighbourEntry* n, const wire::MacAddr* lladdr, uint8_t new_state, uint32_t flags,
                  uint32_t pid) {
  if (!t.wants(Tp::neigh_update)) return;
  TraceFields f = neigh_entry_fields(n);
  f.insert(f.end(), {{"new_lladdr", lladdr ? wire::format_mac(*lladdr) : kZeroMac},
                     {"new_state", neigh_state_name(new_state)},
                     {"update_flags", to_string(flags)},
                     {"pid", to_string(pid)}});
  t.emit(Tp::neigh_update, 0, std::move(f));
}

void neigh__update(Tracer& t, Tp which, const NeighbourEntry* n, int err) {
  if (!t.wants(which)) return;
  // confirmed / updated / used: jiffies in Linux, virtual ns here.
  TraceFields f = neigh_entry_fields(n);
  f.insert(f.end(), {{"confirmed", to_string(n->confirmed)},
                     {"updated", to_string(n->updated)},
                     {"used", to_string(n->used)},
                     {"err", to_string(uint32_t(err))}});
  t.emit(which, 0, std::move(f));
}

void fib_table_lookup(Tracer& t, uint32_t tb_id, const Flowi4& flp, const FibRoute* nh, int err) {
  if (!t.wants(Tp::fib_table_lookup)) return;
  const bool ports = flp.proto == wire::IPPROTO_TCP || flp.proto == wire::IPPROTO_UDP;
  t.emit(Tp::fib_table_lookup, 0,
         {{"tb_id", to_string(tb_id)},
          {"err", to_string(err)},
          {"oif", to_string(flp.oif)},
          {"iif", to_string(flp.iif)},
          {"proto", to_string(flp.proto)},
          {"tos", to_string(flp.tos & 0xfc)},  // flowi4_dscp as a DS field: no ECN bits
          {"scope", to_string(flp.scope)},
          {"flags", to_string(flp.flags)},
          {"src", wire::format_ipv4(flp.saddr)},
          {"dst", wire::format_ipv4(flp.daddr)},
          {"gw4", wire::format_ipv4(nh ? nh->gw : 0)},
          {"gw6", "::"},
          {"sport", to_string(ports ? flp.sport : 0)},
          {"dport", to_string(ports ? flp.dport : 0)},
          {"name", nh && nh->dev ? nh->dev->name : std::string("-")}});
}

void icmp_send(Tracer& t, const SkBuff* skb, int type, int code) {
  if (!t.wants(Tp::icmp_send)) return;
  const uint8_t* nh = skb_network_header(skb);
  const uint8_t* tail = skb_tail_pointer(skb);
  wire::Ipv4Addr saddr = 0, daddr = 0;
  uint16_t sport = 0, dport = 0, ulen = 0;
  if (nh + wire::IPV4_MIN_HLEN <= tail) {
    saddr = wire::load_be32(nh + 12);
    daddr = wire::load_be32(nh + 16);
    const uint8_t* uh = skb_transport_header(skb);
    if (nh[9] == wire::IPPROTO_UDP && skb_transport_header_was_set(skb) && uh + 8 <= tail) {
      sport = wire::load_be16(uh);
      dport = wire::load_be16(uh + 2);
      ulen = wire::load_be16(uh + 4);
    }
  }
  t.emit(Tp::icmp_send, skb->id,
         {{"type", to_string(type)},
          {"code", to_string(code)},
          {"saddr", wire::format_ipv4(saddr)},
          {"daddr", wire::format_ipv4(daddr)},
          {"sport", to_string(sport)},
          {"dport", to_string(dport)},
          {"ulen", to_string(ulen)}});
}

void checkpoint(Tracer& t, const char* function, const SkBuff* skb, const char* verdict) {
  if (!t.wants_checkpoints()) return;
  TraceFields f = {{"len", to_string(skb->len)},
                   {"data_len", to_string(skb->data_len)},
                   {"head", "0"},
                   {"data", to_string(skb->data - skb->head)},
                   {"tail", to_string(skb->tail)},
                   {"end", to_string(skb->end)},
                   {"users", to_string(skb->users)},
                   {"dataref", to_string(skb_shinfo(skb)->dataref)},
                   {"cloned", skb->cloned ? "1" : "0"},
                   {"protocol", to_string(skb->protocol)},
                   {"pkt_type", to_string(skb->pkt_type)},
                   {"dev", skb->dev ? skb->dev->name : std::string()}};
  if (verdict) f.emplace_back("verdict", verdict);
  if (t.wants_skb_data()) add_frame_fields(skb, f);
  t.emit_checkpoint(function, skb->id, std::move(f));
}

}  // namespace nettwin::tp
