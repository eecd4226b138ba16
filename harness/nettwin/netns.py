"""The recorder's topology: two network namespaces joined by one veth pair, both
ends inside them (the root namespace's interfaces are never touched).

    tester ns  nttst0 (ifindex 7101, 02:00:00:00:01:01, 198.51.100.1/24)
        <-- veth -->
    DUT ns     ntdut0 (ifindex 7102, 02:00:00:00:01:02, 198.51.100.2/24)

IPv6 is disabled before link up (no DAD, RS or MLD frames), checksum offload is off
on both ends (veth would otherwise hand unfinished checksums to the capture), and an
nftables netdev ingress chain on the tester drops every frame after the capture taps
have seen it, so the tester's own kernel never answers (as packetimpact does).
The DUT keeps Linux's defaults otherwise.
"""
from __future__ import annotations

import subprocess
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
    "net.ipv4.neigh.{dev}.base_reachable_time_ms", "net.ipv4.neigh.{dev}.delay_first_probe_time",
    "net.ipv4.neigh.{dev}.retrans_time_ms", "net.ipv4.neigh.{dev}.mcast_solicit",
    "net.ipv4.neigh.{dev}.ucast_solicit", "net.ipv4.neigh.{dev}.app_solicit",
    "net.ipv4.neigh.{dev}.mcast_resolicit", "net.ipv4.neigh.{dev}.gc_stale_time",
    "net.ipv4.neigh.{dev}.locktime", "net.ipv4.neigh.{dev}.unres_qlen_bytes",
    "net.ipv4.neigh.{dev}.proxy_delay",
    "net.ipv4.ipfrag_time", "net.ipv4.ipfrag_high_thresh", "net.ipv4.ipfrag_low_thresh",
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


def run(argv: list[str], netns: str | None = None, input_text: str | None = None,
        check: bool = True) -> str:
    """Run a command (inside netns if given); its stdout, or NetnsError with stderr."""
    full = (["ip", "netns", "exec", netns] if netns else []) + argv
    proc = subprocess.run(full, input=input_text, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(full)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


class Topology:
    """Create with setup(), always remove with teardown() (idempotent)."""

    def __init__(self, suffix: str, dut_sysctls: dict[str, str] | None = None):
        self.tester = Host(f"nt-tst-{suffix}", "nttst0", 7101, "02:00:00:00:01:01",
                           ["198.51.100.1/24"])
        self.dut = Host(f"nt-dut-{suffix}", "ntdut0", 7102, "02:00:00:00:01:02",
                        ["198.51.100.2/24"])
        self._created: list[str] = []
        self._dut_sysctls = dict(dut_sysctls or {})

    def setup(self) -> None:
        existing = run(["ip", "netns", "list"])
        for host in (self.tester, self.dut):
            if any(line.split()[0] == host.netns for line in existing.splitlines() if line.split()):
                raise NetnsError(f"network namespace {host.netns} already exists")
        for host in (self.tester, self.dut):
            run(["ip", "netns", "add", host.netns])
            self._created.append(host.netns)
            # Before any link is up: no IPv6 at all (no DAD, router or MLD frames).
            run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1"], host.netns)
        t, d = self.tester, self.dut
        run(["ip", "-n", t.netns, "link", "add", t.ifname, "index", str(t.ifindex),
             "address", t.mac, "type", "veth", "peer", "name", d.ifname, "index", str(d.ifindex),
             "address", d.mac, "netns", d.netns])
        for host in (t, d):
            for cidr in host.addresses:
                run(["ip", "-n", host.netns, "addr", "add", cidr, "dev", host.ifname])
            run(["ethtool", "-K", host.ifname, "tx", "off", "rx", "off"], host.netns)
        self._tester_drop_all()
        if self._dut_sysctls:
            run(["sysctl", "-qw"] + [f"{k.format(dev=d.ifname)}={v}"
                                     for k, v in self._dut_sysctls.items()], d.netns)
        run(["ip", "-n", d.netns, "link", "set", "lo", "up"])
        for host in (t, d):
            run(["ip", "-n", host.netns, "link", "set", host.ifname, "up"])

    def _tester_drop_all(self) -> None:
        """The tester's kernel must not act on what it receives: drop at netdev ingress,
        which runs after the packet taps (tcpdump) have their copy."""
        ruleset = (
            "table netdev nettwin_tester {\n"
            f"  chain ingress {{ type filter hook ingress device \"{self.tester.ifname}\" "
            "priority 0; policy drop; }\n"
            "}\n")
        run(["nft", "-f", "-"], self.tester.netns, input_text=ruleset)

    def teardown(self) -> None:
        errors = []
        for netns in reversed(self._created):
            try:
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

    def dut_link(self) -> dict:
        """What the DUT interface is, beyond its addresses: mtu, qdisc, queue length, offloads."""
        import json
        info = json.loads(run(["ip", "-j", "-d", "link", "show", self.dut.ifname], self.dut.netns))[0]
        offloads = {}
        for line in run(["ethtool", "-k", self.dut.ifname], self.dut.netns).splitlines()[1:]:
            key, sep, value = line.partition(":")
            if sep and not key.startswith("\t") and value.strip().split()[0] in ("on", "off"):
                offloads[key.strip()] = value.strip().split()[0]
        return {"kind": info.get("linkinfo", {}).get("info_kind", ""), "mtu": info["mtu"],
                "qdisc": info.get("qdisc", ""), "txqlen": info.get("txqlen"),
                "offloads": {k: offloads[k] for k in sorted(offloads)
                             if k in ("rx-checksumming", "tx-checksumming",
                                      "generic-receive-offload", "generic-segmentation-offload",
                                      "tcp-segmentation-offload", "scatter-gather")}}


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
