#include "request_check.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine_state.h"

namespace nettwin::server {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::optional<std::string> too_long(const FieldDescriptor& field, const std::string& path, size_t size) {
  if (size <= kMaxStringBytes) return std::nullopt;
  return "field " + path + " (" + field.full_name() + ") is " + std::to_string(size) +
         " bytes long; a string may have at most " + std::to_string(kMaxStringBytes);
}

// Whether a message type can hold a string at all: a batch of frames then costs
// no walk through each frame.
bool holds_strings(const google::protobuf::Descriptor& type, int depth = 0) {
  if (depth > 16) return true;  // deeper than any request: walk it rather than guess
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (field.type() == FieldDescriptor::TYPE_STRING) return true;
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && holds_strings(*field.message_type(), depth + 1))
      return true;
  }
  return false;
}

// The first over-long string under `message`, its path written from `prefix`.
std::optional<std::string> find_long_string(const Message& message, const std::string& prefix) {
  const Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);  // only the fields that are set
  std::string scratch;  // the string accessors copy here only if they must
  for (const FieldDescriptor* field : fields) {
    const std::string path = prefix + field->name();
    const bool is_string = field->type() == FieldDescriptor::TYPE_STRING;
    const bool is_message = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (!is_string && !(is_message && holds_strings(*field->message_type()))) continue;
    if (!field->is_repeated()) {
      auto problem = is_string ? too_long(*field, path, reflection.GetStringReference(message, field, &scratch).size())
                               : find_long_string(reflection.GetMessage(message, field), path + ".");
      if (problem) return problem;
      continue;
    }
    for (int i = 0, n = reflection.FieldSize(message, field); i < n; ++i) {
      const std::string item = path + "[" + std::to_string(i) + "]";
      auto problem = is_string
                         ? too_long(*field, item, reflection.GetRepeatedStringReference(message, field, i, &scratch).size())
                         : find_long_string(reflection.GetRepeatedMessage(message, field, i), item + ".");
      if (problem) return problem;
    }
  }
  return std::nullopt;
}

// protobuf names the offending field only in its log ("String field
// 'nettwin.v1.InjectRequest.dev' contains invalid UTF-8 data when parsing a
// protocol buffer. ..."). The parse and the interceptor's look at the received
// message run on the same thread, so the name is passed through a thread_local.
thread_local std::string utf8_failure_field;
google::protobuf::LogHandler* previous_log_handler = nullptr;

void log_handler(google::protobuf::LogLevel level, const char* filename, int line,
                 const std::string& message) {
  static const std::string kPrefix = "String field '";
  if (message.compare(0, kPrefix.size(), kPrefix) == 0 &&
      message.find("invalid UTF-8") != std::string::npos) {
    const size_t end = message.find('\'', kPrefix.size());
    if (end != std::string::npos) utf8_failure_field = message.substr(kPrefix.size(), end - kPrefix.size());
  }
  if (previous_log_handler) previous_log_handler(level, filename, line, message);
}

std::string take_utf8_failure() {
  std::string field;
  field.swap(utf8_failure_field);
  return field;
}

// "/nettwin.v1.Nic/Inject" -> "nettwin.v1.InjectRequest".
std::string request_type_of(const char* grpc_method) {
  std::string name = grpc_method ? grpc_method : "";
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  for (char& c : name)
    if (c == '/') c = '.';
  const auto* method = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
  return method ? method->input_type()->full_name() : "request";
}

using grpc::experimental::InterceptionHookPoints;

class RequestParseInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit RequestParseInterceptor(grpc::experimental::ServerRpcInfo* info) : info_(info) {
    take_utf8_failure();  // nothing left over from an earlier call on this thread
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      note_unparsed_message();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      std::lock_guard lock(mutex_);
      if (!problem_.empty()) methods->ModifySendStatus(invalid(problem_));
    }
    methods->Proceed();
  }

 private:
  // No message: the request did not parse, or (on a stream) the client closed it.
  void note_unparsed_message() {
    const std::string field = take_utf8_failure();
    const auto type = info_->type();
    const bool single_request = type == grpc::experimental::ServerRpcInfo::Type::UNARY ||
                                type == grpc::experimental::ServerRpcInfo::Type::SERVER_STREAMING;
    std::lock_guard lock(mutex_);
    if (!problem_.empty()) return;
    if (!field.empty())
      problem_ = "string field " + field + " is not valid UTF-8 (use only UTF-8 text in strings)";
    else if (single_request)
      problem_ = "the request is not a valid " + request_type_of(info_->method()) + " message";
  }

  grpc::experimental::ServerRpcInfo* info_;
  std::mutex mutex_;  // a stream may read on another thread than the one that answers
  std::string problem_;
};

class RequestParseInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new RequestParseInterceptor(info);
  }
};

}  // namespace

grpc::Status check_request(const Message& request) {
  if (auto problem = find_long_string(request, "")) return invalid(*problem);
  return grpc::Status::OK;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> request_parse_interceptor() {
  static std::once_flag hooked;
  std::call_once(hooked, [] { previous_log_handler = google::protobuf::SetLogHandler(&log_handler); });
  return std::make_unique<RequestParseInterceptorFactory>();
}

}  // namespace nettwin::server
