// The ring NIC: RX ring full → rx_missed, NAPI weight and netdev_budget, refill.
#include <gtest/gtest.h>

#include "core/net.h"
#include "drivers/ring_nic.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Dut;

// A frame for another MAC: ip_rcv_core drops it, so no reply traffic muddles counts.
test::Bytes other_host_frame() {
  return test::icmp_echo_request(1, 1, {}, 0, 64, {0x02, 0, 0, 0, 0x09, 0x09});
}

TEST(RingNic, FullRxRingDropsAndCountsRxMissed) {
  Dut d(DeviceKind::Ring, 1, /*rx_ring=*/4);
  int queued = 0, missed = 0;
  for (int i = 0; i < 6; ++i) (d.inject(other_host_frame()).queued ? queued : missed)++;
  EXPECT_EQ(queued, 4);
  EXPECT_EQ(missed, 2);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_missed_errors"), 2u);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_packets"), 0u);  // nothing ran yet
  d.stack.run_until_idle();
  EXPECT_EQ(d.counter("dev.ntdut0.rx_packets"), 4u);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_otherhost_dropped"), 4u);
  EXPECT_TRUE(d.inject(other_host_frame()).queued);  // the ring has room again
}

TEST(RingNic, NapiPollRespectsWeight) {
  Dut d(DeviceKind::Ring);
  d.trace();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(d.inject(other_host_frame()).queued);
  d.stack.run_until_idle();
  std::vector<std::string> works;
  for (const auto* e : d.named("napi:napi_poll")) {
    EXPECT_EQ(d.field(*e, "dev_name"), "ntdut0");
    EXPECT_EQ(d.field(*e, "budget"), "64");  // the weight
    works.push_back(d.field(*e, "work"));
  }
  // A napi that used its whole weight is polled again in the next round.
  EXPECT_EQ(works, (std::vector<std::string>{"64", "64", "64", "8"}));
  EXPECT_EQ(d.counter("softnet.time_squeeze"), 0u);
  EXPECT_EQ(d.counter("softnet.processed"), 200u);
}

TEST(RingNic, NetdevBudgetIsSharedByAllNapisAndSqueezes) {
  Dut d(DeviceKind::Ring);
  DeviceConfig c;
  c.name = "eth1";
  c.mac = {0x02, 0, 0, 0, 0x02, 0x02};
  ASSERT_FALSE(d.stack.create_device(c).has_value());
  ASSERT_FALSE(d.stack.set_sysctl("net.core.netdev_budget", "100").has_value());
  d.trace();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(d.inject(other_host_frame()).queued);
    ASSERT_TRUE(std::get<InjectResult>(d.stack.inject("eth1", other_host_frame())).queued);
  }
  d.stack.run_until_idle();
  std::vector<std::string> polls;
  for (const auto* e : d.named("napi:napi_poll")) polls.push_back(d.field(*e, "dev_name") + ":" + d.field(*e, "work"));
  // 64 + 64 > 100: the second poll exhausts the budget; the next softirq round finishes both.
  EXPECT_EQ(polls, (std::vector<std::string>{"ntdut0:64", "eth1:64", "ntdut0:36", "eth1:36"}));
  EXPECT_EQ(d.counter("softnet.time_squeeze"), 1u);
}

TEST(RingNic, PollRefillsEveryDescriptorItTakes) {
  Dut d(DeviceKind::Ring, 1, /*rx_ring=*/8);
  auto* nic = static_cast<RingNic*>(d.stack.net().dev_get_by_name("ntdut0"));
  const uint64_t heads = d.stack.net().pool.heads_in_use();
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(d.inject(other_host_frame()).queued);
    d.stack.run_until_idle();
  }
  EXPECT_EQ(nic->rx_refills(), 40u);
  for (const auto& desc : nic->rx_ring()) {
    ASSERT_NE(desc.skb, nullptr);
    EXPECT_FALSE(desc.done);
    EXPECT_EQ(desc.skb->len, 0u);
    EXPECT_GE(skb_tailroom(desc.skb), int(nic->rx_buffer_len()));
  }
  EXPECT_EQ(d.stack.net().pool.heads_in_use(), heads);  // dropped frames went back to the pool
}

TEST(RingNic, InterruptIsMaskedWhileNapiRuns) {
  Dut d(DeviceKind::Ring);
  d.trace();
  for (int i = 0; i < 3; ++i) d.inject(other_host_frame());
  d.stack.run_until_idle();
  // Three frames, one interrupt, one poll that took all three.
  auto polls = d.named("napi:napi_poll");
  ASSERT_EQ(polls.size(), 1u);
  EXPECT_EQ(d.field(*polls[0], "work"), "3");
}

}  // namespace
}  // namespace nettwin
