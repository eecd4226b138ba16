// Trace.Stream on gRPC's callback API: no thread waits per stream. The engine
// pushes a stream's events into its bounded LiveQueue and never waits for the
// client; the stream writes one message at a time. Its next write starts from
// gRPC's own threads when the previous one completes, or from the one
// StreamWaker thread when the engine pushes into a stream that had run dry. A
// client that reads slower than the stack produces loses events, counted.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "engine_state.h"
#include "live_queue.h"
#include "nettwin.grpc.pb.h"

namespace nettwin::server {

class TraceStream;

// One thread for every stream: it starts the write of a stream whose queue the
// engine (or a close) has just given something to.
class StreamWaker {
 public:
  StreamWaker();
  ~StreamWaker();
  StreamWaker(const StreamWaker&) = delete;
  StreamWaker& operator=(const StreamWaker&) = delete;

  void wake(std::weak_ptr<TraceStream> stream);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::weak_ptr<TraceStream>> due_;
  bool stopping_ = false;
  std::thread thread_;
};

// How many streams are running, so that a stopping server can let each one
// finish (with OK) before it shuts gRPC down.
class StreamCount {
 public:
  void add();
  void remove();
  // True when none is left before the timeout.
  bool wait_none(std::chrono::milliseconds timeout);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t running_ = 0;
};

class TraceStream final : public grpc::ServerWriteReactor<v1::TraceEvent>,
                          public std::enable_shared_from_this<TraceStream> {
 public:
  // Starts a stream for a call: the subscription is opened on the engine
  // thread without waiting for it; the initial metadata goes out once it is in
  // place, so a client that waits for it misses no event after that. gRPC holds the returned reactor until OnDone.
  static TraceStream* start(Engine& engine, StreamWaker& waker, StreamCount& count,
                            size_t queue_capacity, const v1::TraceFilter& request);

  // The stream's turn to write (see LiveQueue): write the next item or finish.
  void write_next();

  void OnSendInitialMetadataDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  TraceStream(Engine& engine, StreamWaker& waker, StreamCount& count)
      : engine_(engine), waker_(waker), count_(count) {}
  void open(const TraceFilter& filter, size_t queue_capacity);
  void finish(const grpc::Status& status);

  Engine& engine_;
  StreamWaker& waker_;
  StreamCount& count_;
  std::shared_ptr<TraceStream> self_;  // gRPC's hold on this stream, until OnDone
  std::shared_ptr<LiveQueue> queue_;
  uint64_t id_ = 0;  // the hub's id for the subscription; engine thread only
  v1::TraceEvent out_;  // the message being written
  std::mutex mutex_;
  bool broken_ = false;                        // cancelled, or a write failed
  grpc::Status end_status_ = grpc::Status::OK;  // what the stream ends with
};

}  // namespace nettwin::server
