// A typed trace record copied into bytes the server owns (record_fifo.h,
// record_ring.h): a header, the fields as the stack wrote them, then the bytes
// of its transient strings and frames, so that nothing points back into the
// stack once the record is delivered. No text: that is made for a reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/trace_record.h"
#include "core/trace_text.h"

namespace nettwin::server {

struct StoredHeader {
  uint64_t time_ns;
  uint64_t skb;
  const char* name;
  uint32_t size;  // the whole stored record's bytes
  uint16_t point;
  uint16_t fields;
};

inline bool stored_has_bytes(TraceKind k) { return k == TraceKind::Str || k == TraceKind::Hex; }

// The bytes r takes stored, rounded up to 8 so that the next one starts aligned.
inline size_t stored_record_size(const TraceRecord& r) {
  size_t extra = 0;
  for (const TraceField& f : r)
    if (stored_has_bytes(f.kind)) extra += f.len;
  return (sizeof(StoredHeader) + r.size() * sizeof(TraceField) + extra + 7) & ~size_t(7);
}

// Writes r at p: size = stored_record_size(r) bytes.
inline void store_record(char* p, const TraceRecord& r, size_t size) {
  const StoredHeader h{r.time_ns(), r.skb(), r.point_name(), uint32_t(size), r.point(), uint16_t(r.size())};
  std::memcpy(p, &h, sizeof h);
  p += sizeof h;
  if (r.size()) std::memcpy(p, r.begin(), r.size() * sizeof(TraceField));
  p += r.size() * sizeof(TraceField);
  for (const TraceField& f : r) {
    if (!stored_has_bytes(f.kind) || !f.len) continue;
    std::memcpy(p, reinterpret_cast<const void*>(uintptr_t(f.raw)), f.len);
    p += f.len;
  }
}

inline StoredHeader stored_header(const char* p) {
  StoredHeader h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

// A stored record read in place, without copying its fields out: each field
// as the stack wrote it, a Str or Hex value pointing into the stored bytes.
class StoredRecordView {
 public:
  explicit StoredRecordView(const char* p) : p_(p), h_(stored_header(p)) {}
  bool checkpoint() const { return h_.point == TraceRecord::kCheckpoint; }
  const char* point_name() const { return h_.name; }
  uint64_t time_ns() const { return h_.time_ns; }
  uint64_t skb() const { return h_.skb; }
  size_t size() const { return h_.fields; }
  size_t stored_size() const { return h_.size; }
  // Field i's name (a literal).
  const char* key(size_t i) const {
    const char* name;
    std::memcpy(&name, fields() + i * sizeof(TraceField) + offsetof(TraceField, name), sizeof name);
    return name;
  }
  // The most its fields' text can take (trace_field_text_max), from their kinds and lengths.
  size_t text_room() const {
    size_t n = 0;
    for (size_t i = 0; i < h_.fields; ++i) {
      TraceField f{};
      std::memcpy(&f.len, fields() + i * sizeof f + offsetof(TraceField, len), sizeof f.len);
      std::memcpy(&f.kind, fields() + i * sizeof f + offsetof(TraceField, kind), sizeof f.kind);
      n += trace_field_text_max(f);
    }
    return n;
  }
  // fn(const TraceRecord&) on the record rebuilt, for a consumer that needs
  // one (a TraceEvent message); its strings point into the stored bytes.
  template <class Fn>
  decltype(auto) rebuilt(Fn&& fn) const;
  // fn(i, const TraceField&) on each field in order.
  template <class Fn>
  void for_each_field(Fn&& fn) const {
    const char* payload = fields() + size_t(h_.fields) * sizeof(TraceField);
    for (size_t i = 0; i < h_.fields; ++i) {
      TraceField f{};
      std::memcpy(&f, fields() + i * sizeof f, sizeof f);
      if (stored_has_bytes(f.kind)) {
        f.raw = uint64_t(reinterpret_cast<uintptr_t>(payload));
        payload += f.len;
      }
      fn(i, static_cast<const TraceField&>(f));
    }
  }

 private:
  const char* fields() const { return p_ + sizeof(StoredHeader); }
  const char* p_;
  StoredHeader h_;
};

// Calls fn(const TraceRecord&) on the record stored at p, rebuilt: its strings
// point into the stored bytes.
template <class Fn>
decltype(auto) with_stored_record(const char* p, Fn&& fn) {
  const StoredHeader h = stored_header(p);
  TraceRecord r(h.point, h.name, h.skb);
  r.set_time(h.time_ns);
  StoredRecordView(p).for_each_field([&r](size_t, const TraceField& f) { r.push_field(f); });
  return fn(static_cast<const TraceRecord&>(r));
}

template <class Fn>
decltype(auto) StoredRecordView::rebuilt(Fn&& fn) const {
  return with_stored_record(p_, fn);
}

}  // namespace nettwin::server
