"""`nettwin packetdrill --bench SCRIPT...`: how much faster the scripts run on nettwin
than on Linux. The nettwin figure is the wall time of the whole run (server start
included); the Linux figure is the real time the same scripts took on this kernel, as
their SCRIPT.linux.json records say (script_time_s, written by --linux --record: the
time from the first event to the last, namespace setup left out, so the ratio is the
conservative one). A figure, never a test assertion."""
from __future__ import annotations

import json
from pathlib import Path


def recorded_linux_seconds(paths) -> tuple[float, list]:
    """(the sum of the recorded Linux script times, the scripts without a passing record)."""
    total, missing = 0.0, []
    for p in paths:
        rec = Path(p).with_suffix(".linux.json")
        try:
            data = json.loads(rec.read_text())
            if data.get("verdict") != "pass":
                raise ValueError("not a pass")
            total += float(data["script_time_s"])
        except (OSError, ValueError, KeyError, TypeError):
            missing.append(str(p))
    return total, missing


def report(paths, results, wall_s: float, jobs: int) -> list:
    """The benchmark's lines: nettwin's wall time, Linux's recorded real time, the ratio."""
    linux_s, missing = recorded_linux_seconds(paths)
    failed = sum(not r.ok for r in results)
    lines = [f"bench: {len(paths)} scripts on nettwin in {wall_s:.2f} s wall (-j {jobs}, server start included)"
             + (f"; {failed} failed" if failed else "")]
    if missing:
        lines.append(f"bench: {len(missing)} scripts have no passing Linux record (left out of the Linux figure): "
                     + " ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
    if wall_s > 0 and linux_s > 0:
        lines.append(f"bench: the same scripts took {linux_s:.2f} s on Linux (real time, from their .linux.json "
                     f"records): nettwin is {linux_s / wall_s:.1f}x faster")
    return lines
