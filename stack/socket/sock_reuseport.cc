#include "socket/sock_reuseport.h"

#include "core/net.h"
#include "socket/jhash.h"
#include "socket/sock.h"
#include "socket/sock_net.h"

namespace nettwin {

void reuseport_alloc(Net& net, Sock* sk) {
  sk->reuseport_id = net.sock.next_reuseport_id++;
  net.sock.reuseport_groups[sk->reuseport_id].socks.push_back(sk);
}

void reuseport_add_sock(Net& net, Sock* sk, Sock* sk2) {
  if (!sk2 || !sk2->reuseport_id) {
    reuseport_alloc(net, sk);
    return;
  }
  sk->reuseport_id = sk2->reuseport_id;
  net.sock.reuseport_groups[sk->reuseport_id].socks.push_back(sk);  // socks[num_socks++]
}

void reuseport_detach_sock(Net& net, Sock* sk) {
  if (!sk->reuseport_id) return;
  auto it = net.sock.reuseport_groups.find(sk->reuseport_id);
  if (it != net.sock.reuseport_groups.end()) {
    auto& v = it->second.socks;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] != sk) continue;
      v[i] = v.back();  // __reuseport_detach_sock: the last member fills the hole
      v.pop_back();
      break;
    }
    if (v.empty()) net.sock.reuseport_groups.erase(it);
  }
  sk->reuseport_id = 0;
}

Sock* reuseport_select_sock(Net& net, Sock* sk, uint32_t hash) {
  auto it = net.sock.reuseport_groups.find(sk->reuseport_id);
  if (it == net.sock.reuseport_groups.end()) return nullptr;
  const auto& socks = it->second.socks;
  const uint32_t n = uint32_t(socks.size());
  if (!n) return nullptr;
  uint32_t i = uint32_t((uint64_t(hash) * n) >> 32), j = i;  // reciprocal_scale
  while (socks[i]->sk_state == TCP_ESTABLISHED) {
    if (++i >= n) i = 0;
    if (i == j) return nullptr;
  }
  return socks[i];
}

bool reuseport_has_conns(Net& net, const Sock* sk) {
  auto it = net.sock.reuseport_groups.find(sk->reuseport_id);
  if (it == net.sock.reuseport_groups.end()) return false;
  for (const Sock* s : it->second.socks)
    if (s->sk_state == TCP_ESTABLISHED) return true;
  return false;
}

uint32_t __inet_ehashfn(uint32_t laddr, uint16_t lport, uint32_t faddr, uint16_t fport, uint32_t initval) {
  auto le = [](uint32_t host_order) { return __builtin_bswap32(host_order); };
  const uint32_t ports = (uint32_t(lport) << 16) | __builtin_bswap16(fport);
  return jhash_3words(le(laddr), le(faddr), ports, initval);
}

}  // namespace nettwin
