"""The HTML report of `nettwin conform --html`, opened in a real browser: Debian's
chromium, headless. The failing scenario is a real recording whose echo reply
was altered (Linux's TTL 63 instead of 64), so the twin's frame differs in one
field. The DOM chromium rendered must hold the diff table with that field, the
skb path of the twin's frame, the scenario's description and folder; its
screenshot must be a PNG of the window's size with the page drawn on it
(the differing row's highlight among its pixels)."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest

from conftest import REPO
from nettwin.scenarios import folder as scenario_folder
from scenario_copies import echo_scenario, with_echo_reply_ttl

WIDTH, HEIGHT = 1280, 1600
DIFFERS_BACKGROUND = (0xfd, 0xe8, 0xe8)   # report.py's tr.differs


def chromium(args, profile, timeout=120) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is not installed (bash ci/setup.sh installs it)", pytrace=False)
    # --no-sandbox: chromium's sandbox refuses to run as root, and CI containers often lack
    # the namespaces it needs; the page is our own file. A profile of its own, so no
    # state is shared with any other chromium on the machine.
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


class Dom(HTMLParser):
    """The rendered DOM as nested nodes: (tag, attrs, children, text)."""

    def __init__(self, text):
        super().__init__()
        self.root = {"tag": "#root", "attrs": {}, "children": [], "text": ""}
        self.stack = [self.root]
        self.feed(text)

    VOID = {"meta", "br", "img", "link", "hr", "input"}

    def handle_starttag(self, tag, attrs):
        node = {"tag": tag, "attrs": dict(attrs), "children": [], "text": ""}
        self.stack[-1]["children"].append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1]["children"].append(data)


def walk(node):
    yield node
    for c in node["children"]:
        if isinstance(c, dict):
            yield from walk(c)


def text(node) -> str:
    return "".join(c if isinstance(c, str) else text(c) for c in node["children"])


def classes(node) -> set:
    return set((node["attrs"].get("class") or "").split())


def find(node, tag, cls=None, **attrs):
    return [n for n in walk(node) if n["tag"] == tag and (cls is None or cls in classes(n))
            and all(n["attrs"].get(k.replace("_", "-")) == v for k, v in attrs.items())]


def cells(tr) -> list[str]:
    return [text(c).strip() for c in tr["children"] if isinstance(c, dict) and c["tag"] in ("td", "th")]


def png_pixels(data: bytes):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = ihdr
    assert depth == 8 and color in (2, 6) and interlace == 0, ihdr
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


@pytest.fixture(scope="module")
def report(tmp_path_factory, build_dir):
    """A conform run over a real recording and its altered copy, with --html."""
    tmp = tmp_path_factory.mktemp("html_browser")
    good = echo_scenario()
    bad = with_echo_reply_ttl(good, tmp / "altered")
    page = tmp / "conform.html"
    env = dict(os.environ, NETTWIN_BUILD=str(build_dir))
    nettwin = str(REPO / "harness" / "bin" / "nettwin")
    done = subprocess.run([nettwin, "conform", "--no-diff", "--html", str(page), str(good), str(bad)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"PASS  {good.name}" in done.stdout and f"FAIL  {bad.name}" in done.stdout
    return {"tmp": tmp, "page": page, "good": good, "bad": bad}


def test_the_rendered_dom_shows_the_diff_the_skb_path_and_the_scenario(report):
    done = chromium(["--dump-dom", report["page"].as_uri()], report["tmp"] / "profile-dom")
    dom = Dom(done.stdout).root
    bad = report["bad"]
    assert "2 scenarios: 1 passed, 1 failed" in text(find(dom, "h1")[0])

    sections = find(dom, "section")
    assert [s["attrs"].get("data-scenario") for s in sections] == [bad.name]
    section = sections[0]
    assert text(find(section, "h2")[0]) == f"FAIL {bad.name}"
    description = scenario_folder.load(bad).description
    assert description and text(find(section, "p", "description")[0]) == description
    assert text(find(section, "code", "folder")[0]) == str(bad)

    frames = find(section, "table", "frames")
    assert len(frames) == 1
    differing = [cells(tr) for tr in find(frames[0], "tr", "differs") if "field" in classes(tr)]
    assert differing == [["!", "IP.ttl", "63", "64"]]          # Linux (altered) | nettwin
    frame_rows = [cells(tr) for tr in find(frames[0], "tr", "frame")]
    bad_frames = [c for c in frame_rows if c[0] == "!"]
    assert len(bad_frames) == 1 and "echo-reply" in bad_frames[0][2] and "echo-reply" in bad_frames[0][3]

    label = bad_frames[0][1]
    paths = find(section, "table", "skb-path", data_frame=label)
    assert len(paths) == 1
    functions = [cells(tr)[1] for tr in find(paths[0], "tr")[1:]]
    # the reply's skb from the IP layer to the driver, as the twin sent it
    for fn in ("ip_output", "dev_queue_xmit", "dev_hard_start_xmit", "veth_xmit"):
        assert fn in functions, functions
    assert functions.index("ip_output") < functions.index("dev_hard_start_xmit") < functions.index("veth_xmit")

    events = find(section, "table", "events")
    assert len(events) == 1 and len(find(events[0], "tr", "event")) > 0


def test_the_screenshot_is_the_page_drawn_at_the_window_size(report):
    shot = report["tmp"] / "conform.png"
    chromium([f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", report["page"].as_uri()],
             report["tmp"] / "profile-shot")
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    colours = {}
    for row in rows:
        for px in row:
            colours[px] = colours.get(px, 0) + 1
    background, most = max(colours.items(), key=lambda kv: kv[1])
    assert background == (255, 255, 255)
    assert most < 0.97 * width * height, "the page is (nearly) blank"
    assert len(colours) > 50                     # text is antialiased: many shades
    assert colours.get(DIFFERS_BACKGROUND, 0) > 1000, "no highlighted differing row was drawn"
