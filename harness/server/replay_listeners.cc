#include "replay_listeners.h"

#include <cstring>
#include <vector>

#include "stack/socket/syscalls.h"
#include "stack/socket/uapi.h"

namespace nettwin::server {

namespace {
constexpr int kBacklog = 4096;           // net.core.somaxconn's default
constexpr size_t kReadChunk = 1 << 16;
}  // namespace

std::string ReplayListeners::listen(Stack& stack, uint32_t addr, const std::vector<uint16_t>& ports) {
  Net& net = stack.net();
  for (uint16_t port : ports) {
    const int fd = sys_socket(net, AF_INET_, int(SOCK_STREAM_) | int(SOCK_NONBLOCK_), 0);
    SockaddrIn where;
    where.port = port;
    where.addr = addr;
    int rc = fd < 0 ? fd : sys_bind(net, fd, where, SOCKADDR_IN_LEN);
    if (rc >= 0) rc = sys_listen(net, fd, kBacklog);
    if (rc < 0) return "listen on port " + std::to_string(port) + ": " + std::strerror(-rc);
    listeners_.push_back(fd);
  }
  return "";
}

void ReplayListeners::serve(Stack& stack) {
  Net& net = stack.net();
  for (int listener : listeners_)
    for (int fd; (fd = sys_accept4(net, listener, nullptr, SOCK_NONBLOCK_, 0)) >= 0;)
      connections_.push_back(fd);
  RecvMsg msg;
  msg.len = kReadChunk;
  std::erase_if(connections_, [&](int fd) {
    int n;
    while ((n = sys_recvmsg(net, fd, msg, MSG_DONTWAIT_, 0)) > 0) msg.data.clear();
    if (n != 0) return false;
    sys_close(net, fd);  // the peer closed: so does the program, as a server does
    return true;
  });
}

}  // namespace nettwin::server
