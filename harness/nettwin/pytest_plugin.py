"""A pytest plugin: recorded scenarios as test items of a user's own suite.

    pytest --nettwin-scenarios traces/            one item per scenario folder
    @pytest.mark.nettwin_scenarios("traces")      a test of one's own, run once per folder:
    def test_conforms(nettwin_scenario):          nettwin_scenario.check() replays it and
        nettwin_scenario.check()                  fails with the comparator's diff

Each item is named by its scenario's folder and fails with the verdict line and the
side-by-side diff. One nettwin-server serves the whole session (--nettwin-address: a
running one instead). Loaded by its entry point (pytest11) once nettwin is installed,
or with `-p nettwin.pytest_plugin`; it imports the harness only when asked for
scenarios, so a suite that does not use it pays nothing."""
from __future__ import annotations

from pathlib import Path

import pytest

SCENARIO_FILE = "meta.json"   # the file of a scenario folder that stands for it in collection


class ScenarioDiffers(AssertionError):
    """The twin did not do what the recording shows; the message is the diff."""


class Scenario:
    """One scenario folder, replayed on the session's stack by run() or check()."""

    def __init__(self, folder: Path, config: pytest.Config):
        self.folder = Path(folder)
        self.name = self.folder.name
        self._config = config

    def run(self):
        """The comparator's result (nettwin.comparison.conform.ConformResult)."""
        from .comparison.conform import run_scenario
        return run_scenario(_stack(self._config), self.folder)

    def check(self):
        """Replay and compare; raise ScenarioDiffers with the diff unless it passes."""
        __tracebackhide__ = True   # a failure shows the diff, not the plugin's frames
        r = self.run()
        if not r.ok:
            raise ScenarioDiffers(f"{r.line()}\n{r.diff_text()}")
        return r

    def __repr__(self):
        return f"<nettwin scenario {self.folder}>"


_STACK = pytest.StashKey[object]()
_FOLDERS = pytest.StashKey[frozenset]()


def _stack(config: pytest.Config):
    """The session's stack, started on first use and closed at the end."""
    if _STACK not in config.stash:
        from .client import Stack
        config.stash[_STACK] = Stack(address=config.getoption("nettwin_address"))
    return config.stash[_STACK]


def _discover(paths, base: Path) -> list[Path]:
    from .scenarios.folder import ScenarioError, discover
    try:
        return discover([p if Path(p).is_absolute() else base / p for p in paths])
    except ScenarioError as e:
        raise pytest.UsageError(f"nettwin scenarios: {e}") from None


def pytest_addoption(parser: pytest.Parser):
    group = parser.getgroup("nettwin", "nettwin: recorded Linux scenarios replayed on the twin")
    group.addoption("--nettwin-scenarios", action="append", default=[], metavar="DIR",
                    help="a traces directory or scenario folder: one test item per scenario (repeatable)")
    group.addoption("--nettwin-address", metavar="HOST:PORT",
                    help="replay on this running nettwin-server instead of starting one for the session")


def pytest_configure(config: pytest.Config):
    config.addinivalue_line("markers", "nettwin_scenarios(*paths): run the test once per scenario folder found "
                                       "in paths (relative to the test's file), as its nettwin_scenario argument")
    wanted = config.getoption("nettwin_scenarios")
    if not wanted:
        return
    folders = _discover(wanted, config.invocation_params.dir)
    if not folders:
        raise pytest.UsageError(f"nettwin scenarios: no scenario folders in {' '.join(wanted)}")
    config.stash[_FOLDERS] = frozenset(f.resolve() for f in folders)
    # The given paths are collected as arguments (only their scenario folders become
    # items): alone when the command line named no test paths, after them otherwise.
    base = config.invocation_params.dir
    extra = [str(Path(w) if Path(w).is_absolute() else base / w) for w in wanted]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args = list(config.args) + extra
    else:
        config.args = extra


def pytest_unconfigure(config: pytest.Config):
    stack = config.stash.get(_STACK, None)
    if stack is not None:
        stack.close()


def pytest_collect_file(file_path: Path, parent):
    folders = parent.config.stash.get(_FOLDERS, frozenset())
    if file_path.name == SCENARIO_FILE and file_path.parent.resolve() in folders:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        yield ScenarioItem.from_parent(self, name=self.path.parent.name)


class ScenarioItem(pytest.Item):
    def runtest(self):
        Scenario(self.path.parent, self.config).check()

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioDiffers):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path.parent, None, f"nettwin scenario {self.name}"


def pytest_generate_tests(metafunc: pytest.Metafunc):
    if "nettwin_scenario" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("nettwin_scenarios")
    if marker is not None:
        folders = _discover(marker.args, Path(metafunc.definition.fspath).parent)
    else:
        folders = _discover(metafunc.config.getoption("nettwin_scenarios"), metafunc.config.invocation_params.dir)
    if not folders:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: no scenario folders for nettwin_scenario "
                                "(mark it @pytest.mark.nettwin_scenarios(DIR) or give --nettwin-scenarios DIR)")
    metafunc.parametrize("nettwin_scenario", folders, ids=[f.name for f in folders], indirect=True)


@pytest.fixture
def nettwin_scenario(request) -> Scenario:
    """The scenario folder this run of the test is for (see the nettwin_scenarios marker)."""
    return Scenario(request.param, request.config)
