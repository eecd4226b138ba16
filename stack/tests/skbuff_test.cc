// sk_buff operations and the clone-versus-copy claims.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/net.h"
#include "core/skbuff.h"

namespace nettwin {
namespace {

struct SkbTest : ::testing::Test {
  Net net{1};
  std::vector<TraceEvent> events;
  void SetUp() override {
    net.tracer.subscribe({{"skb:*"}, false}, [this](const TraceEvent& e) { events.push_back(e); });
  }
};

TEST_F(SkbTest, AllocGivesAnEmptySkbWithRoom) {
  SkBuff* skb = net.pool.alloc_skb(200);
  EXPECT_EQ(skb->len, 0u);
  EXPECT_EQ(skb->data, skb->head);
  EXPECT_EQ(skb->tail, 0u);
  EXPECT_GE(skb->end, 200u);
  EXPECT_EQ(skb->users, 1);
  EXPECT_EQ(skb_shinfo(skb)->dataref, 1);
  EXPECT_FALSE(skb->cloned);
  EXPECT_EQ(skb->truesize, skb->end + SKB_HEAD_OVERHEAD + SKB_SHINFO_OVERHEAD);
  kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "test");
}

// __alloc_skb's memset up to tail: a header reused from the pool, whatever
// its last life left in it, comes back exactly as a new SkBuff{}.
TEST_F(SkbTest, AllocHeadResetsAReusedHeaderToAFreshSkBuff) {
  SkBuff* skb = net.pool.alloc_head();
  std::memset(static_cast<void*>(skb), 0xab, sizeof(SkBuff));  // every field dirty
  net.pool.free_head(skb);
  SkBuff* again = net.pool.alloc_head();
  ASSERT_EQ(again, skb) << "the free list gives the same header back";
  const SkBuff fresh;
  EXPECT_EQ(again->next, fresh.next);
  EXPECT_EQ(again->prev, fresh.prev);
  EXPECT_EQ(again->tstamp, fresh.tstamp);
  EXPECT_EQ(again->dev, fresh.dev);
  EXPECT_EQ(again->dst, fresh.dst);
  EXPECT_EQ(std::memcmp(again->cb, fresh.cb, sizeof(fresh.cb)), 0);
  EXPECT_EQ(again->len, fresh.len);
  EXPECT_EQ(again->data_len, fresh.data_len);
  EXPECT_EQ(again->mac_len, fresh.mac_len);
  EXPECT_EQ(again->queue_mapping, fresh.queue_mapping);
  EXPECT_EQ(again->cloned, fresh.cloned);
  EXPECT_EQ(again->pkt_type, fresh.pkt_type);
  EXPECT_EQ(again->ip_summed, fresh.ip_summed);
  EXPECT_EQ(again->priority, fresh.priority);
  EXPECT_EQ(again->mark, fresh.mark);
  EXPECT_EQ(again->skb_iif, fresh.skb_iif);
  EXPECT_EQ(again->protocol, fresh.protocol);
  EXPECT_EQ(again->dst_pending_confirm, fresh.dst_pending_confirm);
  EXPECT_EQ(again->sk, fresh.sk);
  EXPECT_EQ(again->destructor, fresh.destructor);
  EXPECT_EQ(again->transport_header, SKB_HEADER_UNSET);
  EXPECT_EQ(again->network_header, SKB_HEADER_UNSET);
  EXPECT_EQ(again->mac_header, SKB_HEADER_UNSET);
  EXPECT_EQ(again->tail, fresh.tail);
  EXPECT_EQ(again->end, fresh.end);
  EXPECT_EQ(again->head, fresh.head);
  EXPECT_EQ(again->data, fresh.data);
  EXPECT_EQ(again->truesize, fresh.truesize);
  EXPECT_EQ(again->users, 1);
  EXPECT_EQ(again->id, fresh.id);
  EXPECT_EQ(again->buf, fresh.buf);
  EXPECT_EQ(again->pool, &net.pool);
  net.pool.free_head(again);
}

TEST_F(SkbTest, ReservePutPushPullTrim) {
  SkBuff* skb = net.pool.alloc_skb(256);
  const int end = int(skb->end);
  skb_reserve(skb, 64);
  EXPECT_EQ(skb_headroom(skb), 64u);
  EXPECT_EQ(skb_tailroom(skb), end - 64);
  EXPECT_EQ(skb->len, 0u);

  uint8_t* p = skb_put(skb, 100);
  EXPECT_EQ(p, skb->head + 64);
  EXPECT_EQ(skb->len, 100u);
  EXPECT_EQ(skb->tail, 164u);
  for (int i = 0; i < 100; ++i) p[i] = uint8_t(i);

  uint8_t* h = skb_push(skb, 14);
  EXPECT_EQ(h, skb->head + 50);
  EXPECT_EQ(skb->len, 114u);
  EXPECT_EQ(skb_headroom(skb), 50u);

  uint8_t* d = skb_pull(skb, 20);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(skb->len, 94u);
  EXPECT_EQ(d[0], 6);  // 14 pushed + 20 pulled: byte 6 of what was put

  skb_trim(skb, 10);
  EXPECT_EQ(skb->len, 10u);
  EXPECT_EQ(skb->tail, uint32_t(skb->data - skb->head) + 10);
  skb_trim(skb, 50);  // longer than len: nothing happens
  EXPECT_EQ(skb->len, 10u);
  EXPECT_EQ(skb_headlen(skb), 10u);
  EXPECT_EQ(skb->data_len, 0u);
  consume_skb(skb, "test");
}

TEST_F(SkbTest, PullPastLenFailsAndChangesNothing) {
  SkBuff* skb = net.pool.alloc_skb(128);
  skb_put(skb, 30);
  uint8_t* data = skb->data;
  EXPECT_EQ(skb_pull(skb, 31), nullptr);
  EXPECT_EQ(skb->len, 30u);
  EXPECT_EQ(skb->data, data);
  EXPECT_NE(skb_pull(skb, 30), nullptr);
  EXPECT_EQ(skb->len, 0u);
  consume_skb(skb, "test");
}

TEST_F(SkbTest, PutPastEndIsSkbOverPanicNotACorruption) {
  SkBuff* skb = net.pool.alloc_skb(128);
  const uint32_t end = skb->end;
  skb_put(skb, end - 8);
  try {
    skb_put(skb, 9);
    FAIL() << "skb_put past end returned";
  } catch (const SkbPanic& e) {
    EXPECT_NE(std::string(e.what()).find("skb_over_panic"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("put:9"), std::string::npos) << e.what();
  }
  EXPECT_EQ(skb->len, end - 8);  // untouched
  EXPECT_EQ(skb->tail, end - 8);
  consume_skb(skb, "test");
}

TEST_F(SkbTest, PushPastHeadIsSkbUnderPanic) {
  SkBuff* skb = net.pool.alloc_skb(128);
  skb_reserve(skb, 16);
  EXPECT_THROW(skb_push(skb, 17), SkbPanic);
  EXPECT_EQ(skb_headroom(skb), 16u);
  EXPECT_NO_THROW(skb_push(skb, 16));
  EXPECT_THROW(skb_reserve(skb, int(skb->end)), SkbPanic);
  consume_skb(skb, "test");
}

TEST_F(SkbTest, CloneSharesDataWithAnIndependentDataPointer) {
  SkBuff* skb = net.pool.alloc_skb(128);
  skb_reserve(skb, 16);
  std::memcpy(skb_put(skb, 5), "hello", 5);
  SkBuff* c = skb_clone(skb);
  EXPECT_NE(c, skb);
  EXPECT_NE(c->id, skb->id);
  EXPECT_EQ(c->head, skb->head);
  EXPECT_EQ(skb_shinfo(skb)->dataref, 2);
  EXPECT_EQ(skb_shinfo(c), skb_shinfo(skb));
  EXPECT_TRUE(skb->cloned);
  EXPECT_TRUE(c->cloned);
  EXPECT_TRUE(skb_cloned(skb));
  EXPECT_EQ(skb->users, 1);
  EXPECT_EQ(c->users, 1);

  skb_pull(c, 2);  // the clone's data pointer moves alone
  EXPECT_EQ(c->len, 3u);
  EXPECT_EQ(skb->len, 5u);
  EXPECT_EQ(skb->data[0], 'h');

  c->data[0] = 'L';  // same bytes underneath
  EXPECT_EQ(skb->data[2], 'L');

  const uint64_t data_in_use = net.pool.data_in_use();
  kfree_skb(c, SkbDropReason::NOT_SPECIFIED, "test");
  EXPECT_EQ(net.pool.data_in_use(), data_in_use);  // freeing the clone leaves the data
  EXPECT_EQ(skb_shinfo(skb)->dataref, 1);
  EXPECT_FALSE(skb_cloned(skb));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(skb->data), 5), "heLlo");
  consume_skb(skb, "test");
  EXPECT_EQ(net.pool.data_in_use(), data_in_use - 1);
}

TEST_F(SkbTest, CopyHasItsOwnData) {
  SkBuff* skb = net.pool.alloc_skb(128);
  skb_reserve(skb, 16);
  std::memcpy(skb_put(skb, 5), "hello", 5);
  skb->protocol = 0x0800;
  SkBuff* c = skb_copy(skb);
  EXPECT_NE(c->head, skb->head);
  EXPECT_EQ(skb_shinfo(c)->dataref, 1);
  EXPECT_EQ(skb_shinfo(skb)->dataref, 1);
  EXPECT_FALSE(c->cloned);
  EXPECT_EQ(c->len, skb->len);
  EXPECT_EQ(skb_headroom(c), skb_headroom(skb));
  EXPECT_EQ(c->protocol, 0x0800);
  c->data[0] = 'J';
  EXPECT_EQ(skb->data[0], 'h');  // writing through a copy leaves the original alone
  EXPECT_EQ(c->data[1], 'e');
  consume_skb(c, "test");
  consume_skb(skb, "test");
}

TEST_F(SkbTest, FreeTracesOnlyTheLastReferenceWithReasonAndLocation) {
  SkBuff* skb = net.pool.alloc_skb(64);
  skb->protocol = 0x0806;
  skb_get(skb);
  EXPECT_EQ(skb->users, 2);
  kfree_skb(skb, SkbDropReason::IP_CSUM, "first_owner");
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(skb->users, 1);
  const uint64_t id = skb->id;
  kfree_skb(skb, SkbDropReason::IP_CSUM, "ip_rcv_core");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "skb:kfree_skb");
  EXPECT_EQ(events[0].skb, id);
  const TraceFields want = {{"location", "ip_rcv_core"}, {"rx_sk", "0"}, {"protocol", "2054"}, {"reason", "IP_CSUM"}};
  EXPECT_EQ(events[0].fields, want);

  SkBuff* c = net.pool.alloc_skb(64);
  consume_skb(c, "icmp_rcv");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].name, "skb:consume_skb");
  EXPECT_EQ(events[1].fields, (TraceFields{{"location", "icmp_rcv"}}));
}

TEST_F(SkbTest, PoolReusesHeadersAndBuffers) {
  {  // warm: the loop below holds three headers and two buffers at once
    SkBuff* a = net.pool.alloc_skb(1500);
    SkBuff* b = skb_clone(a);
    SkBuff* c = skb_copy(a);
    consume_skb(a, "warm");
    consume_skb(b, "warm");
    consume_skb(c, "warm");
  }
  const uint64_t heads = net.pool.heads_created(), data = net.pool.data_created();
  for (int i = 0; i < 1000; ++i) {
    SkBuff* a = net.pool.alloc_skb(1500);
    SkBuff* b = skb_clone(a);
    SkBuff* c = skb_copy(a);
    consume_skb(a, "t");
    consume_skb(b, "t");
    consume_skb(c, "t");
  }
  EXPECT_EQ(net.pool.heads_created(), heads);
  EXPECT_EQ(net.pool.data_created(), data);
  EXPECT_EQ(net.pool.heads_in_use(), 0u);
  EXPECT_EQ(net.pool.data_in_use(), 0u);
  EXPECT_THROW(net.pool.alloc_skb(SkbPool::kMaxSize + 1), std::length_error);
}

// skb_grow_tailroom stands in for page fragments: the bytes and their offsets stay, the room grows
// to what was asked, and an unowned skb (a TCP write queue's) keeps the truesize its socket was
// charged with, where pskb_expand_head alone recomputes it from the new buffer.
TEST_F(SkbTest, GrowTailroomKeepsDataAndTruesize) {
  SkBuff* skb = net.pool.alloc_skb(256);
  skb_reserve(skb, 64);
  std::memset(skb_put(skb, 100), 'x', 100);
  skb->truesize = 1234;  // as charged by its owner
  const unsigned room = unsigned(skb_tailroom(skb));
  skb_grow_tailroom(skb, room);  // already there: nothing changes
  EXPECT_EQ(skb->end, unsigned(64 + 100) + room);
  skb_grow_tailroom(skb, room + 4000);
  EXPECT_GE(skb_tailroom(skb), int(room + 4000));
  EXPECT_EQ(skb_headroom(skb), 64u);
  EXPECT_EQ(skb->len, 100u);
  EXPECT_EQ(std::memcmp(skb->data, std::string(100, 'x').data(), 100), 0);
  EXPECT_EQ(skb->truesize, 1234u);
  kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "test");
}

}  // namespace
}  // namespace nettwin
