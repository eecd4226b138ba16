// ETH_P_ALL taps for the API (net/packet/af_packet.c in miniature): each tap
// is a packet_type on ptype_all whose func copies the frame out and consumes
// its clone, as tpacket_rcv does for tcpdump's ring.
#pragma once

#include <memory>
#include <vector>

#include "core/netdevice.h"
#include "stack.h"

namespace nettwin {

class PacketTaps {
 public:
  explicit PacketTaps(Net& net) : net_(net) {}
  ~PacketTaps();
  PacketTaps(const PacketTaps&) = delete;
  PacketTaps& operator=(const PacketTaps&) = delete;

  int add(NetDevice* dev, TapCallback cb);  // dev nullptr: every device
  // Safe from inside a tap's callback: the tap goes quiet at once and leaves
  // ptype_all at the next add/remove made outside any callback.
  void remove(int id);

 private:
  struct Tap {
    PacketType pt;
    PacketTaps* owner = nullptr;
    int id = 0;
    bool dead = false;
    TapCallback cb;
  };
  static int tpacket_rcv(SkBuff* skb, NetDevice* dev, PacketType* pt, NetDevice* orig_dev);
  void purge();

  Net& net_;
  int next_id_ = 0;
  int in_callback_ = 0;
  std::vector<std::unique_ptr<Tap>> taps_;
};

}  // namespace nettwin
