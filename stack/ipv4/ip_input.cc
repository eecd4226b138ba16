// net/ipv4/ip_input.c: ip_rcv → ip_rcv_core (header checks) → ip_rcv_finish
// (routing) → dst input → ip_local_deliver → the protocol handler.
#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ip_fragment.h"
#include "ipv4/ipv4.h"
#include "ipv4/raw.h"
#include "ipv4/tcp_ipv4.h"
#include "ipv4/udp.h"
#include "netfilter/nf_hook.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

// Returns the skb when its header is sane, else frees it (with Linux's reason,
// at location ip_rcv_core) and returns null.
SkBuff* ip_rcv_core(SkBuff* skb, Net& net) {
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  // In promiscuous mode a frame for another host gets this far: drop it unread.
  if (skb->pkt_type == PACKET_OTHERHOST) {
    skb->dev->stats.rx_otherhost_dropped++;
    reason = SkbDropReason::OTHERHOST;
    goto drop;
  }
  net.mib.ip.InReceives++;
  net.mib.ip.InOctets += skb->len;
  skb = skb_share_check(skb, "ip_rcv_core");  // a packet socket may still hold it
  {
    if (!pskb_may_pull(skb, wire::IPV4_MIN_HLEN)) goto inhdr_error;
    wire::Iphdr iph{skb->data};
    if (iph.ihl() < 5 || iph.version() != 4) goto inhdr_error;
    switch (iph.tos() & 3) {  // IPSTATS_MIB_NOECTPKTS + (tos & INET_ECN_MASK)
      case 0: net.mib.ip.InNoECTPkts++; break;
      case 1: net.mib.ip.InECT1Pkts++; break;
      case 2: net.mib.ip.InECT0Pkts++; break;
      default: net.mib.ip.InCEPkts++; break;
    }
    if (!pskb_may_pull(skb, iph.ihl() * 4u)) goto inhdr_error;
    if (wire::ip_fast_csum(skb->data, iph.ihl()) != 0) {
      reason = SkbDropReason::IP_CSUM;
      net.mib.ip.InCsumErrors++;
      goto inhdr_error;
    }
    const unsigned len = iph.tot_len();
    if (skb->len < len) {
      reason = SkbDropReason::PKT_TOO_SMALL;
      net.mib.ip.InTruncatedPkts++;
      goto drop;
    } else if (len < iph.ihl() * 4u) {
      goto inhdr_error;
    }
    // The medium may have padded the frame: trim to the datagram (pskb_trim_rcsum).
    skb_trim(skb, len);
    skb->transport_header = uint16_t(skb->network_header + iph.ihl() * 4u);
    std::fill(std::begin(skb->cb), std::end(skb->cb), uint8_t(0));  // IPCB
    return skb;
  }
inhdr_error:
  if (reason == SkbDropReason::NOT_SPECIFIED) reason = SkbDropReason::IP_INHDR;
  net.mib.ip.InHdrErrors++;
drop:
  checkpoint(net.tracer, "ip_rcv_core", skb, "drop");
  kfree_skb(skb, reason, "ip_rcv_core");
  return nullptr;
}

int ip_rcv_finish(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_rcv_finish", skb);
  wire::Iphdr iph{skb_network_header(skb)};
  // Early demux: a connected UDP socket's cached input route spares the lookup.
  if (!skb_valid_dst(skb) && iph.protocol() == wire::IPPROTO_UDP && !(iph.frag_off() & (wire::IP_MF | wire::IP_OFFSET)))
    udp_v4_early_demux(skb);
  // ... and an established TCP socket's (tcp_v4_early_demux).
  if (!skb_valid_dst(skb) && iph.protocol() == wire::IPPROTO_TCP && !(iph.frag_off() & (wire::IP_MF | wire::IP_OFFSET)))
    tcp_v4_early_demux(skb);
  if (!skb_valid_dst(skb)) {
    SkbDropReason reason;
    if (ip_route_input_noref(skb, iph.daddr(), iph.saddr(), iph.tos() & 0xfc, skb->dev, &reason) != 0) {
      checkpoint(net.tracer, "ip_rcv_finish_core", skb, "drop");
      kfree_skb(skb, reason, "ip_rcv_finish_core");
      return NET_RX_DROP;
    }
  }
  if (wire::Iphdr{skb_network_header(skb)}.ihl() > 5) {
    const SkbDropReason reason = ip_rcv_options(skb, skb->dev);
    if (reason != SkbDropReason::NOT_DROPPED_YET) {
      checkpoint(net.tracer, "ip_rcv_finish_core", skb, "drop");
      kfree_skb(skb, reason, "ip_rcv_finish_core");
      return NET_RX_DROP;
    }
  }
  if (skb->dst->rt_type == RTN_BROADCAST) net.mib.ip.InBcastPkts++;
  return dst_input(skb);
}

constexpr uint8_t kIpprotoIgmp = 2;

// ip_protocol_deliver_rcu: raw sockets get their clones first, then the
// inet_protos handler (ICMP, IGMP, TCP, UDP).
void ip_protocol_deliver_rcu(Net& net, SkBuff* skb, uint8_t protocol) {
  const bool raw = raw_local_deliver(skb, protocol);
  if (protocol == wire::IPPROTO_ICMP) {
    icmp_rcv(skb);
    net.mib.ip.InDelivers++;
    return;
  }
  if (protocol == kIpprotoIgmp) {
    igmp_rcv(skb);
    net.mib.ip.InDelivers++;
    return;
  }
  if (protocol == wire::IPPROTO_TCP) {
    tcp_v4_rcv(skb);
    net.mib.ip.InDelivers++;
    return;
  }
  if (protocol == wire::IPPROTO_UDP) {
    udp_rcv(skb);
    net.mib.ip.InDelivers++;
    return;
  }
  if (raw) {
    net.mib.ip.InDelivers++;
    consume_skb(skb, "ip_local_deliver_finish");
    return;
  }
  net.mib.ip.InUnknownProtos++;
  icmp_send(skb, wire::ICMP_DEST_UNREACH, wire::ICMP_PROT_UNREACH, 0);
  checkpoint(net.tracer, "ip_protocol_deliver_rcu", skb, "drop");
  kfree_skb(skb, SkbDropReason::IP_NOPROTO, "ip_local_deliver_finish");  // inlined there
}

int ip_local_deliver_finish(Net& net, SkBuff* skb) {
  checkpoint(net.tracer, "ip_local_deliver_finish", skb);
  skb_pull(skb, unsigned(skb->transport_header - skb->network_header));
  ip_protocol_deliver_rcu(net, skb, wire::Iphdr{skb_network_header(skb)}.protocol());
  return 0;
}

}  // namespace

int ip_rcv(SkBuff* skb, NetDevice* dev, PacketType*, NetDevice*) {
  Net& net = dev_net(dev);
  checkpoint(net.tracer, "ip_rcv", skb);
  skb = ip_rcv_core(skb, net);
  if (!skb) return NET_RX_DROP;
  return NF_HOOK(NF_INET_PRE_ROUTING, net, skb, dev, nullptr, ip_rcv_finish);
}

int ip_local_deliver(SkBuff* skb) {
  Net& net = dev_net(skb->dev);
  checkpoint(net.tracer, "ip_local_deliver", skb);
  wire::Iphdr iph{skb_network_header(skb)};
  if (iph.frag_off() & (wire::IP_MF | wire::IP_OFFSET)) {  // ip_is_fragment
    if (ip_defrag(net, skb, IP_DEFRAG_LOCAL_DELIVER)) return 0;
  }
  return NF_HOOK(NF_INET_LOCAL_IN, net, skb, skb->dev, nullptr, ip_local_deliver_finish);
}

}  // namespace nettwin
