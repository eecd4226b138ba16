"""The golden output of a capture: what a replay of it gave once it was accepted
(`--update-golden`), stored beside it as CAPTURE.golden.json, and compared on
every later run: the DUT, and per flow the counts (the capture's and the
stack's frames, their own requests, matched, differing, missing, extra) and a
digest of the stack's frames. A run that gives anything else fails, naming
what changed; a run that gives the same passes, whatever differences from the
capture the golden output holds (they were accepted)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

VERSION = 1
SHOWN_CHANGES = 20


def path_for(capture: str, given: Optional[Path]) -> Optional[Path]:
    """--golden, else CAPTURE.golden.json beside a capture file (none for stdin)."""
    if given:
        return given
    if capture == "-":
        return None
    return Path(capture + ".golden.json")


def document(capture: str, dut: dict, totals: dict, flows: dict) -> dict:
    return {"version": VERSION, "capture": Path(capture).name, "dut": dut, "totals": totals,
            "flows": flows}


def write(path: Path, doc: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def load(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a golden output: {e}")
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise ValueError(f"{path}: not a golden output of version {VERSION}")
    return doc


def changes(golden: dict, now: dict) -> list[str]:
    """What differs between the golden output and this run, one line each."""
    out = []
    if golden.get("dut") != now["dut"]:
        out.append(f"DUT: golden {golden.get('dut')}, now {now['dut']}")
    old, new = golden.get("flows", {}), now["flows"]
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if a is None:
            out.append(f"{name}: a new flow {b}")
        elif b is None:
            out.append(f"{name}: gone (golden {a})")
        else:
            fields = ", ".join(f"{k} {a.get(k)} -> {b.get(k)}" for k in sorted(set(a) | set(b))
                               if a.get(k) != b.get(k))
            out.append(f"{name}: {fields}")
    return out
