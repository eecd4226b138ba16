"""Reports of a conformance run for the tools CI systems and people read: JUnit XML
(one testcase per scenario folder, the diff as the failure's text) and one
self-contained HTML page (no scripts or files it needs from elsewhere) whose
tables hold the same cells as the text diff."""
from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from .conform import ConformResult, summary_line
from .diff_view import DiffView, FrameView, Row


def _classname(r: ConformResult) -> str:
    """The folder holding the scenario ("traces", "pending"), as JUnit's class."""
    return r.folder.parent.name or "scenarios"


def junit_xml(results: Sequence[ConformResult], suite: str = "nettwin conform") -> str:
    failures = sum(r.error is None and not r.ok for r in results)
    errors = sum(r.error is not None for r in results)
    total_s = sum(r.seconds for r in results)
    root = ET.Element("testsuites", name=suite, tests=str(len(results)), failures=str(failures),
                      errors=str(errors), time=f"{total_s:.3f}")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results)), failures=str(failures),
                       errors=str(errors), skipped="0", time=f"{total_s:.3f}")
    for r in results:
        tc = ET.SubElement(ts, "testcase", classname=_classname(r), name=r.folder.name, time=f"{r.seconds:.3f}",
                           file=str(r.folder))
        if r.error is not None:
            ET.SubElement(tc, "error", message=r.error, type="ReplayError").text = r.error
        elif not r.ok:
            ET.SubElement(tc, "failure", message=r.line(), type="Differs").text = r.diff_text()
        if r.description:
            ET.SubElement(tc, "system-out").text = r.description
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; } h3 { font-size: 1em; margin-bottom: .3em; }
table { border-collapse: collapse; margin-bottom: 1em; }
td, th { padding: 2px 10px; text-align: left; border-bottom: 1px solid #ddd; vertical-align: top; }
table.diff td, table.skb-path td { font-family: ui-monospace, monospace; font-size: 12px; }
table.diff td.linux { border-right: 2px solid #999; }
tr.differs { background: #fde8e8; } tr.differs td.mark { color: #a31515; font-weight: bold; }
tr.frame th, tr.event td.label { background: #f2f2f2; }
tr.frame.differs th, tr.event.differs td.label { background: #f6d0d0; }
.PASS { color: #176317; } .FAIL { color: #a31515; font-weight: bold; } .ERROR { color: #8a4b00; font-weight: bold; }
section { border-top: 1px solid #ccc; padding-top: .5em; margin-top: 1em; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: 12px; line-height: 1.3; }
ul.notes li { color: #a31515; } td.time { white-space: nowrap; }
"""


def _verdict(r: ConformResult) -> str:
    return "ERROR" if r.error is not None else ("PASS" if r.ok else "FAIL")


def _e(text) -> str:
    return html.escape(str(text))


def _row(cls: str, mark: str, key: str, linux: str, nettwin: str) -> str:
    return (f'<tr class="{cls}"><td class="mark">{mark}</td><td class="key">{_e(key)}</td>'
            f'<td class="linux">{_e(linux)}</td><td class="nettwin">{_e(nettwin)}</td></tr>')


def _field_rows(rows: Sequence[Row]) -> str:
    return "".join(_row("field differs" if r.differs else "field", "!" if r.differs else "", r.key,
                        r.linux, r.nettwin) for r in rows)


def _frames_table(v: DiffView) -> str:
    out = ['<table class="diff frames"><tr><th></th><th>frame / field</th><th>Linux</th><th>nettwin</th></tr>']
    for f in v.frames:
        cls = "frame differs" if f.differs else "frame"
        out.append(f'<tr class="{cls}"><th>{"!" if f.differs else ""}</th><th>{_e(f.label)}</th>'
                   f'<th>{_e(f.linux)}</th><th>{_e(f.nettwin)}</th></tr>')
        out.append(_field_rows(f.rows))
    out.append("</table>")
    return "".join(out)


_PATH_FIELDS = ("len", "data_len", "data", "tail", "end", "users", "dataref", "cloned", "protocol", "dev")


def _skb_path_table(f: FrameView) -> str:
    """The twin's skb behind a differing frame, event by event (pwru's columns)."""
    skb = f.skb_path[0]["skb"]
    head = "".join(f"<th>{k}</th>" for k in ("time (ms)", "function / tracepoint") + _PATH_FIELDS
                   + ("verdict or reason",))
    rows = []
    for ev in f.skb_path:
        fields = ev["fields"]
        where = ev["name"][len("checkpoint:"):] if ev["name"].startswith("checkpoint:") else ev["name"]
        outcome = fields.get("verdict") or fields.get("reason", "")
        cells = [f"{ev['t_ns'] / 1e6:.6f}", where] + [fields.get(k, "") for k in _PATH_FIELDS] + [outcome]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return (f'<h3>skb path of nettwin\'s {_e(f.label)} (skb id {_e(skb)})</h3>'
            f'<table class="skb-path" data-frame="{_e(f.label)}"><tr>{head}</tr>{"".join(rows)}</table>')


def _events_table(v: DiffView) -> str:
    out = ['<table class="diff events"><tr><th></th><th>event / field</th><th>Linux</th><th>nettwin</th></tr>']
    for e in v.events:
        cls = "event differs" if e.differs else "event"
        out.append(f'<tr class="{cls}"><td class="mark">{"!" if e.differs else ""}</td>'
                   f'<td class="label">{_e(e.label)}</td><td class="linux">{_e(e.linux)}</td>'
                   f'<td class="nettwin">{_e(e.nettwin)}</td></tr>')
        out.append(_field_rows(e.rows))
        if e.timing:
            out.append(f'<tr class="field differs"><td class="mark">!</td><td class="key">timing</td>'
                       f'<td colspan="2">{_e(e.timing)}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _diff_section(v: DiffView) -> str:
    parts = []
    if v.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in v.notes) + "</ul>")
    parts.append(f"<h3>Frames on the wire: {sum(f.differs for f in v.frames)} of {len(v.frames)} differ</h3>")
    parts.append(_frames_table(v))
    parts.extend(_skb_path_table(f) for f in v.frames if f.skb_path)
    parts.append(f"<h3>Tracepoint events: {sum(e.differs for e in v.events)} of {len(v.events)} differ</h3>")
    parts.append(_events_table(v))
    if v.counters:
        parts.append("<h3>MIB counter deltas that differ (/proc/net/snmp names)</h3>")
        parts.append('<table class="diff counters"><tr><th></th><th>counter</th><th>Linux</th><th>nettwin</th></tr>'
                     + _field_rows(v.counters) + "</table>")
    return "".join(parts)


def html_report(results: Sequence[ConformResult], title: str = "nettwin conform") -> str:
    """One page: a summary table (a row per scenario, named by its folder), then
    for each scenario that did not pass its description, folder, and the
    side-by-side frame and event tables with the skb path of differing frames."""
    passed = sum(r.ok for r in results)
    rows, sections = [], []
    for i, r in enumerate(results):
        v = _verdict(r)
        anchor = f"s{i}"
        name = _e(r.folder.name)
        link = f'<a href="#{anchor}">{name}</a>' if v != "PASS" else name
        rows.append(f'<tr><td class="{v}">{v}</td><td>{link}</td><td>{_e(r.description)}</td>'
                    f'<td class="time">{r.seconds:.2f} s</td></tr>')
        if v == "PASS":
            continue
        view = r.view()
        body = f"<pre>{_e(r.diff_text())}</pre>" if view is None else _diff_section(view)
        sections.append(
            f'<section id="{anchor}" data-scenario="{name}"><h2 class="{v}">{v} {name}</h2>'
            f'<p class="description">{_e(r.description)}</p>'
            f'<p>folder: <code class="folder">{_e(r.folder)}</code></p>{body}</section>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{_e(title)}: {_e(summary_line(len(results), passed))}</h1>"
            '<table class="summary"><tr><th>verdict</th><th>scenario</th><th>description</th><th>time</th></tr>'
            + "".join(rows) + "</table>" + "".join(sections) + "</body></html>\n")


def write_reports(results: Sequence[ConformResult], junit: Path | None = None, html_path: Path | None = None) -> None:
    if junit:
        Path(junit).write_text(junit_xml(results))
    if html_path:
        Path(html_path).write_text(html_report(results))
