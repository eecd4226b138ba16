"""`nettwin replay CAPTURE`: replay a capture into the stack and report, flow by
flow, how the stack's frames differ from the DUT's in the capture.

The capture may be pcap or pcapng, gzip-compressed or not, of Ethernet, Linux
cooked (SLL, SLL2), loopback (NULL, LOOP) or raw IP frames (nettwin-replay
--convert makes the others Ethernet frames first; their MACs are 02:00 and the
host's IPv4 address). The DUT is named (--dut-ip, --dut-mac) or taken from the
capture's roles (roles.py). The C++ tool nettwin-replay injects the frames to the
DUT at their recorded times, with a TCP listener on each port the capture's DUT
accepted connections on, peers it met without ARP as permanent neighbours, and
the peers' TCP numbers fitted to the stack's ISN; it writes what the stack sent.
Both are then read once, by flow (flows.py): a summary per flow and the first
--max-diffs differences, field by field.

Exit status: 2 bad input, or an input cut short (compared up to the break, as
tshark reads it and exits 2); with a golden output (CAPTURE.golden.json, made by
--update-golden) 0 when this run gives the same, 1 when not; without one, 0 when
answers were compared and none differ, 1 when some differ, frames were lost
(rx_missed) or nothing was compared. "-" or a pipe is read as the input."""
from __future__ import annotations

import argparse
import gc
import ipaddress
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Optional

from ..client import paths
from . import golden, progress
from .flows import FlowMatcher
from .pcapstream import is_ethernet_pcap, records
from .report import render
from .roles import Dut, DutError, choose, survey

REPLAY_TIMEOUT_S = 600
DUT_DEV = "ntdut0"   # scenarios.model.DUT_DEV (not imported: that module loads Scapy, 0.5 s)
PROGRESS = re.compile(r"^nettwin-replay: progress (\d+) (\d+)$")


@dataclass
class ToolRun:
    """What nettwin-replay did: its exit status, its output, and the counts of its summary."""
    status: int
    stdout: str
    stderr: str
    read: int = 0
    injected: int = 0
    lost: int = 0
    written: int = 0
    ran: bool = False       # the replay started (it printed its summary)
    stopped: bool = False   # the input ended early: cut short or a broken record


SUMMARY = re.compile(r"read (\d+) frames from .*?; injected (\d+);.*; lost (\d+) ")
WROTE = re.compile(r"wrote (\d+) frames to ")
CONVERTED = re.compile(r"converted (\d+) frames from ")


class InputError(Exception):
    pass


def tool(cmd: list, desc: str, show: bool) -> subprocess.CompletedProcess:
    """Run nettwin-replay with --progress, its progress lines driving a bar."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd + ["--progress"], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.PIPE, text=True)
        bar, last, errors = None, 0, []
        try:
            for line in proc.stderr:
                m = PROGRESS.match(line.rstrip("\n"))
                if not m:
                    errors.append(line)
                    continue
                position, size = int(m.group(1)), int(m.group(2))
                if bar is None:
                    bar = progress.bar(show, desc, total=size, unit="B", unit_scale=True)
                bar.update(max(0, position - last))
                last = max(last, position)
            proc.wait(timeout=REPLAY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise RuntimeError(f"nettwin-replay did not finish within {REPLAY_TIMEOUT_S} s: {' '.join(cmd)}")
        finally:
            if bar is not None:
                bar.close()
        out.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), "".join(errors))


def convert(pcap: Path, tmp: Path, show: bool) -> tuple[Path, ToolRun]:
    """The capture as a classic pcap of Ethernet frames: itself, or nettwin-replay --convert's."""
    if is_ethernet_pcap(pcap):
        return pcap, ToolRun(0, "", "", ran=True)
    out = tmp / "converted.pcap"
    done = tool([str(paths.binary("nettwin-replay")), "--convert", "--in", str(pcap), "--out", str(out)],
                "reading", show)
    run = ToolRun(done.returncode, done.stdout, done.stderr)
    m = CONVERTED.search(done.stdout)
    if not m or done.returncode not in (0, 2):
        raise InputError((done.stderr or done.stdout).strip().removeprefix("nettwin-replay: "))
    run.ran, run.read, run.stopped = True, int(m.group(1)), done.returncode == 2
    return out, run


def run_tool(pcap: Path, out: Path, args, dut: Dut, show: bool) -> ToolRun:
    """Run nettwin-replay (harness/server/replay_main.cc) with our options."""
    cmd = [str(paths.binary("nettwin-replay")), "--in", str(pcap), "--out", str(out),
           "--dev", args.dev, "--mac", dut.mac, "--ip", dut_cidr(args.dut_ip, dut.ip), "--kind", args.kind,
           "--seed", str(args.seed), "--learn-neigh"]
    if not (args.dut_ip and "/" in args.dut_ip):
        cmd.append("--onlink")
    if args.ifindex:
        cmd += ["--ifindex", str(args.ifindex)]
    for neigh in args.neigh:
        cmd += ["--neigh", neigh]
    for port in dut.listen_ports:
        cmd += ["--listen", str(port)]
    done = tool(cmd, "replaying", show)
    run = ToolRun(done.returncode, done.stdout, done.stderr)
    summary = SUMMARY.search(done.stdout)
    if summary:
        run.ran = True
        run.read, run.injected, run.lost = (int(n) for n in summary.groups())
        run.stopped = "stopped early at" in done.stdout
        wrote = WROTE.search(done.stdout)
        run.written = int(wrote.group(1)) if wrote else 0
    if not run.ran or done.returncode not in (0, 2, 3):
        raise RuntimeError(f"nettwin-replay failed (exit {done.returncode}): {' '.join(cmd)}\n"
                           f"{done.stdout}{done.stderr}".rstrip())
    return run


def dut_cidr(given: Optional[str], ip: str) -> str:
    """--dut-ip as written when it has a prefix; else the address alone (/32), with a
    default route on the device (--onlink): every peer is then on the DUT's link,
    reached at the MAC the capture shows for it (a gateway's, for a far host)."""
    return given if given and "/" in given else f"{ip}/32"


def same_file(a: os.stat_result, path: Path) -> bool:
    try:
        b = os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def input_pcap(name: str, out: Optional[Path], tmp: Path) -> Path:
    """The input as a regular file: "-", a pipe or a FIFO is copied to tmp first (it
    is read more than once). Refuses an --out that is the input itself (same inode:
    a symlink, a hard link, stdin redirected from it) before anything is written."""
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


def find_dut(ether: Path, count: int, args, show: bool) -> Dut:
    bar = progress.bar(show, "roles", total=ether.stat().st_size, unit="B", unit_scale=True)
    try:
        frames = map(itemgetter(2), records(ether, count, bar.update))    # the frames' bytes
        return choose(*survey(frames), args.dut_ip and args.dut_ip.split("/")[0], args.dut_mac)
    finally:
        bar.close()


def compare(ether: Path, out: Path, run: ToolRun, dut: Dut, args, show: bool) -> FlowMatcher:
    matcher = FlowMatcher(bytes.fromhex(dut.mac.replace(":", "")), int(args.settle * 1e9), args.max_diffs)
    bar = progress.bar(show, "comparing", total=run.read + run.written)
    matcher.run(records(ether, run.read), records(out), bar.update)
    bar.close()
    return matcher


def verdict(run: ToolRun, bad: int, compared: int, golden_changes: Optional[list]) -> int:
    """The exit status (this module's docstring)."""
    if run.stopped:
        print(f"nettwin replay: the input stopped early: compared the {run.read} frames before "
              "the break", file=sys.stderr)
        return 2
    if run.lost:
        print(f"nettwin replay: {run.lost} frames lost (rx_missed): the stack did not see the "
              "whole input", file=sys.stderr)
        return 1
    if golden_changes is not None:
        return 1 if golden_changes else 0
    if not compared:
        print("nettwin replay: nothing compared: the input has no DUT answers and the stack "
              "sent nothing", file=sys.stderr)
        return 1
    return 0 if not bad else 1


def check_golden(args, doc: dict) -> Optional[list]:
    """None: no golden output to compare with; else what changed from it ([] nothing)."""
    path = golden.path_for(args.pcap, args.golden)
    if path is None:
        return None
    if args.update_golden:
        golden.write(path, doc)
        print(f"golden output written: {path}")
        return []
    if not path.exists():
        print(f"no golden output at {path} (--update-golden stores this run's)")
        return None
    found = golden.changes(golden.load(path), doc)
    if found:
        print(f"golden mismatch: {len(found)} changes from {path}:")
        print("\n".join(f"  {c}" for c in found[:golden.SHOWN_CHANGES]))
        if len(found) > golden.SHOWN_CHANGES:
            print(f"  (and {len(found) - golden.SHOWN_CHANGES} more)")
    else:
        print(f"same as the golden output {path}")
    return found


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="nettwin replay", description=__doc__.split("\n\n")[0])
    ap.add_argument("pcap", help="the capture (\"-\": stdin): pcap or pcapng, .gz or not")
    ap.add_argument("--out", type=Path, help="where to write the stack's output (default: a temp file)")
    ap.add_argument("--dut-ip", "--ip", dest="dut_ip", metavar="IP[/LEN]",
                    help="the DUT's address (a prefix sets its subnet; default: taken from the capture)")
    ap.add_argument("--dut-mac", "--mac", dest="dut_mac", metavar="MAC",
                    help="the DUT's MAC (default: the one its frames come from)")
    ap.add_argument("--max-diffs", type=int, default=10, metavar="N",
                    help="show the first N differences field by field (default 10)")
    ap.add_argument("--golden", type=Path, metavar="FILE",
                    help="the golden output (default: CAPTURE.golden.json beside the capture)")
    ap.add_argument("--update-golden", action="store_true", help="store this run as the golden output")
    ap.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bars on stderr (default: when stderr is a terminal)")
    ap.add_argument("--dev", default=DUT_DEV, help=f"DUT device name (default {DUT_DEV})")
    ap.add_argument("--kind", default="veth", choices=["veth", "ring"],
                    help="DUT device kind (default veth, as in the recordings)")
    ap.add_argument("--ifindex", type=int, default=0, help="DUT ifindex (default: the stack's next free)")
    ap.add_argument("--neigh", action="append", default=[], metavar="IP=MAC",
                    help="a permanent neighbour entry, repeatable")
    ap.add_argument("--seed", type=int, default=1, help="the stack's random seed")
    ap.add_argument("--settle", type=float, default=1.0, metavar="SECONDS",
                    help="an answer and its partner are at most this far apart, and the stack's frames "
                         "are compared up to this long after the input's last frame (default 1)")
    args = ap.parse_args(argv)
    if args.dut_ip:
        try:
            ipaddress.IPv4Interface(args.dut_ip)
        except ValueError:
            ap.error(f"--dut-ip: bad address {args.dut_ip!r}")
    if args.max_diffs < 0:
        ap.error("--max-diffs: must be 0 or more")
    return args


def main(argv=None) -> int:
    """The replay with the cyclic garbage collector off: the passes make millions of
    short-lived objects and keep some per flow, none in a cycle, and the collector's
    passes over the flows' objects cost more than the work (twice it, on 100k flows)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return replay(argv)
    finally:
        if enabled:
            gc.enable()


def replay(argv) -> int:
    args = parse_args(argv)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    with tempfile.TemporaryDirectory(prefix="nettwin-replay-") as tmp:
        out = args.out or Path(tmp) / "out.pcap"
        try:
            pcap = input_pcap(args.pcap, args.out, Path(tmp))
            ether, converted = convert(pcap, Path(tmp), show)
            count = converted.read if converted.stopped else None
            dut = find_dut(ether, count, args, show)
            run = run_tool(ether, out, args, dut, show)
        except (InputError, DutError, RuntimeError, paths.BuildMissing) as e:
            print(f"nettwin replay: {e}", file=sys.stderr)
            return 2
        if converted.stopped:   # the break is in the original file: say where
            print(converted.stderr.rstrip(), file=sys.stderr)
            run.stopped = True
        # What the tool did (injected, skipped, refused, lost), on every run.
        print(run.stdout.rstrip())
        if run.stderr:
            print(run.stderr.rstrip(), file=sys.stderr)
        matcher = compare(ether, out, run, dut, args, show)
    text, bad = render(matcher, f"DUT {dut.ip} ({dut.mac}): {dut.why}"
                       + (f"; listening on TCP {', '.join(map(str, dut.listen_ports))}" if dut.listen_ports else ""))
    print(text)
    if args.out:
        print(f"the stack's output: {args.out}")
    totals = matcher.totals()
    doc = golden.document(args.pcap, {"ip": dut.ip, "mac": dut.mac}, totals,
                          {f.name: f.counts() for f in matcher.dut_flows()})
    try:
        found = check_golden(args, doc)
    except ValueError as e:
        print(f"nettwin replay: {e}", file=sys.stderr)
        return 2
    return verdict(run, bad, totals["matched"] + bad, found)
