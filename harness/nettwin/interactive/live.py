"""`nettwin live`: the twin on a real-time clock behind a TAP interface, in a
network namespace of its own, so that Linux's programs there (ping, nc, curl,
iperf3, tcpdump) talk to it. The default topology, with Linux as the tester:

    namespace nt-live-<id>: nttst0 (TAP, 02:00:00:00:01:01, 198.51.100.1/24)
        <-- frames -->
    nettwin-server --live-tap: ntdut0 (ring NIC, 02:00:00:00:01:02, 198.51.100.2/24)

Every frame takes the stack's own path, so `nettwin trace --address ...` (or a
client's Trace.Stream) shows each skb function by function, as in a virtual
session. The namespace is deleted on every way out: Ctrl-C, SIGTERM, an error,
the command given after -- ending (its status is the exit status).
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import re
import signal
import subprocess
import sys
import time

from ..client import ServerStartError, Stack, StackError, paths
from ..recording.netns import NetnsError, run
from ..scenarios.model import DUT_DEV, DUT_MAC, TESTER_IFACE, TESTER_MAC
from .live_listeners import Listeners, parse_listen

ALLOWED_NETS = (ipaddress.ip_network("198.51.100.0/24"), ipaddress.ip_network("203.0.113.0/24"))
NETNS_PREFIX = "nt-live-"


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived: leave as on Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="nettwin live", description=__doc__.split("\n\n")[0],
        epilog="example: nettwin live --listen tcp:8080 -- ping -c 3 198.51.100.2")
    ap.add_argument("--twin", default="198.51.100.2/24", metavar="CIDR",
                    help="the twin's address on its device (default 198.51.100.2/24)")
    ap.add_argument("--peer", default="198.51.100.1/24", metavar="CIDR",
                    help="Linux's address on the TAP in the namespace (default 198.51.100.1/24)")
    ap.add_argument("--listen", action="append", default=[], metavar="PROTO:PORT[:MODE]",
                    help="a server in the twin: tcp:PORT[:echo|http], udp:PORT[:echo] or iperf3[:PORT]; "
                         "repeatable")
    ap.add_argument("--id", default=str(os.getpid()), help="the namespace is nt-live-ID (default: this pid)")
    ap.add_argument("--seed", type=int, default=1, help="the stack's random seed")
    ap.add_argument("command", nargs=argparse.REMAINDER,
                    help="after --: a command to run in the namespace; its exit status is ours")
    return ap


def _check_addresses(twin: str, peer: str) -> tuple[ipaddress.IPv4Interface, ipaddress.IPv4Interface]:
    try:
        t, p = ipaddress.IPv4Interface(twin), ipaddress.IPv4Interface(peer)
    except ValueError as e:
        raise ValueError(f"bad address: {e}") from None
    for name, a in (("--twin", t), ("--peer", p)):
        if not any(a.network.subnet_of(n) for n in ALLOWED_NETS):
            raise ValueError(f"{name} {a}: live mode uses 198.51.100.0/24 or 203.0.113.0/24 only")
    if t.network != p.network:
        raise ValueError(f"--twin {t} and --peer {p} must be on one network")
    if t.ip == p.ip or t.ip in (t.network.network_address, t.network.broadcast_address):
        raise ValueError(f"--twin {t.ip} and --peer {p.ip} must be two host addresses of {t.network}")
    return t, p


class LiveSession:
    """The namespace, the server with its TAP, the twin's configuration and the
    --listen servers; close() undoes them all, whatever was reached."""

    def __init__(self, netns: str, twin: ipaddress.IPv4Interface, peer: ipaddress.IPv4Interface,
                 listen: list, seed: int):
        self.netns = netns
        self.stack = None
        self.listeners = None
        self._created = False
        try:
            self._open(twin, peer, listen, seed)
        except BaseException:   # Ctrl-C too: nothing is left behind
            self.close()
            raise

    def _open(self, twin, peer, listen: list, seed: int) -> None:
        netns = self.netns
        if netns in run(["ip", "netns", "list"]).split():
            raise NetnsError(f"namespace {netns} exists already (another nettwin live? --id picks another)")
        run(["ip", "netns", "add", netns])
        self._created = True
        # No IPv6 on the TAP (made after this): no router solicitations or MLD reports
        # land in the twin unasked.
        for key in ("all", "default"):
            run(["sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=1"], netns)
        run(["ip", "link", "set", "lo", "up"], netns)
        self.stack = Stack(server_args=["--live-tap", TESTER_IFACE, "--live-netns", netns,
                                        "--live-dev", DUT_DEV, "--seed", str(seed)])
        self.stack.create_device(DUT_DEV, kind="ring", mac=DUT_MAC)
        self.stack.add_address(DUT_DEV, str(twin))
        self.stack.add_route("default", gateway=str(peer.ip))
        run(["ip", "link", "set", TESTER_IFACE, "address", TESTER_MAC], netns)
        run(["ip", "addr", "add", str(peer), "dev", TESTER_IFACE], netns)
        run(["ip", "link", "set", TESTER_IFACE, "up"], netns)
        self.listeners = Listeners(self.stack, str(twin.ip), listen)
        self.listeners.start()

    def alive(self) -> bool:
        return self.stack.server.proc.poll() is None

    def close(self) -> None:
        if self.listeners:
            self.listeners.stop()
        if self.stack:
            self.stack.close()   # the server stops; its TAP goes with it
        if self._created:
            run(["ip", "netns", "del", self.netns], check=False)


def _banner(session: LiveSession, twin, peer, listen: list) -> str:
    ns, ip = session.netns, twin.ip
    lines = [f"nettwin live: the twin ({DUT_DEV} {DUT_MAC} {twin}) is behind TAP {TESTER_IFACE} "
             f"({TESTER_MAC} {peer}) in namespace {ns}, on the real clock",
             f"  server:  {session.stack.address}",
             f"  ping:    ip netns exec {ns} ping -c 3 {ip}",
             f"  trace:   nettwin trace --address {session.stack.address} host {ip}",
             f"  capture: ip netns exec {ns} tcpdump -ni {TESTER_IFACE}"]
    for spec in listen:
        if spec.proto == "udp":
            lines.append(f"  {spec}: ip netns exec {ns} nc -u {ip} {spec.port}")
        elif spec.mode == "iperf3":
            lines.append(f"  {spec}: ip netns exec {ns} iperf3 -c {ip} -p {spec.port}")
        elif spec.mode == "http":
            lines.append(f"  {spec}: ip netns exec {ns} curl http://{ip}:{spec.port}/")
        else:
            lines.append(f"  {spec}: ip netns exec {ns} nc {ip} {spec.port}")
    lines.append("  stop:    Ctrl-C (the namespace is deleted)")
    return "\n".join(lines)


def _raise_stopped(signum, _frame):
    raise Stopped(signum)


def main(argv) -> int:
    args = _parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        twin, peer = _check_addresses(args.twin, args.peer)
        listen = [parse_listen(text) for text in args.listen]
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", args.id):
            raise ValueError(f"--id {args.id!r}: letters, digits, '-' and '_' (at most 32)")
    except ValueError as e:
        print(f"nettwin live: {e}", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("nettwin live: needs root (it creates a network namespace and a TAP interface)", file=sys.stderr)
        return 2
    # Ctrl-C stops it even when started in the background by a shell (which ignores SIGINT there).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_stopped)
    signal.signal(signal.SIGHUP, _raise_stopped)
    session = None
    try:
        session = LiveSession(NETNS_PREFIX + args.id, twin, peer, listen, args.seed)
        # With a command, its output is what the caller reads: the banner goes to stderr.
        print(_banner(session, twin, peer, listen), file=sys.stderr if command else sys.stdout, flush=True)
        if command:
            return subprocess.run(["ip", "netns", "exec", session.netns, *command]).returncode
        while session.alive():   # until a signal, or the server ends
            time.sleep(0.5)
        print(f"nettwin live: the server stopped; its output:\n{session.stack.server.tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130 if command else 0
    except Stopped as e:
        return 128 + e.signum if command else 0
    except (NetnsError, ServerStartError, StackError, paths.BuildMissing, OSError) as e:
        print(f"nettwin live: {e}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if session is not None:
            session.close()
            if session.listeners and session.listeners.error:
                print(f"nettwin live: the --listen servers stopped: {session.listeners.error}", file=sys.stderr)
