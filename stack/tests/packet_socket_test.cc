// AF_PACKET sockets against net/packet/af_packet.c and packet(7): clones on
// receive (ptype_all and ptype_base) and on transmit (dev_queue_xmit_nit,
// PACKET_OUTGOING), device binding, SOCK_RAW vs SOCK_DGRAM, the receive
// buffer drop, packet_snd and its errnos.
#include <gtest/gtest.h>

#include "core/net.h"
#include "socket/syscalls.h"
#include "test_helpers.h"

namespace nettwin::test {
namespace {

constexpr int AF_PACKET = 17, SOCK_RAW = 3, SOCK_DGRAM = 2;
constexpr int kIfindex = 7102;
constexpr uint8_t PACKET_HOST = 0, PACKET_BROADCAST = 1, PACKET_OUTGOING = 4;

int htons_arg(uint16_t v) { return int(uint16_t((v << 8) | (v >> 8))); }

struct PacketTest : ::testing::Test {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();
  int packet(int type, uint16_t proto) { return sys_socket(net, AF_PACKET, type, htons_arg(proto)); }
  void deliver(const Bytes& frame) {
    d.inject(frame);
    d.stack.advance(1'000'000);
  }
  RecvMsg recv(int fd, int& ret, size_t len = 2048, int flags = MSG_DONTWAIT_) {
    RecvMsg m;
    m.len = len;
    ret = sys_recvmsg(net, fd, m, flags, 0);
    return m;
  }
  SockaddrLl ll(int ifindex, uint16_t proto, const std::array<uint8_t, 6>* mac = nullptr) {
    SockaddrLl a;
    a.ifindex = ifindex;
    a.protocol = proto;
    if (mac) {
      a.halen = 6;
      std::copy(mac->begin(), mac->end(), a.addr);
    }
    return a;
  }
  int send(int fd, const Bytes& data, const SockaddrLl* to = nullptr, int namelen = SOCKADDR_LL_LEN) {
    SendMsg m;
    m.data = data;
    m.ll_name = to;
    m.namelen = to ? namelen : 0;
    return sys_sendmsg(net, fd, m);
  }
};

TEST_F(PacketTest, EthPAllSeesTheRequestAndTheReplyLikeTcpdump) {
  const int fd = packet(SOCK_RAW, ETH_P_ALL_);
  ASSERT_GE(fd, 3);
  const Bytes req = arp_request(kTesterIp, kDutIp);
  deliver(req);
  int ret = 0;
  RecvMsg in = recv(fd, ret);
  ASSERT_EQ(ret, int(req.size()));
  EXPECT_EQ(in.data, req);  // SOCK_RAW: from the Ethernet header on
  ASSERT_TRUE(in.ll_name);
  EXPECT_EQ(in.ll_name->family, AF_PACKET);
  EXPECT_EQ(in.ll_name->protocol, 0x0806);
  EXPECT_EQ(in.ll_name->ifindex, kIfindex);
  EXPECT_EQ(in.ll_name->hatype, 1);  // ARPHRD_ETHER
  EXPECT_EQ(in.ll_name->pkttype, PACKET_BROADCAST);
  EXPECT_EQ(in.ll_name->halen, 6);
  EXPECT_TRUE(std::equal(kTesterMac.begin(), kTesterMac.end(), in.ll_name->addr));

  RecvMsg out = recv(fd, ret);
  ASSERT_EQ(ret, 42);  // the ARP reply the stack sent
  ASSERT_TRUE(out.ll_name);
  EXPECT_EQ(out.ll_name->pkttype, PACKET_OUTGOING);
  EXPECT_EQ(out.ll_name->protocol, 0x0806);
  EXPECT_TRUE(std::equal(kTesterMac.begin(), kTesterMac.end(), out.data.begin()));     // to the asker
  EXPECT_TRUE(std::equal(kDutMac.begin(), kDutMac.end(), out.data.begin() + 6));       // from us
  EXPECT_EQ(be16(out.data, 20), 2);  // ARPOP_REPLY
  EXPECT_TRUE(std::equal(kDutMac.begin(), kDutMac.end(), out.ll_name->addr));  // the source of the frame
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(wire[0].data, out.data);  // what left is what the socket saw
  recv(fd, ret);
  EXPECT_EQ(ret, -E_AGAIN);
}

TEST_F(PacketTest, PerProtocolSocketSeesOnlyItsEthertypeAndNoTransmit) {
  const int ip = packet(SOCK_RAW, 0x0800);
  const int arp = packet(SOCK_RAW, 0x0806);
  const Bytes echo = icmp_echo_request(1, 1, Bytes(8, 0xab));
  deliver(arp_request(kTesterIp, kDutIp));
  deliver(echo);
  int ret = 0;
  RecvMsg m = recv(ip, ret);
  ASSERT_EQ(ret, int(echo.size()));
  EXPECT_EQ(m.data, echo);
  EXPECT_EQ(m.ll_name->pkttype, PACKET_HOST);
  recv(ip, ret);
  EXPECT_EQ(ret, -E_AGAIN);  // ptype_base handlers see no transmitted copies (the echo reply)
  m = recv(arp, ret);
  EXPECT_EQ(ret, 42);
  EXPECT_EQ(m.ll_name->protocol, 0x0806);
  recv(arp, ret);
  EXPECT_EQ(ret, -E_AGAIN);  // neither the ARP reply nor the IP frames
  EXPECT_EQ(d.stack.take_wire().size(), 2u);  // the stack still answered both
}

TEST_F(PacketTest, DgramSocketGetsNoLinkLayerHeader) {
  const int fd = packet(SOCK_DGRAM, ETH_P_ALL_);
  ASSERT_FALSE(d.stack.add_neighbour(d.dev, "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  const Bytes echo = icmp_echo_request(7, 1, Bytes(4, 1));
  deliver(echo);
  int ret = 0;
  RecvMsg in = recv(fd, ret);
  ASSERT_EQ(ret, int(echo.size()) - 14);
  EXPECT_TRUE(std::equal(in.data.begin(), in.data.end(), echo.begin() + 14));
  EXPECT_EQ(in.ll_name->protocol, 0x0800);
  EXPECT_TRUE(std::equal(kTesterMac.begin(), kTesterMac.end(), in.ll_name->addr));
  RecvMsg out = recv(fd, ret);  // the echo reply, header pulled off the outgoing copy too
  ASSERT_GT(ret, 0);
  EXPECT_EQ(out.ll_name->pkttype, PACKET_OUTGOING);
  EXPECT_EQ(out.data[0], 0x45);
  EXPECT_EQ(out.data[20], 0);  // ICMP_ECHOREPLY
}

TEST_F(PacketTest, BoundToAnotherDeviceSeesNothing) {
  DeviceConfig c;
  c.name = "ntdut1";
  c.kind = DeviceKind::Veth;
  c.mac = {0x02, 0, 0, 0, 0x02, 0x02};
  c.ifindex = 7103;
  ASSERT_FALSE(d.stack.create_device(c).has_value());
  const int other = packet(SOCK_RAW, ETH_P_ALL_);
  const int mine = packet(SOCK_RAW, 0);  // protocol 0: nothing until bound
  SockaddrLl a = ll(7103, 0);
  EXPECT_EQ(sys_bind_ll(net, other, a, SOCKADDR_LL_LEN), 0);  // keeps ETH_P_ALL
  a = ll(kIfindex, 0x0806);
  EXPECT_EQ(sys_bind_ll(net, mine, a, SOCKADDR_LL_LEN), 0);
  SockaddrLl name;
  ASSERT_EQ(sys_getsockname_ll(net, other, &name), 0);
  EXPECT_EQ(name.ifindex, 7103);
  EXPECT_EQ(name.protocol, ETH_P_ALL_);
  EXPECT_EQ(name.halen, 6);
  deliver(arp_request(kTesterIp, kDutIp));
  int ret = 0;
  recv(other, ret);
  EXPECT_EQ(ret, -E_AGAIN);
  RecvMsg m = recv(mine, ret);
  EXPECT_EQ(ret, 42);
  EXPECT_EQ(m.ll_name->ifindex, kIfindex);
  a = ll(9999, 0);
  EXPECT_EQ(sys_bind_ll(net, mine, a, SOCKADDR_LL_LEN), -E_NODEV);
  EXPECT_EQ(sys_bind_ll(net, mine, a, 19), -E_INVAL);
  a = ll(kIfindex, 0);
  a.family = 2;
  EXPECT_EQ(sys_bind_ll(net, mine, a, SOCKADDR_LL_LEN), -E_INVAL);
  EXPECT_EQ(sys_bind(net, mine, SockaddrIn{}, 16), -E_INVAL);  // a sockaddr_in is too short
}

// The original skb reaches ip_rcv with its own reference back (users 1) and
// its data shared with the socket's clone (dataref 2), as Linux has them.
TEST_F(PacketTest, CloneLeavesTheOriginalToIp) {
  const int fd = packet(SOCK_RAW, ETH_P_ALL_);
  d.trace(true);
  const Bytes echo = icmp_echo_request(3, 1, Bytes(4, 2));
  d.inject(echo);
  d.stack.advance(1'000'000);
  auto pr = d.named("checkpoint:packet_rcv");
  ASSERT_FALSE(pr.empty());
  const uint64_t id = pr[0]->skb;
  EXPECT_EQ(d.field(*pr[0], "users"), "2");  // deliver_skb took a reference for the tap
  EXPECT_EQ(d.field(*pr[0], "dataref"), "1");
  const TraceEvent* ip = nullptr;
  for (const auto* ev : d.named("checkpoint:ip_rcv"))
    if (ev->skb == id) ip = ev;
  ASSERT_NE(ip, nullptr);
  EXPECT_EQ(d.field(*ip, "users"), "1");
  EXPECT_EQ(d.field(*ip, "dataref"), "2");
  EXPECT_EQ(d.field(*ip, "cloned"), "1");
  EXPECT_EQ(d.field(*ip, "data"), d.field(*pr[0], "data"));  // packet_rcv put data back
  for (const auto* ev : d.named("skb:consume_skb"))  // consume_skb of a shared skb only drops a reference
    EXPECT_FALSE(ev->skb == id && d.field(*ev, "location") == "packet_rcv");
  int ret = 0;
  RecvMsg m = recv(fd, ret);
  EXPECT_EQ(m.data, echo);
}

// A socket bound to the device is on dev->ptype_specific, after IP: ip_rcv
// gets the skb while the socket still holds it and works on a clone of its
// own (skb_share_check), so the socket still sees the whole frame.
TEST_F(PacketTest, DeviceBoundSocketAfterIpGetsTheWholeFrame) {
  const int fd = packet(SOCK_DGRAM, 0x0800);
  SockaddrLl a = ll(kIfindex, 0);
  ASSERT_EQ(sys_bind_ll(net, fd, a, SOCKADDR_LL_LEN), 0);
  ASSERT_FALSE(d.stack.add_neighbour(d.dev, "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  d.trace(true);
  const Bytes echo = icmp_echo_request(9, 1, Bytes(6, 3));
  deliver(echo);
  auto ip = d.named("checkpoint:ip_rcv");
  ASSERT_EQ(ip.size(), 1u);
  EXPECT_EQ(d.field(*ip[0], "users"), "2");  // deliver_skb's reference for the socket after it
  int ret = 0;
  RecvMsg m = recv(fd, ret);
  ASSERT_EQ(ret, int(echo.size()) - 14);
  EXPECT_TRUE(std::equal(m.data.begin(), m.data.end(), echo.begin() + 14));
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);  // the echo reply
  EXPECT_EQ(wire[0].data[14 + 20], 0);
}

// With no other handler for the ethertype the socket holds the only reference,
// so the drop is traced (a shared skb's kfree_skb only drops a reference).
TEST_F(PacketTest, FullReceiveBufferDropsWithPacketSockError) {
  constexpr uint16_t kExperimental = 0x88b5;  // IEEE 802 local experimental ethertype
  const int fd = packet(SOCK_RAW, kExperimental);
  ASSERT_EQ(sys_setsockopt(net, fd, SOL_SOCKET_, SO_RCVBUF_, 1, 4), 0);  // the minimum, 2304
  Bytes frame(kDutMac.begin(), kDutMac.end());
  frame.insert(frame.end(), kTesterMac.begin(), kTesterMac.end());
  put16(frame, kExperimental);
  frame.resize(60, 0x5a);
  d.trace();
  for (int i = 0; i < 8; ++i) deliver(frame);
  int ret = 0;
  int got = 0;
  while (recv(fd, ret), ret > 0) ++got;
  int drops = 0;
  for (const auto* ev : d.named("skb:kfree_skb")) {
    EXPECT_EQ(d.field(*ev, "location"), "packet_rcv");
    EXPECT_EQ(d.field(*ev, "reason"), "PACKET_SOCK_ERROR");
    ++drops;
  }
  EXPECT_GE(got, 1);
  EXPECT_GE(drops, 1);
  EXPECT_EQ(got + drops, 8);
  SockaddrLl a = ll(kIfindex, 0);
  ASSERT_EQ(sys_bind_ll(net, fd, a, SOCKADDR_LL_LEN), 0);  // the queue has room again: frames arrive
  deliver(frame);
  recv(fd, ret);
  EXPECT_EQ(ret, 60);
}

TEST_F(PacketTest, SendRawFrameGoesOutAndIsSeenOutgoing) {
  const int tx = packet(SOCK_RAW, 0);
  const int tap = packet(SOCK_RAW, ETH_P_ALL_);
  Bytes frame = arp_request(kDutIp, kTesterIp, kDutMac);
  SockaddrLl to = ll(kIfindex, 0);
  ASSERT_EQ(send(tx, frame, &to), int(frame.size()));
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(wire[0].data, frame);
  int ret = 0;
  RecvMsg m = recv(tap, ret);
  ASSERT_EQ(ret, int(frame.size()));
  EXPECT_EQ(m.ll_name->pkttype, PACKET_OUTGOING);
  EXPECT_EQ(m.ll_name->protocol, 0x0806);  // packet_parse_headers took the frame's ethertype
  recv(tx, ret);
  EXPECT_EQ(ret, -E_AGAIN);  // protocol 0: the sender hears nothing
}

// dev_queue_xmit_nit skips the socket that sent the frame (skb_loop_sk).
TEST_F(PacketTest, SenderDoesNotHearItself) {
  const int a = packet(SOCK_RAW, ETH_P_ALL_);
  const int b = packet(SOCK_RAW, ETH_P_ALL_);
  Bytes frame = arp_request(kDutIp, kTesterIp, kDutMac);
  SockaddrLl to = ll(kIfindex, 0);
  ASSERT_EQ(send(a, frame, &to), int(frame.size()));
  int ret = 0;
  recv(a, ret);
  EXPECT_EQ(ret, -E_AGAIN);
  RecvMsg m = recv(b, ret);
  EXPECT_EQ(ret, int(frame.size()));
  EXPECT_EQ(m.ll_name->pkttype, PACKET_OUTGOING);
}

TEST_F(PacketTest, SendDgramBuildsTheHeader) {
  const int tx = packet(SOCK_DGRAM, 0x0806);
  Bytes payload = arp_request(kDutIp, kTesterIp, kDutMac);
  payload.erase(payload.begin(), payload.begin() + 14);
  SockaddrLl to = ll(kIfindex, 0x0806, &kTesterMac);
  ASSERT_EQ(send(tx, payload, &to), int(payload.size()));
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_TRUE(std::equal(kTesterMac.begin(), kTesterMac.end(), wire[0].data.begin()));
  EXPECT_TRUE(std::equal(kDutMac.begin(), kDutMac.end(), wire[0].data.begin() + 6));
  EXPECT_EQ(be16(wire[0].data, 12), 0x0806);
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), wire[0].data.begin() + 14));
  EXPECT_EQ(send(tx, payload, &to, 17), -E_INVAL);  // shorter than sockaddr_ll
}

TEST_F(PacketTest, Errnos) {
  EXPECT_EQ(sys_socket(net, AF_PACKET, 1, 0), -E_SOCKTNOSUPPORT);  // SOCK_STREAM
  const int raw = packet(SOCK_RAW, 0);
  const int dgram = packet(SOCK_DGRAM, 0x0800);
  const Bytes frame(60, 0);
  EXPECT_EQ(send(raw, frame), -E_NXIO);  // unbound, no address
  SockaddrLl to = ll(4242, 0);
  EXPECT_EQ(send(raw, frame, &to), -E_NXIO);  // no such device
  to = ll(kIfindex, 0);
  EXPECT_EQ(send(raw, Bytes(1500 + 14 + 4 + 1, 0), &to), -E_MSGSIZE);
  EXPECT_EQ(send(raw, Bytes(1500 + 14 + 1, 0), &to), -E_MSGSIZE);  // not a VLAN frame
  EXPECT_EQ(send(raw, Bytes(10, 0), &to), -E_INVAL);  // shorter than the Ethernet header
  to.halen = 12;
  EXPECT_EQ(send(raw, frame, &to), -E_INVAL);  // namelen < sll_halen + 12
  to = ll(kIfindex, 0x0800);
  EXPECT_EQ(send(dgram, Bytes(1500 + 5, 0), &to), -E_MSGSIZE);
  EXPECT_EQ(send(dgram, Bytes(20, 0), &to, 17), -E_INVAL);  // shorter than sockaddr_ll
  ASSERT_EQ(sys_bind_ll(net, dgram, to, SOCKADDR_LL_LEN), 0);
  EXPECT_EQ(send(dgram, Bytes(20, 0)), -E_INVAL);  // bound, but no destination for the header
  ASSERT_FALSE(d.stack.set_link(d.dev, false).has_value());
  to = ll(kIfindex, 0);
  EXPECT_EQ(send(raw, frame, &to), -E_NETDOWN);
  int ret = 0;
  recv(raw, ret, 100, MSG_OOB_);
  EXPECT_EQ(ret, -E_INVAL);
  EXPECT_EQ(sys_connect(net, raw, SockaddrIn{}, 16), -E_OPNOTSUPP);
  EXPECT_EQ(sys_listen(net, raw, 1), -E_OPNOTSUPP);
  int v = 0;
  EXPECT_EQ(sys_getsockopt(net, dgram, SOL_SOCKET_, SO_TYPE_, &v), 0);
  EXPECT_EQ(v, SOCK_DGRAM);
  EXPECT_EQ(sys_getsockopt(net, dgram, SOL_SOCKET_, SO_DOMAIN_, &v), 0);
  EXPECT_EQ(v, AF_PACKET);
  EXPECT_EQ(sys_getsockopt(net, dgram, SOL_SOCKET_, SO_PROTOCOL_, &v), 0);
  EXPECT_EQ(v, 0);  // packet_create leaves sk_protocol 0 (checked on Linux 6.18)
  EXPECT_EQ(sys_getsockopt(net, dgram, SOL_PACKET_, 999, &v), -E_NOPROTOOPT);
  EXPECT_EQ(sys_shutdown(net, dgram, SHUT_RDWR_), -E_OPNOTSUPP);
  EXPECT_EQ(sys_close(net, dgram), 0);
  EXPECT_TRUE(net.ptype_base.size() == 2u);  // its hook left ptype_base: IP and ARP remain
}

TEST_F(PacketTest, CloseTakesTheHookOffAndPurgesTheQueue) {
  const int fd = packet(SOCK_RAW, ETH_P_ALL_);
  deliver(arp_request(kTesterIp, kDutIp));
  d.trace();
  EXPECT_EQ(sys_close(net, fd), 0);
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 2u);  // the request and the reply still queued
  EXPECT_EQ(d.field(*drops[0], "reason"), "QUEUE_PURGE");
  EXPECT_TRUE(net.ptype_all.empty());
  deliver(arp_request(kTesterIp, kDutIp));  // nothing listens any more
  EXPECT_EQ(d.stack.take_wire().size(), 2u);
}

// packet_notifier: a socket bound to a device leaves the lists while it is
// down (its next read fails with ENETDOWN) and hears frames again once it is up.
TEST_F(PacketTest, LinkDownAndUpRehooks) {
  const int fd = packet(SOCK_RAW, ETH_P_ALL_);
  SockaddrLl a = ll(kIfindex, 0);
  ASSERT_EQ(sys_bind_ll(net, fd, a, SOCKADDR_LL_LEN), 0);
  const int any = packet(SOCK_RAW, ETH_P_ALL_);  // not bound to a device: stays hooked
  ASSERT_EQ(net.ptype_all.size(), 2u);
  ASSERT_FALSE(d.stack.set_link(d.dev, false).has_value());
  EXPECT_EQ(net.ptype_all.size(), 1u);
  int ret = 0;
  recv(fd, ret);
  EXPECT_EQ(ret, -E_NETDOWN);
  recv(fd, ret);
  EXPECT_EQ(ret, -E_AGAIN);  // the error is reported once
  recv(any, ret);
  EXPECT_EQ(ret, -E_AGAIN);
  ASSERT_FALSE(d.stack.set_link(d.dev, true).has_value());
  EXPECT_EQ(net.ptype_all.size(), 2u);
  deliver(arp_request(kTesterIp, kDutIp));
  RecvMsg m = recv(fd, ret);
  EXPECT_EQ(ret, 42);
  // Binding to a device that is down: not hooked, and ENETDOWN pending.
  ASSERT_FALSE(d.stack.set_link(d.dev, false).has_value());
  const int late = packet(SOCK_RAW, 0);
  a = ll(kIfindex, 0x0806);
  EXPECT_EQ(sys_bind_ll(net, late, a, SOCKADDR_LL_LEN), 0);
  recv(late, ret);
  EXPECT_EQ(ret, -E_NETDOWN);
}

TEST_F(PacketTest, InetSocketGivenAPacketAddress) {
  const int udp = sys_socket(net, 2, SOCK_DGRAM, 0);
  SockaddrLl a = ll(kIfindex, 0x0800);
  EXPECT_EQ(sys_bind_ll(net, udp, a, SOCKADDR_LL_LEN), -E_AFNOSUPPORT);
  EXPECT_EQ(send(udp, Bytes(4, 0), &a), -E_AFNOSUPPORT);
}

}  // namespace
}  // namespace nettwin::test
