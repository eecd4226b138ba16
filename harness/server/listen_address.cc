#include "listen_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "text_parse.h"

namespace nettwin::server {

namespace {

constexpr size_t kMaxUnixPath = sizeof(sockaddr_un::sun_path) - 1;

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  const auto addr = parse_ipv4(host);
  return addr && (*addr >> 24) == 127;  // 127.0.0.0/8
}

}  // namespace

std::variant<ListenAddress, std::string> parse_listen_address(std::string_view text,
                                                              bool allow_remote) {
  ListenAddress out;
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    if (path.starts_with("//")) path.remove_prefix(2);  // unix:///abs/path
    if (path.empty()) return std::string("listen address ") + quoted(text) + " has no socket path";
    if (path.size() > kMaxUnixPath)
      return "unix socket path " + quoted(path) + " is longer than " +
             std::to_string(kMaxUnixPath) + " bytes";
    out.unix_path = std::string(path);
    out.uri = "unix:" + out.unix_path;
    return out;
  }

  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return "listen address " + quoted(text) +
           " is neither unix:PATH nor HOST:PORT (e.g. 127.0.0.1:50051)";
  const std::string_view host = text.substr(0, colon);
  const auto port = parse_u64(text.substr(colon + 1));
  if (!port || *port > 65535)
    return "listen address " + quoted(text) + " has no valid port (0..65535)";
  if (host.front() == '[' && host.back() != ']')
    return "listen address " + quoted(text) + " has an unterminated IPv6 bracket";
  if (!is_loopback_host(host) && !allow_remote)
    return "refusing to listen on " + quoted(text) +
           ": not a Unix socket or loopback address (127.0.0.0/8, [::1], localhost); "
           "pass --allow-remote to expose the stack on the network";
  out.uri = std::string(text);
  out.tcp = true;
  out.tcp_host = std::string(host);
  return out;
}

std::string default_listen_address() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  const std::string dir = runtime && *runtime ? runtime : "/tmp";
  return "unix:" + dir + "/nettwin-" + std::to_string(getpid()) + ".sock";
}

std::string prepare_unix_path(const std::string& path) {
  struct stat st{};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return "";
    return "cannot use " + quoted(path) + ": " + std::strerror(errno);
  }
  if (!S_ISSOCK(st.st_mode)) return quoted(path) + " exists and is not a socket";

  // Someone listening there? Then it is not ours to take over.
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket(AF_UNIX): ") + std::strerror(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  const bool live = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  if (live) return "another server is listening on " + quoted(path);
  if (unlink(path.c_str()) != 0)
    return "cannot remove stale socket " + quoted(path) + ": " + std::strerror(errno);
  return "";
}

}  // namespace nettwin::server
