"""The `nettwin` command line: conform, replay, record, shell, live, ss, packetdrill, explore."""
from __future__ import annotations

import argparse
import os
import sys

USAGE = """nettwin <command> [args]   (nettwin --version: the version)

commands:
  conform [TRACES_DIR | SCENARIO_DIR ...] [-j N] [--junit F.xml] [--html F.html]
                                             replay recorded Linux scenarios, one verdict line each
  replay FILE.pcap|- [--out OUT.pcap] [--dev D --mac M --ip CIDR]   replay a pcap, diff the responses
  record ...                                 record scenarios on the real kernel (see: record --help)
  shell [--kind ring|veth] [--address A]     interactive Scapy session with a connected stack
  live [--listen tcp:PORT] [-- COMMAND]      the twin behind a TAP in a namespace, on the real clock:
                                             Linux's ping, nc, curl there talk to it
  trace [EXPR] --address A | --pcap F        pwru for the stack: the skbs a pcap filter selects, function by function
  ss --address A [-t -u -w -0] [-i] [-o]     the DUT's sockets in ss's layout
  packetdrill SCRIPT.pkt ... [--linux]       run packetdrill scripts (nettwin, virtual time; or Linux)
  explore --seed N --count M [--only AREA] [--out DIR] [--resume] [--shrink K]
                                             generated scenarios on Linux and nettwin, differences by cause
"""


def conform_main(argv) -> int:
    from .client import paths
    from .scenarios.folder import ScenarioError, discover

    ap = argparse.ArgumentParser(prog="nettwin conform")
    ap.add_argument("paths", nargs="*", help="traces directories or scenario folders (default: <repo>/traces)")
    ap.add_argument("--address", help="attach to a running nettwin-server instead of starting one")
    ap.add_argument("--no-diff", action="store_true", help="verdict lines only")
    ap.add_argument("--junit", metavar="FILE", help="also write the verdicts as JUnit XML")
    ap.add_argument("--html", metavar="FILE",
                    help="also write a self-contained HTML report (diff tables, skb paths of differing frames)")
    ap.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                    help="N servers replay scenarios side by side (verdicts still in order)")
    args = ap.parse_args(argv)
    if args.jobs < 1 or (args.jobs > 1 and args.address):
        print("nettwin conform: --jobs takes a number from 1, and starts its own servers (no --address)",
              file=sys.stderr)
        return 2
    try:
        folders = discover(args.paths or [paths.TRACES])
    except ScenarioError as e:
        print(f"nettwin conform: {e}", file=sys.stderr)
        return 2
    if not folders:
        print(f"nettwin conform: no scenario folders in {' '.join(map(str, args.paths or [paths.TRACES]))}",
              file=sys.stderr)
        return 2
    from .client import ServerStartError, Stack
    from .comparison.conform import run_all
    from .comparison.conform_parallel import run_all_parallel
    out = lambda s: print(s, flush=True)  # noqa: E731
    try:
        if args.jobs > 1:
            results = run_all_parallel(folders, args.jobs, out=out, show_diff=not args.no_diff,
                                       trace_differing=bool(args.html))
        else:
            with Stack(address=args.address) as stack:
                results = run_all(folders, stack, out=out, show_diff=not args.no_diff,
                                  trace_differing=bool(args.html))
    except (paths.BuildMissing, ServerStartError) as e:
        print(f"nettwin conform: {e}", file=sys.stderr)
        return 2
    from .comparison.report import write_reports
    try:
        write_reports(results, junit=args.junit, html_path=args.html)
    except OSError as e:
        print(f"nettwin conform: cannot write the report: {e}", file=sys.stderr)
        return 2
    return 0 if all(r.ok for r in results) else 1


def record_main(argv) -> int:
    from .recording import recorder
    return recorder.main(argv)


def _needs_server(command: str, main, argv) -> int:
    """Runs a command that starts a server: a missing build or a server that did not
    come up is one line on stderr and status 2, not a traceback."""
    from .client import ServerStartError, paths
    try:
        return main(argv)
    except (paths.BuildMissing, ServerStartError) as e:
        print(f"nettwin {command}: {e}", file=sys.stderr)
        return 2


def shell_main(argv) -> int:
    from .interactive.shell import main
    return _needs_server("shell", main, argv)


def live_main(argv) -> int:
    from .interactive.live import main
    return main(argv)


def ss_main(argv) -> int:
    from .client import paths
    from .client import ServerStartError, Stack, StackError
    from .client.ss import format_ss, list_sockets

    ap = argparse.ArgumentParser(prog="nettwin ss", description="the DUT's sockets, as ss -tuwn0 -io shows them")
    ap.add_argument("--address", required=True, help="the nettwin-server whose sockets to list (host:port)")
    for flag, netid in (("-t", "tcp"), ("-u", "udp"), ("-w", "raw"), ("-0", "packet")):
        ap.add_argument(flag, dest="netids", action="append_const", const=netid, help=f"{netid} sockets")
    ap.add_argument("-i", "--info", action="store_true", help="TCP internal information (TCP_INFO)")
    ap.add_argument("-o", "--options", action="store_true", help="timers")
    args = ap.parse_args(argv)
    try:
        with Stack(address=args.address) as stack:
            rows = list_sockets(stack, args.netids or ())
    except (paths.BuildMissing, ServerStartError, StackError) as e:
        print(f"nettwin ss: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(format_ss(rows, info=args.info, timers=args.options))
    return 0


def trace_main(argv) -> int:
    from .interactive.trace_cmd import main
    return main(argv)


def replay_main(argv) -> int:
    from .replay.replay import main
    return main(argv)


def packetdrill_main(argv) -> int:
    from .packetdrill.main import main
    return main(argv)


def explore_main(argv) -> int:
    from .explore.run import main
    return _needs_server("explore", main, argv)


COMMANDS = {"conform": conform_main, "replay": replay_main, "record": record_main, "shell": shell_main,
            "live": live_main, "trace": trace_main, "ss": ss_main, "packetdrill": packetdrill_main,
            "explore": explore_main}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("-V", "--version"):
        from . import __version__
        print(f"nettwin {__version__}")
        return 0
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    cmd = COMMANDS.get(argv[0])
    if cmd is None:
        print(f"nettwin: unknown command {argv[0]!r}\n\n{USAGE}", end="", file=sys.stderr)
        return 2
    try:
        return cmd(argv[1:])
    except BrokenPipeError:
        # The reader left (`nettwin conform | head`): stop quietly, as a Unix filter does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
