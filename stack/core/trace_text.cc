#include "core/trace_text.h"

#include <cstring>

#include "core/trace_format.h"

namespace nettwin {

namespace {

size_t dec_digits(uint64_t v) {
  size_t n = 1;
  while (v >= 10) v /= 10, ++n;
  return n;
}

size_t ipv4_size(uint32_t a) {
  return 3 + dec_digits(a >> 24) + dec_digits((a >> 16) & 0xff) + dec_digits((a >> 8) & 0xff) + dec_digits(a & 0xff);
}

const void* as_ptr(uint64_t raw) { return reinterpret_cast<const void*>(uintptr_t(raw)); }

constexpr char kCheckpointPrefix[] = "checkpoint:";
constexpr size_t kCheckpointPrefixLen = sizeof kCheckpointPrefix - 1;

// Writes a fixed-size kind's text into p (at least 32 bytes of room); returns its end.
char* put_fixed(char* p, const TraceField& f) {
  switch (f.kind) {
    case TraceKind::U64: return trace_fmt::put_u64(p, f.raw);
    case TraceKind::I64: return trace_fmt::put_i64(p, int64_t(f.raw));
    case TraceKind::Ipv4: return trace_fmt::put_ipv4(p, uint32_t(f.raw));
    case TraceKind::Ipv4Mapped:
      std::memcpy(p, "::ffff:", 7);
      return trace_fmt::put_ipv4(p + 7, uint32_t(f.raw));
    case TraceKind::Ipv4Port:
      p = trace_fmt::put_ipv4(p, uint32_t(f.raw >> 16));
      *p++ = ':';
      return trace_fmt::put_u64(p, f.raw & 0xffff);
    case TraceKind::Mac: {
      uint8_t m[6];
      for (int i = 0; i < 6; ++i) m[i] = uint8_t(f.raw >> (40 - 8 * i));
      return trace_fmt::put_mac(p, m);
    }
    case TraceKind::Ptr: return trace_fmt::put_ptr(p, as_ptr(f.raw));
    default: return p;
  }
}

// s = [p, p + n), over s's own bytes when the length is the same (a value
// written over the last event's, most often), without std::string's replace.
void set_text(std::string& s, const char* p, size_t n) {
  if (s.size() == n) {
    if (n) std::memcpy(s.data(), p, n);
  } else {
    s.assign(p, n);
  }
}

}  // namespace

size_t trace_field_text_size(const TraceField& f) {
  switch (f.kind) {
    case TraceKind::U64: return dec_digits(f.raw);
    case TraceKind::I64: return int64_t(f.raw) < 0 ? 1 + dec_digits(0 - f.raw) : dec_digits(f.raw);
    case TraceKind::Lit:
    case TraceKind::Str: return f.len;
    case TraceKind::Ipv4: return ipv4_size(uint32_t(f.raw));
    case TraceKind::Ipv4Mapped: return 7 + ipv4_size(uint32_t(f.raw));
    case TraceKind::Ipv4Port: return ipv4_size(uint32_t(f.raw >> 16)) + 1 + dec_digits(f.raw & 0xffff);
    case TraceKind::Mac: return 17;
    case TraceKind::Ptr: {
      if (!f.raw) return 5;  // "(nil)"
      size_t n = 0;
      for (uint64_t v = f.raw; v; v >>= 4) ++n;
      return 2 + n;
    }
    case TraceKind::Hex: return size_t(f.len) * 2;
  }
  return 0;
}

char* write_trace_field_text(char* d, const TraceField& f) {
  switch (f.kind) {
    case TraceKind::Lit:
    case TraceKind::Str:
      if (f.len) std::memcpy(d, as_ptr(f.raw), f.len);
      return d + f.len;
    case TraceKind::Hex: {
      const auto* p = reinterpret_cast<const uint8_t*>(as_ptr(f.raw));
      for (uint32_t i = 0; i < f.len; ++i) {
        *d++ = trace_fmt::kHexDigits[p[i] >> 4];
        *d++ = trace_fmt::kHexDigits[p[i] & 15];
      }
      return d;
    }
    default: return put_fixed(d, f);
  }
}

void append_trace_field_text(std::string& out, const TraceField& f) {
  const size_t at = out.size();
  out.resize(at + trace_field_text_max(f));
  out.resize(size_t(write_trace_field_text(out.data() + at, f) - out.data()));
}

void trace_field_text(const TraceField& f, std::string& out) {
  switch (f.kind) {
    case TraceKind::Lit:
    case TraceKind::Str: set_text(out, f.bytes().data(), f.len); return;
    case TraceKind::Hex: out.clear(); append_trace_field_text(out, f); return;
    default: {
      char buf[32];
      set_text(out, buf, size_t(put_fixed(buf, f) - buf));
    }
  }
}

size_t trace_record_name_size(const TraceRecord& r) {
  return (r.checkpoint() ? kCheckpointPrefixLen : 0) + std::strlen(r.point_name());
}

void trace_record_name(const TraceRecord& r, std::string& out) {
  if (r.checkpoint()) {
    out.assign(kCheckpointPrefix, kCheckpointPrefixLen);
    out.append(r.point_name());
  } else {
    out.assign(r.point_name());
  }
}

void to_trace_event(const TraceRecord& r, TraceEvent& out) {
  out.time_ns = r.time_ns();
  out.skb = r.skb();
  trace_record_name(r, out.name);
  out.fields.resize(r.size());
  for (size_t i = 0; i < r.size(); ++i) {
    set_text(out.fields[i].first, r[i].name, std::strlen(r[i].name));
    trace_field_text(r[i], out.fields[i].second);
  }
}

TraceEvent to_trace_event(const TraceRecord& r) {
  TraceEvent ev;
  to_trace_event(r, ev);
  return ev;
}

}  // namespace nettwin
