"""Progress bars on stderr (Debian's python3-tqdm): on when stderr is a terminal
or --progress asks; a run without tqdm installed goes on without them."""
from __future__ import annotations

import sys

try:
    from tqdm import tqdm
except ImportError:  # the bars are a comfort, not a result
    tqdm = None


class _Off:
    def update(self, n=1):
        pass

    def close(self):
        pass


def bar(enabled: bool, desc: str, total=None, unit: str = "frames", unit_scale: bool = False):
    if not enabled or tqdm is None:
        return _Off()
    return tqdm(desc=desc, total=total or None, unit=unit, unit_scale=unit_scale, file=sys.stderr,
                mininterval=0.2, dynamic_ncols=True, leave=True)
