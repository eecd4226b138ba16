// Typed trace records kept by the server for a live stream (live_queue.h):
// each record copied into one byte buffer with its transient strings and
// bytes (stored_record.h), no text. Text is made from them only when a
// message is written (proto_convert.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/trace_record.h"
#include "stored_record.h"

namespace nettwin::server {

class RecordFifo {
 public:
  void push(const TraceRecord& r);
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }

  // fn(const TraceRecord&) on the oldest record, rebuilt; its strings point
  // into the fifo, valid until the next change to it.
  template <class Fn>
  decltype(auto) with_front(Fn&& fn) const {
    return with_stored_record(bytes_.data() + head_, fn);
  }
  // The oldest record, moved to the back of `to`.
  void move_front_to(RecordFifo& to);

 private:
  std::vector<char> bytes_;
  size_t head_ = 0;  // the oldest record's offset; what is before it is consumed
  size_t count_ = 0;
};

}  // namespace nettwin::server
