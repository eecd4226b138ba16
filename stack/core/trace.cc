#include "core/trace.h"

#include <algorithm>

#include "core/trace_text.h"

namespace nettwin {

Tracer::~Tracer() = default;

std::vector<std::string> tracepoint_names() {
  return std::vector<std::string>(std::begin(kTracepointNames), std::end(kTracepointNames));
}

bool Tracer::pattern_matches(const std::string& pattern, const std::string& name) {
  if (pattern == "*") return true;
  if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, ":*") == 0)
    return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return pattern == name;
}

int Tracer::add_sub(const TraceFilter& filter, TraceCallback text, TraceRecordCallback record) {
  auto owned = std::make_unique<Sub>();
  Sub& sub = *owned;
  sub.id = ++next_id_;
  for (size_t i = 0; i < size_t(Tp::Count); ++i) {
    const std::string name = kTracepointNames[i];
    bool want = filter.events.empty();
    for (const auto& p : filter.events) want = want || pattern_matches(p, name);
    sub.tps[i] = want;
  }
  sub.checkpoints = filter.checkpoints;
  sub.skb_data = filter.checkpoints && filter.skb_data;
  sub.text_cb = std::move(text);
  sub.record_cb = std::move(record);
  sub.dead = false;
  subs_.push_back(std::move(owned));
  recompute();
  return sub.id;
}

int Tracer::subscribe(const TraceFilter& filter, TraceCallback callback) {
  return add_sub(filter, std::move(callback), nullptr);
}

int Tracer::subscribe_records(const TraceFilter& filter, TraceRecordCallback callback) {
  return add_sub(filter, nullptr, std::move(callback));
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

void Tracer::emit(TraceRecord& r) {
  r.set_time(*clock_ns_);
  const bool checkpoint = r.checkpoint();
  const size_t tp = r.point();
  ++dispatch_depth_;
  // The text, made at the first text subscriber and shared by the others.
  TraceEvent* text = nullptr;
  std::unique_ptr<TraceEvent> own;
  bool took_shared = false;
  // Index loop: a callback may subscribe (push_back) while we iterate; a Sub
  // never moves and is erased only once no dispatch is running.
  for (size_t i = 0; i < subs_.size(); ++i) {
    Sub* s = subs_[i].get();
    if (s->dead) continue;
    if (checkpoint ? !s->checkpoints : !s->tps[tp]) continue;
    if (s->record_cb) {
      s->record_cb(r);
      continue;
    }
    if (!text) {
      if (!text_busy_) {
        text_busy_ = took_shared = true;
        text = &text_;
      } else {
        own = std::make_unique<TraceEvent>();
        text = own.get();
      }
      to_trace_event(r, *text);
    }
    s->text_cb(*text);
  }
  if (took_shared) text_busy_ = false;
  if (--dispatch_depth_ == 0 && dead_pending_) {
    dead_pending_ = false;
    subs_.erase(std::remove_if(subs_.begin(), subs_.end(), [](const std::unique_ptr<Sub>& s) { return s->dead; }), subs_.end());
  }
}

}  // namespace nettwin
