#include "sockets_service.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

#include "request_check.h"
#include "stack/socket/eventpoll.h"
#include "stack/socket/sock_diag.h"
#include "stack/socket/syscalls.h"
#include "stack/wire/bytes.h"

namespace nettwin::server {

namespace {

constexpr uint64_t kMaxTimeoutNs = 3600ull * 1'000'000'000ull;  // one hour of virtual time
constexpr size_t kMaxData = 1 << 20;

// A request's address: INVALID_ARGUMENT when it is not one.
grpc::Status to_sockaddr(const v1::SockAddr& in, SockaddrIn& out, int& addrlen) {
  out = SockaddrIn{};
  if (!in.ip().empty() && !wire::parse_ipv4(in.ip(), &out.addr))
    return invalid("bad address ip " + quoted(in.ip()) + " (expected a dotted quad like \"198.51.100.2\")");
  if (in.port() > 65535) return invalid("bad port " + std::to_string(in.port()) + " (0..65535)");
  out.port = uint16_t(in.port());
  out.family = in.family() == 0 ? AF_INET_ : (in.family() == -1 ? AF_UNSPEC_ : in.family());
  if (in.addrlen() > 128) return invalid("addrlen " + std::to_string(in.addrlen()) + " is larger than 128");
  addrlen = in.addrlen() == 0 ? SOCKADDR_IN_LEN : int(in.addrlen());
  return grpc::Status::OK;
}

bool has_ll_fields(const v1::SockAddr& a) {
  return a.ifindex() || a.protocol() || a.pkttype() || a.hatype() || !a.hwaddr().empty();
}

// "aa:bb:..": one to eight bytes, two hex digits each.
bool parse_hwaddr(const std::string& text, SockaddrLl& out) {
  int n = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (n == 8 || i + 2 > text.size() || !std::isxdigit(uint8_t(text[i])) || !std::isxdigit(uint8_t(text[i + 1])))
      return false;
    out.addr[n++] = uint8_t(std::stoi(text.substr(i, 2), nullptr, 16));
    i += 2;
    if (i < text.size() && (text[i] != ':' || i + 1 == text.size())) return false;
    if (i < text.size()) ++i;
  }
  out.halen = uint8_t(n);
  return true;
}

// A request's address as a struct sockaddr_ll: INVALID_ARGUMENT when it is not one.
grpc::Status to_sockaddr_ll(const v1::SockAddr& in, SockaddrLl& out, int& addrlen) {
  out = SockaddrLl{};
  if (!in.ip().empty() || in.port())
    return invalid("an AF_PACKET address has no ip or port (use ifindex, protocol, hwaddr)");
  if (in.protocol() > 0xffff) return invalid("bad protocol " + std::to_string(in.protocol()) + " (an ethertype, 0..65535)");
  if (in.pkttype() > 0xff) return invalid("bad pkttype " + std::to_string(in.pkttype()) + " (0..255)");
  if (in.hatype() > 0xffff) return invalid("bad hatype " + std::to_string(in.hatype()) + " (0..65535)");
  if (!parse_hwaddr(in.hwaddr(), out))
    return invalid("bad hwaddr " + quoted(in.hwaddr()) + " (expected up to 8 bytes like \"02:00:00:00:01:01\")");
  if (in.addrlen() > 128) return invalid("addrlen " + std::to_string(in.addrlen()) + " is larger than 128");
  out.family = AF_PACKET_;
  out.ifindex = in.ifindex();
  out.protocol = uint16_t(in.protocol());
  out.pkttype = uint8_t(in.pkttype());
  out.hatype = uint16_t(in.hatype());
  addrlen = in.addrlen() == 0 ? SOCKADDR_LL_LEN : int(in.addrlen());
  return grpc::Status::OK;
}

// Either kind of address a request may carry.
struct ReqAddr {
  bool ll = false;
  SockaddrIn in;
  SockaddrLl lla;
  int len = 0;
};

grpc::Status to_req_addr(const v1::SockAddr& in, ReqAddr& out) {
  out.ll = in.family() == AF_PACKET_;
  if (out.ll) return to_sockaddr_ll(in, out.lla, out.len);
  if (has_ll_fields(in))
    return invalid("ifindex, protocol, pkttype, hatype and hwaddr belong to family AF_PACKET (17), not " +
                   std::to_string(in.family()));
  return to_sockaddr(in, out.in, out.len);
}

void from_sockaddr_ll(const SockaddrLl& in, v1::SockAddr& out) {
  out.set_family(in.family);
  out.set_ifindex(in.ifindex);
  out.set_protocol(in.protocol);
  out.set_pkttype(in.pkttype);
  out.set_hatype(in.hatype);
  std::string hw;
  static const char* digits = "0123456789abcdef";
  for (int i = 0; i < in.halen && i < 8; ++i) {
    if (i) hw += ':';
    hw += digits[in.addr[i] >> 4];
    hw += digits[in.addr[i] & 15];
  }
  out.set_hwaddr(hw);
}

void from_sockaddr(const SockaddrIn& in, v1::SockAddr& out) {
  out.set_ip(wire::format_ipv4(in.addr));
  out.set_port(in.port);
  out.set_family(in.family);
}

// The syscall's result in posix form: ret -1 and errno, or ret and errno 0.
void set_result(v1::SockReply* reply, int r, const Stack& stack) {
  if (r < 0) {
    reply->set_ret(-1);
    reply->set_errno_code(-r);
  } else {
    reply->set_ret(r);
    reply->set_errno_code(0);
  }
  reply->set_now_ns(stack.now_ns());
}

// One socket call on the engine thread: first the clock to the request's
// run_until_ns (run_clock_to, as Nic.Inject's), then `work`, in the same step.
template <class Request, class F>
grpc::Status on_engine(Engine& engine, const char* name, const Request& request, F work) {
  if (auto status = check_run_until(request.run_until_ns()); !status.ok()) return status;
  return run_on_engine(engine, [&](EngineState& state) {
    if (auto status = run_clock_to(state, request.run_until_ns(), name); !status.ok()) return status;
    return work(state);
  });
}

// A call whose reply is the syscall's result (and what `f` adds to it).
template <class Request, class F>
grpc::Status call(Engine& engine, const char* name, const Request& request, v1::SockReply* reply, F f) {
  return on_engine(engine, name, request, [&](EngineState& state) {
    set_result(reply, f(state.stack->net()), *state.stack);
    return grpc::Status::OK;
  });
}

grpc::Status check_timeout(uint64_t t) {
  if (t > kMaxTimeoutNs) return invalid("timeout_ns " + std::to_string(t) + " is more than one hour");
  return grpc::Status::OK;
}

grpc::Status do_send(Engine& engine, const char* name, const v1::SendRequest* request, v1::SockReply* reply) {
  if (request->data().size() > kMaxData) return invalid("data is larger than 1 MiB");
  ReqAddr to;
  if (request->has_to()) {
    if (auto s = to_req_addr(request->to(), to); !s.ok()) return s;
  }
  return call(engine, name, *request, reply, [&](Net& net) {
    SendMsg msg;
    msg.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(request->data().data()),
                                        request->data().size());
    msg.flags = request->flags();
    if (request->has_to()) {
      if (to.ll) msg.ll_name = &to.lla; else msg.name = &to.in;
      msg.namelen = to.len;
    }
    return sys_sendmsg(net, request->fd(), msg);
  });
}

grpc::Status do_recv(Engine& engine, const char* name, const v1::RecvRequest* request, v1::SockReply* reply) {
  if (auto s = check_timeout(request->timeout_ns()); !s.ok()) return s;
  if (request->len() > kMaxData) return invalid("len is larger than 1 MiB");
  return on_engine(engine, name, *request, [&](EngineState& state) {
    RecvMsg msg;
    msg.len = request->len();
    const int r = sys_recvmsg(state.stack->net(), request->fd(), msg, request->flags(), request->timeout_ns());
    set_result(reply, r, *state.stack);
    if (r >= 0) {
      reply->set_data(std::string(msg.data.begin(), msg.data.end()));
      if (msg.name) from_sockaddr(*msg.name, *reply->mutable_addr());
      if (msg.ll_name) from_sockaddr_ll(*msg.ll_name, *reply->mutable_addr());
      reply->set_msg_flags(msg.flags);
      if (msg.ee) {
        auto* ee = reply->mutable_ee();
        ee->set_ee_errno(msg.ee->ee_errno);
        ee->set_ee_origin(msg.ee->ee_origin);
        ee->set_ee_type(msg.ee->ee_type);
        ee->set_ee_code(msg.ee->ee_code);
        ee->set_ee_info(msg.ee->ee_info);
        ee->set_offender(wire::format_ipv4(msg.ee->offender.addr));
      }
    }
    return grpc::Status::OK;
  });
}

}  // namespace

grpc::Status SocketsService::Socket(grpc::ServerContext*, const v1::SocketRequest* r, v1::SockReply* reply) {
  return call(engine_, "Socket", *r, reply,
              [&](Net& net) { return sys_socket(net, r->domain(), r->type(), r->protocol()); });
}

grpc::Status SocketsService::Bind(grpc::ServerContext*, const v1::SockAddrRequest* r, v1::SockReply* reply) {
  if (auto status = check_request(*r); !status.ok()) return status;
  ReqAddr a;
  if (auto s = to_req_addr(r->addr(), a); !s.ok()) return s;
  return call(engine_, "Bind", *r, reply, [&](Net& net) {
    return a.ll ? sys_bind_ll(net, r->fd(), a.lla, a.len) : sys_bind(net, r->fd(), a.in, a.len);
  });
}

grpc::Status SocketsService::Connect(grpc::ServerContext*, const v1::SockAddrRequest* r, v1::SockReply* reply) {
  if (auto status = check_request(*r); !status.ok()) return status;
  ReqAddr a;
  if (auto s = to_req_addr(r->addr(), a); !s.ok()) return s;
  if (a.ll) a.in.family = AF_PACKET_;  // connect reads only the family of a sockaddr_ll
  return call(engine_, "Connect", *r, reply, [&](Net& net) { return sys_connect(net, r->fd(), a.in, a.len); });
}

grpc::Status SocketsService::Listen(grpc::ServerContext*, const v1::ListenRequest* r, v1::SockReply* reply) {
  return call(engine_, "Listen", *r, reply, [&](Net& net) { return sys_listen(net, r->fd(), r->backlog()); });
}

grpc::Status SocketsService::Accept(grpc::ServerContext*, const v1::AcceptRequest* r, v1::SockReply* reply) {
  if (r->timeout_ns() > kMaxTimeoutNs) return invalid("timeout_ns is larger than one hour");
  return call(engine_, "Accept", *r, reply, [&](Net& net) {
    SockaddrIn peer;
    const int ret = sys_accept4(net, r->fd(), &peer, r->flags(), r->timeout_ns());
    if (ret >= 0) from_sockaddr(peer, *reply->mutable_addr());
    return ret;
  });
}

grpc::Status SocketsService::SendTo(grpc::ServerContext*, const v1::SendRequest* r, v1::SockReply* reply) {
  if (auto status = check_request(*r); !status.ok()) return status;
  return do_send(engine_, "SendTo", r, reply);
}

grpc::Status SocketsService::SendMsg(grpc::ServerContext*, const v1::SendRequest* r, v1::SockReply* reply) {
  if (auto status = check_request(*r); !status.ok()) return status;
  return do_send(engine_, "SendMsg", r, reply);
}

grpc::Status SocketsService::RecvFrom(grpc::ServerContext*, const v1::RecvRequest* r, v1::SockReply* reply) {
  return do_recv(engine_, "RecvFrom", r, reply);
}

grpc::Status SocketsService::RecvMsg(grpc::ServerContext*, const v1::RecvRequest* r, v1::SockReply* reply) {
  return do_recv(engine_, "RecvMsg", r, reply);
}

grpc::Status SocketsService::Shutdown(grpc::ServerContext*, const v1::ShutdownRequest* r, v1::SockReply* reply) {
  return call(engine_, "Shutdown", *r, reply, [&](Net& net) { return sys_shutdown(net, r->fd(), r->how()); });
}

grpc::Status SocketsService::Close(grpc::ServerContext*, const v1::FdRequest* r, v1::SockReply* reply) {
  return call(engine_, "Close", *r, reply, [&](Net& net) { return sys_close(net, r->fd()); });
}

grpc::Status SocketsService::SetSockOpt(grpc::ServerContext*, const v1::SockOptRequest* r, v1::SockReply* reply) {
  if (r->optlen() > 4096) return invalid("optlen " + std::to_string(r->optlen()) + " is larger than 4096");
  if (r->has_optval()) {
    if (r->optval().size() > 4096) return invalid("optval is larger than 4096 bytes");
    return call(engine_, "SetSockOpt", *r, reply, [&](Net& net) {
      const auto* p = reinterpret_cast<const uint8_t*>(r->optval().data());
      return sys_setsockopt_bytes(net, r->fd(), r->level(), r->name(), {p, r->optval().size()});
    });
  }
  const int optlen = r->optlen() == 0 ? int(sizeof(int)) : int(r->optlen());
  return call(engine_, "SetSockOpt", *r, reply,
              [&](Net& net) { return sys_setsockopt(net, r->fd(), r->level(), r->name(), r->value(), optlen); });
}

grpc::Status SocketsService::GetSockOpt(grpc::ServerContext*, const v1::SockOptRequest* r, v1::SockReply* reply) {
  if (r->optlen() > 4096) return invalid("optlen " + std::to_string(r->optlen()) + " is larger than 4096");
  return call(engine_, "GetSockOpt", *r, reply, [&](Net& net) {
    std::vector<uint8_t> optval;
    const unsigned optlen = r->optlen() == 0 ? unsigned(sizeof(int)) : r->optlen();
    const int ret = sys_getsockopt_bytes(net, r->fd(), r->level(), r->name(), optlen, optval);
    if (ret == 0) {
      // value: the bytes read as an int (a shorter option zero-extended).
      uint8_t le[4] = {};
      std::copy_n(optval.begin(), std::min<size_t>(optval.size(), 4), le);
      int v;
      std::memcpy(&v, le, 4);
      reply->set_value(v);
      reply->set_optval(optval.data(), optval.size());
    }
    return ret;
  });
}

grpc::Status SocketsService::GetSockName(grpc::ServerContext*, const v1::FdRequest* r, v1::SockReply* reply) {
  return call(engine_, "GetSockName", *r, reply, [&](Net& net) {
    if (sys_sock_family(net, r->fd()) == AF_PACKET_) {
      SockaddrLl ll;
      const int ret = sys_getsockname_ll(net, r->fd(), &ll);
      if (ret == 0) from_sockaddr_ll(ll, *reply->mutable_addr());
      return ret;
    }
    SockaddrIn a;
    const int ret = sys_getsockname(net, r->fd(), &a);
    if (ret == 0) from_sockaddr(a, *reply->mutable_addr());
    return ret;
  });
}

grpc::Status SocketsService::GetPeerName(grpc::ServerContext*, const v1::FdRequest* r, v1::SockReply* reply) {
  return call(engine_, "GetPeerName", *r, reply, [&](Net& net) {
    SockaddrIn a;
    const int ret = sys_getpeername(net, r->fd(), &a);
    if (ret == 0) from_sockaddr(a, *reply->mutable_addr());
    return ret;
  });
}

grpc::Status SocketsService::Poll(grpc::ServerContext*, const v1::PollRequest* r, v1::SockReply* reply) {
  if (auto s = check_timeout(r->timeout_ns()); !s.ok()) return s;
  return call(engine_, "Poll", *r, reply, [&](Net& net) {
    const int revents = sys_poll(net, r->fd(), r->events(), r->timeout_ns());
    reply->set_value(revents);
    return revents ? 1 : 0;  // poll() returns the number of ready descriptors
  });
}

grpc::Status SocketsService::Fcntl(grpc::ServerContext*, const v1::FcntlRequest* r, v1::SockReply* reply) {
  return call(engine_, "Fcntl", *r, reply, [&](Net& net) {
    if (r->set()) return sys_fcntl_setfl(net, r->fd(), r->flags());
    const int flags = sys_fcntl_getfl(net, r->fd());
    if (flags >= 0) reply->set_value(flags);
    return flags;
  });
}

// sock_ioctl: the int the protocol's ioctl writes (tcp_ioctl), or ENOTTY.
grpc::Status SocketsService::Ioctl(grpc::ServerContext*, const v1::IoctlRequest* r, v1::SockReply* reply) {
  return call(engine_, "Ioctl", *r, reply, [&](Net& net) {
    int value = 0;
    const int ret = sys_ioctl(net, r->fd(), r->cmd(), &value);
    if (ret >= 0) reply->set_value(value);
    return ret;
  });
}

grpc::Status SocketsService::EpollCreate(grpc::ServerContext*, const v1::EpollCreateRequest* r,
                                         v1::SockReply* reply) {
  if (!r->create1() && r->flags())
    return invalid("flags belong to epoll_create1 (set create1); epoll_create takes a size");
  return call(engine_, "EpollCreate", *r, reply, [&](Net& net) {
    return r->create1() ? sys_epoll_create1(net, r->flags()) : sys_epoll_create(net, r->size());
  });
}

grpc::Status SocketsService::EpollCtl(grpc::ServerContext*, const v1::EpollCtlRequest* r, v1::SockReply* reply) {
  if ((r->op() == EPOLL_CTL_ADD_ || r->op() == EPOLL_CTL_MOD_) && !r->has_event())
    return invalid("event is required for EPOLL_CTL_ADD (1) and EPOLL_CTL_MOD (3)");
  return call(engine_, "EpollCtl", *r, reply, [&](Net& net) {
    return sys_epoll_ctl(net, r->epfd(), r->op(), r->fd(), EpollEvent{r->event().events(), r->event().data()});
  });
}

grpc::Status SocketsService::EpollWait(grpc::ServerContext*, const v1::EpollWaitRequest* r, v1::SockReply* reply) {
  if (auto s = check_timeout(r->timeout_ns()); !s.ok()) return s;
  return call(engine_, "EpollWait", *r, reply, [&](Net& net) {
    std::vector<EpollEvent> events;
    const int n = sys_epoll_wait(net, r->epfd(), events, r->maxevents(), r->timeout_ns());
    for (const EpollEvent& e : events) {
      v1::EpollEvent* out = reply->add_events();
      out->set_events(e.events);
      out->set_data(e.data);
    }
    return n;
  });
}

grpc::Status SocketsService::ListSockets(grpc::ServerContext*, const v1::ListSocketsRequest* r,
                                         v1::SocketList* reply) {
  if (auto s = check_request(*r); !s.ok()) return s;
  static const char* const kNetids[] = {"tcp", "udp", "raw", "packet"};
  for (const std::string& netid : r->netids()) {
    if (std::find(std::begin(kNetids), std::end(kNetids), netid) == std::end(kNetids))
      return invalid("netids: unknown netid \"" + netid + "\" (tcp, udp, raw or packet)");
  }
  const auto wanted = [&](const std::string& netid) {
    if (r->netids().empty()) return true;
    const std::string kind = netid.rfind("p_", 0) == 0 ? "packet" : netid;
    return std::find(r->netids().begin(), r->netids().end(), kind) != r->netids().end();
  };
  return run_on_engine(engine_, [&](EngineState& state) {
    for (const SockDiag& d : sock_diag_dump(state.stack->net())) {
      if (!wanted(d.netid)) continue;
      v1::SocketInfo* out = reply->add_sockets();
      out->set_fd(d.fd);
      out->set_netid(d.netid);
      out->set_state(ss_state_name(d.sk_state));
      out->set_sk_state(d.sk_state);
      out->set_recv_q(d.recv_q);
      out->set_send_q(d.send_q);
      out->set_local(d.local);
      out->set_peer(d.peer);
      out->set_timer(ss_timer(d));
      out->set_cc(d.cc);
      out->set_tcp_info(std::string(d.tcp_info.begin(), d.tcp_info.end()));
    }
    return grpc::Status::OK;
  });
}

}  // namespace nettwin::server
