"""A private tracefs instance, and the parser that turns its text output into raw
events (the dicts normalize.normalize_events takes) with canonical values under the
tracefs field names of ../shared/reference/linux-6.18/tracepoint-formats.txt.

Each event's text follows its `print fmt`; the parsers below read those formats
back into fields (hex printed numbers become decimal, %pI4 stays dotted, hex byte
strings become MACs, `location=f+0x1a/0x2f0` keeps the function name only later in
normalize). Pointers are read as integers: `skb` is the skbaddr (or the slab object
of a kmem event), so one skb is one key across events.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterable, Optional

TRACEFS = Path("/sys/kernel/tracing")

# The tracepoints the recorder enables. kmem ones follow skb lifetimes only.
RECORDED_EVENTS = (
    "net:netif_rx", "net:netif_receive_skb", "net:net_dev_queue", "net:net_dev_start_xmit",
    "net:net_dev_xmit", "skb:kfree_skb", "skb:consume_skb", "napi:napi_poll",
    "neigh:neigh_create", "neigh:neigh_update", "fib:fib_table_lookup", "qdisc:qdisc_enqueue",
    "qdisc:qdisc_dequeue", "icmp:icmp_send", "udp:udp_fail_queue_rcv_skb", "kmem:kmem_cache_free", "kmem:kmem_cache_alloc",
    # TCP: state changes, resets and retransmissions, and each autotuning measure a read makes
    # (tcp_rcv_space_adjust; tcp_probe and tcp_rcvbuf_grow carry RTTs and times that vary from
    # run to run, so they are not recorded).
    "sock:inet_sock_set_state", "tcp:tcp_send_reset", "tcp:tcp_receive_reset", "tcp:tcp_retransmit_skb",
    "tcp:tcp_retransmit_synack", "tcp:tcp_destroy_sock", "tcp:tcp_bad_csum", "tcp:tcp_rcv_space_adjust",
    # The congestion-avoidance state (Open, Disorder, CWR, Recovery, Loss) as tcp_set_ca_state sets it.
    "tcp:tcp_cong_state_set",
)
SKB_SLABS = ("skbuff_head_cache", "skbuff_fclone_cache")


class TraceParseError(ValueError):
    """A tracefs line that does not read as one of the recorded events."""


class TracefsError(RuntimeError):
    """The tracefs instance could not be set up or read."""


# ---------------------------------------------------------------- the parser

_LINE = re.compile(
    r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[^\s\d][^\s]*)\s+)?(?P<secs>\d+)\.(?P<usecs>\d{6}):\s+"
    r"(?P<event>\w+):\s?(?P<rest>.*)$")

_HEX = r"[0-9a-fA-F]+"
_PTR = r"(?:0x)?[0-9a-fA-F]+|\(null\)"
_IP4 = r"\d+\.\d+\.\d+\.\d+"
_IP6 = r"[0-9a-fA-F:.]+"
_NUM = r"-?\d+"


def _ptr(text: str) -> int:
    return 0 if text == "(null)" else int(text, 16)


def _hex_to_dec(text: str) -> str:
    return str(int(text, 16))


def _dec(text: str) -> str:
    return str(int(text, 10))


def _kv(rest: str) -> dict:
    """key=value pairs separated by spaces (net_dev_start_xmit and friends)."""
    out = {}
    for token in rest.split():
        key, sep, value = token.partition("=")
        if not sep:
            raise TraceParseError(f"not key=value: {token!r}")
        out[key] = value
    return out


def _dev_skb_len(rest: str, extra: tuple[str, ...] = ()) -> dict:
    kv = _kv(rest)
    try:
        fields = {"name": kv["dev"], "skbaddr": kv["skbaddr"], "len": _dec(kv["len"])}
        for key in extra:
            fields[key] = _dec(kv[key])
    except KeyError as e:
        raise TraceParseError(f"missing {e} in {rest!r}") from None
    return fields


def _net_dev_start_xmit(rest: str) -> dict:
    kv = _kv(rest)
    hex_keys = {"vlan_proto", "vlan_tci", "protocol", "gso_type"}
    fields = {"name": kv.pop("dev"), "skbaddr": kv.pop("skbaddr")}
    for key, value in kv.items():
        fields[key] = str(int(value, 16)) if key in hex_keys else _dec(value)
    return fields


_KFREE = re.compile(rf"^skbaddr=(?P<skbaddr>{_PTR}) rx_sk=(?P<rx_sk>{_PTR}) "
                    rf"protocol=(?P<protocol>\d+) location=(?P<location>\S+) reason: (?P<reason>\S+)$")
_CONSUME = re.compile(rf"^skbaddr=(?P<skbaddr>{_PTR}) location=(?P<location>\S+)$")
_NAPI = re.compile(rf"^napi poll on napi struct (?P<napi>{_PTR}) for device (?P<dev_name>\S*) "
                   rf"work (?P<work>{_NUM}) budget (?P<budget>{_NUM})$")
_QDISC_ENQ = re.compile(rf"^enqueue ifindex=(?P<ifindex>{_NUM}) qdisc handle=0x(?P<handle>{_HEX}) "
                        rf"parent=0x(?P<parent>{_HEX}) skbaddr=(?P<skbaddr>{_PTR})$")
_QDISC_DEQ = re.compile(rf"^dequeue ifindex=(?P<ifindex>{_NUM}) qdisc handle=0x(?P<handle>{_HEX}) "
                        rf"parent=0x(?P<parent>{_HEX}) txq_state=0x(?P<txq_state>{_HEX}) "
                        rf"packets=(?P<packets>{_NUM}) skbaddr=(?P<skbaddr>{_PTR})$")
_NEIGH_CREATE = re.compile(
    rf"^family (?P<family>\d+) dev (?P<dev>\S+) entries (?P<entries>{_NUM}) "
    rf"primary_key4 (?P<primary_key4>{_IP4}) primary_key6 (?P<primary_key6>{_IP6}) "
    rf"created (?P<created>\d+) gc_exempt (?P<gc_exempt>\d+)$")
_NEIGH_UPDATE = re.compile(
    rf"^family (?P<family>\d+) dev (?P<dev>\S+) lladdr (?P<lladdr>[0-9a-fA-F]*) "
    rf"flags (?P<flags>{_HEX}) nud_state (?P<nud_state>\S+) type (?P<type>{_HEX}) "
    rf"dead (?P<dead>\d+) refcnt (?P<refcnt>{_NUM}) primary_key4 (?P<primary_key4>{_IP4}) "
    rf"primary_key6 (?P<primary_key6>{_IP6}) confirmed (?P<confirmed>\d+) "
    rf"updated (?P<updated>\d+) used (?P<used>\d+) new_lladdr (?P<new_lladdr>[0-9a-fA-F]*) "
    rf"new_state (?P<new_state>\S+) update_flags (?P<update_flags>{_HEX}) pid (?P<pid>\d+)$")
_FIB = re.compile(
    rf"^table (?P<tb_id>\d+) oif (?P<oif>{_NUM}) iif (?P<iif>{_NUM}) proto (?P<proto>\d+) "
    rf"(?P<src>{_IP4})/(?P<sport>\d+) -> (?P<dst>{_IP4})/(?P<dport>\d+) tos (?P<tos>{_NUM}) "
    rf"scope (?P<scope>{_NUM}) flags (?P<flags>{_HEX}) ==> dev (?P<name>\S*) "
    rf"gw (?P<gw4>{_IP4})/(?P<gw6>{_IP6}) err (?P<err>{_NUM})$")
_ICMP_SEND = re.compile(
    rf"^(?:icmp_send: )?type=(?P<type>{_NUM}), code=(?P<code>{_NUM})\. "
    rf"From (?P<saddr>{_IP4}):(?P<sport>\d+) to (?P<daddr>{_IP4}):(?P<dport>\d+) "
    rf"ulen=(?P<ulen>{_NUM}) skbaddr=(?P<skbaddr>{_PTR})$")
# udp_fail_queue_rcv_skb: "rc=-12 family=AF_INET src=198.51.100.1:4000 dest=198.51.100.2:5000"
_UDP_FAIL = re.compile(
    rf"^rc=(?P<rc>{_NUM}) family=(?P<family>\S+) src=(?P<saddr>{_IP4}):(?P<sport>\d+) "
    rf"dest=(?P<daddr>{_IP4}):(?P<dport>\d+)$")
_KMEM = re.compile(rf"^call_site=(?P<call_site>\S+) ptr=(?P<ptr>{_PTR}) name=(?P<name>\S+)(?: .*)?$")


def _regex(pattern: re.Pattern, hex_fields=(), dec_fields=()) -> Callable[[str], dict]:
    def parse(rest: str) -> dict:
        m = pattern.match(rest)
        if not m:
            raise TraceParseError(f"does not match {pattern.pattern!r}: {rest!r}")
        fields = m.groupdict()
        for key in hex_fields:
            fields[key] = _hex_to_dec(fields[key])
        for key in dec_fields:
            fields[key] = _dec(fields[key])
        return fields
    return parse


def _neigh_update(rest: str) -> dict:
    fields = _regex(_NEIGH_UPDATE, hex_fields=("flags", "type", "update_flags"))(rest)
    # lladdr is printed as lladdr_len bytes of hex; the length is not printed itself.
    fields["lladdr_len"] = str(len(fields["lladdr"]) // 2)
    for key in ("lladdr", "new_lladdr"):
        hexdigits = fields[key].lower()
        fields[key] = ":".join(hexdigits[i:i + 2] for i in range(0, len(hexdigits), 2))
    for key in ("nud_state", "new_state"):
        value = fields[key]
        if value.lower().startswith("0x"):
            fields[key] = str(int(value, 16))
    return fields


# event name in the text -> (group:event, field parser, field holding the skb)
def _udp_fail(rest: str) -> dict:
    fields = _regex(_UDP_FAIL)(rest)
    fields["family"] = {"AF_INET": "2", "AF_INET6": "10"}.get(fields["family"], fields["family"])
    return fields


def _tcp_kv(rest: str) -> dict:
    """key=value tcp:* and sock:* events; "src=A:P dest=B:Q" (tcp_send_reset) become
    saddr/sport and daddr/dport like the others' fields."""
    fields = _kv(rest)
    for key, addr, port in (("src", "saddr", "sport"), ("dest", "daddr", "dport")):
        if key in fields:
            a, _, p = fields.pop(key).rpartition(":")
            fields[addr], fields[port] = a, p
    if "family" in fields:
        fields["family"] = {"AF_INET": "2", "AF_INET6": "10"}.get(fields["family"], fields["family"])
    if "protocol" in fields:
        fields["protocol"] = {"IPPROTO_TCP": "6"}.get(fields["protocol"], fields["protocol"])
    return fields


PARSERS: dict[str, tuple[str, Callable[[str], dict], Optional[str]]] = {
    "netif_rx": ("net:netif_rx", _dev_skb_len, "skbaddr"),
    "netif_receive_skb": ("net:netif_receive_skb", _dev_skb_len, "skbaddr"),
    "net_dev_queue": ("net:net_dev_queue", _dev_skb_len, "skbaddr"),
    "net_dev_start_xmit": ("net:net_dev_start_xmit", _net_dev_start_xmit, "skbaddr"),
    "net_dev_xmit": ("net:net_dev_xmit", lambda r: _dev_skb_len(r, ("rc",)), "skbaddr"),
    "kfree_skb": ("skb:kfree_skb", _regex(_KFREE), "skbaddr"),
    "consume_skb": ("skb:consume_skb", _regex(_CONSUME), "skbaddr"),
    "napi_poll": ("napi:napi_poll", _regex(_NAPI), None),
    "qdisc_enqueue": ("qdisc:qdisc_enqueue", _regex(_QDISC_ENQ, hex_fields=("handle", "parent")),
                      "skbaddr"),
    "qdisc_dequeue": ("qdisc:qdisc_dequeue",
                      _regex(_QDISC_DEQ, hex_fields=("handle", "parent", "txq_state")), "skbaddr"),
    "neigh_create": ("neigh:neigh_create", _regex(_NEIGH_CREATE), None),
    "neigh_update": ("neigh:neigh_update", _neigh_update, None),
    "fib_table_lookup": ("fib:fib_table_lookup", _regex(_FIB, hex_fields=("flags",)), None),
    "icmp_send": ("icmp:icmp_send", _regex(_ICMP_SEND), "skbaddr"),
    "udp_fail_queue_rcv_skb": ("udp:udp_fail_queue_rcv_skb", _udp_fail, None),
    "inet_sock_set_state": ("sock:inet_sock_set_state", _tcp_kv, None),
    "tcp_send_reset": ("tcp:tcp_send_reset", _tcp_kv, None),
    "tcp_receive_reset": ("tcp:tcp_receive_reset", _tcp_kv, None),
    "tcp_retransmit_skb": ("tcp:tcp_retransmit_skb", _tcp_kv, None),
    "tcp_retransmit_synack": ("tcp:tcp_retransmit_synack", _tcp_kv, None),
    "tcp_destroy_sock": ("tcp:tcp_destroy_sock", _tcp_kv, None),
    "tcp_rcv_space_adjust": ("tcp:tcp_rcv_space_adjust", _tcp_kv, None),
    "tcp_bad_csum": ("tcp:tcp_bad_csum", _tcp_kv, "skbaddr"),
    "tcp_cong_state_set": ("tcp:tcp_cong_state_set", _tcp_kv, None),
    "kmem_cache_free": ("kmem:kmem_cache_free", _regex(_KMEM), "ptr"),
    "kmem_cache_alloc": ("kmem:kmem_cache_alloc", _regex(_KMEM), "ptr"),
}


def parse_line(line: str) -> Optional[dict]:
    """One line of a tracefs `trace` file as a raw event; None for comments and blank
    lines. time_ns is the trace clock's time (microsecond resolution in text form)."""
    line = line.rstrip("\n")
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    m = _LINE.match(line)
    if not m:
        raise TraceParseError(f"not a tracefs event line: {line!r}")
    event = m["event"]
    if event not in PARSERS:
        raise TraceParseError(f"unknown event {event!r} in line: {line!r}")
    full_name, parse_fields, skb_field = PARSERS[event]
    try:
        fields = parse_fields(m["rest"])
    except TraceParseError as e:
        raise TraceParseError(f"{full_name}: {e}") from None
    skb = _ptr(fields[skb_field]) if skb_field else None
    return {"time_ns": int(m["secs"]) * 1_000_000_000 + int(m["usecs"]) * 1000,
            "name": full_name, "skb": skb, "fields": fields,
            "cpu": int(m["cpu"]), "pid": int(m["pid"]), "task": m["task"].strip()}


def parse_text(text: str) -> list[dict]:
    """Every event of a tracefs `trace` file, in file (time) order."""
    events = []
    for line in text.splitlines():
        ev = parse_line(line)
        if ev is not None:
            events.append(ev)
    return events


_ENTRIES = re.compile(r"^# entries-in-buffer/entries-written: (\d+)/(\d+)")


def lost_entries(text: str) -> int:
    """How many events the ring buffer overwrote (written minus kept), from the header."""
    for line in text.splitlines()[:10]:
        m = _ENTRIES.match(line)
        if m:
            return int(m[2]) - int(m[1])
    raise TraceParseError("no entries-in-buffer/entries-written header in trace text")


# ---------------------------------------------------------- the instance


def skb_slab_names(slab_root: Path = Path("/sys/kernel/slab"),
                   slabinfo: Path = Path("/proc/slabinfo")) -> list[str]:
    """The names under which the skb slab caches report in kmem events. A merged cache
    (/sys/kernel/slab/skbuff_fclone_cache -> :0000512) reports the name of the cache it
    was merged into, the one listed in /proc/slabinfo."""
    listed = set()
    for line in slabinfo.read_text().splitlines()[2:]:
        if line.split():
            listed.add(line.split()[0])
    names = []
    for cache in SKB_SLABS:
        entry = slab_root / cache
        if not entry.exists():
            continue
        if cache in listed or not entry.is_symlink():
            names.append(cache)
            continue
        target = entry.resolve()
        for alias in sorted(slab_root.iterdir()):
            if alias.name in listed and alias.resolve() == target:
                names.append(alias.name)
                break
        else:
            raise TracefsError(f"cannot find the slab name {cache} reports under ({target})")
    if not names:
        raise TracefsError(f"no skb slab cache found in {slab_root}")
    return names


class TraceInstance:
    """/sys/kernel/tracing/instances/<name>: created by start(), removed by close().
    Events are enabled in it only, so the machine's global trace is left alone."""

    def __init__(self, name: str, events: Iterable[str] = RECORDED_EVENTS,
                 clock: str = "mono", buffer_kb: int = 16384):
        self.name = name
        self.events = tuple(events)
        self.clock = clock
        self.buffer_kb = buffer_kb
        self.path = TRACEFS / "instances" / name

    def _write(self, rel: str, value: str) -> None:
        try:
            (self.path / rel).write_text(value)
        except OSError as e:
            raise TracefsError(f"writing {value!r} to {self.path / rel}: {e}") from None

    def start(self) -> None:
        """Create the instance, configure it and enable the events (tracing stays off)."""
        if not (TRACEFS / "instances").is_dir():
            _mount_tracefs()
        try:
            os.mkdir(self.path)
        except OSError as e:
            raise TracefsError(f"cannot create tracefs instance {self.path}: {e}") from None
        self._write("tracing_on", "0")
        self._write("buffer_size_kb", str(self.buffer_kb))
        self._write("trace_clock", self.clock)
        if (self.path / "options" / "hash-ptr").exists():
            self._write("options/hash-ptr", "0")   # real addresses: one key per skb
        slab_filter = " || ".join(f'name == "{n}"' for n in skb_slab_names())
        for event in self.events:
            group, _, ev = event.partition(":")
            if ev.startswith("kmem_cache_"):
                self._write(f"events/{group}/{ev}/filter", slab_filter)
            self._write(f"events/{group}/{ev}/enable", "1")
        self._write("trace", "")

    def on(self) -> None:
        self._write("tracing_on", "1")

    def off(self) -> None:
        self._write("tracing_on", "0")

    def read(self) -> str:
        try:
            return (self.path / "trace").read_text()
        except OSError as e:
            raise TracefsError(f"reading {self.path}/trace: {e}") from None

    def close(self) -> None:
        """Remove the instance (disabling it first); safe to call twice."""
        if not self.path.exists():
            return
        try:
            (self.path / "tracing_on").write_text("0")
        except OSError:
            pass
        os.rmdir(self.path)


def _mount_tracefs() -> None:
    TRACEFS.mkdir(parents=True, exist_ok=True)
    rc = os.system(f"mount -t tracefs nodev {TRACEFS}")
    if rc != 0 or not (TRACEFS / "instances").is_dir():
        raise TracefsError(f"tracefs is not mounted at {TRACEFS} and mounting it failed")
