"""`nettwin replay FILE.pcap`: run the C++ nettwin-replay tool over a pcap (it
injects the frames addressed to the DUT at their recorded times and writes what
the stack sent), then report how the stack's output differs from the DUT's
responses in the input pcap, frame by frame and field by field, with the same
normalization as the conformance comparator."""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from scapy.utils import rdpcap

from . import paths
from .compare import compare_frames
from .session import DUT_CIDR, DUT_DEV, DUT_MAC
from .sidebyside import render_frame

REPLAY_TIMEOUT_S = 600


def dut_responses(frames, dut_mac: str) -> list:
    """The frames of the input pcap the DUT sent (its MAC as source): the expected output."""
    mac = dut_mac.lower()
    return [p for p in frames if p.haslayer("Ether") and p["Ether"].src.lower() == mac]


def run_tool(pcap: Path, out: Path, args) -> str:
    """Run nettwin-replay (harness/server/replay_main.cc) with our options."""
    cmd = [str(paths.binary("nettwin-replay")), "--in", str(pcap), "--out", str(out),
           "--dev", args.dev, "--mac", args.mac, "--ip", args.ip, "--kind", args.kind,
           "--seed", str(args.seed)]
    if args.ifindex:
        cmd += ["--ifindex", str(args.ifindex)]
    for neigh in args.neigh:
        cmd += ["--neigh", neigh]
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=REPLAY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"nettwin-replay did not finish within {REPLAY_TIMEOUT_S} s: {' '.join(cmd)}")
    if done.returncode != 0:
        raise RuntimeError(f"nettwin-replay failed (exit {done.returncode}): {' '.join(cmd)}\n"
                           f"{done.stdout}{done.stderr}".rstrip())
    return done.stdout + done.stderr


def split_at_end(produced: list, frames: list, settle_s: float) -> tuple[list, list]:
    """The stack's frames up to the input's last frame + settle, and those after. The
    tool runs the stack until idle, so later timers (neighbour probes...) fire that
    the input never saw: like conform, compare only the window the input covers."""
    if not frames:
        return produced, []
    end = max(float(p.time) for p in frames) + settle_s
    return ([p for p in produced if float(p.time) <= end],
            [p for p in produced if float(p.time) > end])


def report(expected: list, produced: list, later: list = ()) -> tuple[bool, str]:
    diffs = compare_frames(expected, produced)
    lines = [f"expected (DUT responses in the input): {len(expected)} frames; "
             f"nettwin sent: {len(produced)} frames in the input's time span"]
    for d in diffs:
        lines.extend(render_frame(d))
    if later:
        lines.append(f"not compared: {len(later)} frames nettwin sent after the input ended (+ settle):")
        lines.extend(f"    {p.summary()}" for p in later)
    bad = sum(d.differs for d in diffs)
    lines.append("no differences" if not bad else f"{bad} of {len(diffs)} frames differ")
    return not bad, "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="nettwin replay", description=__doc__.split("\n\n")[0])
    ap.add_argument("pcap", type=Path, help="input pcap: frames to the DUT and the DUT's responses")
    ap.add_argument("--out", type=Path, help="where to write the stack's output (default: a temp file)")
    ap.add_argument("--dev", default=DUT_DEV, help=f"DUT device name (default {DUT_DEV})")
    ap.add_argument("--mac", default=DUT_MAC, help=f"DUT MAC (default {DUT_MAC})")
    ap.add_argument("--ip", default=DUT_CIDR, help=f"DUT address as CIDR (default {DUT_CIDR})")
    ap.add_argument("--kind", default="veth", choices=["veth", "ring"],
                    help="DUT device kind (default veth, as in the recordings)")
    ap.add_argument("--ifindex", type=int, default=0, help="DUT ifindex (default: the stack's next free)")
    ap.add_argument("--neigh", action="append", default=[], metavar="IP=MAC",
                    help="a permanent neighbour entry, repeatable")
    ap.add_argument("--seed", type=int, default=1, help="the stack's random seed")
    ap.add_argument("--settle", type=float, default=1.0, metavar="SECONDS",
                    help="compare the stack's frames up to this long after the input's last frame "
                         "(default 1, the recorder's settle time)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print nettwin-replay's own output")
    args = ap.parse_args(argv)
    if not args.pcap.is_file():
        print(f"nettwin replay: {args.pcap}: no such file", file=sys.stderr)
        return 2
    try:
        frames = list(rdpcap(str(args.pcap)))
    except Exception as e:
        print(f"nettwin replay: {args.pcap}: not a readable pcap: {e}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nettwin-replay-") as tmp:
        out = args.out or Path(tmp) / "out.pcap"
        try:
            tool_output = run_tool(args.pcap, out, args)
        except (RuntimeError, paths.BuildMissing) as e:
            print(f"nettwin replay: {e}", file=sys.stderr)
            return 2
        if args.verbose:
            print(tool_output.rstrip())
        produced = list(rdpcap(str(out)))
        produced, later = split_at_end(produced, frames, args.settle)
        ok, text = report(dut_responses(frames, args.mac), produced, later)
    print(text)
    if args.out:
        print(f"the stack's output: {args.out}")
    return 0 if ok else 1
