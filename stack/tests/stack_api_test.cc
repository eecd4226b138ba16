// stack.h as the server sees it: argument checking, sysctls, wire, tracing,
// and a per-frame path that allocates nothing once warm.
#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <new>

#include "core/net.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"
#include "test_helpers.h"

// Count every heap allocation in this test binary.
static std::atomic<uint64_t> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
// The nothrow forms too (std::stable_sort's buffer), so every delete below frees malloc's.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept { return operator new(n, tag); }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace nettwin {
namespace {

using test::Bytes;

std::string error_of(const Status& s) { return s ? s->message : ""; }

TEST(StackApi, CreateDeviceChecksItsArguments) {
  Stack s;
  DeviceConfig c;
  c.name = "eth0";
  c.mac = {0x02, 0, 0, 0, 0, 1};
  EXPECT_EQ(error_of(s.create_device(c)), "");
  EXPECT_NE(error_of(s.create_device(c)).find("already exists"), std::string::npos);
  c.name = "eth1";
  c.ifindex = 1;  // eth0 took 1
  EXPECT_NE(error_of(s.create_device(c)).find("already used"), std::string::npos);
  c.ifindex = 0;
  c.mac = {0x01, 0, 0, 0, 0, 1};
  EXPECT_NE(error_of(s.create_device(c)).find("not unicast"), std::string::npos);
  c.mac = {0x02, 0, 0, 0, 0, 2};
  c.mtu = 20;
  EXPECT_NE(error_of(s.create_device(c)).find("mtu"), std::string::npos);
  c.mtu = 1500;
  c.rx_ring_size = 0;
  EXPECT_NE(error_of(s.create_device(c)).find("rx_ring_size"), std::string::npos);
  c.rx_ring_size = 256;
  c.name = "a-name-that-is-too-long";
  EXPECT_NE(error_of(s.create_device(c)).find("longer than 15"), std::string::npos);
  c.name = "";
  EXPECT_NE(error_of(s.create_device(c)).find("empty"), std::string::npos);
  auto devs = s.devices();
  ASSERT_EQ(devs.size(), 1u);
  EXPECT_EQ(devs[0].config.ifindex, 1);
  EXPECT_TRUE(devs[0].up);
}

TEST(StackApi, AutomaticIfindexWrapsBelowIntMaxAndSkipsUsedOnes) {
  Stack s;
  int mac = 0;
  auto create = [&](const char* name, int ifindex) {
    DeviceConfig c;
    c.name = name;
    c.mac = {0x02, 0, 0, 0, 0, uint8_t(++mac)};
    c.ifindex = ifindex;
    EXPECT_EQ(error_of(s.create_device(c)), "") << name;
    return s.net().dev_get_by_name(name)->ifindex;
  };
  EXPECT_EQ(create("low", 1), 1);
  s.net().ifindex = INT_MAX - 1;  // as if 2^31 devices had come and gone
  EXPECT_EQ(create("a", 0), INT_MAX - 1);
  EXPECT_EQ(create("b", 0), INT_MAX);
  EXPECT_EQ(create("c", 0), 2) << "wraps to 1, which is taken";
  EXPECT_EQ(create("d", 0), 3);
  EXPECT_EQ(create("e", 4), 4);
  EXPECT_EQ(create("f", 0), 5) << "skips the explicit 4";
}

TEST(StackApi, AddressesAndNeighboursAreChecked) {
  test::Dut d(DeviceKind::Veth);
  EXPECT_NE(error_of(d.stack.add_address("nope", "198.51.100.3/24")).find("unknown device 'nope'"), std::string::npos);
  EXPECT_NE(error_of(d.stack.add_address("ntdut0", "198.51.100.3")).find("prefix"), std::string::npos);
  EXPECT_NE(error_of(d.stack.add_address("ntdut0", "198.51.100.3/33")).find("prefix length"), std::string::npos);
  EXPECT_NE(error_of(d.stack.add_address("ntdut0", "198.51.100.300/24")).find("not an IPv4"), std::string::npos);
  EXPECT_NE(error_of(d.stack.add_address("ntdut0", "198.51.100.2/24")).find("already assigned"), std::string::npos);
  EXPECT_EQ(d.stack.devices().at(0).addresses, std::vector<std::string>{"198.51.100.2/24"});
  EXPECT_NE(error_of(d.stack.add_neighbour("ntdut0", "198.51.100.1", "zz", "permanent")).find("MAC"), std::string::npos);
  EXPECT_NE(error_of(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "happy")).find("state"),
            std::string::npos);
  EXPECT_EQ(error_of(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent")), "");
  EXPECT_EQ(d.stack.neighbours().at(0).state, "permanent");
}

TEST(StackApi, InjectRefusesBadFrames) {
  test::Dut d(DeviceKind::Ring);
  auto err = [&](const std::string& dev, const Bytes& f) {
    auto r = d.stack.inject(dev, f);
    return std::holds_alternative<Error>(r) ? std::get<Error>(r).message : std::string();
  };
  EXPECT_NE(err("eth9", Bytes(60)).find("unknown device 'eth9'"), std::string::npos);
  EXPECT_NE(err("ntdut0", {}).find("empty"), std::string::npos);
  EXPECT_NE(err("ntdut0", Bytes(13)).find("shorter than an Ethernet header"), std::string::npos);
  EXPECT_NE(err("ntdut0", Bytes(1519)).find("larger than"), std::string::npos);
  EXPECT_EQ(err("ntdut0", Bytes(1518)), "");
}

TEST(StackApi, SysctlsHaveLinuxDefaultsAndAreChecked) {
  Stack s;
  EXPECT_EQ(s.get_sysctl("net.core.netdev_budget"), "300");
  EXPECT_EQ(s.get_sysctl("net.core.dev_weight"), "64");
  EXPECT_EQ(s.get_sysctl("net.core.netdev_max_backlog"), "1000");
  EXPECT_EQ(s.get_sysctl("net.core.netdev_budget_usecs"), "8000");  // this machine's HZ=250
  EXPECT_EQ(s.get_sysctl("net.ipv4.ip_default_ttl"), "64");
  EXPECT_EQ(s.get_sysctl("net.ipv4.icmp_echo_ignore_broadcasts"), "1");
  EXPECT_EQ(s.get_sysctl("net.ipv4.neigh.default.retrans_time_ms"), "1000");
  EXPECT_FALSE(s.get_sysctl("net.core.nope").has_value());
  EXPECT_NE(error_of(s.set_sysctl("net.core.nope", "1")).find("unknown sysctl"), std::string::npos);
  EXPECT_NE(error_of(s.set_sysctl("net.ipv4.ip_default_ttl", "x")).find("not an integer"), std::string::npos);
  EXPECT_NE(error_of(s.set_sysctl("net.ipv4.ip_default_ttl", "256")).find("outside"), std::string::npos);
  EXPECT_EQ(error_of(s.set_sysctl("net.core.dev_weight", "32")), "");
  EXPECT_EQ(s.get_sysctl("net.core.dev_weight"), "32");
}

TEST(StackApi, DevWeightChangesTheNapiWeight) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_EQ(error_of(d.stack.set_sysctl("net.core.dev_weight", "4")), "");
  d.trace();
  for (int i = 0; i < 10; ++i) d.inject(test::icmp_echo_request(1, 1, {}, 0, 64, {0x02, 0, 0, 0, 9, 9}));
  d.stack.run_until_idle();
  std::vector<std::string> works;
  for (const auto* e : d.named("napi:napi_poll")) works.push_back(d.field(*e, "work") + "/" + d.field(*e, "budget"));
  EXPECT_EQ(works, (std::vector<std::string>{"4/4", "4/4", "2/4"}));
}

TEST(StackApi, TakeWireByDeviceAndMax) {
  Stack s;
  for (const char* name : {"a0", "b0"}) {
    DeviceConfig c;
    c.name = name;
    c.kind = DeviceKind::Veth;
    c.mac = {0x02, 0, 0, 0, 0, uint8_t(name[0])};
    ASSERT_EQ(error_of(s.create_device(c)), "");
  }
  ASSERT_EQ(error_of(s.add_address("a0", "198.51.100.2/24")), "");
  ASSERT_EQ(error_of(s.add_address("b0", "203.0.113.2/24")), "");
  for (int i = 0; i < 3; ++i) {
    s.inject("a0", test::arp_request(test::kTesterIp, test::kDutIp));
    s.inject("b0", test::arp_request(0xcb007101, 0xcb007102));
  }
  s.run_until_idle();
  auto b = s.take_wire("b0", 2);
  ASSERT_EQ(b.size(), 2u);
  for (auto& f : b) EXPECT_EQ(f.dev, "b0");
  EXPECT_EQ(s.take_wire("nope").size(), 0u);
  auto rest = s.take_wire();
  ASSERT_EQ(rest.size(), 4u);
  EXPECT_EQ(rest[0].dev, "a0");
  EXPECT_EQ(rest[3].dev, "b0");
  EXPECT_TRUE(s.take_wire().empty());
}

TEST(StackApi, TakeWireStopsAtTheFirstFrameThatDoesNotFit) {
  test::Dut d(DeviceKind::Veth);
  for (int i = 0; i < 3; ++i) d.inject(test::arp_request(test::kTesterIp, test::kDutIp));
  d.stack.run_until_idle();
  size_t offered = 0;
  auto one_only = [&offered](const std::string& dev, size_t len) {
    EXPECT_EQ(dev, "ntdut0");
    EXPECT_EQ(len, 42u);  // an ARP reply
    return ++offered == 1;
  };
  WireTake first = d.stack.take_wire("ntdut0", 0, one_only);
  EXPECT_EQ(first.frames.size(), 1u);
  EXPECT_EQ(first.remaining, 2u) << "the refused frame and the one after it stay";
  EXPECT_EQ(offered, 2u) << "nothing is offered after the first refusal";
  WireTake rest = d.stack.take_wire("", 0, [](const std::string&, size_t) { return true; });
  EXPECT_EQ(rest.frames.size(), 2u);
  EXPECT_EQ(rest.remaining, 0u);
}

TEST(StackApi, WireBacklogIsBoundedAndWhatDoesNotFitIsCounted) {
  test::Dut d(DeviceKind::Veth);
  auto limit = d.stack.set_wire_limit("ntdut0", 5, 0);
  ASSERT_TRUE(std::holds_alternative<WireLimit>(limit));
  EXPECT_EQ(std::get<WireLimit>(limit).frames, 5u);
  EXPECT_EQ(std::get<WireLimit>(limit).bytes, WireBacklog::kDefaultLimitBytes);
  for (int i = 0; i < 8; ++i) d.inject(test::arp_request(test::kTesterIp, test::kDutIp));
  d.stack.run_until_idle();
  EXPECT_EQ(d.counter("dev.ntdut0.tx_packets"), 8u) << "the stack sent every reply";
  EXPECT_EQ(d.counter("dev.ntdut0.wire_qlen"), 5u);
  EXPECT_EQ(d.counter("dev.ntdut0.wire_dropped"), 3u);
  EXPECT_EQ(d.stack.take_wire().size(), 5u);
  EXPECT_EQ(d.counter("dev.ntdut0.wire_qlen"), 0u);

  // The byte bound must hold one of the device's largest frames.
  auto refused = d.stack.set_wire_limit("ntdut0", 0, 100);
  ASSERT_TRUE(std::holds_alternative<Error>(refused));
  EXPECT_EQ(std::get<Error>(refused).message, "wire byte limit 100 is smaller than ntdut0's max frame (1518)");
  limit = d.stack.set_wire_limit("ntdut0", 1000, 1518);
  ASSERT_TRUE(std::holds_alternative<WireLimit>(limit));
  EXPECT_EQ(std::get<WireLimit>(limit).bytes, 1518u);
  for (int i = 0; i < 40; ++i) d.inject(test::arp_request(test::kTesterIp, test::kDutIp));
  d.stack.run_until_idle();
  EXPECT_EQ(d.stack.take_wire().size(), 1518u / 42u);  // 36 replies of 42 bytes fit
  EXPECT_EQ(d.counter("dev.ntdut0.wire_dropped"), 3u + 40u - 1518u / 42u);
  limit = d.stack.set_wire_limit("ntdut0", 0, 0);
  EXPECT_EQ(std::get<WireLimit>(limit).frames, 1000u) << "0 keeps a bound as it is";
  EXPECT_TRUE(std::holds_alternative<Error>(d.stack.set_wire_limit("nope", 1, 0)));
}

TEST(StackApi, FiltersAndUnsubscribe) {
  test::Dut d(DeviceKind::Veth);
  std::vector<std::string> net_only, drops;
  int a = d.stack.subscribe({{"net:*"}, false}, [&](const TraceEvent& e) { net_only.push_back(e.name); });
  d.stack.subscribe({{"skb:kfree_skb"}, false}, [&](const TraceEvent& e) { drops.push_back(e.name); });
  auto other = test::icmp_echo_request(1, 1, {}, 0, 64, {0x02, 0, 0, 0, 9, 9});
  d.inject(other);
  d.stack.run_until_idle();
  EXPECT_EQ(net_only, (std::vector<std::string>{"net:netif_rx", "net:netif_receive_skb"}));
  EXPECT_EQ(drops, (std::vector<std::string>{"skb:kfree_skb"}));
  d.stack.unsubscribe(a);
  d.inject(other);
  d.stack.run_until_idle();
  EXPECT_EQ(net_only.size(), 2u);
  EXPECT_EQ(drops.size(), 2u);
}

// A timer_list lives in its owner: re-arming one (TCP's retransmit and
// delayed-ACK timers, once a segment) allocates nothing once the engine has
// held as many timers at once, firing included.
TEST(StackApi, TimerArmingAllocatesNothingOnceWarm) {
  Engine e;
  int fired = 0, step = 1;
  int *where = &fired, *by = &step;
  Engine::TimerId ids[4] = {};
  auto round = [&](int i) {
    Engine::TimerId& id = ids[i % 4];
    e.del_timer(id);
    id = e.mod_timer(e.jiffies() + 1 + i % 3, [where, by] { *where += *by; });  // two pointers, as TCP's
    e.advance(2'000'000);
  };
  for (int i = 0; i < 100; ++i) round(i);
  const uint64_t before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) round(i);
  EXPECT_EQ(g_allocations.load() - before, 0u) << "heap allocations arming and firing timers";
  EXPECT_GT(fired, 0);
}

TEST(StackApi, EchoPathAllocatesNothingOnceWarm) {
  for (DeviceKind kind : {DeviceKind::Ring, DeviceKind::Veth}) {
    test::Dut d(kind);
    ASSERT_EQ(error_of(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent")), "");
    const Bytes req = test::icmp_echo_request(1, 1, Bytes(56, 7));
    Net& net = d.stack.net();
    NetDevice* dev = net.dev_get_by_name("ntdut0");
    size_t frames = 0;
    auto one = [&] {
      dev->receive_from_wire(req);
      net.engine.run_until(net.engine.now());
      frames += net.wire.drain(dev, 0, [](const WireQueue::Slot&) { return true; });
    };
    for (int i = 0; i < 300; ++i) one();  // warm the pools and rings
    const uint64_t before = g_allocations.load();
    for (int i = 0; i < 1000; ++i) one();
    EXPECT_EQ(g_allocations.load() - before, 0u) << "heap allocations on the per-frame path";
    EXPECT_EQ(frames, 1300u);
  }
}

// A UDP datagram ring -> socket -> recvmsg, short (checksum checked on
// receive) and full-sized (checked as recvmsg copies it), allocates nothing
// once warm: the skbs come from the pool and recvmsg fills the caller's buffer.
TEST(StackApi, UdpReceivePathAllocatesNothingOnceWarm) {
  for (size_t payload : {18ul, 1472ul}) {
    test::Dut d(DeviceKind::Ring);
    Net& net = d.stack.net();
    NetDevice* dev = net.dev_get_by_name("ntdut0");
    const int fd = sys_socket(net, AF_INET_, SOCK_DGRAM_, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(sys_bind(net, fd, SockaddrIn{AF_INET_, 5000, 0}, SOCKADDR_IN_LEN), 0);
    // Ether / 198.51.100.1:4000 > 198.51.100.2:5000, the UDP checksum right.
    Bytes f = {0x02, 0, 0, 0, 1, 2, 0x02, 0, 0, 0, 1, 1, 0x08, 0x00};
    const size_t ulen = 8 + payload, tot = 20 + ulen;
    const uint8_t ip[20] = {0x45, 0, uint8_t(tot >> 8), uint8_t(tot), 0, 1, 0x40, 0, 64, 17, 0, 0,
                            198, 51, 100, 1, 198, 51, 100, 2};
    f.insert(f.end(), ip, ip + 20);
    const uint16_t ic = test::inet_csum(&f[14], 20);
    f[24] = uint8_t(ic >> 8);
    f[25] = uint8_t(ic);
    const uint8_t uh[8] = {0x0f, 0xa0, 0x13, 0x88, uint8_t(ulen >> 8), uint8_t(ulen), 0, 0};
    f.insert(f.end(), uh, uh + 8);
    for (size_t i = 0; i < payload; ++i) f.push_back(uint8_t(i * 13 + 1));
    Bytes ph = {198, 51, 100, 1, 198, 51, 100, 2, 0, 17, uint8_t(ulen >> 8), uint8_t(ulen)};
    ph.insert(ph.end(), f.begin() + 34, f.end());
    uint16_t uc = test::inet_csum(ph.data(), ph.size());
    if (uc == 0) uc = 0xffff;
    f[40] = uint8_t(uc >> 8);
    f[41] = uint8_t(uc);
    RecvMsg msg;
    msg.len = 2048;
    size_t good = 0;
    auto one = [&] {
      dev->receive_from_wire(f);
      net.engine.run_until(net.engine.now());
      const int n = sys_recvmsg(net, fd, msg, MSG_DONTWAIT_, 0);
      good += n == int(payload) && std::equal(msg.data.begin(), msg.data.end(), f.begin() + 42) && msg.name &&
              msg.name->port == 4000;
    };
    for (int i = 0; i < 300; ++i) one();  // warm the pools, the rings and msg.data
    const uint64_t before = g_allocations.load();
    for (int i = 0; i < 1000; ++i) one();
    EXPECT_EQ(g_allocations.load() - before, 0u) << "heap allocations per datagram, payload " << payload;
    EXPECT_EQ(good, 1300u) << payload;
    // The wide-add checksum still refuses a damaged datagram.
    f[45] ^= 0x40;
    one();
    EXPECT_EQ(good, 1300u) << payload;
    EXPECT_EQ(d.counter("Udp.InCsumErrors"), 1u) << payload;
  }
}

}  // namespace
}  // namespace nettwin
