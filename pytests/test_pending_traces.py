"""Honest staging: recordings in traces/pending/ (behaviour nettwin cannot match
yet) are replayed like the conformance suite's and must still FAIL. When one
starts to pass it belongs in traces/, where the conformance suite holds it: this
test then fails and says so. An empty (or absent) traces/pending/ means nothing is
staged: every recording is in the suite."""
from __future__ import annotations

from conftest import REPO
from nettwin.comparison import conform
from nettwin.scenarios import folder as scenario_folder

PENDING = REPO / "traces" / "pending"


def test_every_pending_scenario_still_fails(stack):
    folders = scenario_folder.discover([PENDING]) if PENDING.is_dir() else []
    passing = [f.name for f in folders if conform.run_scenario(stack, f).ok]
    assert not passing, f"promote to traces/: {', '.join(passing)}"
