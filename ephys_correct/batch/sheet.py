"""Experiment sheets: which solutions, temperature and configuration apply to which files."""

from __future__ import annotations

import csv
import fnmatch
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from ephys_correct._resources import tomllib
from ephys_correct.errors import RecipeError, suggest


#: columns an experiment sheet may have (``pattern`` is required)
SHEET_COLUMNS = ("pattern", "pipette", "bath", "temperature_c", "configuration", "ljp_mv",
                 "perforating_agent", "clamp_mode", "ljp_method", "zeroing_temperature_c", "ph", "headstages",
                 "unit_fix", "notes")


# =========================================================================== sheets
@dataclass(frozen=True)
class SheetRow:
    """One row of an experiment sheet: files matching *pattern* use these settings.

    Attributes
    ----------
    pattern : str
        Glob pattern (``*``, ``?``, ``[...]``; case-insensitive).  A pattern
        without ``/`` is matched against the file name, one with ``/`` against
        the path relative to the folder given on the command line (``*``
        crosses ``/``).
    pipette, bath : str or None
        Solution (solutions_db name or recipe file; a relative file path is
        taken relative to the sheet).
    temperature_c : float or None
    configuration : str or None
        ``"whole-cell"``, ``"perforated"``, ... (see ``ephys_correct.correction``).
    ljp_mv : float or None
        A measured or separately computed LJP (V_L, bath relative to pipette,
        mV) used instead of the computed one.
    perforating_agent : str or None
    clamp_mode : str or None
        Passed to :func:`ephys_correct.io.read_recording` for files whose
        headers do not establish it: one mode for every headstage
        (``"voltage_clamp"``, ``"current_clamp"``, ``"i_zero"``) or per
        headstage ``"0=voltage_clamp,1=current_clamp"``.
    ljp_method : str or None
    zeroing_temperature_c : float or None
        Temperature at which the pipette offset was zeroed (LJP); default
        *temperature_c*.
    ph : float or None
        pH of the pipette solution measured at the recording temperature; default:
        computed from the recipe pH and the temperature at which it was set.
    headstages : str or None
        Channel -> headstage mapping, ``"0=0,1=0,IN 2=none"`` (see
        :func:`ephys_correct.batch.settings.parse_headstages`).
    unit_fix : str or None
        Channel unit fixes, ``"0=mV/20"`` or ``"IN 0=mV*0.05"`` (see
        :func:`ephys_correct.batch.settings.parse_unit_fix`).
    notes : str or None
        Free text (ignored).
    line : int
        Line (CSV) or entry number (TOML) in the sheet, for messages.
    """

    pattern: str
    pipette: str | None = None
    bath: str | None = None
    temperature_c: float | None = None
    configuration: str | None = None
    ljp_mv: float | None = None
    perforating_agent: str | None = None
    clamp_mode: str | None = None
    ljp_method: str | None = None
    zeroing_temperature_c: float | None = None
    ph: float | None = None
    headstages: str | None = None
    unit_fix: str | None = None
    notes: str | None = None
    line: int = 0

    def matches(self, relpath: str) -> bool:
        """True when *relpath* (posix, relative to its input folder) matches."""
        pat = self.pattern.lower().replace("\\", "/")
        rel = relpath.lower()
        if "/" not in pat:
            rel = rel.rsplit("/", 1)[-1]
        return fnmatch.fnmatchcase(rel, pat)


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
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if key in ("temperature_c", "ljp_mv", "zeroing_temperature_c", "ph"):
        if isinstance(value, bool):
            raise RecipeError(f"{where}: {key} must be a number, got {value!r}.")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise RecipeError(f"{where}: {key} must be a number, got {value!r}.") from None
        if not math.isfinite(v):
            raise RecipeError(f"{where}: {key} must be finite, got {value!r}.")
        if key == "ph" and not 0 < v < 14:
            raise RecipeError(f"{where}: ph {v!r} is not a pH (0..14).")
        if key not in ("ljp_mv", "ph") and not -5 <= v <= 60:
            raise RecipeError(f"{where}: temperature_c {v!r} degC is outside -5..60.")
        return v
    if not isinstance(value, str):
        raise RecipeError(f"{where}: {key} must be text, got {value!r}.")
    return value


def _row_from_mapping(data: Mapping[str, Any], where: str, line: int) -> SheetRow:
    unknown = [k for k in data if k not in SHEET_COLUMNS]
    if unknown:
        raise RecipeError(f"{where}: unknown column {unknown[0]!r}; allowed: {list(SHEET_COLUMNS)}."
                          + suggest(str(unknown[0]), SHEET_COLUMNS))
    values = {k: _sheet_value(k, data.get(k), where) for k in SHEET_COLUMNS}
    if not values["pattern"]:
        raise RecipeError(f"{where}: 'pattern' is empty; every row needs a file glob pattern.")
    return SheetRow(**values, line=line)


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
        number, unknown file type.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
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
