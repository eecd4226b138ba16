#include "core/trace_events.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "core/neighbour.h"
#include "core/netdevice.h"
#include "core/skbuff.h"
#include "ipv4/fib.h"
#include "sched/sch_generic.h"
#include "socket/sock.h"
#include "wire/headers.h"

namespace nettwin::tp {

namespace {
std::string_view dev_name(const NetDevice* dev) { return dev ? std::string_view(dev->name) : std::string_view("NULL"); }
}  // namespace

void netif_rx(Tracer& t, const SkBuff* skb) {
  if (!t.wants(Tp::netif_rx)) return;
  TraceRecord r = t.record(Tp::netif_rx, skb->id);
  r.add("len", skb->len);
  r.add_str("name", dev_name(skb->dev));
  t.emit(r);
}

void netif_receive_skb(Tracer& t, const SkBuff* skb) {
  if (!t.wants(Tp::netif_receive_skb)) return;
  TraceRecord r = t.record(Tp::netif_receive_skb, skb->id);
  r.add("len", skb->len);
  r.add_str("name", dev_name(skb->dev));
  t.emit(r);
}

void net_dev_queue(Tracer& t, const SkBuff* skb) {
  if (!t.wants(Tp::net_dev_queue)) return;
  TraceRecord r = t.record(Tp::net_dev_queue, skb->id);
  r.add("len", skb->len);
  r.add_str("name", dev_name(skb->dev));
  t.emit(r);
}

void net_dev_start_xmit(Tracer& t, const SkBuff* skb, const NetDevice* dev) {
  if (!t.wants(Tp::net_dev_start_xmit)) return;
  const SkbSharedInfo* sh = skb_shinfo(skb);
  const bool tvalid = skb_transport_header_was_set(skb);
  TraceRecord r = t.record(Tp::net_dev_start_xmit, skb->id);
  r.add_str("name", dev_name(dev));
  r.add("queue_mapping", skb->queue_mapping);
  r.add("vlan_tagged", "0");
  r.add("vlan_proto", "0");
  r.add("vlan_tci", "0");
  r.add("protocol", skb->protocol);
  r.add("ip_summed", skb->ip_summed);
  r.add("len", skb->len);
  r.add("data_len", skb->data_len);
  r.add("network_offset", skb_network_offset(skb));
  r.add("transport_offset_valid", tvalid ? "1" : "0");
  r.add("transport_offset", tvalid ? skb_transport_offset(skb) : 0);
  r.add("tx_flags", sh->tx_flags);
  r.add("gso_size", sh->gso_size);
  r.add("gso_segs", sh->gso_segs);
  r.add("gso_type", sh->gso_type);
  t.emit(r);
}

void net_dev_xmit(Tracer& t, uint64_t skb_id, int rc, const NetDevice* dev, unsigned len) {
  if (!t.wants(Tp::net_dev_xmit)) return;
  TraceRecord r = t.record(Tp::net_dev_xmit, skb_id);
  r.add("len", len);
  r.add("rc", rc);
  r.add_str("name", dev_name(dev));
  t.emit(r);
}

void napi_poll(Tracer& t, const NapiStruct* napi, int work, int budget) {
  if (!t.wants(Tp::napi_poll)) return;
  TraceRecord r = t.record(Tp::napi_poll, 0);
  r.add_str("dev_name", napi->dev ? std::string_view(napi->dev->name) : std::string_view("(no_device)"));
  r.add("work", work);
  r.add("budget", budget);
  t.emit(r);
}

void kfree_skb(Tracer& t, const SkBuff* skb, const char* location, SkbDropReason reason, bool rx_sk) {
  if (!t.wants(Tp::kfree_skb)) return;
  TraceRecord r = t.record(Tp::kfree_skb, skb->id);
  r.add("location", location);
  r.add("rx_sk", rx_sk ? "1" : "0");
  r.add("protocol", skb->protocol);
  r.add("reason", drop_reason_name(reason));
  t.emit(r);
}

void udp_fail_queue_rcv_skb(Tracer& t, int rc, wire::Ipv4Addr saddr, uint16_t sport, wire::Ipv4Addr daddr,
                            uint16_t dport) {
  if (!t.wants(Tp::udp_fail_queue_rcv_skb)) return;
  TraceRecord r = t.record(Tp::udp_fail_queue_rcv_skb, 0);
  r.add("rc", rc);
  r.add("sport", sport);
  r.add("dport", dport);
  r.add("family", "2");
  r.add_ipv4("saddr", saddr);
  r.add_ipv4("daddr", daddr);
  t.emit(r);
}

namespace {

// The skb's bytes as pwru reads them for its pcap filter: from the MAC header
// when one was set before the network header (l2), else from the network
// header (l3); nothing while the skb holds no header yet (a socket's payload).
void add_frame_fields(const SkBuff* skb, TraceRecord& r) {
  const uint8_t* from = nullptr;
  const char* layer = nullptr;
  if (skb_mac_header_was_set(skb) && skb->network_header != SKB_HEADER_UNSET && skb->mac_header < skb->network_header) {
    from = skb_mac_header(skb), layer = "l2";
  } else if (skb->network_header != SKB_HEADER_UNSET) {
    from = skb_network_header(skb), layer = "l3";
  }
  const uint8_t* end = skb->data + skb->len;
  if (!from || from > end) return;
  r.add("frame_layer", layer);
  r.add_hex("frame", from, size_t(end - from));
}

// TP_STORE_ADDR_PORTS for IPv4: the ports and the family, then (after
// inet_sock_set_state's protocol) the addresses and their v4-mapped v6 forms.
void add_tcp_ports(TraceRecord& r, uint16_t sport, uint16_t dport) {
  r.add("sport", sport);
  r.add("dport", dport);
  r.add("family", "2");
}

void add_tcp_addrs(TraceRecord& r, wire::Ipv4Addr saddr, wire::Ipv4Addr daddr) {
  r.add_ipv4("saddr", saddr);
  r.add_ipv4("daddr", daddr);
  r.add_ipv4_mapped("saddr_v6", saddr);
  r.add_ipv4_mapped("daddr_v6", daddr);
}

}  // namespace

// skaddr, then a socket's addresses and ports.
void tcp_cong_state_set(Tracer& t, const Sock* sk, uint8_t ca_state) {
  if (!t.wants(Tp::tcp_cong_state_set)) return;
  TraceRecord r = t.record(Tp::tcp_cong_state_set, 0);
  r.add_ptr("skaddr", sk);
  add_tcp_ports(r, sk->inet_sport, sk->inet_dport);
  add_tcp_addrs(r, sk->inet_saddr, sk->inet_daddr);
  r.add("cong_state", ca_state);
  t.emit(r);
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
  TraceRecord r = t.record(Tp::inet_sock_set_state, 0);
  r.add_ptr("skaddr", sk);
  r.add("oldstate", tcp_state_name(oldstate));
  r.add("newstate", tcp_state_name(newstate));
  add_tcp_ports(r, sk->inet_sport, sk->inet_dport);
  r.add("protocol", sk->sk_protocol);  // after family, as the format has it
  add_tcp_addrs(r, sk->inet_saddr, sk->inet_daddr);
  t.emit(r);
}

// include/trace/events/tcp.h tcp_retransmit_synack: the request's addresses
// (ir_loc_addr is saddr) and ports, IPv4 so the v6 fields are v4-mapped.
void tcp_retransmit_synack(Tracer& t, const Sock* sk, const void* req, wire::Ipv4Addr saddr, uint16_t sport,
                           wire::Ipv4Addr daddr, uint16_t dport) {
  if (!t.wants(Tp::tcp_retransmit_synack)) return;
  TraceRecord r = t.record(Tp::tcp_retransmit_synack, 0);
  r.add_ptr("skaddr", sk);
  r.add_ptr("req", req);
  add_tcp_ports(r, sport, dport);
  add_tcp_addrs(r, saddr, daddr);
  t.emit(r);
}

namespace {

// The tcp_event_sk class: skaddr, ports, family, addresses, sock_cookie.
void tcp_event_sk(Tracer& t, Tp which, const Sock* sk) {
  if (!t.wants(which)) return;
  TraceRecord r = t.record(which, 0);
  r.add_ptr("skaddr", sk);
  add_tcp_ports(r, sk->inet_sport, sk->inet_dport);
  add_tcp_addrs(r, sk->inet_saddr, sk->inet_daddr);
  r.add("sock_cookie", "0");
  t.emit(r);
}

}  // namespace

void tcp_receive_reset(Tracer& t, const Sock* sk) { tcp_event_sk(t, Tp::tcp_receive_reset, sk); }

void tcp_destroy_sock(Tracer& t, const Sock* sk) { tcp_event_sk(t, Tp::tcp_destroy_sock, sk); }

void tcp_rcv_space_adjust(Tracer& t, const Sock* sk) { tcp_event_sk(t, Tp::tcp_rcv_space_adjust, sk); }

// include/trace/events/tcp.h tcp_rcvbuf_grow: the measure, then the socket
// (ports and addresses, skaddr, sock_cookie) in the format's order.
void tcp_rcvbuf_grow(Tracer& t, const Sock* sk, const TcpRcvbufGrowFields& v) {
  if (!t.wants(Tp::tcp_rcvbuf_grow)) return;
  TraceRecord r = t.record(Tp::tcp_rcvbuf_grow, 0);
  r.add("time", v.time);
  r.add("rtt_us", v.rtt_us);
  r.add("copied", v.copied);
  r.add("inq", v.inq);
  r.add("space", v.space);
  r.add("ooo_space", v.ooo_space);
  r.add("rcvbuf", v.rcvbuf);
  r.add("rcv_ssthresh", v.rcv_ssthresh);
  r.add("window_clamp", v.window_clamp);
  r.add("rcv_wnd", v.rcv_wnd);
  r.add("scaling_ratio", v.scaling_ratio);
  add_tcp_ports(r, sk->inet_sport, sk->inet_dport);
  add_tcp_addrs(r, sk->inet_saddr, sk->inet_daddr);
  r.add_ptr("skaddr", sk);
  r.add("sock_cookie", "0");
  t.emit(r);
}

void tcp_retransmit_skb(Tracer& t, const Sock* sk, const SkBuff* skb, int err) {
  if (!t.wants(Tp::tcp_retransmit_skb)) return;
  TraceRecord r = t.record(Tp::tcp_retransmit_skb, 0);
  r.add_ptr("skbaddr", skb);
  r.add_ptr("skaddr", sk);
  r.add("state", tcp_state_name(sk->sk_state));
  add_tcp_ports(r, sk->inet_sport, sk->inet_dport);
  add_tcp_addrs(r, sk->inet_saddr, sk->inet_daddr);
  r.add("err", err);
  t.emit(r);
}

void tcp_probe(Tracer& t, const Sock* sk, const SkBuff* skb, uint16_t data_len, const TcpProbeState& st) {
  if (!t.wants(Tp::tcp_probe)) return;
  TraceRecord r = t.record(Tp::tcp_probe, skb->id);
  r.add_ptr("skaddr", sk);
  r.add_ptr("skbaddr", skb);
  add_tcp_ports(r, sk->inet_sport, sk->inet_dport);
  add_tcp_addrs(r, sk->inet_saddr, sk->inet_daddr);
  const std::pair<const char*, uint32_t> values[] = {
      {"mark", 0},         {"data_len", data_len},         {"snd_nxt", st.snd_nxt}, {"snd_una", st.snd_una},
      {"snd_cwnd", st.snd_cwnd}, {"ssthresh", st.ssthresh}, {"snd_wnd", st.snd_wnd}, {"srtt", st.srtt},
      {"rcv_wnd", st.rcv_wnd}};
  for (const auto& [name, value] : values) r.add(name, value);
  r.add("sock_cookie", "0");
  t.emit(r);
}

void tcp_bad_csum(Tracer& t, const SkBuff* skb) {
  if (!t.wants(Tp::tcp_bad_csum)) return;
  const uint8_t* nh = skb_network_header(skb);
  const uint8_t* th = skb->data;
  TraceRecord r = t.record(Tp::tcp_bad_csum, skb->id);
  r.add_ipv4_port("saddr", wire::load_be32(nh + 12), wire::load_be16(th));
  r.add_ipv4_port("daddr", wire::load_be32(nh + 16), wire::load_be16(th + 2));
  t.emit(r);
}

// include/trace/events/tcp.h tcp_send_reset: without a full socket the
// addresses come from the segment, swapped (saddr is the segment's dest), and
// state is 0, which prints as UNKNOWN.
void tcp_send_reset(Tracer& t, const Sock* sk, const SkBuff* skb, const char* reason) {
  if (!t.wants(Tp::tcp_send_reset)) return;
  TraceRecord r = t.record(Tp::tcp_send_reset, skb ? skb->id : 0);
  if (sk) r.add_ptr("skaddr", sk);
  else r.add("skaddr", "0000000000000000");
  r.add("state", sk ? tcp_state_name(sk->sk_state) : "UNKNOWN");
  r.add("reason", reason);
  if (sk && sk->sk_state != TCP_TIME_WAIT && sk->sk_state != TCP_NEW_SYN_RECV) {
    // A full socket gives its own addresses (TP_STORE_ADDR_PORTS): a
    // listener's are its bound ones, 0.0.0.0 and port 0 for the peer; so
    // are an active reset's.
    r.add_ipv4_port("saddr", sk->inet_saddr, sk->inet_sport);
    r.add_ipv4_port("daddr", sk->inet_daddr, sk->inet_dport);
  } else if (skb) {
    const uint8_t* nh = skb_network_header(skb);
    const uint8_t* th = skb->data;
    r.add_ipv4_port("saddr", wire::load_be32(nh + 16), wire::load_be16(th + 2));
    r.add_ipv4_port("daddr", wire::load_be32(nh + 12), wire::load_be16(th));
  } else {
    r.add("saddr", "");
    r.add("daddr", "");
  }
  t.emit(r);
}

void consume_skb(Tracer& t, const SkBuff* skb, const char* location) {
  if (!t.wants(Tp::consume_skb)) return;
  TraceRecord r = t.record(Tp::consume_skb, skb->id);
  r.add("location", location);
  t.emit(r);
}

void qdisc_enqueue(Tracer& t, const Qdisc* q, const SkBuff* skb) {
  if (!t.wants(Tp::qdisc_enqueue)) return;
  TraceRecord r = t.record(Tp::qdisc_enqueue, skb->id);
  r.add("ifindex", q->dev->ifindex);
  r.add("handle", q->handle);
  r.add("parent", q->parent);
  t.emit(r);
}

void qdisc_dequeue(Tracer& t, const Qdisc* q, int packets, const SkBuff* skb) {
  if (!t.wants(Tp::qdisc_dequeue)) return;
  TraceRecord r = t.record(Tp::qdisc_dequeue, skb ? skb->id : 0);
  r.add("packets", packets);
  r.add("ifindex", q->dev->ifindex);
  r.add("handle", q->handle);
  r.add("parent", q->parent);
  r.add("txq_state", q->dev->xoff ? "1" : "0");
  t.emit(r);
}

void neigh_create(Tracer& t, const NeighTable& tbl, const NetDevice* dev, wire::Ipv4Addr key, const NeighbourEntry* n,
                  bool gc_exempt) {
  if (!t.wants(Tp::neigh_create)) return;
  TraceRecord r = t.record(Tp::neigh_create, 0);
  r.add("family", tbl.family);
  r.add_str("dev", dev_name(dev));
  r.add("entries", tbl.gc_entries);
  r.add("created", n ? "1" : "0");
  r.add("gc_exempt", gc_exempt ? "1" : "0");
  r.add_ipv4("primary_key4", key);
  r.add("primary_key6", "::");
  t.emit(r);
}

namespace {

// The fields every neigh tracepoint about an entry starts with, in format order.
void add_neigh_entry(TraceRecord& r, const NeighbourEntry* n) {
  r.add("family", n->tbl->family);
  r.add_str("dev", dev_name(n->dev));
  r.add_mac("lladdr", n->ha.data());
  r.add("lladdr_len", n->dev ? n->dev->addr_len : 32);
  r.add("flags", n->flags);
  r.add("nud_state", neigh_state_name(n->nud_state));
  r.add("type", n->type);
  r.add("dead", n->dead);
  r.add("refcnt", n->refcnt);
  r.add_ipv4("primary_key4", n->primary_key);
  r.add_ipv4_mapped("primary_key6", n->primary_key);  // ipv6_addr_set_v4mapped
}

}  // namespace

void neigh_update(Tracer& t, const NeighbourEntry* n, const wire::MacAddr* lladdr, uint8_t new_state, uint32_t flags,
                  uint32_t pid) {
  if (!t.wants(Tp::neigh_update)) return;
  TraceRecord r = t.record(Tp::neigh_update, 0);
  add_neigh_entry(r, n);
  if (lladdr) r.add_mac("new_lladdr", lladdr->data());
  else r.add("new_lladdr", "00:00:00:00:00:00");
  r.add("new_state", neigh_state_name(new_state));
  r.add("update_flags", flags);
  r.add("pid", pid);
  t.emit(r);
}

void neigh__update(Tracer& t, Tp which, const NeighbourEntry* n, int err) {
  if (!t.wants(which)) return;
  // confirmed / updated / used: jiffies in Linux, virtual ns here.
  TraceRecord r = t.record(which, 0);
  add_neigh_entry(r, n);
  r.add("confirmed", n->confirmed);
  r.add("updated", n->updated);
  r.add("used", n->used);
  r.add("err", uint32_t(err));
  t.emit(r);
}

void fib_table_lookup(Tracer& t, uint32_t tb_id, const Flowi4& flp, const FibRoute* nh, int err) {
  if (!t.wants(Tp::fib_table_lookup)) return;
  const bool ports = flp.proto == wire::IPPROTO_TCP || flp.proto == wire::IPPROTO_UDP;
  TraceRecord r = t.record(Tp::fib_table_lookup, 0);
  r.add("tb_id", tb_id);
  r.add("err", err);
  r.add("oif", flp.oif);
  r.add("iif", flp.iif);
  r.add("proto", flp.proto);
  r.add("tos", flp.tos & 0xfc);  // flowi4_dscp as a DS field: no ECN bits
  r.add("scope", flp.scope);
  r.add("flags", flp.flags);
  r.add_ipv4("src", flp.saddr);
  r.add_ipv4("dst", flp.daddr);
  r.add_ipv4("gw4", nh ? nh->gw : 0);
  r.add("gw6", "::");
  r.add("sport", ports ? flp.sport : 0);
  r.add("dport", ports ? flp.dport : 0);
  r.add_str("name", nh && nh->dev ? std::string_view(nh->dev->name) : std::string_view("-"));
  t.emit(r);
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
  TraceRecord r = t.record(Tp::icmp_send, skb->id);
  r.add("type", type);
  r.add("code", code);
  r.add_ipv4("saddr", saddr);
  r.add_ipv4("daddr", daddr);
  r.add("sport", sport);
  r.add("dport", dport);
  r.add("ulen", ulen);
  t.emit(r);
}

void checkpoint(Tracer& t, const char* function, const SkBuff* skb, const char* verdict) {
  if (!t.wants_checkpoints()) return;
  TraceRecord r = t.record_checkpoint(function, skb->id);
  r.add("len", skb->len);
  r.add("data_len", skb->data_len);
  r.add("head", "0");
  r.add("data", skb->data - skb->head);
  r.add("tail", skb->tail);
  r.add("end", skb->end);
  r.add("users", skb->users);
  r.add("dataref", skb_shinfo(skb)->dataref);
  r.add("cloned", skb->cloned ? "1" : "0");
  r.add("protocol", skb->protocol);
  r.add("pkt_type", int(skb->pkt_type));  // an enum of uint8_t: as to_string printed it
  r.add_str("dev", skb->dev ? std::string_view(skb->dev->name) : std::string_view());
  if (verdict) r.add("verdict", verdict);
  if (t.wants_skb_data()) add_frame_fields(skb, r);
  t.emit(r);
}

}  // namespace nettwin::tp
