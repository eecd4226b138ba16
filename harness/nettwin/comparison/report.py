"""Reports of a conformance run for the tools CI systems and people read: JUnit XML
(one testcase per scenario folder, the diff as the failure's text) and one
self-contained HTML page (no scripts or files it needs from elsewhere)."""
from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from .conform import ConformResult, summary_line


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
h1 { font-size: 1.4em; }
table.summary { border-collapse: collapse; margin-bottom: 1.5em; }
table.summary td, table.summary th { padding: 2px 10px; text-align: left; border-bottom: 1px solid #ddd; }
.PASS { color: #176317; } .FAIL { color: #a31515; font-weight: bold; } .ERROR { color: #8a4b00; font-weight: bold; }
section { border-top: 1px solid #ccc; padding-top: .5em; margin-top: 1em; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: 12px; line-height: 1.3; }
pre .d { color: #a31515; }
"""


def _verdict(r: ConformResult) -> str:
    return "ERROR" if r.error is not None else ("PASS" if r.ok else "FAIL")


def _diff_html(text: str) -> str:
    """The side-by-side diff, its differing lines (marked "!") in red."""
    out = []
    for line in text.splitlines():
        esc = html.escape(line)
        out.append(f'<span class="d">{esc}</span>' if line.lstrip().startswith("!") else esc)
    return "\n".join(out)


def html_report(results: Sequence[ConformResult], title: str = "nettwin conform") -> str:
    passed = sum(r.ok for r in results)
    rows, sections = [], []
    for i, r in enumerate(results):
        v = _verdict(r)
        anchor = f"s{i}"
        name = html.escape(r.folder.name)
        link = f'<a href="#{anchor}">{name}</a>' if v != "PASS" else name
        rows.append(f'<tr><td class="{v}">{v}</td><td>{link}</td><td>{html.escape(r.description)}</td>'
                    f'<td>{r.seconds:.2f} s</td></tr>')
        if v != "PASS":
            sections.append(
                f'<section id="{anchor}"><h2 class="{v}">{v} {name}</h2>'
                f'<p>{html.escape(r.description)}</p><p><code>{html.escape(str(r.folder))}</code></p>'
                f'<pre>{_diff_html(r.diff_text())}</pre></section>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}: {html.escape(summary_line(len(results), passed))}</h1>"
            '<table class="summary"><tr><th>verdict</th><th>scenario</th><th>description</th><th>time</th></tr>'
            + "".join(rows) + "</table>" + "".join(sections) + "</body></html>\n")


def write_reports(results: Sequence[ConformResult], junit: Path | None = None, html_path: Path | None = None) -> None:
    if junit:
        Path(junit).write_text(junit_xml(results))
    if html_path:
        Path(html_path).write_text(html_report(results))
