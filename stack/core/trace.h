// The tracer: Linux tracepoints and our layer checkpoints, delivered to
// subscribers. Every trace point in the stack is written as
//     if (tracer.on()) [[unlikely]] trace_xxx(...);
// so that with nobody listening a point costs one predictable branch. A point
// someone wants writes a typed record (core/trace_record.h: raw values, no
// text) on the caller's stack and emits it; a record subscriber gets it as it
// is, a text subscriber gets it as a TraceEvent, formatted once per event for
// all of them (core/trace_text.h). Delivery is synchronous, on the engine
// thread: no event can be lost here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/trace_record.h"

#include "stack.h"

namespace nettwin {

// The tracepoints the stack emits, named as in tracefs.
enum class Tp : uint8_t {
  netif_rx,
  netif_receive_skb,
  net_dev_queue,
  net_dev_start_xmit,
  net_dev_xmit,
  napi_poll,
  kfree_skb,
  consume_skb,
  qdisc_enqueue,
  qdisc_dequeue,
  neigh_create,
  neigh_update,
  neigh_update_done,
  neigh_timer_handler,
  neigh_event_send_done,
  neigh_cleanup_and_release,
  fib_table_lookup,
  icmp_send,
  udp_fail_queue_rcv_skb,
  tcp_probe,
  tcp_bad_csum,
  tcp_cong_state_set,
  tcp_send_reset,
  inet_sock_set_state,
  tcp_retransmit_synack,
  tcp_receive_reset,
  tcp_retransmit_skb,
  tcp_destroy_sock,
  tcp_rcv_space_adjust,
  tcp_rcvbuf_grow,
  Count
};

// Their tracefs names, in Tp's order.
inline constexpr const char* kTracepointNames[size_t(Tp::Count)] = {
    "net:netif_rx",
    "net:netif_receive_skb",
    "net:net_dev_queue",
    "net:net_dev_start_xmit",
    "net:net_dev_xmit",
    "napi:napi_poll",
    "skb:kfree_skb",
    "skb:consume_skb",
    "qdisc:qdisc_enqueue",
    "qdisc:qdisc_dequeue",
    "neigh:neigh_create",
    "neigh:neigh_update",
    "neigh:neigh_update_done",
    "neigh:neigh_timer_handler",
    "neigh:neigh_event_send_done",
    "neigh:neigh_cleanup_and_release",
    "fib:fib_table_lookup",
    "icmp:icmp_send",
    "udp:udp_fail_queue_rcv_skb",
    "tcp:tcp_probe",
    "tcp:tcp_bad_csum",
    "tcp:tcp_cong_state_set",
    "tcp:tcp_send_reset",
    "sock:inet_sock_set_state",
    "tcp:tcp_retransmit_synack",
    "tcp:tcp_receive_reset",
    "tcp:tcp_retransmit_skb",
    "tcp:tcp_destroy_sock",
    "tcp:tcp_rcv_space_adjust",
    "tcp:tcp_rcvbuf_grow",
};
using TraceFields = std::vector<std::pair<std::string, std::string>>;

inline const char* tracepoint_name(Tp tp) { return tp < Tp::Count ? kTracepointNames[size_t(tp)] : "unknown:unknown"; }

class Tracer {
 public:
  explicit Tracer(const uint64_t* clock_ns) : clock_ns_(clock_ns) {}

  bool on() const { return on_; }
  bool wants(Tp tp) const { return wanted_[size_t(tp)] != 0; }
  bool wants_checkpoints() const { return checkpoint_subs_ != 0; }
  bool wants_skb_data() const { return skb_data_subs_ != 0; }

  // The caller has checked wants(tp) / wants_checkpoints(); it adds the
  // fields in order, then emit(record).
  TraceRecord record(Tp tp, uint64_t skb) const { return TraceRecord(uint16_t(tp), kTracepointNames[size_t(tp)], skb); }
  // function: a string literal.
  TraceRecord record_checkpoint(const char* function, uint64_t skb) const {
    return TraceRecord(TraceRecord::kCheckpoint, function, skb);
  }
  void emit(TraceRecord& r);

  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;
  ~Tracer();

  // A text subscriber: each event as a TraceEvent.
  int subscribe(const TraceFilter& filter, TraceCallback callback);
  // A record subscriber: each event as its typed record, never formatted here.
  int subscribe_records(const TraceFilter& filter, TraceRecordCallback callback);
  void unsubscribe(int id);  // safe from inside a callback; unknown ids are ignored

  // True when a filter pattern ("net:*", "skb:kfree_skb", "*") matches a name.
  static bool pattern_matches(const std::string& pattern, const std::string& name);

 private:
  struct Sub {
    int id;
    bool tps[size_t(Tp::Count)];
    bool checkpoints;
    bool skb_data;
    TraceCallback text_cb;      // one of the two
    TraceRecordCallback record_cb;
    bool dead;
  };
  int add_sub(const TraceFilter& filter, TraceCallback text, TraceRecordCallback record);
  void recompute();

  const uint64_t* clock_ns_;
  bool on_ = false;
  int next_id_ = 0;
  int dispatch_depth_ = 0;
  bool dead_pending_ = false;  // a subscriber was dropped during a dispatch
  unsigned checkpoint_subs_ = 0;
  unsigned skb_data_subs_ = 0;
  unsigned wanted_[size_t(Tp::Count)] = {};
  std::vector<std::unique_ptr<Sub>> subs_;  // stable addresses across callbacks
  // The text of the event being delivered, its strings reused from one event
  // to the next; an event emitted from a text callback gets one of its own.
  TraceEvent text_;
  bool text_busy_ = false;
};

}  // namespace nettwin
