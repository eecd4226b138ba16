#include "record_fifo.h"

namespace nettwin::server {

void RecordFifo::push(const TraceRecord& r) {
  const size_t size = stored_record_size(r);
  const size_t at = bytes_.size();
  bytes_.resize(at + size);
  store_record(bytes_.data() + at, r, size);
  ++count_;
}

void RecordFifo::move_front_to(RecordFifo& to) {
  const size_t end = head_ + stored_header(bytes_.data() + head_).size;
  to.bytes_.insert(to.bytes_.end(), bytes_.begin() + ptrdiff_t(head_), bytes_.begin() + ptrdiff_t(end));
  ++to.count_;
  head_ = end;
  if (--count_ == 0) {
    bytes_.clear();
    head_ = 0;
  } else if (head_ >= 4096 && head_ * 2 >= bytes_.size()) {  // the consumed half goes, amortised
    bytes_.erase(bytes_.begin(), bytes_.begin() + ptrdiff_t(head_));
    head_ = 0;
  }
}

}  // namespace nettwin::server
