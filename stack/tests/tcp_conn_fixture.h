// A passive connection for the data-path tests: a listener on port 80, the
// tester's handshake with Linux's SYN options (MSS 1460, SACK, TS, wscale 7),
// and the accepted child; helpers to send segments relative to the ISNs.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <utility>

#include "core/net.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "tcp_test_helpers.h"

namespace nettwin::test {

// The aligned timestamp option (NOP NOP TS) the tester sends.
inline Bytes ts_option(uint32_t tsval, uint32_t tsecr) {
  Bytes b = {1, 1, 8, 10};
  put32(b, tsval);
  put32(b, tsecr);
  return b;
}

// The TSval of a DUT segment with NOP NOP TS first (0 when none).
inline uint32_t dut_tsval(const SentTcp& t) {
  const Bytes o = t.options();
  for (size_t i = 0; i + 10 <= o.size(); ++i)
    if (o[i] == 8 && o[i + 1] == 10) return be32(o, i + 2);
  return 0;
}

struct TcpConnTest : TcpDutTest {
  using TcpDutTest::TcpDutTest;
  int lfd = -1, cfd = -1;
  uint32_t isn = 0;         // the DUT's ISN
  uint32_t peer_isn = 5000; // the tester's
  uint32_t tsval = 1000;    // the tester's clock
  uint32_t dut_ts = 0;      // the DUT's last TSval (what the tester echoes)
  uint32_t snd = 0;         // the tester's next sequence (relative to peer_isn + 1)

  uint16_t syn_ack_window = 0;  // the window the DUT's SYN-ACK offered
  uint8_t syn_flags = kSyn;     // the tester's SYN (with ECE|CWR: an ECN-setup SYN)
  uint8_t syn_ack_flags = 0;    // the flags of the DUT's SYN-ACK

  void SetUp() override {
    TcpDutTest::SetUp();
    open_connection();
  }
  // A listener on port 80 (configured by `before_listen` first), the tester's
  // handshake with Linux's SYN options and a 1 ms RTT, the accepted child.
  void open_connection(const std::function<void(int lfd)>& before_listen = {}) {
    lfd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
    if (before_listen) before_listen(lfd);
    SockaddrIn a;
    a.port = 80;
    ASSERT_EQ(sys_bind(net, lfd, a, SOCKADDR_IN_LEN), 0);
    ASSERT_EQ(sys_listen(net, lfd, 5), 0);
    TcpSeg syn;
    syn.seq = peer_isn;
    syn.flags = syn_flags;
    syn.options = linux_syn_options(tsval);
    auto out = send(syn);
    ASSERT_EQ(out.size(), 1u);
    SentTcp sa(out[0]);
    isn = sa.seq();
    dut_ts = dut_tsval(sa);
    syn_ack_window = sa.window();
    syn_ack_flags = sa.flags();
    d.stack.advance(1'000'000);  // a 1 ms RTT
    tsval += 1;
    EXPECT_TRUE(send(seg(kAck)).empty());
    cfd = sys_accept4(net, lfd, nullptr, 0, 0);
    ASSERT_GE(cfd, 3);
    d.trace();
  }
  TcpSock* tp() { return static_cast<TcpSock*>(net.sock.files.at(cfd)->sk); }
  // A segment from the tester: seq/ack relative to the ISNs + 1, NOP NOP TS.
  TcpSeg seg(uint8_t flags, const Bytes& payload = {}, uint32_t ack_rel = 0, uint16_t window = 502) {
    TcpSeg s;
    s.flags = flags;
    s.seq = peer_isn + 1 + snd;
    s.ack = isn + 1 + ack_rel;
    s.window = window;
    s.options = ts_option(tsval, dut_ts);
    s.payload = payload;
    return s;
  }
  // An ACK of ack_rel carrying SACK blocks {start, end} (relative to the DUT's ISN + 1).
  TcpSeg sack_seg(uint32_t ack_rel, std::initializer_list<std::pair<uint32_t, uint32_t>> blocks) {
    TcpSeg s = seg(kAck, {}, ack_rel);
    Bytes sb = {1, 1, 5, uint8_t(2 + 8 * blocks.size())};
    for (const auto& [start, end] : blocks) {
      put32(sb, isn + 1 + start);
      put32(sb, isn + 1 + end);
    }
    s.options.insert(s.options.end(), sb.begin(), sb.end());
    return s;
  }
  std::vector<Bytes> send(const TcpSeg& s, uint64_t after_ns = 100'000) {
    d.inject(tcp_frame(s));
    d.stack.advance(after_ns);
    return wire();
  }
  std::vector<Bytes> wire() {
    std::vector<Bytes> out;
    for (auto& w : d.stack.take_wire())
      if (!tcp_only || is_ipv4_tcp(w.data)) out.push_back(w.data);
    for (auto it = out.rbegin(); it != out.rend(); ++it) {
      if (!is_ipv4_tcp(*it)) continue;
      if (const uint32_t t = dut_tsval(SentTcp(*it))) dut_ts = t;
      break;
    }
    return out;
  }
  // Payload bytes of a DUT segment (Ethernet + 20-byte IP + TCP header).
  static Bytes payload(const Bytes& f) {
    SentTcp t(f);
    return Bytes(f.begin() + SentTcp::T + t.doff() * 4, f.end());
  }
  int write(const std::string& s, int flags = 0) {
    SendMsg m;
    m.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    m.flags = flags;
    return sys_sendmsg(net, cfd, m);
  }
  int read(RecvMsg& m, size_t len, int flags = MSG_DONTWAIT_) {
    m.len = len;
    return sys_recvmsg(net, cfd, m, flags, 0);
  }
  int state() { return tp()->sk_state; }
};

}  // namespace nettwin::test
