#include "live_tap.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <span>
#include <variant>

namespace nettwin::server {

namespace {

// Frames taken from the TAP per round, so that a flood cannot keep the engine
// from its timers and gRPC calls (a NAPI budget of sorts). Each round runs them.
constexpr int kReceiveBatch = 64;
// One read holds any frame a TAP can give (its MTU is at most 64 KiB).
constexpr size_t kFrameBuffer = 65536;

}  // namespace

std::function<uint64_t()> monotonic_clock() {
  const auto start = std::chrono::steady_clock::now();
  return [start] {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count());
  };
}

LiveTap::LiveTap(int fd, std::string dev, std::function<uint64_t()> now)
    : fd_(fd), dev_(std::move(dev)), now_(std::move(now)), buffer_(kFrameBuffer) {
  const int flags = fcntl(fd_, F_GETFL);
  if (flags >= 0) fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
}

LiveTap::~LiveTap() { close(fd_); }

std::optional<uint64_t> LiveTap::sleep_ns(std::optional<uint64_t> next_timer, uint64_t now) {
  if (!next_timer) return std::nullopt;
  return *next_timer > now ? *next_timer - now : 0;
}

void LiveTap::pump(Stack& stack, int wake_fd) {
  try {
    stack.run_until(now_());
    transmit(stack);
    wait(stack, wake_fd);
    if (readable_) {
      stack.run_until(now_());  // the frames arrive now, not when the wait began
      receive(stack);
    }
  } catch (const std::exception& e) {
    if (stack_failures_++ == 0) std::fprintf(stderr, "nettwin-server: live: stack failure: %s\n", e.what());
  }
}

void LiveTap::transmit(Stack& stack) {
  for (const WireFrame& frame : stack.take_wire(dev_)) {
    if (hung_up_ || write(fd_, frame.data.data(), frame.data.size()) != ssize_t(frame.data.size()))
      ++tap_tx_errors_;
    else
      ++tap_tx_;
  }
}

void LiveTap::receive(Stack& stack) {
  for (int i = 0; i < kReceiveBatch; ++i) {
    const ssize_t n = read(fd_, buffer_.data(), buffer_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: nothing more for now
    ++tap_rx_;
    const auto result = stack.inject(dev_, std::span<const uint8_t>(buffer_.data(), size_t(n)));
    if (std::holds_alternative<Error>(result)) ++inject_errors_;
  }
}

void LiveTap::wait(const Stack& stack, int wake_fd) {
  pollfd fds[2];
  nfds_t count = 0;
  if (!hung_up_) fds[count++] = {fd_, POLLIN, 0};
  if (wake_fd >= 0) fds[count++] = {wake_fd, POLLIN, 0};
  timespec timeout{0, 0};
  const timespec* sleep = &timeout;
  if (wake_fd >= 0) {
    const auto ns = sleep_ns(stack.next_timer_ns(), now_());
    if (ns) timeout = {time_t(*ns / 1'000'000'000), long(*ns % 1'000'000'000)};
    else sleep = nullptr;  // no timer: until a frame or a wake-up
  }
  readable_ = false;
  if (ppoll(fds, count, sleep, nullptr) <= 0 || hung_up_) return;
  if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
    // The interface is gone: stop polling it, or every later wait returns at once.
    hung_up_ = true;
    std::fprintf(stderr, "nettwin-server: live: the TAP for %s went away\n", dev_.c_str());
    return;
  }
  readable_ = fds[0].revents & POLLIN;
}

std::vector<std::pair<std::string, uint64_t>> LiveTap::counters() const {
  return {{"live.tap_rx", tap_rx_},
          {"live.tap_tx", tap_tx_},
          {"live.tap_tx_errors", tap_tx_errors_},
          {"live.inject_errors", inject_errors_},
          {"live.stack_failures", stack_failures_}};
}

}  // namespace nettwin::server
