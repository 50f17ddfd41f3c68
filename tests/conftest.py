"""Shared test configuration.

Hermetic by default, complete in CI
-----------------------------------
Real recordings and published reference tables live in ``../shared`` beside the
project root, which a user's clone never has.  The few small files the suite
needs are copied into ``tests/data`` (and the bundled example recording), and
:func:`shared_path` always returns such a copy when there is one, so those tests
run everywhere.  Tests that need files only ``../shared`` has are marked
``shared_data``:

* ``../shared`` present: they run.
* absent, outside CI: they are deselected (not skipped) and the run prints one
  line saying how many did not run and why.
* absent with ``CI=true``: the run stops with an error before any test runs.

``EPHYS_CORRECT_SHARED=/path`` points at another copy of the shared folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
TEST_DATA = TESTS / "data"
SHARED = Path(os.environ.get("EPHYS_CORRECT_SHARED", ROOT.parent / "shared"))
HAVE_SHARED = (SHARED / "data").is_dir()
IN_CI = os.environ.get("CI", "").lower() == "true"

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


#: where copies of shared files live (used whether or not ../shared is present)
_COPIES = (TEST_DATA, ROOT / "ephys_correct" / "data" / "examples")


def shared_path(*parts: str) -> Path:
    """A shared file: its copy in tests/data (or the bundled examples) if there is one.

    Without a copy the file must come from ``../shared``; a test that needs such a
    file must be marked ``shared_data`` (it is then deselected, with a printed count,
    where ``../shared`` is absent).
    """
    for folder in _COPIES:
        copy = folder / parts[-1]
        if copy.exists():
            return copy
    p = SHARED.joinpath(*parts)
    if not p.exists():
        raise FileNotFoundError(
            f"{'/'.join(parts)}: tests/data has no copy and {p} does not exist "
            "(a test that needs ../shared must be marked shared_data)"
        )
    return p


# --------------------------------------------------------------------------- tests not run, said out loud
#: reason -> number of tests deselected for it in this process (other hooks may add reasons)
NOT_RUN: dict[str, int] = {}
SHARED_REASON = f"shared-data tests not run: {SHARED} is absent (CI, which has it, runs them)"


def _deselect(config, items, marker: str, reason: str) -> None:
    """Deselect the tests marked *marker*, counting them under *reason* (printed at the end)."""
    gone = [it for it in items if it.get_closest_marker(marker)]
    if not gone:
        return
    items[:] = [it for it in items if not it.get_closest_marker(marker)]
    config.hook.pytest_deselected(items=gone)
    NOT_RUN[reason] = NOT_RUN.get(reason, 0) + len(gone)


def pytest_collection_modifyitems(config, items):
    if not HAVE_SHARED:  # under CI=true pytest_configure has already stopped the run
        _deselect(config, items, "shared_data", SHARED_REASON)
    why = browser_unavailable()
    if why is not None and not IN_CI:  # under CI the chromium_path fixture fails each test instead
        _deselect(config, items, "browser", f"browser tests not run: {why}")


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # an xdist worker: hand the counts to the controller
        session.config.workeroutput["ephys_not_run"] = dict(NOT_RUN)


class _XdistCounts:
    """Collect the not-run counts of xdist workers (every worker collects all tests)."""

    def __init__(self):
        self.seen: dict[str, int] = {}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        for reason, n in getattr(node, "workeroutput", {}).get("ephys_not_run", {}).items():
            self.seen[reason] = max(self.seen.get(reason, 0), n)


def pytest_configure(config):
    if IN_CI and not HAVE_SHARED:
        raise pytest.UsageError(
            f"CI=true but {SHARED} is missing: the shared-data tests cannot run. "
            "CI must have the shared folder beside the project root.")
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workeroutput"):
        config._ephys_xdist_counts = _XdistCounts()
        config.pluginmanager.register(config._ephys_xdist_counts, "ephys-not-run-counts")


def pytest_terminal_summary(terminalreporter, config):
    counts = dict(NOT_RUN)
    xd = getattr(config, "_ephys_xdist_counts", None)
    if xd is not None:
        for reason, n in xd.seen.items():
            counts[reason] = max(counts.get(reason, 0), n)
    for reason, n in counts.items():
        terminalreporter.write_line(f"{n} {reason}", yellow=True, bold=True)
    _docs_opt_out_summary(terminalreporter)


@pytest.fixture
def tmp_cwd(tmp_path, monkeypatch):
    """Run a test inside an empty temporary working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- browser tests
# Tests marked `browser` (tests/browser/) drive headless Chromium. Where none can run they are
# deselected and the terminal summary says how many and why, in one line (never a silent skip);
# with CI=true nothing is deselected and the browser fixture fails each test with the reason.
def chromium_executable() -> str | None:
    """Path of the Chromium the browser tests use: $EPHYS_CORRECT_CHROMIUM, or Debian's chromium."""
    import shutil

    explicit = os.environ.get("EPHYS_CORRECT_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    import importlib.util

    if chromium_executable() is None:
        return "no chromium found (install Debian's chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[test,web]')"
    if importlib.util.find_spec("flask") is None:
        return "Flask is not installed (pip install -e '.[test,web]')"
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Chromium for the browser tests; fails (never skips) with the reason when there is none."""
    reason = browser_unavailable()
    if reason is not None:
        pytest.fail(f"browser test cannot run: {reason}"
                    + (" (CI=true: browser tests are required)" if os.environ.get("CI") == "true" else ""))
    return chromium_executable()


def _docs_opt_out_summary(terminalreporter) -> None:
    """List the documentation blocks that opted out of running (tests/test_docs.py)."""
    if not any("test_docs.py" in str(getattr(r, "nodeid", ""))
               for reports in terminalreporter.stats.values() for r in reports):
        return
    import doc_runner

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    blocks = [b for p in pages for b in doc_runner.parse_markdown(p)]
    run = [b for b in blocks if b.lang in doc_runner.RUN_LANGS]
    opted = [b for b in run if b.no_run is not None]
    terminalreporter.write_line(
        f"docs: {len(run) - len(opted)} of {len(run)} python/bash/console blocks in {len(pages)} pages "
        f"run; {len(opted)} opted out:")
    for b in opted:
        terminalreporter.write_line(f"  {b.path.relative_to(ROOT)}:{b.line} ```{b.lang}: {b.no_run}")
