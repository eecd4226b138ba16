#include "replay_tcp_shift.h"

#include "replay_tcp_frame.h"

namespace nettwin::server {

namespace {

constexpr uint8_t kOptEnd = 0, kOptNop = 1, kOptSack = 5, kOptTimestamp = 8;

void put32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}

// Each option's (kind, offset of its data, length of its data), until the header ends.
template <typename Visit>
void each_option(std::span<const uint8_t> f, const TcpAt& t, Visit visit) {
  for (size_t at = t.tcp + 20; at < t.end;) {
    const uint8_t kind = f[at];
    if (kind == kOptEnd) return;
    if (kind == kOptNop) { ++at; continue; }
    if (at + 1 >= t.end || f[at + 1] < 2 || at + f[at + 1] > t.end) return;
    visit(kind, at + 2, size_t(f[at + 1] - 2));
    at += f[at + 1];
  }
}

uint64_t flow_key(uint32_t peer, uint16_t peer_port, uint16_t dut_port) {
  return uint64_t(peer) << 32 | uint64_t(peer_port) << 16 | dut_port;
}

// RFC 1624: HC' = ~(~HC + ~m + m'), a 32-bit word at a time.
void adjust_checksum(uint8_t* checksum, uint32_t before, uint32_t after) {
  uint32_t sum = uint16_t(~get16(checksum));
  sum += uint16_t(~(before >> 16)) + uint16_t(~before) + (after >> 16) + (after & 0xffff);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  checksum[0] = uint8_t(~sum >> 8);
  checksum[1] = uint8_t(~sum);
}

}  // namespace

void TcpShift::see_dut_frame(std::span<const uint8_t> f, bool from_stack) {
  const TcpAt t = find_tcp(f);
  if (!t.tcp || !(f[t.tcp + 13] & kTcpSyn)) return;
  Numbers& n = flows_[flow_key(get32(&f[t.ip + 16]), get16(&f[t.tcp + 2]), get16(&f[t.tcp]))];
  (from_stack ? n.have_stack : n.have_capture) = true;
  (from_stack ? n.stack_isn : n.capture_isn) = get32(&f[t.tcp + 4]);
  each_option(f, t, [&](uint8_t kind, size_t at, size_t len) {
    if (kind != kOptTimestamp || len != 8) return;
    (from_stack ? n.stack_ts : n.capture_ts) = true;
    (from_stack ? n.stack_tsval : n.capture_tsval) = get32(&f[at]);
  });
}

bool TcpShift::fit_peer_frame(std::span<const uint8_t>& frame, std::vector<uint8_t>& buffer) const {
  const TcpAt t = find_tcp(frame);
  if (!t.tcp || !(frame[t.tcp + 13] & kTcpAck)) return false;
  const auto it = flows_.find(flow_key(get32(&frame[t.ip + 12]), get16(&frame[t.tcp]), get16(&frame[t.tcp + 2])));
  if (it == flows_.end() || !it->second.have_capture || !it->second.have_stack) return false;
  const Numbers& n = it->second;
  const uint32_t seq_shift = n.stack_isn - n.capture_isn;
  const uint32_t ts_shift = n.stack_ts && n.capture_ts ? n.stack_tsval - n.capture_tsval : 0;
  if (seq_shift == 0 && ts_shift == 0) return false;
  buffer.assign(frame.begin(), frame.end());
  uint8_t* f = buffer.data();
  uint8_t* checksum = f + t.tcp + 16;
  auto move = [&](size_t at, uint32_t by) {
    const uint32_t before = get32(f + at);
    put32(f + at, before + by);
    adjust_checksum(checksum, before, before + by);
  };
  move(t.tcp + 8, seq_shift);
  each_option(buffer, t, [&](uint8_t kind, size_t at, size_t len) {
    if (kind == kOptSack)
      for (size_t edge = 0; edge + 4 <= len; edge += 4) move(at + edge, seq_shift);
    if (kind == kOptTimestamp && len == 8 && get32(f + at + 4) != 0) move(at + 4, ts_shift);
  });
  frame = buffer;
  return true;
}

}  // namespace nettwin::server
