"""Every number in a data file names a source, and every source key resolves."""

from __future__ import annotations

import csv
import io
from importlib import resources

import pytest

from ephys_correct._resources import read_toml
from ephys_correct.sources import UnknownSourceError, load_sources, resolve

DATA = resources.files("ephys_correct").joinpath("data")


def _csv_files():
    return sorted(p.name for p in DATA.iterdir() if p.name.endswith(".csv"))


def _toml_data_files():
    return sorted(p.name for p in DATA.iterdir()
                  if p.name.endswith(".toml") and not p.name.startswith("sources"))


def _source_keys_in(obj, path=""):
    """(path, key) for every string under a key named 'source' or '*_source' in a TOML tree."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            here = f"{path}.{k}" if path else k
            if (k == "source" or k.endswith("_source")) and isinstance(v, str):
                yield here, v
            else:
                yield from _source_keys_in(v, here)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _source_keys_in(v, f"{path}[{i}]")


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("fname", _csv_files())
def test_csv_numbers_have_resolving_sources(fname):
    text = DATA.joinpath(fname).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO("".join(l for l in io.StringIO(text) if not l.startswith("#")))))
    assert rows, f"{fname} is empty"
    source_cols = [c for c in rows[0] if c.endswith("_source") or c == "source"]
    assert source_cols, f"{fname} has no source column"
    numeric_cols = [c for c in rows[0] if c not in ("charge",) and not c.endswith(("_source", "_locator"))
                    and any(_is_number(r[c] or "") for r in rows)]
    for i, row in enumerate(rows, start=2):
        for col in numeric_cols:
            if not _is_number(row[col] or ""):
                continue
            # the source column for a numeric column: longest *_source column sharing its first word
            stem = col.split("_")[0]
            candidates = [c for c in source_cols if c.split("_")[0] == stem] or source_cols
            key = next((row[c] for c in candidates if row[c]), "")
            assert key, f"{fname}:{i} {col}={row[col]} has no source"
            resolve(key)  # raises UnknownSourceError


@pytest.mark.parametrize("fname", _toml_data_files())
def test_toml_source_keys_resolve(fname):
    data = read_toml(fname)
    for where, key in _source_keys_in(data):
        try:
            resolve(key)
        except UnknownSourceError as exc:  # pragma: no cover - the assertion is the test
            pytest.fail(f"{fname} {where}: {exc}")


def test_every_source_has_citation_and_locator_or_doi():
    for key, entry in load_sources().items():
        assert entry["citation"].strip(), key
        assert any(entry.get(k) for k in ("locator", "doi", "url")), f"{key}: no locator, doi or url"


def test_unknown_key_raises_with_suggestion():
    with pytest.raises(UnknownSourceError, match="lange15_t8_32"):
        resolve("lange15_t8_23")
