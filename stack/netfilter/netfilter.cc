// net/netfilter/core.c: registration and nf_hook_slow.
#include "netfilter/netfilter.h"

#include <algorithm>
#include <cstring>

#include "core/net.h"
#include "core/trace_events.h"

namespace nettwin {

const char* nf_inet_hook_name(NfInetHook hook) {
  switch (hook) {
    case NF_INET_PRE_ROUTING: return "PRE_ROUTING";
    case NF_INET_LOCAL_IN: return "LOCAL_IN";
    case NF_INET_FORWARD: return "FORWARD";
    case NF_INET_LOCAL_OUT: return "LOCAL_OUT";
    case NF_INET_POST_ROUTING: return "POST_ROUTING";
    default: return "?";
  }
}

int nf_register_net_hook(Net& net, NfInetHook hook, int priority, NfHookFn fn) {
  auto& v = net.nf_hooks.entries[hook];
  const int id = net.nf_hooks.next_id++;
  // nf_hook_entries_grow: before the first entry of higher priority.
  auto pos = std::upper_bound(v.begin(), v.end(), priority,
                              [](int p, const NfHookOps& o) { return p < o.priority; });
  v.insert(pos, NfHookOps{id, hook, priority, std::move(fn)});
  return id;
}

bool nf_unregister_net_hook(Net& net, int id) {
  for (auto& v : net.nf_hooks.entries) {
    auto it = std::find_if(v.begin(), v.end(), [id](const NfHookOps& o) { return o.id == id; });
    if (it != v.end()) {
      v.erase(it);
      return true;
    }
  }
  return false;
}

// A hook answering REPEAT forever would hang the engine: after this many
// repeats of one hook the packet is dropped (Linux has no such bound).
constexpr int kMaxRepeats = 64;

int nf_hook_slow(Net& net, SkBuff* skb, const NfHookState& state) {
  checkpoint(net.tracer, "nf_hook_slow", skb);
  // A copy: a hook function may register or unregister hooks while it runs.
  const std::vector<NfHookOps> hooks = net.nf_hooks.entries[state.hook];
  for (size_t s = 0; s < hooks.size(); ++s) {
    int repeats = 0;
    for (;;) {
      const NfHookResult r = hooks[s].hook(skb, state);
      switch (r.verdict) {
        case NF_ACCEPT:
          break;
        case NF_STOP:
          return 1;
        case NF_DROP:
          checkpoint(net.tracer, "nf_hook_slow", skb, "drop");
          kfree_skb(skb, r.reason, "nf_hook_slow");
          return -1;  // -EPERM
        case NF_STOLEN:
          return 0;  // the hook function owns the skb now
        case NF_QUEUE:
          // nf_queue with no queue handler registered: -ESRCH, freed.
          kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "nf_hook_slow");
          return -1;
        case NF_REPEAT:
          if (++repeats < kMaxRepeats) continue;
          kfree_skb(skb, SkbDropReason::NETFILTER_DROP, "nf_hook_slow");
          return -1;
      }
      break;
    }
  }
  return 1;
}

bool nf_replace_network_bytes(SkBuff* skb, const uint8_t* data, size_t len) {
  if (len == 0 || len > 0xffff) return false;
  const unsigned off = unsigned(skb_network_offset(skb) < 0 ? 0 : skb_network_offset(skb));
  const unsigned cur = skb->len - off;
  if (len > cur) {
    const unsigned more = unsigned(len - cur);
    if (skb_tailroom(skb) < int(more)) pskb_expand_head(skb, 0, more);
    skb_put(skb, more);
  } else {
    skb_trim(skb, unsigned(off + len));
  }
  std::memcpy(skb_network_header(skb), data, len);
  return true;
}

}  // namespace nettwin
