// struct sock (with struct inet_sock and struct udp_sock folded in), struct
// proto, struct socket and struct proto_ops: the BSD socket layer's types, after
// include/net/sock.h, include/linux/net.h and include/net/inet_sock.h.
//
// A Socket is what a file descriptor names; its ProtoOps (inet_dgram_ops,
// inet_sockraw_ops, inet_stream_ops) are the family-level calls; its Sock holds
// the protocol state and a Proto (udp_prot, raw_prot) with the protocol's calls.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/dst.h"
#include "core/netdevice.h"
#include "core/skb_queue.h"
#include "socket/uapi.h"
#include "wire/bytes.h"

namespace nettwin {

class Net;

// enum sk_pacing (include/net/sock.h).
enum SkPacing : uint8_t { SK_PACING_NONE = 0, SK_PACING_NEEDED = 1, SK_PACING_FQ = 2 };
struct Sock;
struct Socket;
struct EpItem;

// struct sockaddr_in (host byte order here; the wire order is the caller's business).
struct SockaddrIn {
  int family = AF_INET_;
  uint16_t port = 0;
  wire::Ipv4Addr addr = 0;
};

// struct sockaddr_ll (linux/if_packet.h), host byte order here like SockaddrIn:
// sll_protocol is the ethertype (ETH_P_IP is 0x0800).
struct SockaddrLl {
  int family = AF_PACKET_;
  uint16_t protocol = 0;
  int ifindex = 0;
  uint16_t hatype = 0;
  uint8_t pkttype = 0;
  uint8_t halen = 0;
  uint8_t addr[8] = {};
};

// TCP_* states sk_state uses for every protocol (include/net/tcp_states.h).
enum : int { TCP_ESTABLISHED = 1, TCP_SYN_SENT = 2, TCP_SYN_RECV = 3, TCP_FIN_WAIT1 = 4, TCP_FIN_WAIT2 = 5,
             TCP_TIME_WAIT = 6, TCP_CLOSE = 7, TCP_CLOSE_WAIT = 8, TCP_LAST_ACK = 9, TCP_LISTEN = 10,
             TCP_CLOSING = 11, TCP_NEW_SYN_RECV = 12 };
// socket_state (include/uapi/linux/net.h).
enum SocketState : int { SS_FREE = 0, SS_UNCONNECTED = 1, SS_CONNECTING = 2, SS_CONNECTED = 3, SS_DISCONNECTING = 4 };
// sk_userlocks.
enum : int { SOCK_SNDBUF_LOCK = 1, SOCK_RCVBUF_LOCK = 2, SOCK_BINDADDR_LOCK = 4, SOCK_BINDPORT_LOCK = 8 };

// struct sock_extended_err plus the offender address: what IP_RECVERR queues.
struct SockExtendedErr {
  uint32_t ee_errno = 0;
  uint8_t ee_origin = 0;
  uint8_t ee_type = 0;
  uint8_t ee_code = 0;
  uint32_t ee_info = 0;
  uint32_t ee_data = 0;
  SockaddrIn offender;
};

// struct msghdr for sending: one iovec.
struct SendMsg {
  std::span<const uint8_t> data;
  const SockaddrIn* name = nullptr;  // msg_name, or null
  const SockaddrLl* ll_name = nullptr;  // msg_name when it is a struct sockaddr_ll (then name is null)
  int namelen = 0;
  int flags = 0;
};

// struct msghdr for receiving: what came back.
struct RecvMsg {
  size_t len = 0;                 // the buffer's size
  std::vector<uint8_t> data;      // the bytes copied (at most len)
  std::optional<SockaddrIn> name; // the sender
  std::optional<SockaddrLl> ll_name;  // the sender on an AF_PACKET socket
  int flags = 0;                  // msg_flags on return (MSG_TRUNC, MSG_ERRQUEUE...)
  std::optional<SockExtendedErr> ee;  // IP_RECVERR control message (MSG_ERRQUEUE)
};

// struct proto: the transport's calls.
struct Proto {
  const char* name;
  int (*init)(Sock* sk);
  void (*close)(Sock* sk);
  int (*connect)(Sock* sk, const SockaddrIn* addr, int addr_len);
  int (*disconnect)(Sock* sk, int flags);
  // setsockopt: optval is the bytes the program passed (sockptr_t and optlen).
  // getsockopt: optval is the caller's buffer of *optlen bytes; *optlen comes
  // back as the number of bytes written.
  int (*setsockopt)(Sock* sk, int level, int optname, std::span<const uint8_t> optval);
  int (*getsockopt)(Sock* sk, int level, int optname, uint8_t* optval, int* optlen);
  int (*sendmsg)(Sock* sk, const SendMsg& msg);
  int (*recvmsg)(Sock* sk, RecvMsg& msg, int flags);
  int (*get_port)(Sock* sk, uint16_t snum);
  void (*unhash)(Sock* sk);
  void (*rehash)(Sock* sk);
  // sk_alloc's obj_size: the struct the protocol's sockets are (null: a plain Sock).
  Sock* (*obj_alloc)() = nullptr;
  // shutdown(2)'s protocol part (tcp_shutdown: FIN after SHUT_WR).
  void (*shutdown)(Sock* sk, int how) = nullptr;
  // SO_KEEPALIVE: the protocol arms or stops its keepalive timer (tcp_set_keepalive).
  void (*keepalive)(Sock* sk, int valbool) = nullptr;
  // ioctl(2)'s protocol part (sk_ioctl: the answer in *karg; -E_NOIOCTLCMD for a
  // request it does not know).
  int (*ioctl)(Sock* sk, unsigned cmd, int* karg) = nullptr;
};

// struct proto_ops: the family's calls, what the system calls reach first.
struct ProtoOps {
  int family;
  int (*release)(Socket* sock);
  int (*bind)(Socket* sock, const SockaddrIn* addr, int addr_len);
  int (*connect)(Socket* sock, const SockaddrIn* addr, int addr_len, int flags);
  int (*accept)(Socket* sock);
  int (*getname)(Socket* sock, SockaddrIn* addr, int peer);
  unsigned (*poll)(Socket* sock);
  int (*listen)(Socket* sock, int backlog);
  int (*shutdown)(Socket* sock, int how);
  int (*setsockopt)(Socket* sock, int level, int optname, std::span<const uint8_t> optval);
  int (*getsockopt)(Socket* sock, int level, int optname, uint8_t* optval, int* optlen);
  int (*sendmsg)(Socket* sock, const SendMsg& msg);
  int (*recvmsg)(Socket* sock, RecvMsg& msg, int flags);
};

struct Sock {
  virtual ~Sock() = default;  // a TcpSock is deleted through its Sock
  Net* net = nullptr;
  Proto* sk_prot = nullptr;
  Socket* sk_socket = nullptr;
  int sk_family = AF_INET_;
  int sk_type = 0;
  int sk_protocol = 0;
  int sk_state = TCP_CLOSE;
  int sk_shutdown = 0;
  int sk_userlocks = 0;
  bool sk_reuse = false;
  bool sk_reuseport = false;
  bool sock_broadcast = false;  // SOCK_BROADCAST
  bool sock_dead = false;       // SOCK_DEAD
  bool sk_no_check_tx = false;  // SO_NO_CHECK
  bool sock_keepopen = false;   // SOCK_KEEPOPEN (SO_KEEPALIVE)
  bool sock_linger = false;     // SOCK_LINGER (SO_LINGER's l_onoff)
  bool sock_urginline = false;  // SOCK_URGINLINE (SO_OOBINLINE; TCP keeps urgent bytes in band anyway)
  bool sock_done = false;       // SOCK_DONE (TCP: the peer's FIN came in; tcp_inq leaves it out)
  int64_t sk_lingertime = 0;    // SO_LINGER's l_linger, jiffies (MAX_SCHEDULE_TIMEOUT: forever)
  int sk_bound_dev_if = 0;
  int sk_rcvbuf = 0;
  int sk_sndbuf = 0;
  int sk_rmem_alloc = 0;
  int sk_wmem_alloc = 0;  // truesize of the skbs this socket owns (skb_set_owner_w)
  bool sk_free_deferred = false;  // closed with skbs in flight: freed when wmem reaches 0
  // TCP Small Queues (sk_tsq_flags): TSQF_THROTTLED (tcp_small_queue_check or
  // autocorking held data back until a tcp_wfree), TSQF_QUEUED (on the TSQ
  // work's list, which holds the sock as Linux's last wmem reference does).
  unsigned sk_tsq_flags = 0;
  int sk_err = 0;
  int sk_err_soft = 0;
  uint32_t sk_priority = 0;
  uint32_t sk_drops = 0;
  uint32_t sk_ack_backlog = 0;      // a listener's accept-queue length
  uint32_t sk_max_ack_backlog = 0;  // listen()'s backlog
  uint64_t sk_pacing_rate = ~0ull;      // bytes per second (~0: unlimited, sock_init_data)
  uint64_t sk_max_pacing_rate = ~0ull;  // SO_MAX_PACING_RATE
  // SK_PACING_NEEDED once SO_MAX_PACING_RATE set a limit: TCP paces itself
  // (tcp_needs_internal_pacing; fq's SK_PACING_FQ is not modelled).
  uint8_t sk_pacing_status = SK_PACING_NONE;
  SkbQueue sk_receive_queue;
  SkbQueue sk_error_queue;
  DstEntry* sk_dst_cache = nullptr;  // the connected route (held without a reference)
  // sk_dst_confirm: an ACK proved the path; the next segment sent confirms the neighbour.
  bool sk_dst_pending_confirm = false;
  // struct inet_sock
  wire::Ipv4Addr inet_saddr = 0;      // source for sending
  wire::Ipv4Addr inet_rcv_saddr = 0;  // bound address
  wire::Ipv4Addr inet_daddr = 0;
  uint16_t inet_num = 0;    // local port (host order)
  uint16_t inet_sport = 0;  // local port used on the wire (host order)
  uint16_t inet_dport = 0;
  uint16_t inet_id = 0;
  int uc_ttl = -1;  // -1: the route's (sysctl ip_default_ttl)
  uint8_t tos = 0;
  uint8_t pmtudisc = IP_PMTUDISC_WANT_;
  bool recverr = false;
  bool hdrincl = false;
  bool freebind = false;  // inet FREEBIND bit (IP_FREEBIND): bind to an address not ours
  // struct udp_sock
  bool corkflag = false;  // UDP_CORK
  int pending = 0;        // AF_INET while a corked datagram is being built
  int pending_len = 0;    // the UDP payload bytes appended so far
  SkbQueue cork_queue;    // sk_write_queue: the corked datagram's pieces
  wire::Ipv4Addr cork_daddr = 0;
  wire::Ipv4Addr cork_saddr = 0;
  uint16_t cork_dport = 0;
  DstEntry* cork_dst = nullptr;
  int cork_ttl = 64;
  uint8_t cork_tos = 0;
  bool cork_df = true;
  int reuseport_id = 0;  // sk_reuseport_cb: the group this socket is in (0: none)
  DstEntry* sk_rx_dst = nullptr;  // the input route early demux hands a connected socket's datagrams
  // struct packet_sock
  PacketType prot_hook;       // on ptype_all (ETH_P_ALL) or ptype_base while running
  uint16_t pkt_num = 0;       // po->num: the protocol bound (host order; 0: none)
  int pkt_ifindex = 0;        // po->ifindex: the device bound (0: any)
  bool pkt_running = false;   // po->running: prot_hook is registered
};

// struct socket flags.
enum : unsigned { SOCK_NOSPACE = 1u << 2 };

struct Socket {
  unsigned flags = 0;  // SOCK_NOSPACE
  std::vector<EpItem*> wq;  // struct socket_wq: the epoll items a wakeup reaches
  int type = 0;
  SocketState state = SS_UNCONNECTED;
  int file_flags = 0;  // O_NONBLOCK
  const ProtoOps* ops = nullptr;
  Sock* sk = nullptr;
};

// net/core/sock.c
void sock_init_data(Socket* sock, Sock* sk);
// sk_setsockopt / sk_getsockopt: SOL_SOCKET, with the option's bytes.
int sock_setsockopt(Socket* sock, int optname, std::span<const uint8_t> optval);
int sock_getsockopt(Socket* sock, int optname, uint8_t* optval, int* optlen);
// copy_from_sockptr of an int option: the first min(optlen, 4) bytes, zero
// extended (the callers check optlen as their Linux function does).
int sockopt_int(std::span<const uint8_t> optval);
// An int result of getsockopt: min(*optlen, sizeof(int)) bytes of it, as
// Linux's int options copy it; -EINVAL for a negative *optlen.
int sockopt_put_int(int val, uint8_t* optval, int* optlen);
// copy_to_sockptr of a struct or string result: min(*optlen, size) bytes.
int sockopt_put_bytes(const void* val, int size, uint8_t* optval, int* optlen);
// A getter of int options (ip_getsockopt and the like) as a getsockopt.
template <typename Get>
int sockopt_get_int(uint8_t* optval, int* optlen, Get&& get) {
  if (*optlen < 0) return -E_INVAL;
  int val = 0;
  if (int err = get(&val); err < 0) return err;
  return sockopt_put_int(val, optval, optlen);
}
// skb_set_owner_w: the skb's truesize is charged to sk_wmem_alloc until
// sock_wfree (its destructor) gives it back.
void skb_set_owner_w(SkBuff* skb, Sock* sk);
void sock_wfree(SkBuff* skb);
enum : unsigned { TSQF_THROTTLED = 1u << 0, TSQF_QUEUED = 1u << 1 };
// sock_writeable: room for a writer (less than half the send buffer in use;
// Linux's refcount is sk_wmem_alloc + 1 while the socket is open).
inline bool sock_writeable(const Sock* sk) { return sk->sk_wmem_alloc + 1 < (sk->sk_sndbuf >> 1); }
// sock_alloc_send_skb: a new skb owned by sk, once the send buffer has room;
// null with *errcode set (a pending error, -EPIPE after SHUT_WR, -EAGAIN when
// full and noblock). A blocking caller lets the clock run until room appears;
// when nothing is left to happen that could free room it gets -EAGAIN, as
// when SO_SNDTIMEO runs out.
// size is what Linux allocates, and what the skb is charged for (its
// truesize: alloc_skb_truesize); room, when larger, is the linear room this
// stack gives it (where Linux would add page fragments later).
SkBuff* sock_alloc_send_skb(Sock* sk, unsigned size, bool noblock, int* errcode, unsigned room = 0);
// SKB_TRUESIZE of Linux's alloc_skb(size) on x86-64: the head comes from the
// 640-byte small-head cache or a power-of-two kmalloc, with skb_shared_info at
// its end, plus the struct sk_buff.
uint32_t alloc_skb_truesize(unsigned size);
// sk_free: the end of a closed socket's struct sock, deferred while skbs it
// owns are still in flight (they hold sk_wmem_alloc).
void sk_free(Sock* sk);
// sk_dst_confirm: TCP saw the peer make progress (tcp_ack, FIN_WAIT1's ACK); the
// next skb it sends carries the confirmation to ip_finish_output2.
inline void sk_dst_confirm(Sock* sk) { sk->sk_dst_pending_confirm = true; }
// sock_error: the pending error, cleared (-errno or 0).
int sock_error(Sock* sk);
// The socket's wakeups (its wait queue, the epoll items watching it):
// sk_error_report (EPOLLERR), sk_data_ready's sock_def_readable (EPOLLIN),
// sk_state_change's sock_def_wakeup (every event). sk_stream_write_space is TCP's.
void sk_error_report(Sock* sk);
void sock_def_readable(Sock* sk);
void sock_def_wakeup(Sock* sk);
// wake_up_interruptible_poll on the socket's wait queue (key: the poll bits, 0 for all).
void sk_wake_up(Sock* sk, unsigned key);
// sock_poll: the family's poll (tcp_poll, datagram_poll, udp_poll), what
// poll() and epoll see.
unsigned sock_poll(Socket* sock);
// sock_queue_err_skb: charge the error skb to the receive buffer and queue it.
int sock_queue_err_skb(Sock* sk, SkBuff* skb);
// skb_free_datagram / sk_skb_reason_drop: the ends of a socket's skb.
void sk_skb_reason_drop(Sock* sk, SkBuff* skb, SkbDropReason reason, const char* location);

// What the error queue skb carries in its cb (struct sock_exterr_skb).
struct SockExterrSkb {
  SockExtendedErr ee;
  uint16_t port = 0;
  wire::Ipv4Addr addr = 0;
};
inline SockExterrSkb* SKB_EXT_ERR(SkBuff* skb) { return reinterpret_cast<SockExterrSkb*>(skb->cb); }
static_assert(sizeof(SockExterrSkb) <= sizeof(SkBuff::cb));

}  // namespace nettwin
