// Unit tests of the server's stack-free pieces: text parsing, the listen
// address policy and the live trace queue's loss accounting.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <variant>

#include "listen_address.h"
#include "live_queue.h"
#include "text_parse.h"

namespace nettwin::server {
namespace {

using namespace std::chrono_literals;

TEST(TextParse, MacAcceptsColonsAndDashesOfEitherCase) {
  const Mac expected{0x02, 0x00, 0x00, 0xab, 0x01, 0xcd};
  EXPECT_EQ(parse_mac("02:00:00:ab:01:cd"), expected);
  EXPECT_EQ(parse_mac("02-00-00-AB-01-CD"), expected);
  EXPECT_EQ(format_mac(expected), "02:00:00:ab:01:cd");
}

TEST(TextParse, MacRefusesBadText) {
  for (const char* bad : {"", "02:00:00:00:01", "02:00:00:00:01:02:03", "02:00-00:00:01:02",
                          "0g:00:00:00:01:02", "02:00:00:00:01:2 ", "020000000102"})
    EXPECT_FALSE(parse_mac(bad)) << bad;
}

TEST(TextParse, MulticastAndZeroMac) {
  EXPECT_TRUE(is_multicast_mac(*parse_mac("ff:ff:ff:ff:ff:ff")));
  EXPECT_TRUE(is_multicast_mac(*parse_mac("01:00:5e:00:00:01")));
  EXPECT_FALSE(is_multicast_mac(*parse_mac("02:00:00:00:01:02")));
  EXPECT_TRUE(is_zero_mac(Mac{}));
}

TEST(TextParse, Ipv4AndCidr) {
  EXPECT_EQ(parse_ipv4("198.51.100.2"), 0xc6336402u);
  for (const char* bad : {"", "198.51.100", "198.51.100.256", "198.51.100.2.1", "x.51.100.2"})
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  const auto cidr = parse_cidr("203.0.113.2/24");
  ASSERT_TRUE(cidr);
  EXPECT_EQ(cidr->addr, 0xcb007102u);
  EXPECT_EQ(cidr->prefix_len, 24);
  EXPECT_TRUE(parse_cidr("0.0.0.0/0"));
  for (const char* bad : {"203.0.113.2", "203.0.113.2/", "203.0.113.2/33", "203.0.113.2/-1",
                          "203.0.113.2/024", "/24", "203.0.113.2/2x"})
    EXPECT_FALSE(parse_cidr(bad)) << bad;
}

TEST(TextParse, DeviceNamesFollowDevValidName) {
  EXPECT_FALSE(device_name_problem("ntdut0"));
  EXPECT_FALSE(device_name_problem(std::string(15, 'n')));
  for (const char* bad : {"", ".", "..", "a/b", "a:b", "a b", "a\tb"})
    EXPECT_TRUE(device_name_problem(bad)) << bad;
  EXPECT_TRUE(device_name_problem(std::string(16, 'n')));
}

TEST(TextParse, KindsStatesNumbers) {
  EXPECT_EQ(parse_device_kind("ring"), DeviceKind::Ring);
  EXPECT_EQ(parse_device_kind("veth"), DeviceKind::Veth);
  EXPECT_EQ(parse_device_kind("loopback"), DeviceKind::Loopback);
  EXPECT_FALSE(parse_device_kind("Veth"));
  EXPECT_STREQ(device_kind_name(DeviceKind::Veth), "veth");
  EXPECT_EQ(parse_neigh_state(""), "permanent");
  EXPECT_EQ(parse_neigh_state("stale"), "stale");
  EXPECT_FALSE(parse_neigh_state("incomplete"));
  EXPECT_EQ(parse_u64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_u64("18446744073709551616"));
  EXPECT_FALSE(parse_u64("-1"));
  EXPECT_FALSE(parse_u64("1 "));
  EXPECT_EQ(quoted("e\"th\n9"), "\"e\\\"th\\x0a9\"");
}

ListenAddress listen_ok(const char* text, bool allow_remote = false) {
  auto parsed = parse_listen_address(text, allow_remote);
  EXPECT_TRUE(std::holds_alternative<ListenAddress>(parsed)) << text;
  return std::holds_alternative<ListenAddress>(parsed) ? std::get<ListenAddress>(parsed)
                                                       : ListenAddress{};
}

std::string listen_error(const char* text, bool allow_remote = false) {
  auto parsed = parse_listen_address(text, allow_remote);
  EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << text;
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(ListenAddressPolicy, UnixAndLoopbackAreAccepted) {
  const auto unix_address = listen_ok("unix:/tmp/x.sock");
  EXPECT_EQ(unix_address.unix_path, "/tmp/x.sock");
  EXPECT_EQ(unix_address.uri, "unix:/tmp/x.sock");
  EXPECT_FALSE(unix_address.tcp);
  EXPECT_EQ(listen_ok("unix:///tmp/x.sock").unix_path, "/tmp/x.sock");
  for (const char* loopback : {"127.0.0.1:0", "127.1.2.3:50051", "[::1]:9", "localhost:1"}) {
    const auto address = listen_ok(loopback);
    EXPECT_TRUE(address.tcp) << loopback;
    EXPECT_TRUE(address.unix_path.empty()) << loopback;
  }
}

TEST(ListenAddressPolicy, RemoteNeedsAllowRemote) {
  for (const char* remote : {"0.0.0.0:1", "[::]:1", "198.51.100.2:1", "example.org:1"}) {
    EXPECT_NE(listen_error(remote).find("--allow-remote"), std::string::npos) << remote;
    EXPECT_TRUE(listen_ok(remote, true).tcp) << remote;
  }
}

TEST(ListenAddressPolicy, MalformedAddresses) {
  EXPECT_NE(listen_error("unix:").find("no socket path"), std::string::npos);
  EXPECT_NE(listen_error(("unix:/" + std::string(120, 'x')).c_str()).find("longer than"),
            std::string::npos);
  EXPECT_NE(listen_error("127.0.0.1").find("neither"), std::string::npos);
  EXPECT_NE(listen_error("127.0.0.1:65536").find("no valid port"), std::string::npos);
  EXPECT_NE(listen_error("127.0.0.1:").find("no valid port"), std::string::npos);
  EXPECT_NE(listen_error("[::1:5", true).find("bracket"), std::string::npos);
}

TraceEvent event_at(uint64_t t) { return TraceEvent{t, "net:netif_receive_skb", t, {}}; }

TEST(LiveQueue, LossIsReportedAfterTheEventsBeforeIt) {
  LiveQueue queue(2);
  EXPECT_TRUE(queue.push(event_at(1)));
  EXPECT_TRUE(queue.push(event_at(2)));
  EXPECT_FALSE(queue.push(event_at(3)));
  EXPECT_FALSE(queue.push(event_at(4)));

  auto first = queue.pop(1, 0ms);
  ASSERT_EQ(first.events.size(), 1u);
  EXPECT_EQ(first.events[0].time_ns, 1u);
  EXPECT_EQ(first.lost, 0u);  // one event queued before the loss is still waiting

  auto second = queue.pop(10, 0ms);
  ASSERT_EQ(second.events.size(), 1u);
  EXPECT_EQ(second.events[0].time_ns, 2u);
  EXPECT_EQ(second.lost, 2u);
  EXPECT_EQ(second.lost_time_ns, 3u);
  EXPECT_FALSE(second.closed);

  // Reported once: the next batch carries no loss.
  EXPECT_TRUE(queue.push(event_at(5)));
  auto third = queue.pop(10, 0ms);
  EXPECT_EQ(third.events.size(), 1u);
  EXPECT_EQ(third.lost, 0u);
}

TEST(LiveQueue, CloseEndsAfterTheRestIsDrained) {
  LiveQueue queue(4);
  queue.push(event_at(1));
  queue.close();
  auto batch = queue.pop(10, 0ms);
  EXPECT_EQ(batch.events.size(), 1u);
  EXPECT_TRUE(batch.closed);
  EXPECT_TRUE(queue.push(event_at(2)));  // after close: dropped quietly, nobody reads
  EXPECT_TRUE(queue.pop(10, 0ms).events.empty());
}

TEST(LiveQueue, PopWakesOnPushFromAnotherThread) {
  LiveQueue queue(4);
  std::thread producer([&] { queue.push(event_at(7)); });
  LiveQueue::Batch batch;
  // Bounded wait: a lost wake-up fails the test instead of hanging it.
  for (int i = 0; i < 100 && batch.events.empty(); ++i) batch = queue.pop(10, 100ms);
  producer.join();
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.events[0].time_ns, 7u);
}

}  // namespace
}  // namespace nettwin::server
