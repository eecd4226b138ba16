#include "core/net.h"

#include "core/dev.h"
#include "ipv4/ipv4.h"
#include "ipv4/tcp_ipv4.h"
#include "ipv4/tcp_output.h"
#include "ipv4/udp.h"
#include "sched/sch_generic.h"
#include "wire/headers.h"

namespace nettwin {

NetDevice::NetDevice(Net& n, const DeviceConfig& cfg)
    : net(n), config(cfg), name(cfg.name), ifindex(cfg.ifindex), dev_addr(cfg.mac), mtu(cfg.mtu) {
  neigh_parms_init(n, neigh_parms);  // inetdev_init → neigh_parms_alloc
}

NetDevice::~NetDevice() = default;

Net::Net(uint64_t seed) : tracer(engine.clock()), pool(tracer), rng(seed), arp_tbl(*this) {
  engine.open_softirq(NET_TX_SOFTIRQ, [](void* net) { net_tx_action(*static_cast<Net*>(net)); }, this);
  engine.open_softirq(NET_RX_SOFTIRQ, [](void* net) { net_rx_action(*static_cast<Net*>(net)); }, this);
  // system_bh_wq: TSQ's work
  engine.open_softirq(TASKLET_SOFTIRQ, [](void* net) { tcp_tsq_workfn(*static_cast<Net*>(net)); }, this);
  softnet.backlog.poll = process_backlog;
  softnet.backlog.weight = sysctl.dev_rx_weight();
  softnet.backlog.owner = this;
  arp_tbl.rng = Rng(rng.next());  // reachable times draw from their own stream
  // How long this "kernel" has been up at virtual time 0: jiffies start at
  // INITIAL_JIFFIES (5 minutes before the 32-bit wrap) at boot, and the seed
  // picks the uptime (up to 2^32 ticks, ~200 days) and the phase inside the
  // tick, so timers land where different boots would put them. Its own stream:
  // the stack's other draws are unchanged.
  {
    const uint64_t boot = Rng(seed ^ 0x6a09e667f3bcc909ull).next();
    engine.set_jiffies_origin(INITIAL_JIFFIES + (boot >> 32), (boot & 0xffffffffu) % NSEC_PER_JIFFY);
  }
  neigh_parms_rerandomize(arp_tbl, arp_tbl.parms);
  neigh_table_init(arp_tbl);
  // inet_init / arp_init: the handlers in ptype_base.
  ip_packet_type_.type = wire::ETH_P_IP;
  ip_packet_type_.func = ip_rcv;
  arp_packet_type_.type = wire::ETH_P_ARP;
  arp_packet_type_.func = arp_rcv;
  dev_add_pack(&ip_packet_type_);
  dev_add_pack(&arp_packet_type_);
  // inet_init: UDP's ICMP error handler (udp_protocol.err_handler).
  icmp_register_err_handler(*this, wire::IPPROTO_ICMP, icmp_err);
  icmp_register_err_handler(*this, wire::IPPROTO_UDP, udp_err);
  icmp_register_err_handler(*this, wire::IPPROTO_TCP, tcp_v4_err);  // tcp_protocol.err_handler
}

static void free_queue(SkbQueue& q) {
  while (SkBuff* skb = q.pop_front()) __kfree_skb(skb);
}

Net::~Net() {
  // Quietly give back whatever is still in flight, then the devices.
  free_queue(softnet.input_pkt_queue);
  free_queue(softnet.process_queue);
  free_queue(softnet.completion_queue);
  for (auto& d : devices) {
    if (d->qdisc) {
      free_queue(d->qdisc->gso_skb);
      while (SkBuff* skb = d->qdisc->dequeue()) __kfree_skb(skb);
    }
  }
  for (auto& [key, n] : arp_tbl.entries) free_queue(n->arp_queue);
  devices.clear();
}

NetDevice* Net::dev_get_by_name(const std::string& name) const {
  for (const auto& d : devices)
    if (d->name == name) return d.get();
  return nullptr;
}

NetDevice* Net::dev_get_by_index(int ifindex) const {
  for (const auto& d : devices)
    if (d->ifindex == ifindex) return d.get();
  return nullptr;
}

void Net::dev_add_pack(PacketType* pt) {
  if (pt->type == 0) ptype_all.push_back(pt); else ptype_base.push_back(pt);
}

void Net::dev_remove_pack(PacketType* pt) {
  auto& v = pt->type == 0 ? ptype_all : ptype_base;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (*it == pt) {
      v.erase(it);
      return;
    }
  }
}

}  // namespace nettwin
