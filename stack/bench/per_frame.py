#!/usr/bin/env python3
"""The per-frame table of ci/bench.sh: nettwin against lwIP 2.1.3 (Debian's
liblwip, driven in-process by nettwin-lwip-bench) on the same frames, each
figure as callgrind instructions (exact, counted only inside counted_frames /
the transfer loop, divided by the frames) beside nanoseconds (best of 5 timed
runs: noisy), with the goal of issue 12 and "met" or the gap; for a gap, the
functions callgrind finds the instructions in.

    per_frame.py BUILD_DIR [--markdown]
"""
import os
import re
import subprocess
import sys
import tempfile

BUILD = next((a for a in sys.argv[1:] if not a.startswith("--")), "build")
NT = os.path.join(BUILD, "stack", "nettwin-frames")
LW = os.path.join(BUILD, "stack", "nettwin-lwip-bench")
BULK = os.path.join(BUILD, "stack", "nettwin-tcp-bulk")
HAVE_LWIP = os.access(LW, os.X_OK)
TIMED_FRAMES = 200000
TMP = tempfile.mkdtemp(prefix="nettwin-per-frame-")


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return dict(re.findall(r"(\w+)=([\d.]+)", out))


def callgrind(cmd, toggle, name):
    out = os.path.join(TMP, name + ".cg")
    stdout = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                             "--toggle-collect=" + toggle] + cmd,
                            check=True, capture_output=True, text=True).stdout
    with open(out) as f:
        total = next(int(l.split()[1]) for l in f if l.startswith(("summary:", "totals:")))
    if total == 0:  # the toggle matched no function: a count of 0 would read as "met"
        raise subprocess.CalledProcessError(1, cmd, stderr="callgrind counted nothing in " + toggle)
    return total, out, dict(re.findall(r"(\w+)=([\d.]+)", stdout))


def short(fn):
    # "/path/stack/ipv4/udp.cc:nettwin::udp_rcv(nettwin::SkBuff*) [/bin]" -> "nettwin::udp_rcv",
    # without the file: a function's lines inlined from headers count as its own.
    fn = re.sub(r"\s*\[[^\]]*\]$", "", fn)
    m = re.match(r".*?\.(?:cc|c|h|S|hpp|tcc)?:(.*)", fn) or re.match(r"(.*)", fn)
    name = re.sub(r"\(anonymous namespace\)::", "", m.group(1))
    depth, out = 0, ""
    for ch in name:  # drop argument lists and template arguments
        if ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
        elif depth == 0:
            out += ch
    return out.replace("void ", "").strip()


def self_costs(cg_file):
    """{short function name: self instructions} from callgrind_annotate."""
    txt = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100", cg_file],
                         check=True, capture_output=True, text=True).stdout
    costs = {}
    # Only the function table: after its "Ir  file:function" heading.
    for line in txt.split("file:function", 1)[-1].splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)", line)
        if m:
            fn = short(m.group(2))
            costs[fn] = costs.get(fn, 0) + int(m.group(1).replace(",", ""))
    return costs


def top(cg_file, per, n=6, base=None):
    """The n functions with the most self instructions per frame; with base
    (cg_file, per) of the untraced run, those with the most added ones."""
    costs = {k: v / per for k, v in self_costs(cg_file).items()}
    if base:
        for k, v in self_costs(base[0]).items():
            costs[k] = costs.get(k, 0) - v / base[1]
    total = sum(costs.values())
    rows = sorted(costs.items(), key=lambda kv: -kv[1])[:n]
    return ["      %+8.0f instr/frame %5.1f%%  %s" % (v, 100 * v / total, fn[:110]) if base else
            "      %8.0f instr/frame %5.1f%%  %s" % (v, 100 * v / total, fn[:110]) for fn, v in rows]


def ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "-"


lines, gaps = [], []  # table rows (9 columns each, or one failure text), then the gap details
COLUMNS = ("figure", "nt instr", "lwIP", "ratio", "nt ns", "lwIP ns", "ratio", "goal", "verdict")
TEXT = "%-34s %9s %9s %7s %9s %9s %7s  %-31s %s"


def num(v, fmt):
    return fmt % v if v else "-"


def row(label, nt_i, lw_i, nt_ns, lw_ns, goal, met, ns_fmt="%.1f"):
    lines.append((label, num(nt_i, "%.0f"), num(lw_i, "%.0f"), ratio(nt_i, lw_i), num(nt_ns, ns_fmt),
                  num(lw_ns, ns_fmt), ratio(nt_ns, lw_ns), goal, met))


def frames_figure(label, mode, n_count, goal_instr, time_vs_lwip=False, goal_ns=None):
    nt_ns = float(run([NT, mode, str(TIMED_FRAMES)])["cpu_ns_per_frame"])
    nt_total, nt_cg, _ = callgrind([NT, mode, str(n_count), "--count"], "*counted_frames*", "nt-" + mode)
    nt_i = nt_total / n_count
    lw_i = lw_ns = None
    if HAVE_LWIP:
        lw_ns = float(run([LW, mode, str(TIMED_FRAMES)])["cpu_ns_per_frame"])
        lw_total, _, _ = callgrind([LW, mode, str(n_count), "--count"], "*counted_frames*", "lw-" + mode)
        lw_i = lw_total / n_count
    goal = "<=%d instr" % goal_instr
    misses = []
    if nt_i > goal_instr:
        misses.append("+%.0f instr" % (nt_i - goal_instr))
    if goal_ns:
        goal += ", <=%d ns" % goal_ns
        if nt_ns > goal_ns:
            misses.append("+%.0f ns" % (nt_ns - goal_ns))
    if time_vs_lwip:
        goal += ", < lwIP ns"
        if lw_ns and nt_ns >= lw_ns:
            misses.append("%.0f ns slower than lwIP" % (nt_ns - lw_ns))
    row(label, nt_i, lw_i, nt_ns, lw_ns, goal, "met" if not misses else "gap: " + ", ".join(misses))
    if misses:
        gaps.append("%s (nettwin, %.0f instr/frame), where the instructions go (self):" % (label, nt_i))
        gaps.extend(top(nt_cg, n_count))
    return nt_i, nt_ns, (nt_cg, n_count)


def tracing_figure(label, flag, base_i, base_ns, base_cg, n_count, goal_x):
    ns = float(run([NT, "udp60", str(TIMED_FRAMES // 10), flag])["cpu_ns_per_frame"])
    total, cg, _ = callgrind([NT, "udp60", str(n_count), "--count", flag], "*counted_frames*", "nt-" + flag[2:])
    i = total / n_count
    x = i / base_i
    met = "met" if x <= goal_x else "gap: %.1fx the untraced instructions (%.1fx its time)" % (x, ns / base_ns)
    lines.append((label, "%.0f" % i, "-", "%.2fx" % x, "%.1f" % ns, "-", "%.2fx" % (ns / base_ns),
                  "<=%gx untraced" % goal_x, met))
    if x > goal_x:
        gaps.append("%s (%.0f instr/frame), the instructions tracing adds (self, traced - untraced):" % (label, i))
        gaps.extend(top(cg, n_count, base=base_cg))


def best_gbit(cmd, runs=5):
    """The best Gbit/s per CPU second of a few runs (the per-frame rows' times are
    their drivers' best of 5 too): a loaded machine only ever slows a run down."""
    return max(float(run(cmd)["cpu_gbit_per_s"]) for _ in range(runs))


def tcp_figure():
    nt_total, nt_cg, out = callgrind([BULK, "16"], "*counted_transfer*", "nt-tcp")
    nt_i = nt_total / int(out["segments"])
    nt_seg = int(out["segments"])
    lw_i = lw_g = None
    if HAVE_LWIP:
        lw_g = best_gbit([LW, "tcp", "64"])
        lw_total, _, out = callgrind([LW, "tcp", "16", "--count"], "*counted_transfer*", "lw-tcp")
        lw_i = lw_total / int(out["segments"])
    g = best_gbit([BULK, "64"])
    met = "met" if g >= 20 else "gap: %.1f Gbit/s short" % (20 - g)
    row("5 TCP bulk, 2 stacks, MTU 1500", nt_i, lw_i, g, lw_g, ">=20 Gbit/s", met, ns_fmt="%.2f")
    if g < 20:
        gaps.append("TCP bulk (nettwin, %.0f instr/data segment, both stacks), where the instructions go (self):" % nt_i)
        gaps.extend(l.replace("instr/frame", "instr/seg  ") for l in top(nt_cg, nt_seg))


def main():
    print("Per-frame figures, nettwin against lwIP 2.1.3 (Debian liblwip%s) in the same run."
          % ("" if HAVE_LWIP else ": NOT BUILT, install liblwip-dev"))
    print("instr: callgrind, counted frames only, exact; ns: thread CPU time, best of 5 runs of %d frames, "
          "noisy; ratio: nettwin / lwIP (tracing rows: / untraced)." % TIMED_FRAMES)
    print("Row 5: instr per data segment (both stacks), Gbit/s of payload per CPU second in the ns columns. "
          "UDP frames carry a real checksum, which both stacks verify.")
    print("Row 5 times the transfer after a warm-up MiB (pools filled, slow start over), as lwIP's does. "
          "Load average at the start: %.1f %.1f %.1f (times only: the instructions do not move)." % os.getloadavg())
    print(TEXT % COLUMNS)

    def attempt(label, f, *args, **kw):
        try:
            return f(label, *args, **kw) if label else f(*args, **kw)
        except subprocess.CalledProcessError as e:  # one figure lost, not the table
            lines.append("%-34s failed: %s %s" % (label or "5 TCP bulk", " ".join(e.cmd[-4:]),
                                                  (e.stderr or "").strip()[-200:]))
            return None

    base = attempt("1 UDP 60 B frame ring->socket", frames_figure, "udp60", 20000, 650, time_vs_lwip=True,
                   goal_ns=45)
    attempt("2 ICMP echo 60 B, request->reply", frames_figure, "echo60", 20000, 1000)
    attempt("3 UDP 1514 B frame ring->socket", frames_figure, "udp1514", 20000, 4000, goal_ns=150)
    if base:
        attempt("4a UDP 60 B, 1 subscriber, all tps", tracing_figure, "--trace", *base, 5000, 2)
        attempt("4b ... and checkpoints", tracing_figure, "--checkpoints", *base, 2000, 4)
    attempt(None, tcp_figure)
    for l in lines:
        print(TEXT % l if isinstance(l, tuple) else l)
    for l in gaps:
        print(l)
    if "--markdown" in sys.argv:  # the table again, for README.md's Speed section
        print("| " + " | ".join(COLUMNS) + " |\n|" + " --- |" * len(COLUMNS))
        for l in lines:
            if isinstance(l, tuple):
                print("| " + " | ".join(c.replace("<=", "≤").replace(">=", "≥") for c in l) + " |")


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", TMP])
