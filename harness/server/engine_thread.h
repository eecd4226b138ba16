// The one thread that owns the stack. The stack is single-threaded and takes no
// locks, so gRPC handler threads never touch it: they post a closure here and,
// when they need the answer, wait for it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace nettwin::server {

// Thrown to a caller whose closure can no longer run (the server is stopping).
struct EngineStopped : std::runtime_error {
  EngineStopped() : std::runtime_error("the server is shutting down") {}
};

// State is whatever the engine owns (the stack and the trace subscriptions);
// it is created, used and destroyed on the engine thread only.
template <class State>
class EngineThread {
 public:
  template <class Factory>
  explicit EngineThread(Factory make_state) {
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, make_state = std::move(make_state), &ready]() mutable {
      try {
        state_ = make_state();
      } catch (...) {
        {
          std::lock_guard lock(mutex_);
          stopping_ = true;
        }
        ready.set_exception(std::current_exception());
        return;
      }
      ready.set_value();
      loop();
      state_.reset();
    });
    try {
      started.get();
    } catch (...) {
      thread_.join();
      throw;
    }
  }

  ~EngineThread() { stop(); }

  EngineThread(const EngineThread&) = delete;
  EngineThread& operator=(const EngineThread&) = delete;

  // Run f(State&) on the engine thread; the future carries its result or exception.
  template <class F>
  auto post(F f) -> std::future<std::invoke_result_t<F&, State&>> {
    using R = std::invoke_result_t<F&, State&>;
    auto task = std::make_shared<std::packaged_task<R()>>(
        [this, f = std::move(f)]() mutable { return f(*state_); });
    auto result = task->get_future();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) throw EngineStopped();
      queue_.emplace_back([task] { (*task)(); });
    }
    wake_.notify_one();
    return result;
  }

  // Post and wait: the handler's usual way in.
  template <class F>
  auto call(F f) -> std::invoke_result_t<F&, State&> {
    return post(std::move(f)).get();
  }

  // Run what is already queued, then end the thread. Later posts throw EngineStopped.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      auto job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      job();  // packaged_task: exceptions land in the caller's future
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace nettwin::server
