// The tracer: Linux tracepoints and our layer checkpoints, delivered to
// subscribers. Every trace point in the stack is written as
//     if (tracer.on()) [[unlikely]] trace_xxx(...);
// so that with nobody listening a point costs one predictable branch; the
// event (and its strings) is built only when a subscriber wants it.
// Delivery is synchronous, on the engine thread: no event can be lost here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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
const char* tracepoint_name(Tp tp);  // "net:netif_rx"

using TraceFields = std::vector<std::pair<std::string, std::string>>;

class Tracer {
 public:
  explicit Tracer(const uint64_t* clock_ns) : clock_ns_(clock_ns) {}

  bool on() const { return on_; }
  bool wants(Tp tp) const { return wanted_[size_t(tp)] != 0; }
  bool wants_checkpoints() const { return checkpoint_subs_ != 0; }
  bool wants_skb_data() const { return skb_data_subs_ != 0; }

  void emit(Tp tp, uint64_t skb, TraceFields&& fields);
  void emit_checkpoint(const char* function, uint64_t skb, TraceFields&& fields);

  int subscribe(const TraceFilter& filter, TraceCallback callback);
  void unsubscribe(int id);  // safe from inside a callback; unknown ids are ignored

  // True when a filter pattern ("net:*", "skb:kfree_skb", "*") matches a name.
  static bool pattern_matches(const std::string& pattern, const std::string& name);

 private:
  struct Sub {
    int id;
    bool tps[size_t(Tp::Count)];
    bool checkpoints;
    bool skb_data;
    TraceCallback cb;
    bool dead;
  };
  void deliver(const TraceEvent& ev, bool checkpoint, Tp tp);
  void recompute();

  const uint64_t* clock_ns_;
  bool on_ = false;
  int next_id_ = 0;
  int dispatch_depth_ = 0;
  unsigned checkpoint_subs_ = 0;
  unsigned skb_data_subs_ = 0;
  unsigned wanted_[size_t(Tp::Count)] = {};
  std::vector<std::unique_ptr<Sub>> subs_;  // stable addresses across callbacks
};

}  // namespace nettwin
