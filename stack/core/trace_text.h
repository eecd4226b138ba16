// The text of a typed trace record, made only where text is read: each field's
// value in the canonical format of traces/README.md (the printf formats the
// tracepoints use: %u/%d, %pI4, %pM, %p), and the record as a TraceEvent.
#pragma once

#include <cstddef>
#include <string>

#include "core/trace_record.h"
#include "stack.h"

namespace nettwin {

// The length of a field's text, without writing it.
size_t trace_field_text_size(const TraceField& f);
// Appends a field's text to out.
void append_trace_field_text(std::string& out, const TraceField& f);
// The most a field's text can take, known without formatting it (a number's
// text at most 32 bytes); write_trace_field_text writes it at p, which has
// that room, and returns its end.
inline size_t trace_field_text_max(const TraceField& f) {
  switch (f.kind) {
    case TraceKind::Lit:
    case TraceKind::Str: return f.len;
    case TraceKind::Hex: return size_t(f.len) * 2;
    default: return 32;
  }
}
char* write_trace_field_text(char* p, const TraceField& f);
// Writes a field's text over out.
void trace_field_text(const TraceField& f, std::string& out);

// "net:netif_rx", or "checkpoint:<function>".
void trace_record_name(const TraceRecord& r, std::string& out);
size_t trace_record_name_size(const TraceRecord& r);

// The record as a TraceEvent, over `out` (its strings reused).
void to_trace_event(const TraceRecord& r, TraceEvent& out);
TraceEvent to_trace_event(const TraceRecord& r);

}  // namespace nettwin
