"""`nettwin replay FILE.pcap`: run the C++ nettwin-replay tool over a pcap (it
injects the frames addressed to the DUT at their recorded times and writes what
the stack sent), then report how the stack's output differs from the DUT's
responses in the input pcap, frame by frame and field by field, with the same
normalization as the conformance comparator.

It prints what the tool did on every run (frames injected, skipped, refused, lost)
and exits 0 only when frames were compared and none differ; 1 when some differ,
frames were lost (rx_missed) or nothing was compared; 2 on bad input. An input cut
short (or broken) in the middle is compared up to the break and exits 2, as tshark
reads such a file and exits 2. "-" or a pipe is read as the input."""
from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from scapy.utils import rdpcap

from ..client import paths
from ..comparison.compare import compare_frames
from ..comparison.sidebyside import render_frame
from ..scenarios.model import DUT_CIDR, DUT_DEV, DUT_MAC

REPLAY_TIMEOUT_S = 600


def dut_responses(frames, dut_mac: str) -> list:
    """The frames of the input pcap the DUT sent (its MAC as source): the expected output."""
    mac = dut_mac.lower()
    return [p for p in frames if p.haslayer("Ether") and p["Ether"].src.lower() == mac]


@dataclass
class ToolRun:
    """What nettwin-replay did: its exit status, its output, and the counts of its summary."""
    status: int
    stdout: str
    stderr: str
    read: int = 0
    injected: int = 0
    lost: int = 0
    ran: bool = False       # the replay started (it printed its summary)
    stopped: bool = False   # the input ended early: cut short or a broken record


SUMMARY = re.compile(r"read (\d+) frames from .*?; injected (\d+);.*; lost (\d+) ")


def run_tool(pcap: Path, out: Path, args) -> ToolRun:
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
    run = ToolRun(done.returncode, done.stdout, done.stderr)
    summary = SUMMARY.search(done.stdout)
    if summary:
        run.ran = True
        run.read, run.injected, run.lost = (int(n) for n in summary.groups())
        run.stopped = "stopped early at" in done.stdout
    if not run.ran or done.returncode not in (0, 2, 3):
        raise RuntimeError(f"nettwin-replay failed (exit {done.returncode}): {' '.join(cmd)}\n"
                           f"{done.stdout}{done.stderr}".rstrip())
    return run


def same_file(a: os.stat_result, path: Path) -> bool:
    try:
        b = os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def input_pcap(name: str, out: Optional[Path], tmp: Path) -> Path:
    """The input as a regular file: "-", a pipe or a FIFO is copied to tmp first (both
    the tool and the comparison read it). Refuses an --out that is the input itself
    (same inode: a symlink, a hard link, stdin redirected from it) before anything is written."""
    try:
        st = os.fstat(sys.stdin.fileno()) if name == "-" else os.stat(name)
    except OSError as e:
        raise InputError(f"{name}: {'no such file' if isinstance(e, FileNotFoundError) else e.strerror}")
    shown = "stdin" if name == "-" else name
    if out is not None and same_file(st, out):
        raise InputError(f"--out {out} is the input file {shown}: not overwriting it")
    if name != "-" and stat.S_ISREG(st.st_mode):
        return Path(name)
    copy = tmp / "in.pcap"
    with (open(name, "rb") if name != "-" else os.fdopen(os.dup(sys.stdin.fileno()), "rb")) as src:
        with open(copy, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return copy


class InputError(Exception):
    pass


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


def verdict(run: ToolRun, ok: bool, compared: int) -> int:
    """The exit status: 2 the input stopped early (compared up to the break, as tshark
    reads and exits 2); 1 differences, lost frames, or nothing compared; 0 all good."""
    if run.stopped:
        print(f"nettwin replay: the input stopped early: compared the {run.read} frames before "
              "the break", file=sys.stderr)
        return 2
    if run.lost:
        print(f"nettwin replay: {run.lost} frames lost (rx_missed): the stack did not see the "
              "whole input", file=sys.stderr)
        return 1
    if not compared:
        print("nettwin replay: nothing compared: the input has no DUT responses and the stack "
              "sent nothing", file=sys.stderr)
        return 1
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="nettwin replay", description=__doc__.split("\n\n")[0])
    ap.add_argument("pcap", help="input pcap (\"-\": stdin): frames to the DUT and the DUT's responses")
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
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nettwin-replay-") as tmp:
        out = args.out or Path(tmp) / "out.pcap"
        try:
            pcap = input_pcap(args.pcap, args.out, Path(tmp))
            run = run_tool(pcap, out, args)
        except (InputError, RuntimeError, paths.BuildMissing) as e:
            print(f"nettwin replay: {e}", file=sys.stderr)
            return 2
        # What the tool did (injected, skipped, refused, lost), on every run.
        print(run.stdout.rstrip())
        if run.stderr:
            print(run.stderr.rstrip(), file=sys.stderr)
        # Only the records the tool replayed: a record cut short is not a frame.
        frames = list(rdpcap(str(pcap), count=run.read)) if run.read else []
        produced = list(rdpcap(str(out)))
        produced, later = split_at_end(produced, frames, args.settle)
        expected = dut_responses(frames, args.mac)
        ok, text = report(expected, produced, later)
    print(text)
    if args.out:
        print(f"the stack's output: {args.out}")
    return verdict(run, ok, max(len(expected), len(produced)))
