// eth_type_trans: pkt_type and protocol as seen by __netif_receive_skb_core.
#include <gtest/gtest.h>

#include "test_helpers.h"

namespace nettwin {
namespace {

std::string pkt_type_for(const std::array<uint8_t, 6>& dst) {
  test::Dut d(DeviceKind::Veth);
  d.trace(true);
  d.inject(test::icmp_echo_request(1, 1, {}, 0, 64, dst));
  d.stack.run_until_idle();
  for (const auto& e : d.events)
    if (e.name == "checkpoint:__netif_receive_skb_core") {
      EXPECT_EQ(d.field(e, "protocol"), "2048");
      EXPECT_EQ(d.field(e, "len"), "28");  // the Ethernet header was pulled
      EXPECT_EQ(d.field(e, "data"), "78");  // NET_SKB_PAD + ETH_HLEN
      return d.field(e, "pkt_type");
    }
  ADD_FAILURE() << "no checkpoint:__netif_receive_skb_core";
  return "";
}

TEST(EthTypeTrans, ClassifiesPktType) {
  EXPECT_EQ(pkt_type_for(test::kDutMac), "0");                              // PACKET_HOST
  EXPECT_EQ(pkt_type_for({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), "1");      // PACKET_BROADCAST
  EXPECT_EQ(pkt_type_for({0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}), "2");      // PACKET_MULTICAST
  EXPECT_EQ(pkt_type_for({0x02, 0x00, 0x00, 0x00, 0x01, 0x03}), "3");      // PACKET_OTHERHOST
}

TEST(EthTypeTrans, UnknownEthertypeIsUnhandledProto) {
  test::Dut d(DeviceKind::Veth);
  d.trace();
  auto f = test::icmp_echo_request(1, 1, {});
  f[12] = 0x86;  // IPv6: no handler yet
  f[13] = 0xdd;
  d.inject(f);
  d.stack.run_until_idle();
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "UNHANDLED_PROTO");
  EXPECT_EQ(d.field(*drops[0], "location"), "__netif_receive_skb_core");
  EXPECT_EQ(d.field(*drops[0], "protocol"), "34525");
  EXPECT_EQ(d.counter("dev.ntdut0.rx_dropped"), 1u);
}

}  // namespace
}  // namespace nettwin

namespace nettwin {
namespace {

// pwru's view of an skb for its pcap filter: with skb_data asked, checkpoints
// carry the skb's bytes from the MAC header once a network header follows it
// (l2), from the network header otherwise (l3); never without the ask.
TEST(CheckpointSkbData, CarriesTheFrameFromTheMacHeaderOnceTheNetworkHeaderIsSet) {
  test::Dut d(DeviceKind::Veth);
  TraceFilter f;
  f.checkpoints = true;
  f.skb_data = true;
  d.stack.subscribe(f, [&d](const TraceEvent& ev) { d.events.push_back(ev); });
  const test::Bytes frame = test::icmp_echo_request(1, 1, {});
  d.inject(frame);
  d.stack.run_until_idle();
  const TraceEvent* ip_rcv = nullptr;
  for (const auto& e : d.events)
    if (e.name == "checkpoint:ip_rcv" && !ip_rcv) ip_rcv = &e;
  ASSERT_NE(ip_rcv, nullptr);
  EXPECT_EQ(d.field(*ip_rcv, "frame_layer"), "l2");
  std::string hex;
  for (uint8_t b : frame) hex += "0123456789abcdef"[b >> 4], hex += "0123456789abcdef"[b & 15];
  EXPECT_EQ(d.field(*ip_rcv, "frame"), hex);
}

TEST(CheckpointSkbData, IsLeftOutUnlessAsked) {
  test::Dut d(DeviceKind::Veth);
  d.trace(true);
  d.inject(test::icmp_echo_request(1, 1, {}));
  d.stack.run_until_idle();
  ASSERT_FALSE(d.events.empty());
  for (const auto& e : d.events)
    for (const auto& [k, v] : e.fields) EXPECT_NE(k, "frame") << e.name;
}

}  // namespace
}  // namespace nettwin
