"""Honest staging: the recordings in traces/pending/ (TCP, which nettwin cannot pass
yet) are replayed like the conformance suite's and must still FAIL. When one
starts to pass it belongs in traces/, where the conformance suite holds it: this
test then fails and says so (strict xfail, one case per scenario)."""
from __future__ import annotations

import pytest

from conftest import REPO
from nettwin.comparison import conform
from nettwin.scenarios import folder as scenario_folder

PENDING = REPO / "traces" / "pending"
FOLDERS = scenario_folder.discover([PENDING]) if PENDING.is_dir() else []


def test_pending_holds_scenarios():
    assert FOLDERS, "traces/pending/ holds no recorded scenario"


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_pending_scenario_still_fails(stack, folder):
    result = conform.run_scenario(stack, folder)
    assert not result.ok, f"promote traces/pending/{folder.name} to traces/"
