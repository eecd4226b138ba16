"""Mutation fuzzing of the scenario loader (harness/nettwin/scenarios/folder.py).

The loader is Python, so there is no libFuzzer target for it, and Debian has no
python3-atheris: this is a deterministic mutation fuzzer instead. Real scenario
folders from traces/ are copied and one of their files is mutated with a seeded
random generator - JSON values swapped for values of the wrong type, keys
deleted, bytes flipped, inserted or cut off, pcaps truncated or corrupted. Every
mutant must load or fail with a ScenarioError whose message names the file that
is wrong (and, for JSON that does not parse, the offset); any other exception is
a loader bug. The seeds make every failure reproducible: the test id is the seed.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest

from nettwin.scenarios import folder as scenario_folder

TRACES = Path(__file__).resolve().parents[1] / "traces"
SCENARIOS = ["frag_overlap", "udp_recv_fragmented", "forward_fragmented", "arp_then_echo"]
JSON_FILES = ["meta.json", "scenario.json", "events.json"]
PCAP_FILES = ["sent.pcap", "received.pcap"]
ODD_VALUES = [None, True, 0, -1, 2**70, 1.5, "", "x", [], [1, "a"], {}, {"k": None}]
MUTANTS = 400


def _nodes(value, path=()):
    """Every (path, value) in a JSON document."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nodes(v, path + (i,))


def _mutate_json(rng: random.Random, doc):
    """Replace or delete one node; returns the new document."""
    path, _ = rng.choice(list(_nodes(doc)))
    if not path:
        return rng.choice(ODD_VALUES)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if rng.random() < 0.3:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(ODD_VALUES)
    return doc


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0 and data:  # cut short
        del data[rng.randrange(len(data)):]
    elif kind == 1:  # flip bytes
        for _ in range(rng.randint(1, 8)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 2:  # insert junk
        at = rng.randrange(len(data) + 1)
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    else:  # lengths and counts at their extremes
        for _ in range(rng.randint(1, 4)):
            if len(data) >= 4:
                at = rng.randrange(len(data) - 3)
                data[at:at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"])
    return bytes(data)


def make_mutant(seed: int, work: Path) -> tuple[Path, str]:
    """A mutated copy of a scenario folder; returns it and the mutated file's name."""
    rng = random.Random(seed)
    src = TRACES / rng.choice(SCENARIOS)
    folder = work / f"{src.name}-{seed}"
    shutil.copytree(src, folder)
    name = rng.choice(JSON_FILES + PCAP_FILES)
    target = folder / name
    if name.endswith(".json") and rng.random() < 0.6:
        target.write_text(json.dumps(_mutate_json(rng, json.loads(target.read_text()))))
    else:
        target.write_bytes(_mutate_bytes(rng, target.read_bytes()))
    return folder, name


@pytest.mark.parametrize("block", range(8))
def test_mutated_scenarios_load_or_fail_with_a_scenario_error(tmp_path, block):
    per_block = MUTANTS // 8
    failures = []
    errors = 0
    for seed in range(block * per_block, (block + 1) * per_block):
        folder, name = make_mutant(seed, tmp_path)
        try:
            scenario_folder.load(folder)
        except scenario_folder.ScenarioError as e:
            errors += 1
            message = str(e)
            if f"{folder}/{name}" not in message:
                failures.append(f"seed {seed} ({name}): error does not name the file: {message}")
            elif "Expecting" in message and not re.search(r"\(char \d+\)", message):
                failures.append(f"seed {seed} ({name}): JSON error without an offset: {message}")
        except Exception as e:  # noqa: BLE001 - any other exception is the bug this test looks for
            failures.append(f"seed {seed} ({name}): {type(e).__name__}: {e}")
        shutil.rmtree(folder)
    assert not failures, "\n".join(failures)
    assert errors > 0  # the mutations do reach the loader's checks
