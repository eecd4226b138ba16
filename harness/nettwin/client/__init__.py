"""The client room: the Python client of nettwin-server (stack.py), the DUT's
sockets (sockets.py) and where the repository, build and stubs are (paths.py).
`from nettwin.client import Stack` is the client's public face."""
from .stack import SETTLE_NS, ServerStartError, Stack, StackError, TraceEvent

__all__ = ["SETTLE_NS", "ServerStartError", "Stack", "StackError", "TraceEvent"]
