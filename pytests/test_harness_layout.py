"""The Python harness's layout: its modules live in rooms after their uses, and
imports go one way. Read with ast, never imported, so an import inside a function
counts as much as one at the top.

Rooms, lowest first; a room may import its own modules and the rooms below it:
  client  <-  scenarios  <-  recording, comparison  <-  replay, interactive, packetdrill  <-  top
(top: the package's __init__, __main__, cli, pytest_plugin and scapy, attach's public face,
which may import every room).
packetdrill and explore are leaves: each may import client, scenarios, recording and
comparison, and only the top (cli) imports them."""
from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness" / "nettwin"
PACKAGE = "nettwin"
RANK = {"client": 0, "scenarios": 1, "recording": 2, "comparison": 2, "replay": 3, "interactive": 3,
        "packetdrill": 3, "explore": 3, "top": 4}
# Rooms that only the top may import, and the rooms each of them may import.
LEAVES = {"packetdrill": {"client", "scenarios", "recording", "comparison"},
          "explore": {"client", "scenarios", "recording", "comparison"}}
TOP_MODULES = {"nettwin", "nettwin.__main__", "nettwin.cli", "nettwin.pytest_plugin", "nettwin.scapy"}


def module_name(root: Path, path: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    return {module_name(root, p): p for p in sorted(root.rglob("*.py"))}


def _parents(name: str) -> list[str]:
    """'a.b.c' -> ['a', 'a.b']."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported(mod: str, is_package: bool, node: ast.AST) -> list[str]:
    """The dotted names an import statement asks for (candidates: 'pkg.name' may be a
    module or a name in pkg), absolute and resolved; only this package's."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == PACKAGE]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = mod.split(".") if is_package else mod.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    if origin.split(".")[0] != PACKAGE:
        return []
    return [f"{origin}.{a.name}" for a in node.names] + [origin]


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of the package it imports. Importing a.b.c also runs the
    __init__ of a.b when a.b is not the importer's own package: that counts too."""
    mods = modules(root)
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        is_package = path.name == "__init__.py"
        own = set(_parents(mod)) | ({mod} if is_package else set())
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = _imported(mod, is_package, node)
            if isinstance(node, ast.ImportFrom) and names:
                origin, names = names[-1], names[:-1]
                # "from pkg import name": the module pkg.name if there is one, else pkg itself
                names = [n if n in mods else origin for n in names]
            for n in names:
                while n not in mods and "." in n:
                    n = n.rsplit(".", 1)[0]
                edges.update(m for m in [*_parents(n), n] if m in mods and m not in own)
        edges.discard(mod)
        graph[mod] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None."""
    state: dict[str, int] = {}   # 1: on the current path, 2: done
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        path.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def room(mod: str) -> str:
    if mod in TOP_MODULES:
        return "top"
    parts = mod.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in RANK else f"(no room: {mod})"


def test_the_graph_sees_imports_at_the_top_and_inside_functions():
    graph = import_graph(HARNESS)
    assert len(graph) > 20
    # top of the file, relative across rooms, through the package's __init__
    assert "nettwin.client" in graph["nettwin.interactive.session"]
    assert "nettwin.client.stack" in graph["nettwin.client"]
    # inside a function (cli imports a room only when its command runs)
    assert "nettwin.recording.recorder" in graph["nettwin.cli"]
    # "from . import name" of a module, and a module reached through an unrelated package
    assert "nettwin.recording.netns" in graph["nettwin.recording.recorder"]
    assert {"nettwin.client", "nettwin.client.paths"} <= graph["nettwin.replay.replay"]


def test_the_cycle_finder_reports_the_path():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles until none is left, each found after cutting the last one's closing edge."""
    graph = {n: set(e) for n, e in graph.items()}
    cycles = []
    while (cycle := find_cycle(graph)) is not None:
        cycles.append(cycle)
        graph[cycle[-2]].discard(cycle[-1])
    return cycles


def test_no_import_cycle():
    cycles = find_cycles(import_graph(HARNESS))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_every_module_is_in_a_room():
    homeless = sorted(m for m in modules(HARNESS) if room(m) not in RANK)
    assert not homeless, f"modules outside the rooms {sorted(RANK)}: {homeless}"


def test_no_room_imports_a_room_above_it():
    upward = sorted(f"{m} ({room(m)}) imports {t} ({room(t)})"
                    for m, targets in import_graph(HARNESS).items() for t in targets
                    if room(m) in RANK and room(t) in RANK and RANK[room(t)] > RANK[room(m)])
    assert not upward, "imports against the room order:\n" + "\n".join(upward)


def test_rooms_of_one_rank_do_not_import_each_other_both_ways():
    rooms: dict[str, set[str]] = {}
    for m, targets in import_graph(HARNESS).items():
        rooms.setdefault(room(m), set()).update(room(t) for t in targets if room(t) != room(m))
    cycle = find_cycle(rooms)
    assert cycle is None, "rooms importing each other: " + " -> ".join(cycle)


def test_leaf_rooms_import_only_their_allowed_rooms_and_only_the_top_imports_them():
    bad = []
    for m, targets in import_graph(HARNESS).items():
        for t in targets:
            rm, rt = room(m), room(t)
            if rm == rt:
                continue
            if rt in LEAVES and rm != "top":
                bad.append(f"{m} ({rm}) imports {t}: only the top may import {rt}")
            if rm in LEAVES and rt not in LEAVES[rm]:
                bad.append(f"{m} ({rm}) imports {t} ({rt}): {rm} may import {sorted(LEAVES[rm])}")
    assert not bad, "\n".join(bad)


def test_the_leaf_rule_sees_packetdrill():
    graph = import_graph(HARNESS)
    assert "nettwin.packetdrill.main" in graph["nettwin.cli"]
    assert "nettwin.client" in graph["nettwin.packetdrill.target_nettwin"]


def test_the_leaf_rule_sees_explore():
    graph = import_graph(HARNESS)
    assert "nettwin.explore.run" in graph["nettwin.cli"]
    assert "nettwin.recording.recorder" in graph["nettwin.explore.run"]
    assert "nettwin.comparison.conform" in graph["nettwin.explore.run"]
