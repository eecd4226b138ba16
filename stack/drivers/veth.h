// drivers/net/veth.c, the end the stack owns. Its peer is "the wire": a frame
// injected here is what the peer's veth_xmit would forward (veth_forward_skb →
// __dev_forward_skb → eth_type_trans → __netif_rx into the per-CPU backlog),
// and what this end transmits (veth_xmit) goes to the wire for the harness.
// No qdisc: like Linux, veth runs noqueue.
#pragma once

#include "core/netdevice.h"

namespace nettwin {

class Veth : public NetDevice {
 public:
  Veth(Net& net, const DeviceConfig& config);
  NetdevTx ndo_start_xmit(SkBuff* skb) override;
  bool receive_from_wire(std::span<const uint8_t> frame) override;
};

// drivers/net/loopback.c: what is sent comes back in through netif_rx.
class Loopback : public NetDevice {
 public:
  Loopback(Net& net, const DeviceConfig& config);
  NetdevTx ndo_start_xmit(SkBuff* skb) override;
  bool receive_from_wire(std::span<const uint8_t> frame) override;
};

}  // namespace nettwin
