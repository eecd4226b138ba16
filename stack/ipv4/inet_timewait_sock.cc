// net/ipv4/inet_timewait_sock.c: allocation, hashing, the timer and the death
// of TIME_WAIT socks. No tracepoint marks either end: Linux traces the full
// socket's last state change (to CLOSE, in tcp_done), never the tw sock.
#include "ipv4/inet_timewait_sock.h"

#include <algorithm>

#include "core/net.h"

namespace nettwin {

InetTimewaitDeathRow::InetTimewaitDeathRow() = default;
InetTimewaitDeathRow::~InetTimewaitDeathRow() = default;

namespace {

// inet_twsk_kill: out of ehash, out of the bind bucket (inet_twsk_bind_unhash,
// the bucket going with its last owner), the death row's count down, freed.
void inet_twsk_kill(InetTimewaitSock* tw) {
  Net& net = *tw->net;
  net.sock.tcp_ehash.remove(tw);
  auto& bhash = net.sock.tcp_bhash;
  if (auto it = bhash.find(tw->inet_num); it != bhash.end()) {
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), static_cast<Sock*>(tw)), v.end());
    if (v.empty()) bhash.erase(it);
  }
  net.tcp_death_row.tw_refcount--;
  net.tcp_death_row.socks.erase(tw);
}

// tw_timer_handler
void tw_timer_handler(InetTimewaitSock* tw) {
  tw->tw_timer = 0;
  inet_twsk_kill(tw);
}

}  // namespace

InetTimewaitSock* inet_twsk_alloc(const Sock* sk, InetTimewaitDeathRow& dr, int state) {
  Net& net = *sk->net;
  if (int64_t(dr.tw_refcount) - 1 >= net.sysctl.tcp_max_tw_buckets) return nullptr;
  auto owned = std::make_unique<InetTimewaitSock>();
  InetTimewaitSock* tw = owned.get();
  tw->net = &net;
  tw->sk_prot = sk->sk_prot;
  tw->sk_family = sk->sk_family;
  tw->sk_type = sk->sk_type;
  tw->sk_protocol = sk->sk_protocol;
  // Give us an identity.
  tw->inet_daddr = sk->inet_daddr;
  tw->inet_rcv_saddr = sk->inet_rcv_saddr;
  tw->inet_saddr = sk->inet_saddr;
  tw->sk_bound_dev_if = sk->sk_bound_dev_if;
  tw->tos = sk->tos;
  tw->inet_num = sk->inet_num;
  tw->sk_state = TCP_TIME_WAIT;
  tw->tw_substate = state;
  tw->inet_sport = sk->inet_sport;
  tw->inet_dport = sk->inet_dport;
  tw->sk_reuse = sk->sk_reuse;
  tw->sk_reuseport = sk->sk_reuseport;
  tw->sk_priority = sk->sk_priority;
  tw->sock_dead = true;
  dr.socks.emplace(tw, std::move(owned));
  return tw;
}

void __inet_twsk_schedule(InetTimewaitSock* tw, int timeo, bool rearm) {
  Net& net = *tw->net;
  Engine& engine = net.engine;
  if (!rearm) {
    // Up to 3.5 RTO a tw sock only absorbs the peer's FIN retransmissions:
    // "killed" rather than a real TIME_WAIT.
    const bool kill = timeo <= int(4 * HZ);
    if (kill)
      net.mib.tcpext.TWKilled++;
    else
      net.mib.tcpext.TW++;
    net.tcp_death_row.tw_refcount++;
  } else if (!tw->tw_timer || !engine.timer_pending(tw->tw_timer)) {
    return;  // mod_timer_pending: a timer that fired stays dead
  }
  if (tw->tw_timer) engine.del_timer(tw->tw_timer);
  tw->tw_timeout = uint32_t(timeo);
  tw->tw_timer = engine.mod_timer(engine.jiffies() + uint64_t(timeo), [tw] { tw_timer_handler(tw); });
}

void inet_twsk_hashdance_schedule(InetTimewaitSock* tw, Sock* sk, int timeo) {
  Net& net = *sk->net;
  // Step 1: into the bind bucket; the original socket stays there too.
  auto& owners = net.sock.tcp_bhash[sk->inet_num];
  owners.insert(owners.begin(), tw);  // sk_add_bind_node
  // Step 2 and 3: tw into ehash (at the head of the chain), sk out of it.
  net.sock.tcp_ehash.remove(sk);
  net.sock.tcp_ehash.add_head(tw);
  inet_twsk_schedule(tw, timeo);
}

void inet_twsk_deschedule_put(InetTimewaitSock* tw) {
  if (tw->tw_timer && tw->net->engine.del_timer(tw->tw_timer)) {
    tw->tw_timer = 0;
    inet_twsk_kill(tw);
  }
}

}  // namespace nettwin
