"""Experiment sheets: which solutions, temperature and configuration apply to which files."""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from ephys_correct._resources import read_user_file, tomllib
from ephys_correct.batch.settings import SETTING_FIELDS, SETTING_NAMES, SHEET_COLUMN_OF, parse_setting
from ephys_correct.errors import RecipeError, suggest


#: largest experiment sheet read, bytes (a larger file, a FIFO or a device is refused unread)
MAX_SHEET_BYTES = 32 * 1024 * 1024

#: columns an experiment sheet may have (``pattern`` is required): one per field of
#: :class:`~ephys_correct.batch.settings.Settings`, between ``pattern`` and ``notes``
SHEET_COLUMNS = ("pattern", *(SHEET_COLUMN_OF[name] for name in SETTING_NAMES), "notes")


# =========================================================================== sheets
def _matches(self, relpath: str) -> bool:
    """True when *relpath* (posix, relative to its input folder) matches.

    Parameters
    ----------
    relpath : str
        Path of the recording relative to the folder given.

    Returns
    -------
    bool
    """
    pat = self.pattern.lower().replace("\\", "/")
    rel = relpath.lower()
    if "/" not in pat:
        rel = rel.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(rel, pat)


def _sheet_row_doc() -> str:
    lines = ["One row of an experiment sheet: files matching *pattern* use these settings.", "",
             "One field per column: ``pattern``, the settings of",
             ":class:`~ephys_correct.batch.settings.Settings` (None: an empty cell, the run's",
             "option applies), ``notes`` and the row's ``line``.", "",
             "Parameters", "----------",
             "pattern : str",
             "    Glob pattern (``*``, ``?``, ``[...]``; case-insensitive).  A pattern",
             "    without ``/`` is matched against the file name, one with ``/`` against",
             "    the path relative to the folder given on the command line (``*``",
             "    crosses ``/``)."]
    for f in SETTING_FIELDS:
        doc = f.metadata["doc"]
        lines += [f"{f.name} : {f.type.replace(' | None', '')} or None", f"    {doc[0].upper()}{doc[1:]}."]
    lines += ["notes : str or None", "    Free text (ignored).",
              "line : int", "    Line (CSV) or entry number (TOML) in the sheet, for messages."]
    return "\n".join(lines)


_matches.__name__, _matches.__qualname__ = "matches", "SheetRow.matches"
SheetRow = dataclasses.make_dataclass(
    "SheetRow",
    [("pattern", "str"),
     *((f.name, f"{f.type.replace(' | None', '')} | None", dataclasses.field(default=None)) for f in SETTING_FIELDS),
     ("notes", "str | None", dataclasses.field(default=None)),
     ("line", "int", dataclasses.field(default=0))],
    frozen=True, namespace={"matches": _matches, "__doc__": _sheet_row_doc()})
SheetRow.__module__ = __name__


@dataclass(frozen=True)
class ExperimentSheet:
    """An experiment sheet: ordered rows, the first matching row wins.

    Attributes
    ----------
    rows : tuple of SheetRow
    path : str or None
        File the sheet was read from (relative recipe paths are taken
        relative to its folder).
    """

    rows: tuple[SheetRow, ...]
    path: str | None = None

    def match(self, relpath: str) -> SheetRow | None:
        """The first row whose pattern matches *relpath*, or None."""
        for row in self.rows:
            if row.matches(relpath):
                return row
        return None


def _sheet_value(key: str, value: Any, where: str) -> Any:
    """A sheet cell (or TOML value) of column *key*; an empty cell is None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if key in ("pattern", "notes"):
        if not isinstance(value, str):
            raise RecipeError(f"{where}: {key} must be text, got {value!r}.")
        return value
    value = parse_setting(key, value, error=RecipeError, where=where, text=True)
    # a sheet's numbers are floats (TOML 32 and CSV "32" hash alike in the resume marker)
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else value


def _row_from_mapping(data: Mapping[str, Any], where: str, line: int) -> SheetRow:
    unknown = [k for k in data if k not in SHEET_COLUMNS]
    if unknown:
        raise RecipeError(f"{where}: unknown column {unknown[0]!r}; allowed: {list(SHEET_COLUMNS)}."
                          + suggest(str(unknown[0]), SHEET_COLUMNS))
    values = {_FIELD_OF_COLUMN[k]: _sheet_value(_FIELD_OF_COLUMN[k], data.get(k), where) for k in SHEET_COLUMNS}
    if not values["pattern"]:
        raise RecipeError(f"{where}: 'pattern' is empty; every row needs a file glob pattern.")
    return SheetRow(**values, line=line)


#: sheet column -> SheetRow field
_FIELD_OF_COLUMN = {"pattern": "pattern", "notes": "notes", **{c: n for n, c in SHEET_COLUMN_OF.items()}}


def load_sheet(path: str | os.PathLike) -> ExperimentSheet:
    """Read an experiment sheet (CSV or TOML).

    CSV: a header row with ``pattern`` and any of :data:`SHEET_COLUMNS`; lines
    starting with ``#`` are comments.  TOML: ``schema_version = 1`` and one
    ``[[recording]]`` table per row with the same keys.  Empty cells fall back
    to the run's options.

    Raises
    ------
    FileNotFoundError
        The sheet does not exist.
    RecipeError
        Unknown column, empty pattern, a temperature or LJP that is not a
        number, unknown file type; a path that is not a regular file (a FIFO,
        a device) or is longer than :data:`MAX_SHEET_BYTES` (refused unread).
    """
    p = Path(path)
    try:  # bounded: a FIFO, a device or a huge file is refused before it is read
        raw = read_user_file(p, max_bytes=MAX_SHEET_BYTES, what="sheet file", error=RecipeError)
    except FileNotFoundError:
        raise FileNotFoundError(f"Experiment sheet not found: {p}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecipeError(f"{p}: not UTF-8 text: {exc}") from None
    rows: list[SheetRow] = []
    suffix = p.suffix.lower()
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RecipeError(f"{p}: not valid TOML: {exc}") from None
        extra = set(data) - {"schema_version", "recording", "notes", "description"}
        if extra:
            key = sorted(extra)[0]
            raise RecipeError(f"{p}: unknown key {key!r}; a sheet has 'schema_version' and [[recording]] tables."
                              + suggest(key, ["schema_version", "recording"]))
        if data.get("schema_version", 1) != 1:
            raise RecipeError(f"{p}: unsupported schema_version {data['schema_version']!r} (this version reads 1).")
        entries = data.get("recording", [])
        if not isinstance(entries, list):
            raise RecipeError(f"{p}: 'recording' must be an array of tables ([[recording]]).")
        for i, entry in enumerate(entries, 1):
            rows.append(_row_from_mapping(entry, f"{p}: [[recording]] #{i}", i))
    elif suffix in (".csv", ".tsv", ".txt"):
        lines = [(n, ln) for n, ln in enumerate(text.splitlines(), 1)
                 if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines:
            raise RecipeError(f"{p}: the sheet is empty.")
        delim = "\t" if suffix == ".tsv" else ","
        reader = csv.reader([ln for _, ln in lines], delimiter=delim)
        header = [h.strip() for h in next(reader)]
        if "pattern" not in header:
            raise RecipeError(f"{p}: the header row {header} has no 'pattern' column.")
        for (n, _), cells in zip(lines[1:], reader):
            if len(cells) > len(header):
                raise RecipeError(f"{p}: line {n}: {len(cells)} cells but {len(header)} columns.")
            rows.append(_row_from_mapping(dict(zip(header, cells)), f"{p}: line {n}", n))
    else:
        raise RecipeError(f"{p}: an experiment sheet must be .csv, .tsv or .toml, got {suffix!r}.")
    if not rows:
        raise RecipeError(f"{p}: the sheet has no rows.")
    return ExperimentSheet(tuple(rows), str(p))
