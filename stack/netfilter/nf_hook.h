// NF_HOOK and friends: inline, so that a hook point with nothing registered
// costs one predictable branch.
#pragma once

#include "core/net.h"
#include "netfilter/netfilter.h"

namespace nettwin {

using NfOkFn = int (*)(Net& net, SkBuff* skb);

inline bool nf_hooks_active(const Net& net, NfInetHook hook) { return !net.nf_hooks.entries[hook].empty(); }

// NF_HOOK: okfn(net, skb) when every hook accepts.
inline int NF_HOOK(NfInetHook hook, Net& net, SkBuff* skb, NetDevice* in, NetDevice* out, NfOkFn okfn) {
  if (__builtin_expect(!nf_hooks_active(net, hook), 1)) return okfn(net, skb);
  int ret = nf_hook_slow(net, skb, NfHookState{hook, &net, in, out});
  return ret == 1 ? okfn(net, skb) : ret;
}
// nf_hook: 1 when okfn should be called by the caller, else the skb is gone.
inline int nf_hook(NfInetHook hook, Net& net, SkBuff* skb, NetDevice* in, NetDevice* out) {
  if (__builtin_expect(!nf_hooks_active(net, hook), 1)) return 1;
  return nf_hook_slow(net, skb, NfHookState{hook, &net, in, out});
}
// NF_HOOK_COND: the hooks only when cond holds (ip_output's "not rerouted").
inline int NF_HOOK_COND(NfInetHook hook, Net& net, SkBuff* skb, NetDevice* in, NetDevice* out, NfOkFn okfn,
                        bool cond) {
  if (!cond) return okfn(net, skb);
  return NF_HOOK(hook, net, skb, in, out, okfn);
}

}  // namespace nettwin
