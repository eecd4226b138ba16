// A trace event as the stack writes it: a typed record (the point, the time,
// the skb id, and each field's raw value with its kind), no text. Text is made
// only by a consumer that needs it (trace_text.h: the tests' and the shell's
// TraceEvent, the gRPC server's replies); a consumer that only counts or
// filters never formats. Field names, literal values and checkpoint function
// names are string literals, kept as pointers; a transient string (a device's
// name) or the skb's bytes are pointed to, valid only while the record is
// delivered: a consumer that keeps a record copies them (StoredTraceRecord).
#pragma once

#include <cassert>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace nettwin {

enum class TraceKind : uint8_t {
  U64,         // %llu
  I64,         // %lld
  Lit,         // a string literal (static lifetime)
  Str,         // a string valid while the record is delivered
  Ipv4,        // a host-order IPv4 address, %pI4
  Ipv4Mapped,  // the same v4-mapped ("::ffff:a.b.c.d")
  Ipv4Port,    // "a.b.c.d:port", %pISpc: raw = addr << 16 | port
  Mac,         // %pM: raw = the six octets, first one highest
  Ptr,         // glibc's %p
  Hex,         // bytes as lowercase hex: raw points at len bytes
};

struct TraceField {
  const char* name;  // a string literal
  uint64_t raw;      // the value; Lit/Str/Hex: the pointer to its bytes
  uint32_t len;      // Lit/Str/Hex: their length
  TraceKind kind;

  std::string_view bytes() const { return {reinterpret_cast<const char*>(uintptr_t(raw)), len}; }
};

class TraceRecord {
 public:
  // More than any point writes (tcp_rcvbuf_grow: 20; a checkpoint with its frame: 15);
  // the Debug (sanitizer) build asserts it at every field, and a release build
  // keeps the first kMaxFields rather than write past the array.
  static constexpr size_t kMaxFields = 24;

  // point: a tracepoint's index (Tp), or kCheckpoint; name: the tracepoint's
  // tracefs name, or the checkpoint's function (both literals).
  static constexpr uint16_t kCheckpoint = 0xffff;
  TraceRecord(uint16_t point, const char* name, uint64_t skb) : point_(point), name_(name), skb_(skb) {}
  TraceRecord(const TraceRecord&) = delete;
  TraceRecord& operator=(const TraceRecord&) = delete;

  template <std::integral T>
  void add(const char* name, T v) {
    if constexpr (std::is_signed_v<T>) push(name, uint64_t(int64_t(v)), 0, TraceKind::I64);
    else push(name, uint64_t(v), 0, TraceKind::U64);
  }
  // A string literal (or any string that outlives every consumer: a static table's).
  void add(const char* name, const char* literal) {
    push(name, uint64_t(reinterpret_cast<uintptr_t>(literal)), uint32_t(std::strlen(literal)), TraceKind::Lit);
  }
  // A string valid only while the record is delivered (a device's name).
  void add_str(const char* name, std::string_view s) {
    push(name, uint64_t(reinterpret_cast<uintptr_t>(s.data())), uint32_t(s.size()), TraceKind::Str);
  }
  void add_ipv4(const char* name, uint32_t a) { push(name, a, 0, TraceKind::Ipv4); }
  void add_ipv4_mapped(const char* name, uint32_t a) { push(name, a, 0, TraceKind::Ipv4Mapped); }
  void add_ipv4_port(const char* name, uint32_t a, uint16_t port) {
    push(name, uint64_t(a) << 16 | port, 0, TraceKind::Ipv4Port);
  }
  void add_mac(const char* name, const uint8_t* mac) {
    uint64_t raw = 0;
    for (int i = 0; i < 6; ++i) raw = raw << 8 | mac[i];
    push(name, raw, 0, TraceKind::Mac);
  }
  void add_ptr(const char* name, const void* p) { push(name, uint64_t(reinterpret_cast<uintptr_t>(p)), 0, TraceKind::Ptr); }
  // Bytes valid while the record is delivered, as hex text.
  void add_hex(const char* name, const uint8_t* p, size_t n) {
    push(name, uint64_t(reinterpret_cast<uintptr_t>(p)), uint32_t(n), TraceKind::Hex);
  }

  bool checkpoint() const { return point_ == kCheckpoint; }
  uint16_t point() const { return point_; }
  // The tracepoint's name ("net:netif_rx"), or the checkpoint's function ("ip_rcv").
  const char* point_name() const { return name_; }
  uint64_t time_ns() const { return time_ns_; }
  uint64_t skb() const { return skb_; }
  size_t size() const { return n_; }
  const TraceField& operator[](size_t i) const { return fields_[i]; }
  const TraceField* begin() const { return fields_; }
  const TraceField* end() const { return fields_ + n_; }

  void set_time(uint64_t t) { time_ns_ = t; }
  // For a consumer rebuilding a record it stored.
  void push_field(const TraceField& f) { push(f.name, f.raw, f.len, f.kind); }

 private:
  void push(const char* name, uint64_t raw, uint32_t len, TraceKind kind) {
    assert(n_ < kMaxFields);
    if (n_ < kMaxFields) [[likely]] fields_[n_++] = TraceField{name, raw, len, kind};
  }
  uint16_t point_;
  const char* name_;
  uint64_t skb_;
  uint64_t time_ns_ = 0;
  size_t n_ = 0;
  TraceField fields_[kMaxFields];  // only the first n_ are written
};

}  // namespace nettwin
