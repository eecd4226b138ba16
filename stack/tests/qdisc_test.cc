// pfifo_fast and the generic scheduler on the ring NIC, asserted from the
// trace: bands by priority (rt_tos2priority / prio2band), tx_queue_len drops,
// a full TX ring stopping the queue, requeue and wake through NET_TX, the
// qdisc flushed when the link goes down, and ETH_P_ALL taps.
#include <gtest/gtest.h>

#include <cstring>

#include "core/dev.h"
#include "core/net.h"
#include "drivers/ring_nic.h"
#include "ipv4/tos2prio.h"
#include "sched/sch_generic.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;

// A 60-byte frame of an unhandled EtherType, ready for dev_queue_xmit.
SkBuff* frame_skb(test::Dut& d, uint8_t marker, uint32_t priority) {
  Net& net = d.stack.net();
  SkBuff* skb = net.pool.alloc_skb(128);
  skb_reserve(skb, 16);
  uint8_t* p = skb_put(skb, 60);
  std::memcpy(p, test::kTesterMac.data(), 6);
  std::memcpy(p + 6, test::kDutMac.data(), 6);
  p[12] = 0x88;
  p[13] = 0xb5;
  std::memset(p + 14, marker, 46);
  skb->dev = net.dev_get_by_name("ntdut0");
  skb->protocol = 0x88b5;
  skb->priority = priority;
  return skb;
}

std::vector<uint8_t> markers(const std::vector<WireFrame>& wire) {
  std::vector<uint8_t> out;
  for (const auto& f : wire) out.push_back(f.data.at(14));
  return out;
}

TEST(Qdisc, RtTos2PriorityAndPfifoFastBands) {
  EXPECT_EQ(rt_tos2priority(0x00), TC_PRIO_BESTEFFORT);
  EXPECT_EQ(rt_tos2priority(0x02), TC_PRIO_BESTEFFORT);  // ECN_OR_COST(BESTEFFORT)
  EXPECT_EQ(rt_tos2priority(0x04), TC_PRIO_BESTEFFORT);  // IPTOS_RELIABILITY
  EXPECT_EQ(rt_tos2priority(0x08), TC_PRIO_BULK);        // IPTOS_THROUGHPUT
  EXPECT_EQ(rt_tos2priority(0x10), TC_PRIO_INTERACTIVE); // IPTOS_LOWDELAY
  EXPECT_EQ(rt_tos2priority(0x18), TC_PRIO_INTERACTIVE_BULK);
  EXPECT_EQ(rt_tos2priority(0xb8), TC_PRIO_INTERACTIVE_BULK);  // DSCP EF: only the TOS bits count

  test::Dut d(DeviceKind::Ring, 1, 256, /*tx_ring=*/1);
  d.trace();
  dev_queue_xmit(frame_skb(d, 'A', 0));  // fills the one descriptor: the queue stops
  dev_queue_xmit(frame_skb(d, 'B', 0));  // bypass tried, driver stopped: requeued
  dev_queue_xmit(frame_skb(d, 'C', rt_tos2priority(0x08)));  // band 2
  dev_queue_xmit(frame_skb(d, 'D', rt_tos2priority(0x00)));  // band 1
  dev_queue_xmit(frame_skb(d, 'E', rt_tos2priority(0x10)));  // band 0
  EXPECT_EQ(d.named("qdisc:qdisc_enqueue").size(), 3u);
  d.stack.run_until_idle();
  EXPECT_EQ(markers(d.stack.take_wire()), (std::vector<uint8_t>{'A', 'B', 'E', 'D', 'C'}));
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.requeues"), 1u);
  auto* nic = static_cast<RingNic*>(d.stack.net().dev_get_by_name("ntdut0"));
  EXPECT_EQ(nic->restart_queue(), 5u);  // each frame filled the ring; each completion woke it
}

TEST(Qdisc, TxQueueLenDropsAtDevQueueXmit) {
  test::Dut d(DeviceKind::Ring, 1, 256, 1);
  ASSERT_FALSE(d.stack.set_tx_queue_len("ntdut0", 3).has_value());
  d.trace();
  std::vector<int> rc;
  for (uint8_t m = 'A'; m <= 'G'; ++m) rc.push_back(dev_queue_xmit(frame_skb(d, m, 0)));
  EXPECT_EQ(rc, (std::vector<int>{NET_XMIT_SUCCESS, NET_XMIT_SUCCESS, NET_XMIT_SUCCESS, NET_XMIT_SUCCESS,
                                  NET_XMIT_SUCCESS, NET_XMIT_DROP, NET_XMIT_DROP}));
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 2u);
  for (const auto* e : drops) {
    EXPECT_EQ(d.field(*e, "reason"), "QDISC_DROP");
    EXPECT_EQ(d.field(*e, "location"), "__dev_queue_xmit");
  }
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.drops"), 2u);
  d.stack.run_until_idle();
  EXPECT_EQ(markers(d.stack.take_wire()), (std::vector<uint8_t>{'A', 'B', 'C', 'D', 'E'}));
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.qlen"), 0u);
  // Every dequeue that found an skb is traced with it, the stopped queue's state included.
  for (const auto* e : d.named("qdisc:qdisc_dequeue")) {
    EXPECT_EQ(d.field(*e, "packets"), "1");
    EXPECT_EQ(d.field(*e, "ifindex"), "7102");
  }
}

TEST(Qdisc, ShrinkingTxQueueLenFreesTheNewest) {
  test::Dut d(DeviceKind::Ring);
  NetDevice* dev = d.stack.net().dev_get_by_name("ntdut0");
  netif_stop_queue(dev);
  // A tries the bypass and is requeued (the driver is stopped); B-E wait in band 1.
  for (uint8_t m = 'A'; m <= 'E'; ++m) dev_queue_xmit(frame_skb(d, m, 0));
  d.trace();
  ASSERT_FALSE(d.stack.set_tx_queue_len("ntdut0", 2).has_value());
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 2u);  // D and E
  for (const auto* e : drops) EXPECT_EQ(d.field(*e, "location"), "__skb_array_destroy_skb");
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.qlen"), 3u);  // A requeued, B and C
  netif_wake_queue(dev);
  d.stack.run_until_idle();
  EXPECT_EQ(markers(d.stack.take_wire()), (std::vector<uint8_t>{'A', 'B', 'C'}));
  // The new length holds for what comes next: F is requeued (the driver is
  // stopped), G and H fill the band, I is dropped.
  netif_stop_queue(dev);
  d.events.clear();
  for (uint8_t m = 'F'; m <= 'I'; ++m) dev_queue_xmit(frame_skb(d, m, 0));
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.qlen"), 3u);
  drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "QDISC_DROP");
  EXPECT_TRUE(d.stack.set_tx_queue_len("eth9", 5).has_value());
}

TEST(Qdisc, LinkDownFlushesTheQdiscAndDropsWhatComesLater) {
  test::Dut d(DeviceKind::Ring, 1, 256, 1);
  d.trace();
  dev_queue_xmit(frame_skb(d, 'A', 0));  // on the ring
  dev_queue_xmit(frame_skb(d, 'B', 0));  // requeued
  dev_queue_xmit(frame_skb(d, 'C', 0));  // queued
  dev_queue_xmit(frame_skb(d, 'D', 0));  // queued
  const uint64_t a = d.named("net:net_dev_start_xmit").at(0)->skb;
  ASSERT_FALSE(d.stack.set_link("ntdut0", false).has_value());
  d.stack.run_until_idle();
  std::vector<std::pair<std::string, std::string>> frees;
  for (const auto* e : d.named("skb:kfree_skb")) frees.emplace_back(d.field(*e, "reason"), d.field(*e, "location"));
  using F = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(frees, (F{{"NOT_SPECIFIED", "pfifo_fast_reset"},
                      {"NOT_SPECIFIED", "pfifo_fast_reset"},
                      {"QUEUE_PURGE", "qdisc_reset"}}));
  bool a_consumed = false;
  for (const auto* e : d.named("skb:consume_skb"))
    if (e->skb == a) a_consumed = d.field(*e, "location") == "dev_kfree_skb_any_reason";
  EXPECT_TRUE(a_consumed) << "the TX ring is cleaned on the way down";
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.qlen"), 0u);

  d.events.clear();
  EXPECT_EQ(dev_queue_xmit(frame_skb(d, 'E', 0)), NET_XMIT_CN);  // noop_qdisc
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "QDISC_DROP");
  EXPECT_EQ(d.counter("dev.ntdut0.tx_dropped"), 1u);
  EXPECT_EQ(d.stack.take_wire().size(), 1u);  // only A ever left
}

TEST(Qdisc, QdiscRunStopsAfterDevTxWeightAndNetTxCarriesOn) {
  test::Dut d(DeviceKind::Ring);
  NetDevice* dev = d.stack.net().dev_get_by_name("ntdut0");
  netif_stop_queue(dev);  // the driver's queue is stopped: everything waits in pfifo_fast
  for (int i = 0; i < 100; ++i) dev_queue_xmit(frame_skb(d, uint8_t(i), 0));
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.qlen"), 100u);
  d.trace();
  netif_wake_queue(dev);  // __netif_schedule: NET_TX runs the qdisc
  Net& net = d.stack.net();
  ASSERT_TRUE(net.engine.softirq_pending());
  // One NET_TX: __qdisc_run's quota is dev_tx_weight (64); the rest waits
  // for the next NET_TX, which __netif_schedule raised again.
  net_tx_action(net);
  EXPECT_EQ(d.named("net:net_dev_start_xmit").size(), 64u);
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.qlen"), 36u);
  EXPECT_TRUE(net.engine.softirq_pending());
  d.stack.run_until_idle();
  EXPECT_EQ(d.stack.take_wire().size(), 100u);
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.qlen"), 0u);
}

TEST(Qdisc, EthPAllTapsSeeBothDirections) {
  test::Dut d(DeviceKind::Ring);
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  std::vector<TapFrame> seen;
  auto id = d.stack.add_tap("ntdut0", [&](const TapFrame& f) { seen.push_back(f); });
  ASSERT_TRUE(std::holds_alternative<int>(id));
  d.trace(true);
  const Bytes request = test::icmp_echo_request(3, 1, Bytes(8, 7));
  d.inject(request);
  d.stack.run_until_idle();
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].outgoing);
  EXPECT_EQ(seen[0].data, request);
  EXPECT_TRUE(seen[1].outgoing);
  EXPECT_EQ(seen[1].data, wire[0].data);
  EXPECT_EQ(seen[1].dev, "ntdut0");
  // The TX copy is a clone, consumed by the tap; the original still left.
  size_t tap_consumes = 0;
  for (const auto* e : d.named("skb:consume_skb")) tap_consumes += d.field(*e, "location") == "tpacket_rcv";
  EXPECT_EQ(tap_consumes, 1u);  // the RX one only dropped its extra reference
  EXPECT_FALSE(d.named("checkpoint:deliver_skb").empty());

  d.stack.remove_tap(std::get<int>(id));
  d.inject(request);
  d.stack.run_until_idle();
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<Error>(d.stack.add_tap("nope", [](const TapFrame&) {})));
}

TEST(Qdisc, TapRemovedFromItsOwnCallbackGoesQuiet) {
  test::Dut d(DeviceKind::Ring);
  int calls = 0;
  int id = 0;
  id = std::get<int>(d.stack.add_tap("", [&](const TapFrame&) {
    ++calls;
    d.stack.remove_tap(id);
  }));
  Bytes f(test::kDutMac.begin(), test::kDutMac.end());
  f.insert(f.end(), test::kTesterMac.begin(), test::kTesterMac.end());
  f.resize(60, 0x88);
  d.inject(f);
  d.inject(f);
  d.stack.run_until_idle();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace nettwin
