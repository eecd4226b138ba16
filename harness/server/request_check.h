// Checks every request of every service the same way, whatever its type:
//  - check_request(): called first by each handler (and on each message a
//    stream reads), walks the message by reflection and refuses a string field
//    longer than kMaxStringBytes, naming the field;
//  - the request-parse interceptor: protobuf refuses a proto3 string that is
//    not valid UTF-8 while parsing, before any handler runs, and gRPC would
//    answer INTERNAL with an empty message; the interceptor turns that into
//    INVALID_ARGUMENT naming the field.
#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <cstddef>
#include <memory>

namespace nettwin::server {

// The longest string any request may carry (proto/nettwin.proto says so too):
// PATH_MAX, far above any name, address or pattern a request holds.
constexpr size_t kMaxStringBytes = 4096;

// OK, or INVALID_ARGUMENT naming the first string field that is too long
// ("field events[3] (nettwin.v1.TraceFilter.events) is 5000 bytes ...").
grpc::Status check_request(const google::protobuf::Message& request);

// For ServerBuilder::experimental().SetInterceptorCreators. Creating it also
// hooks protobuf's log, where the name of a field that is not UTF-8 appears.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> request_parse_interceptor();

}  // namespace nettwin::server
