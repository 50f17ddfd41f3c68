"""The bibliography behind every number in the data files.

All ``ephys_correct/data/sources*.toml`` files are merged; a key defined twice
is an error (two files must not disagree about what a key means).
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

from ._resources import list_data_files, read_toml
from .errors import DataFileError, EphysCorrectError, suggest

__all__ = ["load_sources", "resolve", "UnknownSourceError"]


class UnknownSourceError(EphysCorrectError, KeyError):
    """A source key that no sources*.toml file defines."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@lru_cache(maxsize=1)
def load_sources() -> Mapping[str, Mapping[str, str]]:
    """Return the merged bibliography, key -> {citation, locator, doi/url, note}.

    Returns
    -------
    Mapping[str, Mapping[str, str]]
        Read-only, loaded once (cached).

    Raises
    ------
    DataFileError
        A key defined in two files, or an entry without ``citation``.
    """
    merged: dict[str, Mapping[str, str]] = {}
    origin: dict[str, str] = {}
    for fname in list_data_files("sources", ".toml"):
        table = read_toml(fname).get("sources", {})
        for key, entry in table.items():
            if key in merged:
                raise DataFileError(
                    f"Source key {key!r} is defined in both {origin[key]} and {fname}."
                )
            if "citation" not in entry:
                raise DataFileError(f"Source {key!r} in {fname} has no 'citation'.")
            merged[key] = MappingProxyType(dict(entry))
            origin[key] = fname
    return MappingProxyType(merged)


def resolve(key: str) -> Mapping[str, str]:
    """Return the bibliography entry for *key*; UnknownSourceError if there is none.

    Parameters
    ----------
    key : str
        A source key of ``ephys_correct/data/sources*.toml``.

    Returns
    -------
    Mapping[str, str]
        The entry's fields: ``citation`` always; ``locator``, ``doi``,
        ``url``, ``note`` when given.

    Raises
    ------
    UnknownSourceError
        No entry has this key; the message suggests close keys.
    """
    sources = load_sources()
    try:
        return sources[key]
    except KeyError:
        raise UnknownSourceError(
            f"Unknown source key {key!r}." + suggest(key, sources)
        ) from None
