"""The recorder's topology: two network namespaces joined by one veth pair, both
ends inside them (the root namespace's interfaces are never touched).

    tester ns  nttst0 (ifindex 7101, 02:00:00:00:01:01, 198.51.100.1/24)
        <-- veth -->
    DUT ns     ntdut0 (ifindex 7102, 02:00:00:00:01:02, 198.51.100.2/24)

The forwarding topology adds a second DUT interface and a third namespace, the far host:

    DUT ns     ntdut1 (ifindex 7202, 02:00:00:00:02:02, 203.0.113.2/24)
        <-- veth -->
    far ns     ntfar0 (ifindex 7201, 02:00:00:00:02:01, 203.0.113.1/24, default via 203.0.113.2)

The far host is muted like the tester. A scenario may also give the DUT routes,
permanent neighbours and interface MTUs (its setup data, recorded in meta.json and
applied by the replay too).

IPv6 is disabled before link up (no DAD, RS or MLD frames), checksum offload is off
on both ends (veth would otherwise hand unfinished checksums to the capture), and an
nftables netdev ingress chain on the tester drops every frame after the capture taps
have seen it, so the tester's own kernel never answers (as packetimpact does).
The DUT keeps Linux's defaults otherwise.
"""
from __future__ import annotations

import contextlib
import fcntl
import subprocess
import sys
from pathlib import Path
from dataclasses import dataclass, field

# The sysctls read in the DUT namespace and written to meta.json: what decides how
# the DUT treats the scenarios' frames (the stack is configured from them).
DUT_SYSCTLS = (
    "net.ipv4.ip_forward", "net.ipv4.ip_default_ttl", "net.ipv4.ip_no_pmtu_disc",
    "net.ipv4.icmp_echo_ignore_all", "net.ipv4.icmp_echo_ignore_broadcasts",
    "net.ipv4.icmp_ratelimit", "net.ipv4.icmp_ratemask", "net.ipv4.icmp_msgs_per_sec",
    "net.ipv4.icmp_msgs_burst", "net.ipv4.icmp_errors_use_inbound_ifaddr",
    "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.{dev}.rp_filter",
    "net.ipv4.conf.all.accept_local", "net.ipv4.conf.all.arp_ignore",
    "net.ipv4.conf.{dev}.arp_ignore", "net.ipv4.conf.all.arp_announce",
    "net.ipv4.conf.{dev}.arp_announce", "net.ipv4.conf.all.arp_filter",
    "net.ipv4.conf.all.arp_accept", "net.ipv4.conf.{dev}.arp_accept",
    "net.ipv4.conf.all.arp_notify", "net.ipv4.conf.all.drop_gratuitous_arp",
    "net.ipv4.conf.all.log_martians", "net.ipv4.conf.all.forwarding",
    "net.ipv4.conf.{dev}.forwarding", "net.ipv4.conf.all.send_redirects",
    "net.ipv4.conf.{dev}.send_redirects", "net.ipv4.conf.all.accept_redirects",
    "net.ipv4.ip_forward_use_pmtu",
    "net.ipv4.neigh.{dev}.base_reachable_time_ms", "net.ipv4.neigh.{dev}.delay_first_probe_time",
    "net.ipv4.neigh.{dev}.retrans_time_ms", "net.ipv4.neigh.{dev}.mcast_solicit",
    "net.ipv4.neigh.{dev}.ucast_solicit", "net.ipv4.neigh.{dev}.app_solicit",
    "net.ipv4.neigh.{dev}.mcast_resolicit", "net.ipv4.neigh.{dev}.gc_stale_time",
    "net.ipv4.neigh.{dev}.locktime", "net.ipv4.neigh.{dev}.unres_qlen_bytes",
    "net.ipv4.neigh.{dev}.proxy_delay",
    "net.ipv4.ipfrag_time", "net.ipv4.ipfrag_high_thresh", "net.ipv4.ipfrag_low_thresh",
    "net.ipv4.ipfrag_max_dist",
    "net.ipv4.tcp_congestion_control", "net.ipv6.conf.all.disable_ipv6",
)
# Machine-wide knobs: they exist in the initial namespace only, where they are read
# (read, never written) and apply to the DUT namespace as well.
GLOBAL_SYSCTLS = (
    "net.core.netdev_max_backlog", "net.core.netdev_budget", "net.core.netdev_budget_usecs",
    "net.core.dev_weight", "net.core.dev_weight_rx_bias", "net.core.dev_weight_tx_bias",
    "net.ipv4.neigh.default.gc_thresh1", "net.ipv4.neigh.default.gc_thresh2",
    "net.ipv4.neigh.default.gc_thresh3",
)


class NetnsError(RuntimeError):
    """A command that sets up or inspects the namespaces failed."""


@dataclass
class Host:
    """One end of the veth pair, in its own namespace."""
    netns: str
    ifname: str
    ifindex: int
    mac: str
    addresses: list[str] = field(default_factory=list)

    def as_meta(self) -> dict:
        return {"ifname": self.ifname, "ifindex": self.ifindex, "mac": self.mac,
                "addresses": list(self.addresses)}


LOCK_PATH = Path("/run/lock/nettwin-recorder.lock")


@contextlib.contextmanager
def exclusive_use():
    """One user of real namespaces at a time on the machine (the recorder, the
    packetdrill Linux target): tracepoints are global, and two would name the
    same interfaces and addresses, each one's events landing in the other's."""
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("another nettwin recorder or Linux packetdrill run is using namespaces; waiting for it",
                  file=sys.stderr)
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def run(argv: list[str], netns: str | None = None, input_text: str | None = None,
        check: bool = True) -> str:
    """Run a command (inside netns if given); its stdout, or NetnsError with stderr."""
    full = (["ip", "netns", "exec", netns] if netns else []) + argv
    proc = subprocess.run(full, input=input_text, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(full)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


TOPOLOGIES = ("two_host", "forwarding")


class Topology:
    """Create with setup(), always remove with teardown() (idempotent).

    kind "two_host" (tester, DUT) or "forwarding" (tester, DUT with ntdut1, far host).
    dut_mtus {ifname: mtu} are set before link up; dut_routes [{"dst", "via", "dev"}]
    and dut_neighbours [{"dev", "ip", "mac"}] (permanent) after it."""

    def __init__(self, suffix: str, dut_sysctls: dict[str, str] | None = None,
                 kind: str = "two_host", dut_routes: list[dict] | None = None,
                 dut_neighbours: list[dict] | None = None, dut_mtus: dict[str, int] | None = None):
        if kind not in TOPOLOGIES:
            raise NetnsError(f"unknown topology {kind!r}; known: {', '.join(TOPOLOGIES)}")
        self.kind = kind
        self.tester = Host(f"nt-tst-{suffix}", "nttst0", 7101, "02:00:00:00:01:01",
                           ["198.51.100.1/24"])
        self.dut = Host(f"nt-dut-{suffix}", "ntdut0", 7102, "02:00:00:00:01:02",
                        ["198.51.100.2/24"])
        self.dut1: Host | None = None
        self.far: Host | None = None
        if kind == "forwarding":
            self.dut1 = Host(self.dut.netns, "ntdut1", 7202, "02:00:00:00:02:02", ["203.0.113.2/24"])
            self.far = Host(f"nt-far-{suffix}", "ntfar0", 7201, "02:00:00:00:02:01",
                            ["203.0.113.1/24"])
        self._created: list[str] = []
        self._dut_sysctls = dict(dut_sysctls or {})
        self.dut_routes = list(dut_routes or [])
        self.dut_neighbours = list(dut_neighbours or [])
        self.dut_mtus = dict(dut_mtus or {})
        unknown = set(self.dut_mtus) - {h.ifname for h in self.dut_interfaces()}
        if unknown:
            raise NetnsError(f"MTU for an interface the DUT does not have: {sorted(unknown)}")

    def dut_interfaces(self) -> list[Host]:
        return [self.dut] + ([self.dut1] if self.dut1 else [])

    def _namespaces(self) -> list[Host]:
        return [self.tester, self.dut] + ([self.far] if self.far else [])

    def _muted(self) -> list[Host]:
        """The hosts whose kernel must not answer: all but the DUT."""
        return [self.tester] + ([self.far] if self.far else [])

    def setup(self) -> None:
        existing = run(["ip", "netns", "list"])
        for host in self._namespaces():
            if any(line.split()[0] == host.netns for line in existing.splitlines() if line.split()):
                raise NetnsError(f"network namespace {host.netns} already exists")
        for host in self._namespaces():
            run(["ip", "netns", "add", host.netns])
            self._created.append(host.netns)
            # Before any link is up: no IPv6 at all (no DAD, router or MLD frames).
            run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1"], host.netns)
        t, d = self.tester, self.dut
        pairs = [(t, d)] + ([(self.far, self.dut1)] if self.far else [])
        for a, b in pairs:
            run(["ip", "-n", a.netns, "link", "add", a.ifname, "index", str(a.ifindex),
                 "address", a.mac, "type", "veth", "peer", "name", b.ifname, "index", str(b.ifindex),
                 "address", b.mac, "netns", b.netns])
        hosts = [h for pair in pairs for h in pair]
        for host in hosts:
            for cidr in host.addresses:
                run(["ip", "-n", host.netns, "addr", "add", cidr, "dev", host.ifname])
            # Wire-true frames: no checksum offload, no TSO/GSO segments, no GRO merging.
            run(["ethtool", "-K", host.ifname, "tx", "off", "rx", "off", "tso", "off", "gso", "off",
                 "gro", "off"], host.netns)
        for host in self._muted():
            self._drop_all(host)
        for ifname, mtu in self.dut_mtus.items():
            run(["ip", "-n", d.netns, "link", "set", ifname, "mtu", str(mtu)])
        if self._dut_sysctls:
            run(["sysctl", "-qw"] + [f"{k.format(dev=d.ifname)}={v}"
                                     for k, v in self._dut_sysctls.items()], d.netns)
        run(["ip", "-n", d.netns, "link", "set", "lo", "up"])
        for host in hosts:
            run(["ip", "-n", host.netns, "link", "set", host.ifname, "up"])
        if self.far:
            run(["ip", "-n", self.far.netns, "route", "add", "default", "via", "203.0.113.2"])
        for r in self.dut_routes:
            run(["ip", "-n", d.netns, "route", "add", r["dst"]]
                + (["via", r["via"]] if r.get("via") else []) + ["dev", r["dev"]])
        for n in self.dut_neighbours:
            run(["ip", "-n", d.netns, "neigh", "replace", n["ip"], "lladdr", n["mac"],
                 "dev", n["dev"], "nud", "permanent"])

    def _drop_all(self, host: Host) -> None:
        """A muted host's kernel must not act on what it receives: drop at netdev ingress,
        which runs after the packet taps (tcpdump) have their copy."""
        ruleset = (
            "table netdev nettwin_tester {\n"
            f"  chain ingress {{ type filter hook ingress device \"{host.ifname}\" "
            "priority 0; policy drop; }\n"
            "}\n")
        run(["nft", "-f", "-"], host.netns, input_text=ruleset)

    def teardown(self) -> None:
        errors = []
        for netns in reversed(self._created):
            try:
                # A closed socket lives on as an orphan (FIN_WAIT1, LAST_ACK...) in
                # a deleted namespace, retransmitting for minutes; tracefs is
                # global, so its tcp: events would land in later recordings.
                # SOCK_DESTROY (ss -K) ends every TCP socket of the namespace first.
                run(["ss", "-K", "-t", "state", "all"], netns)
                run(["ip", "netns", "del", netns])
            except (NetnsError, subprocess.TimeoutExpired) as e:
                errors.append(str(e))
        self._created.clear()
        if errors:
            raise NetnsError("; ".join(errors))

    def dut_sysctls(self) -> dict[str, str]:
        """The DUT_SYSCTLS as read in the DUT namespace ("{dev}" is the DUT's ifname),
        and the GLOBAL_SYSCTLS that apply to it."""
        names = dict.fromkeys(list(DUT_SYSCTLS) + list(self._dut_sysctls))  # ordered, unique
        values = _read_sysctls([n.format(dev=self.dut.ifname) for n in names], self.dut.netns)
        values.update(_read_sysctls(list(GLOBAL_SYSCTLS), None))
        return dict(sorted(values.items()))

    def dut_link(self, ifname: str | None = None) -> dict:
        """What a DUT interface is, beyond its addresses: mtu, qdisc, queue length, offloads."""
        import json
        ifname = ifname or self.dut.ifname
        info = json.loads(run(["ip", "-j", "-d", "link", "show", ifname], self.dut.netns))[0]
        offloads = {}
        for line in run(["ethtool", "-k", ifname], self.dut.netns).splitlines()[1:]:
            key, sep, value = line.partition(":")
            if sep and not key.startswith("\t") and value.strip().split()[0] in ("on", "off"):
                offloads[key.strip()] = value.strip().split()[0]
        return {"kind": info.get("linkinfo", {}).get("info_kind", ""), "mtu": info["mtu"],
                "qdisc": info.get("qdisc", ""), "txqlen": info.get("txqlen"),
                "offloads": {k: offloads[k] for k in sorted(offloads)
                             if k in ("rx-checksumming", "tx-checksumming",
                                      "generic-receive-offload", "generic-segmentation-offload",
                                      "tcp-segmentation-offload", "scatter-gather")}}


    def topology_meta(self) -> dict:
        """meta.json's topology: dut and tester as before, every DUT interface
        (dut_interfaces, each with its mtu) and, in the forwarding topology, the far host."""
        meta = {"dut": self.dut.as_meta(), "tester": self.tester.as_meta(), "kind": self.kind,
                "dut_interfaces": [dict(h.as_meta(), mtu=self.dut_link(h.ifname)["mtu"])
                                   for h in self.dut_interfaces()]}
        if self.far:
            meta["far"] = dict(self.far.as_meta(), routes=[{"dst": "default", "via": "203.0.113.2"}])
        return meta

    def dut_setup(self) -> dict:
        """The DUT's setup data beyond addresses and sysctls: routes and neighbours."""
        return {"routes": [dict(r) for r in self.dut_routes],
                "neighbours": [dict(n, state="permanent") for n in self.dut_neighbours]}


def read_snmp(netns: str) -> dict[str, int]:
    """The namespace's SNMP MIBs as "Ip.InReceives" -> value: every column of
    /proc/net/snmp (Ip, Icmp, IcmpMsg, Udp, ...) and of /proc/net/netstat's IpExt
    and TcpExt."""
    values = parse_snmp(run(["cat", "/proc/net/snmp"], netns))
    values.update(parse_snmp(run(["cat", "/proc/net/netstat"], netns), groups={"IpExt", "TcpExt"}))
    return values


def parse_snmp(text: str, groups: set[str] | None = None) -> dict[str, int]:
    """/proc/net/snmp or /proc/net/netstat text (a names line, then a values line,
    per group) as "Group.Name" -> value, for the given groups (default all)."""
    values: dict[str, int] = {}
    lines = text.splitlines()
    for head, vals in zip(lines[0::2], lines[1::2]):
        group, _, names = head.partition(":")
        vgroup, _, numbers = vals.partition(":")
        if group != vgroup:
            raise NetnsError(f"unexpected MIB layout: {head!r} / {vals!r}")
        if groups is not None and group not in groups:
            continue
        for name, value in zip(names.split(), numbers.split()):
            values[f"{group}.{name}"] = int(value)
    return values


def snmp_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """after - before for every counter either side has (IcmpMsg rows appear only once
    non-zero); Ip.Forwarding and Ip.DefaultTTL are settings, not counters, and are left out."""
    names = sorted((set(before) | set(after)) - {"Ip.Forwarding", "Ip.DefaultTTL"})
    return {n: after.get(n, 0) - before.get(n, 0) for n in names}


def _read_sysctls(names: list[str], netns: str | None) -> dict[str, str]:
    out = run(["sysctl"] + names, netns)
    values = {}
    for line in out.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            values[key.strip()] = value.strip()
    missing = [n for n in names if n not in values]
    if missing:
        raise NetnsError(f"sysctls not readable in {netns or 'the initial namespace'}: {', '.join(missing)}")
    return values
