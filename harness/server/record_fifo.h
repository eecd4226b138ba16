// Typed trace records kept by the server (a subscription's buffer, a live
// stream's queue, a reply being built): each record copied into one byte
// buffer with its transient strings and bytes, no text. Text is made from
// them only when a reply is written (proto_convert.h, packed_blobs.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/trace_record.h"

namespace nettwin::server {

class RecordFifo {
 public:
  // weight: what the record will cost its reader (Trace.Read: its reply
  // bytes), worked out while the record is at hand; move_front_while reads it
  // back without rebuilding the record.
  void push(const TraceRecord& r, uint32_t weight = 0);
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }

  // fn(const TraceRecord&) on the oldest record, rebuilt; its strings point
  // into the fifo, valid until the next change to it.
  template <class Fn>
  decltype(auto) with_front(Fn&& fn) const {
    const Header h = header_at(head_);
    TraceRecord r(h.point, h.name, h.skb);
    rebuild(head_, h, r);
    return fn(static_cast<const TraceRecord&>(r));
  }
  // fn(const TraceRecord&) on each record, oldest first.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (size_t at = head_, n = 0; n < count_; ++n) {
      const Header h = header_at(at);
      TraceRecord r(h.point, h.name, h.skb);
      rebuild(at, h, r);
      fn(static_cast<const TraceRecord&>(r));
      at += h.size;
    }
  }
  // Moves the oldest records to the back of `to`, in one copy: up to max of
  // them (0: no limit), stopping before the first one fits(uint32_t weight)
  // refuses. Returns how many moved.
  template <class Fn>
  size_t move_front_while(RecordFifo& to, size_t max, Fn&& fits) {
    size_t at = head_, n = 0;
    for (; n < count_ && (max == 0 || n < max); ++n) {
      const Header h = header_at(at);
      if (!fits(h.weight)) break;
      at += h.size;
    }
    move_range_to(to, at, n);
    return n;
  }
  void pop_front();
  // The oldest record, moved to the back of `to`.
  void move_front_to(RecordFifo& to);
  void clear();

 private:
  struct Header {
    uint64_t time_ns;
    uint64_t skb;
    const char* name;
    uint32_t size;  // the whole record's bytes
    uint32_t weight;
    uint16_t point;
    uint16_t fields;
  };
  Header header_at(size_t at) const;
  // The records from head_ to offset end (n of them) go to `to`.
  void move_range_to(RecordFifo& to, size_t end, size_t n);
  void consumed(size_t end, size_t n);
  void rebuild(size_t at, const Header& h, TraceRecord& r) const;

  std::vector<char> bytes_;
  size_t head_ = 0;  // the oldest record's offset; what is before it is consumed
  size_t count_ = 0;
};

}  // namespace nettwin::server
