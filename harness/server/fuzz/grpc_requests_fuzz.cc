// Fuzz target: every unary gRPC request type, called in process on the service
// objects nettwin-server registers, around a live stack on its engine thread.
//
// The input is a sequence of calls: [method index][length, 2 bytes big-endian]
// [serialized request]. The index picks one of kMethods (modulo its size); bytes
// that do not parse as that request are skipped, as gRPC would refuse them. Each
// input starts from a fresh engine whose stack has a ring NIC (ntring0,
// 198.51.100.2/24) and a veth end (ntveth0, 203.0.113.2/24). Streaming calls
// (Nic.InjectStream, Trace.Stream, Hooks.Attach) need a stream and are not here.
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/grpcpp.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "control_service.h"
#include "engine_state.h"
#include "fuzz/fuzz_devices.h"
#include "nic_service.h"
#include "sockets_service.h"
#include "trace_service.h"

namespace {

using namespace nettwin;
using namespace nettwin::server;

struct Server {
  Engine engine{[] { return std::make_unique<EngineState>(1, 4096, 16, 1 << 16); }};
  NicService nic{engine};
  TraceService trace{engine, 1024};
  ControlService control{engine};
  SocketsService sockets{engine};

  Server() {
    engine.call([](EngineState& state) { add_fuzz_devices(*state.stack); });
  }
  ~Server() { engine.stop(); }
};

using Method = std::function<void(Server&, std::span<const uint8_t>)>;

// One unary method: parse the request, call the service's implementation.
template <class Service, class Request, class Reply>
Method method(Service Server::*service,
              grpc::Status (Service::*call)(grpc::ServerContext*, const Request*, Reply*)) {
  return [service, call](Server& server, std::span<const uint8_t> bytes) {
    Request request;
    if (!request.ParseFromArray(bytes.data(), int(bytes.size()))) return;
    Reply reply;
    grpc::ServerContext context;
    (server.*service.*call)(&context, &request, &reply);
  };
}

// The order is the corpus format: append, never reorder.
const std::array<Method, 50> kMethods = {
    method(&Server::nic, &NicService::Inject),
    method(&Server::nic, &NicService::ReadWire),
    method(&Server::nic, &NicService::SetLink),
    method(&Server::trace, &TraceService::Open),
    method(&Server::trace, &TraceService::Read),
    method(&Server::trace, &TraceService::Close),
    method(&Server::control, &ControlService::CreateDevice),
    method(&Server::control, &ControlService::ListDevices),
    method(&Server::control, &ControlService::AddAddress),
    method(&Server::control, &ControlService::AddNeighbour),
    method(&Server::control, &ControlService::ListNeighbours),
    method(&Server::control, &ControlService::SetCoalesce),
    method(&Server::control, &ControlService::SetRingSize),
    method(&Server::control, &ControlService::SetTxQueueLen),
    method(&Server::control, &ControlService::SetSysctl),
    method(&Server::control, &ControlService::GetSysctl),
    method(&Server::control, &ControlService::Advance),
    method(&Server::control, &ControlService::RunUntil),
    method(&Server::control, &ControlService::RunUntilIdle),
    method(&Server::control, &ControlService::Now),
    method(&Server::control, &ControlService::ReadCounters),
    method(&Server::control, &ControlService::Reset),
    method(&Server::control, &ControlService::AddRoute),
    method(&Server::control, &ControlService::DelRoute),
    method(&Server::control, &ControlService::ListRoutes),
    method(&Server::control, &ControlService::AddRule),
    method(&Server::control, &ControlService::ListRules),
    method(&Server::sockets, &SocketsService::Socket),
    method(&Server::sockets, &SocketsService::Bind),
    method(&Server::sockets, &SocketsService::Connect),
    method(&Server::sockets, &SocketsService::Listen),
    method(&Server::sockets, &SocketsService::Accept),
    method(&Server::sockets, &SocketsService::SendTo),
    method(&Server::sockets, &SocketsService::SendMsg),
    method(&Server::sockets, &SocketsService::RecvFrom),
    method(&Server::sockets, &SocketsService::RecvMsg),
    method(&Server::sockets, &SocketsService::Shutdown),
    method(&Server::sockets, &SocketsService::Close),
    method(&Server::sockets, &SocketsService::SetSockOpt),
    method(&Server::sockets, &SocketsService::GetSockOpt),
    method(&Server::sockets, &SocketsService::GetSockName),
    method(&Server::sockets, &SocketsService::GetPeerName),
    method(&Server::sockets, &SocketsService::Poll),
    method(&Server::sockets, &SocketsService::Fcntl),
    method(&Server::nic, &NicService::SetWireLimit),
    method(&Server::sockets, &SocketsService::ListSockets),
    method(&Server::sockets, &SocketsService::EpollCreate),
    method(&Server::sockets, &SocketsService::EpollCtl),
    method(&Server::sockets, &SocketsService::EpollWait),
    method(&Server::control, &ControlService::ReplaceRoute),
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Requests that do not parse are expected: no log line each.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  Server server;
  const std::span<const uint8_t> input(data, size);
  size_t at = 0;
  while (at + 3 <= input.size()) {
    const size_t index = input[at] % kMethods.size();
    const size_t len = std::min<size_t>((size_t(input[at + 1]) << 8) | input[at + 2], input.size() - at - 3);
    kMethods[index](server, input.subspan(at + 3, len));
    at += 3 + len;
  }
  return 0;
}
