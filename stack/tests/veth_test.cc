// The veth end: the backlog path Linux recordings go through.
#include <gtest/gtest.h>

#include "core/net.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;

TEST(Veth, InjectGoesThroughTheBacklog) {
  test::Dut d(DeviceKind::Veth);
  d.trace(true);
  d.inject(test::icmp_echo_request(1, 1, {}, 0, 64, {0x02, 0, 0, 0, 9, 9}));
  // netif_rx happened at injection; nothing else until the clock runs.
  ASSERT_EQ(d.named("net:netif_rx").size(), 1u);
  EXPECT_TRUE(d.named("net:netif_receive_skb").empty());
  d.stack.run_until_idle();
  auto polls = d.named("napi:napi_poll");
  ASSERT_EQ(polls.size(), 1u);
  EXPECT_EQ(d.field(*polls[0], "dev_name"), "(no_device)");
  EXPECT_EQ(d.field(*polls[0], "work"), "1");
  EXPECT_EQ(d.field(*polls[0], "budget"), "64");
  std::vector<std::string> tps;
  for (const auto& e : d.events)
    if (e.name.rfind("checkpoint:", 0) != 0) tps.push_back(e.name);
  EXPECT_EQ(tps, (std::vector<std::string>{"net:netif_rx", "net:netif_receive_skb", "skb:kfree_skb", "napi:napi_poll"}));
}

TEST(Veth, FullBacklogDropsWithCpuBacklog) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.set_sysctl("net.core.netdev_max_backlog", "2").has_value());
  d.trace();
  int queued = 0;
  for (int i = 0; i < 5; ++i) queued += d.inject(test::icmp_echo_request(1, 1, {}, 0, 64, {0x02, 0, 0, 0, 9, 9})).queued;
  EXPECT_EQ(queued, 3);  // qlen <= netdev_max_backlog admits one more than the limit
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 2u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "CPU_BACKLOG");
  EXPECT_EQ(d.field(*drops[0], "location"), "enqueue_to_backlog");
  EXPECT_EQ(d.counter("softnet.dropped"), 2u);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_dropped"), 2u);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_packets"), 3u);
}

TEST(Veth, TransmitsWithoutAQdiscAndWithoutAFreeEvent) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "reachable").has_value());
  d.trace();
  d.inject(test::icmp_echo_request(1, 1, {}));
  d.stack.run_until_idle();
  EXPECT_TRUE(d.named("qdisc:qdisc_enqueue").empty());
  EXPECT_TRUE(d.named("qdisc:qdisc_dequeue").empty());
  auto x = d.named("net:net_dev_xmit");
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(d.field(*x[0], "rc"), "0");
  for (const auto& e : d.events) {
    if (e.name == "skb:consume_skb" || e.name == "skb:kfree_skb") {
      EXPECT_NE(e.skb, x[0]->skb);
    }
  }
  EXPECT_EQ(d.stack.net().pool.heads_in_use(), 0u);  // yet the skb went back to the pool
  EXPECT_EQ(d.counter("dev.ntdut0.tx_packets"), 1u);
}

TEST(Veth, LinkDownDropsAtInjection) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.set_link("ntdut0", false).has_value());
  const InjectResult r = d.inject(test::icmp_echo_request(1, 1, {}));
  EXPECT_FALSE(r.queued);
  EXPECT_TRUE(r.link_down);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_dropped"), 1u);
  EXPECT_EQ(d.counter("dev.ntdut0.wire.rx_while_down"), 1u);
  ASSERT_FALSE(d.stack.set_link("ntdut0", true).has_value());
  EXPECT_TRUE(d.inject(test::icmp_echo_request(1, 1, {})).queued);
}

}  // namespace
}  // namespace nettwin
