"""`nettwin packetdrill SCRIPT...`: run packetdrill scripts against nettwin in
virtual time (or, with --linux, against the real kernel in a fresh network
namespace). One verdict line per script; a failure prints packetdrill's message
and, on nettwin, the skb path of the failing packet. Exit status 1 if any script
failed, 2 if none could run."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import Config, apply_option
from .parser import ScriptError, parse_file

# upstream's flags that take a value; the rest (--tcp_ts_ecr_scaled, --strict_segments, --verbose) take none
VALUE_FLAGS = ("ip_version", "local_ip", "remote_ip", "gateway_ip", "netmask_ip", "mtu", "bind_port",
               "connect_port", "tolerance_usecs", "tolerance_percent", "tcp_ts_tick_usecs", "init_scripts")
BOOL_FLAGS = ("tcp_ts_ecr_scaled", "strict_segments", "verbose")


def arg_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="nettwin packetdrill",
                                 description="run packetdrill scripts against nettwin (virtual time) or Linux")
    ap.add_argument("scripts", nargs="+", help="packetdrill scripts (.pkt)")
    ap.add_argument("--linux", action="store_true",
                    help="run against the real kernel in a fresh network namespace (root, real time)")
    ap.add_argument("--address", help="attach to a running nettwin-server instead of starting one")
    ap.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                    help="run N scripts at a time, each on its own nettwin server (not with --linux)")
    ap.add_argument("--junit", metavar="FILE.xml", help="write the verdicts as JUnit XML for CI")
    ap.add_argument("--record", action="store_true",
                    help="with --linux: write each run's record next to its script (SCRIPT.linux.json)")
    ap.add_argument("--bench", action="store_true",
                    help="print the run's wall time against the time the same scripts took on Linux "
                         "(from their SCRIPT.linux.json records) and the ratio")
    ap.add_argument("-D", "--define", action="append", default=[], metavar="NAME=VALUE",
                    help="a symbol for the scripts (as upstream's -D)")
    for name in VALUE_FLAGS:
        ap.add_argument(f"--{name}")
    for name in BOOL_FLAGS:
        ap.add_argument(f"--{name}", action="store_true")
    return ap


def base_config(args) -> Config:
    cfg = Config()
    for name in VALUE_FLAGS:
        v = getattr(args, name)
        if v is not None:
            apply_option(cfg, name, v)
    for name in BOOL_FLAGS:
        if getattr(args, name):
            apply_option(cfg, name, None)
    for d in args.define:
        apply_option(cfg, "define", d)
    return cfg


def load(path: str, args):
    """(the script, its configuration): the command line's flags, then the script's own."""
    import copy
    cfg = base_config(args)
    cfg = copy.deepcopy(cfg)
    scr = parse_file(path, cfg.defines, on_option=lambda n, v: apply_option(cfg, n, v))
    return scr, cfg


def run_one(path: str, args, target):
    """One script's Result on an open target (its wall time set)."""
    from .runner import Result, Runner
    t_wall = time.monotonic()
    try:
        scr, cfg = load(path, args)
    except (ScriptError, ValueError, OSError) as e:
        r = Result(path, False, str(e))
    else:
        try:
            r = Runner(scr, cfg, target).run()
        finally:
            target.close()
    r.wall_s = time.monotonic() - t_wall
    if getattr(args, "record", False) and args.linux:
        write_record(path, r, target)
    return r


def verdict_lines(r) -> list:
    if r.ok:
        return [f"PASS  {r.path} ({r.elapsed_script_us / 1e6:.3f} s script time, {r.wall_s:.3f} s wall)"]
    lines = [f"FAIL  {r.path}", r.message]
    if r.trace:
        lines.append("skb path of the packet (nettwin, at the time it left):")
        lines.extend("  " + line for line in r.trace)
    return lines


def run_scripts(paths, args, out=print) -> list:
    """Each script's Result, in the order given; verdicts are printed as they come (with
    -j N, N nettwin servers run scripts side by side, printed in order)."""
    jobs = max(1, getattr(args, "jobs", 1) or 1)
    if jobs > 1 and not args.linux and len(paths) > 1:
        return _run_parallel(paths, args, out, jobs)
    results = []
    target = None
    try:
        target = _open_target(args)
        for path in paths:
            r = run_one(path, args, target)
            results.append(r)
            for line in verdict_lines(r):
                out(line)
    finally:
        if target is not None:
            target.shutdown()
    return results


def _run_parallel(paths, args, out, jobs: int) -> list:
    """-j N on nettwin: N worker processes, each with a server of its own, forked (they
    inherit the imports; no gRPC channel exists before the fork) so that the scripts'
    Python work runs on every core; verdicts are printed in the scripts' order."""
    import concurrent.futures as cf
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool
    from ..client import ServerStartError
    results = []
    ctx = multiprocessing.get_context("fork")
    try:
        with cf.ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=ctx,
                                    initializer=_worker_start, initargs=(args,)) as pool:
            for r in pool.map(_worker_run, paths):
                results.append(r)
                for line in verdict_lines(r):
                    out(line)
    except BrokenProcessPool as e:
        raise ServerStartError(f"a worker stopped (its nettwin-server did not start?): {e}") from None
    return results


# One worker process's target and options (_run_parallel).
_worker_target = None
_worker_args = None


def _worker_start(args) -> None:
    global _worker_target, _worker_args
    _worker_args = args
    _worker_target = _open_target(args)   # its server stops when the worker ends (--parent-fd)


def _worker_run(path):
    return run_one(path, _worker_args, _worker_target)


def write_record(path: str, r, target) -> None:
    """SCRIPT.linux.json: the run on this machine's kernel that proves the script."""
    import json
    import platform
    from datetime import datetime, timezone
    rec = {"script": Path(path).name, "kernel": platform.release(),
           "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "verdict": "pass" if r.ok else "fail", "message": r.message,
           "congestion_control": getattr(target, "last_congestion_control", ""),
           "script_time_s": round(r.elapsed_script_us / 1e6, 6)}
    Path(path).with_suffix(".linux.json").write_text(json.dumps(rec, indent=2) + "\n")


def write_junit(file: str, results, target_name: str) -> None:
    from xml.etree import ElementTree as ET
    suite = ET.Element("testsuite", name=f"packetdrill-{target_name}", tests=str(len(results)),
                       failures=str(sum(not r.ok for r in results)))
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"packetdrill.{target_name}", name=r.path,
                             time=f"{r.wall_s:.3f}")
        if not r.ok:
            fail = ET.SubElement(case, "failure", message=r.message.splitlines()[0] if r.message else "failed")
            fail.text = "\n".join([r.message] + r.trace)
    ET.ElementTree(suite).write(file, encoding="unicode", xml_declaration=True)


def _open_target(args):
    if args.linux:
        from .target_linux import LinuxTarget
        return LinuxTarget()
    from ..client import Stack
    from .target_nettwin import NettwinTarget
    t = NettwinTarget(Stack(address=args.address))
    return t


def main(argv) -> int:
    args = arg_parser().parse_args(argv)
    try:
        base_config(args)
    except ValueError as e:
        print(f"nettwin packetdrill: {e}", file=sys.stderr)
        return 2
    missing = [p for p in args.scripts if not Path(p).is_file()]
    if missing:
        print(f"nettwin packetdrill: no such script: {' '.join(missing)}", file=sys.stderr)
        return 2
    if args.bench and args.linux:
        print("nettwin packetdrill: --bench compares a nettwin run with the Linux records; not with --linux",
              file=sys.stderr)
        return 2
    from ..client import ServerStartError, paths
    t_start = time.monotonic()
    try:
        results = run_scripts(args.scripts, args, out=lambda s: print(s, flush=True))
    except (paths.BuildMissing, ServerStartError, PermissionError) as e:
        print(f"nettwin packetdrill: {e}", file=sys.stderr)
        return 2
    if args.junit:
        write_junit(args.junit, results, "linux" if args.linux else "nettwin")
    script_s = sum(r.elapsed_script_us for r in results) / 1e6
    wall_s = sum(r.wall_s for r in results)
    if wall_s > 0 and not args.linux:
        # what the same scripts take in real time (upstream, or --linux) against what they took here
        print(f"time: {script_s:.3f} s of script time in {wall_s:.3f} s of wall time "
              f"({script_s / wall_s:.1f}x real time)")
    if args.bench:
        from .bench import report
        for line in report(args.scripts, results, time.monotonic() - t_start, max(1, args.jobs or 1)):
            print(line)
    passed = sum(r.ok for r in results)
    print(f"{len(results)} script{'' if len(results) == 1 else 's'}: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1
