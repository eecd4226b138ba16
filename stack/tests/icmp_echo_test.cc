// ICMP echo: the reply's bytes, and the whole trace against the recording.
#include <gtest/gtest.h>

#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;

TEST(IcmpEcho, ReplyBytes) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  Bytes payload;
  for (int i = 0; i < 56; ++i) payload.push_back(uint8_t(i * 3));
  const Bytes req = test::icmp_echo_request(0x4e54, 7, payload, /*tos=*/0xb9, /*ttl=*/17);
  d.inject(req);
  d.stack.run_until_idle();
  auto wire = d.stack.take_wire("ntdut0");
  ASSERT_EQ(wire.size(), 1u);
  const Bytes& r = wire[0].data;
  ASSERT_EQ(r.size(), req.size());
  EXPECT_EQ(Bytes(r.begin(), r.begin() + 6), Bytes(test::kTesterMac.begin(), test::kTesterMac.end()));
  EXPECT_EQ(Bytes(r.begin() + 6, r.begin() + 12), Bytes(test::kDutMac.begin(), test::kDutMac.end()));
  EXPECT_EQ(test::be16(r, 12), 0x0800);
  EXPECT_EQ(r[14], 0x45);
  EXPECT_EQ(r[15], 0xb9);                                // TOS from the request
  EXPECT_EQ(test::be16(r, 16), req.size() - 14);
  EXPECT_EQ(test::be16(r, 20), 0);                       // no DF, no fragment
  EXPECT_EQ(r[22], 64);                                  // ip_default_ttl
  EXPECT_EQ(r[23], 1);
  EXPECT_EQ(test::inet_csum(&r[14], 20), 0);             // IP checksum valid
  EXPECT_EQ(test::be32(r, 26), test::kDutIp);
  EXPECT_EQ(test::be32(r, 30), test::kTesterIp);
  EXPECT_EQ(r[34], 0);                                   // echo reply
  EXPECT_EQ(r[35], 0);
  EXPECT_EQ(test::inet_csum(&r[34], r.size() - 34), 0);  // ICMP checksum valid
  EXPECT_EQ(test::be16(r, 38), 0x4e54);
  EXPECT_EQ(test::be16(r, 40), 7);
  EXPECT_EQ(Bytes(r.begin() + 42, r.end()), payload);
  EXPECT_EQ(d.counter("Icmp.InEchos"), 1u);
  EXPECT_EQ(d.counter("Icmp.OutEchoReps"), 1u);
  EXPECT_EQ(d.counter("Icmp.InMsgs"), 1u);
  EXPECT_EQ(d.counter("Icmp.OutMsgs"), 1u);
  EXPECT_EQ(d.counter("Ip.InDelivers"), 1u);
  EXPECT_EQ(d.counter("Ip.OutRequests"), 1u);
}

TEST(IcmpEcho, TtlFollowsTheSysctl) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.ip_default_ttl", "99").has_value());
  d.inject(test::icmp_echo_request(1, 1, {}));
  d.stack.run_until_idle();
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(wire[0].data[22], 99);
}

// A timestamp request (type 13): originate 0x01020304, receive/transmit 0.
Bytes timestamp_request(uint16_t id, uint16_t seq) {
  Bytes req = test::icmp_echo_request(id, seq, test::hex("010203040000000000000000"));
  req[34] = 13;
  req[36] = req[37] = 0;
  const uint16_t c = test::inet_csum(&req[34], req.size() - 34);
  req[36] = uint8_t(c >> 8);
  req[37] = uint8_t(c);
  return req;
}

TEST(IcmpEcho, TimestampReplyCarriesTheClockAndCountsAsEchoReply) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  // Virtual time 0 is midnight UT: one day, 1 h 2 min 3.456 s later it is 3723456 ms past midnight.
  constexpr uint64_t ms = 1'000'000;
  d.stack.advance((86'400'000 + 3'723'456) * ms);
  d.inject(timestamp_request(0x4e54, 9));
  d.stack.run_until_idle();
  auto wire = d.stack.take_wire("ntdut0");
  ASSERT_EQ(wire.size(), 1u);
  const Bytes& r = wire[0].data;
  ASSERT_EQ(r.size(), 14u + 20 + 20);
  EXPECT_EQ(r[34], 14);  // timestamp reply
  EXPECT_EQ(r[35], 0);
  EXPECT_EQ(test::inet_csum(&r[34], r.size() - 34), 0);
  EXPECT_EQ(test::be16(r, 38), 0x4e54);
  EXPECT_EQ(test::be16(r, 40), 9);
  EXPECT_EQ(test::be32(r, 42), 0x01020304u);  // originate, echoed
  const uint32_t rx = test::be32(r, 46), tx = test::be32(r, 50);
  EXPECT_GE(rx, 3'723'456u);
  EXPECT_LE(rx, 3'723'457u);
  EXPECT_EQ(tx, rx);
  // __ip_make_skb counts the ICMP socket's flow type, which icmp_reply leaves 0.
  EXPECT_EQ(d.counter("Icmp.InTimestamps"), 1u);
  EXPECT_EQ(d.counter("Icmp.OutEchoReps"), 1u);
  EXPECT_EQ(d.counter("IcmpMsg.OutType0"), 1u);
  EXPECT_EQ(d.counter("Icmp.OutTimestampReps"), 0u);
  for (const auto& [name, value] : d.stack.counters()) EXPECT_NE(name, "IcmpMsg.OutType14");  // a row only when counted
  EXPECT_EQ(d.counter("Icmp.OutMsgs"), 1u);
}

TEST(IcmpEcho, BadIcmpChecksumIsIcmpCsum) {
  test::Dut d(DeviceKind::Veth);
  d.trace();
  auto f = test::icmp_echo_request(1, 1, Bytes(4, 1));
  f[36] ^= 0x55;
  d.inject(f);
  d.stack.run_until_idle();
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "ICMP_CSUM");
  EXPECT_EQ(d.field(*drops[0], "location"), "icmp_rcv");
  EXPECT_EQ(d.counter("Icmp.InCsumErrors"), 1u);
}

// traces/arp_then_echo, as recorded on Linux 6.18: the same frames must give
// the same tracepoints, in the same order, with the same fields.
TEST(IcmpEcho, ArpThenEchoMatchesTheLinuxRecording) {
  test::Dut d(DeviceKind::Veth);
  d.trace();
  d.inject(test::hex("ffffffffffff02000000010108060001080006040001020000000101c6336401000000000000c6336402"));
  d.stack.run_until(100000000);
  d.inject(test::hex("02000000010202000000010108004500003c1001000040011656c6336401c63364020800b6a74e540001"
                     "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"));
  d.stack.run_until(1100000000);
  // The recorder leaves out napi_poll of the backlog (it names "(no_device)"),
  // and it does not enable the neigh__update class (neigh_update_done, ...): so do we here.
  std::vector<std::string> got;
  for (const auto& e : d.events)
    if (e.name != "napi:napi_poll" && (e.name.rfind("neigh:", 0) != 0 || e.name == "neigh:neigh_create" ||
                                       e.name == "neigh:neigh_update"))
      got.push_back(e.name);
  const std::vector<std::string> want = {
      "net:netif_rx", "net:netif_receive_skb", "fib:fib_table_lookup", "neigh:neigh_create",
      "fib:fib_table_lookup", "neigh:neigh_update", "net:net_dev_queue", "net:net_dev_start_xmit",
      "net:net_dev_xmit", "skb:consume_skb",
      "net:netif_rx", "net:netif_receive_skb", "fib:fib_table_lookup", "fib:fib_table_lookup",
      "net:net_dev_queue", "net:net_dev_start_xmit", "net:net_dev_xmit", "skb:consume_skb"};
  EXPECT_EQ(got, want);

  auto fib = d.named("fib:fib_table_lookup");
  ASSERT_EQ(fib.size(), 4u);
  auto fields = [&](const TraceEvent* e, std::initializer_list<const char*> keys) {
    std::string s;
    for (const char* k : keys) s += std::string(k) + "=" + d.field(*e, k) + " ";
    return s;
  };
  const auto keys = {"tb_id", "err", "oif", "iif", "proto", "tos", "src", "dst", "gw4", "name"};
  EXPECT_EQ(fields(fib[0], keys), "tb_id=254 err=0 oif=0 iif=7102 proto=0 tos=0 src=198.51.100.1 dst=198.51.100.2 gw4=0.0.0.0 name=ntdut0 ");
  EXPECT_EQ(fields(fib[1], keys), "tb_id=255 err=0 oif=0 iif=0 proto=0 tos=0 src=0.0.0.0 dst=198.51.100.1 gw4=0.0.0.0 name=ntdut0 ");
  EXPECT_EQ(fields(fib[2], keys), "tb_id=254 err=0 oif=0 iif=7102 proto=0 tos=0 src=198.51.100.1 dst=198.51.100.2 gw4=0.0.0.0 name=ntdut0 ");
  EXPECT_EQ(fields(fib[3], keys), "tb_id=254 err=0 oif=0 iif=1 proto=1 tos=0 src=198.51.100.2 dst=198.51.100.1 gw4=0.0.0.0 name=ntdut0 ");

  auto xmit = d.named("net:net_dev_start_xmit");
  ASSERT_EQ(xmit.size(), 2u);
  const auto xkeys = {"protocol", "len", "network_offset", "transport_offset_valid", "transport_offset", "ip_summed"};
  EXPECT_EQ(fields(xmit[0], xkeys), "protocol=2054 len=42 network_offset=14 transport_offset_valid=0 transport_offset=0 ip_summed=0 ");
  EXPECT_EQ(fields(xmit[1], xkeys), "protocol=2048 len=74 network_offset=14 transport_offset_valid=1 transport_offset=34 ip_summed=0 ");

  auto consumed = d.named("skb:consume_skb");
  ASSERT_EQ(consumed.size(), 2u);
  EXPECT_EQ(d.field(*consumed[0], "location"), "arp_process");
  EXPECT_EQ(d.field(*consumed[1], "location"), "icmp_rcv");
  auto rx = d.named("net:netif_rx");
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(d.field(*rx[0], "len"), "28");
  EXPECT_EQ(d.field(*rx[1], "len"), "60");
  // The reply skbs are never freed in the DUT's trace: they live on in the peer.
  for (const auto* c : consumed) EXPECT_NE(c->skb, xmit[0]->skb);
  for (const auto* c : consumed) EXPECT_NE(c->skb, xmit[1]->skb);

  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 2u);
  EXPECT_EQ(wire[0].time_ns, 0u);
  EXPECT_EQ(wire[1].time_ns, 100000000u);
}

}  // namespace
}  // namespace nettwin
