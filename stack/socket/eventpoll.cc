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

void rdllist_add_tail(EpItem* epi) {
  epi->rdllink = epi->ep->rdllist.insert(epi->ep->rdllist.end(), epi);
  epi->linked = true;
}

void rdllist_del(EpItem* epi) {
  if (!epi->linked) return;
  epi->ep->rdllist.erase(epi->rdllink);
  epi->linked = false;
}

// ep_item_poll: the socket's poll mask (an eventpoll's: ep_eventpoll_poll),
// among the events the item asks for.
unsigned ep_item_poll(const EpItem* epi) {
  return (epi->tep ? ep_eventpoll_poll(epi->tep) : sock_poll(epi->sock)) & epi->event.events;
}

// The wait queue the item is on: its socket's, or its eventpoll's poll_wait.
std::vector<EpItem*>& item_wq(EpItem* epi) { return epi->tep ? epi->tep->poll_wait : epi->sock->wq; }

// ep_poll_safewake: the eventpolls watching ep learn it has events.
void ep_poll_safewake(EventPoll* ep) {
  for (EpItem* w : ep->poll_wait) ep_poll_callback(w, EPOLLIN_);
}

// Linked now, and the eventpolls watching this one told (ep_insert, ep_modify).
void rdllist_add_and_wake(EpItem* epi) {
  if (epi->linked) return;
  rdllist_add_tail(epi);
  ep_poll_safewake(epi->ep);
}

// ep_remove: off the socket's wait queue, off rdllist, out of the interest list.
void ep_remove(EventPoll* ep, EpItem* epi) {
  auto& wq = item_wq(epi);
  wq.erase(std::remove(wq.begin(), wq.end(), epi), wq.end());
  rdllist_del(epi);
  ep->rbr.erase(epi->fd);
}

int ep_insert(EventPoll* ep, const EpollEvent& event, int fd, Socket* sock, EventPoll* tep) {
  auto owned = std::make_unique<EpItem>();
  EpItem* epi = owned.get();
  epi->ep = ep;
  epi->fd = fd;
  epi->sock = sock;
  epi->tep = tep;
  epi->event = event;
  ep->rbr[fd] = std::move(owned);
  item_wq(epi).push_back(epi);  // ep_ptable_queue_proc: on the target's wait queue
  // Already ready: on rdllist now, as a wakeup would have put it.
  if (ep_item_poll(epi)) rdllist_add_and_wake(epi);
  return 0;
}

int ep_modify(EpItem* epi, const EpollEvent& event) {
  epi->event = event;
  if (ep_item_poll(epi)) rdllist_add_and_wake(epi);
  return 0;
}

// ep_loop_check_proc: how deep the eventpolls below ep go (EP_MAX_NESTS + 1
// when one of them is `into`: a loop).
int ep_depth_below(const EventPoll* ep, const EventPoll* into, int depth) {
  int result = 0;
  for (const auto& [fd, epi] : ep->rbr) {
    if (!epi->tep) continue;
    if (epi->tep == into || depth > EP_MAX_NESTS) return EP_MAX_NESTS + 1;
    result = std::max(result, ep_depth_below(epi->tep, into, depth + 1) + 1);
    if (result > EP_MAX_NESTS) break;
  }
  return result;
}

// ep_get_upwards_depth_proc: how many eventpolls above ep watch it in a chain.
int ep_depth_above(const EventPoll* ep) {
  int result = 0;
  for (const EpItem* w : ep->poll_wait) result = std::max(result, ep_depth_above(w->ep) + 1);
  return result;
}

// ep_loop_check: ep may not watch `to` if that closes a loop or nests too deep.
bool ep_loop_check(const EventPoll* ep, const EventPoll* to) {
  const int depth = ep_depth_below(to, ep, 0);
  return depth <= EP_MAX_NESTS && depth + 1 + ep_depth_above(ep) <= EP_MAX_NESTS;
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
  // ep_done_scan: what was not reported goes back before the re-added items
  // (still linked: splice keeps their rdllink iterators valid).
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
  ep_poll_safewake(epi->ep);  // each wakeup that passes reaches the watchers of this eventpoll
}

void eventpoll_release(Socket* sock) {
  while (!sock->wq.empty()) {
    EpItem* epi = sock->wq.back();
    ep_remove(epi->ep, epi);
  }
}

void ep_free(EventPoll* ep) {
  while (!ep->poll_wait.empty()) {  // eventpoll_release of its own file
    EpItem* w = ep->poll_wait.back();
    ep_remove(w->ep, w);
  }
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
  EventPoll* tep = ep_lookup(net, fd);
  if (op == EPOLL_CTL_ADD_ && tep && !ep_loop_check(ep, tep)) return -E_LOOP;
  Socket* sock = tep ? nullptr : net.sock.files.at(fd).get();
  auto it = ep->rbr.find(fd);
  EpItem* epi = it == ep->rbr.end() ? nullptr : it->second.get();
  EpollEvent ev = event;
  switch (op) {
    case EPOLL_CTL_ADD_:
      if (epi) return -E_EXIST;
      ev.events |= EPOLLERR_ | EPOLLHUP_;
      return ep_insert(ep, ev, fd, sock, tep);
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
