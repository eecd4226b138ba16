// TSO done in software (Linux 6.18 on a veth with TSO and GSO off): a large
// write leaves TCP as one GSO skb, which validate_xmit_skb cuts into MSS-sized
// segments; the ACK side trims, and retransmissions cut, such a skb.
#include <gtest/gtest.h>

#include <string>

#include "ipv4/tcp_output.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

// 4000 bytes: with the tester's MSS 1460 and timestamps, 1448 + 1448 + 1104.
std::string large_data() {
  std::string s(4000, '\0');
  for (size_t i = 0; i < s.size(); ++i) s[i] = char(i % 251);
  return s;
}

uint16_t ip_id(const Bytes& f) { return be16(f, 14 + 4); }
uint16_t ip_tot_len(const Bytes& f) { return be16(f, 14 + 2); }
bool ip_csum_ok(const Bytes& f) { return inet_csum(f.data() + 14, 20) == 0; }

TEST_F(TcpConnTest, LargeWriteIsOneGsoSkbCutIntoMssSegmentsAtTheDevice) {
  const uint64_t out_requests = d.counter("Ip.OutRequests");
  const uint64_t out_segs = d.counter("Tcp.OutSegs");
  ASSERT_EQ(write(large_data()), 4000);
  auto out = wire();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(payload(out[0]).size(), 1448u);
  EXPECT_EQ(payload(out[1]).size(), 1448u);
  EXPECT_EQ(payload(out[2]).size(), 1104u);
  // IP sent one datagram; TCP counts the segments it stands for.
  EXPECT_EQ(d.counter("Ip.OutRequests") - out_requests, 1u);
  EXPECT_EQ(d.counter("Tcp.OutSegs") - out_segs, 3u);
  EXPECT_EQ(tp()->packets_out, 3u);
  EXPECT_EQ(tp()->tcp_rtx_queue.qlen, 1u);  // one skb on the retransmit queue
  // One skb queued at the device, consumed by GSO, three segments to the driver.
  auto queued = d.named("net:net_dev_queue");
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(d.field(*queued[0], "len"), "4066");
  auto consumed = d.named("skb:consume_skb");
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed[0]->skb, queued[0]->skb);
  EXPECT_EQ(d.field(*consumed[0], "location"), "validate_xmit_skb");
  auto started = d.named("net:net_dev_start_xmit");
  ASSERT_EQ(started.size(), 3u);
  const char* lens[] = {"1514", "1514", "1170"};
  const char* data_lens[] = {"1448", "1448", "1104"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(started[i]->skb, queued[0]->skb);
    EXPECT_EQ(d.field(*started[i], "len"), lens[i]);
    EXPECT_EQ(d.field(*started[i], "data_len"), data_lens[i]);
    EXPECT_EQ(d.field(*started[i], "gso_size"), "0");
    EXPECT_EQ(d.field(*started[i], "gso_segs"), "0");
    EXPECT_EQ(d.field(*started[i], "gso_type"), "0");
    EXPECT_EQ(d.field(*started[i], "ip_summed"), "0");
  }
}

TEST_F(TcpConnTest, GsoSegmentsCountSeqAndIpIdUpWithPshOnlyOnTheLast) {
  const std::string data = large_data();
  ASSERT_EQ(write(data), 4000);
  auto out = wire();
  ASSERT_EQ(out.size(), 3u);
  Bytes all;
  for (size_t i = 0; i < out.size(); ++i) {
    SentTcp t(out[i]);
    EXPECT_EQ(t.seq(), isn + 1 + 1448 * i);
    EXPECT_EQ(t.flags(), i == 2 ? (kAck | kPsh) : kAck);
    EXPECT_TRUE(t.csum_ok()) << "segment " << i;
    EXPECT_TRUE(ip_csum_ok(out[i])) << "segment " << i;
    EXPECT_EQ(ip_tot_len(out[i]), out[i].size() - 14);
    EXPECT_EQ(ip_id(out[i]), uint16_t(ip_id(out[0]) + i));
    EXPECT_EQ(out[i][14 + 6] & 0x40, 0x40);  // DF on every segment
    EXPECT_EQ(dut_tsval(t), dut_tsval(SentTcp(out[0])));  // one header, copied
    const Bytes p = payload(out[i]);
    all.insert(all.end(), p.begin(), p.end());
  }
  EXPECT_EQ(all, Bytes(data.begin(), data.end()));
}

TEST_F(TcpConnTest, PartialAckOfATsoSkbTrimsItsAckedSegments) {
  ASSERT_EQ(write(large_data()), 4000);
  ASSERT_EQ(wire().size(), 3u);
  const int queued = tp()->sk_wmem_queued;
  tsval += 2;
  d.stack.advance(2'000'000);
  EXPECT_TRUE(send(seg(kAck, {}, 1448)).empty());
  EXPECT_EQ(tp()->snd_una, isn + 1 + 1448);
  EXPECT_EQ(tp()->packets_out, 2u);
  ASSERT_EQ(tp()->tcp_rtx_queue.qlen, 1u);
  SkBuff* head = tp()->tcp_rtx_queue.front();
  EXPECT_EQ(TCP_SKB_CB(head)->seq, isn + 1 + 1448);
  EXPECT_EQ(head->len, 2552u);
  EXPECT_EQ(tcp_skb_pcount(head), 2u);
  EXPECT_EQ(tp()->sk_wmem_queued, queued - 1448);
  // An ACK inside the second segment frees nothing more.
  EXPECT_TRUE(send(seg(kAck, {}, 2000)).empty());
  EXPECT_EQ(tp()->packets_out, 2u);
  EXPECT_EQ(tcp_skb_pcount(tp()->tcp_rtx_queue.front()), 2u);
  EXPECT_TRUE(send(seg(kAck, {}, 4000)).empty());
  EXPECT_EQ(tp()->packets_out, 0u);
  EXPECT_EQ(tp()->tcp_rtx_queue.qlen, 0u);
  EXPECT_EQ(tp()->sk_wmem_queued, 0);
}

TEST_F(TcpConnTest, LossProbeAndRtoCutTheTsoSkbAndSendOneSegmentEach) {
  ASSERT_EQ(write(large_data()), 4000);
  ASSERT_EQ(wire().size(), 3u);
  const uint64_t retrans = d.counter("Tcp.RetransSegs");
  // The tail loss probe: the last segment alone (tcp_fragment at 2 MSS).
  std::vector<Bytes> probe;
  for (int i = 0; i < 400 && probe.empty(); ++i) {
    d.stack.advance(1'000'000);
    probe = wire();
  }
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(SentTcp(probe[0]).seq(), isn + 1 + 2896);
  EXPECT_EQ(payload(probe[0]).size(), 1104u);
  EXPECT_EQ(SentTcp(probe[0]).flags(), kAck | kPsh);
  EXPECT_EQ(tp()->tcp_rtx_queue.qlen, 2u);
  EXPECT_EQ(tp()->packets_out, 3u);
  // The RTO: the head again, one MSS of it (tcp_retransmit_skb cuts it).
  std::vector<Bytes> rto;
  for (int i = 0; i < 3000 && rto.empty(); ++i) {
    d.stack.advance(1'000'000);
    rto = wire();
  }
  ASSERT_EQ(rto.size(), 1u);
  EXPECT_EQ(SentTcp(rto[0]).seq(), isn + 1);
  EXPECT_EQ(payload(rto[0]).size(), 1448u);
  EXPECT_EQ(SentTcp(rto[0]).flags(), kAck);
  EXPECT_TRUE(SentTcp(rto[0]).csum_ok());
  EXPECT_EQ(tp()->tcp_rtx_queue.qlen, 3u);
  EXPECT_EQ(tcp_skb_pcount(tp()->tcp_rtx_queue.front()), 1u);
  EXPECT_EQ(tp()->packets_out, 3u);  // the cuts change no count of segments out
  EXPECT_EQ(d.counter("Tcp.RetransSegs") - retrans, 2u);
  // All acked: nothing is left.
  tsval += 2;
  EXPECT_TRUE(send(seg(kAck, {}, 4000)).empty());
  EXPECT_EQ(tp()->packets_out, 0u);
  EXPECT_EQ(tp()->retrans_out, 0u);
  EXPECT_EQ(tp()->tcp_rtx_queue.qlen, 0u);
}

// A passive connection on d's device: a listener on port 80 (mss: TCP_MAXSEG
// on it, 0 for none), the tester's handshake with Linux's SYN options; the
// accepted fd, the SYN-ACK in *synack, the DUT's ISN in *isn; the ACK comes
// rtt_ns after the SYN-ACK.
int accept_one(Dut& d, int mss, Bytes* synack, uint32_t* isn, uint64_t rtt_ns = 1'000'000) {
  Net& net = d.stack.net();
  d.inject(arp_request(kTesterIp, kDutIp));
  d.stack.advance(1'000'000);
  d.stack.take_wire();
  const int lfd = sys_socket(net, AF_INET_, SOCK_STREAM_, 0);
  if (mss) EXPECT_EQ(sys_setsockopt(net, lfd, SOL_TCP_, TCP_MAXSEG_, mss, 4), 0);
  SockaddrIn a;
  a.port = 80;
  EXPECT_EQ(sys_bind(net, lfd, a, SOCKADDR_IN_LEN), 0);
  EXPECT_EQ(sys_listen(net, lfd, 5), 0);
  TcpSeg syn;
  syn.seq = 5000;
  syn.options = linux_syn_options(1000);
  d.inject(tcp_frame(syn));
  d.stack.advance(rtt_ns);
  auto sa = d.stack.take_wire();
  EXPECT_EQ(sa.size(), 1u);
  if (sa.empty()) return -1;
  *synack = sa[0].data;
  *isn = SentTcp(*synack).seq();
  TcpSeg ack;
  ack.flags = kAck;
  ack.seq = 5001;
  ack.ack = *isn + 1;
  ack.window = 502;
  ack.options = ts_option(1001, dut_tsval(SentTcp(*synack)));
  d.inject(tcp_frame(ack));
  d.stack.advance(1'000'000);
  EXPECT_TRUE(d.stack.take_wire().empty());
  return sys_accept4(net, lfd, nullptr, 0, 0);
}

int send_bytes(Net& net, int fd, const std::string& data) {
  SendMsg m;
  m.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return sys_sendmsg(net, fd, m);
}

// TCP_MAXSEG 500 on the listener: the SYN-ACK says 500 and the segments carry
// 488 bytes (500 less the timestamps), the write still one GSO skb.
TEST(TcpGso, ClampedMssCutsAWriteIntoSmallerSegments) {
  Dut d{DeviceKind::Veth};
  Bytes synack;
  uint32_t isn = 0;
  const int cfd = accept_one(d, 500, &synack, &isn);
  ASSERT_GE(cfd, 3);
  const Bytes opts = SentTcp(synack).options();
  ASSERT_GE(opts.size(), 4u);
  EXPECT_EQ(be16(opts, 2), 500);  // the SYN-ACK's MSS option
  d.trace();
  ASSERT_EQ(send_bytes(d.stack.net(), cfd, std::string(1200, 'x')), 1200);
  d.stack.advance(100'000);
  auto out = d.stack.take_wire();
  ASSERT_EQ(out.size(), 3u);
  const size_t sizes[] = {488, 488, 224};
  for (size_t i = 0; i < 3; ++i) {
    SentTcp t(out[i].data);
    EXPECT_EQ(out[i].data.size() - SentTcp::T - t.doff() * 4, sizes[i]);
    EXPECT_EQ(t.seq(), isn + 1 + 488 * i);
    EXPECT_TRUE(t.csum_ok());
  }
  auto queued = d.named("net:net_dev_queue");
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(d.field(*queued[0], "len"), "1266");
  EXPECT_EQ(d.named("net:net_dev_start_xmit").size(), 3u);
}

// A NIC with a qdisc (pfifo_fast): the GSO skb is enqueued whole and
// sch_direct_xmit cuts it (validate_xmit_skb_list) before the driver.
TEST(TcpGso, ThroughAQdiscTheGsoSkbIsCutAtSchDirectXmit) {
  Dut d{DeviceKind::Ring};
  Bytes synack;
  uint32_t isn = 0;
  const int cfd = accept_one(d, 0, &synack, &isn);
  ASSERT_GE(cfd, 3);
  d.trace(true);
  const uint64_t qdisc_packets = d.counter("dev.ntdut0.qdisc.packets");
  ASSERT_EQ(send_bytes(d.stack.net(), cfd, large_data()), 4000);
  d.stack.advance(1'000'000);
  auto out = d.stack.take_wire();
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(SentTcp(out[i].data).seq(), isn + 1 + 1448 * i);
    EXPECT_TRUE(SentTcp(out[i].data).csum_ok());
  }
  ASSERT_EQ(d.named("net:net_dev_queue").size(), 1u);
  EXPECT_EQ(d.named("net:net_dev_start_xmit").size(), 3u);
  // The qdisc counts the segments the GSO skb stands for (qdisc_bstats_update).
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.packets") - qdisc_packets, 3u);
  auto gso = d.named("checkpoint:skb_gso_segment");
  ASSERT_EQ(gso.size(), 1u);
  EXPECT_EQ(gso[0]->skb, d.named("net:net_dev_queue")[0]->skb);
  // The checkpoint order: the qdisc's direct transmit, then GSO, then the driver.
  std::vector<std::string> order;
  for (const auto& e : d.events)
    if (e.name == "checkpoint:sch_direct_xmit" || e.name == "checkpoint:skb_gso_segment" ||
        e.name == "checkpoint:dev_hard_start_xmit")
      order.push_back(e.name.substr(11));
  ASSERT_GE(order.size(), 5u);
  EXPECT_EQ(order[0], "sch_direct_xmit");
  EXPECT_EQ(order[1], "skb_gso_segment");
  EXPECT_EQ(order[2], "dev_hard_start_xmit");
}

TEST_F(TcpConnTest, SizeGoalIsWholeMssWithinHalfThePeersLargestWindow) {
  Sock* sk = tp();
  unsigned size_goal = 0;
  const unsigned mss = tcp_send_mss(sk, &size_goal, 0);
  EXPECT_EQ(mss, 1448u);
  // max_window 64256 (502 << 7): half is 32128, 22 whole segments.
  EXPECT_EQ(tp()->max_window, 64256u);
  EXPECT_EQ(size_goal, 22u * 1448);
  EXPECT_EQ(tcp_send_mss(sk, &size_goal, MSG_OOB_), 1448u);
  EXPECT_EQ(size_goal, 1448u);  // urgent data is never sent as TSO
}

// Linux 6.18, measured with packetdrill on this machine's kernel (cubic, MSS 1000,
// handshake RTT 100 ms): a 3000-byte write leaves as ". P. P.", 5000 bytes as
// ". P. . P. P.", 10000 bytes as five ". P." pairs; at a 5 ms RTT 7000 bytes leave
// as ". . P. . . P. P." and at 1 ms 5000 bytes as ". . . . P.". The cut is
// tcp_tso_autosize (pacing rate >> sk_pacing_shift, at least tcp_min_tso_segs 2),
// the PSH inside the write is the one __tcp_transmit_skb forces on every skb of
// more than one segment (tcp_skb_pcount > 1) so that the receiver's GRO flushes.
TEST(TcpGso, AtA100msRttAWriteLeavesInTwoSegmentSkbsEachEndingInPsh) {
  Dut d{DeviceKind::Veth};
  Bytes synack;
  uint32_t isn = 0;
  const int cfd = accept_one(d, 0, &synack, &isn, 100'000'000);
  ASSERT_GE(cfd, 3);
  Sock* sk = d.stack.net().sock.files.at(cfd)->sk;
  // The pacing rate of the handshake's sample: 200% of cwnd * mss / srtt.
  EXPECT_EQ(tcp_tso_segs(sk, 1448), 2u);
  d.trace();
  // 6000 bytes in 1448-byte segments: 1448 x 4 + 208.
  ASSERT_EQ(send_bytes(d.stack.net(), cfd, std::string(6000, 'y')), 6000);
  d.stack.advance(100'000);
  auto out = d.stack.take_wire();
  ASSERT_EQ(out.size(), 5u);
  const uint8_t flags[] = {kAck, kAck | kPsh, kAck, kAck | kPsh, kAck | kPsh};
  for (size_t i = 0; i < 5; ++i) {
    SentTcp t(out[i].data);
    EXPECT_EQ(t.seq(), isn + 1 + 1448 * i);
    EXPECT_EQ(t.flags(), flags[i]) << "segment " << i;
    EXPECT_TRUE(t.csum_ok());
  }
  // Three skbs through the device (2 + 2 + 1 segments), cut by tso_fragment.
  auto queued = d.named("net:net_dev_queue");
  ASSERT_EQ(queued.size(), 3u);
  EXPECT_EQ(d.field(*queued[0], "len"), std::to_string(66 + 2 * 1448));
  EXPECT_EQ(d.field(*queued[2], "len"), std::to_string(66 + 208));
  // Only the copy that left was marked: the first skb kept on the rtx queue
  // has no PSH (tso_fragment gave its PSH to the rest of the write).
  TcpSock* tp = tcp_sk(sk);
  ASSERT_EQ(tp->tcp_rtx_queue.qlen, 3u);
  EXPECT_EQ(TCP_SKB_CB(tp->tcp_rtx_queue.front())->tcp_flags & TCPHDR_PSH, 0);
}

// The forced PSH needs more than one segment: with MSG_MORE (no tcp_mark_push),
// one full segment leaves without PSH and two leave as ". P." (Linux 6.18 at a
// 1 ms RTT, measured with packetdrill).
TEST_F(TcpConnTest, MsgMoreLeavesOneSegmentWithoutPshButAGsoSkbWithIt) {
  ASSERT_EQ(write(std::string(1448, 'a'), MSG_MORE_), 1448);
  auto one = wire();
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(SentTcp(one[0]).flags(), kAck);
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 1448)).empty());  // acked: nothing to autocork behind
  ASSERT_EQ(write(std::string(2 * 1448, 'b'), MSG_MORE_), 2 * 1448);
  auto two = wire();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(SentTcp(two[0]).flags(), kAck);
  EXPECT_EQ(SentTcp(two[1]).flags(), kAck | kPsh);
}

}  // namespace
}  // namespace nettwin::test
