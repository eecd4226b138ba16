"""Conformance over several servers at once (`nettwin conform -j N`): N worker
processes, each with its own nettwin-server, take scenario folders in turn; the
verdicts come back as Verdicts (what a report needs, no Scapy objects) and are
printed in the folders' order, so the output is the same as a serial run's."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..client import Stack
from .conform import ConformResult, _indent, run_scenario, summary_line, time_line
from .diff_view import DiffView


@dataclass
class Verdict:
    """A ConformResult reduced to its text: what the console and the reports show."""
    folder: Path
    name: str
    ok: bool
    verdict_line: str
    diff: str
    error: Optional[str]
    description: str
    seconds: float
    recorded_s: float
    rows: Optional[DiffView] = None   # a failing scenario's diff as rows (the HTML report's tables)

    @classmethod
    def of(cls, r: ConformResult) -> "Verdict":
        return cls(r.folder, r.name, r.ok, r.line(), "" if r.ok else r.diff_text(), r.error, r.description,
                   r.seconds, r.recorded_s, None if r.ok else r.view())

    def line(self) -> str:
        return self.verdict_line

    def diff_text(self) -> str:
        return self.diff

    def view(self) -> Optional[DiffView]:
        return self.rows


_stack: Optional[Stack] = None
_trace_differing = False


def _worker_start(trace_differing: bool) -> None:
    global _stack, _trace_differing
    _stack = Stack()
    _trace_differing = trace_differing


def _worker_run(folder: Path) -> Verdict:
    return Verdict.of(run_scenario(_stack, folder, trace_differing=_trace_differing))


def run_all_parallel(folders: Sequence[Path], jobs: int, out: Callable[[str], None] = print,
                     show_diff: bool = True, trace_differing: bool = False) -> list[Verdict]:
    """run_all's output, from `jobs` servers; each verdict is printed once all before it are."""
    ctx = multiprocessing.get_context("spawn")   # a fresh interpreter: no gRPC state shared across fork
    results: list[Verdict] = []
    t0 = time.monotonic()   # the workers start their servers in the pool: that counts here
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_start,
                                initargs=(trace_differing,)) as pool:
        for v in pool.map(_worker_run, folders):
            results.append(v)
            out(v.line())
            if not v.ok and show_diff:
                out(_indent(v.diff_text()))
    print(time_line(results, time.monotonic() - t0), file=sys.stderr, flush=True)
    out(summary_line(len(results), sum(v.ok for v in results)))
    return results
