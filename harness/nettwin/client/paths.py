"""Where things live: the repository, the build directory, its binaries and the
generated gRPC stubs. Computed from this file's location, never hard-coded."""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# The recorded scenarios; NETTWIN_TRACES points the suite at another folder.
TRACES = Path(os.environ["NETTWIN_TRACES"]).resolve() if os.environ.get("NETTWIN_TRACES") else REPO / "traces"


class BuildMissing(RuntimeError):
    """The C++ build (server, replay tool or Python stubs) is not there."""


def build_dir() -> Path:
    """NETTWIN_BUILD if set, else <repo>/build."""
    env = os.environ.get("NETTWIN_BUILD")
    return Path(env).resolve() if env else REPO / "build"


def _hint() -> str:
    return (f"build it with: cmake -S {REPO} -B {build_dir()} && cmake --build {build_dir()} -j2 "
            f"(or point NETTWIN_BUILD at an existing build directory)")


def binary(name: str) -> Path:
    """A program built by CMake (nettwin-server, nettwin-replay), wherever in the build tree."""
    root = build_dir()
    for candidate in (root / "harness" / "server" / name, root / name, root / "bin" / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    if root.is_dir():
        for candidate in sorted(root.rglob(name)):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    raise BuildMissing(f"{name} not found under {root}; {_hint()}")


def import_stubs():
    """The protoc-generated modules (nettwin_pb2, nettwin_pb2_grpc) from <build>/python."""
    py = build_dir() / "python"
    if not (py / "nettwin_pb2.py").is_file() or not (py / "nettwin_pb2_grpc.py").is_file():
        raise BuildMissing(f"gRPC Python stubs not found in {py}; {_hint()}")
    if str(py) not in sys.path:
        sys.path.insert(0, str(py))
    import nettwin_pb2  # noqa: E402  (generated)
    import nettwin_pb2_grpc  # noqa: E402
    return nettwin_pb2, nettwin_pb2_grpc
