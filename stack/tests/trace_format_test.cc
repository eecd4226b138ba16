// The trace field writers (core/trace_format.h) against the printf formats
// they stand for, at their edges; and the text a typed record becomes for a
// text subscriber, whose reused event must carry exactly this emit's fields,
// whatever the last one held.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/trace.h"
#include "core/trace_format.h"

namespace nettwin {
namespace {

template <class F>
std::string written(F f) {
  char buf[64];
  char* end = f(buf);
  return std::string(buf, end);
}

std::string printed(const char* fmt, auto... args) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

TEST(TraceFormat, IntegersAsPrintfAtTheirEdges) {
  for (uint64_t v : {uint64_t(0), uint64_t(9), uint64_t(10), uint64_t(99), uint64_t(100), uint64_t(65535),
                     uint64_t(UINT32_MAX), uint64_t(UINT64_MAX)})
    EXPECT_EQ(written([&](char* p) { return trace_fmt::put_u64(p, v); }), printed("%llu", (unsigned long long)v));
  for (int64_t v : {int64_t(0), int64_t(-1), int64_t(-22), int64_t(INT32_MIN), int64_t(INT64_MIN), int64_t(INT64_MAX)})
    EXPECT_EQ(written([&](char* p) { return trace_fmt::put_i64(p, v); }), printed("%lld", (long long)v));
}

TEST(TraceFormat, DottedQuadsAsPrintf) {
  // Every octet value in every position, and the all-zero / all-ones addresses.
  for (uint32_t o = 0; o < 256; ++o) {
    for (int shift : {0, 8, 16, 24}) {
      const uint32_t a = (o << shift) | (shift ? 0x01u : 0x100u);
      EXPECT_EQ(written([&](char* p) { return trace_fmt::put_ipv4(p, a); }),
                printed("%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff));
    }
  }
  EXPECT_EQ(written([](char* p) { return trace_fmt::put_ipv4(p, 0); }), "0.0.0.0");
  EXPECT_EQ(written([](char* p) { return trace_fmt::put_ipv4(p, UINT32_MAX); }), "255.255.255.255");
  EXPECT_EQ(written([](char* p) { return trace_fmt::put_ipv4(p, 0xc6336402); }), "198.51.100.2");
}

TEST(TraceFormat, MacAndPointerAsPrintf) {
  const uint8_t mac[6] = {0x00, 0x0a, 0xf0, 0xff, 0x10, 0x01};
  EXPECT_EQ(written([&](char* p) { return trace_fmt::put_mac(p, mac); }),
            printed("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]));
  int x = 0;
  for (const void* v : {static_cast<const void*>(nullptr), static_cast<const void*>(&x),
                        reinterpret_cast<const void*>(uintptr_t(1)), reinterpret_cast<const void*>(UINTPTR_MAX)})
    EXPECT_EQ(written([&](char* p) { return trace_fmt::put_ptr(p, v); }), printed("%p", v));
}

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(TraceRecord, EachEventCarriesOnlyItsOwnFields) {
  uint64_t clock = 5;
  Tracer t(&clock);
  std::vector<TraceEvent> seen;
  t.subscribe(TraceFilter{{}, true, false}, [&](const TraceEvent& ev) { seen.push_back(ev); });
  auto emit = [&](const char* fn, bool verdict, int v) {
    TraceRecord r = t.record_checkpoint(fn, 7);
    r.add("len", v);
    r.add("dev", "ntdut0");
    if (verdict) r.add("verdict", "drop");
    t.emit(r);
  };
  emit("netif_rx", true, 1000);
  emit("eth_type_trans", false, -3);  // shorter, another name
  emit("netif_rx", true, 7);          // longer again
  {
    TraceRecord r = t.record(Tp::napi_poll, 0);
    r.add("other", uint8_t(200));  // a name the checkpoint slot never had
    r.add_ipv4_mapped("saddr_v6", 0xcb007101);
    r.add_ipv4_port("daddr", 0xc6336401, 65535);
    t.emit(r);
  }
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].name, "checkpoint:netif_rx");
  EXPECT_EQ(seen[0].fields, (Fields{{"len", "1000"}, {"dev", "ntdut0"}, {"verdict", "drop"}}));
  EXPECT_EQ(seen[1].name, "checkpoint:eth_type_trans");
  EXPECT_EQ(seen[1].fields, (Fields{{"len", "-3"}, {"dev", "ntdut0"}}));
  EXPECT_EQ(seen[2].fields, (Fields{{"len", "7"}, {"dev", "ntdut0"}, {"verdict", "drop"}}));
  EXPECT_EQ(seen[3].name, "napi:napi_poll");
  EXPECT_EQ(seen[3].fields,
            (Fields{{"other", "200"}, {"saddr_v6", "::ffff:203.0.113.1"}, {"daddr", "198.51.100.1:65535"}}));
  EXPECT_EQ(seen[3].time_ns, 5u);
  EXPECT_EQ(seen[2].skb, 7u);
}

TEST(TraceRecord, AValueRepeatedOrChangedFromTheLastEventIsWrittenRight) {
  uint64_t clock = 0;
  Tracer t(&clock);
  std::vector<Fields> seen;
  t.subscribe(TraceFilter{}, [&](const TraceEvent& ev) { seen.push_back(ev.fields); });
  auto emit = [&](auto v, uint32_t a, bool mapped) {
    TraceRecord r = t.record(Tp::netif_rx, 1);
    r.add("len", v);
    if (mapped) r.add_ipv4_mapped("name", a);
    else r.add_ipv4("name", a);
    t.emit(r);
  };
  emit(5, 0x01020304, false);
  emit(5, 0x01020304, false);          // all repeated
  emit(int64_t(-1), 0x01020304, true);  // same address, now v4-mapped
  emit(UINT64_MAX, 0x01020304, true);   // the same bits unsigned
  emit(6, 0x0a000001, false);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], (Fields{{"len", "5"}, {"name", "1.2.3.4"}}));
  EXPECT_EQ(seen[1], seen[0]);
  EXPECT_EQ(seen[2], (Fields{{"len", "-1"}, {"name", "::ffff:1.2.3.4"}}));
  EXPECT_EQ(seen[3], (Fields{{"len", "18446744073709551615"}, {"name", "::ffff:1.2.3.4"}}));
  EXPECT_EQ(seen[4], (Fields{{"len", "6"}, {"name", "10.0.0.1"}}));
}

TEST(TraceRecord, AnEventEmittedFromItsOwnCallbackLeavesTheOuterOneIntact) {
  uint64_t clock = 0;
  Tracer t(&clock);
  std::vector<Fields> outer_after;
  int depth = 0;
  auto emit = [&](int v) {
    TraceRecord r = t.record(Tp::consume_skb, 1);
    r.add("location", v);
    t.emit(r);
  };
  t.subscribe(TraceFilter{}, [&](const TraceEvent&) {
    if (depth++ == 0) emit(2);  // nested: the same point while its event is being delivered
  });
  t.subscribe(TraceFilter{}, [&](const TraceEvent& ev) { outer_after.push_back(ev.fields); });
  emit(1);
  ASSERT_EQ(outer_after.size(), 2u);
  EXPECT_EQ(outer_after[0], (Fields{{"location", "2"}}));  // the nested one reaches the second subscriber first
  EXPECT_EQ(outer_after[1], (Fields{{"location", "1"}}));  // then the outer one, unchanged
}

TEST(TraceRecord, ARecordSubscriberGetsRawValuesBesideATextSubscriber) {
  uint64_t clock = 9;
  Tracer t(&clock);
  std::vector<std::pair<TraceKind, uint64_t>> raw;
  std::string dev_seen;
  std::vector<TraceEvent> text;
  t.subscribe_records(TraceFilter{{"net:*"}, false}, [&](const TraceRecord& r) {
    EXPECT_FALSE(r.checkpoint());
    EXPECT_STREQ(r.point_name(), "net:netif_rx");
    EXPECT_EQ(r.time_ns(), 9u);
    for (const TraceField& f : r) raw.emplace_back(f.kind, f.kind == TraceKind::Str ? 0 : f.raw);
    dev_seen = std::string(r[1].bytes());
  });
  t.subscribe(TraceFilter{{"net:netif_rx"}, false}, [&](const TraceEvent& ev) { text.push_back(ev); });
  EXPECT_TRUE(t.on());
  EXPECT_TRUE(t.wants(Tp::netif_rx));
  EXPECT_FALSE(t.wants(Tp::kfree_skb));
  EXPECT_FALSE(t.wants_checkpoints());
  std::string dev = "ntdut0";
  {
    TraceRecord r = t.record(Tp::netif_rx, 3);
    r.add("len", 60u);
    r.add_str("name", dev);
    r.add_ipv4("saddr", 0xc6336401);
    t.emit(r);
  }
  EXPECT_EQ(raw, (std::vector<std::pair<TraceKind, uint64_t>>{
                     {TraceKind::U64, 60}, {TraceKind::Str, 0}, {TraceKind::Ipv4, 0xc6336401}}));
  EXPECT_EQ(dev_seen, "ntdut0");
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0].name, "net:netif_rx");
  EXPECT_EQ(text[0].skb, 3u);
  EXPECT_EQ(text[0].fields, (Fields{{"len", "60"}, {"name", "ntdut0"}, {"saddr", "198.51.100.1"}}));
}

}  // namespace
}  // namespace nettwin
