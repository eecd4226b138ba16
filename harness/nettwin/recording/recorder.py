"""`nettwin record`: play scenarios against the real Linux kernel of this machine and
write each as a scenario folder (traces/README.md).

For one scenario: two fresh namespaces joined by veth (netns.Topology), tcpdump on
the tester's interface in each direction, a private tracefs instance with the
tracepoints of tracefs.RECORDED_EVENTS, an agent in the tester namespace pinned to
one CPU that sends the frames; then the settle time, the capture is stopped, the
trace is read, aligned to the pcap clock, cut at the recording's end, normalized
(normalize.py) and written. Everything created is removed again, also on Ctrl-C.

Run: PYTHONPATH=<repo>/harness /usr/bin/python3 -m nettwin.recording.recorder --all
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..client import pcapfile
from ..comparison import normalize
from ..comparison.tcp_relative import frame_outline
from ..scenarios import catalog, model
from ..scenarios.sock_steps import Sock
from ..scenarios.tcp_template import Expect, TcpSend, TcpState
from . import netns, tracefs
from .ns_processes import Agent, ProcessError, Tcpdump

RECORDER_VERSION = 1
REPO = Path(__file__).resolve().parents[3]  # recording, nettwin, harness, the checkout
DEFAULT_OUT = REPO / "traces"
QUIET_BEFORE_S = 0.3      # after link up, before tracing starts
INJECT_CPU = 0


class RecordError(RuntimeError):
    """A recording that could not be made or is not trustworthy (lost events, stray frames)."""


@dataclass
class Recording:
    """One scenario recorded, before it is written."""
    scenario: model.Scenario
    sent_pcap: bytes
    received_pcap: bytes
    far_received_pcap: bytes | None   # the forwarding topology's far host, else None
    events: list[dict]
    meta: dict
    raw_trace: str
    socket_results: list | None = None   # the DUT program's socket calls (socket_results.json)
    expect_results: list | None = None   # the reactive tester's Expect steps (expect_results.json)
    far_sent_pcap: bytes | None = None   # frames the far host sent (its Send steps), else None


# ------------------------------------------------------------------ clocks

def realtime_minus_monotonic_ns(samples: int = 20) -> int:
    """CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of several bracketed reads."""
    best = None
    for _ in range(samples):
        r1 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        m = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        r2 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        if best is None or r2 - r1 < best[0]:
            best = (r2 - r1, (r1 + r2) // 2 - m)
    return best[1]


def pcap_frames_bytes(data: bytes) -> list[tuple[int, bytes]]:
    """pcap_frames of a libpcap file's bytes."""
    with tempfile.NamedTemporaryFile(suffix=".pcap") as fh:
        fh.write(data)
        fh.flush()
        return pcap_frames(Path(fh.name))


def pcap_frames(path: Path) -> list[tuple[int, bytes]]:
    """(capture time in ns since the epoch, frame bytes) of each frame of a libpcap file
    (microsecond or nanosecond variant, either byte order)."""
    try:
        return pcapfile.read_frames(path)
    except pcapfile.PcapError as e:
        raise RecordError(str(e)) from None


# --------------------------------------------------------------- recording

def _run_steps(scenario: model.Scenario, agent: Agent, dut_agent: Agent | None = None,
               far_agent: Agent | None = None) -> tuple[list[dict], list[dict], list[bytes], int]:
    """Each Send at its due time; a Wait moves the due time on; a Sock is performed by
    the DUT's agent (one call, answered before the next step); a TcpSend is filled from
    what the DUT sent so far and sent; an Expect reads the DUT's frames until one matches
    or its timeout passes. Ends settle_ms after the last step. Returns the socket calls'
    and Expects' results with their CLOCK_MONOTONIC times, the frames sent and the
    CLOCK_MONOTONIC time the last step ended (the recording ends settle_ms later)."""
    due = time.monotonic()
    origin = None
    sock_results, expect_results, sent = [], [], []
    state = TcpState()
    pending: list[list] = []          # DUT frames read but not yet matched: [mono_ns, bytes]
    received = 0                      # DUT frames read so far (index into received.pcap)
    for i, step in enumerate(scenario.steps):
        if isinstance(step, model.Wait):
            due += step.ms / 1000
            continue
        if not isinstance(step, (model.Send, Sock, TcpSend, Expect)):
            raise RecordError(f"{scenario.name}: unknown step {step!r}")
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if origin is None:
            origin = time.monotonic_ns()
        if isinstance(step, Sock):
            mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            reply = dut_agent.call({"op": "sock", "sock_op": step.op, "h": step.h, "args": dict(step.args)})
            if step.op == "collect":
                # A background call's result is known when it returned: replay collects then.
                mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            else:
                mono = reply.get("mono_ns", mono)   # when the DUT's program made the call
            sock_results.append({"step": i, "op": step.op, "h": step.h, "mono_ns": mono,
                                 "result": reply["result"]})
        elif isinstance(step, Expect):
            deadline = time.monotonic() + step.timeout_ms / 1000
            hit = None
            while hit is None:
                while pending and hit is None:
                    mono, frame = pending.pop(0)
                    received += 1
                    state.observe(frame)
                    if state.matches(step, frame):
                        hit = {"step": i, "frame": received - 1, "mono_ns": mono, "timeout": False}
                if hit is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    hit = {"step": i, "frame": None, "mono_ns": time.monotonic_ns(), "timeout": True}
                    break
                for mono, hexf in agent.call({"op": "recv", "timeout_ms": int(left * 1000)})["frames"]:
                    pending.append([mono, bytes.fromhex(hexf)])
            expect_results.append(hit)
        elif isinstance(step, TcpSend):
            frame = state.fill(step, (time.monotonic_ns() - origin) // 1_000_000)
            agent.send(model.TESTER_IFACE, frame)
            sent.append(frame)
        else:
            (far_agent if step.iface == model.FAR_IFACE else agent).send(step.iface, step.frame)
            if step.iface != model.FAR_IFACE:
                sent.append(step.frame)
        due = time.monotonic()
    last_step_mono = time.monotonic_ns()
    time.sleep(max(0.0, due + scenario.settle_ms / 1000 - time.monotonic()))
    return sock_results, expect_results, sent, last_step_mono


def record(scenario: model.Scenario, cpu: int = INJECT_CPU) -> Recording:
    suffix = f"{os.getpid()}-{time.monotonic_ns() % 100000}"
    topo = netns.Topology(suffix, dict(scenario.sysctls), scenario.topology,
                          scenario.routes_data(), scenario.neighbours_data(), dict(scenario.dut_mtus))
    trace = tracefs.TraceInstance(f"nettwin-{suffix}")
    captures: list[Tcpdump] = []
    agent = Agent(topo.tester.netns, cpu)
    # The DUT's program, when the scenario has socket actions: same CPU as the injector.
    dut_agent = Agent(topo.dut.netns, cpu) if any(isinstance(s, Sock) for s in scenario.steps) else None
    # The far host's injector, when it sends (forwarding topology): same CPU too.
    far_sends = [s for s in scenario.frames() if s.iface == model.FAR_IFACE]
    if far_sends and not topo.far:
        raise RecordError(f"{scenario.name}: frames from {model.FAR_IFACE} need the forwarding topology")
    far_agent = Agent(topo.far.netns, cpu) if far_sends else None
    sock_results: list[dict] = []
    expect_results: list[dict] = []
    sent_frames: list[bytes] = []
    reactive = any(isinstance(s, (TcpSend, Expect)) for s in scenario.steps)
    with tempfile.TemporaryDirectory(prefix="nettwin-rec-") as work:
        work = Path(work)
        try:
            topo.setup()
            captures = [Tcpdump(topo.tester.netns, topo.tester.ifname, "out", work / "sent.pcap"),
                        Tcpdump(topo.tester.netns, topo.tester.ifname, "in", work / "received.pcap")]
            if topo.far:
                captures.append(Tcpdump(topo.far.netns, topo.far.ifname, "in",
                                        work / "far_received.pcap"))
            if far_agent:
                captures.append(Tcpdump(topo.far.netns, topo.far.ifname, "out", work / "far_sent.pcap"))
            for cap in captures:
                cap.start()
            agent.start()
            if reactive:
                agent.call({"op": "arm", "iface": topo.tester.ifname})
            if dut_agent:
                dut_agent.start()
            if far_agent:
                far_agent.start()
            trace.start()
            time.sleep(QUIET_BEFORE_S)
            snmp_before = netns.read_snmp(topo.dut.netns)
            offset_before = realtime_minus_monotonic_ns()
            trace.on()
            sock_results, expect_results, sent_frames, last_step_mono = _run_steps(
                scenario, agent, dut_agent, far_agent)
            trace.off()
            snmp_after = netns.read_snmp(topo.dut.netns)
            offset_after = realtime_minus_monotonic_ns()
            # The captures end before the agents do: a DUT program that exits closes its
            # sockets, and those FINs/RSTs come after the recording's end.
            counts = [cap.stop() for cap in captures]
            agent.stop()
            if dut_agent:
                dut_agent.stop()
            if far_agent:
                far_agent.stop()
            if reactive:
                # Sockets the scenario closed may live on as orphans (FIN_WAIT1 toward a
                # silent tester) and hold the namespace: their death would trace into a
                # later recording. Destroy every TCP socket of the DUT now (SOCK_DESTROY).
                netns.run(["ss", "-K", "-t", "-a"], topo.dut.netns, check=False)
            text = trace.read()
            sysctls = topo.dut_sysctls()
            link = topo.dut_link()
            topology = topo.topology_meta()
        finally:
            agent.stop()
            if dut_agent:
                dut_agent.stop()
            if far_agent:
                far_agent.stop()
            for cap in captures:
                cap.kill()
            try:
                trace.close()
            except OSError as e:
                print(f"nettwin record: could not remove {trace.path}: {e}", file=sys.stderr)
            topo.teardown()
        # The recording ends settle_ms after the last step: a frame's capture time
        # when that step is a Send, else when the step (a socket call, an Expect)
        # returned (a connect() after a long Wait traces after the last frame).
        steps = [st for st in scenario.steps if not isinstance(st, model.Wait)]
        last_is_frame = not reactive and steps and isinstance(steps[-1], model.Send)
        rec = _assemble(scenario, topo, work, text, (offset_before + offset_after) // 2,
                        abs(offset_after - offset_before), counts, sysctls, link, cpu, topology,
                        sent_frames if reactive else None,
                        None if last_is_frame else last_step_mono + (offset_before + offset_after) // 2)
        if far_agent:
            rec.far_sent_pcap = (work / "far_sent.pcap").read_bytes()
        # The DUT's MIB deltas over the scenario: the referee for the stack's counters.
        rec.meta["snmp_delta"] = netns.snmp_delta(snmp_before, snmp_after)
        if dut_agent:
            # Each socket call's time on the pcap clock, relative to the first sent frame.
            origin = pcap_frames(work / "sent.pcap")[0][0]
            offset = (offset_before + offset_after) // 2
            rec.socket_results = [{"step": r["step"], "op": r["op"], "h": r["h"],
                                   "t_ns": r["mono_ns"] + offset - origin, "result": r["result"]}
                                  for r in sock_results]
        if reactive:
            origin = pcap_frames(work / "sent.pcap")[0][0]
            offset = (offset_before + offset_after) // 2
            rec.expect_results = [{"step": r["step"], "frame": r["frame"], "timeout": r["timeout"],
                                   "t_ns": r["mono_ns"] + offset - origin} for r in expect_results]
            rec.meta["tcp"] = {"congestion_control": "cubic (TCP_CONGESTION on every DUT TCP socket; "
                                                     "host default bbr)",
                               "tester": "reactive (scenarios/tcp_template.py), AF_PACKET capture "
                                         "in the tester namespace"}
        return rec


def _assemble(scenario, topo, work: Path, text: str, offset_ns: int, offset_drift_ns: int,
              counts, sysctls, link, cpu, topology, sent_frames=None, last_step_ns=None) -> Recording:
    lost = tracefs.lost_entries(text)
    if lost:
        raise RecordError(f"{scenario.name}: the trace ring buffer lost {lost} events")
    sent = pcap_frames(work / "sent.pcap")
    received = pcap_frames(work / "received.pcap")
    expected = (sent_frames if sent_frames is not None
                else [s.frame for s in scenario.frames() if s.iface != model.FAR_IFACE])
    far_expected = [s.frame for s in scenario.frames() if s.iface == model.FAR_IFACE]
    far_sent = pcap_frames(work / "far_sent.pcap") if far_expected else []
    if [f for _, f in far_sent] != far_expected:
        raise RecordError(f"{scenario.name}: far_sent.pcap holds {len(far_sent)} frames, not exactly "
                          f"the scenario's {len(far_expected)} from {model.FAR_IFACE}")
    if not sent:
        raise RecordError(f"{scenario.name}: the tester sent nothing (time 0 is its first frame)")
    if [f for _, f in sent] != expected:
        raise RecordError(f"{scenario.name}: sent.pcap holds {len(sent)} frames, not exactly "
                          f"the scenario's {len(expected)} (stray traffic or a lost frame)")
    origin = sent[0][0]
    last_sent = max([ts for ts, _ in sent + far_sent] + ([last_step_ns] if last_step_ns else [])) - origin
    duration_ns = last_sent + scenario.settle_ms * 1_000_000
    far_received = pcap_frames(work / "far_received.pcap") if topo.far else []
    late = [ts - origin for ts, _ in received + far_received if ts - origin > duration_ns]
    if late:
        raise RecordError(f"{scenario.name}: frames received after the recording's end: {late}")

    raw = tracefs.parse_text(text)
    for ev in raw:
        ev["time_ns"] = ev["time_ns"] + offset_ns - origin
    dut_devices = {v for h in topo.dut_interfaces() for v in (h.ifname, str(h.ifindex))}
    events = [e for e in normalize.normalize_events(raw, dut_devices) if e["t_ns"] <= duration_ns]
    early = [e for e in events if e["t_ns"] < 0]
    if early:
        raise RecordError(f"{scenario.name}: DUT events before the first frame: {early}")

    meta = {
        "kernel": platform.release(),
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "topology": topology,
        "dut_link": dict(link, loopback="up"),
        "dut_setup": topo.dut_setup(),
        "sysctls": sysctls,
        "time_origin": "first frame of sent.pcap",
        "duration_ns": duration_ns,
        "settle_ns": scenario.settle_ms * 1_000_000,
        "frames": {"sent": len(sent), "received": len(received),
                   "tcpdump_captured": {"sent": counts[0], "received": counts[1]}},
        **({"far_frames": {"received": len(far_received), "sent": len(far_sent),
                           "tcpdump_captured": dict({"received": counts[2]},
                                                    **({"sent": counts[3]} if far_sent else {}))}}
           if topo.far else {}),
        "trace": {
            "source": "private tracefs instance, text output",
            "clock": "mono", "resolution_ns": 1000,
            "clock_offset_uncertainty_ns": offset_drift_ns,
            "events_enabled": list(tracefs.RECORDED_EVENTS),
            "skb_slabs": tracefs.skb_slab_names(),
            "raw_events": len(raw), "dut_events": len(events),
        },
        "recorder": {"version": RECORDER_VERSION, "inject_cpu": cpu,
                     "injector": "AF_PACKET socket (protocol 0) in the tester namespace",
                     "tester_ingress": "nftables netdev ingress drop after capture"},
    }
    return Recording(scenario, (work / "sent.pcap").read_bytes(),
                     (work / "received.pcap").read_bytes(),
                     (work / "far_received.pcap").read_bytes() if topo.far else None,
                     events, meta, text)


def write(rec: Recording, out_dir: Path) -> Path:
    """Write the scenario folder out_dir/<name> (replacing an older recording of it)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / rec.scenario.name
    tmp = Path(tempfile.mkdtemp(prefix=f".{rec.scenario.name}-", dir=out_dir))
    try:
        (tmp / "scenario.json").write_text(json.dumps(rec.scenario.to_json(), indent=1) + "\n")
        (tmp / "sent.pcap").write_bytes(rec.sent_pcap)
        (tmp / "received.pcap").write_bytes(rec.received_pcap)
        if rec.far_received_pcap is not None:
            (tmp / "far_received.pcap").write_bytes(rec.far_received_pcap)
        if rec.far_sent_pcap is not None:
            (tmp / "far_sent.pcap").write_bytes(rec.far_sent_pcap)
        (tmp / "events.json").write_text(_events_json(rec.events))
        (tmp / "meta.json").write_text(json.dumps(rec.meta, indent=1, sort_keys=True) + "\n")
        if rec.socket_results is not None:
            (tmp / "socket_results.json").write_text(
                '{"calls": [\n' + ",\n".join(json.dumps(r) for r in rec.socket_results) + "\n]}\n")
        if rec.expect_results is not None:
            (tmp / "expect_results.json").write_text(
                '{"expects": [\n' + ",\n".join(json.dumps(r) for r in rec.expect_results) + "\n]}\n")
        os.chmod(tmp, 0o755)
        if target.exists():
            unknown = {p.name for p in target.iterdir()} - {
                "scenario.json", "sent.pcap", "received.pcap", "far_received.pcap", "far_sent.pcap",
                "events.json",
                "meta.json", "socket_results.json", "expect_results.json"}
            if unknown:
                raise RecordError(f"{target} holds files a recording does not write: {sorted(unknown)}")
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def _events_json(events: list[dict]) -> str:
    """One event per line: diffs of recordings stay readable."""
    lines = [json.dumps(e, sort_keys=False) for e in events]
    return '{"events": [\n' + ",\n".join(lines) + "\n]}\n"


def comparable(events: list[dict]) -> list[tuple]:
    """An event sequence without its times: what must be equal between two recordings."""
    return [(e["name"], e["skb"], tuple(sorted(e["fields"].items()))) for e in events]


def describe(events: list[dict]) -> str:
    """One line per event: ordinal, name and the fields that tell the story."""
    lines = []
    for e in events:
        f = " ".join(f"{k}={v}" for k, v in e["fields"].items())
        lines.append(f"{e['t_ns']:>12}  skb={e['skb']!s:<4} {e['name']:<24} {f}")
    return "\n".join(lines)


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="nettwin record",
                                description="Record scenarios against this machine's Linux kernel.")
    p.add_argument("names", nargs="*", help="scenarios to record")
    p.add_argument("--all", action="store_true", help="record every scenario")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="traces directory (default %(default)s)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--check", action="store_true",
                   help="record each scenario twice; fail unless the events are identical")
    p.add_argument("--raw", type=Path, help="also save each raw tracefs text as RAW/<name>.txt")
    p.add_argument("--cpu", type=int, default=INJECT_CPU, help="CPU the injector is pinned to")
    p.add_argument("-v", "--verbose", action="store_true", help="print each scenario's events")
    args = p.parse_args(argv)

    if args.list:
        for s in catalog.SCENARIOS.values():
            print(f"{s.name:<20} {s.description}")
        return 0
    if args.all and args.names:
        p.error("give scenario names or --all, not both")
    if not args.all and not args.names:
        p.error("give scenario names, --all or --list")
    try:
        chosen = list(catalog.SCENARIOS.values()) if args.all else [catalog.get(n) for n in args.names]
    except KeyError as e:
        print(f"nettwin record: {e.args[0]}", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("nettwin record: needs root (network namespaces, tracefs)", file=sys.stderr)
        return 2
    if args.cpu not in os.sched_getaffinity(0):
        print(f"nettwin record: CPU {args.cpu} is not available", file=sys.stderr)
        return 2

    old = signal.signal(signal.SIGTERM, _sigterm)
    failed = 0
    try:
        with netns.exclusive_use():
            for s in chosen:
                try:
                    rec = record(s, args.cpu)
                    if args.check:
                        again = record(s, args.cpu)
                        if comparable(rec.events) != comparable(again.events):
                            raise RecordError(
                                f"{s.name}: two recordings differ:\n--- first\n{describe(rec.events)}"
                                f"\n--- second\n{describe(again.events)}")
                        if rec.expect_results is not None:
                            # The DUT's frames too, with ISN, TSval, IP ID and port made relative.
                            a = frame_outline([f for _, f in pcap_frames_bytes(rec.received_pcap)])
                            b = frame_outline([f for _, f in pcap_frames_bytes(again.received_pcap)])
                            if a != b:
                                raise RecordError(f"{s.name}: the DUT's frames differ between two recordings:"
                                                  f"\n--- first\n{a}\n--- second\n{b}")
                    if args.raw:
                        args.raw.mkdir(parents=True, exist_ok=True)
                        (args.raw / f"{s.name}.txt").write_text(rec.raw_trace)
                    folder = write(rec, args.out)
                except (RecordError, netns.NetnsError, tracefs.TracefsError, tracefs.TraceParseError,
                        ProcessError, normalize.NormalizeError) as e:
                    failed += 1
                    print(f"FAIL  {s.name}: {e}", file=sys.stderr)
                    continue
                print(f"OK    {s.name}: {len(rec.events)} DUT events, "
                      f"{rec.meta['frames']['sent']} sent, {rec.meta['frames']['received']} received"
                      f"{' (recorded twice, identical)' if args.check else ''} -> {folder}")
                if args.verbose:
                    print(describe(rec.events))
    except KeyboardInterrupt:
        print("nettwin record: interrupted; namespaces and tracefs instance removed", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, old)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
