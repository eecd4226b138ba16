#include "replay_listeners.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "replay_tcp_frame.h"
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
    ports_.push_back(port);
  }
  return "";
}

void ReplayListeners::serve(Stack& stack) {
  Net& net = stack.net();
  for (int listener : listeners_)
    for (int fd; (fd = sys_accept4(net, listener, nullptr, SOCK_NONBLOCK_, 0)) >= 0;) {
      SockaddrIn peer, local;
      sys_getpeername(net, fd, &peer);
      sys_getsockname(net, fd, &local);
      connections_.push_back({fd, peer.addr, peer.port, local.port});
    }
  RecvMsg msg;
  msg.len = kReadChunk;
  for (Connection& c : connections_) {
    int n;
    while ((n = sys_recvmsg(net, c.fd, msg, MSG_DONTWAIT_, 0)) > 0) msg.data.clear();
    if (n == 0) c.peer_closed = true;
  }
}

void ReplayListeners::see_dut_frame(Stack& stack, std::span<const uint8_t> f) {
  const TcpAt t = find_tcp(f);
  if (!t.tcp || !(f[t.tcp + 13] & kTcpFin) || (f[t.tcp + 13] & kTcpRst)) return;
  const uint16_t port = get16(&f[t.tcp]);
  if (std::find(ports_.begin(), ports_.end(), port) == ports_.end()) return;
  serve(stack);  // what arrived before the close is read, as the program read it
  const uint32_t peer = get32(&f[t.ip + 16]);
  const uint16_t peer_port = get16(&f[t.tcp + 2]);
  std::erase_if(connections_, [&](const Connection& c) {
    if (c.peer != peer || c.peer_port != peer_port || c.port != port) return false;
    sys_close(stack.net(), c.fd);
    return true;
  });
}

void ReplayListeners::close_finished(Stack& stack) {
  serve(stack);
  std::erase_if(connections_, [&](const Connection& c) {
    if (!c.peer_closed) return false;
    sys_close(stack.net(), c.fd);  // the peer closed: so does the program, as a server does
    return true;
  });
}

}  // namespace nettwin::server
