// RecordRing (a buffered subscription's records, engine thread to Trace.Read)
// and TraceHub's loss accounting around it: every record is read once, in
// order, or counted as lost.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/trace.h"
#include "core/trace_text.h"
#include "packed_blobs.h"
#include "record_ring.h"
#include "reply_budget.h"
#include "test_helpers.h"
#include "trace_hub.h"

namespace nettwin::server {
namespace {

// A record at time t with transient bytes the ring must copy: `frame` bytes of hex.
struct Frame {
  std::vector<uint8_t> bytes;
  TraceRecord r;
  Frame(uint64_t t, size_t frame) : bytes(frame, uint8_t(t)), r(TraceRecord::kCheckpoint, "ip_rcv", t) {
    r.set_time(t);
    r.add("len", t);
    r.add_hex("frame", bytes.data(), bytes.size());
  }
};

// Reads up to max records (0: all), as Trace.Read does; their times.
std::vector<uint64_t> take(RecordRing& ring, size_t max = 0) {
  std::vector<uint64_t> times;
  ring.consume(max, [&](const StoredRecordView& r) {
    times.push_back(r.time_ns());
    return true;
  });
  return times;
}

TEST(RecordRing, TakesRecordsInOrderUntilTheReaderRefusesAndKeepsTheRest) {
  RecordRing ring(16, nullptr);
  for (uint64_t t = 1; t <= 5; ++t) ASSERT_TRUE(ring.push(Frame(t, 3).r));
  // The reader refuses record 3 (its reply is full): 1 and 2 are taken, 3 stays.
  const size_t taken = ring.consume(0, [](const StoredRecordView& r) { return r.time_ns() != 3; });
  EXPECT_EQ(taken, 2u);
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(take(ring, 1), (std::vector<uint64_t>{3})) << "max bounds it";
  std::string frame;
  ring.consume(1, [&](const StoredRecordView& r) {
    frame = r.rebuilt([](const TraceRecord& rebuilt) { return to_trace_event(rebuilt); }).fields.at(1).second;
    return true;
  });
  EXPECT_EQ(frame, "040404") << "the ring holds its own copy of the record's bytes";
  EXPECT_EQ(take(ring), (std::vector<uint64_t>{5}));
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_TRUE(take(ring).empty());
}

TEST(RecordRing, AReadTakesOnlyWhatWasHeldWhenItBegan) {
  RecordRing ring(16, nullptr);
  ASSERT_TRUE(ring.push(Frame(1, 1).r));
  ASSERT_TRUE(ring.push(Frame(2, 1).r));
  // Records pushed while a read runs (the engine does not wait) are left for
  // the next read: a reader slower than the engine still returns.
  std::vector<uint64_t> got;
  ring.consume(0, [&](const StoredRecordView& r) {
    got.push_back(r.time_ns());
    EXPECT_TRUE(ring.push(Frame(10 + r.time_ns(), 1).r));
    return true;
  });
  EXPECT_EQ(got, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(take(ring), (std::vector<uint64_t>{11, 12}));
}

TEST(RecordRing, ARecordReadInPlaceIsPackedAsTheStackWroteIt) {
  RecordRing ring(4, nullptr);
  std::string dev = "ntdut0";
  const std::vector<uint8_t> frame = {0x45, 0x00, 0xab};
  TraceRecord r(TraceRecord::kCheckpoint, "ip_rcv", 42);
  r.set_time(7);
  r.add("reason", "SKB_DROP_REASON_SOCKET_RCVBUFF_AND_MORE_THAN_32_CHARACTERS");
  r.add_str("dev", dev);
  r.add("len", 60u);
  r.add_hex("frame", frame.data(), frame.size());
  std::string want;
  append_packed_event(want, to_trace_event(r));
  ASSERT_TRUE(ring.push(r));
  dev.assign("xxxxxx");  // the ring keeps its own copy
  std::string got;
  PackedRecordWriter writer(got);
  size_t cost = 0;
  ring.consume(0, [&](const StoredRecordView& stored) {
    cost = writer.append(stored);
    return true;
  });
  EXPECT_EQ(got, want);
  EXPECT_EQ(cost, trace_record_bytes(r));
}

TEST(RecordRing, RefusesPastItsCapacityOrTheBudgetAndGivesTheBudgetBack) {
  auto budget = std::make_shared<EventBudget>(5);
  {
    RecordRing a(3, budget), b(8, budget);
    for (uint64_t t = 1; t <= 3; ++t) EXPECT_TRUE(a.push(Frame(t, 1).r));
    EXPECT_FALSE(a.push(Frame(4, 1).r)) << "full: 3 events held";
    EXPECT_TRUE(b.push(Frame(5, 1).r));
    EXPECT_TRUE(b.push(Frame(6, 1).r));
    EXPECT_FALSE(b.push(Frame(7, 1).r)) << "room in b, none left in the server's budget";
    EXPECT_EQ(budget->held(), 5u);
    EXPECT_EQ(take(a, 2), (std::vector<uint64_t>{1, 2}));
    EXPECT_EQ(budget->held(), 3u) << "records read give their share back";
    EXPECT_TRUE(a.push(Frame(8, 1).r));
    EXPECT_EQ(take(a), (std::vector<uint64_t>{3, 8}));
  }
  EXPECT_EQ(budget->held(), 0u) << "a ring destroyed unread gives its records' share back";
}

TEST(RecordRing, CrossesBlocksAndHoldsARecordLargerThanABlock) {
  RecordRing ring(100000, nullptr);
  std::vector<uint64_t> want;
  for (uint64_t t = 1; t <= 20000; ++t) {  // ~3 MiB of records: many blocks
    ASSERT_TRUE(ring.push(Frame(t, 64).r));
    want.push_back(t);
    if (t == 10000) {
      ASSERT_TRUE(ring.push(Frame(0, 300 << 10).r));  // 600 KiB of hex: a block of its own
      want.push_back(0);
    }
  }
  std::vector<uint64_t> got;
  size_t big = 0;
  while (ring.size()) {
    ring.consume(777, [&](const StoredRecordView& r) {
      got.push_back(r.time_ns());
      if (r.time_ns() == 0) r.for_each_field([&](size_t i, const TraceField& f) { big = i == 1 ? f.len : big; });
      return true;
    });
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(big, size_t(300) << 10);
}

TEST(RecordRing, AReaderOnAnotherThreadTakesEveryRecordOnceInOrder) {
  RecordRing ring(1000, nullptr);
  constexpr uint64_t kRecords = 200000;
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (uint64_t t = 1; t <= kRecords;) {
      if (ring.push(Frame(t, t % 97).r)) ++t;  // full: the test waits where the engine would count a loss
      else std::this_thread::yield();
    }
    done = true;
  });
  uint64_t next = 1;
  bool in_order = true;
  while (!done.load() || ring.size()) {
    ring.consume(0, [&](const StoredRecordView& r) {
      uint32_t len = ~0u;
      r.for_each_field([&](size_t i, const TraceField& f) { len = i == 1 ? f.len : len; });
      in_order = in_order && r.time_ns() == next && len == next % 97;
      ++next;
      return true;
    });
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(next, kRecords + 1);
}

// The hub's buffered subscription on a real stack: a reader that stops
// reading loses what its buffer cannot hold, and every loss is counted.
TEST(TraceHub, ASubscriptionNobodyReadsCountsEachEventItCannotHold) {
  test::Dut dut(DeviceKind::Ring);
  TraceHub hub(4, 8, 1000);
  TraceFilter filter;
  filter.events = {"net:netif_receive_skb"};
  const uint64_t id = *hub.open(dut.stack, filter);
  const auto reader = *hub.reader(id);
  const auto arp = test::arp_request(test::kTesterIp, test::kDutIp);
  auto receive = [&](int frames) {
    for (int i = 0; i < frames; ++i) dut.inject(arp);
    dut.stack.run_until_idle();
  };
  receive(10);
  EXPECT_EQ(reader.records->size(), 4u);
  EXPECT_EQ(reader.lost->load(), 6u);
  EXPECT_EQ(hub.lost_total(), 6u);
  EXPECT_EQ(hub.budget().held(), 4u);

  EXPECT_EQ(take(*reader.records, 3).size(), 3u);  // the reader reads a little, then stops again
  receive(10);
  EXPECT_EQ(reader.records->size(), 4u);
  EXPECT_EQ(reader.lost->load(), 6u + 7u);
  EXPECT_EQ(hub.lost_total(), 13u);
  EXPECT_EQ(take(*reader.records).size(), 4u);

  EXPECT_TRUE(hub.close(dut.stack, id));
  receive(1);
  EXPECT_EQ(hub.lost_total(), 13u) << "a closed subscription neither holds nor loses";
  EXPECT_EQ(hub.budget().held(), 0u);
  EXPECT_FALSE(hub.reader(id));
}

}  // namespace
}  // namespace nettwin::server
