"""The shell lines of scripts (`...`), read rather than run: what upstream's scripts
use them for is settings. Understood:
  sysctl [-q] [-w] NAME=VALUE ...            set net.* sysctls
  PATH.sh                                    a settings file (upstream's ../common/defaults.sh,
                                             found from the script's folder or one above it):
                                             its lines, read the same way ($((a*b)) arithmetic
                                             included); `ip tcp_metrics flush` is a no-op (a
                                             fresh stack per script has no cached metrics)
  PATH/set_sysctls.py /proc/sys/A/B=VALUE ...  the same settings by /proc path
  /tmp/sysctl_restore_*.sh                   a no-op (every script starts from a fresh stack)
  ip route add|change|replace|del PREFIX [via GW] [dev tun0] [metric N] [table N]
           [mtu [lock] N] [window N] [advmss N] [initcwnd N] [initrwnd N] [rto_min TIME]
           [quickack 0|1] [congctl [lock] NAME] [features ecn]
                                             a route with its metrics (tun0: the DUT's device);
                                             `ip route show` is a no-op
  tc qdisc add|replace|change|del dev tun0 root [pfifo|bfifo [limit N]|pfifo_fast|noqueue]
                                             the device's root qdisc, FIFOs only (see tc_qdisc)
  ethtool -K tun0 tso|gso|gro|lro off ...    a no-op: both targets' devices already have
                                             these offloads off (see ethtool_features)
$local_ip, $remote_ip, $gateway_ip, $netmask_ip and -D names are replaced by their values.
Anything else is refused with the line, so a script never runs with a setting silently lost."""
from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Union


class CommandError(ValueError):
    pass


DEVICE = "tun0"     # upstream's name for the DUT's device; each target has its own


@dataclass
class Sysctl:
    name: str
    value: str


@dataclass
class IpRoute:
    """`ip route OP ...`: route holds the Route message's fields (dst, gateway, table,
    metric and the metrics: initcwnd=20, rto_min_ms=100, mtu_lock=True, ...); words are
    the arguments after `route` (the device still tun0), for a target that runs them."""
    op: str                         # add, change, replace, del
    route: dict
    words: list = field(default_factory=list)


@dataclass
class TcQdisc:
    """`tc qdisc OP dev tun0 root [KIND [limit N]]`."""
    op: str                         # add, replace, change, del
    kind: str                       # "" for del without a kind
    limit: Optional[int]
    words: list = field(default_factory=list)


Action = Union[Sysctl, IpRoute, TcQdisc]

_ARITH = re.compile(r"\$\(\(([0-9+\-*/ ()]+)\)\)")
_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def _arith(text: str) -> str:
    def value(m):
        expr = m.group(1)
        # digits and + - * / ( ) only: evaluated as integer shell arithmetic
        return str(int(eval(expr.replace("/", "//"), {"__builtins__": {}}, {})))
    return _ARITH.sub(value, text)


def _find(base: Path, cmd: str):
    """A settings file named relative to the script's folder or (as upstream's trees are
    run from a folder above the script's) to one of its parents."""
    if cmd.startswith("/"):
        return Path(cmd) if Path(cmd).is_file() else None
    for d in [base, *base.parents][:4]:
        if (d / cmd).is_file():
            return d / cmd
    return None


def _vars(text: str, env: Mapping[str, str]) -> str:
    """$name and ${name} of the names env knows; others ($PPID) stay for the shell."""
    return _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)


def _number(part: str, what: str, text: str, low: int = 0, high: int = 2**32 - 1) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise CommandError(f"command '{part}': {what} {text!r} is not an integer in [{low}, {high}]")
    return int(text)


_RTT = re.compile(r"(\d+(?:\.\d*)?)(s|sec|secs|ms|msec|msecs|us|usec|usecs)?")


def _rto_min_ms(part: str, text: str) -> int:
    """iproute2's get_time_rtt: a time in ms (s and us converted, truncated; no unit: ms)."""
    m = _RTT.fullmatch(text)
    if not m:
        raise CommandError(f"command '{part}': rto_min {text!r} is not a time such as 100ms")
    value, unit = float(m.group(1)), m.group(2) or "ms"
    ms = value * 1000 if unit.startswith("s") else value / 1000 if unit.startswith("u") else value
    if ms >= 2**32 - 1:
        raise CommandError(f"command '{part}': rto_min {text!r} is too long")
    return int(ms)


# The metrics: name -> (Route field, whether `lock` may precede the value).
_METRICS = {"mtu": ("mtu", True), "window": ("window", False), "advmss": ("advmss", False),
            "initcwnd": ("initcwnd", False), "initrwnd": ("initrwnd", False)}
_ROUTE_OPS = {"add": "add", "change": "change", "replace": "replace", "del": "del", "delete": "del"}


def _op(part: str, words: list[str], ops: dict, reads: tuple) -> Optional[str]:
    """The operation of `ip route OP` / `tc qdisc OP` (None for one that only reads)."""
    if len(words) < 3 or words[2] in reads:
        return None
    if words[2] not in ops:
        raise CommandError(f"command '{part}': {' '.join(words[:2])} {words[2]} is not supported "
                           f"({', '.join(sorted(set(ops.values())))}, {reads[0]})")
    return ops[words[2]]


def ip_route(part: str, words: list[str]) -> Optional[IpRoute]:
    """`ip route ...` as iproute2 reads the parts the runner supports (None: show/list)."""
    op = _op(part, words, _ROUTE_OPS, ("show", "list", "get"))
    if op is None:
        return None
    route: dict = {}
    args = words[3:]
    i = 0

    def value(name: str) -> str:
        if i + 1 >= len(args):
            raise CommandError(f"command '{part}': {name} needs a value")
        return args[i + 1]

    while i < len(args):
        w = args[i]
        if w == "to":
            i += 1
            continue
        if w == "via":
            gw = value(w)
            try:
                ipaddress.IPv4Address(gw)
            except ValueError:
                raise CommandError(f"command '{part}': via {gw!r} is not an IPv4 address") from None
            route["gateway"] = gw
        elif w == "dev":
            if value(w) != DEVICE:
                raise CommandError(f"command '{part}': the only device is {DEVICE}, not {value(w)!r}")
        elif w in ("metric", "priority", "preference"):
            route["metric"] = _number(part, w, value(w))
        elif w == "table":
            route["table"] = 254 if value(w) == "main" else _number(part, w, value(w), 1)
        elif w in _METRICS:
            name, lockable = _METRICS[w]
            if value(w) == "lock":
                if not lockable:
                    raise CommandError(f"command '{part}': {w} lock is not supported (only mtu and congctl)")
                route[f"{name}_lock"] = True
                i += 1
            route[name] = _number(part, w, value(w))
        elif w == "rto_min":
            route["rto_min_ms"] = _rto_min_ms(part, value(w))
        elif w == "quickack":
            if value(w) not in ("0", "1"):
                raise CommandError(f"command '{part}': quickack is 0 or 1, not {value(w)!r}")
            route["quickack"] = value(w) == "1"
        elif w == "congctl":
            if value(w) == "lock":
                route["congctl_lock"] = True
                i += 1
            route["congctl"] = value(w)
        elif w == "features":
            if value(w) != "ecn":
                raise CommandError(f"command '{part}': the only route feature is ecn, not {value(w)!r}")
            route["ecn"] = True
        elif "dst" not in route and not w.startswith("-"):
            dst = w
            try:
                if dst != "default":
                    ipaddress.IPv4Network(dst, strict=True)
            except ValueError as e:
                raise CommandError(f"command '{part}': {dst!r} is not an IPv4 prefix: {e}") from None
            route["dst"] = dst
            i += 1
            continue
        else:
            raise CommandError(f"command '{part}': '{w}' is not supported in ip route lines")
        i += 2
    if "dst" not in route:
        raise CommandError(f"command '{part}': ip route {op} needs a destination")
    return IpRoute(op, route, words[2:])


# The qdiscs a device may take here: the FIFOs. On a device that never stops its
# queue (a veth, nettwin's device), a FIFO holds nothing and sends each packet as
# it comes, as noqueue does. Others (fq's pacing, netem, tbf...) change what the
# wire sees and the stack does not model them.
_FIFO_QDISCS = ("pfifo", "bfifo", "pfifo_fast", "noqueue")
_QDISC_OPS = {"add": "add", "replace": "replace", "change": "change", "del": "del", "delete": "del"}


def tc_qdisc(part: str, words: list[str]) -> Optional[TcQdisc]:
    op = _op(part, words, _QDISC_OPS, ("show", "list", "ls"))
    if op is None:
        return None
    args = words[3:]
    if args[:2] != ["dev", DEVICE] or args[2:3] != ["root"]:
        raise CommandError(f"command '{part}': only the root qdisc of dev {DEVICE} is supported")
    rest = args[3:]
    kind = rest[0] if rest else ""
    if not kind and op != "del":
        raise CommandError(f"command '{part}': tc qdisc {op} needs a qdisc")
    if kind and kind not in _FIFO_QDISCS:
        raise CommandError(f"command '{part}': qdisc '{kind}' is not modelled by the stack "
                           f"(only {', '.join(_FIFO_QDISCS)})")
    limit = None
    params = rest[1:]
    if params[:1] == ["limit"] and kind in ("pfifo", "bfifo") and len(params) == 2:
        limit = _number(part, "limit", params[1])      # 0: every packet dropped (fifo_init: no bypass)
    elif params:
        raise CommandError(f"command '{part}': qdisc parameters {' '.join(params)!r} are not supported")
    return TcQdisc(op, kind, limit, words[2:])


# The offloads the DUT's device has off on both targets: the Linux target's veth is set
# up with tso, gso and gro off (recording/netns.py: wire-true frames), and nettwin's
# devices have no segmentation offload (NetDevice::features) nor GRO. TCP still builds
# its own GSO skbs (sk_setup_caps sets NETIF_F_GSO for TCP), on both targets.
_OFFLOADS_OFF = ("tso", "gso", "gro", "lro")


def ethtool_features(part: str, words: list[str]) -> None:
    """`ethtool -K tun0 NAME off ...`: checked, then nothing to do (see _OFFLOADS_OFF);
    turning one on, or another feature, is refused: neither target would have it."""
    args = words[2:]
    if words[2:3] != [DEVICE] or not args[1:] or len(args[1:]) % 2:
        raise CommandError(f"command '{part}': expected ethtool -K {DEVICE} FEATURE on|off ...")
    for name, state in zip(args[1::2], args[2::2]):
        if name not in _OFFLOADS_OFF or state != "off":
            raise CommandError(f"command '{part}': ethtool feature '{name} {state}' is not supported "
                               f"(only {', '.join(_OFFLOADS_OFF)} off, which both targets' devices have)")


_REDIRECTION = re.compile(r"\d*(>>?|<)(&\d+|\S+)?")


def _without_redirections(words: list[str]) -> list[str]:
    """The words without the shell's redirections (`> /dev/null`, `2>/dev/null`, `2>&1`):
    where a line's output goes changes no setting."""
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
            continue
        m = _REDIRECTION.fullmatch(w)
        if m:
            skip = m.group(2) is None                  # "> FILE": the file is the next word
            continue
        out.append(w)
    return out


def commands(line: str, base: Path, env: Optional[Mapping[str, str]] = None, depth: int = 0) -> list[Action]:
    """The actions a command line takes, in order; env names the $variables."""
    env = env or {}
    out: list[Action] = []
    line = line.replace("\\\n", " ")                 # the shell's line continuation
    for part in (p.strip() for chunk in line.splitlines() for p in chunk.split(";")):
        if not part or part.startswith("#"):
            continue
        try:
            words = shlex.split(_vars(_arith(part), env), comments=True)   # "... # why"
        except ValueError as e:
            raise CommandError(f"command '{part}': {e}") from None
        words = _without_redirections(words)
        if not words:
            continue
        cmd = words[0]
        if cmd == "sysctl":
            sets = [w for w in words[1:] if not w.startswith("-")]
            if not sets or any("=" not in w for w in sets):
                raise CommandError(f"command '{part}': only sysctl -w NAME=VALUE is supported")
            out.extend(Sysctl(*w.split("=", 1)) for w in sets)
        elif re.fullmatch(r"/tmp/sysctl_restore_\S*\.sh", cmd):
            continue
        elif cmd.endswith("set_sysctls.py"):
            for w in words[1:]:
                path, eq, value = w.partition("=")
                if not eq or not path.startswith("/proc/sys/"):
                    raise CommandError(f"command '{part}': expected /proc/sys/NAME=VALUE, not {w!r}")
                out.append(Sysctl(path[len("/proc/sys/"):].replace("/", "."), value))
        elif cmd == "ip" and words[1:3] == ["tcp_metrics", "flush"]:
            continue
        elif cmd == "ip" and words[1:2] == ["route"]:
            if (action := ip_route(part, words)) is not None:
                out.append(action)
        elif cmd == "tc" and words[1:2] == ["qdisc"]:
            if (action := tc_qdisc(part, words)) is not None:
                out.append(action)
        elif cmd == "ethtool" and words[1:2] in (["-K"], ["--features"], ["--offload"]):
            ethtool_features(part, words)
        elif cmd.endswith(".sh") and len(words) == 1 and depth < 4:
            path = _find(base, cmd)
            if path is None:
                raise CommandError(f"command '{part}': no such settings file {base / cmd}")
            out.extend(commands(path.read_text(), path.parent, env, depth + 1))
        else:
            raise CommandError(f"command '{part}' is not supported (sysctl, settings files, ip route, tc qdisc, ethtool -K)")
    for a in out:
        if isinstance(a, Sysctl) and not a.name.startswith("net."):
            raise CommandError(f"command '{line.strip()}': only net.* sysctls may be set, not {a.name}")
    return out
