"""Shrinking a finding: delta debugging (Zeller's ddmin) over the scenario's steps,
then dropping its sysctls one by one, then for each TCP segment the tester sends
its options one by one and its payload's tail, then trimming trailing bytes of each
sent frame. The oracle is a function scenario -> causes (empty: no difference);
a candidate is kept when it still shows one of the original causes, so the search
does not slide onto another difference. The explore run's oracle records on
Linux and replays on nettwin; tests use a synthetic one."""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Optional, Sequence

from ..scenarios.model import Scenario, Send
from ..scenarios.tcp_template import TcpSend
from .generate import fold_waits

Oracle = Callable[[Scenario], Iterable]


def valid(steps: Sequence) -> bool:
    """A scenario the recorder takes: it opens with a frame (the time origin)."""
    return bool(steps) and isinstance(steps[0], Send)


def with_steps(s: Scenario, steps: Sequence) -> Scenario:
    """s with these steps; Waits after the last frame fold into settle_ms, as the
    generator does (the recording ends settle_ms after the last frame)."""
    steps = tuple(steps)
    if not valid(steps):
        return dataclasses.replace(s, steps=steps)
    steps, settle = fold_waits(steps, s.settle_ms)
    return dataclasses.replace(s, steps=steps, settle_ms=settle)


def ddmin(items: list, keeps: Callable[[list], bool]) -> list:
    """The smallest (1-minimal) sublist of items for which keeps() holds, keeping
    order; keeps(items) must hold."""
    n = 2
    while len(items) >= 2:
        size = len(items) // n
        chunks = [items[i * size:(i + 1) * size] if i < n - 1 else items[i * size:] for i in range(n)]
        reduced = False
        for i, chunk in enumerate(chunks):
            if keeps(chunk):
                items, n, reduced = chunk, 2, True
                break
        if not reduced:
            for i in range(n):
                rest = [x for j, c in enumerate(chunks) if j != i for x in c]
                if keeps(rest):
                    items, n, reduced = rest, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), n * 2)
    return items


class Shrinker:
    def __init__(self, oracle: Oracle, target: Iterable, log: Callable[[str], None] = lambda s: None,
                 max_tests: int = 200):
        self.oracle = oracle
        self.target = set(target)
        self.log = log
        self.tests = 0
        self.max_tests = max_tests
        self._cache: dict = {}

    def still_differs(self, s: Scenario) -> bool:
        key = (s.steps, s.sysctls)
        if key in self._cache:
            return self._cache[key]
        if not valid(s.steps) or self.tests >= self.max_tests:
            return False
        self.tests += 1
        causes = set(self.oracle(s))
        hit = bool(causes & self.target)
        self.log(f"  test {self.tests}: {len(s.steps)} steps, {len(s.sysctls)} sysctls -> "
                 f"{'still differs' if hit else 'gone'}")
        self._cache[key] = hit
        return hit

    def shrink(self, s: Scenario) -> Scenario:
        best = s
        steps = ddmin(list(best.steps), lambda st: self.still_differs(with_steps(s, st)))
        best = with_steps(s, steps)
        for sysctl in list(best.sysctls):
            cand = dataclasses.replace(best, sysctls=tuple(x for x in best.sysctls if x != sysctl))
            if self.still_differs(cand):
                best = cand
        best = self._trim_segments(best)
        best = self._trim_frames(best)
        return best

    def _replace_step(self, best: Scenario, i: int, step) -> Scenario:
        steps = list(best.steps)
        steps[i] = step
        return dataclasses.replace(best, steps=tuple(steps))

    def _trim_segments(self, best: Scenario) -> Scenario:
        """Each TCP segment of the tester: its options dropped one at a time, then its
        payload cut back (halving the tail) while the difference stays."""
        for i in range(len(best.steps)):
            step = best.steps[i]
            if not isinstance(step, TcpSend):
                continue
            k = 0
            while k < len(step.options):
                fewer = dataclasses.replace(step, options=step.options[:k] + step.options[k + 1:])
                cand = self._replace_step(best, i, fewer)
                if self.still_differs(cand):
                    best, step = cand, fewer
                else:
                    k += 1
            n = len(step.payload) // 2              # bytes (the payload is hex)
            cut = (n + 1) // 2
            while cut >= 1:
                shorter = dataclasses.replace(step, payload=step.payload[:2 * (n - cut)])
                cand = self._replace_step(best, i, shorter)
                if self.still_differs(cand):
                    best, step, n = cand, shorter, n - cut
                    cut = min(cut, n)
                else:
                    cut //= 2
        return best

    def _trim_frames(self, best: Scenario) -> Scenario:
        """Each sent frame cut back to fewer bytes while the difference stays
        (halving the tail, never below its Ethernet header)."""
        for i, step in enumerate(best.steps):
            if not isinstance(step, Send):
                continue
            frame = step.frame
            cut = (len(frame) - 14) // 2
            while cut >= 1:
                shorter = frame[:len(frame) - cut]
                steps = list(best.steps)
                steps[i] = dataclasses.replace(step, frame=shorter, summary=step.summary + f" (cut to {len(shorter)} B)")
                cand = dataclasses.replace(best, steps=tuple(steps))
                if self.still_differs(cand):
                    best, frame = cand, shorter
                    step = cand.steps[i]
                else:
                    cut //= 2
        return best


def shrink(s: Scenario, oracle: Oracle, target: Optional[Iterable] = None, log=lambda m: None,
           max_tests: int = 200, trim_bytes: bool = True) -> tuple[Scenario, int]:
    """(the smallest scenario found, how many oracle calls it took). target: the
    causes to keep (default: all the original's)."""
    target = set(target) if target is not None else set(oracle(s))
    if not target:
        raise ValueError(f"{s.name}: nothing to shrink, the oracle finds no difference")
    sh = Shrinker(oracle, target, log, max_tests)
    sh._cache[(s.steps, s.sysctls)] = True
    if not trim_bytes:
        sh._trim_frames = lambda best: best
    return sh.shrink(s), sh.tests
