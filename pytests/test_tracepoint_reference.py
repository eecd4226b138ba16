"""Every tracepoint the stack can emit exists in this kernel's tracefs, with the fields it emits.

The tracepoints are the members of the Tp enum (stack/core/trace.h) and their names those of
kTracepointNames, in the enum's order (the same header); the fields are the names each emit site under stack/
passes to Tracer::emit. Both are read from the sources, so a tracepoint added to the enum or a new
emit site is covered without editing this test. The reference is traces/reference/tracepoint-formats.txt."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / "stack"
REFERENCE = REPO / "traces" / "reference" / "tracepoint-formats.txt"
COMMON = {"common_type", "common_flags", "common_preempt_count", "common_pid"}


def reference_formats(text: str) -> dict[str, set[str]]:
    """'group:event' -> its field names (the last word of each field: line, array bounds cut)."""
    formats: dict[str, set[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("=== "):
            current = line.split()[1].replace("/", ":")
            formats[current] = set()
        elif line.startswith("\tfield:") and current:
            decl = line.split(";")[0]
            formats[current].add(re.sub(r"\[.*\]$", "", decl.split()[-1]))
    return {name: fields - COMMON for name, fields in formats.items()}


def tp_enum(trace_h: str) -> list[str]:
    body = re.search(r"enum class Tp\b[^{]*\{(.*?)\};", trace_h, re.S).group(1)
    members = [m.split("=")[0].strip() for m in re.sub(r"//.*", "", body).split(",")]
    return [m for m in members if m and m != "Count"]


def tp_names(trace_h: str, members: list[str]) -> dict[str, str]:
    """The kTracepointNames table, in the enum's order."""
    body = re.search(r"kTracepointNames\[[^\]]*\]\s*=\s*\{(.*?)\};", trace_h, re.S).group(1)
    return dict(zip(members, re.findall(r'"([^"]+)"', re.sub(r"//.*", "", body))))


def _functions(source: str) -> dict[str, str]:
    """Top-level function bodies of a C++ file by name (namespace blocks looked into)."""
    out: dict[str, str] = {}
    for m in re.finditer(r"(\w+)\s*\([^;{)]*(?:\([^)]*\)[^;{)]*)*\)\s*(?:const\s*)?\{", source):
        if m.group(1) in ("if", "for", "while", "switch", "namespace"):
            continue
        depth, i = 1, m.end()
        while depth and i < len(source):
            depth += {"{": 1, "}": -1}.get(source[i], 0)
            i += 1
        out.setdefault(m.group(1), source[m.end():i])
    return out


FIELD_LITERAL = re.compile(r'\{\s*"(\w+)"\s*,|(?:emplace_back|\badd\w*)\(\s*"(\w+)"')


def emit_sites(sources: dict[Path, str], headers: str) -> dict[str, set[str]]:
    """Tp member -> the field names its emit sites pass. A function emitting a Tp it takes as a
    parameter serves the members its header wrappers hand it (tp::fn(t, Tp::name, ...) in a macro
    expanded per member) or its callers in the same file pass it."""
    served: dict[str, set[str]] = {}
    for macro, params, fn in re.findall(r"#define (\w+)\((\w+)\)(.*?)(?<!\\)\n", headers, re.S):
        call = re.search(r"tp::(\w+)\(t, Tp::" + params + r"\b", fn)
        if call:
            for member in re.findall(r"^" + macro + r"\((\w+)\)", headers, re.M):
                served.setdefault(call.group(1), set()).add(member)
    sites: dict[str, set[str]] = {}
    for source in sources.values():
        functions = _functions(source)
        helpers = {n: b for n, b in functions.items()
                   if "TraceFields" in source.split(n + "(")[0][-40:]
                   or re.search(r"\b" + n + r"\([^)]*TraceRecord&", source)}
        for name, body in functions.items():
            if "t.emit(" not in body:
                continue
            # A Tp literal at the emit, else the members a header macro or a caller
            # in the same file (fn(t, Tp::name, ...)) hands the function.
            members = (set(re.findall(r"t\.(?:emit|record)\(\s*Tp::(\w+)", body)) or served.get(name, set())
                       or set(re.findall(r"\b" + name + r"\(\s*t\s*,\s*Tp::(\w+)", source)))
            fields = {a or b for a, b in FIELD_LITERAL.findall(body)}
            for helper, helper_body in helpers.items():
                if re.search(r"\b" + helper + r"\(", body) and helper != name:
                    fields |= {a or b for a, b in FIELD_LITERAL.findall(helper_body)}
            for member in members:
                sites.setdefault(member, set()).update(fields)
    return sites


# Fields the stack emits beyond the kernel's format, known and kept until a change that may alter
# trace output drops them: tcp_probe's v4-mapped addresses (its format has only the sockaddrs).
KNOWN_EXTRA = {"tcp:tcp_probe": {"saddr_v6", "daddr_v6"}}


def check(reference: dict[str, set[str]], members: list[str], names: dict[str, str],
          sites: dict[str, set[str]]) -> list[str]:
    problems = []
    for member in members:
        name = names.get(member)
        if name is None:
            problems.append(f"Tp::{member}: kTracepointNames has no name for it")
            continue
        if name not in reference:
            problems.append(f"{name}: no such tracepoint in {REFERENCE.name}")
            continue
        if member not in sites:
            problems.append(f"{name}: no emit site found under stack/")
            continue
        for field in sorted(sites[member] - reference[name] - KNOWN_EXTRA.get(name, set())):
            problems.append(f"{name}: field {field!r} is not in its format "
                            f"({', '.join(sorted(reference[name]))})")
    return problems


def _stack_sources() -> dict[Path, str]:
    return {p: p.read_text() for p in STACK.rglob("*.cc") if "/tests/" not in str(p)}


def _headers() -> str:
    return "\n".join(p.read_text() for p in STACK.rglob("*.h"))


@pytest.fixture(scope="module")
def stack_view():
    trace_h = (STACK / "core" / "trace.h").read_text()
    members = tp_enum(trace_h)
    names = tp_names(trace_h, members)
    return members, names, emit_sites(_stack_sources(), _headers())


def test_every_emitted_tracepoint_and_field_is_in_the_reference(stack_view):
    members, names, sites = stack_view
    assert len(members) >= 19  # the enum was read (net, napi, skb, qdisc, neigh, fib, icmp, udp)
    reference = reference_formats(REFERENCE.read_text())
    assert check(reference, members, names, sites) == []


def test_reference_has_the_tcp_and_sock_events_issue_8_names():
    reference = reference_formats(REFERENCE.read_text())
    for name in ("sock:inet_sock_set_state", "tcp:tcp_probe", "tcp:tcp_send_reset", "tcp:tcp_receive_reset",
                 "tcp:tcp_retransmit_skb", "tcp:tcp_retransmit_synack", "tcp:tcp_destroy_sock",
                 "tcp:tcp_rcv_space_adjust", "tcp:tcp_bad_csum", "tcp:tcp_cong_state_set"):
        assert name in reference
    assert {"oldstate", "newstate", "sport", "dport", "saddr", "daddr"} <= reference["sock:inet_sock_set_state"]
    assert {"snd_cwnd", "ssthresh", "srtt", "rcv_wnd"} <= reference["tcp:tcp_probe"]


def test_a_misspelt_field_is_reported(stack_view):
    """The check fails on a field the format lacks, and on an emit for an unknown tracepoint."""
    members, names, _ = stack_view
    reference = reference_formats(REFERENCE.read_text())
    source = (STACK / "core" / "trace_events.cc").read_text()
    misspelt = source.replace('add_str("dev_name", napi->dev', 'add_str("devname", napi->dev')
    assert misspelt != source
    sources = dict(_stack_sources())
    sources[STACK / "core" / "trace_events.cc"] = misspelt
    problems = check(reference, members, names, emit_sites(sources, _headers()))
    assert problems == ["napi:napi_poll: field 'devname' is not in its format (budget, dev_name, napi, work)"]
    renamed = dict(names, napi_poll="napi:napi_pol")
    assert check(reference, members, renamed, emit_sites(_stack_sources(), _headers())) == [
        "napi:napi_pol: no such tracepoint in tracepoint-formats.txt"]
