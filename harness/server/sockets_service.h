// Sockets: the BSD socket calls of a process in the DUT (stack/socket/syscalls.h),
// in the manner of gVisor's posix_server - return value and errno in the reply.
#pragma once

#include "engine_state.h"
#include "nettwin.grpc.pb.h"

namespace nettwin::server {

class SocketsService final : public v1::Sockets::Service {
 public:
  explicit SocketsService(Engine& engine) : engine_(engine) {}

  grpc::Status Socket(grpc::ServerContext*, const v1::SocketRequest*, v1::SockReply*) override;
  grpc::Status Bind(grpc::ServerContext*, const v1::SockAddrRequest*, v1::SockReply*) override;
  grpc::Status Connect(grpc::ServerContext*, const v1::SockAddrRequest*, v1::SockReply*) override;
  grpc::Status Listen(grpc::ServerContext*, const v1::ListenRequest*, v1::SockReply*) override;
  grpc::Status Accept(grpc::ServerContext*, const v1::AcceptRequest*, v1::SockReply*) override;
  grpc::Status SendTo(grpc::ServerContext*, const v1::SendRequest*, v1::SockReply*) override;
  grpc::Status SendMsg(grpc::ServerContext*, const v1::SendRequest*, v1::SockReply*) override;
  grpc::Status RecvFrom(grpc::ServerContext*, const v1::RecvRequest*, v1::SockReply*) override;
  grpc::Status RecvMsg(grpc::ServerContext*, const v1::RecvRequest*, v1::SockReply*) override;
  grpc::Status Shutdown(grpc::ServerContext*, const v1::ShutdownRequest*, v1::SockReply*) override;
  grpc::Status Close(grpc::ServerContext*, const v1::FdRequest*, v1::SockReply*) override;
  grpc::Status SetSockOpt(grpc::ServerContext*, const v1::SockOptRequest*, v1::SockReply*) override;
  grpc::Status GetSockOpt(grpc::ServerContext*, const v1::SockOptRequest*, v1::SockReply*) override;
  grpc::Status GetSockName(grpc::ServerContext*, const v1::FdRequest*, v1::SockReply*) override;
  grpc::Status GetPeerName(grpc::ServerContext*, const v1::FdRequest*, v1::SockReply*) override;
  grpc::Status Poll(grpc::ServerContext*, const v1::PollRequest*, v1::SockReply*) override;
  grpc::Status Fcntl(grpc::ServerContext*, const v1::FcntlRequest*, v1::SockReply*) override;
  grpc::Status Ioctl(grpc::ServerContext*, const v1::IoctlRequest*, v1::SockReply*) override;
  grpc::Status EpollCreate(grpc::ServerContext*, const v1::EpollCreateRequest*, v1::SockReply*) override;
  grpc::Status EpollCtl(grpc::ServerContext*, const v1::EpollCtlRequest*, v1::SockReply*) override;
  grpc::Status EpollWait(grpc::ServerContext*, const v1::EpollWaitRequest*, v1::SockReply*) override;
  grpc::Status ListSockets(grpc::ServerContext*, const v1::ListSocketsRequest*, v1::SocketList*) override;

 private:
  Engine& engine_;
};

}  // namespace nettwin::server
