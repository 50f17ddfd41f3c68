"""Shared test configuration.

Real recordings live in ``../shared/data`` beside the project root; the few
small files the unit tests need are copied into ``tests/data``.  Tests that
want the whole shared set use :func:`shared_path`, which *fails* (never
skips) when the shared folder is missing, unless EPHYS_CORRECT_NO_SHARED=1
is set, in which case the caller falls back to the copies in tests/data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
TEST_DATA = TESTS / "data"
SHARED = ROOT.parent / "shared"

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def shared_available() -> bool:
    """True when ../shared is present; raises when it is required but missing."""
    if SHARED.is_dir():
        return True
    if os.environ.get("EPHYS_CORRECT_NO_SHARED") == "1":
        return False
    raise FileNotFoundError(
        f"{SHARED} is missing: the shared recordings and references are required. "
        "Set EPHYS_CORRECT_NO_SHARED=1 to run on the copies in tests/data only."
    )


#: where copies of shared files live when ../shared is absent
_COPIES = (TEST_DATA, ROOT / "ephys_correct" / "data" / "examples")


def shared_path(*parts: str) -> Path:
    """Path under ../shared, failing loudly when the folder is missing.

    With EPHYS_CORRECT_NO_SHARED=1 and no ../shared, a copy of the same file in
    tests/data (or the bundled examples) is used; a file with no copy fails.
    """
    if shared_available():
        p = SHARED.joinpath(*parts)
        if not p.exists():
            raise FileNotFoundError(f"expected shared file {p} is missing")
        return p
    for folder in _COPIES:
        copy = folder / parts[-1]
        if copy.exists():
            return copy
    raise FileNotFoundError(
        f"{'/'.join(parts)}: ../shared is absent and tests/data has no copy of this file"
    )


@pytest.fixture
def tmp_cwd(tmp_path, monkeypatch):
    """Run a test inside an empty temporary working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------- browser tests
# Tests marked `browser` (tests/browser/) drive headless Chromium. Where none can run they are
# deselected and the terminal summary says how many and why, in one line (never a silent skip);
# with CI=true nothing is deselected and the browser fixture fails each test with the reason.
_BROWSER_NOT_RUN = pytest.StashKey[tuple]()


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


def pytest_collection_modifyitems(config, items):
    browser = [item for item in items if item.get_closest_marker("browser")]
    if not browser:
        return
    reason = browser_unavailable()
    if reason is None or os.environ.get("CI") == "true":
        return
    items[:] = [item for item in items if not item.get_closest_marker("browser")]
    config.hook.pytest_deselected(items=browser)
    config.stash[_BROWSER_NOT_RUN] = (len(browser), reason)
    if hasattr(config, "workeroutput"):  # an xdist worker: the controller prints the line
        config.workeroutput["browser_not_run"] = (len(browser), reason)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    # xdist controller: every worker collected the same tests; keep one worker's count
    out = getattr(node, "workeroutput", {}).get("browser_not_run")
    if out:
        node.config.stash[_BROWSER_NOT_RUN] = tuple(out)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    not_run = config.stash.get(_BROWSER_NOT_RUN, None)
    if not_run:
        n, reason = not_run
        terminalreporter.write_line(f"{n} browser test{'s' if n != 1 else ''} not run: {reason}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Chromium for the browser tests; fails (never skips) with the reason when there is none."""
    reason = browser_unavailable()
    if reason is not None:
        pytest.fail(f"browser test cannot run: {reason}"
                    + (" (CI=true: browser tests are required)" if os.environ.get("CI") == "true" else ""))
    return chromium_executable()
