#include "core/packet_tap.h"

#include <algorithm>

#include "core/net.h"
#include "core/trace_events.h"

namespace nettwin {

PacketTaps::~PacketTaps() {
  for (auto& t : taps_) t->dead = true;
  in_callback_ = 0;
  purge();
}

int PacketTaps::add(NetDevice* dev, TapCallback cb) {
  if (!in_callback_) purge();
  auto tap = std::make_unique<Tap>();
  tap->pt.type = 0;  // ETH_P_ALL
  tap->pt.dev = dev;
  tap->pt.func = &PacketTaps::tpacket_rcv;
  tap->pt.priv = tap.get();
  tap->owner = this;
  tap->id = ++next_id_;
  tap->cb = std::move(cb);
  net_.ptype_all.push_back(&tap->pt);  // dev_add_pack
  taps_.push_back(std::move(tap));
  return next_id_;
}

void PacketTaps::remove(int id) {
  for (auto& t : taps_)
    if (t->id == id) t->dead = true;
  if (!in_callback_) purge();
}

void PacketTaps::purge() {
  for (auto it = taps_.begin(); it != taps_.end();) {
    if (!(*it)->dead) {
      ++it;
      continue;
    }
    auto& all = net_.ptype_all;  // dev_remove_pack
    all.erase(std::remove(all.begin(), all.end(), &(*it)->pt), all.end());
    it = taps_.erase(it);
  }
}

int PacketTaps::tpacket_rcv(SkBuff* skb, NetDevice* dev, PacketType* pt, NetDevice*) {
  Tap* tap = static_cast<Tap*>(pt->priv);
  PacketTaps* self = tap->owner;
  checkpoint(dev_net(dev).tracer, "tpacket_rcv", skb);
  if (tap->dead) {
    consume_skb(skb, "tpacket_rcv");
    return 0;
  }
  TapFrame f;
  f.dev = dev->name;
  f.time_ns = dev_net(dev).engine.now();
  f.outgoing = skb->pkt_type == PACKET_OUTGOING;
  const uint8_t* start = skb_mac_header_was_set(skb) ? skb_mac_header(skb) : skb->data;
  f.data.assign(start, static_cast<const uint8_t*>(skb_tail_pointer(skb)));
  consume_skb(skb, "tpacket_rcv");  // the frame is copied into the ring
  ++self->in_callback_;
  tap->cb(f);
  --self->in_callback_;
  return 0;
}

}  // namespace nettwin
