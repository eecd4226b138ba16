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
