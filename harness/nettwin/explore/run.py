"""An exploration run: each generated scenario is recorded on this machine's Linux
(the recorder's API, in this process, one namespace user at a time), replayed on
one nettwin server reused for the run, and classified. Layout of the run's DIR:

  recordings/NAME/   the scenario folder as recorded (an ordinary one: conform runs it)
  results/NAME.json  its verdict and causes (a run with --resume skips names done here)
  shrunk/NAME/       a finding shrunk to its smallest still-differing scenario
  findings.json      every result, and the counts per area and cause
  summary.txt        the same for people: rate of differing scenarios per area, causes
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..scenarios.model import Scenario
from . import generate as gen
from .classify import Cause, classify_result

def _record_errors() -> tuple:
    from ..recording import netns, recorder, tracefs
    from ..recording.ns_processes import ProcessError
    from ..comparison import normalize
    # ValueError: a TCP template the DUT's answers could not fill (no SYN seen).
    return (recorder.RecordError, netns.NetnsError, tracefs.TracefsError, tracefs.TraceParseError,
            ProcessError, normalize.NormalizeError, OSError, ValueError)


@dataclass
class Outcome:
    name: str
    area: str
    verdict: str                       # "same", "differs", "record-error", "replay-error"
    causes: list = field(default_factory=list)   # Cause
    detail: str = ""                   # the first lines of the diff, or the error
    description: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "area": self.area, "verdict": self.verdict,
                "causes": [c.to_json() for c in self.causes], "detail": self.detail,
                "description": self.description}

    @staticmethod
    def from_json(d: dict) -> "Outcome":
        return Outcome(d["name"], d["area"], d["verdict"], [Cause(*c) for c in d.get("causes", [])],
                       d.get("detail", ""), d.get("description", ""))


def foreign_tcp_events(events: list[dict]) -> int:
    """TCP events in a recording of a generated scenario without TCP: they come
    from another user of namespaces on this machine."""
    return sum(e["name"].startswith("tcp:") or (e["name"] == "sock:inet_sock_set_state"
                                                and str(e.get("fields", {}).get("protocol")) == "6")
               for e in events)


def differing_lines(diff: str, limit: int = 40) -> str:
    """The diff's headings and the rows marked as differing ('!'), each with the
    row before it: what a reader needs first, without hundreds of equal rows."""
    lines = diff.splitlines()
    keep = set()
    for i, line in enumerate(lines):
        if line.startswith("!") or not line.startswith(" "):
            keep.update((i - 1, i) if line.startswith("!") else (i,))
    return "\n".join(lines[i] for i in sorted(k for k in keep if k >= 0)[:limit])


class LinuxAndTwin:
    """Record a scenario on Linux into a folder, replay that folder on the twin."""

    def __init__(self, stack, cpu: int = 0, reuse_recordings: bool = False):
        self.stack = stack
        self.cpu = cpu
        self.errors = _record_errors()
        # Replay a recording already in the run directory instead of recording
        # again (after a fix in the twin: Linux's answer has not changed).
        self.reuse = reuse_recordings

    def record(self, s: Scenario, out: Path, tries: int = 3) -> Path:
        """Record s; again when the recording holds TCP events a scenario without
        TCP cannot cause (another namespace user on this machine, such as a
        packetdrill run not holding the recorder's lock, with the same addresses)."""
        from ..recording import netns, recorder
        for attempt in range(tries):
            with netns.exclusive_use():
                rec = recorder.record(s, self.cpu)
            foreign = 0 if gen.area_of(s) == "tcp" else foreign_tcp_events(rec.events)
            if not foreign:
                return recorder.write(rec, out)
        raise recorder.RecordError(f"{s.name}: {tries} recordings held TCP events from elsewhere on this machine "
                                   f"({foreign} of them)")

    def replay(self, folder: Path):
        from ..comparison.conform import run_scenario
        return run_scenario(self.stack, folder)

    def run(self, s: Scenario, out: Path) -> Outcome:
        area = gen.area_of(s)
        try:
            folder = out / s.name
            if not (self.reuse and (folder / "meta.json").is_file()):
                folder = self.record(s, out)
        except self.errors as e:
            return Outcome(s.name, area, "record-error", detail=str(e)[:500], description=s.description)
        r = self.replay(folder)
        if r.error:
            return Outcome(s.name, area, "replay-error", classify_result(r), r.error[:500], s.description)
        if r.ok:
            return Outcome(s.name, area, "same", description=s.description)
        return Outcome(s.name, area, "differs", classify_result(r), differing_lines(r.diff_text()), s.description)

    def oracle(self, work: Path) -> Callable[[Scenario], list]:
        """For shrinking: a candidate's causes, recorded afresh into work/."""
        def causes(s: Scenario) -> list:
            o = self.run(s, work)
            return o.causes if o.verdict in ("differs", "replay-error") else []
        return causes


def summarize(outcomes: list[Outcome]) -> dict:
    areas: dict = defaultdict(Counter)
    causes: dict = defaultdict(lambda: {"count": 0, "areas": Counter(), "examples": []})
    for o in outcomes:
        areas[o.area]["total"] += 1
        areas[o.area][o.verdict] += 1
        for c in o.causes:
            entry = causes[str(c)]
            entry["count"] += 1
            entry["areas"][o.area] += 1
            if len(entry["examples"]) < 5:
                entry["examples"].append(o.name)
    return {"areas": {a: dict(v) for a, v in sorted(areas.items())},
            "causes": {k: {"count": v["count"], "areas": dict(v["areas"]), "examples": v["examples"]}
                       for k, v in sorted(causes.items(), key=lambda kv: -kv[1]["count"])}}


def summary_text(outcomes: list[Outcome], seed: Optional[int] = None) -> str:
    s = summarize(outcomes)
    lines = [f"nettwin explore: {len(outcomes)} scenarios" + (f" (seed {seed})" if seed is not None else "")]
    lines.append(f"{'area':<6} {'total':>6} {'differ':>7} {'rate':>6} {'rec-err':>8} {'replay-err':>11}")
    for area, c in s["areas"].items():
        total = c.get("total", 0)
        diff = c.get("differs", 0) + c.get("replay-error", 0)
        done = total - c.get("record-error", 0)
        rate = f"{100 * diff / done:.0f}%" if done else "-"
        lines.append(f"{area:<6} {total:>6} {diff:>7} {rate:>6} {c.get('record-error', 0):>8} "
                     f"{c.get('replay-error', 0):>11}")
    if s["causes"]:
        lines.append("")
        lines.append("causes (scenarios showing each; examples):")
        for k, v in s["causes"].items():
            lines.append(f"  {v['count']:>4}  {k}   [{', '.join(v['examples'][:3])}]")
    return "\n".join(lines) + "\n"


def write_report(out: Path, outcomes: list[Outcome], seed: Optional[int] = None) -> None:
    (out / "findings.json").write_text(json.dumps(
        {"seed": seed, "summary": summarize(outcomes), "results": [o.to_json() for o in outcomes]},
        indent=1) + "\n")
    (out / "summary.txt").write_text(summary_text(outcomes, seed))


def load_done(out: Path) -> dict[str, Outcome]:
    done = {}
    for p in sorted((out / "results").glob("*.json")):
        try:
            o = Outcome.from_json(json.loads(p.read_text()))
        except (ValueError, KeyError):
            continue
        done[o.name] = o
    return done


def explore(scenarios: list[Scenario], out: Path, runner, resume: bool = False,
            progress: Callable[[str], None] = print, seed: Optional[int] = None) -> list[Outcome]:
    """Run every scenario (skipping, with resume, those DIR/results already has)."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    done = load_done(out) if resume else {}
    outcomes = []
    differing = 0
    t0 = time.monotonic()
    for i, s in enumerate(scenarios, 1):
        if s.name in done:
            o = done[s.name]
            tag = "done"
        else:
            o = runner.run(s, out / "recordings")
            (out / "results" / f"{s.name}.json").write_text(json.dumps(o.to_json(), indent=1) + "\n")
            tag = o.verdict
        outcomes.append(o)
        differing += o.verdict in ("differs", "replay-error")
        first = str(o.causes[0]) if o.causes else (o.detail.splitlines()[0][:100] if o.detail else "")
        progress(f"[{i}/{len(scenarios)} {time.monotonic() - t0:5.0f}s, {differing} differ] "
                 f"{tag:<12} {s.name}  {first}")
        if i % 10 == 0 or i == len(scenarios):
            write_report(out, outcomes, seed)
    write_report(out, outcomes, seed)
    return outcomes


def shrink_findings(outcomes: list[Outcome], scenarios: dict[str, Scenario], out: Path, runner,
                    limit: int, progress: Callable[[str], None] = print, max_tests: int = 60) -> list[Path]:
    """Shrink up to limit findings (one per distinct first cause, most common first),
    each saved as DIR/shrunk/NAME (skipped when already there)."""
    from .shrink import shrink
    seen: set = set()
    chosen = []
    for o in outcomes:
        if o.verdict != "differs" or not o.causes or o.name not in scenarios:
            continue
        key = str(o.causes[0])
        if key in seen:
            continue
        seen.add(key)
        chosen.append(o)
    saved = []
    for o in chosen[:limit]:
        target_dir = out / "shrunk" / o.name
        if target_dir.exists():
            saved.append(target_dir)
            continue
        work = out / "shrink-work" / o.name
        progress(f"shrinking {o.name} ({len(scenarios[o.name].steps)} steps; keeping {o.causes[0]})")
        small, tests = shrink(scenarios[o.name], runner.oracle(work), target={o.causes[0]},
                              log=progress, max_tests=max_tests)
        # The smallest candidate, recorded once more as an ordinary scenario folder.
        final = runner.run(small, out / "shrunk")
        progress(f"  {o.name}: {len(scenarios[o.name].steps)} -> {len(small.steps)} steps in {tests} tests; "
                 f"now {final.verdict}: {', '.join(map(str, final.causes[:3]))}")
        shutil.rmtree(work, ignore_errors=True)
        (out / "shrunk" / f"{o.name}.json").write_text(json.dumps(final.to_json(), indent=1) + "\n")
        saved.append(target_dir)
    return saved


def main(argv) -> int:
    import argparse
    import os
    ap = argparse.ArgumentParser(prog="nettwin explore",
                                 description="Generate scenarios from a seed, record each on this machine's "
                                             "Linux, replay it on nettwin and report the differences by cause.")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--start", type=int, default=0, help="index of the first scenario (default 0)")
    ap.add_argument("--only", choices=gen.AREAS, help="one area of the grammar")
    ap.add_argument("--out", type=Path, default=None, help="run directory (default explore-SEED)")
    ap.add_argument("--resume", action="store_true", help="skip the scenarios DIR/results already has")
    ap.add_argument("--rereplay", action="store_true",
                    help="replay the recordings DIR already has again (after a fix), recording only missing ones")
    ap.add_argument("--shrink", type=int, default=0, metavar="K",
                    help="shrink up to K findings (one per distinct cause) into DIR/shrunk")
    ap.add_argument("--shrink-tests", type=int, default=60, help="recordings per shrink at most")
    ap.add_argument("--list", action="store_true", help="print the generated scenarios and exit")
    ap.add_argument("--cpu", type=int, default=0)
    args = ap.parse_args(argv)
    scenarios = gen.generate(args.seed, args.count, args.only, args.start)
    if args.list:
        for s in scenarios:
            print(f"{s.name}  {s.description}")
        return 0
    if os.geteuid() != 0:
        print("nettwin explore: needs root (recording on Linux uses namespaces and tracefs)", file=sys.stderr)
        return 2
    out = args.out or Path(f"explore-{args.seed}")
    out.mkdir(parents=True, exist_ok=True)
    from ..client import Stack
    with Stack() as stack:
        runner = LinuxAndTwin(stack, args.cpu, reuse_recordings=args.rereplay)
        outcomes = explore(scenarios, out, runner, args.resume and not args.rereplay,
                           lambda m: print(m, flush=True), args.seed)
        runner.reuse = False     # a shrink records every candidate afresh
        if args.shrink:
            shrink_findings(outcomes, {s.name: s for s in scenarios}, out, runner, args.shrink,
                            lambda m: print(m, flush=True), args.shrink_tests)
    print(summary_text(outcomes, args.seed), end="")
    print(f"report: {out / 'findings.json'}, {out / 'summary.txt'}")
    return 1 if any(o.verdict != "same" for o in outcomes) else 0
