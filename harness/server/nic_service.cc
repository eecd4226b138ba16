#include "nic_service.h"

#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "counters_reply.h"
#include "packed_blobs.h"
#include "reply_budget.h"
#include "request_check.h"

namespace nettwin::server {

namespace {

// Batches a stream may have queued on the engine thread while the handler reads
// the next one: the engine injects one batch while gRPC decodes the next.
constexpr size_t kMaxBatchesInFlight = 4;

// Counts one frame's fate into `reply`.
void count_injected(const InjectResult& injected, v1::InjectReply& reply) {
  if (injected.queued)
    reply.set_queued(reply.queued() + 1);
  else if (injected.link_down)
    reply.set_link_down(reply.link_down() + 1);
  else
    reply.set_rx_missed(reply.rx_missed() + 1);
}

// Engine thread. Runs the clock to the batch's run_until_ns, injects the batch
// (its frames, or its packed blob), adding its counts to `reply`, and runs the
// stack until idle when the batch asks for it.
// Over-long strings, empty frames and malformed blobs are refused before anything
// is injected; a frame the stack refuses stops the batch, and the message says how
// many frames before it went in.
grpc::Status inject_batch(EngineState& state, const v1::InjectRequest& request, v1::InjectReply& reply) {
  Stack& stack = *state.stack;
  if (auto status = check_request(request); !status.ok()) return status;
  if (auto status = check_run_until(request.run_until_ns()); !status.ok()) return status;
  const std::string& dev = request.dev();
  if (auto status = require_device(stack, dev); !status.ok()) return status;
  if (request.frames_size() > 0 && !request.packed().empty())
    return invalid("a batch for device " + quoted(dev) + " sets both frames and packed (nothing was injected)");
  for (int i = 0; i < request.frames_size(); ++i) {
    if (request.frames(i).data().empty())
      return invalid("frame " + std::to_string(i) + " for device " + quoted(dev) +
                     " is empty (nothing was injected)");
  }
  const PackedCount packed = count_packed(request.packed(), v1::MAX_PACKED_FRAMES);
  if (packed.error) return invalid(*packed.error + " (device " + quoted(dev) + "; nothing was injected)");
  if (auto status = run_clock_to(state, request.run_until_ns(), "Inject"); !status.ok()) return status;
  std::optional<grpc::Status> refused;
  size_t index = 0;
  auto inject_one = [&](std::span<const uint8_t> bytes) {
    auto result = stack.inject(dev, bytes);
    if (const auto* error = std::get_if<Error>(&result)) {
      refused = invalid("inject into " + quoted(dev) + ": frame " + std::to_string(index) + " of " +
                        std::to_string(bytes.size()) + " bytes: " + error->message + " (" +
                        std::to_string(index) + " frames before it were injected)");
      return false;
    }
    count_injected(std::get<InjectResult>(result), reply);
    ++index;
    return true;
  };
  for (const v1::Frame& frame : request.frames()) {
    const std::string& data = frame.data();
    if (!inject_one(std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()))) break;
  }
  for_each_packed(request.packed(), inject_one);
  if (refused) return *refused;
  if (request.run_until_idle()) stack.run_until_idle();
  return grpc::Status::OK;
}

grpc::Status with_batch_number(const grpc::Status& status, uint64_t batch) {
  if (status.ok()) return status;
  return grpc::Status(status.error_code(),
                      "batch " + std::to_string(batch) + ": " + status.error_message());
}

// Engine thread. ReadWire's work once the clock has run: the time, the counters
// when asked (charged to the budget first: the frames take what is left), and the
// frames that fit.
grpc::Status take_frames(EngineState& state, const v1::ReadWireRequest& request, ReplyBudget& budget,
                         v1::ReadWireReply& reply, WireTake& taken) {
  reply.set_now_ns(state.stack->now_ns());
  if (request.counters() && !budget.fits(counters_bytes(state)))
    return invalid("max_bytes " + std::to_string(request.max_bytes()) + " is too small for the counters (" +
                   std::to_string(budget.refused_bytes()) + " bytes); nothing was taken");
  taken = state.stack->take_wire(request.dev(), request.max(), [&](const std::string& dev, size_t len) {
    return budget.fits(request.packed() ? kPackedWireHeaderBytes + len : wire_frame_bytes(dev, len));
  });
  if (request.counters()) add_counters(state, *reply.mutable_counters());
  return grpc::Status::OK;
}

// Off the engine thread: the frames take_frames() took, into the reply.
grpc::Status put_frames(const v1::ReadWireRequest& request, const ReplyBudget& budget, WireTake& taken,
                        v1::ReadWireReply& reply) {
  if (taken.frames.empty() && budget.refused_bytes() > 0) {
    return invalid("max_bytes " + std::to_string(request.max_bytes()) + " is too small for the next frame (" +
                   std::to_string(budget.refused_bytes() + kReplyFieldsBytes) +
                   " bytes with the reply around it); nothing was taken");
  }
  if (request.packed()) {
    size_t bytes = 0;
    for (const WireFrame& frame : taken.frames) bytes += kPackedWireHeaderBytes + frame.data.size();
    std::string& out = *reply.mutable_packed();
    out.reserve(bytes);
    for (const WireFrame& frame : taken.frames) append_packed_wire(out, frame.ifindex, frame.time_ns, frame.data);
  } else {
    auto* out = reply.mutable_frames();
    out->Reserve(static_cast<int>(taken.frames.size()));
    for (WireFrame& frame : taken.frames) {
      auto* wire = out->Add();
      wire->set_dev(std::move(frame.dev));
      wire->set_ifindex(frame.ifindex);
      wire->set_time_ns(frame.time_ns);
      wire->set_data(frame.data.data(), frame.data.size());
    }
  }
  reply.set_remaining(taken.remaining);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status NicService::Inject(grpc::ServerContext*, const v1::InjectRequest* request,
                                v1::InjectReply* reply) {
  // read_wire: ReadWire {dev} once the batch is in, in the same engine step.
  v1::ReadWireRequest wire_request;
  wire_request.set_dev(request->dev());
  ReplyBudget budget(0);
  WireTake taken;
  const grpc::Status status = run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = inject_batch(state, *request, *reply); !status.ok() || !request->read_wire()) return status;
    return take_frames(state, wire_request, budget, *reply->mutable_wire(), taken);
  });
  if (!status.ok() || !request->read_wire()) return status;
  return put_frames(wire_request, budget, taken, *reply->mutable_wire());
}

grpc::Status NicService::InjectStream(grpc::ServerContext*,
                                      grpc::ServerReader<v1::InjectRequest>* reader,
                                      v1::InjectReply* reply) {
  // `total` is written on the engine thread only; each future's get() orders
  // those writes before the handler reads it.
  v1::InjectReply total;
  auto stop_injecting = std::make_shared<bool>(false);  // engine thread only
  std::deque<std::future<grpc::Status>> in_flight;
  grpc::Status failure = grpc::Status::OK;

  auto settle_oldest = [&] {
    grpc::Status status = in_flight.front().get();
    in_flight.pop_front();
    if (failure.ok() && !status.ok()) failure = status;
  };

  // On the way out with an exception, closures that still hold `total` must finish first.
  auto abandon_in_flight = [&] {
    for (auto& pending : in_flight) pending.wait();
    in_flight.clear();
  };

  try {
    uint64_t batch_number = 0;
    for (;;) {
      auto batch = std::make_shared<v1::InjectRequest>();
      if (!reader->Read(batch.get())) break;
      const uint64_t number = batch_number++;
      if (batch->read_wire()) {
        failure = with_batch_number(invalid("read_wire is for Nic.Inject, not a stream"), number);
        break;
      }
      in_flight.push_back(engine_.post([batch, number, &total, stop_injecting](EngineState& state) {
        // After a refused batch, the ones already queued behind it are skipped.
        if (*stop_injecting) return grpc::Status::OK;
        auto status = with_batch_number(inject_batch(state, *batch, total), number);
        if (!status.ok()) *stop_injecting = true;
        return status;
      }));
      while (in_flight.size() > kMaxBatchesInFlight || (!in_flight.empty() && !failure.ok())) {
        settle_oldest();
      }
      if (!failure.ok()) break;  // later batches are not injected
    }
    while (!in_flight.empty()) settle_oldest();
  } catch (const EngineStopped& e) {
    abandon_in_flight();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, e.what());
  } catch (const std::exception& e) {
    abandon_in_flight();
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string("stack failure: ") + e.what());
  }
  if (!failure.ok()) {
    return grpc::Status(failure.error_code(),
                        failure.error_message() + "; the stream stopped there, after " +
                            std::to_string(total.queued()) + " frames queued and " +
                            std::to_string(total.rx_missed()) + " missed");
  }
  *reply = total;
  return grpc::Status::OK;
}

grpc::Status NicService::ReadWire(grpc::ServerContext*, const v1::ReadWireRequest* request,
                                  v1::ReadWireReply* reply) {
  if (auto status = check_request(*request); !status.ok()) return status;
  if (auto status = check_run_until(request->run_until_ns()); !status.ok()) return status;
  // Only what fits in the reply leaves the wire; the rest waits for the next call.
  ReplyBudget budget(request->max_bytes());
  WireTake taken;
  const grpc::Status status = run_on_engine(engine_, [&](EngineState& state) {
    if (!request->dev().empty()) {
      if (auto status = require_device(*state.stack, request->dev()); !status.ok()) return status;
    }
    if (auto status = run_clock_to(state, request->run_until_ns(), "ReadWire"); !status.ok()) return status;
    return take_frames(state, *request, budget, *reply, taken);
  });
  if (!status.ok()) return status;
  return put_frames(*request, budget, taken, *reply);
}

grpc::Status NicService::SetLink(grpc::ServerContext*, const v1::LinkRequest* request,
                                 v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = require_device(*state.stack, request->dev()); !status.ok()) return status;
    return from_status(state.stack->set_link(request->dev(), request->up()),
                       "set link of " + quoted(request->dev()));
  });
}

grpc::Status NicService::SetWireLimit(grpc::ServerContext*, const v1::WireLimit* request,
                                      v1::WireLimit* reply) {
  if (auto status = check_request(*request); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = require_device(*state.stack, request->dev()); !status.ok()) return status;
    auto result = state.stack->set_wire_limit(request->dev(), request->frames(), request->bytes());
    if (const auto* error = std::get_if<Error>(&result)) return from_error(*error, "set wire limit");
    const WireLimit& limit = std::get<WireLimit>(result);
    reply->set_dev(request->dev());
    reply->set_frames(static_cast<uint32_t>(limit.frames));
    reply->set_bytes(limit.bytes);
    return grpc::Status::OK;
  });
}

}  // namespace nettwin::server
