// The tracer: Linux tracepoints and our layer checkpoints, delivered to
// subscribers. Every trace point in the stack is written as
//     if (tracer.on()) [[unlikely]] trace_xxx(...);
// so that with nobody listening a point costs one predictable branch; the
// event (and its strings) is built only when a subscriber wants it.
// Delivery is synchronous, on the engine thread: no event can be lost here.
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/trace_format.h"

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

class Tracer;

// One event being filled in place: fields are written, in order, into the
// Tracer's reusable event for that point (its strings keep their capacity
// from one event to the next, so a steady stream of events allocates
// nothing), then Tracer::emit delivers it. Only while a subscriber wants the
// point: the caller checks wants() / wants_checkpoints() first.
class TraceRecord {
 public:
  TraceRecord(const TraceRecord&) = delete;
  TraceRecord& operator=(const TraceRecord&) = delete;
  ~TraceRecord() {
    if (slot_) slot_->busy = false;
  }

  // name: a string literal (a slot keeps its pointer to skip rewriting it).
  void add(const char* name, std::string_view value) { put(name, value.data(), value.size()); }
  void add(const char* name, const char* value) { add(name, std::string_view(value)); }
  void add(const char* name, const std::string& value) { put(name, value.data(), value.size()); }
  // The typed adders below remember the raw value a field's text was made
  // from: the same field with the same value as in the slot's last event is
  // passed over, its text already there (most values repeat frame to frame).
  // An integer as std::to_string writes it.
  template <std::integral T>
  void add(const char* name, T v) {
    constexpr uint32_t kind = std::is_signed_v<T> ? 2 : 1;
    const uint64_t raw = std::is_signed_v<T> ? uint64_t(int64_t(v)) : uint64_t(v);
    if (same(name, kind, raw)) return;
    char buf[kBuf];
    char* end = std::is_signed_v<T> ? trace_fmt::put_i64(buf, int64_t(v)) : trace_fmt::put_u64(buf, uint64_t(v));
    put_buf(name, buf, size_t(end - buf), kind, raw);
  }
  // A host-order IPv4 address as %pI4.
  void add_ipv4(const char* name, uint32_t a) {
    if (same(name, 3, a)) return;
    char buf[kBuf];
    char* end = trace_fmt::put_ipv4(buf, a);
    put_buf(name, buf, size_t(end - buf), 3, a);
  }
  // The same v4-mapped ("::ffff:" and the dotted quad), as ipv6_addr_set_v4mapped.
  void add_ipv4_mapped(const char* name, uint32_t a) {
    if (same(name, 4, a)) return;
    char buf[kBuf] = {':', ':', 'f', 'f', 'f', 'f', ':'};
    char* end = trace_fmt::put_ipv4(buf + 7, a);
    put_buf(name, buf, size_t(end - buf), 4, a);
  }
  // "A:P": an IPv4 address and a port, as %pISpc prints a sockaddr_in.
  void add_ipv4_port(const char* name, uint32_t a, uint16_t port) {
    const uint64_t raw = uint64_t(a) << 16 | port;
    if (same(name, 5, raw)) return;
    char buf[kBuf];
    char* p = trace_fmt::put_ipv4(buf, a);
    *p++ = ':';
    p = trace_fmt::put_u64(p, port);
    put_buf(name, buf, size_t(p - buf), 5, raw);
  }
  // A MAC address as %pM.
  void add_mac(const char* name, const uint8_t* mac) {
    uint64_t raw = 0;
    for (int i = 0; i < 6; ++i) raw = raw << 8 | mac[i];
    if (same(name, 6, raw)) return;
    char buf[kBuf];
    char* end = trace_fmt::put_mac(buf, mac);
    put_buf(name, buf, size_t(end - buf), 6, raw);
  }
  void add_ptr(const char* name, const void* v) {
    const uint64_t raw = uint64_t(reinterpret_cast<uintptr_t>(v));
    if (same(name, 7, raw)) return;
    char buf[kBuf];
    char* end = trace_fmt::put_ptr(buf, v);
    put_buf(name, buf, size_t(end - buf), 7, raw);
  }
  // The next field's value, emptied, for a caller that writes it itself.
  std::string& value_of(const char* name) {
    std::string& v = field(name);
    keyed(0, 0);
    v.clear();
    return v;
  }

 private:
  friend class Tracer;
  // The next field's value string, holding the last event's value: the same
  // field as last time (its name already written) unless the point's fields changed.
  std::string& field(const char* name) {
    if (n_ < nkeys_ && keys_[n_].name == name) [[likely]]
      return ev_->fields[n_++].second;
    return new_field(name);
  }
  // True, the field passed over, when the slot's next field is this one and
  // its text was made from this raw value of this kind.
  bool same(const char* name, uint32_t kind, uint64_t raw) {
    if (n_ < nkeys_) {
      const FieldKey& k = keys_[n_];
      if (k.name == name && k.kind == kind && k.raw == raw) {
        ++n_;
        return true;
      }
    }
    return false;
  }
  // What the field just written (by field()) was made from; kind 0: text of no typed value.
  void keyed(uint32_t kind, uint64_t raw) {
    if (slot_) {
      keys_[n_ - 1].raw = raw;
      keys_[n_ - 1].kind = kind;
    }
  }
  std::string& new_field(const char* name);
  struct FieldKey {
    const char* name;
    uint64_t raw;
    uint32_t kind;  // 0: the text is not known to be made from raw
  };
  // A value of n chars: over the last one in place when it has the same
  // length (most values repeat from one frame to the next), without
  // std::string's general replace.
  void put(const char* name, const char* p, size_t n) {
    std::string& v = field(name);
    keyed(0, 0);
    if (v.size() == n) {
      char* d = v.data();
      for (size_t i = 0; i < n; ++i) d[i] = p[i];
    } else {
      v.assign(p, n);
    }
  }
  // The same from a buffer of ours with kBuf readable bytes: a short value
  // copied as one 16-byte block (a std::string holds at least 15 chars and
  // its terminator in place), the terminator then put back.
  static constexpr size_t kBuf = 24;
  void put_buf(const char* name, const char (&buf)[kBuf], size_t n, uint32_t kind, uint64_t raw) {
    std::string& v = field(name);
    keyed(kind, raw);
    if (v.size() == n && n < 16 && v.capacity() >= 15) {
      char* d = v.data();
      std::memcpy(d, buf, 16);
      d[n] = '\0';
    } else {
      v.assign(buf, n);
    }
  }
  // A reusable event and the fields a shorter event left over (kept, with
  // their strings' capacity, for the next longer one).
  struct Slot {
    TraceEvent ev;
    TraceFields spare;
    std::vector<FieldKey> names;  // fields[i]'s name as last written (a literal) and its value's source
    const char* named = nullptr;  // the tracepoint's or checkpoint function's name ev.name holds
    bool busy = false;  // an event from this slot is being delivered
  };
  TraceRecord(size_t point, Slot* slot, TraceEvent* ev)
      : point_(point), slot_(slot), ev_(ev), keys_(slot->names.data()), nkeys_(slot->names.size()) {}
  TraceRecord(size_t point, std::unique_ptr<TraceEvent> own)
      : point_(point), slot_(nullptr), ev_(own.get()), own_(std::move(own)) {}
  size_t point_;  // the Tp, or Tp::Count for a checkpoint
  Slot* slot_;  // null: a fallback event of our own (the slot was busy)
  TraceEvent* ev_;
  size_t n_ = 0;
  // The slot's names (a copy of names.data() / size(), refreshed as it grows); none without a slot.
  FieldKey* keys_ = nullptr;
  size_t nkeys_ = 0;
  std::unique_ptr<TraceEvent> own_;
};

class Tracer {
 public:
  static constexpr size_t kCheckpointSlots = 64;
  explicit Tracer(const uint64_t* clock_ns) : clock_ns_(clock_ns) {}

  bool on() const { return on_; }
  bool wants(Tp tp) const { return wanted_[size_t(tp)] != 0; }
  bool wants_checkpoints() const { return checkpoint_subs_ != 0; }
  bool wants_skb_data() const { return skb_data_subs_ != 0; }

  void emit(Tp tp, uint64_t skb, TraceFields&& fields);
  void emit_checkpoint(const char* function, uint64_t skb, TraceFields&& fields);

  // The cheap path: record() (the caller has checked wants(tp) /
  // wants_checkpoints()), the fields added in order, then emit(record).
  TraceRecord record(Tp tp, uint64_t skb);
  TraceRecord record_checkpoint(const char* function, uint64_t skb);
  void emit(TraceRecord& r);

  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;
  ~Tracer();

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
  TraceRecord start(size_t point, uint64_t skb, const char* tracepoint, const char* function);
  TraceRecord::Slot& slot_for(size_t point, const char* tracepoint, const char* function);

  const uint64_t* clock_ns_;
  bool on_ = false;
  int next_id_ = 0;
  int dispatch_depth_ = 0;
  bool dead_pending_ = false;  // a subscriber was dropped during a dispatch
  unsigned checkpoint_subs_ = 0;
  unsigned skb_data_subs_ = 0;
  unsigned wanted_[size_t(Tp::Count)] = {};
  std::vector<std::unique_ptr<Sub>> subs_;  // stable addresses across callbacks
  // One reusable event per tracepoint, then kCheckpointSlots for checkpoints
  // (by function); allocated at the first event.
  std::unique_ptr<TraceRecord::Slot[]> slots_;
};

}  // namespace nettwin
