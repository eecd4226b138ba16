// Unit tests of the link-type conversion of the replay's reader: each link type
// real captures have becomes the Ethernet frame the ring takes, with the MACs
// pcap_input_link.h documents.
#include "pcap_input_link.h"

#include <gtest/gtest.h>

#include <vector>

namespace nettwin::server {
namespace {

// An IPv4 header (20 bytes) from 198.51.100.1 to `dst`, then 4 payload bytes.
std::vector<uint8_t> ipv4_packet(uint8_t d0, uint8_t d1, uint8_t d2, uint8_t d3) {
  return {0x45, 0, 0, 24, 0, 1, 0x40, 0, 64, 17, 0, 0, 198, 51, 100, 1, d0, d1, d2, d3, 1, 2, 3, 4};
}

std::vector<uint8_t> with_header(std::vector<uint8_t> header, const std::vector<uint8_t>& packet) {
  header.insert(header.end(), packet.begin(), packet.end());
  return header;
}

struct Converted {
  std::vector<uint8_t> frame;
  uint32_t wire_len = 0;
};

Converted convert(int dlt, const std::vector<uint8_t>& record, uint32_t wire_len = 0) {
  std::vector<uint8_t> buffer;
  std::string why;
  const auto frame = to_ethernet(dlt, record, wire_len ? wire_len : uint32_t(record.size()), buffer, why);
  EXPECT_TRUE(frame) << why;
  if (!frame) return {};
  return {std::vector<uint8_t>(frame->data.begin(), frame->data.end()), frame->wire_len};
}

const std::vector<uint8_t> kDutMac{0x02, 0x00, 198, 51, 100, 2};
const std::vector<uint8_t> kPeerMac{0x02, 0x00, 198, 51, 100, 1};

void expect_ethernet_ipv4(const Converted& got, const std::vector<uint8_t>& dst,
                          const std::vector<uint8_t>& packet) {
  ASSERT_EQ(got.frame.size(), 14 + packet.size());
  EXPECT_EQ(std::vector<uint8_t>(got.frame.begin(), got.frame.begin() + 6), dst);
  EXPECT_EQ(std::vector<uint8_t>(got.frame.begin() + 6, got.frame.begin() + 12), kPeerMac);
  EXPECT_EQ(got.frame[12], 0x08);
  EXPECT_EQ(got.frame[13], 0x00);
  EXPECT_EQ(std::vector<uint8_t>(got.frame.begin() + 14, got.frame.end()), packet);
}

TEST(PcapInputLink, EthernetPassesUnchanged) {
  const std::vector<uint8_t> frame(60, 0xab);
  const Converted got = convert(kDltEthernet, frame, 1514);
  EXPECT_EQ(got.frame, frame);
  EXPECT_EQ(got.wire_len, 1514u);
}

TEST(PcapInputLink, LinuxCookedSllAndSll2) {
  const auto packet = ipv4_packet(198, 51, 100, 2);
  // sll_header: pkttype HOST, hatype 1, halen 6, the sender's MAC, protocol IPv4.
  const std::vector<uint8_t> sll{0, 0, 0, 1, 0, 6, 0x52, 0x54, 0, 0, 0, 1, 0, 0, 0x08, 0x00};
  expect_ethernet_ipv4(convert(kDltLinuxSll, with_header(sll, packet)), kDutMac, packet);
  // sll2_header: protocol IPv4, reserved, ifindex 3, hatype 1, pkttype HOST, halen 6, address.
  const std::vector<uint8_t> sll2{0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 0x52, 0x54, 0, 0, 0, 1, 0, 0};
  const Converted got = convert(kDltLinuxSll2, with_header(sll2, packet), 20 + 1400);
  expect_ethernet_ipv4(got, kDutMac, packet);
  EXPECT_EQ(got.wire_len, 14u + 1400u);  // the wire length keeps what the snaplen cut
}

TEST(PcapInputLink, CookedBroadcastGoesToTheBroadcastMac) {
  const auto packet = ipv4_packet(198, 51, 100, 255);  // a directed broadcast: only pkttype tells
  const std::vector<uint8_t> sll{0, 1, 0, 1, 0, 6, 0x52, 0x54, 0, 0, 0, 1, 0, 0, 0x08, 0x00};
  expect_ethernet_ipv4(convert(kDltLinuxSll, with_header(sll, packet)),
                       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, packet);
}

TEST(PcapInputLink, NullInEitherByteOrderAndLoop) {
  const auto packet = ipv4_packet(198, 51, 100, 2);
  expect_ethernet_ipv4(convert(kDltNull, with_header({2, 0, 0, 0}, packet)), kDutMac, packet);
  expect_ethernet_ipv4(convert(kDltNull, with_header({0, 0, 0, 2}, packet)), kDutMac, packet);
  expect_ethernet_ipv4(convert(kDltLoop, with_header({0, 0, 0, 2}, packet)), kDutMac, packet);
  const Converted v6 = convert(kDltNull, with_header({30, 0, 0, 0}, {0x60, 0, 0, 0}));
  EXPECT_EQ(v6.frame[12], 0x86);
  EXPECT_EQ(v6.frame[13], 0xdd);
}

TEST(PcapInputLink, RawAndIpv4) {
  const auto packet = ipv4_packet(198, 51, 100, 2);
  expect_ethernet_ipv4(convert(kDltRaw, packet), kDutMac, packet);
  expect_ethernet_ipv4(convert(kDltIpv4, packet), kDutMac, packet);
  // A multicast destination gets its RFC 1112 group MAC.
  const auto multicast = ipv4_packet(224, 0, 0, 251);
  expect_ethernet_ipv4(convert(kDltRaw, multicast), {0x01, 0x00, 0x5e, 0, 0, 251}, multicast);
}

TEST(PcapInputLink, CookedArpGetsTheMadeUpMacsInside) {
  // An ARP reply from 198.51.100.2 to 198.51.100.1 with the real MACs inside.
  const std::vector<uint8_t> arp{0, 1, 0x08, 0, 6, 4, 0, 2,
                                 0x52, 0x54, 0, 0, 0, 2, 198, 51, 100, 2,
                                 0x52, 0x54, 0, 0, 0, 1, 198, 51, 100, 1};
  const std::vector<uint8_t> sll{0, 4, 0, 1, 0, 6, 0x52, 0x54, 0, 0, 0, 2, 0, 0, 0x08, 0x06};
  const Converted got = convert(kDltLinuxSll, with_header(sll, arp));
  ASSERT_EQ(got.frame.size(), 14 + arp.size());
  EXPECT_EQ(std::vector<uint8_t>(got.frame.begin(), got.frame.begin() + 6), kPeerMac);
  EXPECT_EQ(std::vector<uint8_t>(got.frame.begin() + 6, got.frame.begin() + 12), kDutMac);
  EXPECT_EQ(std::vector<uint8_t>(got.frame.begin() + 22, got.frame.begin() + 28), kDutMac);   // sha
  EXPECT_EQ(std::vector<uint8_t>(got.frame.begin() + 32, got.frame.begin() + 38), kPeerMac);  // tha
}

TEST(PcapInputLink, RecordsShorterThanTheirLinkHeaderAreRefused) {
  std::vector<uint8_t> buffer;
  std::string why;
  const std::vector<uint8_t> short_record(10, 0);
  EXPECT_FALSE(to_ethernet(kDltLinuxSll, short_record, 10, buffer, why));
  EXPECT_NE(why.find("shorter than a Linux cooked (SLL) header"), std::string::npos) << why;
  EXPECT_FALSE(to_ethernet(kDltLinuxSll2, short_record, 10, buffer, why));
  EXPECT_FALSE(to_ethernet(kDltNull, std::vector<uint8_t>(3, 0), 3, buffer, why));
  EXPECT_FALSE(to_ethernet(kDltRaw, {}, 0, buffer, why));
  EXPECT_FALSE(is_replayable_link(105));  // 802.11
}

}  // namespace
}  // namespace nettwin::server
