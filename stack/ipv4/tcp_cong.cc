// The congestion-control framework (net/ipv4/tcp_cong.c): the registry of
// algorithms, the per-socket choice (the namespace default, TCP_CONGESTION),
// tcp_set_ca_state with its tracepoint, and Reno, which the others build on.
#include "ipv4/tcp_cong.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/dst.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/tcp_sock.h"

namespace nettwin {

namespace {

// tcp_cong_list and its lock: one list for every namespace, as in Linux.
// Reno comes first (tcp_init registers it), then the built-in CUBIC.
struct CongList {
  std::mutex lock;
  std::vector<const TcpCongestionOps*> list{&tcp_reno, &cubictcp};
};

CongList& cong_list() {
  static CongList l;
  return l;
}

const TcpCongestionOps* find_locked(CongList& l, std::string_view name) {
  for (const TcpCongestionOps* ca : l.list)
    if (name == ca->name) return ca;
  return nullptr;
}

}  // namespace

const TcpCongestionOps tcp_reno = {
    .name = "reno",
    .flags = TCP_CONG_NON_RESTRICTED,
    .init = nullptr,
    .release = nullptr,
    .ssthresh = tcp_reno_ssthresh,
    .cong_avoid = tcp_reno_cong_avoid,
    .set_state = nullptr,
    .cwnd_event = nullptr,
    .in_ack_event = nullptr,
    .pkts_acked = nullptr,
    .undo_cwnd = tcp_reno_undo_cwnd,
};

// tcp_validate_congestion_control, then the name must be new.
int tcp_register_congestion_control(const TcpCongestionOps* ca) {
  if (!ca || !ca->name || !*ca->name || !ca->ssthresh || !ca->undo_cwnd || !ca->cong_avoid) return -EINVAL;
  if (std::strlen(ca->name) >= TCP_CA_NAME_MAX) return -EINVAL;
  CongList& l = cong_list();
  std::lock_guard<std::mutex> g(l.lock);
  if (find_locked(l, ca->name)) return -EEXIST;
  l.list.push_back(ca);  // list_add_tail_rcu
  return 0;
}

const TcpCongestionOps* tcp_ca_find(std::string_view name) {
  CongList& l = cong_list();
  std::lock_guard<std::mutex> g(l.lock);
  return find_locked(l, name);
}

// The key a route keeps for an algorithm (RTAX_CC_ALGO): Linux hashes the name;
// here it is the place on the list plus one (the list only grows). 0 is TCP_CA_UNSPEC.
uint32_t tcp_ca_get_key_by_name(std::string_view name) {
  CongList& l = cong_list();
  std::lock_guard<std::mutex> g(l.lock);
  for (size_t i = 0; i < l.list.size(); ++i)
    if (name == l.list[i]->name) return uint32_t(i + 1);
  return TCP_CA_UNSPEC;
}

const TcpCongestionOps* tcp_ca_find_key(uint32_t key) {
  CongList& l = cong_list();
  std::lock_guard<std::mutex> g(l.lock);
  return key && key <= l.list.size() ? l.list[key - 1] : nullptr;
}

// tcp_ca_openreq_child: the route's algorithm (RTAX_CC_ALGO) over the
// listener's; the listener's stays when it was chosen by TCP_CONGESTION, else
// the namespace default.
void tcp_ca_openreq_child(Sock* sk, const DstEntry* dst) {
  TcpSock* tp = tcp_sk(sk);
  if (const TcpCongestionOps* ca = tcp_ca_find_key(dst_metric(dst, RTAX_CC_ALGO))) {
    tp->icsk_ca_dst_locked = dst_metric_locked(dst, RTAX_CC_ALGO);
    tp->icsk_ca_ops = ca;
  } else if (!tp->icsk_ca_setsockopt) {
    tcp_assign_congestion_control(sk);
  }
  tcp_set_ca_state(sk, TCP_CA_Open);
}

std::vector<std::string> tcp_get_available_congestion_control() {
  CongList& l = cong_list();
  std::lock_guard<std::mutex> g(l.lock);
  std::vector<std::string> out;
  for (const TcpCongestionOps* ca : l.list) out.emplace_back(ca->name);
  return out;
}

std::vector<std::string> tcp_get_allowed_congestion_control(const Net& net) {
  CongList& l = cong_list();
  std::lock_guard<std::mutex> g(l.lock);
  std::vector<std::string> out;
  for (const TcpCongestionOps* ca : l.list)
    if ((ca->flags & TCP_CONG_NON_RESTRICTED) || ca == net.tcp_congestion_control) out.emplace_back(ca->name);
  return out;
}

const TcpCongestionOps* tcp_default_congestion_control(const Net& net) {
  return net.tcp_congestion_control ? net.tcp_congestion_control : &cubictcp;
}

// tcp_set_default_congestion_control in a namespace that is not init_net: an
// unknown name is ENOENT; a restricted algorithm is EPERM (only init_net may
// make one the default).
int tcp_set_default_congestion_control(Net& net, std::string_view name) {
  const TcpCongestionOps* ca = tcp_ca_find(name);
  if (!ca) return -ENOENT;
  if (!(ca->flags & TCP_CONG_NON_RESTRICTED) && ca != tcp_default_congestion_control(net)) return -EPERM;
  net.tcp_congestion_control = ca;
  return 0;
}

void tcp_assign_congestion_control(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->icsk_ca_ops = tcp_default_congestion_control(*sk->net);
  std::memset(tp->icsk_ca_priv, 0, sizeof(tp->icsk_ca_priv));
}

void tcp_init_congestion_control(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  tp->prior_ssthresh = 0;
  if (tp->icsk_ca_ops->init) tp->icsk_ca_ops->init(sk);
  tp->icsk_ca_initialized = true;
}

// tcp_reinit_congestion_control: a socket past LISTEN/CLOSE starts the new
// algorithm at once; one not yet connected waits for tcp_init_congestion_control.
static void tcp_reinit_congestion_control(Sock* sk, const TcpCongestionOps* ca) {
  TcpSock* tp = tcp_sk(sk);
  tcp_cleanup_congestion_control(sk);
  tp->icsk_ca_ops = ca;
  tp->icsk_ca_setsockopt = true;
  std::memset(tp->icsk_ca_priv, 0, sizeof(tp->icsk_ca_priv));
  if (sk->sk_state != TCP_CLOSE && sk->sk_state != TCP_LISTEN) tcp_init_congestion_control(sk);
}

// setsockopt(TCP_CONGESTION) from a caller with CAP_NET_ADMIN (the recorder
// runs as root), so restricted algorithms are allowed too.
int tcp_set_congestion_control(Sock* sk, std::string_view name) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->icsk_ca_dst_locked) return -EPERM;  // the route locked its algorithm (congctl lock)
  const TcpCongestionOps* ca = tcp_ca_find(name);
  if (ca == tp->icsk_ca_ops) {  // no change asking for the current one
    tp->icsk_ca_setsockopt = true;
    return 0;
  }
  if (!ca) return -ENOENT;
  tcp_reinit_congestion_control(sk, ca);
  return 0;
}

void tcp_cleanup_congestion_control(Sock* sk) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->icsk_ca_initialized && tp->icsk_ca_ops && tp->icsk_ca_ops->release) tp->icsk_ca_ops->release(sk);
  tp->icsk_ca_initialized = false;
}

void tcp_set_ca_state(Sock* sk, uint8_t ca_state) {
  TcpSock* tp = tcp_sk(sk);
  trace_tcp_cong_state_set(sk->net->tracer, sk, ca_state);
  if (tp->icsk_ca_ops->set_state) tp->icsk_ca_ops->set_state(sk, ca_state);
  tp->icsk_ca_state = ca_state;
}

void tcp_ca_event(Sock* sk, TcpCaEvent event) {
  TcpSock* tp = tcp_sk(sk);
  if (tp->icsk_ca_ops->cwnd_event) tp->icsk_ca_ops->cwnd_event(sk, event);
}

bool tcp_in_slow_start(const TcpSock* tp) { return tp->snd_cwnd < tp->snd_ssthresh; }

bool tcp_is_cwnd_limited(const TcpSock* tp) {
  if (tp->is_cwnd_limited) return true;
  if (tcp_in_slow_start(tp)) return tp->snd_cwnd < 2 * tp->max_packets_out;
  return false;
}

uint32_t tcp_current_ssthresh(const Sock* sk) {
  const TcpSock* tp = tcp_sk(sk);
  if ((1u << tp->icsk_ca_state) & ((1u << TCP_CA_CWR) | (1u << TCP_CA_Recovery))) return tp->snd_ssthresh;
  return std::max(tp->snd_ssthresh, (tp->snd_cwnd >> 1) + (tp->snd_cwnd >> 2));
}

// Slow start: cwnd grows by the segments acked, up to ssthresh; what is left
// over goes to congestion avoidance.
uint32_t tcp_slow_start(TcpSock* tp, uint32_t acked) {
  const uint32_t cwnd = std::min(tp->snd_cwnd + acked, tp->snd_ssthresh);
  acked -= cwnd - tp->snd_cwnd;
  tp->snd_cwnd = std::min(cwnd, tp->snd_cwnd_clamp);
  return acked;
}

// Additive increase: one segment per w segments acked (w = cwnd for Reno).
void tcp_cong_avoid_ai(TcpSock* tp, uint32_t w, uint32_t acked) {
  // A cwnd_cnt already past w (w shrank) gives its segment now.
  if (tp->snd_cwnd_cnt >= w) {
    tp->snd_cwnd_cnt = 0;
    tp->snd_cwnd++;
  }
  tp->snd_cwnd_cnt += acked;
  if (tp->snd_cwnd_cnt >= w) {
    const uint32_t delta = tp->snd_cwnd_cnt / w;
    tp->snd_cwnd_cnt -= delta * w;
    tp->snd_cwnd += delta;
  }
  tp->snd_cwnd = std::min(tp->snd_cwnd, tp->snd_cwnd_clamp);
}

void tcp_reno_cong_avoid(Sock* sk, uint32_t /*ack*/, uint32_t acked) {
  TcpSock* tp = tcp_sk(sk);
  if (!tcp_is_cwnd_limited(tp)) return;
  if (tcp_in_slow_start(tp)) {  // in "safe" area: increase
    acked = tcp_slow_start(tp, acked);
    if (!acked) return;
  }
  tcp_cong_avoid_ai(tp, tp->snd_cwnd, acked);  // in dangerous area: increase slowly
}

uint32_t tcp_reno_ssthresh(Sock* sk) { return std::max(tcp_sk(sk)->snd_cwnd >> 1U, 2U); }

uint32_t tcp_reno_undo_cwnd(Sock* sk) {
  const TcpSock* tp = tcp_sk(sk);
  return std::max(tp->snd_cwnd, tp->prior_cwnd);
}

}  // namespace nettwin
