// TCP segments from the tester to the DUT, built byte by byte (not with the
// stack's wire code), readers for the segments the DUT sends back, and the
// fixture the TCP suites start from.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>

#include "core/net.h"
#include "socket/syscalls.h"
#include "test_helpers.h"

namespace nettwin::test {

inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kEce = 0x40, kCwr = 0x80;

struct TcpSeg {
  uint16_t sport = 40000, dport = 80;
  uint32_t seq = 1000, ack = 0;
  uint8_t flags = kSyn;
  uint16_t window = 64240;
  Bytes options;  // a multiple of 4 bytes
  Bytes payload;
  uint8_t tos = 0;
  Bytes ip_options;  // a multiple of 4 bytes
  int check = -1;  // -1: the right checksum
  int doff = -1;   // -1: from the options
  uint16_t urg_ptr = 0;
};

// Ethernet + IPv4 (20 bytes and the IP options) + TCP.
inline Bytes tcp_frame(const TcpSeg& s, uint32_t saddr = kTesterIp, uint32_t daddr = kDutIp,
                       const std::array<uint8_t, 6>& dst_mac = kDutMac) {
  const unsigned thl = unsigned(20 + s.options.size());
  const unsigned ihl = unsigned(20 + s.ip_options.size());
  const unsigned tot = unsigned(ihl + thl + s.payload.size());
  Bytes f(14 + tot);
  std::copy(dst_mac.begin(), dst_mac.end(), f.begin());
  std::copy(kTesterMac.begin(), kTesterMac.end(), f.begin() + 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = uint8_t(0x40 | ihl / 4);
  ip[1] = s.tos;
  ip[2] = uint8_t(tot >> 8), ip[3] = uint8_t(tot);
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = 6;
  for (int i = 0; i < 4; ++i) ip[12 + i] = uint8_t(saddr >> (24 - 8 * i)), ip[16 + i] = uint8_t(daddr >> (24 - 8 * i));
  std::copy(s.ip_options.begin(), s.ip_options.end(), ip + 20);
  const uint16_t ic = inet_csum(ip, ihl);
  ip[10] = uint8_t(ic >> 8), ip[11] = uint8_t(ic);
  uint8_t* t = ip + ihl;
  t[0] = uint8_t(s.sport >> 8), t[1] = uint8_t(s.sport);
  t[2] = uint8_t(s.dport >> 8), t[3] = uint8_t(s.dport);
  for (int i = 0; i < 4; ++i) t[4 + i] = uint8_t(s.seq >> (24 - 8 * i)), t[8 + i] = uint8_t(s.ack >> (24 - 8 * i));
  t[12] = uint8_t((s.doff >= 0 ? unsigned(s.doff) : thl / 4) << 4);
  t[13] = s.flags;
  t[14] = uint8_t(s.window >> 8), t[15] = uint8_t(s.window);
  t[18] = uint8_t(s.urg_ptr >> 8), t[19] = uint8_t(s.urg_ptr);
  std::copy(s.options.begin(), s.options.end(), t + 20);
  std::copy(s.payload.begin(), s.payload.end(), t + thl);
  const unsigned tlen = tot - ihl;
  Bytes ph(12 + tlen);
  std::copy(ip + 12, ip + 20, ph.begin());
  ph[9] = 6;
  ph[10] = uint8_t(tlen >> 8), ph[11] = uint8_t(tlen);
  std::copy(t, t + tlen, ph.begin() + 12);
  const uint16_t c = s.check >= 0 ? uint16_t(s.check) : inet_csum(ph.data(), ph.size());
  t[16] = uint8_t(c >> 8), t[17] = uint8_t(c);
  return f;
}

// The options of a Linux client's SYN: MSS, SACK_PERM + TS, NOP + WS.
inline Bytes linux_syn_options(uint32_t tsval, uint8_t wscale = 7) {
  return {2, 4, 0x05, 0xb4, 4, 2, 8, 10, uint8_t(tsval >> 24), uint8_t(tsval >> 16), uint8_t(tsval >> 8),
          uint8_t(tsval), 0, 0, 0, 0, 1, 3, 3, wscale};
}

// tcp_clock_ms at virtual time ns (clock phase 0): ms since the stack's seeded
// boot, the clock TSvals count in before the connection's offset.
inline uint32_t tcp_clock_ms_at(const Net& net, uint64_t ns) {
  return uint32_t((net.engine.jiffies_origin() - INITIAL_JIFFIES) * (1000 / HZ) + ns / 1'000'000);
}

// An Ethernet frame carrying IPv4 and TCP (not an ARP probe the DUT sent meanwhile).
inline bool is_ipv4_tcp(const Bytes& f) {
  return f.size() > 34 && f[12] == 0x08 && f[13] == 0x00 && f[14 + 9] == 6;
}

// A TCP segment the DUT sent (an Ethernet frame with a 20-byte IP header).
struct SentTcp {
  explicit SentTcp(const Bytes& f) : f(f) {}
  const Bytes& f;
  static constexpr size_t T = 14 + 20;
  uint16_t sport() const { return be16(f, T); }
  uint16_t dport() const { return be16(f, T + 2); }
  uint32_t seq() const { return be32(f, T + 4); }
  uint32_t ack() const { return be32(f, T + 8); }
  uint8_t flags() const { return f[T + 13]; }
  uint16_t window() const { return be16(f, T + 14); }
  unsigned doff() const { return f[T + 12] >> 4; }
  // The option bytes (between the fixed header and doff).
  Bytes options() const { return Bytes(f.begin() + T + 20, f.begin() + T + doff() * 4); }
  // The checksum over the pseudo header and segment sums to zero.
  bool csum_ok() const {
    const unsigned tlen = unsigned(f.size() - T);
    Bytes ph(12 + tlen);
    std::copy(f.begin() + 14 + 12, f.begin() + 14 + 20, ph.begin());
    ph[9] = 6;
    ph[10] = uint8_t(tlen >> 8), ph[11] = uint8_t(tlen);
    std::copy(f.begin() + T, f.end(), ph.begin() + 12);
    return inet_csum(ph.data(), ph.size()) == 0;
  }
};

// An ICMP error from the tester quoting the DUT's segment (its IP header and
// first 8 TCP bytes), type and code as given; mtu: a frag-needed's next-hop MTU.
inline Bytes icmp_error_quoting(const Bytes& seg, uint8_t type, uint8_t code, uint16_t mtu = 0) {
  Bytes icmp = {type, code, 0, 0, 0, 0, uint8_t(mtu >> 8), uint8_t(mtu)};
  icmp.insert(icmp.end(), seg.begin() + 14, seg.begin() + 14 + 20 + 8);
  const uint16_t c = inet_csum(icmp.data(), icmp.size());
  icmp[2] = uint8_t(c >> 8), icmp[3] = uint8_t(c);
  Bytes f(14 + 20);
  std::copy(kDutMac.begin(), kDutMac.end(), f.begin());
  std::copy(kTesterMac.begin(), kTesterMac.end(), f.begin() + 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  const unsigned tot = unsigned(20 + icmp.size());
  ip[0] = 0x45, ip[2] = uint8_t(tot >> 8), ip[3] = uint8_t(tot), ip[8] = 64, ip[9] = 1;
  for (int i = 0; i < 4; ++i) ip[12 + i] = uint8_t(kTesterIp >> (24 - 8 * i)), ip[16 + i] = uint8_t(kDutIp >> (24 - 8 * i));
  const uint16_t ic = inet_csum(ip, 20);
  ip[10] = uint8_t(ic >> 8), ip[11] = uint8_t(ic);
  f.insert(f.end(), icmp.begin(), icmp.end());
  return f;
}

// The TCP suites' fixture: the recordings' DUT on a veth device, the tester's
// address already resolved (its ARP exchange off the wire). Suites that read
// events call d.trace() where their story starts.
struct TcpDutTest : ::testing::Test {
  explicit TcpDutTest(DeviceKind kind = DeviceKind::Veth) : d{kind} {}
  Dut d;
  Net& net = d.stack.net();
  bool tcp_only = false;  // take() leaves out what is not TCP (an aging neighbour's ARP probes)
  void SetUp() override {
    d.inject(arp_request(kTesterIp, kDutIp));
    d.stack.advance(1'000'000);
    d.stack.take_wire();
  }
  int tcp() { return sys_socket(net, AF_INET_, SOCK_STREAM_, 0); }
  // The frames the DUT put on the wire since the last look.
  std::vector<Bytes> take() {
    std::vector<Bytes> out;
    for (auto& w : d.stack.take_wire())
      if (!tcp_only || is_ipv4_tcp(w.data))
        out.push_back(w.data);
    return out;
  }
  // s from the tester, then what the DUT sends within a millisecond.
  std::vector<Bytes> send(const TcpSeg& s) {
    d.inject(tcp_frame(s));
    d.stack.advance(1'000'000);
    return take();
  }
};

}  // namespace nettwin::test
