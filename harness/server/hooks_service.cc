#include "hooks_service.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/drop_reason.h"
#include "request_check.h"

namespace nettwin::server {

namespace {

constexpr uint32_t kDefaultTimeoutMs = 1000;
constexpr uint32_t kMaxTimeoutMs = 60000;
constexpr std::chrono::milliseconds kPoll{100};

const char* const kHookNames[] = {"PRE_ROUTING", "LOCAL_IN", "FORWARD", "LOCAL_OUT", "POST_ROUTING"};

// What the engine thread (the hook callback) and the stream's threads share.
struct Channel {
  std::mutex m;
  std::condition_variable cv;
  bool closed = false;       // the client went away: every packet takes the default
  std::string error;         // a bad client message: the stream ends with it
  std::optional<v1::HookPacket> outgoing;
  uint64_t next_seq = 1;
  uint64_t waiting_seq = 0;  // the packet the engine waits for, 0: none
  std::optional<v1::Verdict> answer;
};

std::string check_verdict(const v1::Verdict& v) {
  if (!v1::Verdict::Kind_IsValid(v.kind())) return "verdict kind " + std::to_string(v.kind()) + " is unknown";
  if (!v.drop_reason().empty()) {
    if (v.kind() != v1::Verdict::DROP) return "a drop_reason is only for a DROP verdict";
    bool known = false;
    for (unsigned i = 1; i < unsigned(SkbDropReason::MAX); ++i)
      known = known || v.drop_reason() == drop_reason_name(SkbDropReason(i));
    if (!known) return "unknown drop reason " + quoted(v.drop_reason());
  }
  if (v.data().size() > 65535) return "verdict data is longer than an IPv4 packet (65535 bytes)";
  return "";
}

HookVerdict to_stack(const v1::Verdict& v) {
  static const char* const kinds[] = {"accept", "drop", "stolen", "queue", "repeat"};
  HookVerdict out;
  out.verdict = kinds[v.kind()];
  out.drop_reason = v.drop_reason();
  if (!v.data().empty()) out.data = std::vector<uint8_t>(v.data().begin(), v.data().end());
  return out;
}

// Runs on the engine thread: hand the packet over, wait for its verdict.
HookVerdict exchange(Channel& ch, const HookPacket& p, std::chrono::milliseconds timeout, const v1::Verdict& dflt) {
  std::unique_lock lock(ch.m);
  if (ch.closed) return to_stack(dflt);
  v1::HookPacket out;
  out.set_seq(ch.next_seq++);
  out.set_hook(p.hook);
  out.set_skb(p.skb);
  out.set_time_ns(p.time_ns);
  out.set_in(p.in);
  out.set_out(p.out);
  out.set_data(std::string(p.data.begin(), p.data.end()));
  ch.waiting_seq = out.seq();
  ch.answer.reset();
  ch.outgoing = std::move(out);
  ch.cv.notify_all();
  const bool answered = ch.cv.wait_for(lock, timeout, [&] { return ch.answer.has_value() || ch.closed; });
  ch.waiting_seq = 0;
  ch.outgoing.reset();
  if (answered && ch.answer) {
    HookVerdict v = to_stack(*ch.answer);
    ch.answer.reset();
    return v;
  }
  return to_stack(dflt);
}

}  // namespace

grpc::Status HooksService::Attach(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::HookServerMessage, v1::HookClientMessage>* stream) {
  v1::HookClientMessage first;
  if (!stream->Read(&first)) return grpc::Status::OK;  // closed before arming
  if (auto status = check_request(first); !status.ok()) return status;
  if (!first.has_arm()) return invalid("the first message of a Hooks.Attach stream must be an Arm");
  const v1::Arm arm = first.arm();
  bool known = false;
  for (const char* name : kHookNames) known = known || arm.hook() == name;
  if (!known)
    return invalid("unknown hook point " + quoted(arm.hook()) +
                   " (PRE_ROUTING, LOCAL_IN, FORWARD, LOCAL_OUT, POST_ROUTING)");
  if (arm.timeout_ms() > kMaxTimeoutMs)
    return invalid("timeout_ms " + std::to_string(arm.timeout_ms()) + " is above " + std::to_string(kMaxTimeoutMs));
  const v1::Verdict dflt = arm.has_default_verdict() ? arm.default_verdict() : v1::Verdict();
  if (std::string why = check_verdict(dflt); !why.empty()) return invalid("default_verdict: " + why);
  if (!dflt.data().empty()) return invalid("default_verdict cannot carry data");
  const std::chrono::milliseconds timeout(arm.timeout_ms() ? arm.timeout_ms() : kDefaultTimeoutMs);

  auto ch = std::make_shared<Channel>();
  int id = 0;
  const Stack* armed_on = nullptr;
  grpc::Status status = run_on_engine(engine_, [&](EngineState& state) {
    auto r = state.stack->register_hook(
        arm.hook(), arm.priority(),
        [ch, timeout, dflt](const HookPacket& p) { return exchange(*ch, p, timeout, dflt); });
    if (auto* err = std::get_if<Error>(&r)) return from_error(*err, "arm hook " + arm.hook());
    id = std::get<int>(r);
    armed_on = state.stack.get();
    return grpc::Status::OK;
  });
  if (!status.ok()) return status;
  v1::HookServerMessage armed;
  armed.mutable_armed()->set_id(id);
  stream->Write(armed);

  // The reader: verdicts in; the end of the client's stream closes the channel.
  std::thread reader([&stream, ch] {
    v1::HookClientMessage msg;
    while (stream->Read(&msg)) {
      std::lock_guard lock(ch->m);
      if (auto status = check_request(msg); !status.ok()) {
        ch->error = status.error_message();
        break;
      }
      if (!msg.has_verdict()) {
        ch->error = "only Verdict messages may follow the Arm";
        break;
      }
      if (std::string why = check_verdict(msg.verdict()); !why.empty()) {
        ch->error = "verdict for packet " + std::to_string(msg.verdict().seq()) + ": " + why;
        break;
      }
      if (msg.verdict().seq() == ch->waiting_seq && ch->waiting_seq != 0) {
        ch->answer = msg.verdict();
        ch->cv.notify_all();
      }  // else: a late answer for a packet that already took the default
    }
    std::lock_guard lock(ch->m);
    ch->closed = true;
    ch->cv.notify_all();
  });

  // The writer (this thread): packets out until the stream closes.
  for (;;) {
    std::unique_lock lock(ch->m);
    ch->cv.wait_for(lock, kPoll, [&] { return ch->closed || (ch->outgoing && ch->outgoing->seq()); });
    if (context->IsCancelled()) {
      ch->closed = true;
      ch->cv.notify_all();
    }
    if (ch->closed) break;
    if (!ch->outgoing || !ch->outgoing->seq()) continue;
    v1::HookServerMessage msg;
    *msg.mutable_packet() = *ch->outgoing;
    ch->outgoing->set_seq(0);  // sent; the engine keeps waiting for its answer
    lock.unlock();
    if (!stream->Write(msg)) {
      std::lock_guard relock(ch->m);
      ch->closed = true;
      ch->cv.notify_all();
      break;
    }
  }
  if (context->IsCancelled()) context->TryCancel();
  reader.join();
  // Disarm, unless a Reset replaced the stack the hook was armed on.
  run_on_engine(engine_, [&](EngineState& state) {
    if (state.stack.get() == armed_on) state.stack->unregister_hook(id);
    return grpc::Status::OK;
  });
  std::lock_guard lock(ch->m);
  return ch->error.empty() ? grpc::Status::OK : invalid(ch->error);
}

}  // namespace nettwin::server
