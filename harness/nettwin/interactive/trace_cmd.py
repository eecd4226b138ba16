"""The `nettwin trace` command: pwru's view of a running server's stack (live, until
Ctrl-C or --duration) or of a pcap replayed into a fresh one."""
from __future__ import annotations

import argparse
import sys
import time

from scapy.utils import PcapReader, Scapy_Exception

from ..client import ServerStartError, Stack, StackError, paths
from .pwru import FilterError, PcapFilter, Tracer

DUT_DEV, DUT_MAC, DUT_CIDR = "ntdut0", "02:00:00:00:01:02", "198.51.100.2/24"


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="nettwin trace", description=__doc__.split("\n\n")[0])
    ap.add_argument("expression", nargs="*", help="a pcap-filter expression (as tcpdump and pwru take it)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--address", help="a running nettwin-server (host:port or unix:PATH): trace it live")
    src.add_argument("--pcap", help="replay this capture into a fresh stack and trace it")
    ap.add_argument("--dev", default=DUT_DEV, help=f"with --pcap: the device the frames enter (default {DUT_DEV})")
    ap.add_argument("--mac", default=DUT_MAC, help=f"with --pcap: its MAC (default {DUT_MAC})")
    ap.add_argument("--ip", default=DUT_CIDR, help=f"with --pcap: its address (default {DUT_CIDR})")
    ap.add_argument("--neigh", action="append", default=[], metavar="IP=MAC",
                    help="with --pcap: a permanent neighbour entry, repeatable")
    ap.add_argument("--duration", type=float, default=0, metavar="SECONDS",
                    help="with --address: stop after this long (default: until Ctrl-C)")
    ap.add_argument("--filter-func", metavar="REGEX", help="only functions (checkpoints, tracepoints) matching it")
    ap.add_argument("--drop-reason", metavar="REASON",
                    help="only skbs that end dropped with this reason (kfree_skb's, e.g. TCP_CSUM)")
    ap.add_argument("--output-json", action="store_true", help="one JSON object per line")
    ap.add_argument("--output-skb", action="store_true", help="the skb's fields at each checkpoint")
    return ap


def _replay(stack: Stack, args, tracer: Tracer) -> None:
    stack.create_device(args.dev, kind="veth", mac=args.mac)
    stack.add_address(args.dev, args.ip)
    for spec in args.neigh:
        ip, sep, mac = spec.partition("=")
        if not sep:
            raise ValueError(f"--neigh {spec!r}: expected IP=MAC")
        stack.add_neighbour(args.dev, ip, mac)
    sub = stack.subscribe(checkpoints=True, skb_data=True)
    t0 = None
    try:
        with PcapReader(args.pcap) as reader:
            for pkt in reader:
                t = int(float(pkt.time) * 1e9)
                t0 = t if t0 is None else t0
                stack.run_until(max(t - t0, 0))
                stack.inject(args.dev, bytes(pkt))
                tracer.feed(sub.read())
    except BrokenPipeError:
        raise
    except (OSError, Scapy_Exception) as e:
        raise ValueError(f"{args.pcap}: {e}") from None
    stack.run_until_idle()
    tracer.feed(sub.read())
    sub.close()


def _live(stack: Stack, args, tracer: Tracer) -> None:
    deadline = time.monotonic() + args.duration if args.duration else None
    with stack.stream(checkpoints=True, skb_data=True) as events:
        tracer.header()   # the stream is live from here: the titles say so
        while deadline is None or time.monotonic() < deadline:
            ev = events.get(timeout=0.2)
            if ev is not None:
                tracer.event(ev)


def main(argv) -> int:
    args = _parser().parse_args(argv)
    try:
        pcap_filter = PcapFilter(" ".join(args.expression)) if args.expression else None
    except FilterError as e:
        print(f"nettwin trace: {e}", file=sys.stderr)
        return 2
    tracer = Tracer(lambda s: print(s, flush=True), pcap_filter, func=args.filter_func,
                    drop_reason=args.drop_reason, output_json=args.output_json, output_skb=args.output_skb)
    try:
        with Stack(address=args.address) as stack:
            (_live if args.address else _replay)(stack, args, tracer)
    except KeyboardInterrupt:
        return 0
    except (ValueError, StackError, ServerStartError, paths.BuildMissing) as e:
        print(f"nettwin trace: {e}", file=sys.stderr)
        return 2
    return 0
