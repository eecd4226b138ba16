// Where the server may listen: a Unix socket (the default), loopback TCP on
// request, anything else only with --allow-remote.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace nettwin::server {

struct ListenAddress {
  std::string uri;        // as handed to grpc::ServerBuilder::AddListeningPort
  std::string unix_path;  // set for "unix:" addresses (the file to check and remove)
  bool tcp = false;       // a TCP port: the printed address carries the bound port
  std::string tcp_host;   // "127.0.0.1", "[::1]", ...
};

// Text of --listen: "unix:/path/sock", "127.0.0.1:PORT", "[::1]:PORT",
// "localhost:PORT"; with allow_remote also any other "host:PORT".
// Returns the address or a message saying what is wrong.
std::variant<ListenAddress, std::string> parse_listen_address(std::string_view text,
                                                              bool allow_remote);

// unix:$XDG_RUNTIME_DIR/nettwin-<pid>.sock, or under /tmp without XDG_RUNTIME_DIR.
std::string default_listen_address();

// A Unix socket path already in use by a live server, or a file that is not a
// socket, is refused; a stale socket left by a dead server is removed.
// Returns a message when the path cannot be used.
std::string prepare_unix_path(const std::string& path);

}  // namespace nettwin::server
