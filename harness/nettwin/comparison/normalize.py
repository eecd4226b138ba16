"""One rule for both streams: turn raw tracepoint events (from the Linux recorder's
tracefs parser, or from the stack) into the normalized events.json entries of
traces/README.md.

A raw event is {"time_ns": int, "name": "group:event", "skb": hashable or None,
"fields": {field name: text}}, in time order. Normalizing does three things:

- ownership: tracepoints are global, so only the DUT's events are kept: an event
  naming a DUT device (name or ifindex), or an event on an skb the DUT owns. An skb
  becomes the DUT's when an event names a DUT device, stops being the DUT's when an
  event names another device, and ends its identity when freed (kfree_skb,
  consume_skb, or its slab object being freed/allocated: kmem events, which are
  used for this and never kept);
- skb ordinals: 1, 2, ... by first appearance among the kept events;
- fields: only the compared fields of each tracepoint, each in one canonical text form.
"""
from __future__ import annotations

import functools
import ipaddress
import re
from typing import Iterable

# Compared tracepoints and, for each, the fields kept (tracefs field names).
# Left out on purpose: pointers (skbaddr, napi, qdisc, txq, skaddr), wall-clock and
# jiffies values and pids (neigh_update confirmed/updated/used/pid), and
# neigh_create's `entries`, which counts the neighbours of *every* namespace on the
# machine (the ARP table is global), so it is noise, not behaviour.
KEPT_FIELDS: dict[str, tuple[str, ...]] = {
    "net:netif_rx": ("name", "len"),
    "net:netif_receive_skb": ("name", "len"),
    "net:net_dev_queue": ("name", "len"),
    "net:net_dev_start_xmit": (
        "name", "queue_mapping", "vlan_tagged", "vlan_proto", "vlan_tci", "protocol",
        "ip_summed", "len", "data_len", "network_offset", "transport_offset_valid",
        "transport_offset", "tx_flags", "gso_size", "gso_segs", "gso_type"),
    "net:net_dev_xmit": ("name", "len", "rc"),
    "skb:kfree_skb": ("rx_sk", "protocol", "location", "reason"),
    "skb:consume_skb": ("location",),
    "napi:napi_poll": ("dev_name", "work", "budget"),
    "neigh:neigh_create": ("family", "dev", "created", "gc_exempt", "primary_key4", "primary_key6"),
    "neigh:neigh_update": (
        "family", "dev", "lladdr", "lladdr_len", "flags", "nud_state", "type", "dead", "refcnt",
        "primary_key4", "primary_key6", "new_lladdr", "new_state", "update_flags"),
    "fib:fib_table_lookup": (
        "tb_id", "err", "oif", "iif", "proto", "tos", "scope", "flags", "src", "dst", "gw4",
        "gw6", "sport", "dport", "name"),
    "qdisc:qdisc_enqueue": ("ifindex", "handle", "parent"),
    "qdisc:qdisc_dequeue": ("ifindex", "handle", "parent", "txq_state", "packets"),
    "icmp:icmp_send": ("type", "code", "saddr", "daddr", "sport", "dport", "ulen"),
    "udp:udp_fail_queue_rcv_skb": ("rc", "family", "saddr", "daddr", "sport", "dport"),
    "sock:inet_sock_set_state": ("protocol", "saddr", "sport", "daddr", "dport", "oldstate", "newstate"),
    "tcp:tcp_send_reset": ("saddr", "sport", "daddr", "dport", "state", "reason"),
    "tcp:tcp_receive_reset": ("saddr", "sport", "daddr", "dport"),
    "tcp:tcp_retransmit_skb": ("saddr", "sport", "daddr", "dport", "state", "err"),
    "tcp:tcp_retransmit_synack": ("saddr", "sport", "daddr", "dport"),
    "tcp:tcp_destroy_sock": ("saddr", "sport", "daddr", "dport"),
    "tcp:tcp_rcv_space_adjust": ("saddr", "sport", "daddr", "dport"),
    "tcp:tcp_bad_csum": ("saddr", "sport", "daddr", "dport"),
    "tcp:tcp_cong_state_set": ("saddr", "sport", "daddr", "dport", "cong_state"),
}
# TCP events name no device and are not followed by skb: they are the DUT's when an
# address they carry is in the project's test networks (DESIGN.md), which exist only
# in the recorder's namespaces (and in the stack).
ADDRESS_EVENTS = frozenset({"sock:inet_sock_set_state", "tcp:tcp_send_reset", "tcp:tcp_receive_reset",
                            "tcp:tcp_retransmit_skb", "tcp:tcp_retransmit_synack", "tcp:tcp_destroy_sock",
                            "tcp:tcp_cong_state_set", "tcp:tcp_rcv_space_adjust"})
TEST_NETS = ("198.51.100.", "203.0.113.")
# Where the recording host frees skbs of its own (its vsock channel): never the DUT's, whose
# namespaces have no such device.
HOST_LOCATIONS = ("virtio_transport_tx_work",)
# Events whose saddr/daddr are sockaddrs ("A:P", %pISpc), split into address and port.
SOCKADDR_EVENTS = frozenset({"tcp:tcp_send_reset", "tcp:tcp_bad_csum"})

# Events that carry neither an skb nor a device, emitted right before the DUT's
# drop of the skb they describe (__udp_queue_rcv_skb: udp_fail_queue_rcv_skb,
# then kfree_skb): they are the DUT's when the next compared event is a kept kfree_skb.
PRECEDES_DUT_DROP = frozenset({"udp:udp_fail_queue_rcv_skb"})

COMPARED_EVENTS: frozenset[str] = frozenset(KEPT_FIELDS)

# Tracepoints that carry an skb (skbaddr). Any other event has no skb, whatever the
# raw event says; and skb 0 / None means none (a NULL skbaddr; the proto's 0).
SKB_EVENTS = frozenset({
    "net:netif_rx", "net:netif_receive_skb", "net:net_dev_queue", "net:net_dev_start_xmit",
    "net:net_dev_xmit", "skb:kfree_skb", "skb:consume_skb", "qdisc:qdisc_enqueue",
    "qdisc:qdisc_dequeue", "icmp:icmp_send", "tcp:tcp_bad_csum"})

# Events that end an skb's identity. The kmem ones (filtered by the recorder to
# the skb slab caches) catch frees that emit no consume_skb/kfree_skb, so a
# reused address is never mistaken for the old skb.
FREE_EVENTS = frozenset({"skb:kfree_skb", "skb:consume_skb"})
LIFETIME_EVENTS = frozenset({"kmem:kmem_cache_free", "kmem:kmem_cache_alloc"})

# Fields that name a device (by name or ifindex), per tracepoint.
DEVICE_FIELDS: dict[str, tuple[str, ...]] = {
    "net:netif_rx": ("name",),
    "net:netif_receive_skb": ("name",),
    "net:net_dev_queue": ("name",),
    "net:net_dev_start_xmit": ("name",),
    "net:net_dev_xmit": ("name",),
    "napi:napi_poll": ("dev_name",),
    "neigh:neigh_create": ("dev",),
    "neigh:neigh_update": ("dev",),
    "fib:fib_table_lookup": ("oif", "iif", "name"),
    "qdisc:qdisc_enqueue": ("ifindex",),
    "qdisc:qdisc_dequeue": ("ifindex",),
}
# Values of a device field that name no device at all.
NO_DEVICE = frozenset({"", "-", "0", "(no_device)"})

NUD_STATES = {0x00: "none", 0x01: "incomplete", 0x02: "reachable", 0x04: "stale", 0x08: "delay",
              0x10: "probe", 0x20: "failed", 0x40: "noarp", 0x80: "permanent"}

_IPV4_FIELDS = frozenset({"src", "dst", "gw4", "saddr", "daddr", "primary_key4"})
_IPV6_FIELDS = frozenset({"gw6", "primary_key6"})
_MAC_FIELDS = frozenset({"lladdr", "new_lladdr"})
_STATE_FIELDS = frozenset({"nud_state", "new_state"})
_TEXT_FIELDS = frozenset({"name", "dev", "dev_name", "oldstate", "newstate", "state"})
_OFFSET = re.compile(r"\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+$")
# The compiler's names for a clone of a function (validate_xmit_skb.isra.0,
# tcp_sendmsg_locked.constprop.0, foo.part.0, foo.cold): the function is the same.
_CLONE_SUFFIX = re.compile(r"(\.(isra|constprop|part|cold|llvm)(\.\d+)?)+$")


class NormalizeError(ValueError):
    """A raw event that cannot be normalized (missing keys, unreadable values)."""


def canonical_int(value) -> str:
    """Decimal text from an int, decimal text or 0x-prefixed hex text."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    text = str(value).strip()
    try:
        return str(int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text, 10))
    except ValueError:
        raise NormalizeError(f"not an integer: {value!r}") from None


def canonical_ipv4(value) -> str:
    try:
        return str(ipaddress.IPv4Address(str(value).strip()))
    except ValueError:
        raise NormalizeError(f"not an IPv4 address: {value!r}") from None


def canonical_ipv6(value) -> str:
    """The kernel's %pI6c form: compressed, with a v4-mapped tail written dotted."""
    try:
        addr = ipaddress.IPv6Address(str(value).strip())
    except ValueError:
        raise NormalizeError(f"not an IPv6 address: {value!r}") from None
    if addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return addr.compressed


def canonical_mac(value) -> str:
    """Lowercase colon-separated bytes, from "0200...", "02:00:..." or "02-00-..."."""
    hexdigits = re.sub(r"[:\-\s]", "", str(value)).lower()
    if len(hexdigits) % 2 or not re.fullmatch(r"[0-9a-f]*", hexdigits):
        raise NormalizeError(f"not a link-layer address: {value!r}")
    return ":".join(hexdigits[i:i + 2] for i in range(0, len(hexdigits), 2))


def canonical_state(value) -> str:
    """A NUD state by Linux's name (stale, reachable, ...; none for 0)."""
    text = str(value).strip().lower()
    if text in NUD_STATES.values():
        return text
    number = int(canonical_int(text))
    return NUD_STATES.get(number, str(number))


def canonical_location(value) -> str:
    """The bare function name: "ip_rcv_core+0x1a/0x2f0" -> "ip_rcv_core",
    "validate_xmit_skb.isra.0" -> "validate_xmit_skb"."""
    return _CLONE_SUFFIX.sub("", _OFFSET.sub("", str(value).strip()))


def canonical_pointer_presence(value) -> str:
    """rx_sk: "0" for no socket, "1" for a socket (pointers are not comparable)."""
    text = str(value).strip().lower()
    if text in ("", "0", "(null)", "0x0"):
        return "0"
    try:
        return "1" if int(text, 16) else "0"
    except ValueError:
        raise NormalizeError(f"not a pointer: {value!r}") from None


@functools.lru_cache(maxsize=1 << 16, typed=True)
def canonical_field(name: str, value) -> str:
    """One field's value in the canonical text form of traces/README.md (the same few
    addresses, devices and numbers recur in every event: each is worked out once)."""
    if name in _IPV4_FIELDS:
        return canonical_ipv4(value)
    if name in _IPV6_FIELDS:
        return canonical_ipv6(value)
    if name in _MAC_FIELDS:
        return canonical_mac(value)
    if name in _STATE_FIELDS:
        return canonical_state(value)
    if name == "location":
        return canonical_location(value)
    if name == "reason":
        return str(value).strip().upper()
    if name == "rx_sk":
        return canonical_pointer_presence(value)
    if name in _TEXT_FIELDS:
        return str(value)
    return canonical_int(value)


def split_sockaddrs(fields: dict) -> dict:
    """tcp_send_reset's saddr/daddr are sockaddrs ("A:P", %pISpc); the recorder and the
    other tcp events carry address and port apart: split them so both compare alike."""
    out = dict(fields)
    for addr, port in (("saddr", "sport"), ("daddr", "dport")):
        a, sep, p = str(out.get(addr, "")).rpartition(":")
        if sep and port not in out and p.isdigit():
            out[addr], out[port] = a, p
    return out


def canonical_fields(event_name: str, fields: dict) -> dict:
    fields = split_sockaddrs(fields) if event_name in SOCKADDR_EVENTS else fields
    out = {}
    for name in KEPT_FIELDS[event_name]:
        if name in fields:
            try:
                out[name] = canonical_field(name, fields[name])
            except NormalizeError as e:
                raise NormalizeError(f"{event_name} field {name}: {e}") from None
    return out


def _devices(event_name: str, fields: dict) -> list[str]:
    """The devices an event names (device names and ifindexes as text)."""
    named = []
    for key in DEVICE_FIELDS.get(event_name, ()):
        value = fields.get(key)
        if value is None:
            continue
        text = str(value).strip()
        if text not in NO_DEVICE:
            named.append(text)
    return named


def _check_raw(ev) -> None:
    if not isinstance(ev, dict):
        raise NormalizeError(f"a raw event must be a dict, got {type(ev).__name__}")
    for key in ("time_ns", "name", "skb", "fields"):
        if key not in ev:
            raise NormalizeError(f"raw event without {key!r}: {ev!r}")
    if not isinstance(ev["fields"], dict):
        raise NormalizeError(f"raw event fields must be a dict: {ev!r}")


def normalize_events(raw: Iterable[dict], dut_devices) -> list[dict]:
    """The DUT's events of a raw stream, as events.json entries (see module doc)."""
    dut = {str(d) for d in dut_devices}
    if not dut:
        raise NormalizeError("dut_devices is empty: nothing could be attributed to the DUT")
    owned: set = set()            # skbs the DUT currently owns
    ordinals: dict = {}           # live skb -> ordinal
    next_ordinal = 1
    out = []
    pending = None                # a PRECEDES_DUT_DROP event waiting for the drop it announces
    for ev in raw:
        _check_raw(ev)
        name, skb, fields = ev["name"], ev["skb"], ev["fields"]
        if skb == 0 or (name not in SKB_EVENTS and name not in LIFETIME_EVENTS):
            skb = None
        if name in LIFETIME_EVENTS:
            owned.discard(skb)
            ordinals.pop(skb, None)
            continue
        if name not in COMPARED_EVENTS:
            continue
        if name in FREE_EVENTS and str(fields.get("location", "")).startswith(HOST_LOCATIONS):
            # The host's own skb in a slab object the DUT's last held (napi_skb_cache reuses
            # heads with no kmem event in between): the DUT's ended unseen before.
            owned.discard(skb)
            ordinals.pop(skb, None)
            continue
        devices = _devices(name, fields)
        names_dut = any(d in dut for d in devices)
        if skb is None and name in PRECEDES_DUT_DROP:
            pending = ev   # decided by the next compared event
            continue
        if name in ADDRESS_EVENTS:
            skb = None
            fields = split_sockaddrs(fields)
            keep = any(str(fields.get(k, "")).startswith(TEST_NETS) for k in ("saddr", "daddr"))
        elif skb is None:
            keep = names_dut
        else:
            if names_dut:
                owned.add(skb)
            elif devices:
                owned.discard(skb)
            keep = skb in owned
        if keep:
            ordinal = None
            if skb is not None:
                if skb not in ordinals:
                    ordinals[skb] = next_ordinal
                    next_ordinal += 1
                ordinal = ordinals[skb]
            out.append({"t_ns": int(ev["time_ns"]), "name": name, "skb": ordinal,
                        "fields": canonical_fields(name, fields)})
        if pending is not None:
            if keep and name == "skb:kfree_skb":
                out.insert(len(out) - 1, {"t_ns": int(pending["time_ns"]), "name": pending["name"], "skb": None,
                                          "fields": canonical_fields(pending["name"], pending["fields"])})
            pending = None
        if name in FREE_EVENTS and skb is not None:
            owned.discard(skb)
            ordinals.pop(skb, None)
    return out
