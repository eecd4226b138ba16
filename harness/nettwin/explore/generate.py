"""Scenarios from a seed: scenario i of seed s is drawn from random.Random(f"{s}:{i}"),
so any one of them can be rebuilt alone (resume, shrink) and the same seed always
gives the same scenarios. Areas: arp, ipv4, frag, icmp, udp, tcp (tcp_gen.py).

Every scenario opens with a frame (the recording's time origin: socket calls with
events must come after it) and is an ordinary model.Scenario the recorder takes."""
from __future__ import annotations

import random
from typing import Optional

from ..scenarios.model import TESTER_IP, Scenario, Send, Wait, arp_who_has
from ..scenarios.sock_steps import sock
from . import frames as F
from . import tcp_gen

AREAS = ("arp", "ipv4", "frag", "icmp", "udp", "tcp")
SETTLE_MS = 300
# One ephemeral port: an autobound socket's port is the same on both sides.
ONE_EPHEMERAL_PORT = ("net.ipv4.ip_local_port_range", "50000 50000")

# Sysctls both sides have (the recorder writes any scenario sysctl to meta.json;
# conform.configure sets those the stack knows), with values worth trying.
SYSCTLS = {
    "arp": {"net.ipv4.conf.all.arp_ignore": ("0", "1", "2", "8"),
            "net.ipv4.conf.all.arp_accept": ("0", "1", "2"),
            "net.ipv4.conf.all.arp_announce": ("0", "1", "2"),
            "net.ipv4.conf.all.drop_gratuitous_arp": ("0", "1")},
    "ipv4": {"net.ipv4.ip_default_ttl": ("1", "64", "255"),
             "net.ipv4.conf.all.accept_local": ("0", "1"),
             "net.ipv4.conf.all.rp_filter": ("0", "1", "2"),
             "net.ipv4.icmp_ratelimit": ("0", "1000")},
    "frag": {"net.ipv4.ipfrag_time": ("1", "2", "30"),
             "net.ipv4.ipfrag_high_thresh": ("4194304", "2048"),
             "net.ipv4.ipfrag_max_dist": ("64", "0", "2")},
    "icmp": {"net.ipv4.icmp_echo_ignore_all": ("0", "1"),
             "net.ipv4.icmp_echo_ignore_broadcasts": ("0", "1"),
             "net.ipv4.icmp_ratelimit": ("0", "1000"),
             "net.ipv4.icmp_ratemask": ("6168", "0", "65535"),
             "net.ipv4.icmp_msgs_per_sec": ("1000", "1"),
             "net.ipv4.icmp_msgs_burst": ("50", "1"),
             "net.ipv4.icmp_errors_use_inbound_ifaddr": ("0", "1"),
             "net.ipv4.icmp_ignore_bogus_error_responses": ("0", "1"),
             "net.ipv4.ip_no_pmtu_disc": ("0", "1")},
    "udp": {"net.ipv4.icmp_ratelimit": ("0", "1000"),
            "net.ipv4.ip_default_ttl": ("1", "64")},
}
ALL_SYSCTLS = sorted({n for area in SYSCTLS.values() for n in area} | set(tcp_gen.SYSCTLS)
                     | {ONE_EPHEMERAL_PORT[0], "net.ipv4.ipfrag_low_thresh"})


def _sysctls(rng: random.Random, area: str) -> tuple:
    out = []
    for name, values in sorted(SYSCTLS[area].items()):
        if rng.random() < 0.25:
            value = rng.choice(values)
            if name == "net.ipv4.ipfrag_high_thresh" and int(value) < 4194304:
                # Linux refuses a high threshold under the low one (3 MiB by default).
                out.append(("net.ipv4.ipfrag_low_thresh", str(int(value) // 2)))
            out.append((name, value))
    return tuple(out)


def _send(frame: bytes, what: str) -> Send:
    return Send(frame, what)


def _arp_opening(rng: random.Random, p: float = 0.8) -> tuple:
    """The tester's who-has first (most of the time), so the DUT knows its MAC."""
    if rng.random() < p:
        return (Send(bytes(arp_who_has()), "ARP who-has 198.51.100.2 from the tester"), Wait(50))
    return ()


def _wait(rng: random.Random) -> Wait:
    return Wait(rng.choice((1, 10, 50, 200, 1100)))


def gen_arp(rng: random.Random) -> tuple:
    steps = []
    for _ in range(rng.randint(1, 4)):
        steps.append(_send(*F.arp_frame(rng)))
        if rng.random() < 0.5:
            steps.append(_wait(rng))
    if rng.random() < 0.6:       # did the neighbour table change? an echo's reply shows it
        steps += [Wait(20), _send(*F.icmp_frame_echo(rng))]
    return tuple(steps)


def gen_ipv4(rng: random.Random) -> tuple:
    steps = list(_arp_opening(rng))
    for _ in range(rng.randint(1, 3)):
        steps.append(_send(*F.ipv4_frame(rng)))
        if rng.random() < 0.3:
            steps.append(_wait(rng))
    return tuple(steps)


def gen_frag(rng: random.Random) -> tuple:
    steps = list(_arp_opening(rng, 0.9))
    frames, what = F.fragments(rng)
    for i, f in enumerate(frames):
        steps.append(Send(f, f"fragment {i + 1}/{len(frames)} of {what}"))
        if rng.random() < 0.15:
            steps.append(_wait(rng))
    if rng.random() < 0.3:       # across the reassembly timer (ipfrag_time 1 or 2 s when drawn)
        steps.append(Wait(rng.choice((1200, 2300))))
    return tuple(steps)


def gen_icmp(rng: random.Random) -> tuple:
    steps = list(_arp_opening(rng))
    for _ in range(rng.randint(1, 4)):
        steps.append(_send(*F.icmp_frame(rng)))
        if rng.random() < 0.3:
            steps.append(_wait(rng))
    return tuple(steps)


# ------------------------------------------------------------------ UDP sockets

SOL_SOCKET, SOL_IP = 1, 0
SO_REUSEADDR, SO_BROADCAST, SO_RCVBUF, SO_REUSEPORT = 2, 6, 8, 15
IP_TOS, IP_TTL, IP_RECVERR = 1, 2, 11
SOCKOPTS = ((SOL_SOCKET, SO_REUSEADDR, (0, 1)), (SOL_SOCKET, SO_BROADCAST, (0, 1)),
            (SOL_SOCKET, SO_RCVBUF, (1, 2304, 65536)), (SOL_SOCKET, SO_REUSEPORT, (1,)),
            (SOL_IP, IP_TTL, (1, 64, 255, 0, 256)), (SOL_IP, IP_TOS, (0, 0x10, 0xb8)),
            (SOL_IP, IP_RECVERR, (1,)))
BIND_IPS = (F.DUT_IP, F.DUT_IP, "", "", "127.0.0.1", "198.51.100.9", F.SUBNET_BCAST)
BIND_PORTS = (F.DUT_PORT, F.DUT_PORT, F.DUT_PORT, 0, 5001)
PEERS = ((TESTER_IP, F.TESTER_PORT), (TESTER_IP, 4001), (F.SUBNET_BCAST, F.TESTER_PORT),
         ("198.51.100.50", F.TESTER_PORT), ("203.0.113.9", 7), ("127.0.0.1", F.DUT_PORT), ("", 0))


def _sock_call(rng: random.Random, h: str) -> object:
    op = rng.choice(("setsockopt", "setsockopt", "connect", "sendto", "sendto", "send", "recvfrom",
                     "recvfrom", "recvfrom", "getsockname", "getpeername", "poll", "recvmsg_errqueue",
                     "getsockopt", "shutdown"))
    if op == "setsockopt":
        level, name, values = rng.choice(SOCKOPTS)
        return sock(op, h, level=level, name=name, value=rng.choice(values))
    if op == "getsockopt":
        level, name, _ = rng.choice(SOCKOPTS)
        return sock(op, h, level=level, name=name)
    if op == "connect":
        ip, port = rng.choice(PEERS)
        if ip == "" and rng.random() < 0.5:
            return sock(op, h, ip=ip, port=port, family=0)     # AF_UNSPEC: disconnect
        return sock(op, h, ip=ip, port=port)
    if op == "sendto":
        ip, port = rng.choice(PEERS[:5])
        return sock(op, h, data=F.fill(rng, rng.choice((0, 1, 32, 1472, 1473, 3000))), ip=ip, port=port)
    if op == "send":
        return sock(op, h, data=F.fill(rng, rng.choice((0, 16, 100))))
    if op == "recvfrom":
        return sock(op, h, len=rng.choice((0, 4, 2048)))
    if op == "recvmsg_errqueue":
        return sock(op, h, len=512)
    if op == "poll":
        return sock(op, h, events=rng.choice((1, 4, 5)))
    if op == "shutdown":
        return sock(op, h, how=rng.choice((0, 1, 2)))
    return sock(op, h)


def gen_udp(rng: random.Random) -> tuple:
    steps = [Send(bytes(arp_who_has()), "ARP who-has 198.51.100.2 from the tester"), Wait(50)]
    handles = ["a"] + (["b"] if rng.random() < 0.3 else [])
    ports = []
    for h in handles:
        steps.append(sock("socket", h, family=2, type=2))
        if rng.random() < 0.3:
            level, name, values = rng.choice(SOCKOPTS)
            steps.append(sock("setsockopt", h, level=level, name=name, value=rng.choice(values)))
        if rng.random() < 0.85:
            ip, port = rng.choice(BIND_IPS), rng.choice(BIND_PORTS)
            steps.append(sock("bind", h, ip=ip, port=port))
            ports.append(port or 50000)
    steps.append(Wait(10))
    for _ in range(rng.randint(2, 7)):
        r = rng.random()
        if r < 0.45:
            dport = rng.choice(ports + [F.DUT_PORT, 5002]) if ports else F.DUT_PORT
            steps.append(_send(*F.udp_frame(rng, dport)))
            steps.append(Wait(rng.choice((1, 20))))
        elif r < 0.9:
            steps.append(_sock_call(rng, rng.choice(handles)))
        else:
            steps.append(_wait(rng))
    steps += [Wait(20)] + [sock("recvfrom", h, len=2048) for h in handles]
    if rng.random() < 0.5:
        steps += [sock("close", h) for h in handles]
    return tuple(steps)


GENERATORS = {"arp": gen_arp, "ipv4": gen_ipv4, "frag": gen_frag, "icmp": gen_icmp, "udp": gen_udp,
              "tcp": None}      # tcp_gen.gen_tcp draws its own sysctls


def scenario_name(seed: int, index: int, area: str) -> str:
    return f"x{seed}_{index:05d}_{area}"


def generate_one(seed: int, index: int, only: Optional[str] = None) -> Scenario:
    rng = random.Random(f"{seed}:{index}")
    area = only or rng.choice(AREAS)
    if area not in GENERATORS:
        raise ValueError(f"unknown area {area!r}; areas: {', '.join(AREAS)}")
    if area == "tcp":
        raw_steps, sysctls = tcp_gen.gen_tcp(rng)
    else:
        raw_steps, sysctls = GENERATORS[area](rng), None
    steps, settle_ms = fold_waits(raw_steps, SETTLE_MS)
    if sysctls is None:
        sysctls = _sysctls(rng, area)
    if area in ("udp", "tcp"):
        sysctls = (ONE_EPHEMERAL_PORT,) + sysctls
    summary = "; ".join(step_summary(s) for s in steps if not isinstance(s, Wait))
    return Scenario(scenario_name(seed, index, area), f"generated ({area}, seed {seed}): {summary}"[:400],
                    steps, settle_ms=settle_ms, tags=("explore", area), sysctls=sysctls)


def step_summary(s) -> str:
    """A step in a few words for the scenario's description."""
    if isinstance(s, Send):
        return s.summary
    d = s.to_json()
    if d["kind"] == "tcp_send":
        return f"tcp {d['flags'] or '-'} {d['seq']}" + (f" {len(d['payload']) // 2}B" if d["payload"] else "")
    if d["kind"] == "expect":
        return f"expect {d['flags'] or 'any'}"
    return f"{d['op']}({d['h']})"


def fold_waits(steps: tuple, settle_ms: int) -> tuple[tuple, int]:
    """The recording ends settle_ms after the last step (recorder: duration), so
    Waits after it become settle time: a timer they wait for stays inside."""
    last = max(i for i, s in enumerate(steps) if not isinstance(s, Wait))
    tail = steps[last + 1:]
    extra = sum(s.ms for s in tail if isinstance(s, Wait))
    return steps[:last + 1] + tuple(s for s in tail if not isinstance(s, Wait)), settle_ms + extra


def generate(seed: int, count: int, only: Optional[str] = None, start: int = 0) -> list[Scenario]:
    return [generate_one(seed, i, only) for i in range(start, start + count)]


def area_of(scenario: Scenario) -> str:
    for t in scenario.tags:
        if t in GENERATORS:
            return t
    return scenario.name.rsplit("_", 1)[-1]
