#include "record_fifo.h"

#include <cstring>

namespace nettwin::server {

namespace {
bool has_bytes(TraceKind k) { return k == TraceKind::Str || k == TraceKind::Hex; }
}  // namespace

void RecordFifo::push(const TraceRecord& r, uint32_t weight) {
  size_t extra = 0;
  for (const TraceField& f : r)
    if (has_bytes(f.kind)) extra += f.len;
  const size_t size = sizeof(Header) + r.size() * sizeof(TraceField) + extra;
  const Header h{r.time_ns(), r.skb(), r.point_name(), uint32_t(size), weight, r.point(), uint16_t(r.size())};
  size_t at = bytes_.size();
  bytes_.resize(at + size);
  char* p = bytes_.data() + at;
  std::memcpy(p, &h, sizeof h);
  p += sizeof h;
  if (r.size()) std::memcpy(p, r.begin(), r.size() * sizeof(TraceField));
  p += r.size() * sizeof(TraceField);
  for (const TraceField& f : r) {
    if (!has_bytes(f.kind) || !f.len) continue;
    std::memcpy(p, reinterpret_cast<const void*>(uintptr_t(f.raw)), f.len);
    p += f.len;
  }
  ++count_;
}

RecordFifo::Header RecordFifo::header_at(size_t at) const {
  Header h;
  std::memcpy(&h, bytes_.data() + at, sizeof h);
  return h;
}

void RecordFifo::rebuild(size_t at, const Header& h, TraceRecord& r) const {
  r.set_time(h.time_ns);
  const char* fields = bytes_.data() + at + sizeof(Header);
  const char* payload = fields + size_t(h.fields) * sizeof(TraceField);
  for (size_t i = 0; i < h.fields; ++i) {
    TraceField f;
    std::memcpy(&f, fields + i * sizeof f, sizeof f);
    if (has_bytes(f.kind)) {
      f.raw = uint64_t(reinterpret_cast<uintptr_t>(payload));
      payload += f.len;
    }
    r.push_field(f);
  }
}

void RecordFifo::pop_front() { consumed(head_ + header_at(head_).size, 1); }

void RecordFifo::consumed(size_t end, size_t n) {
  head_ = end;
  count_ -= n;
  if (count_ == 0) {
    bytes_.clear();
    head_ = 0;
  } else if (head_ >= 4096 && head_ * 2 >= bytes_.size()) {  // the consumed half goes, amortised
    bytes_.erase(bytes_.begin(), bytes_.begin() + ptrdiff_t(head_));
    head_ = 0;
  }
}

void RecordFifo::move_front_to(RecordFifo& to) { move_range_to(to, head_ + header_at(head_).size, 1); }

void RecordFifo::move_range_to(RecordFifo& to, size_t end, size_t n) {
  if (!n) return;
  to.bytes_.insert(to.bytes_.end(), bytes_.begin() + ptrdiff_t(head_), bytes_.begin() + ptrdiff_t(end));
  to.count_ += n;
  consumed(end, n);
}

void RecordFifo::clear() {
  bytes_.clear();
  head_ = 0;
  count_ = 0;
}

}  // namespace nettwin::server
