// The one thread that owns the stack. The stack is single-threaded and takes no
// locks, so gRPC handler threads never touch it: they post a closure here and,
// when they need the answer, wait for it.
//
// In live mode the thread also has work of its own between closures (frames on
// a TAP, timers on the real clock): an idle function that may sleep in poll()
// on the thread's wake descriptor, an eventfd that post() and stop() signal.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
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
  // idle(state, wake_fd) runs whenever no closure is waiting, and once between
  // closures. wake_fd >= 0: it may wait until wake_fd is readable (a closure
  // came, or stop()); -1: it must not wait.
  using Idle = std::function<void(State&, int wake_fd)>;

  template <class Factory>
  explicit EngineThread(Factory make_state, Idle idle = {}) : idle_(std::move(idle)) {
    if (idle_) {
      wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
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

  ~EngineThread() {
    stop();
    if (wake_fd_ >= 0) close(wake_fd_);
  }

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
    wake();
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
    wake();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void wake() {
    wake_.notify_one();
    if (wake_fd_ >= 0) {
      const uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof one);  // only fails when the counter is already huge
    }
  }

  // Idle work, then the next closure if there is one. Without an idle
  // function, wait for a closure.
  void wait_for_job(std::unique_lock<std::mutex>& lock) {
    if (!idle_) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      return;
    }
    const bool may_wait = queue_.empty() && !stopping_;
    lock.unlock();
    idle_(*state_, may_wait ? wake_fd_ : -1);
    if (may_wait) {
      uint64_t count;
      (void)!read(wake_fd_, &count, sizeof count);  // rearm; a later post() signals again
    }
    lock.lock();
  }

  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wait_for_job(lock);
      if (queue_.empty()) {
        if (stopping_) return;  // stopping and drained
        continue;
      }
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
  Idle idle_;
  int wake_fd_ = -1;
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace nettwin::server
