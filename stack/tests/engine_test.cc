// The engine: virtual time, timers, and the neighbour timers riding on it.
#include <gtest/gtest.h>

#include "core/engine.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

TEST(Engine, TimersRunInTimeOrderAndMoveTheClock) {
  Engine e;
  std::vector<std::pair<int, uint64_t>> ran;
  e.add_timer(300, [&] { ran.push_back({3, e.now()}); });
  e.add_timer(100, [&] { ran.push_back({1, e.now()}); });
  auto gone = e.add_timer(200, [&] { ran.push_back({2, e.now()}); });
  EXPECT_TRUE(e.del_timer(gone));
  EXPECT_FALSE(e.del_timer(gone));
  e.run_until(250);
  EXPECT_EQ(ran, (std::vector<std::pair<int, uint64_t>>{{1, 100}}));
  EXPECT_EQ(e.now(), 250u);
  e.run_until(10);  // the past: nothing happens
  EXPECT_EQ(e.now(), 250u);
  e.advance(50);
  EXPECT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[1], (std::pair<int, uint64_t>{3, 300}));
}

// Timers due at the same time fire in the order they were armed, whichever
// slots they reuse; an id from a timer that fired or was deleted names
// nothing, even once its slot holds another timer.
TEST(Engine, SameTimeTimersFireInArmingOrderAndStaleIdsNameNothing) {
  Engine e;
  std::vector<int> ran;
  std::vector<Engine::TimerId> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(e.add_timer(100, [&ran, i] { ran.push_back(i); }));
  for (int i : {1, 4, 6}) EXPECT_TRUE(e.del_timer(ids[i]));
  const Engine::TimerId reused = e.add_timer(100, [&ran] { ran.push_back(8); });  // takes a freed slot
  const Engine::TimerId early = e.add_timer(50, [&ran] { ran.push_back(9); });
  EXPECT_FALSE(e.timer_pending(ids[1]));
  EXPECT_FALSE(e.del_timer(ids[6]));
  EXPECT_EQ(e.timers_pending(), 7u);
  EXPECT_EQ(e.next_timer(), 50u);
  e.run_until(100);
  EXPECT_EQ(ran, (std::vector<int>{9, 0, 2, 3, 5, 7, 8}));
  EXPECT_FALSE(e.timer_pending(reused));
  EXPECT_FALSE(e.del_timer(early));
  const Engine::TimerId later = e.mod_timer(e.jiffies() + 10, [] {});
  EXPECT_EQ(e.timer_expires(later), e.jiffies() + 10);
  EXPECT_FALSE(e.timer_expires(ids[0]).has_value());
}

// handle_softirqs: what is pending is taken and cleared, run lowest first;
// what those raise waits for the restart, lowest first again: NET_RX raising
// NET_TX and TASKLET runs NET_TX before TASKLET, and NET_RX raising itself
// runs again only after them.
TEST(Engine, SoftirqsRaisedMeanwhileWaitForTheRestart) {
  Engine e;
  std::vector<int> ran;
  struct Ctx {
    Engine* e;
    std::vector<int>* ran;
    int rx_runs = 0;
  } ctx{&e, &ran};
  e.open_softirq(NET_TX_SOFTIRQ, [](void* p) { static_cast<Ctx*>(p)->ran->push_back(NET_TX_SOFTIRQ); }, &ctx);
  e.open_softirq(NET_RX_SOFTIRQ, [](void* p) {
    auto* c = static_cast<Ctx*>(p);
    c->ran->push_back(NET_RX_SOFTIRQ);
    if (c->rx_runs++) return;
    c->e->raise_softirq(TASKLET_SOFTIRQ);
    c->e->raise_softirq(NET_RX_SOFTIRQ);
    c->e->raise_softirq(NET_TX_SOFTIRQ);
  }, &ctx);
  e.open_softirq(TASKLET_SOFTIRQ, [](void* p) { static_cast<Ctx*>(p)->ran->push_back(TASKLET_SOFTIRQ); }, &ctx);
  e.raise_softirq(NET_RX_SOFTIRQ);
  e.raise_softirq(TASKLET_SOFTIRQ);
  e.do_softirq();
  EXPECT_EQ(ran, (std::vector<int>{NET_RX_SOFTIRQ, TASKLET_SOFTIRQ, NET_TX_SOFTIRQ, NET_RX_SOFTIRQ, TASKLET_SOFTIRQ}));
  EXPECT_FALSE(e.softirq_pending());
}

TEST(Engine, RunUntilIdleLeavesTimersPastTheHorizon) {
  Engine e;
  int ran = 0;
  e.add_timer(10, [&] { ++ran; });
  e.add_timer(5000, [&] { ++ran; });
  e.run_until_idle(1000);
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(e.now(), 10u);
  EXPECT_EQ(e.timers_pending(), 1u);
}

TEST(Engine, SoftirqsRunNetTxBeforeNetRx) {
  Engine e;
  std::string order;
  e.open_softirq(NET_RX_SOFTIRQ, [](void* o) { *static_cast<std::string*>(o) += "rx "; }, &order);
  e.open_softirq(NET_TX_SOFTIRQ, [](void* o) { *static_cast<std::string*>(o) += "tx "; }, &order);
  e.raise_softirq(NET_RX_SOFTIRQ);
  e.raise_softirq(NET_TX_SOFTIRQ);
  e.do_softirq();
  EXPECT_EQ(order, "tx rx ");
}

TEST(Engine, StaleNeighbourIsProbedByUnicastAfterDelayFirstProbeTime) {
  test::Dut d(DeviceKind::Veth);
  d.inject(test::arp_request(test::kTesterIp, test::kDutIp));  // stale entry
  d.stack.run_until_idle();
  d.stack.take_wire();
  // The softirq that uses the entry starts DELAY at the time it runs (virtual
  // time moves on while it works: kNapiPacketCostNs per packet).
  const uint64_t t = d.stack.now_ns();
  d.inject(test::icmp_echo_request(1, 1, {}));  // uses it: stale → delay
  d.stack.run_until(t);
  EXPECT_EQ(d.stack.take_wire().size(), 1u);
  EXPECT_EQ(d.stack.neighbours().at(0).state, "delay");
  d.stack.run_until(t + 5000000000ull - 1);
  EXPECT_TRUE(d.stack.take_wire().empty());  // never early
  // 5 s = 1250 jiffies: the wheel's level 2, 64-jiffy granules.
  d.stack.run_until(t + 5000000000ull + 65 * NSEC_PER_JIFFY);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);  // a unicast probe to the address we had
  EXPECT_EQ(test::Bytes(wire[0].data.begin(), wire[0].data.begin() + 6),
            test::Bytes(test::kTesterMac.begin(), test::kTesterMac.end()));
  EXPECT_EQ(test::be16(wire[0].data, 12), 0x0806);
  EXPECT_EQ(d.stack.neighbours().at(0).state, "probe");
}

}  // namespace
}  // namespace nettwin
