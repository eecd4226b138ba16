// NAPI and the backlog, asserted from the trace: the ring NIC's RX/TX path
// checkpoints, netdev_budget and netdev_budget_usecs (virtual time), several
// devices on one poll list, the backlog's netdev_max_backlog, interrupt
// coalescing and ring sizes. None of this shows on a veth recording.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/dev.h"
#include "core/net.h"
#include "drivers/ring_nic.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;

// A frame for an EtherType nobody handles: the cheapest full trip through
// the poll (dropped at __netif_receive_skb_core, UNHANDLED_PROTO).
Bytes unhandled_frame(uint8_t marker) {
  Bytes b(test::kDutMac.begin(), test::kDutMac.end());
  b.insert(b.end(), test::kTesterMac.begin(), test::kTesterMac.end());
  b.push_back(0x88);
  b.push_back(0xb5);  // IEEE local experimental
  b.resize(60, marker);
  return b;
}

std::vector<std::string> checkpoint_names(const test::Dut& d, uint64_t skb) {
  std::vector<std::string> out;
  for (const auto& e : d.events)
    if (e.skb == skb && e.name.rfind("checkpoint:", 0) == 0) out.push_back(e.name.substr(11));
  return out;
}

bool in_order(const std::vector<std::string>& seen, const std::vector<std::string>& want) {
  size_t i = 0;
  for (const auto& s : seen)
    if (i < want.size() && s == want[i]) ++i;
  return i == want.size();
}

TEST(Napi, RingNicRxAndTxPathReportEveryLayer) {
  test::Dut d(DeviceKind::Ring);
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  d.trace(/*checkpoints=*/true);
  d.inject(test::icmp_echo_request(1, 1, Bytes(8, 7)));
  d.stack.run_until_idle();
  ASSERT_EQ(d.stack.take_wire().size(), 1u);
  const uint64_t request = d.named("net:netif_receive_skb").at(0)->skb;
  EXPECT_TRUE(in_order(checkpoint_names(d, request),
                       {"e1000_clean_rx_irq", "eth_type_trans", "napi_gro_receive", "netif_receive_skb_list_internal",
                        "__netif_receive_skb_core", "ip_rcv"}))
      << ::testing::PrintToString(checkpoint_names(d, request));
  const uint64_t reply = d.named("net:net_dev_start_xmit").at(0)->skb;
  EXPECT_TRUE(in_order(checkpoint_names(d, reply),
                       {"dev_queue_xmit", "sch_direct_xmit", "dev_hard_start_xmit", "e1000_xmit_frame",
                        "e1000_clean_tx_irq", "napi_consume_skb"}))
      << ::testing::PrintToString(checkpoint_names(d, reply));
  // The completion frees it inside the poll, named after the driver function.
  bool consumed = false;
  for (const auto& e : d.events)
    if (e.name == "skb:consume_skb" && e.skb == reply) {
      EXPECT_EQ(d.field(e, "location"), "e1000_unmap_and_free_tx_resource");
      consumed = true;
    }
  EXPECT_TRUE(consumed);
  EXPECT_FALSE(d.named("checkpoint:e1000_alloc_rx_buffers").empty()) << "the cleaned descriptor was refilled";
}

TEST(Napi, VethPathGoesThroughTheBacklog) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  d.trace(true);
  d.inject(test::icmp_echo_request(1, 1, Bytes(8, 7)));
  d.stack.run_until_idle();
  const uint64_t request = d.named("net:netif_rx").at(0)->skb;
  EXPECT_TRUE(in_order(checkpoint_names(d, request),
                       {"eth_type_trans", "__netif_rx", "enqueue_to_backlog", "process_backlog",
                        "__netif_receive_skb_core", "ip_rcv"}))
      << ::testing::PrintToString(checkpoint_names(d, request));
  const uint64_t reply = d.named("net:net_dev_start_xmit").at(0)->skb;
  EXPECT_TRUE(in_order(checkpoint_names(d, reply), {"dev_queue_xmit", "dev_hard_start_xmit", "veth_xmit"}));
  auto polls = d.named("napi:napi_poll");
  ASSERT_EQ(polls.size(), 1u);
  EXPECT_EQ(d.field(*polls[0], "dev_name"), "(no_device)");
}

std::vector<std::pair<std::string, int>> polls(const test::Dut& d) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto* e : d.named("napi:napi_poll"))
    out.emplace_back(d.field(*e, "dev_name"), std::stoi(d.field(*e, "work")));
  return out;
}

TEST(Napi, WeightSplitsPollsAndOneSoftirqPollsEachNapiOnce) {
  test::Dut d(DeviceKind::Ring);
  d.trace();
  for (int i = 0; i < 200; ++i) d.inject(unhandled_frame(uint8_t(i)));
  d.stack.run_until_idle();
  // A napi that used its weight goes on repoll, polled again by the next
  // NET_RX run: one device alone never spends netdev_budget (300).
  using P = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(polls(d), (P{{"ntdut0", 64}, {"ntdut0", 64}, {"ntdut0", 64}, {"ntdut0", 8}}));
  EXPECT_EQ(d.counter("softnet.time_squeeze"), 0u);
  EXPECT_EQ(d.counter("softnet.processed"), 200u);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_packets"), 200u);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_dropped"), 200u);  // no handler for 0x88b5
}

TEST(Napi, BudgetUsecsIsVirtualTimeSpentPolling) {
  test::Dut d(DeviceKind::Ring);
  ASSERT_FALSE(d.stack.set_sysctl("net.core.netdev_budget_usecs", "50").has_value());
  d.trace();
  for (int i = 0; i < 200; ++i) d.inject(unhandled_frame(uint8_t(i)));
  const uint64_t t0 = d.stack.now_ns();
  d.stack.run_until_idle();
  // Each 64-packet poll costs 64 us >= 50 us: every full poll ends the softirq.
  EXPECT_EQ(d.counter("softnet.time_squeeze"), 3u);
  EXPECT_EQ(d.stack.now_ns() - t0, 200 * kNapiPacketCostNs);
  // With the default 8000 us, the packet budget (300) is what limits.
  test::Dut e(DeviceKind::Ring);
  for (int i = 0; i < 200; ++i) e.inject(unhandled_frame(uint8_t(i)));
  e.stack.run_until_idle();
  EXPECT_EQ(e.counter("softnet.time_squeeze"), 0u);
}

void add_eth1(test::Dut& d) {
  DeviceConfig c;
  c.name = "eth1";
  c.kind = DeviceKind::Ring;
  c.mac = {0x02, 0, 0, 0, 0x02, 0x02};
  ASSERT_FALSE(d.stack.create_device(c).has_value());
}

void inject_both(test::Dut& d, int n) {
  Bytes f1 = unhandled_frame(1);
  const uint8_t mac[6] = {0x02, 0, 0, 0, 0x02, 0x02};
  std::copy(mac, mac + 6, f1.begin());
  for (int i = 0; i < n; ++i) {
    d.inject(unhandled_frame(0));
    ASSERT_TRUE(std::holds_alternative<InjectResult>(d.stack.inject("eth1", f1)));
  }
}

TEST(Napi, TwoDevicesShareThePollListRoundRobin) {
  test::Dut d(DeviceKind::Ring);
  add_eth1(d);
  d.trace();
  inject_both(d, 100);
  d.stack.run_until_idle();
  using P = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(polls(d), (P{{"ntdut0", 64}, {"eth1", 64}, {"ntdut0", 36}, {"eth1", 36}}));
  EXPECT_EQ(d.counter("softnet.time_squeeze"), 0u);  // 128 < 300
}

TEST(Napi, NetdevBudgetSqueezesTheSoftirq) {
  test::Dut d(DeviceKind::Ring);
  add_eth1(d);
  ASSERT_FALSE(d.stack.set_sysctl("net.core.netdev_budget", "100").has_value());
  d.trace();
  inject_both(d, 100);
  d.stack.run_until_idle();
  // 64 + 64 > 100: the first run ends squeezed; the same order carries on.
  using P = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(polls(d), (P{{"ntdut0", 64}, {"eth1", 64}, {"ntdut0", 36}, {"eth1", 36}}));
  EXPECT_EQ(d.counter("softnet.time_squeeze"), 1u);
  EXPECT_EQ(d.counter("softnet.processed"), 200u);
}

TEST(Napi, BacklogHoldsNetdevMaxBacklogAndDropsTheRest) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.set_sysctl("net.core.netdev_max_backlog", "10").has_value());
  d.trace();
  int queued = 0;
  for (int i = 0; i < 15; ++i) queued += d.inject(unhandled_frame(uint8_t(i))).queued ? 1 : 0;
  EXPECT_EQ(queued, 11);  // enqueue_to_backlog accepts while qlen <= netdev_max_backlog
  EXPECT_EQ(d.counter("softnet.input_qlen"), 11u);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 4u);
  for (const auto* e : drops) {
    EXPECT_EQ(d.field(*e, "reason"), "CPU_BACKLOG");
    EXPECT_EQ(d.field(*e, "location"), "enqueue_to_backlog");
  }
  EXPECT_EQ(d.counter("softnet.dropped"), 4u);
  d.stack.run_until_idle();
  EXPECT_EQ(d.counter("softnet.backlog_len"), 0u);
  using P = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(polls(d), (P{{"(no_device)", 11}}));
}

TEST(Napi, DownDevicesIgnoreFrames) {
  test::Dut ring(DeviceKind::Ring);
  ASSERT_FALSE(ring.stack.set_link("ntdut0", false).has_value());
  ring.trace();
  const InjectResult r = ring.inject(unhandled_frame(1));
  EXPECT_FALSE(r.queued);
  EXPECT_TRUE(r.link_down);
  ring.stack.run_until_idle();
  EXPECT_TRUE(ring.events.empty()) << "the receiver is off: nothing reaches memory";
  EXPECT_EQ(ring.counter("dev.ntdut0.rx_missed_errors"), 0u);
  EXPECT_EQ(ring.counter("dev.ntdut0.wire.rx_while_down"), 1u) << "counted by the stack, not by Linux";
  ASSERT_FALSE(ring.stack.set_link("ntdut0", true).has_value());
  EXPECT_TRUE(ring.inject(unhandled_frame(1)).queued);
}

TEST(Napi, InterruptCoalescingWaitsRxUsecsOrRxFrames) {
  test::Dut d(DeviceKind::Ring);
  auto* nic = static_cast<RingNic*>(d.stack.net().dev_get_by_name("ntdut0"));
  ASSERT_FALSE(d.stack.set_coalesce("ntdut0", 100, 0).has_value());
  d.trace();
  for (int i = 0; i < 3; ++i) d.inject(unhandled_frame(uint8_t(i)));
  d.stack.advance(99000);
  EXPECT_TRUE(d.named("napi:napi_poll").empty()) << "the interrupt waits rx_usecs";
  d.stack.advance(1000);
  using P = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(polls(d), (P{{"ntdut0", 3}}));
  EXPECT_EQ(nic->interrupts(), 1u);

  // rx_frames: the second pending frame raises it at once.
  ASSERT_FALSE(d.stack.set_coalesce("ntdut0", 100, 2).has_value());
  d.events.clear();
  d.inject(unhandled_frame(9));
  d.stack.advance(0);
  EXPECT_TRUE(d.named("napi:napi_poll").empty());
  d.inject(unhandled_frame(9));
  d.stack.advance(0);
  EXPECT_EQ(polls(d), (P{{"ntdut0", 2}}));
  EXPECT_EQ(nic->interrupts(), 2u);
}

TEST(Napi, RingSizeIsWhatTheRingHolds) {
  test::Dut d(DeviceKind::Ring);
  ASSERT_FALSE(d.stack.set_ring_size("ntdut0", 4, 8).has_value());
  auto* nic = static_cast<RingNic*>(d.stack.net().dev_get_by_name("ntdut0"));
  EXPECT_EQ(nic->rx_ring().size(), 4u);
  EXPECT_EQ(nic->tx_ring().size(), 8u);
  int queued = 0;
  for (int i = 0; i < 6; ++i) queued += d.inject(unhandled_frame(uint8_t(i))).queued ? 1 : 0;
  EXPECT_EQ(queued, 4);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_missed_errors"), 2u);
  d.stack.run_until_idle();
  EXPECT_EQ(d.counter("dev.ntdut0.rx_packets"), 4u);
  for (const auto& desc : nic->rx_ring()) EXPECT_NE(desc.skb, nullptr) << "every descriptor refilled";
  EXPECT_EQ(d.stack.devices().at(0).config.rx_ring_size, 4u);
}

TEST(Napi, CoalesceAndRingSizeRejectBadArguments) {
  test::Dut veth(DeviceKind::Veth);
  EXPECT_TRUE(veth.stack.set_coalesce("ntdut0", 10, 0).has_value());
  EXPECT_TRUE(veth.stack.set_ring_size("ntdut0", 64, 64).has_value());
  test::Dut d(DeviceKind::Ring);
  EXPECT_TRUE(d.stack.set_coalesce("nope", 10, 0).has_value());
  EXPECT_TRUE(d.stack.set_coalesce("ntdut0", 100001, 0).has_value());
  EXPECT_TRUE(d.stack.set_ring_size("ntdut0", 0, 64).has_value());
  EXPECT_TRUE(d.stack.set_ring_size("ntdut0", 64, 4097).has_value());
  EXPECT_FALSE(d.stack.set_ring_size("ntdut0", 4096, 1).has_value());
}

}  // namespace
}  // namespace nettwin
