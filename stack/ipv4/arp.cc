// net/ipv4/arp.c: receive (arp_rcv, arp_process), replies and solicitations
// (arp_create, arp_send_dst, arp_solicit), and the ARP neighbour constructor.
#include "core/dev.h"
#include "core/neighbour.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ethernet/eth.h"
#include "ipv4/ipv4.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

constexpr unsigned kLLReservedSpace = 16;  // LL_RESERVED_SPACE(dev) for Ethernet

// arp_create + arp_xmit: build an ARP packet and hand it to dev_queue_xmit.
void arp_send_dst(uint16_t type, wire::Ipv4Addr dest_ip, NetDevice* dev, wire::Ipv4Addr src_ip,
                  const wire::MacAddr* dest_hw, const wire::MacAddr* src_hw, const wire::MacAddr* target_hw) {
  Net& net = dev_net(dev);
  if (dev->flags & IFF_NOARP) return;
  SkBuff* skb = net.pool.alloc_skb(wire::ARP_ETH_IP_LEN + kLLReservedSpace);
  skb_reserve(skb, int(kLLReservedSpace));
  skb_reset_network_header(skb);
  uint8_t* p = skb_put(skb, wire::ARP_ETH_IP_LEN);
  skb->dev = dev;
  skb->protocol = wire::ETH_P_ARP;
  const wire::MacAddr& shw = src_hw ? *src_hw : dev->dev_addr;
  eth_header(skb, dev, wire::ETH_P_ARP, dest_hw ? *dest_hw : dev->broadcast, &shw);
  wire::ArpHdr arp{p};
  arp.set_fixed(dev->type, wire::ETH_P_IP, uint8_t(dev->addr_len), 4, type);
  arp.set_sha(shw);
  arp.set_sip(src_ip);
  arp.set_tha(target_hw ? *target_hw : wire::MacAddr{});
  arp.set_tip(dest_ip);
  checkpoint(net.tracer, "arp_xmit", skb);
  dev_queue_xmit(skb);
}

// inet_select_addr: an address of dev, preferring one on dst's subnet.
wire::Ipv4Addr inet_select_addr(const NetDevice* dev, wire::Ipv4Addr dst) {
  for (const auto& ifa : dev->ifa_list)
    if ((ifa.ifa_local & ifa.ifa_mask) == (dst & ifa.ifa_mask)) return ifa.ifa_local;
  return dev->ifa_list.empty() ? 0 : dev->ifa_list.front().ifa_local;
}

bool arp_is_garp(Net& net, NetDevice* dev, int* addr_type, uint16_t op, wire::Ipv4Addr sip, wire::Ipv4Addr tip,
                 const wire::MacAddr& sha, const wire::MacAddr& tha) {
  bool is_garp = tip == sip;
  if (is_garp && op == wire::ARPOP_REPLY) is_garp = sha == tha;
  if (is_garp) {
    *addr_type = inet_addr_type_dev_table(net, dev, sip);
    if (*addr_type != RTN_UNICAST) is_garp = false;
  }
  return is_garp;
}

// inet_confirm_addr / confirm_addr_indev: is local (any address when 0) an address of dev (of any
// device when dev is null) whose scope is at most scope, with dst (if set) on
// its subnet? 127/8 addresses are scope host, the others universe.
bool inet_confirm_addr(const Net& net, const NetDevice* dev, wire::Ipv4Addr dst, wire::Ipv4Addr local,
                       uint8_t scope) {
  for (const auto& d : net.devices) {
    if (dev && d.get() != dev) continue;
    for (const auto& ifa : d->ifa_list) {
      const uint8_t ifa_scope = wire::ipv4_is_loopback(ifa.ifa_local) ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
      if ((local && ifa.ifa_local != local) || ifa_scope > scope) continue;
      if (!dst || (dst & ifa.ifa_mask) == (ifa.ifa_local & ifa.ifa_mask)) return true;
    }
  }
  return false;
}

// arp_ignore: whether a request for tip (already known to be ours) goes unanswered.
bool arp_ignore(const Net& net, const NetDevice* dev, wire::Ipv4Addr sip, wire::Ipv4Addr tip) {
  switch (net.sysctl.arp_ignore) {
    case 0: return false;  // reply for any local address
    case 1: return !inet_confirm_addr(net, dev, 0, tip, RT_SCOPE_HOST);    // only if tip is on this device
    case 2: return !inet_confirm_addr(net, dev, sip, tip, RT_SCOPE_HOST);  // ... and sip on its subnet
    case 3: return !inet_confirm_addr(net, nullptr, 0, tip, RT_SCOPE_LINK);  // not for scope host addresses
    case 8: return true;   // do not reply
    default: return false;  // 4-7 reserved
  }
}

// arp_accept: whether an unsolicited ARP may create an entry for sip: never,
// always, or (2) when sip is on the subnet of an address of the receiving device.
bool arp_accept(const Net& net, const NetDevice* dev, wire::Ipv4Addr sip) {
  switch (net.sysctl.arp_accept) {
    case 1: return true;
    case 2: return inet_confirm_addr(net, dev, sip, 0, RT_SCOPE_LINK);
    default: return false;
  }
}

int arp_process(SkBuff* skb) {
  NetDevice* dev = skb->dev;
  Net& net = dev_net(dev);
  checkpoint(net.tracer, "arp_process", skb);
  wire::ArpHdr arp{skb_network_header(skb)};
  if (arp.ar_pro() != wire::ETH_P_IP || arp.ar_hrd() != dev->type ||
      (arp.ar_op() != wire::ARPOP_REPLY && arp.ar_op() != wire::ARPOP_REQUEST)) {
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "arp_process");
    return NET_RX_DROP;
  }
  const wire::MacAddr sha = arp.sha(), tha = arp.tha();
  const wire::Ipv4Addr sip = arp.sip(), tip = arp.tip();
  const uint16_t op = arp.ar_op();
  if (wire::ipv4_is_multicast(tip) || (!net.sysctl.route_localnet && wire::ipv4_is_loopback(tip)) ||
      (sip == tip && net.sysctl.drop_gratuitous_arp)) {
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "arp_process");
    return NET_RX_DROP;
  }

  if (sip == 0) {  // duplicate address detection (RFC 2131): arp_ignore holds here too
    if (op == wire::ARPOP_REQUEST && inet_addr_type_dev_table(net, dev, tip) == RTN_LOCAL &&
        !arp_ignore(net, dev, sip, tip))
      arp_send_dst(wire::ARPOP_REPLY, sip, dev, tip, &sha, &dev->dev_addr, &sha);
    consume_skb(skb, "arp_process");
    return NET_RX_SUCCESS;
  }

  SkbDropReason reason;
  if (op == wire::ARPOP_REQUEST && ip_route_input_noref(skb, tip, sip, 0, dev, &reason) == 0) {
    if (skb->dst->rt_type == RTN_LOCAL) {
      if (!arp_ignore(net, dev, sip, tip)) {
        if (NeighbourEntry* n = neigh_event_ns(net.arp_tbl, sha, sip, dev)) {
          arp_send_dst(wire::ARPOP_REPLY, sip, dev, tip, &sha, &dev->dev_addr, &sha);
          neigh_release(n);
        }
      }
      consume_skb(skb, "arp_process");
      return NET_RX_SUCCESS;
    }
  }

  // Update our ARP tables: entries we already have, new ones as arp_accept allows.
  NeighbourEntry* n = __neigh_lookup(net.arp_tbl, sip, dev, false);
  int addr_type = -1;
  bool is_garp = false;
  const bool accept = arp_accept(net, dev, sip);
  if (n || accept) is_garp = arp_is_garp(net, dev, &addr_type, op, sip, tip, sha, tha);
  if (accept && !n &&
      (is_garp || (op == wire::ARPOP_REPLY &&
                   (addr_type == int(RTN_UNICAST) ||
                    (addr_type < 0 && inet_addr_type_dev_table(net, dev, sip) == RTN_UNICAST)))))
    n = __neigh_lookup(net.arp_tbl, sip, dev, true);
  if (n) {
    const uint64_t locktime_ns = uint64_t(dev->neigh_parms.locktime) * 10000000ull;
    const bool override = time_after(net.engine.now(), n->updated + locktime_ns) || is_garp;
    uint8_t state = NUD_REACHABLE;
    // Broadcast replies and requests do not assert reachability.
    if (op != wire::ARPOP_REPLY || skb->pkt_type != PACKET_HOST) state = NUD_STALE;
    neigh_update(n, &sha, state, override ? uint32_t(NEIGH_UPDATE_F_OVERRIDE) : 0u, 0);
    neigh_release(n);
  }
  consume_skb(skb, "arp_process");
  return NET_RX_SUCCESS;
}

}  // namespace

int arp_rcv(SkBuff* skb, NetDevice* dev, PacketType*, NetDevice*) {
  Net& net = dev_net(dev);
  checkpoint(net.tracer, "arp_rcv", skb);
  // Do not tweak dropwatch on an ARP we will ignore.
  if ((dev->flags & IFF_NOARP) || skb->pkt_type == PACKET_OTHERHOST || skb->pkt_type == PACKET_LOOPBACK) {
    consume_skb(skb, "arp_rcv");
    return NET_RX_SUCCESS;
  }
  skb = skb_share_check(skb, "arp_rcv");  // a packet socket may still hold it
  if (!pskb_may_pull(skb, wire::ARP_ETH_IP_LEN)) {
    kfree_skb(skb, SkbDropReason::PKT_TOO_SMALL, "arp_rcv");
    return NET_RX_DROP;
  }
  wire::ArpHdr arp{skb->data};
  if (arp.ar_hln() != dev->addr_len || arp.ar_pln() != 4) {
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "arp_rcv");
    return NET_RX_DROP;
  }
  return arp_process(skb);  // NF_HOOK(NFPROTO_ARP, NF_ARP_IN): no netfilter yet
}

void arp_solicit(NeighbourEntry* n, SkBuff* skb) {
  NetDevice* dev = n->dev;
  Net& net = dev_net(dev);
  wire::Ipv4Addr saddr = 0;
  const bool has_ip = skb && skb->network_header != SKB_HEADER_UNSET;
  // IN_DEV_ARP_ANNOUNCE: 0 any local source, 1 only one the target shares a
  // subnet with, 2 always the device's primary address (no lookup at all).
  switch (net.sysctl.arp_announce) {
    default:
    case 0:
      if (has_ip) {
        wire::Iphdr iph{skb_network_header(skb)};
        if (inet_addr_type_dev_table(net, dev, iph.saddr()) == RTN_LOCAL) saddr = iph.saddr();
      }
      break;
    case 1:
      if (has_ip) {
        wire::Iphdr iph{skb_network_header(skb)};
        saddr = iph.saddr();
        if (!(inet_addr_type_dev_table(net, dev, saddr) == RTN_LOCAL && inet_addr_onlink(dev, n->primary_key, saddr)))
          saddr = 0;
      }
      break;
    case 2:
      break;
  }
  if (!saddr) saddr = inet_select_addr(dev, n->primary_key);
  int probes = n->probes - int(dev->neigh_parms.ucast_solicit);
  const wire::MacAddr* dst_hw = nullptr;
  wire::MacAddr dst_ha;
  if (probes < 0) {
    dst_ha = n->ha;  // a unicast probe of the address we had
    dst_hw = &dst_ha;
  } else if (probes - int(dev->neigh_parms.app_solicit) < 0) {
    return;  // neigh_app_ns: a user-space resolver would be asked
  }
  arp_send_dst(wire::ARPOP_REQUEST, n->primary_key, dev, saddr, dst_hw, &dev->dev_addr, nullptr);
}

void arp_constructor(NeighbourEntry* n) {
  NetDevice* dev = n->dev;
  n->type = inet_addr_type_dev_table(dev_net(dev), dev, n->primary_key);
  if (n->type == RTN_MULTICAST) {
    n->nud_state = NUD_NOARP;
    const wire::Ipv4Addr a = n->primary_key;  // ip_eth_mc_map
    n->ha = {0x01, 0x00, 0x5e, uint8_t((a >> 16) & 0x7f), uint8_t(a >> 8), uint8_t(a)};
  } else if (dev->flags & (IFF_NOARP | IFF_LOOPBACK)) {
    n->nud_state = NUD_NOARP;
    n->ha = dev->dev_addr;
  } else if (n->type == RTN_BROADCAST) {
    n->nud_state = NUD_NOARP;
    n->ha = dev->broadcast;
  }
  n->output = neigh_resolve_output;  // arp_hh_ops, connected or not
}

// ipv4_link_failure → ipv4_send_dest_unreach: the sender of what could not
// be delivered hears of it as an ICMP host unreachable.
static void ipv4_link_failure(SkBuff* skb) {
  checkpoint(dev_net(skb->dev).tracer, "ipv4_link_failure", skb);
  if (skb->network_header == SKB_HEADER_UNSET || !skb->dst) return;
  const uint8_t* nh = skb_network_header(skb);
  if (nh < skb->data || nh + wire::IPV4_MIN_HLEN > skb_tail_pointer(skb)) return;
  wire::Iphdr iph{const_cast<uint8_t*>(nh)};
  if (iph.version() != 4 || iph.ihl() < 5) return;
  icmp_send(skb, wire::ICMP_DEST_UNREACH, wire::ICMP_HOST_UNREACH, 0);
}

// arp_error_report: resolution failed for a queued skb (neigh_invalidate).
void arp_error_report(NeighbourEntry* n, SkBuff* skb) {
  (void)n;
  ipv4_link_failure(skb);  // dst_link_failure
  kfree_skb(skb, SkbDropReason::NEIGH_FAILED, "arp_error_report");
}

}  // namespace nettwin
