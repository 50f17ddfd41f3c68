"""Access to the package's data files through importlib.resources."""

from __future__ import annotations

import csv
import io
import sys
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["read_text", "read_csv_rows", "read_toml", "list_data_files", "tomllib"]


def _data_dir():
    return resources.files("ephys_correct").joinpath("data")


def read_text(name: str) -> str:
    """Return the text of ``ephys_correct/data/<name>``."""
    return _data_dir().joinpath(name).read_text(encoding="utf-8")


def read_csv_rows(name: str) -> list[dict[str, str]]:
    """Rows of a packaged CSV file as dictionaries (lines starting with '#' skipped)."""
    text = "".join(ln for ln in io.StringIO(read_text(name)) if not ln.startswith("#"))
    return list(csv.DictReader(io.StringIO(text)))


def read_toml(name: str) -> dict[str, Any]:
    """Parse a packaged TOML file."""
    return tomllib.loads(read_text(name))


def list_data_files(pattern_prefix: str = "", suffix: str = "") -> list[str]:
    """Names of packaged data files starting with *pattern_prefix* and ending with *suffix*."""
    return sorted(
        p.name
        for p in _data_dir().iterdir()
        if p.name.startswith(pattern_prefix) and p.name.endswith(suffix)
    )
