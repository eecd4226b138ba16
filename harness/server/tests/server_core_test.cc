// Unit tests of the server's stack-free pieces: text parsing, the listen
// address policy, the live trace queue's loss accounting and hand-over, and
// the reply budget.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>
#include <string>
#include <thread>
#include <variant>

#include "listen_address.h"
#include "nettwin.pb.h"
#include "live_queue.h"
#include "packed_blobs.h"
#include "record_fifo.h"
#include "core/trace_text.h"
#include "reply_budget.h"
#include "text_parse.h"

namespace nettwin::server {
namespace {

TEST(TextParse, MacAcceptsColonsAndDashesOfEitherCase) {
  const Mac expected{0x02, 0x00, 0x00, 0xab, 0x01, 0xcd};
  EXPECT_EQ(parse_mac("02:00:00:ab:01:cd"), expected);
  EXPECT_EQ(parse_mac("02-00-00-AB-01-CD"), expected);
  EXPECT_EQ(format_mac(expected), "02:00:00:ab:01:cd");
}

TEST(TextParse, MacRefusesBadText) {
  for (const char* bad : {"", "02:00:00:00:01", "02:00:00:00:01:02:03", "02:00-00:00:01:02",
                          "0g:00:00:00:01:02", "02:00:00:00:01:2 ", "020000000102"})
    EXPECT_FALSE(parse_mac(bad)) << bad;
}

TEST(TextParse, MulticastAndZeroMac) {
  EXPECT_TRUE(is_multicast_mac(*parse_mac("ff:ff:ff:ff:ff:ff")));
  EXPECT_TRUE(is_multicast_mac(*parse_mac("01:00:5e:00:00:01")));
  EXPECT_FALSE(is_multicast_mac(*parse_mac("02:00:00:00:01:02")));
  EXPECT_TRUE(is_zero_mac(Mac{}));
}

TEST(TextParse, Ipv4AndCidr) {
  EXPECT_EQ(parse_ipv4("198.51.100.2"), 0xc6336402u);
  for (const char* bad : {"", "198.51.100", "198.51.100.256", "198.51.100.2.1", "x.51.100.2"})
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  const auto cidr = parse_cidr("203.0.113.2/24");
  ASSERT_TRUE(cidr);
  EXPECT_EQ(cidr->addr, 0xcb007102u);
  EXPECT_EQ(cidr->prefix_len, 24);
  EXPECT_TRUE(parse_cidr("0.0.0.0/0"));
  for (const char* bad : {"203.0.113.2", "203.0.113.2/", "203.0.113.2/33", "203.0.113.2/-1",
                          "203.0.113.2/024", "/24", "203.0.113.2/2x"})
    EXPECT_FALSE(parse_cidr(bad)) << bad;
}

TEST(TextParse, DeviceNamesFollowDevValidName) {
  EXPECT_FALSE(device_name_problem("ntdut0"));
  EXPECT_FALSE(device_name_problem(std::string(15, 'n')));
  for (const char* bad : {"", ".", "..", "a/b", "a:b", "a b", "a\tb"})
    EXPECT_TRUE(device_name_problem(bad)) << bad;
  EXPECT_TRUE(device_name_problem(std::string(16, 'n')));
}

TEST(TextParse, KindsStatesNumbers) {
  EXPECT_EQ(parse_device_kind("ring"), DeviceKind::Ring);
  EXPECT_EQ(parse_device_kind("veth"), DeviceKind::Veth);
  EXPECT_EQ(parse_device_kind("loopback"), DeviceKind::Loopback);
  EXPECT_FALSE(parse_device_kind("Veth"));
  EXPECT_STREQ(device_kind_name(DeviceKind::Veth), "veth");
  EXPECT_EQ(parse_neigh_state(""), "permanent");
  EXPECT_EQ(parse_neigh_state("stale"), "stale");
  EXPECT_FALSE(parse_neigh_state("incomplete"));
  EXPECT_EQ(parse_u64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_u64("18446744073709551616"));
  EXPECT_FALSE(parse_u64("-1"));
  EXPECT_FALSE(parse_u64("1 "));
  EXPECT_EQ(quoted("e\"th\n9"), "\"e\\\"th\\x0a9\"");
}

ListenAddress listen_ok(const char* text, bool allow_remote = false) {
  auto parsed = parse_listen_address(text, allow_remote);
  EXPECT_TRUE(std::holds_alternative<ListenAddress>(parsed)) << text;
  return std::holds_alternative<ListenAddress>(parsed) ? std::get<ListenAddress>(parsed)
                                                       : ListenAddress{};
}

std::string listen_error(const char* text, bool allow_remote = false) {
  auto parsed = parse_listen_address(text, allow_remote);
  EXPECT_TRUE(std::holds_alternative<std::string>(parsed)) << text;
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

TEST(ListenAddressPolicy, UnixAndLoopbackAreAccepted) {
  const auto unix_address = listen_ok("unix:/tmp/x.sock");
  EXPECT_EQ(unix_address.unix_path, "/tmp/x.sock");
  EXPECT_EQ(unix_address.uri, "unix:/tmp/x.sock");
  EXPECT_FALSE(unix_address.tcp);
  EXPECT_EQ(listen_ok("unix:///tmp/x.sock").unix_path, "/tmp/x.sock");
  for (const char* loopback : {"127.0.0.1:0", "127.1.2.3:50051", "[::1]:9", "localhost:1"}) {
    const auto address = listen_ok(loopback);
    EXPECT_TRUE(address.tcp) << loopback;
    EXPECT_TRUE(address.unix_path.empty()) << loopback;
  }
}

TEST(ListenAddressPolicy, RemoteNeedsAllowRemote) {
  for (const char* remote : {"0.0.0.0:1", "[::]:1", "198.51.100.2:1", "example.org:1"}) {
    EXPECT_NE(listen_error(remote).find("--allow-remote"), std::string::npos) << remote;
    EXPECT_TRUE(listen_ok(remote, true).tcp) << remote;
  }
}

TEST(ListenAddressPolicy, MalformedAddresses) {
  EXPECT_NE(listen_error("unix:").find("no socket path"), std::string::npos);
  EXPECT_NE(listen_error(("unix:/" + std::string(120, 'x')).c_str()).find("longer than"),
            std::string::npos);
  EXPECT_NE(listen_error("127.0.0.1").find("neither"), std::string::npos);
  EXPECT_NE(listen_error("127.0.0.1:65536").find("no valid port"), std::string::npos);
  EXPECT_NE(listen_error("127.0.0.1:").find("no valid port"), std::string::npos);
  EXPECT_NE(listen_error("[::1:5", true).find("bracket"), std::string::npos);
}

// A netif_receive_skb record at time t (skb t), with a device name the queue must copy.
struct EventAt {
  TraceRecord r;
  explicit EventAt(uint64_t t) : r(1, "net:netif_receive_skb", t) {
    r.set_time(t);
    r.add("len", 60u);
    r.add_str("name", std::string_view(name, 6));
  }
  char name[7] = "ntdut0";
  operator const TraceRecord&() const { return r; }
};
EventAt event_at(uint64_t t) { return EventAt(t); }
uint64_t time_of(const RecordFifo& f) { return f.with_front([](const TraceRecord& r) { return r.time_ns(); }); }

// The reader of a LiveQueue as a stream uses it: take items while it has the
// turn; ready() gives the turn back.
struct Reader {
  int wakes = 0;
  LiveQueue queue;
  explicit Reader(size_t capacity) : queue(capacity, [this] { ++wakes; }) {}
  std::vector<LiveQueue::Item> drain() {
    std::vector<LiveQueue::Item> items;
    for (;;) {
      items.push_back(queue.next());
      const auto kind = items.back().kind;
      if (kind == LiveQueue::Item::kIdle || kind == LiveQueue::Item::kEnd) return items;
    }
  }
};

TEST(LiveQueue, LossIsReportedAfterTheEventsBeforeIt) {
  Reader reader(2);
  EXPECT_TRUE(reader.queue.push(event_at(1)));
  EXPECT_TRUE(reader.queue.push(event_at(2)));
  EXPECT_FALSE(reader.queue.push(event_at(3)));
  EXPECT_FALSE(reader.queue.push(event_at(4)));
  EXPECT_EQ(reader.wakes, 1) << "the reader was woken once, when it became due";

  auto items = reader.drain();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].kind, LiveQueue::Item::kEvent);
  EXPECT_EQ(time_of(items[0].event), 1u);
  EXPECT_EQ(time_of(items[1].event), 2u);
  EXPECT_EQ(items[2].kind, LiveQueue::Item::kLost);
  EXPECT_EQ(items[2].lost, 2u);
  EXPECT_EQ(items[2].lost_time_ns, 3u);
  EXPECT_EQ(items[3].kind, LiveQueue::Item::kIdle);

  // Reported once; the idle reader is woken again by the next event.
  EXPECT_TRUE(reader.queue.push(event_at(5)));
  EXPECT_EQ(reader.wakes, 2);
  items = reader.drain();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(time_of(items[0].event), 5u);
  EXPECT_EQ(items[1].kind, LiveQueue::Item::kIdle);
}

TEST(LiveQueue, ReaderWithTheTurnIsNotWokenAgain) {
  Reader reader(4);
  reader.queue.push(event_at(1));
  reader.queue.push(event_at(2));
  EXPECT_EQ(reader.wakes, 1);
  EXPECT_EQ(time_of(reader.queue.next().event), 1u);  // still its turn: a write is in flight
  reader.queue.push(event_at(3));
  reader.queue.close();
  EXPECT_EQ(reader.wakes, 1);
}

TEST(LiveQueue, CloseEndsAfterTheRestIsDrained) {
  Reader reader(4);
  reader.queue.push(event_at(1));
  reader.queue.close();
  auto items = reader.drain();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(time_of(items[0].event), 1u);
  EXPECT_EQ(items[1].kind, LiveQueue::Item::kEnd);
  EXPECT_TRUE(reader.queue.push(event_at(2)));  // after close: dropped quietly, nobody reads
  EXPECT_EQ(reader.wakes, 1) << "after End the reader keeps the turn: no wake-up follows";
  EXPECT_EQ(reader.queue.next().kind, LiveQueue::Item::kEnd);
}

TEST(LiveQueue, AnnounceComesBeforeAnyEventAndWakesTheReader) {
  Reader reader(4);
  reader.queue.announce();
  EXPECT_EQ(reader.wakes, 1);
  reader.queue.push(event_at(1));
  auto items = reader.drain();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].kind, LiveQueue::Item::kLive);
  EXPECT_EQ(items[1].kind, LiveQueue::Item::kEvent);
  EXPECT_EQ(items[2].kind, LiveQueue::Item::kIdle);
}

TEST(LiveQueue, CloseWakesAnIdleReader) {
  Reader reader(4);
  reader.queue.close();
  EXPECT_EQ(reader.wakes, 1);
  EXPECT_EQ(reader.queue.next().kind, LiveQueue::Item::kEnd);
}

TEST(LiveQueue, PushFromAnotherThreadWakesTheReader) {
  std::atomic<int> wakes{0};
  LiveQueue queue(4, [&] { ++wakes; });
  std::thread producer([&] { queue.push(event_at(7)); });
  producer.join();
  EXPECT_EQ(wakes.load(), 1);
  auto item = queue.next();
  EXPECT_EQ(item.kind, LiveQueue::Item::kEvent);
  EXPECT_EQ(time_of(item.event), 7u);
}

TEST(ReplyBudget, StopsAtTheFirstItemThatDoesNotFit) {
  ReplyBudget budget(kReplyFieldsBytes + 100);
  EXPECT_EQ(budget.limit(), 100u);
  EXPECT_TRUE(budget.fits(60));
  EXPECT_FALSE(budget.fits(41));
  EXPECT_EQ(budget.refused_bytes(), 41u);
  EXPECT_TRUE(budget.fits(40));
  EXPECT_EQ(budget.refused_bytes(), 41u) << "the first refusal is kept";
}

TEST(ReplyBudget, ZeroMeansGrpcsDefaultAndTooMuchTheServersBound) {
  EXPECT_EQ(ReplyBudget(0).limit(), kDefaultReplyBytes - kReplyFieldsBytes);
  EXPECT_EQ(ReplyBudget(uint64_t(1) << 40).limit(), kMaxMessageBytes - kReplyFieldsBytes);
  EXPECT_EQ(ReplyBudget(10).limit(), 0u);
}

TEST(ReplyBudget, ItemBoundsHoldTheEncodedReply) {
  // Every field set, the varints at their widest.
  TraceEvent event{~uint64_t(0), "skb:kfree_skb", ~uint64_t(0),
                   {{"reason", "NO_SOCKET"}, {"location", "udp_rcv"}, {std::string(300, 'k'), ""}}};
  v1::TraceEvents events;
  auto* pe = events.add_events();
  pe->set_time_ns(event.time_ns);
  pe->set_name(event.name);
  pe->set_skb(event.skb);
  for (const auto& [key, value] : event.fields) {
    auto* field = pe->add_fields();
    field->set_key(key);
    field->set_value(value);
  }
  events.set_lost(~uint64_t(0));
  events.set_remaining(~uint64_t(0));
  EXPECT_LE(events.ByteSizeLong(), trace_event_bytes(event) + kReplyFieldsBytes);

  v1::ReadWireReply wire;
  auto* frame = wire.add_frames();
  frame->set_dev("ntdut0");
  frame->set_ifindex(-1);
  frame->set_time_ns(~uint64_t(0));
  frame->set_data(std::string(65535 + 18, 'x'));
  wire.set_remaining(~uint64_t(0));
  EXPECT_LE(wire.ByteSizeLong(), wire_frame_bytes("ntdut0", 65535 + 18) + kReplyFieldsBytes);
}

// A record with every kind of field, its transient string and bytes in
// buffers the caller then overwrites.
struct EveryKind {
  std::string dev = "ntdut0";
  std::vector<uint8_t> frame = {0x45, 0x00, 0xab};
  TraceRecord r{TraceRecord::kCheckpoint, "ip_rcv", 42};
  EveryKind() {
    const uint8_t mac[6] = {2, 0, 0, 0, 1, 0xfe};
    r.set_time(~uint64_t(0));
    r.add("len", ~uint64_t(0));
    r.add("err", int64_t(-22));
    r.add("verdict", "drop");
    r.add_str("dev", dev);
    r.add_ipv4("saddr", 0xc6336401);
    r.add_ipv4_mapped("saddr_v6", 0xcb007101);
    r.add_ipv4_port("daddr", 0xc6336402, 8080);
    r.add_mac("lladdr", mac);
    r.add_ptr("skaddr", nullptr);
    r.add_ptr("req", reinterpret_cast<const void*>(uintptr_t(0xdeadbeef0)));
    r.add_hex("frame", frame.data(), frame.size());
  }
};

const std::vector<std::pair<std::string, std::string>> kEveryKindText = {
    {"len", "18446744073709551615"}, {"err", "-22"}, {"verdict", "drop"}, {"dev", "ntdut0"},
    {"saddr", "198.51.100.1"}, {"saddr_v6", "::ffff:203.0.113.1"}, {"daddr", "198.51.100.2:8080"},
    {"lladdr", "02:00:00:00:01:fe"}, {"skaddr", "(nil)"}, {"req", "0xdeadbeef0"}, {"frame", "4500ab"}};

TEST(RecordFifo, KeepsItsOwnCopyOfTransientStringsAndBytes) {
  RecordFifo fifo;
  {
    EveryKind k;
    fifo.push(k.r);
    k.dev.assign("xxxxxx");
    k.frame.assign(3, 0);
  }
  EveryKind filler;  // another record after it, then the first one moved out
  fifo.push(filler.r);
  RecordFifo out;
  fifo.move_front_to(out);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(fifo.size(), 1u);
  const TraceEvent ev = out.with_front([](const TraceRecord& r) { return to_trace_event(r); });
  EXPECT_EQ(ev.name, "checkpoint:ip_rcv");
  EXPECT_EQ(ev.skb, 42u);
  EXPECT_EQ(ev.time_ns, ~uint64_t(0));
  EXPECT_EQ(ev.fields, kEveryKindText);
}

TEST(ReplyBudget, RecordBoundMatchesItsTextAndHoldsTheEncodedReply) {
  EveryKind k;
  const TraceEvent ev = to_trace_event(k.r);
  EXPECT_EQ(ev.fields, kEveryKindText);
  for (const TraceField& f : k.r) {
    std::string text;
    trace_field_text(f, text);
    EXPECT_EQ(trace_field_text_size(f), text.size()) << f.name;
  }
  EXPECT_EQ(trace_record_bytes(k.r), trace_event_bytes(ev));
  v1::TraceEvents events;
  auto* pe = events.add_events();  // as to_proto writes it
  pe->set_time_ns(k.r.time_ns());
  pe->set_name(ev.name);
  pe->set_skb(k.r.skb());
  for (const auto& [key, value] : ev.fields) {
    auto* field = pe->add_fields();
    field->set_key(key);
    field->set_value(value);
  }
  events.set_lost(~uint64_t(0));
  events.set_remaining(~uint64_t(0));
  EXPECT_LE(events.ByteSizeLong(), trace_record_bytes(k.r) + kReplyFieldsBytes);
  std::string from_record, from_event;
  PackedRecordWriter writer(from_record);
  EXPECT_EQ(writer.append(k.r), trace_record_bytes(k.r)) << "the packed writer charges what the event would cost";
  append_packed_event(from_event, ev);
  EXPECT_EQ(from_record, from_event);
  // A record larger than the writer's buffer on the stack is written in place;
  // drop_last takes it back (it did not fit in the reply).
  const std::vector<uint8_t> frame(1000, 0xab);
  TraceRecord large(TraceRecord::kCheckpoint, "ip_rcv", 7);
  large.add_hex("frame", frame.data(), frame.size());
  std::string large_event;
  append_packed_event(large_event, to_trace_event(large));
  EXPECT_EQ(writer.append(large), trace_record_bytes(large));
  EXPECT_EQ(from_record, from_event + large_event);
  writer.drop_last();
  EXPECT_EQ(from_record, from_event);
  // Keys of every length the writer copies its own way (0-3, 4-7, 8-16, longer).
  TraceRecord keys(1, "net:netif_receive_skb", 9);
  for (const char* key : {"", "a", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghijklmnop", "abcdefghijklmnopq"})
    keys.add(key, 1u);
  std::string keys_event;
  append_packed_event(keys_event, to_trace_event(keys));
  writer.append(keys);
  EXPECT_EQ(from_record, from_event + keys_event);
}

TEST(EventBudget, LiveQueuesShareItAndGiveItBack) {
  auto budget = std::make_shared<EventBudget>(3);
  Reader a(8), b(8);
  a.queue.set_budget(budget);
  b.queue.set_budget(budget);
  EXPECT_TRUE(a.queue.push(event_at(1)));
  EXPECT_TRUE(a.queue.push(event_at(2)));
  EXPECT_TRUE(b.queue.push(event_at(3)));
  EXPECT_FALSE(b.queue.push(event_at(4))) << "each queue has room, the server's total has none";
  EXPECT_EQ(budget->held(), 3u);

  auto items = a.drain();  // two events delivered: their share comes back
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(budget->held(), 1u);
  EXPECT_TRUE(b.queue.push(event_at(5)));
  EXPECT_EQ(budget->held(), 2u);
}

TEST(EventBudget, AQueueDestroyedUndeliveredGivesItBack) {
  auto budget = std::make_shared<EventBudget>(4);
  {
    LiveQueue queue(8, [] {});
    queue.set_budget(budget);
    queue.push(event_at(1));
    queue.push(event_at(2));
    EXPECT_EQ(budget->held(), 2u);
  }
  EXPECT_EQ(budget->held(), 0u);
}

}  // namespace
}  // namespace nettwin::server
