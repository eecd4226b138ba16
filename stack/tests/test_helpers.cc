#include "test_helpers.h"

#include <gtest/gtest.h>

namespace nettwin::test {

uint16_t inet_csum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += uint32_t(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

static void put_mac(Bytes& b, const std::array<uint8_t, 6>& m) { b.insert(b.end(), m.begin(), m.end()); }

Bytes arp_request(uint32_t sip, uint32_t tip, const std::array<uint8_t, 6>& sha) {
  Bytes b;
  put_mac(b, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  put_mac(b, sha);
  put16(b, 0x0806);
  put16(b, 1);
  put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  put16(b, 1);
  put_mac(b, sha);
  put32(b, sip);
  put_mac(b, {0, 0, 0, 0, 0, 0});
  put32(b, tip);
  return b;
}

Bytes udp_frame(uint16_t sport, uint16_t dport, const Bytes& payload, int check, uint32_t daddr,
                const std::array<uint8_t, 6>& dst_mac) {
  Bytes f(14 + 20 + 8 + payload.size());
  std::copy(dst_mac.begin(), dst_mac.end(), f.begin());
  std::copy(kTesterMac.begin(), kTesterMac.end(), f.begin() + 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  const unsigned tot = unsigned(20 + 8 + payload.size());
  ip[0] = 0x45;
  ip[2] = uint8_t(tot >> 8);
  ip[3] = uint8_t(tot);
  ip[8] = 64;
  ip[9] = 17;
  const uint32_t s = kTesterIp;
  for (int i = 0; i < 4; ++i) ip[12 + i] = uint8_t(s >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) ip[16 + i] = uint8_t(daddr >> (24 - 8 * i));
  const uint16_t ic = inet_csum(ip, 20);
  ip[10] = uint8_t(ic >> 8);
  ip[11] = uint8_t(ic);
  uint8_t* u = ip + 20;
  const unsigned ulen = unsigned(8 + payload.size());
  u[0] = uint8_t(sport >> 8);
  u[1] = uint8_t(sport);
  u[2] = uint8_t(dport >> 8);
  u[3] = uint8_t(dport);
  u[4] = uint8_t(ulen >> 8);
  u[5] = uint8_t(ulen);
  std::copy(payload.begin(), payload.end(), u + 8);
  if (check < 0) {
    Bytes ph(12 + ulen);
    std::copy(ip + 12, ip + 20, ph.begin());
    ph[9] = 17;
    ph[10] = uint8_t(ulen >> 8);
    ph[11] = uint8_t(ulen);
    std::copy(u, u + ulen, ph.begin() + 12);
    uint16_t c = inet_csum(ph.data(), ph.size());
    if (c == 0) c = 0xffff;
    check = c;
  }
  u[6] = uint8_t(check >> 8);
  u[7] = uint8_t(check);
  return f;
}

Bytes icmp_echo_request(uint16_t id, uint16_t seq, const Bytes& payload, uint8_t tos, uint8_t ttl,
                        const std::array<uint8_t, 6>& dst_mac, uint32_t saddr, uint32_t daddr) {
  Bytes b;
  put_mac(b, dst_mac);
  put_mac(b, kTesterMac);
  put16(b, 0x0800);
  const size_t ip = b.size();
  b.push_back(0x45);
  b.push_back(tos);
  put16(b, uint16_t(20 + 8 + payload.size()));
  put16(b, 0x1001);
  put16(b, 0);
  b.push_back(ttl);
  b.push_back(1);
  put16(b, 0);
  put32(b, saddr);
  put32(b, daddr);
  const uint16_t ipc = inet_csum(&b[ip], 20);
  b[ip + 10] = uint8_t(ipc >> 8);
  b[ip + 11] = uint8_t(ipc);
  const size_t ic = b.size();
  b.push_back(8);
  b.push_back(0);
  put16(b, 0);
  put16(b, id);
  put16(b, seq);
  b.insert(b.end(), payload.begin(), payload.end());
  const uint16_t icc = inet_csum(&b[ic], b.size() - ic);
  b[ic + 2] = uint8_t(icc >> 8);
  b[ic + 3] = uint8_t(icc);
  return b;
}

Bytes hex(const std::string& s) {
  Bytes b;
  for (size_t i = 0; i + 1 < s.size(); i += 2) b.push_back(uint8_t(std::stoi(s.substr(i, 2), nullptr, 16)));
  return b;
}

uint16_t be16(const Bytes& b, size_t off) { return uint16_t(b.at(off) << 8 | b.at(off + 1)); }
uint32_t be32(const Bytes& b, size_t off) { return uint32_t(be16(b, off)) << 16 | be16(b, off + 2); }

Dut::Dut(DeviceKind kind, uint64_t seed, unsigned rx_ring, unsigned tx_ring) : stack(seed) {
  DeviceConfig c;
  c.name = dev;
  c.kind = kind;
  c.mac = kDutMac;
  c.ifindex = 7102;
  c.rx_ring_size = rx_ring;
  c.tx_ring_size = tx_ring;
  EXPECT_FALSE(stack.create_device(c).has_value());
  EXPECT_FALSE(stack.add_address(dev, "198.51.100.2/24").has_value());
}

void Dut::trace(bool checkpoints) {
  TraceFilter f;
  f.checkpoints = checkpoints;
  sub = stack.subscribe(f, [this](const TraceEvent& ev) { events.push_back(ev); });
}

InjectResult Dut::inject(const Bytes& frame) {
  auto r = stack.inject(dev, frame);
  EXPECT_TRUE(std::holds_alternative<InjectResult>(r));
  return std::holds_alternative<InjectResult>(r) ? std::get<InjectResult>(r) : InjectResult{};
}

uint64_t Dut::counter(const std::string& name) const {
  for (const auto& [k, v] : stack.counters())
    if (k == name) return v;
  ADD_FAILURE() << "no counter " << name;
  return ~0ull;
}

std::vector<const TraceEvent*> Dut::named(const std::string& name) const {
  std::vector<const TraceEvent*> out;
  for (const auto& e : events)
    if (e.name == name) out.push_back(&e);
  return out;
}

std::string Dut::field(const TraceEvent& ev, const std::string& key) const {
  for (const auto& [k, v] : ev.fields)
    if (k == key) return v;
  return "<missing " + key + ">";
}

}  // namespace nettwin::test
