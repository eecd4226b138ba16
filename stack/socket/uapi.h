// The userspace ABI numbers a program passes to the socket calls, as Linux's
// uapi headers define them (asm-generic/socket.h, linux/in.h, linux/udp.h,
// linux/socket.h, linux/errqueue.h). Errno values are Linux's (asm-generic/errno*.h).
#pragma once

#include <cstdint>

namespace nettwin {

enum : int { AF_UNSPEC_ = 0, AF_INET_ = 2, AF_PACKET_ = 17 };
enum : int { SOCK_STREAM_ = 1, SOCK_DGRAM_ = 2, SOCK_RAW_ = 3, SOCK_PACKET_ = 10, SOCK_MAX_ = 11 };
enum : int { SOCK_NONBLOCK_ = 04000, SOCK_CLOEXEC_ = 02000000, SOCK_TYPE_MASK_ = 0xf };
enum : int { O_NONBLOCK_ = 04000 };

// Linux errno values.
enum : int {
  E_PERM = 1, E_NOENT = 2, E_NXIO = 6, E_BADF = 9, E_AGAIN = 11, E_NOMEM = 12, E_ACCES = 13, E_FAULT = 14, E_EXIST = 17, E_NODEV = 19, E_INVAL = 22,
  E_PIPE = 32, E_NOTSOCK = 88, E_DESTADDRREQ = 89, E_MSGSIZE = 90, E_PROTOTYPE = 91,
  E_NOPROTOOPT = 92, E_PROTONOSUPPORT = 93, E_SOCKTNOSUPPORT = 94, E_OPNOTSUPP = 95,
  E_AFNOSUPPORT = 97, E_ADDRINUSE = 98, E_ADDRNOTAVAIL = 99, E_NETDOWN = 100, E_NETUNREACH = 101,
  E_CONNRESET = 104, E_NOBUFS = 105, E_ISCONN = 106, E_NOTCONN = 107, E_SHUTDOWN = 108,
  E_CONNABORTED = 103, E_TIMEDOUT = 110, E_CONNREFUSED = 111, E_HOSTDOWN = 112, E_HOSTUNREACH = 113,
  E_ALREADY = 114, E_INPROGRESS = 115, E_LOOP = 40, E_NOTTY = 25, E_NOIOCTLCMD = 515,
};

// ioctl requests on sockets (asm-generic/ioctls.h, linux/sockios.h).
enum : unsigned { SIOCOUTQ_ = 0x5411, SIOCINQ_ = 0x541B, SIOCATMARK_ = 0x8905, SIOCOUTQNSD_ = 0x894B };

enum : int { IPPROTO_IP_ = 0, IPPROTO_ICMP_ = 1, IPPROTO_TCP_ = 6, IPPROTO_UDP_ = 17, IPPROTO_RAW_ = 255,
             IPPROTO_MAX_ = 263 };

// Option levels and names.
enum : int { SOL_IP_ = 0, SOL_SOCKET_ = 1, SOL_TCP_ = 6, SOL_UDP_ = 17 };
enum : int {
  SO_DEBUG_ = 1, SO_REUSEADDR_ = 2, SO_TYPE_ = 3, SO_ERROR_ = 4, SO_DONTROUTE_ = 5, SO_BROADCAST_ = 6,
  SO_SNDBUF_ = 7, SO_RCVBUF_ = 8, SO_KEEPALIVE_ = 9, SO_OOBINLINE_ = 10, SO_PRIORITY_ = 12, SO_LINGER_ = 13, SO_REUSEPORT_ = 15,
  SO_RCVLOWAT_ = 18, SO_SNDBUFFORCE_ = 32, SO_RCVBUFFORCE_ = 33, SO_PROTOCOL_ = 38, SO_DOMAIN_ = 39, SO_MAX_PACING_RATE_ = 47,
};
enum : int { IP_TOS_ = 1, IP_TTL_ = 2, IP_HDRINCL_ = 3, IP_RECVERR_ = 11, IP_MTU_DISCOVER_ = 10,
             IP_MTU_ = 14, IP_FREEBIND_ = 15 };
enum : int { UDP_CORK_ = 1 };
// SOL_TCP options (linux/tcp.h).
enum : int {
  TCP_NODELAY_ = 1, TCP_MAXSEG_ = 2, TCP_CORK_ = 3, TCP_KEEPIDLE_ = 4, TCP_KEEPINTVL_ = 5, TCP_KEEPCNT_ = 6,
  TCP_SYNCNT_ = 7, TCP_LINGER2_ = 8, TCP_DEFER_ACCEPT_ = 9, TCP_WINDOW_CLAMP_ = 10, TCP_INFO_ = 11,
  TCP_QUICKACK_ = 12, TCP_CONGESTION_ = 13, TCP_USER_TIMEOUT_ = 18, TCP_NOTSENT_LOWAT_ = 25,
};
enum : int { IP_PMTUDISC_DONT_ = 0, IP_PMTUDISC_WANT_ = 1, IP_PMTUDISC_DO_ = 2, IP_PMTUDISC_PROBE_ = 3 };

// Message flags.
enum : int {
  MSG_OOB_ = 1, MSG_PEEK_ = 2, MSG_DONTROUTE_ = 4, MSG_CTRUNC_ = 8, MSG_TRUNC_ = 0x20, MSG_DONTWAIT_ = 0x40, MSG_EOR_ = 0x80,
  MSG_WAITALL_ = 0x100, MSG_CONFIRM_ = 0x800, MSG_ERRQUEUE_ = 0x2000, MSG_NOSIGNAL_ = 0x4000,
  MSG_MORE_ = 0x8000,
};

// shutdown() how, and the sk_shutdown bits.
enum : int { SHUT_RD_ = 0, SHUT_WR_ = 1, SHUT_RDWR_ = 2 };
enum : int { RCV_SHUTDOWN = 1, SEND_SHUTDOWN = 2, SHUTDOWN_MASK = 3 };

// poll bits.
enum : unsigned { POLLIN_ = 0x1, POLLPRI_ = 0x2, POLLOUT_ = 0x4, POLLERR_ = 0x8, POLLHUP_ = 0x10,
                  POLLRDNORM_ = 0x40, POLLRDBAND_ = 0x80, POLLWRNORM_ = 0x100, POLLWRBAND_ = 0x200,
                  POLLRDHUP_ = 0x2000 };

// struct sock_extended_err origins.
enum : uint8_t { SO_EE_ORIGIN_NONE = 0, SO_EE_ORIGIN_LOCAL = 1, SO_EE_ORIGIN_ICMP = 2 };

inline constexpr int SOCKADDR_IN_LEN = 16;  // sizeof(struct sockaddr_in)

// AF_PACKET (linux/if_packet.h, linux/if_ether.h).
enum : int { SOL_PACKET_ = 263 };
enum : uint16_t { ETH_P_ALL_ = 0x0003 };
inline constexpr int SOCKADDR_LL_LEN = 20;       // sizeof(struct sockaddr_ll)
inline constexpr int SOCKADDR_LL_ADDR_OFF = 12;  // offsetof(struct sockaddr_ll, sll_addr)

}  // namespace nettwin
