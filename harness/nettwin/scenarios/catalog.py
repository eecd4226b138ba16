"""Every scenario: imports each family module (each adds its scenarios to the
registry in model.py) and looks them up by name."""
from __future__ import annotations

# Imported for the scenarios they add, in this order (the order of `record --list`).
from . import ipv4  # noqa: F401
from . import udp  # noqa: F401
from . import packet  # noqa: F401
from . import tcp  # noqa: F401
from . import tcp_ecn  # noqa: F401
from . import tcp_loss  # noqa: F401
from . import tcp_loss_recovery  # noqa: F401
from . import tcp_side  # noqa: F401
from .model import SCENARIOS, Scenario

__all__ = ["SCENARIOS", "get"]


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None
