#include "core/trace.h"

#include <algorithm>

namespace nettwin {


std::string& TraceRecord::new_field(const char* name) {
  TraceFields& f = ev_->fields;
  if (n_ == f.size()) {
    if (slot_ && !slot_->spare.empty()) {
      f.push_back(std::move(slot_->spare.back()));
      slot_->spare.pop_back();
    } else {
      f.emplace_back();
    }
  }
  auto& field = f[n_];
  field.first.assign(name);
  if (slot_) {
    if (slot_->names.size() <= n_) slot_->names.resize(n_ + 1);
    slot_->names[n_] = FieldKey{name, 0, 0};
    keys_ = slot_->names.data();
    nkeys_ = slot_->names.size();
  }
  ++n_;
  return field.second;
}

Tracer::~Tracer() = default;

namespace {
void set_name(TraceEvent& ev, const char* tracepoint, const char* function) {
  if (tracepoint) {
    ev.name = tracepoint;
  } else {
    ev.name.assign("checkpoint:");
    ev.name.append(function);
  }
}

// Checkpoint functions (literals) spread over the checkpoint slots by
// address, a few probes deep, so each keeps a slot of its own (its name and
// its fields' text stay written) while there are not many more than slots.
size_t checkpoint_hash(const char* function) {
  return size_t((uint64_t(reinterpret_cast<uintptr_t>(function)) * 0x9e3779b97f4a7c15ull) >> 58);
}
}  // namespace

TraceRecord::Slot& Tracer::slot_for(size_t point, const char* tracepoint, const char* function) {
  if (!slots_) slots_ = std::make_unique<TraceRecord::Slot[]>(size_t(Tp::Count) + kCheckpointSlots);
  if (tracepoint) return slots_[point];
  TraceRecord::Slot* cps = &slots_[size_t(Tp::Count)];
  const size_t h = checkpoint_hash(function);
  for (size_t k = 0; k < 4; ++k) {
    TraceRecord::Slot& s = cps[(h + k) % kCheckpointSlots];
    if (s.named == function || !s.named) return s;
  }
  return cps[h % kCheckpointSlots];  // shared: renamed when its function changes
}

TraceRecord Tracer::start(size_t point, uint64_t skb, const char* tracepoint, const char* function) {
  TraceRecord::Slot& s = slot_for(point, tracepoint, function);
  if (s.busy) {  // emitted again from one of its own callbacks: an event of its own
    auto ev = std::make_unique<TraceEvent>();
    set_name(*ev, tracepoint, function);
    ev->skb = skb;
    return TraceRecord(point, std::move(ev));
  }
  s.busy = true;
  const char* id = tracepoint ? tracepoint : function;
  if (s.named != id) {  // the slot's name is still right when it served this point last
    set_name(s.ev, tracepoint, function);
    s.named = id;
  }
  s.ev.skb = skb;
  return TraceRecord(point, &s, &s.ev);
}

TraceRecord Tracer::record(Tp tp, uint64_t skb) { return start(size_t(tp), skb, tracepoint_name(tp), nullptr); }

TraceRecord Tracer::record_checkpoint(const char* function, uint64_t skb) {
  return start(size_t(Tp::Count), skb, nullptr, function);
}

void Tracer::emit(TraceRecord& r) {
  TraceEvent& ev = *r.ev_;
  if (r.n_ < ev.fields.size()) {  // a shorter event than the last: keep the rest for later
    if (r.slot_) {
      for (size_t i = ev.fields.size(); i-- > r.n_;) r.slot_->spare.push_back(std::move(ev.fields[i]));
      r.slot_->names.resize(r.n_);
    }
    ev.fields.resize(r.n_);
  }
  ev.time_ns = *clock_ns_;
  deliver(ev, r.point_ == size_t(Tp::Count), Tp(r.point_));
}

const char* tracepoint_name(Tp tp) {
  switch (tp) {
    case Tp::netif_rx: return "net:netif_rx";
    case Tp::netif_receive_skb: return "net:netif_receive_skb";
    case Tp::net_dev_queue: return "net:net_dev_queue";
    case Tp::net_dev_start_xmit: return "net:net_dev_start_xmit";
    case Tp::net_dev_xmit: return "net:net_dev_xmit";
    case Tp::napi_poll: return "napi:napi_poll";
    case Tp::kfree_skb: return "skb:kfree_skb";
    case Tp::consume_skb: return "skb:consume_skb";
    case Tp::qdisc_enqueue: return "qdisc:qdisc_enqueue";
    case Tp::qdisc_dequeue: return "qdisc:qdisc_dequeue";
    case Tp::neigh_create: return "neigh:neigh_create";
    case Tp::neigh_update: return "neigh:neigh_update";
    case Tp::neigh_update_done: return "neigh:neigh_update_done";
    case Tp::neigh_timer_handler: return "neigh:neigh_timer_handler";
    case Tp::neigh_event_send_done: return "neigh:neigh_event_send_done";
    case Tp::neigh_cleanup_and_release: return "neigh:neigh_cleanup_and_release";
    case Tp::fib_table_lookup: return "fib:fib_table_lookup";
    case Tp::icmp_send: return "icmp:icmp_send";
    case Tp::udp_fail_queue_rcv_skb: return "udp:udp_fail_queue_rcv_skb";
    case Tp::tcp_probe: return "tcp:tcp_probe";
    case Tp::tcp_bad_csum: return "tcp:tcp_bad_csum";
    case Tp::tcp_cong_state_set: return "tcp:tcp_cong_state_set";
    case Tp::tcp_send_reset: return "tcp:tcp_send_reset";
    case Tp::inet_sock_set_state: return "sock:inet_sock_set_state";
    case Tp::tcp_retransmit_synack: return "tcp:tcp_retransmit_synack";
    case Tp::tcp_receive_reset: return "tcp:tcp_receive_reset";
    case Tp::tcp_retransmit_skb: return "tcp:tcp_retransmit_skb";
    case Tp::tcp_destroy_sock: return "tcp:tcp_destroy_sock";
    case Tp::tcp_rcv_space_adjust: return "tcp:tcp_rcv_space_adjust";
    case Tp::tcp_rcvbuf_grow: return "tcp:tcp_rcvbuf_grow";
    case Tp::Count: break;
  }
  return "unknown:unknown";
}

std::vector<std::string> tracepoint_names() {
  std::vector<std::string> names;
  for (size_t i = 0; i < size_t(Tp::Count); ++i) names.emplace_back(tracepoint_name(Tp(i)));
  return names;
}

bool Tracer::pattern_matches(const std::string& pattern, const std::string& name) {
  if (pattern == "*") return true;
  if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, ":*") == 0)
    return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return pattern == name;
}

int Tracer::subscribe(const TraceFilter& filter, TraceCallback callback) {
  auto owned = std::make_unique<Sub>();
  Sub& sub = *owned;
  sub.id = ++next_id_;
  for (size_t i = 0; i < size_t(Tp::Count); ++i) {
    const std::string name = tracepoint_name(Tp(i));
    bool want = filter.events.empty();
    for (const auto& p : filter.events) want = want || pattern_matches(p, name);
    sub.tps[i] = want;
  }
  sub.checkpoints = filter.checkpoints;
  sub.skb_data = filter.checkpoints && filter.skb_data;
  sub.cb = std::move(callback);
  sub.dead = false;
  subs_.push_back(std::move(owned));
  recompute();
  return sub.id;
}

void Tracer::unsubscribe(int id) {
  for (auto& s : subs_)
    if (s->id == id) s->dead = true;
  if (dispatch_depth_ == 0)
    subs_.erase(std::remove_if(subs_.begin(), subs_.end(), [](const std::unique_ptr<Sub>& s) { return s->dead; }), subs_.end());
  else
    dead_pending_ = true;  // erased once the dispatch is over
  recompute();
}

void Tracer::recompute() {
  std::fill(std::begin(wanted_), std::end(wanted_), 0u);
  checkpoint_subs_ = 0;
  skb_data_subs_ = 0;
  for (const auto& s : subs_) {
    if (s->dead) continue;
    for (size_t i = 0; i < size_t(Tp::Count); ++i) wanted_[i] += s->tps[i] ? 1 : 0;
    checkpoint_subs_ += s->checkpoints ? 1 : 0;
    skb_data_subs_ += s->skb_data ? 1 : 0;
  }
  on_ = checkpoint_subs_ != 0 || std::any_of(std::begin(wanted_), std::end(wanted_), [](unsigned n) { return n != 0; });
}

void Tracer::deliver(const TraceEvent& ev, bool checkpoint, Tp tp) {
  ++dispatch_depth_;
  // Index loop: a callback may subscribe (push_back) while we iterate; a Sub
  // never moves and is erased only once no dispatch is running.
  for (size_t i = 0; i < subs_.size(); ++i) {
    Sub* s = subs_[i].get();
    if (s->dead) continue;
    if (checkpoint ? !s->checkpoints : !s->tps[size_t(tp)]) continue;
    s->cb(ev);
  }
  if (--dispatch_depth_ == 0 && dead_pending_) {
    dead_pending_ = false;
    subs_.erase(std::remove_if(subs_.begin(), subs_.end(), [](const std::unique_ptr<Sub>& s) { return s->dead; }), subs_.end());
  }
}

void Tracer::emit(Tp tp, uint64_t skb, TraceFields&& fields) {
  if (!wants(tp)) return;
  TraceEvent ev;
  ev.time_ns = *clock_ns_;
  ev.name = tracepoint_name(tp);
  ev.skb = skb;
  ev.fields = std::move(fields);
  deliver(ev, false, tp);
}

void Tracer::emit_checkpoint(const char* function, uint64_t skb, TraceFields&& fields) {
  if (!wants_checkpoints()) return;
  TraceEvent ev;
  ev.time_ns = *clock_ns_;
  ev.name = std::string("checkpoint:") + function;
  ev.skb = skb;
  ev.fields = std::move(fields);
  deliver(ev, true, Tp::Count);
}

}  // namespace nettwin
