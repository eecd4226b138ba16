#include "trace_stream.h"

#include <string>
#include <utility>

#include "proto_convert.h"
#include "request_check.h"

namespace nettwin::server {

StreamWaker::StreamWaker() : thread_([this] { run(); }) {}

StreamWaker::~StreamWaker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_one();
  thread_.join();
}

void StreamWaker::wake(std::weak_ptr<TraceStream> stream) {
  {
    std::lock_guard lock(mutex_);
    due_.push_back(std::move(stream));
  }
  ready_.notify_one();
}

void StreamWaker::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ready_.wait(lock, [this] { return stopping_ || !due_.empty(); });
    if (due_.empty()) return;  // stopping and drained
    std::weak_ptr<TraceStream> due = std::move(due_.front());
    due_.pop_front();
    lock.unlock();
    if (auto stream = due.lock()) stream->write_next();
    lock.lock();
  }
}

void StreamCount::add() {
  std::lock_guard lock(mutex_);
  ++running_;
}

void StreamCount::remove() {
  {
    std::lock_guard lock(mutex_);
    --running_;
  }
  changed_.notify_all();
}

bool StreamCount::wait_none(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return running_ == 0; });
}

TraceStream* TraceStream::start(Engine& engine, StreamWaker& waker, StreamCount& count,
                                size_t queue_capacity, const v1::TraceFilter& request) {
  std::shared_ptr<TraceStream> stream(new TraceStream(engine, waker, count));
  stream->self_ = stream;
  count.add();
  TraceFilter filter;
  if (auto status = check_request(request); !status.ok()) {
    stream->Finish(status);
  } else if (auto status = to_stack_filter(request, filter); !status.ok()) {
    stream->Finish(status);
  } else {
    stream->open(filter, queue_capacity);
  }
  return stream.get();
}

void TraceStream::open(const TraceFilter& filter, size_t queue_capacity) {
  queue_ = std::make_shared<LiveQueue>(queue_capacity,
                                       [stream = weak_from_this(), &waker = waker_] { waker.wake(stream); });
  // The engine opens the subscription when it gets to it; a refusal ends the
  // stream with its reason.
  auto refuse = [this](grpc::Status status) {
    {
      std::lock_guard lock(mutex_);
      end_status_ = std::move(status);
    }
    queue_->close();
  };
  try {
    engine_.post([self = shared_from_this(), filter, refuse](EngineState& state) {
      if (auto id = state.hub.open_live(*state.stack, filter, self->queue_)) {
        self->id_ = *id;
        self->queue_->announce();
        return;
      }
      refuse(too_many_subscriptions(state.hub));
    });
  } catch (const EngineStopped& e) {
    refuse(grpc::Status(grpc::StatusCode::UNAVAILABLE, e.what()));
  }
}

void TraceStream::write_next() {
  bool broken = false;
  grpc::Status end_status;
  {
    std::lock_guard lock(mutex_);
    broken = broken_;
    end_status = end_status_;
  }
  // The turn is never given back after Finish: nothing runs here again.
  if (broken) return Finish(grpc::Status::CANCELLED);
  LiveQueue::Item item = queue_->next();
  out_.Clear();
  switch (item.kind) {
    case LiveQueue::Item::kIdle:
      return;  // the next push wakes this stream again
    case LiveQueue::Item::kLive:
      return StartSendInitialMetadata();  // the turn goes on in OnSendInitialMetadataDone
    case LiveQueue::Item::kEnd:
      return Finish(end_status);
    case LiveQueue::Item::kEvent:
      item.event.with_front([this](const TraceRecord& r) { to_proto(r, out_); });
      break;
    case LiveQueue::Item::kLost: {
      out_.set_time_ns(item.lost_time_ns);
      out_.set_name("trace:lost");
      auto* field = out_.add_fields();
      field->set_key("count");
      field->set_value(std::to_string(item.lost));
      break;
    }
  }
  StartWrite(&out_);
}

void TraceStream::OnSendInitialMetadataDone(bool ok) { OnWriteDone(ok); }

void TraceStream::OnWriteDone(bool ok) {
  if (!ok) {
    std::lock_guard lock(mutex_);
    broken_ = true;
  }
  write_next();
}

void TraceStream::OnCancel() {
  {
    std::lock_guard lock(mutex_);
    broken_ = true;
  }
  // Hands the turn to an idle stream, which then finishes; a stream with a
  // write in flight finishes when the write completes.
  if (queue_) queue_->close();
}

void TraceStream::OnDone() {
  try {
    engine_.post([self = shared_from_this()](EngineState& state) {
      state.hub.close_live(*state.stack, self->id_);
    });
  } catch (const EngineStopped&) {
    // The engine, and the subscription with it, are already gone.
  }
  count_.remove();
  self_.reset();  // may be the last reference: nothing touches this after
}

}  // namespace nettwin::server
