"""The shell lines of scripts (`...`), read rather than run: what upstream's scripts
use them for is settings. Understood:
  sysctl [-q] [-w] NAME=VALUE ...            set net.* sysctls
  PATH.sh                                    a settings file (upstream's ../common/defaults.sh,
                                             found from the script's folder or one above it):
                                             its sysctl lines ($((a*b)) arithmetic included);
                                             `ip tcp_metrics flush` and `tc qdisc ... dev tun0`
                                             lines are no-ops (a fresh stack per script has no
                                             cached metrics and no tun0)
  PATH/set_sysctls.py /proc/sys/A/B=VALUE ...  the same settings by /proc path
  /tmp/sysctl_restore_*.sh                   a no-op (every script starts from a fresh stack)
Anything else is refused with the line, so a script never runs with a setting silently lost."""
from __future__ import annotations

import re
import shlex
from pathlib import Path


class CommandError(ValueError):
    pass


_ARITH = re.compile(r"\$\(\(([0-9+\-*/ ()]+)\)\)")


def _arith(text: str) -> str:
    def value(m):
        expr = m.group(1)
        # digits and + - * / ( ) only: evaluated as integer shell arithmetic
        return str(int(eval(expr.replace("/", "//"), {"__builtins__": {}}, {})))
    return _ARITH.sub(value, text)


def _find(base: Path, cmd: str):
    """A settings file named relative to the script's folder or (as upstream's trees are
    run from a folder above the script's) to one of its parents."""
    if cmd.startswith("/"):
        return Path(cmd) if Path(cmd).is_file() else None
    for d in [base, *base.parents][:4]:
        if (d / cmd).is_file():
            return d / cmd
    return None


def sysctls(line: str, base: Path, depth: int = 0) -> list[tuple[str, str]]:
    """The (name, value) settings a command line makes, in order."""
    out: list[tuple[str, str]] = []
    for part in (p.strip() for chunk in line.splitlines() for p in chunk.split(";")):
        if not part or part.startswith("#"):
            continue
        try:
            words = shlex.split(_arith(part))
        except ValueError as e:
            raise CommandError(f"command '{part}': {e}") from None
        if ">" in words:                               # "... > /dev/null 2>&1"
            words = words[:words.index(">")]
        words = [w for w in words if w not in ("2>&1",)]
        cmd = words[0]
        if cmd == "sysctl":
            sets = [w for w in words[1:] if not w.startswith("-")]
            if not sets or any("=" not in w for w in sets):
                raise CommandError(f"command '{part}': only sysctl -w NAME=VALUE is supported")
            out.extend(tuple(w.split("=", 1)) for w in sets)
        elif re.fullmatch(r"/tmp/sysctl_restore_\S*\.sh", cmd):
            continue
        elif cmd.endswith("set_sysctls.py"):
            for w in words[1:]:
                path, eq, value = w.partition("=")
                if not eq or not path.startswith("/proc/sys/"):
                    raise CommandError(f"command '{part}': expected /proc/sys/NAME=VALUE, not {w!r}")
                out.append((path[len("/proc/sys/"):].replace("/", "."), value))
        elif cmd == "ip" and words[1:3] == ["tcp_metrics", "flush"]:
            continue
        elif cmd == "tc" and words[1:2] == ["qdisc"] and "tun0" in words:
            continue
        elif cmd.endswith(".sh") and len(words) == 1 and depth < 4:
            path = _find(base, cmd)
            if path is None:
                raise CommandError(f"command '{part}': no such settings file {base / cmd}")
            out.extend(sysctls(path.read_text(), path.parent, depth + 1))
        else:
            raise CommandError(f"command '{part}' is not supported (sysctl -w/-q net.*=..., settings files)")
    for name, _ in out:
        if not name.startswith("net."):
            raise CommandError(f"command '{line.strip()}': only net.* sysctls may be set, not {name}")
    return out
