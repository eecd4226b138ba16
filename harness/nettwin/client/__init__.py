"""The client room: the Python client of nettwin-server (stack.py), the DUT's
sockets (sockets.py), the packed frame blobs (packed.py) and where the repository,
build and stubs are (paths.py).
`from nettwin.client import Stack` is the client's public face. The client is
imported when one of its names is first asked for (PEP 562), not with the
package: `nettwin replay` needs only paths.py, not gRPC and Scapy (0.4 s)."""

__all__ = ["SETTLE_NS", "ServerStartError", "Stack", "StackError", "TraceEvent"]


def __getattr__(name: str):
    if name in __all__:
        from . import stack
        return getattr(stack, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
