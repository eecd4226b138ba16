#!/usr/bin/python3
"""Write tracepoint-formats.txt from this kernel's tracefs (run as root on the recording machine):
every event of the groups the stack traces, in the layout of
../shared/reference/linux-6.18/tracepoint-formats.txt ("=== group/event (ID: n)", the field lines,
the print fmt)."""
import sys
from pathlib import Path

GROUPS = ("net", "napi", "skb", "qdisc", "neigh", "fib", "icmp", "udp", "tcp", "sock")
EVENTS = Path("/sys/kernel/tracing/events")


def main() -> int:
    out = []
    for group in GROUPS:
        for event in sorted(p for p in (EVENTS / group).iterdir() if (p / "format").is_file()):
            lines = (event / "format").read_text().splitlines()
            ident = (event / "id").read_text().strip()
            body = [l for l in lines if l.startswith("\tfield:") or l.startswith("print fmt:")]
            out.append(f"=== {group}/{event.name} (ID: {ident})\n" + "\n".join(body) + "\n")
    Path(__file__).with_name("tracepoint-formats.txt").write_text("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
