// Live mode's parts: the TAP bridge (a SOCK_SEQPACKET socketpair stands in for
// the TAP: one frame per read and write, as IFF_NO_PI gives), the clock that
// drives the stack's timers, the engine thread's idle work, tun_alloc's checks.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <variant>

#include "core/net.h"
#include "engine_thread.h"
#include "live_tap.h"
#include "test_helpers.h"
#include "tun_alloc.h"

namespace nettwin::server {
namespace {

using test::Bytes;

constexpr uint64_t kMs = 1'000'000;

uint64_t counter(const LiveTap& tap, const std::string& name) {
  for (const auto& [k, v] : tap.counters())
    if (k == name) return v;
  ADD_FAILURE() << "no counter " << name;
  return ~0ull;
}

// A stack device behind a LiveTap whose clock the test sets; `linux_end` is
// the other end, where Linux would be.
struct Bridged {
  test::Dut dut{DeviceKind::Ring};
  uint64_t clock = 0;
  int linux_end = -1;
  std::unique_ptr<LiveTap> tap;

  Bridged() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
    linux_end = fds[1];
    tap = std::make_unique<LiveTap>(fds[0], dut.dev, [this] { return clock; });
  }
  ~Bridged() {
    if (linux_end >= 0) close(linux_end);
  }

  void from_linux(const Bytes& frame) { ASSERT_EQ(write(linux_end, frame.data(), frame.size()), ssize_t(frame.size())); }

  // The frames the stack sent to Linux so far.
  std::vector<Bytes> to_linux() {
    std::vector<Bytes> frames;
    Bytes buf(65536);
    while (true) {
      const ssize_t n = recv(linux_end, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) return frames;
      frames.emplace_back(buf.begin(), buf.begin() + n);
    }
  }

  // Rounds of the engine's idle work that do not wait, the clock at t.
  void pump_at(uint64_t t, int rounds = 3) {
    clock = t;
    for (int i = 0; i < rounds; ++i) tap->pump(dut.stack, -1);
  }

  uint64_t counter(const std::string& name) const { return server::counter(*tap, name); }
};

bool is_arp_request_for_tester(const Bytes& f) {
  return f.size() >= 42 && test::be16(f, 12) == 0x0806 && test::be16(f, 20) == 1 &&
         test::be32(f, 38) == test::kTesterIp;
}

TEST(LiveTap, AnEchoRequestFromLinuxIsAnsweredBackToLinux) {
  Bridged b;
  ASSERT_FALSE(b.dut.stack.add_neighbour(b.dut.dev, "198.51.100.1", "02:00:00:00:01:01", "permanent"));
  b.from_linux(test::icmp_echo_request(0x77, 1, Bytes(32, 0xab)));
  b.pump_at(1 * kMs);
  const auto frames = b.to_linux();
  ASSERT_EQ(frames.size(), 1u);
  const Bytes& reply = frames[0];
  ASSERT_GE(reply.size(), 14u + 20 + 8 + 32);
  EXPECT_EQ(Bytes(reply.begin(), reply.begin() + 6), Bytes(test::kTesterMac.begin(), test::kTesterMac.end()));
  EXPECT_EQ(test::be16(reply, 12), 0x0800);
  EXPECT_EQ(test::be32(reply, 14 + 16), test::kTesterIp);  // to the sender
  EXPECT_EQ(reply[14 + 20], 0);                              // ICMP_ECHOREPLY
  EXPECT_EQ(test::be16(reply, 14 + 24), 0x77);               // its id
  EXPECT_EQ(b.counter("live.tap_rx"), 1u);
  EXPECT_EQ(b.counter("live.tap_tx"), 1u);
  EXPECT_EQ(b.dut.counter("dev.ntdut0.rx_packets"), 1u);
}

TEST(LiveTap, TheStacksTimersFireWhenTheLiveClockReachesThem) {
  // No neighbour for the sender: the reply waits for ARP, whose request is
  // retried after retrans_time (1 s) by the neighbour timer.
  Bridged b;
  b.from_linux(test::icmp_echo_request(0x78, 1, Bytes(8, 1)));
  b.pump_at(1 * kMs);
  auto frames = b.to_linux();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(is_arp_request_for_tester(frames[0]));
  b.pump_at(900 * kMs);
  EXPECT_TRUE(b.to_linux().empty()) << "the retry came before its time";
  b.pump_at(1500 * kMs);
  frames = b.to_linux();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(is_arp_request_for_tester(frames[0]));
  EXPECT_GE(b.dut.stack.now_ns(), 1500 * kMs);
}

TEST(LiveTap, FramesForADeviceThatDoesNotExistAreCounted) {
  test::Dut dut(DeviceKind::Ring);
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
  LiveTap tap(fds[0], "nosuchdev", [] { return uint64_t(0); });
  const Bytes frame = test::icmp_echo_request(1, 1, {});
  ASSERT_EQ(write(fds[1], frame.data(), frame.size()), ssize_t(frame.size()));
  tap.pump(dut.stack, -1);
  tap.pump(dut.stack, -1);
  EXPECT_EQ(counter(tap, "live.tap_rx"), 1u);
  EXPECT_EQ(counter(tap, "live.inject_errors"), 1u);
  close(fds[1]);
}

TEST(LiveTap, SleepsUntilTheNextTimerOrForAFrame) {
  EXPECT_EQ(LiveTap::sleep_ns(std::nullopt, 5), std::nullopt);
  EXPECT_EQ(LiveTap::sleep_ns(100, 40), 60u);
  EXPECT_EQ(LiveTap::sleep_ns(100, 100), 0u);
  EXPECT_EQ(LiveTap::sleep_ns(100, 250), 0u);  // overdue: at once
}

TEST(LiveTap, AWaitEndsWhenTheNextTimerIsDueWithoutAnyFrame) {
  // On the real clock: a pump that may wait, with nothing arriving, returns
  // because a timer is due (a wait that ignored timers would hang here).
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
  test::Dut dut(DeviceKind::Ring);
  LiveTap tap(fds[0], dut.dev);
  const int never = eventfd(0, EFD_CLOEXEC);
  bool fired = false;
  dut.stack.net().engine.add_timer(dut.stack.now_ns() + 2 * kMs, [&] { fired = true; });
  tap.pump(dut.stack, never);  // too early for the timer: waits until it is due
  tap.pump(dut.stack, -1);     // runs it
  EXPECT_TRUE(fired);
  close(never);
  close(fds[1]);
}

TEST(LiveTap, ATapThatGoesAwayStopsBeingPolledAndWritesCountAsErrors) {
  Bridged b;
  ASSERT_FALSE(b.dut.stack.add_neighbour(b.dut.dev, "198.51.100.1", "02:00:00:00:01:01", "permanent"));
  close(b.linux_end);
  b.linux_end = -1;
  b.pump_at(1 * kMs);
  // The stack still answers what the ring got, but nobody can take it.
  ASSERT_FALSE(std::holds_alternative<Error>(b.dut.stack.inject(b.dut.dev, test::icmp_echo_request(2, 1, {}))));
  b.pump_at(2 * kMs);
  EXPECT_EQ(b.counter("live.tap_tx"), 0u);
  EXPECT_EQ(b.counter("live.tap_tx_errors"), 1u);
  // A wait on a gone TAP with no timer sleeps until the wake-up, not at once forever.
  const int wake = eventfd(1, EFD_CLOEXEC);
  b.tap->pump(b.dut.stack, wake);
  close(wake);
}

TEST(EngineThreadIdle, APostWakesAnIdleFunctionThatSleeps) {
  std::atomic<int> idles{0};
  EngineThread<int> engine([] { return std::make_unique<int>(41); },
                           [&](int&, int wake_fd) {
                             ++idles;
                             if (wake_fd < 0) return;
                             pollfd p{wake_fd, POLLIN, 0};
                             poll(&p, 1, -1);  // no timeout: only post() or stop() ends it
                           });
  EXPECT_EQ(engine.call([](int& state) { return ++state; }), 42);
  EXPECT_EQ(engine.call([](int& state) { return ++state; }), 43);
  EXPECT_GE(idles.load(), 2);
  engine.stop();  // returns: stop() wakes it too
}

TEST(TunAlloc, RefusesBadNamesWithAMessage) {
  for (const std::string bad : {"", "a-name-too-long-for-ifnamsiz", "a/b", "a b"}) {
    auto r = tun_alloc("", bad);
    ASSERT_TRUE(std::holds_alternative<std::string>(r)) << bad;
    EXPECT_NE(std::get<std::string>(r).find("bad interface name"), std::string::npos);
  }
  auto r = tun_alloc("../etc", "ntlive0");
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("bad namespace name"), std::string::npos);
  r = tun_alloc("nt-live-no-such-namespace", "ntlive0");
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("/run/netns/nt-live-no-such-namespace"), std::string::npos);
}

}  // namespace
}  // namespace nettwin::server
