// Netfilter hook points (include/linux/netfilter.h, net/netfilter/core.c):
// NF_HOOK at the five IPv4 places, hook functions in priority order, Linux's
// verdicts. While no hook is registered at a point, NF_HOOK costs one
// predictable branch and calls okfn directly.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/skbuff.h"

namespace nettwin {

class Net;
struct NetDevice;

enum NfInetHook : uint8_t {
  NF_INET_PRE_ROUTING = 0,
  NF_INET_LOCAL_IN = 1,
  NF_INET_FORWARD = 2,
  NF_INET_LOCAL_OUT = 3,
  NF_INET_POST_ROUTING = 4,
  NF_INET_NUMHOOKS = 5,
};
const char* nf_inet_hook_name(NfInetHook hook);  // "PRE_ROUTING", ...

enum NfVerdict : unsigned {
  NF_DROP = 0,
  NF_ACCEPT = 1,
  NF_STOLEN = 2,
  NF_QUEUE = 3,
  NF_REPEAT = 4,
  NF_STOP = 5,  // deprecated in Linux, kept as ACCEPT-and-stop
};

// struct nf_hook_state
struct NfHookState {
  NfInetHook hook;
  Net* net;
  NetDevice* in;
  NetDevice* out;
};

// A hook function's answer: the verdict and, for NF_DROP, the drop reason
// (NF_DROP_REASON; NETFILTER_DROP unless the hook says otherwise).
struct NfHookResult {
  NfVerdict verdict = NF_ACCEPT;
  SkbDropReason reason = SkbDropReason::NETFILTER_DROP;
};
using NfHookFn = std::function<NfHookResult(SkBuff* skb, const NfHookState& state)>;

// struct nf_hook_ops, as registered.
struct NfHookOps {
  int id = 0;
  NfInetHook hooknum = NF_INET_PRE_ROUTING;
  int priority = 0;
  NfHookFn hook;
};

struct NfHooks {
  std::array<std::vector<NfHookOps>, NF_INET_NUMHOOKS> entries;  // each by priority
  int next_id = 1;
};

// nf_register_net_hook: the new hook runs after those of lower or equal priority.
int nf_register_net_hook(Net& net, NfInetHook hook, int priority, NfHookFn fn);
bool nf_unregister_net_hook(Net& net, int id);

// nf_hook_slow: run the hooks; 1 means "accepted, call okfn", anything else
// means the skb is gone (dropped: kfree_skb at nf_hook_slow; stolen; queued
// with no queue handler: dropped as nf_queue does).
int nf_hook_slow(Net& net, SkBuff* skb, const NfHookState& state);

// Replace the skb's bytes from its network header on with data (what a hook
// that mangles the packet does); false when data is empty.
bool nf_replace_network_bytes(SkBuff* skb, const uint8_t* data, size_t len);

}  // namespace nettwin
