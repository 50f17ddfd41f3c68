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


def pytest_terminal_summary(terminalreporter):
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
