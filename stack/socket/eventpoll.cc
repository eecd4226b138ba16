// fs/eventpoll.c: epoll_create, epoll_ctl, epoll_wait, and the wakeup that
// puts an item on the ready list.
#include "socket/eventpoll.h"

#include <algorithm>

#include "core/net.h"
#include "socket/sock.h"

namespace nettwin {

namespace {

constexpr uint64_t kWaitStepNs = 1'000'000;  // how far a blocked epoll_wait lets the clock run between looks
// EP_PRIVATE_BITS: the flags that are not poll bits; an item with only these is disarmed (EPOLLONESHOT).
constexpr uint32_t EP_PRIVATE_BITS = EPOLLWAKEUP_ | EPOLLONESHOT_ | EPOLLET_ | EPOLLEXCLUSIVE_;
// EPOLLEXCLUSIVE_OK_BITS: what an EPOLLEXCLUSIVE item may also ask for.
constexpr uint32_t EPOLLEXCLUSIVE_OK_BITS = EPOLLIN_ | EPOLLOUT_ | EPOLLERR_ | EPOLLHUP_ | EPOLLWAKEUP_ | EPOLLET_ |
                                            EPOLLEXCLUSIVE_;

EventPoll* ep_lookup(Net& net, int fd) {
  auto it = net.sock.epolls.find(fd);
  return it == net.sock.epolls.end() ? nullptr : it->second.get();
}

// ep_item_poll: the socket's poll mask, among the events the item asks for.
unsigned ep_item_poll(const EpItem* epi) { return sock_poll(epi->sock) & epi->event.events; }

void rdllist_add_tail(EpItem* epi) {
  epi->rdllink = epi->ep->rdllist.insert(epi->ep->rdllist.end(), epi);
  epi->linked = true;
}

void rdllist_del(EpItem* epi) {
  if (!epi->linked) return;
  epi->ep->rdllist.erase(epi->rdllink);
  epi->linked = false;
}

// ep_remove: off the socket's wait queue, off rdllist, out of the interest list.
void ep_remove(EventPoll* ep, EpItem* epi) {
  auto& wq = epi->sock->wq;
  wq.erase(std::remove(wq.begin(), wq.end(), epi), wq.end());
  rdllist_del(epi);
  ep->rbr.erase(epi->fd);
}

int ep_insert(EventPoll* ep, const EpollEvent& event, int fd, Socket* sock) {
  auto owned = std::make_unique<EpItem>();
  EpItem* epi = owned.get();
  epi->ep = ep;
  epi->fd = fd;
  epi->sock = sock;
  epi->event = event;
  ep->rbr[fd] = std::move(owned);
  sock->wq.push_back(epi);  // ep_ptable_queue_proc: on the socket's wait queue
  // Already ready: on rdllist now, as a wakeup would have put it.
  if (ep_item_poll(epi)) rdllist_add_tail(epi);
  return 0;
}

int ep_modify(EpItem* epi, const EpollEvent& event) {
  epi->event = event;
  if (ep_item_poll(epi) && !epi->linked) rdllist_add_tail(epi);
  return 0;
}

// ep_send_events: each item of rdllist polled again; those still ready are
// reported, a level-triggered one goes back at the tail, a one-shot one is
// disarmed. Items left when maxevents is reached stay at the head.
int ep_send_events(EventPoll* ep, std::vector<EpollEvent>& events, int maxevents) {
  std::list<EpItem*> txlist;
  txlist.splice(txlist.end(), ep->rdllist);
  int res = 0;
  while (!txlist.empty() && res < maxevents) {
    EpItem* epi = txlist.front();
    txlist.pop_front();
    epi->linked = false;
    const unsigned revents = ep_item_poll(epi);
    if (!revents) continue;
    events.push_back({revents, epi->event.data});
    ++res;
    if (epi->event.events & EPOLLONESHOT_)
      epi->event.events &= EP_PRIVATE_BITS;
    else if (!(epi->event.events & EPOLLET_))
      rdllist_add_tail(epi);
  }
  // ep_done_scan: what was not reported goes back before the re-added items.
  for (EpItem* epi : txlist) epi->linked = true;
  for (auto it = txlist.begin(); it != txlist.end(); ++it) (*it)->rdllink = it;
  ep->rdllist.splice(ep->rdllist.begin(), txlist);
  return res;
}

int ep_alloc(Net& net) {
  const int fd = net.sock.get_unused_fd();
  net.sock.epolls[fd] = std::make_unique<EventPoll>();
  return fd;
}

}  // namespace

void ep_poll_callback(EpItem* epi, unsigned key) {
  // Disarmed by EPOLLONESHOT until a MOD, or a wakeup about events the item does not want.
  if (!(epi->event.events & ~EP_PRIVATE_BITS)) return;
  if (key && !(key & epi->event.events)) return;
  if (!epi->linked) rdllist_add_tail(epi);
}

void eventpoll_release(Socket* sock) {
  while (!sock->wq.empty()) {
    EpItem* epi = sock->wq.back();
    ep_remove(epi->ep, epi);
  }
}

void ep_free(EventPoll* ep) {
  while (!ep->rbr.empty()) ep_remove(ep, ep->rbr.begin()->second.get());
}

unsigned ep_eventpoll_poll(EventPoll* ep) {
  // ep_read_events_proc: an item that is no longer ready leaves rdllist.
  for (auto it = ep->rdllist.begin(); it != ep->rdllist.end();) {
    EpItem* epi = *it++;
    if (ep_item_poll(epi)) return EPOLLIN_ | EPOLLRDNORM_;
    rdllist_del(epi);
  }
  return 0;
}

int sys_epoll_create1(Net& net, int flags) {
  if (flags & ~EPOLL_CLOEXEC_) return -E_INVAL;
  return ep_alloc(net);
}

int sys_epoll_create(Net& net, int size) {
  if (size <= 0) return -E_INVAL;
  return ep_alloc(net);
}

int sys_epoll_ctl(Net& net, int epfd, int op, int fd, const EpollEvent& event) {
  const bool epfd_open = net.sock.files.count(epfd) || net.sock.epolls.count(epfd);
  const bool fd_open = net.sock.files.count(fd) || net.sock.epolls.count(fd);
  if (!epfd_open || !fd_open) return -E_BADF;
  EventPoll* ep = ep_lookup(net, epfd);
  if (fd == epfd || !ep) return -E_INVAL;
  const bool has_event = op != EPOLL_CTL_DEL_;  // ep_op_has_event
  if (has_event && (event.events & EPOLLEXCLUSIVE_)) {
    if (op == EPOLL_CTL_MOD_) return -E_INVAL;
    if (op == EPOLL_CTL_ADD_ && (ep_lookup(net, fd) || (event.events & ~EPOLLEXCLUSIVE_OK_BITS))) return -E_INVAL;
  }
  // An eventpoll inside another is Linux's nesting (with its ELOOP check); this
  // stack's eventpolls watch sockets only.
  if (ep_lookup(net, fd)) return -E_PERM;
  Socket* sock = net.sock.files.at(fd).get();
  auto it = ep->rbr.find(fd);
  EpItem* epi = it == ep->rbr.end() ? nullptr : it->second.get();
  EpollEvent ev = event;
  switch (op) {
    case EPOLL_CTL_ADD_:
      if (epi) return -E_EXIST;
      ev.events |= EPOLLERR_ | EPOLLHUP_;
      return ep_insert(ep, ev, fd, sock);
    case EPOLL_CTL_DEL_:
      if (!epi) return -E_NOENT;
      ep_remove(ep, epi);
      return 0;
    case EPOLL_CTL_MOD_:
      if (!epi) return -E_NOENT;
      if (epi->event.events & EPOLLEXCLUSIVE_) return -E_INVAL;
      ev.events |= EPOLLERR_ | EPOLLHUP_;
      return ep_modify(epi, ev);
    default:
      return -E_INVAL;
  }
}

int sys_epoll_wait(Net& net, int epfd, std::vector<EpollEvent>& events, int maxevents, uint64_t timeout_ns) {
  events.clear();
  if (maxevents <= 0 || maxevents > EP_MAX_EVENTS) return -E_INVAL;
  EventPoll* ep = ep_lookup(net, epfd);
  if (!ep) return net.sock.files.count(epfd) ? -E_INVAL : -E_BADF;
  const uint64_t deadline = net.engine.now() + timeout_ns;
  for (;;) {
    if (!ep->rdllist.empty()) {
      if (const int res = ep_send_events(ep, events, maxevents)) return res;
    }
    if (net.engine.now() >= deadline) return 0;
    net.engine.run_until(std::min(deadline, net.engine.now() + kWaitStepNs));
  }
}

}  // namespace nettwin
