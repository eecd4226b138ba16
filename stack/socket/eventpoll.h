// epoll, after fs/eventpoll.c: an eventpoll is a descriptor of its own in the
// socket descriptor table, with an interest list (the rbtree, by descriptor)
// and a ready list (rdllist). A socket's wakeups (sock_def_readable,
// sk_stream_write_space, sk_state_change, sk_error_report) reach
// ep_poll_callback through the socket's wait queue, which appends the item to
// rdllist in wakeup order; epoll_wait reports from rdllist, polling each item
// again with the poll mask poll() uses (sock_poll). An eventpoll may watch
// another (nesting, at most EP_MAX_NESTS deep, ELOOP for a loop): the inner
// one is readable while it has events, and wakes its watchers (poll_wait).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <vector>

namespace nettwin {

class Net;
struct Socket;
struct EventPoll;

// uapi/linux/eventpoll.h
enum : uint32_t {
  EPOLLIN_ = 0x1, EPOLLPRI_ = 0x2, EPOLLOUT_ = 0x4, EPOLLERR_ = 0x8, EPOLLHUP_ = 0x10,
  EPOLLRDNORM_ = 0x40, EPOLLRDBAND_ = 0x80, EPOLLWRNORM_ = 0x100, EPOLLWRBAND_ = 0x200, EPOLLMSG_ = 0x400,
  EPOLLRDHUP_ = 0x2000, EPOLLEXCLUSIVE_ = 1u << 28, EPOLLWAKEUP_ = 1u << 29, EPOLLONESHOT_ = 1u << 30,
  EPOLLET_ = 1u << 31,
};
enum : int { EPOLL_CTL_ADD_ = 1, EPOLL_CTL_DEL_ = 2, EPOLL_CTL_MOD_ = 3 };
enum : int { EPOLL_CLOEXEC_ = 02000000 };
// EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event) (12 bytes, packed on x86-64).
inline constexpr int EP_MAX_EVENTS = 0x7fffffff / 12;
inline constexpr int EP_MAX_NESTS = 4;

// struct epoll_event
struct EpollEvent {
  uint32_t events = 0;
  uint64_t data = 0;
};

// struct epitem: one watched descriptor of one eventpoll.
struct EpItem {
  EventPoll* ep = nullptr;
  int fd = -1;
  Socket* sock = nullptr;     // the watched socket, or
  EventPoll* tep = nullptr;   // the watched eventpoll
  EpollEvent event;
  bool linked = false;                    // ep_is_linked: on rdllist
  std::list<EpItem*>::iterator rdllink;   // its place there while linked
};

// struct eventpoll
struct EventPoll {
  std::map<int, std::unique_ptr<EpItem>> rbr;  // the interest list, by descriptor
  std::list<EpItem*> rdllist;
  std::vector<EpItem*> poll_wait;  // the items of the eventpolls watching this one
};

// The wakeup of a socket's wait queue: each item watching it (key: the poll
// bits the wakeup is about, 0 for all).
void ep_poll_callback(EpItem* epi, unsigned key);
// eventpoll_release: a watched socket is closed; every eventpoll forgets it.
void eventpoll_release(Socket* sock);
// ep_free: an eventpoll's descriptor is closed (its watchers forget it too).
void ep_free(EventPoll* ep);
// ep_eventpoll_poll: what poll() of an epoll descriptor reports (EPOLLIN while events are available).
unsigned ep_eventpoll_poll(EventPoll* ep);

int sys_epoll_create(Net& net, int size);
int sys_epoll_create1(Net& net, int flags);
int sys_epoll_ctl(Net& net, int epfd, int op, int fd, const EpollEvent& event);
// epoll_wait: the events reported (at most maxevents), 0 when timeout_ns of
// virtual time passed with nothing ready. A timeout of 0 does not wait.
int sys_epoll_wait(Net& net, int epfd, std::vector<EpollEvent>& events, int maxevents, uint64_t timeout_ns);

}  // namespace nettwin
