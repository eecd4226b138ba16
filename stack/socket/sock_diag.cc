// sock_diag_dump: the listing behind `ss`, after inet_sk_diag_fill / inet_diag_msg_common_fill
// (net/ipv4/inet_diag.c), tcp_diag_get_info (net/ipv4/tcp_diag.c) and ss's own formatting.
#include "socket/sock_diag.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "core/net.h"
#include "core/netdevice.h"
#include "ipv4/tcp_info.h"
#include "ipv4/inet_timewait_sock.h"
#include "ipv4/tcp_sock.h"
#include "socket/sock.h"
#include "socket/uapi.h"
#include "wire/bytes.h"

namespace nettwin {
namespace {

std::string addr_port(wire::Ipv4Addr addr, uint16_t port) {
  return wire::format_ipv4(addr) + ":" + (port ? std::to_string(port) : std::string("*"));
}

// print_ms_timer in ss: minutes, seconds and milliseconds, each left out where ss does.
std::string print_ms_timer(uint32_t timeout) {
  uint32_t secs = timeout / 1000;
  const uint32_t minutes = secs / 60;
  secs %= 60;
  uint32_t msecs = timeout % 1000;
  std::string out;
  char buf[32];
  if (minutes) {
    msecs = 0;
    out += std::to_string(minutes) + "min";
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    out += std::to_string(secs) + (msecs ? "." : "sec");
  }
  if (msecs) {
    std::snprintf(buf, sizeof(buf), "%03ums", msecs);
    out += buf;
  }
  return out;
}

// The time left on a timer, in ms from jiffies as jiffies_delta_to_msecs reports it (0 if past).
uint32_t expires_ms(const Engine& engine, Engine::TimerId id) {
  const auto expires = engine.timer_expires(id);
  const uint64_t now = engine.jiffies();
  if (!expires || *expires <= now) return 0;
  return static_cast<uint32_t>((*expires - now) * 1000 / HZ);
}

// The timer columns of inet_sk_diag_fill for a full TCP socket.
void fill_tcp_timer(const Engine& engine, const TcpSock* tp, SockDiag& d) {
  const uint8_t pending = tp->icsk_pending;
  if (pending == ICSK_TIME_RETRANS || pending == ICSK_TIME_REO_TIMEOUT || pending == ICSK_TIME_LOSS_PROBE) {
    d.timer = SS_TIMER_ON;
    d.retrans = tp->icsk_retransmits;
    d.timer_expires_ms = expires_ms(engine, tp->icsk_retransmit_timer);
  } else if (pending == ICSK_TIME_PROBE0) {
    d.timer = SS_TIMER_PERSIST;
    d.retrans = tp->icsk_probes_out;
    d.timer_expires_ms = expires_ms(engine, tp->icsk_retransmit_timer);
  } else if (tp->sk_timer && engine.timer_pending(tp->sk_timer)) {
    d.timer = SS_TIMER_KEEPALIVE;
    d.retrans = tp->icsk_probes_out;
    d.timer_expires_ms = expires_ms(engine, tp->sk_timer);
  }
}

void fill_tcp(Net& net, Sock* sk, SockDiag& d) {
  const TcpSock* tp = tcp_sk(sk);
  d.netid = "tcp";
  if (sk->sk_state == TCP_LISTEN) {
    // A listener's queues: the accept queue and its limit (tcp_diag_get_info).
    d.recv_q = sk->sk_ack_backlog;
    d.send_q = sk->sk_max_ack_backlog;
  } else {
    d.recv_q = static_cast<uint32_t>(std::max(0, static_cast<int>(tp->rcv_nxt - tp->copied_seq)));
    d.send_q = tp->write_seq - tp->snd_una;
  }
  fill_tcp_timer(net.engine, tp, d);
  if (tp->icsk_ca_ops && tp->icsk_ca_ops->name) d.cc = tp->icsk_ca_ops->name;
  tcp_get_info(sk, d.tcp_info, sizeof(TcpInfo));
}

void fill_packet(Net& net, Sock* sk, SockDiag& d) {
  d.netid = sk->sk_type == SOCK_RAW_ ? "p_raw" : "p_dgr";
  d.recv_q = static_cast<uint32_t>(sk->sk_rmem_alloc);
  d.send_q = static_cast<uint32_t>(sk->sk_wmem_alloc);
  char proto[16];
  std::snprintf(proto, sizeof(proto), "0x%04x", sk->pkt_num);
  const NetDevice* dev = sk->pkt_ifindex ? net.dev_get_by_index(sk->pkt_ifindex) : nullptr;
  d.local = std::string(proto) + ":" + (dev ? dev->name : std::string("*"));
  d.peer = "*";
}

}  // namespace

SockDiag sock_diag_fill(Net& net, Sock* sk, int fd) {
  SockDiag d;
  d.fd = fd;
  d.sk_state = sk->sk_state;
  if (sk->sk_family == AF_PACKET_) {
    fill_packet(net, sk, d);
    return d;
  }
  // inet_diag_msg_common_fill: the bound address and the ports on the wire; a raw
  // socket's "port" is its protocol (inet_num).
  const bool raw = sk->sk_type == SOCK_RAW_;
  d.local = addr_port(sk->inet_rcv_saddr, raw ? sk->inet_num : sk->inet_sport);
  d.peer = addr_port(sk->inet_daddr, sk->inet_dport);
  if (sk->sk_type == SOCK_STREAM_) {
    fill_tcp(net, sk, d);
    return d;
  }
  d.netid = raw ? "raw" : "udp";
  // sk_rmem_alloc_get / sk_wmem_alloc_get
  d.recv_q = static_cast<uint32_t>(sk->sk_rmem_alloc);
  d.send_q = static_cast<uint32_t>(sk->sk_wmem_alloc);
  return d;
}

std::vector<SockDiag> sock_diag_dump(Net& net) {
  std::vector<SockDiag> out;
  std::unordered_map<const Sock*, int> fds;
  for (const auto& [fd, socket] : net.sock.files) {
    if (socket && socket->sk) fds.emplace(socket->sk, fd);
  }
  for (const auto& [fd, socket] : net.sock.files) {
    if (socket && socket->sk) out.push_back(sock_diag_fill(net, socket->sk, fd));
  }
  for (const auto& sk : net.sock.socks_alive) {
    if (!fds.count(sk.get())) out.push_back(sock_diag_fill(net, sk.get(), -1));
  }
  // inet_req_diag_fill: request socks (ehash's NEW_SYN_RECV) as SYN-RECV, with
  // their SYN-ACK timer and its retransmissions.
  for (Sock* l : net.sock.tcp_listeners) {
    for (const auto& req : tcp_sk(l)->reqsk_queue) {
      SockDiag d;
      d.netid = "tcp";
      d.sk_state = TCP_SYN_RECV;
      d.local = addr_port(req->ir_loc_addr, req->ir_num);
      d.peer = addr_port(req->ir_rmt_addr, req->ir_rmt_port);
      d.timer = SS_TIMER_ON;
      d.retrans = req->num_retrans;
      d.timer_expires_ms = expires_ms(net.engine, req->rsk_timer);
      out.push_back(d);
    }
  }
  // inet_twsk_diag_fill: TIME_WAIT socks from ehash, in their substate, with
  // the timewait timer and empty queues.
  for (Sock* sk : net.sock.tcp_ehash) {
    if (sk->sk_state != TCP_TIME_WAIT) continue;
    const InetTimewaitSock* tw = inet_twsk(sk);
    SockDiag d;
    d.netid = "tcp";
    d.sk_state = tw->tw_substate;
    d.local = addr_port(tw->inet_rcv_saddr, tw->inet_sport);
    d.peer = addr_port(tw->inet_daddr, tw->inet_dport);
    d.timer = SS_TIMER_TIMEWAIT;
    d.timer_expires_ms = expires_ms(net.engine, tw->tw_timer);
    out.push_back(d);
  }
  return out;
}

const char* ss_state_name(int sk_state) {
  // ss's sstate_name, indexed by TCP_* state.
  static const char* const kNames[] = {"UNKNOWN",    "ESTAB",      "SYN-SENT",  "SYN-RECV",
                                       "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "UNCONN",
                                       "CLOSE-WAIT", "LAST-ACK",   "LISTEN",    "CLOSING",
                                       "NEW-SYN-RECV"};
  if (sk_state < 0 || sk_state >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
  return kNames[sk_state];
}

std::string ss_timer(const SockDiag& d) {
  static const char* const kTimerNames[] = {"off", "on", "keepalive", "timewait", "persist", "unknown"};
  if (d.timer == SS_TIMER_OFF) return "";
  const char* name = kTimerNames[std::min<int>(d.timer, 5)];
  return std::string("timer:(") + name + "," + print_ms_timer(d.timer_expires_ms) + "," +
         std::to_string(d.retrans) + ")";
}

}  // namespace nettwin
