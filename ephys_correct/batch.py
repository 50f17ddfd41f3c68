"""Correct many recordings at once: locally on all cores, or on a Dask cluster.

:func:`run_batch` finds the recordings (folders are searched recursively),
decides the solutions and temperature of each file (command-line options or an
:class:`ExperimentSheet`), corrects every file with
:func:`ephys_correct.correction.correct_recording`, and writes per file

``<stem>.corrected.npz``
    The corrected traces and their metadata (see :func:`load_corrected_npz`).
``<stem>.driving_force.<fmt>``
    :func:`ephys_correct.report.driving_force_table`.
``<stem>.nwb`` (only with ``nwb=True``; NWB writing is slow)
``<stem>.sweep0.png``, ``<stem>.driving_force.png`` (only with ``plots=True``)
``<stem>.done.json``
    The done-marker: input SHA-256, the options and their hash, the outputs
    and the summary row.  Written last.

plus one ``summary.<fmt>`` for the whole run (one row per file: ``file,
status, reason, ljp_mv, n_sweeps, mean_Vm_mV_hs<k>, seconds, ...``).

Outputs mirror the sub-folders of an input folder.  Every file is written
atomically (temporary file + :func:`os.replace`); inputs are only read.

Resuming
--------
A file whose done-marker records the same input SHA-256 and the same options
hash, and whose outputs all exist, is *skipped*.  Outputs left by a run with
other options, or files not written by a finished run, are never overwritten
unless ``force=True``: the file fails with the reason instead.  An interrupted
file (an in-progress marker ``.<stem>.partial.json`` with the same input and
options) is redone without ``force``.

A file that fails (unreadable, no matching sheet row, clamp mode unknown, ...)
is reported with its reason; the run goes on.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import json
import math
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._resources import tomllib
from .errors import (
    EphysCorrectError,
    OutputExistsError,
    ParameterError,
    RecipeError,
    suggest,
)

__all__ = [
    "DEFAULT_EXTENSIONS",
    "TABLE_FORMATS",
    "SHEET_COLUMNS",
    "SheetRow",
    "ExperimentSheet",
    "load_sheet",
    "find_recordings",
    "FileSettings",
    "BatchResult",
    "run_batch",
    "load_corrected_npz",
    "output_stem",
]

#: file extensions collected when a folder is searched (patch-clamp formats that
#: ``ephys_correct.io.read_recording`` reads through pyabf or neo); extend with
#: ``run_batch(extensions=...)`` / ``--ext``
DEFAULT_EXTENSIONS = (".abf", ".wcp", ".axgx", ".axgd", ".edr", ".smr", ".smrx", ".cfs", ".ibw", ".pxp")
#: table formats of the driving-force tables and the summary
TABLE_FORMATS = ("csv", "parquet", "xlsx", "md")
#: columns an experiment sheet may have (``pattern`` is required)
SHEET_COLUMNS = ("pattern", "pipette", "bath", "temperature_c", "configuration", "ljp_mv",
                 "perforating_agent", "clamp_mode", "ljp_method", "zeroing_temperature_c", "notes")
MARKER_VERSION = 1
_SUMMARY_BASE = ("file", "status", "reason", "ljp_mv", "n_sweeps")


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
    if key in ("temperature_c", "ljp_mv", "zeroing_temperature_c"):
        if isinstance(value, bool):
            raise RecipeError(f"{where}: {key} must be a number, got {value!r}.")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise RecipeError(f"{where}: {key} must be a number, got {value!r}.") from None
        if not math.isfinite(v):
            raise RecipeError(f"{where}: {key} must be finite, got {value!r}.")
        if key != "ljp_mv" and not -5 <= v <= 60:
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


# =========================================================================== inputs
def find_recordings(inputs: Iterable[str | os.PathLike], *, extensions: Sequence[str] = DEFAULT_EXTENSIONS,
                    exclude: Iterable[str | os.PathLike] = ()) -> list[tuple[Path, str]]:
    """Recordings named by *inputs*, each as ``(path, relative path)``.

    Files are taken as given (any extension); folders are searched recursively
    for *extensions* (case-insensitive), skipping hidden entries and the
    *exclude* folders (e.g. the output folder).  The relative path (posix) is
    relative to the folder given, or the file name for a file; sheets match
    against it and outputs mirror it.

    Raises
    ------
    FileNotFoundError
        An input does not exist.
    """
    exts = {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}
    excl = {Path(e).resolve() for e in exclude}
    out: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def add(p: Path, rel: str) -> None:
        r = p.resolve()
        if r not in seen:
            seen.add(r)
            out.append((p, rel))

    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(p):
                d = Path(dirpath)
                dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and (d / n).resolve() not in excl)
                for name in filenames:
                    if not name.startswith(".") and os.path.splitext(name)[1].lower() in exts:
                        found.append(d / name)
            for f in sorted(found):
                add(f, f.relative_to(p).as_posix())
        elif p.exists():
            add(p, p.name)
        else:
            raise FileNotFoundError(f"Input not found: {p}")
    return out


def output_stem(relpath: str) -> str:
    """Output name (posix, relative to the output folder) for a recording's relative path."""
    rel = Path(relpath)
    return (rel.parent / rel.stem).as_posix() if rel.parent != Path(".") else rel.stem


# =========================================================================== settings
@dataclass(frozen=True)
class _SolSpec:
    """A picklable reference to a solution (a recipe file, or plain ions)."""

    kind: str  # "path" | "ions"
    name: str
    sha256: str
    path: str | None = None
    ions: tuple[tuple[str, float], ...] = ()
    neutrals: tuple[tuple[str, float], ...] = ()
    role: str | None = None


def _sol_spec(obj: Any, base: Path | None) -> _SolSpec:
    from .solutions import Solution

    if isinstance(obj, Solution):
        sol = obj
    else:
        if isinstance(obj, (str, os.PathLike)) and base is not None:
            cand = base / str(obj)
            if (str(obj).lower().endswith(".toml") or "/" in str(obj)) and cand.exists():
                obj = cand
        if isinstance(obj, Mapping):
            sol = Solution.from_ions(obj, name="custom")
        else:
            sol = _load_cached(str(obj))
    if sol.path and not sol.rebalanced and not sol.speciation:
        return _SolSpec("path", sol.name, sol.sha256, path=str(Path(sol.path).resolve()), role=sol.role)
    return _SolSpec("ions", sol.name, sol.sha256, ions=tuple(sorted(sol.ions_mm.items())),
                    neutrals=tuple(sorted(sol.neutrals_mm.items())), role=sol.role)


@lru_cache(maxsize=64)
def _load_cached(name_or_path: str):
    from .solutions import load_solution

    return load_solution(name_or_path)


@lru_cache(maxsize=64)
def _solution_from_spec(spec: _SolSpec):
    from .solutions import Solution, load_solution

    if spec.kind == "path":
        sol = load_solution(spec.path)
        if sol.sha256 != spec.sha256:
            raise RecipeError(f"{spec.path}: the recipe file changed during the run "
                              f"(sha256 {sol.sha256[:12]} != {spec.sha256[:12]}).")
        return sol
    return Solution(name=spec.name, ions_mm=dict(spec.ions), neutrals_mm=dict(spec.neutrals), role=spec.role,
                    sha256=spec.sha256)


@dataclass(frozen=True)
class FileSettings:
    """What one recording is corrected with (after sheet matching).

    Attributes
    ----------
    pipette, bath : str
        Solution names (for the summary).
    temperature_c : float
    configuration : str
    ljp_method : str
    ljp_mv : float or None
        Given LJP (V_L, mV) overriding the computed one.
    perforating_agent, clamp_mode : str or None
    zeroing_temperature_c : float or None
        Temperature at which the offset was zeroed (LJP); None: *temperature_c*.
    sheet_line : int or None
        Matching sheet row, None when the run's options were used.
    """

    pipette: str
    bath: str
    temperature_c: float
    configuration: str
    ljp_method: str
    ljp_mv: float | None = None
    perforating_agent: str | None = None
    clamp_mode: str | None = None
    zeroing_temperature_c: float | None = None
    sheet_line: int | None = None
    _pipette: _SolSpec | None = field(default=None, repr=False)
    _bath: _SolSpec | None = field(default=None, repr=False)

    def options(self) -> dict[str, Any]:
        """The settings as hashed into the done-marker."""
        return {
            "pipette": self.pipette, "pipette_sha256": self._pipette.sha256 if self._pipette else None,
            "bath": self.bath, "bath_sha256": self._bath.sha256 if self._bath else None,
            "temperature_c": self.temperature_c, "configuration": self.configuration,
            "ljp_method": self.ljp_method, "ljp_mv": self.ljp_mv,
            "perforating_agent": self.perforating_agent, "clamp_mode": self.clamp_mode,
            "zeroing_temperature_c": self.zeroing_temperature_c,
        }


@dataclass(frozen=True)
class _Task:
    path: str
    relpath: str
    stem: str
    out_dir: str
    settings: FileSettings | None
    error: str | None
    fmt: str
    nwb: bool
    plots: bool
    force: bool
    options: Mapping[str, Any]
    options_hash: str


def _options_hash(options: Mapping[str, Any]) -> str:
    blob = json.dumps(options, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# =========================================================================== results
@dataclass(frozen=True)
class BatchResult:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    rows : tuple of dict
        One summary row per file, in input order.
    summary : pandas.DataFrame
        The same rows as a table (written to *summary_path*).
    summary_path : pathlib.Path
    out_dir : pathlib.Path
    """

    rows: tuple[dict, ...]
    summary: Any
    summary_path: Path
    out_dir: Path

    def _count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    @property
    def n_ok(self) -> int:
        """Files corrected in this run."""
        return self._count("ok")

    @property
    def n_failed(self) -> int:
        """Files that failed (see the ``reason`` column)."""
        return self._count("failed")

    @property
    def n_skipped(self) -> int:
        """Files already done by an earlier run with the same input and options."""
        return self._count("skipped")

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return self.n_failed == 0


# =========================================================================== writing helpers
def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write *data* to a temporary file beside *path*, then rename it over *path*."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{time.monotonic_ns()}.tmp")
    try:
        with open(tmp, "xb") as f:  # normal permissions (umask), unlike mkstemp's 0600
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _atomic_write_json(path: Path, obj: Any) -> None:
    _atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n").encode())


def _write_npz(path: Path, corrected) -> None:
    """Corrected traces -> ``.npz`` (atomic)."""
    import numpy as np

    rec = corrected.recording
    channels = list(rec.channels)
    n_sweeps = int(rec.n_sweeps)
    lengths = [int(n) for n in rec.sweep_lengths]
    arrays: dict[str, Any] = {}
    equal = len(set(lengths)) == 1
    if equal:
        data = np.empty((n_sweeps, len(channels), lengths[0]), dtype=np.float32)
        for s in range(n_sweeps):
            for c in range(len(channels)):
                data[s, c] = corrected.sweep_data(s, c)
        arrays["data"] = data
    else:
        for s in range(n_sweeps):
            for c in range(len(channels)):
                arrays[f"sweep_{s:05d}_ch{c:02d}"] = corrected.sweep_data(s, c).astype(np.float32)
    corrections = [sc.as_dict() for sc in getattr(corrected, "channel_corrections", ())]
    # corrected command waveforms of the DACs that command a headstage (the HTML report shows them)
    commands = [sc for sc in getattr(corrected, "command_corrections", ())
                if sc.headstage is not None and rec.has_command(sc.index)]
    for sc in commands:
        cmd = [corrected.command(s, sc.index).astype(np.float32) for s in range(n_sweeps)]
        arrays.update({f"command_dac{sc.index}": np.stack(cmd)} if equal else
                      {f"command_{s:05d}_dac{sc.index}": c for s, c in enumerate(cmd)})
    meta = {
        "format": "ephys_correct corrected traces v1",
        "layout": "data[sweep, channel, sample]" if equal else "sweep_<s>_ch<c>",
        "dtype": "float32",
        "source": rec.path,
        "sample_rate_hz": float(rec.sample_rate_hz),
        "t_start_s": float(rec.t_start_s),
        "sweep_start_s": [float(x) for x in rec.sweep_start_s],
        "sweep_lengths": lengths,
        "channels": [{"index": ch.index, "name": ch.name, "units": ch.units, "kind": ch.kind,
                      "headstage": ch.headstage, "units_suspect": bool(ch.units_suspect),
                      "correction": corrections[ch.index] if ch.index < len(corrections) else None}
                     for ch in channels],
        "commands": [{"dac": sc.index, "name": sc.name, "units": sc.units, "headstage": sc.headstage,
                      "correction": sc.as_dict()} for sc in commands],
        "ljp_mv_by_headstage": {str(k): v for k, v in corrected.ljp_mv_by_headstage.items()},
        "provenance": corrected.provenance,
    }
    arrays["metadata_json"] = np.array(json.dumps(meta, default=str))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _atomic_write_bytes(path, buf.getvalue())


def _mean_vm(corrected, table) -> tuple[dict[str, float], list[str]]:
    """Mean over sweeps of the corrected V_m of each headstage.

    Taken from the driving-force table (one V_m per sweep and headstage, see
    :meth:`CorrectedRecording.membrane_potential`); a headstage with no row
    there (no ion on both sides) is computed directly.
    """
    out: dict[str, float] = {}
    problems: list[str] = []
    have = set()
    if len(table) and {"headstage", "sweep", "V_m_mV"} <= set(table.columns):
        per_sweep = table.drop_duplicates(["headstage", "sweep"])
        for hs, g in per_sweep.groupby("headstage"):
            out[str(int(hs))] = float(g["V_m_mV"].mean())
            have.add(int(hs))
    for hs in corrected.recording.headstages:
        if hs.index in have or not hs.channels:
            continue
        try:
            vals = [corrected.membrane_potential(s, hs.index)[0] for s in range(corrected.n_sweeps)]
        except EphysCorrectError as exc:
            problems.append(f"headstage {hs.index}: no V_m ({_reason(exc)})")
            continue
        out[str(hs.index)] = float(sum(vals) / len(vals))
    return dict(sorted(out.items(), key=lambda kv: int(kv[0]))), problems


def load_corrected_npz(path: str | os.PathLike) -> tuple[Any, dict]:
    """Read a ``<stem>.corrected.npz`` written by :func:`run_batch`.

    Returns
    -------
    data : numpy.ndarray or dict
        ``(sweeps, channels, samples)`` float32 array in the channels' units
        (mV, pA), or, when sweeps differ in length, a dict
        ``(sweep, channel) -> 1-D array``.
    metadata : dict
        ``channels`` (index, name, units, kind, headstage, offset_applied),
        ``sample_rate_hz``, ``t_start_s``, ``sweep_start_s``, ``sweep_lengths``,
        ``ljp_mv``, ``provenance``, ``source``; ``commands`` (dac, name,
        units, headstage, correction) describes the corrected command
        waveforms stored beside the data as ``command_dac<d>`` (sweeps x
        samples), read by :mod:`ephys_correct.html_report`.
    """
    import numpy as np

    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["metadata_json"]))
        if "data" in z.files:
            return z["data"], meta
        out = {}
        for key in z.files:
            if key.startswith("sweep_"):
                s, c = key[len("sweep_"):].split("_ch")
                out[(int(s), int(c))] = z[key]
        return out, meta


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# =========================================================================== one file
def _outputs_for(task: _Task) -> dict[str, Path]:
    base = Path(task.out_dir) / task.stem
    outs = {
        "traces": base.with_name(base.name + ".corrected.npz"),
        "table": base.with_name(base.name + f".driving_force.{task.fmt}"),
    }
    if task.fmt == "csv":  # report.write_table puts the attrs in a JSON sidecar
        outs["table_sidecar"] = outs["table"].with_name(outs["table"].name + ".json")
    if task.nwb:
        outs["nwb"] = base.with_name(base.name + ".nwb")
        outs["nwb_sidecar"] = base.with_name(base.name + ".nwb.json")  # nwb.write_nwb's provenance
    if task.plots:
        outs["plot_sweep"] = base.with_name(base.name + ".sweep0.png")
        outs["plot_driving_force"] = base.with_name(base.name + ".driving_force.png")
    return outs


def _marker_paths(task: _Task) -> tuple[Path, Path]:
    base = Path(task.out_dir) / task.stem
    return (base.with_name(base.name + ".done.json"), base.with_name("." + base.name + ".partial.json"))


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k) and not k.endswith("sha256")]
    if not keys:
        keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys[:4])


def _base_row(task: _Task) -> dict[str, Any]:
    s = task.settings
    return {
        "file": task.path, "status": "failed", "reason": "", "ljp_mv": None, "n_sweeps": None,
        "seconds": 0.0, "output": task.stem,
        "pipette": s.pipette if s else None, "bath": s.bath if s else None,
        "temperature_c": s.temperature_c if s else None, "configuration": s.configuration if s else None,
        "sheet_line": s.sheet_line if s else None, "mean_Vm_mV": {},
    }


def _process_task(task: _Task) -> dict[str, Any]:
    """Correct one recording and write its outputs; never raises (failures are rows)."""
    t0 = time.perf_counter()
    row = _base_row(task)
    try:
        if task.error:
            row["reason"] = task.error
            return row
        _run_task(task, row)
    except Exception as exc:  # a failing file is reported and the run goes on
        row["status"] = "failed"
        row["reason"] = _reason(exc)
    finally:
        row["seconds"] = round(time.perf_counter() - t0, 4)
    return row


def _reason(exc: BaseException) -> str:
    msg = str(exc).strip() or repr(exc)
    msg = " ".join(msg.split())
    if isinstance(exc, EphysCorrectError):
        return f"{type(exc).__name__}: {msg}"
    if isinstance(exc, (OSError, ValueError, KeyError)):
        return f"{type(exc).__name__}: {msg}"
    # an unexpected error is a bug: keep the place it happened
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"unexpected {type(exc).__name__}: {msg}{where}"


def _clamp_mode_arg(text: str):
    """``"current_clamp"`` or ``"0=voltage_clamp,1=current_clamp"`` -> read_recording's clamp_mode."""
    if "=" not in text:
        return text.strip()
    out: dict[int, str] = {}
    for part in text.split(","):
        hs, _, mode = part.partition("=")
        try:
            out[int(hs)] = mode.strip()
        except ValueError:
            raise ParameterError(f"clamp_mode {text!r}: headstage must be an integer in {part!r}") from None
    return out


def _run_task(task: _Task, row: dict[str, Any]) -> None:
    from .correction import correct_recording
    from .io import read_recording
    from .report import driving_force_table, write_table

    outs = _outputs_for(task)
    done_path, partial_path = _marker_paths(task)
    s = task.settings
    # the header first (cheap); its cached SHA-256 serves the marker and the provenance
    rec = read_recording(task.path, clamp_mode=_clamp_mode_arg(s.clamp_mode)) if s.clamp_mode \
        else read_recording(task.path)
    sha = rec.sha256
    marker = _read_json(done_path)
    if not task.force:
        same_input = marker is not None and marker.get("input_sha256") == sha
        same_opts = marker is not None and marker.get("options_hash") == task.options_hash
        if same_input and same_opts:
            if all(Path(task.out_dir, p).exists() for p in marker.get("outputs", {}).values()):
                prev = marker.get("row", {})
                row.update({k: prev.get(k, row.get(k)) for k in ("ljp_mv", "n_sweeps", "mean_Vm_mV")})
                row["status"] = "skipped"
                row["reason"] = f"done earlier ({marker.get('finished', '?')}); same input and options"
                return
            # an output of our own earlier run was deleted: redo the file
        elif marker is not None:
            what = "the input file changed" if not same_input else \
                "options differ: " + _differences(marker.get("options", {}), dict(task.options))
            raise OutputExistsError(f"{done_path.name} records an earlier run ({what}); "
                                    "pass --force (force=True) to redo it, or choose another output folder")
        else:
            partial = _read_json(partial_path)
            ours = partial is not None and partial.get("input_sha256") == sha and \
                partial.get("options_hash") == task.options_hash
            existing = [p for p in outs.values() if p.exists()]
            if existing and not ours:
                raise OutputExistsError(f"{existing[0]} exists and was not written by a finished run "
                                        "with these options; pass --force (force=True) to overwrite")
    # --------------------------------------------------------------- correct
    kwargs: dict[str, Any] = {}
    if s.ljp_mv is not None:
        kwargs["ljp_mv"] = s.ljp_mv
    if s.perforating_agent is not None:
        kwargs["perforating_agent"] = s.perforating_agent
    if s.zeroing_temperature_c is not None:
        kwargs["zeroing_temperature_c"] = s.zeroing_temperature_c
    corrected = correct_recording(rec, pipette=_solution_from_spec(s._pipette), bath=_solution_from_spec(s._bath),
                                  temperature_c=s.temperature_c, configuration=s.configuration,
                                  ljp_method=s.ljp_method, **kwargs)
    table = driving_force_table(corrected)
    ljps = sorted(set(corrected.ljp_mv_by_headstage.values()))
    row["ljp_mv"] = _num(ljps[0]) if len(ljps) == 1 else None
    row["n_sweeps"] = int(corrected.n_sweeps)
    notes = list(getattr(rec, "warnings", ()) or ())
    if len(ljps) > 1:
        notes.append("LJP per headstage: " + ", ".join(
            f"{k}: {v:+.3f} mV" for k, v in corrected.ljp_mv_by_headstage.items()))
    row["mean_Vm_mV"], problems = _mean_vm(corrected, table)
    notes += problems
    # --------------------------------------------------------------- write
    # the in-progress marker lets a rerun finish an interrupted file without --force
    _atomic_write_json(partial_path, {"input": task.path, "input_sha256": sha, "options_hash": task.options_hash})
    outs["table"].parent.mkdir(parents=True, exist_ok=True)
    write_table(table, outs["table"], format=task.fmt, overwrite=True)
    _write_npz(outs["traces"], corrected)
    if task.nwb:
        from .nwb import write_nwb

        write_nwb(corrected, outs["nwb"], overwrite=True)
    if task.plots:
        from . import plot

        plot.plot_sweep(corrected, 0, path=outs["plot_sweep"], overwrite=True)
        plot.plot_driving_force(table, path=outs["plot_driving_force"], overwrite=True,
                                units_suspect=plot.suspect_text(rec))
    row["status"] = "ok"
    row["reason"] = "; ".join(notes)
    _atomic_write_json(done_path, {
        "marker_version": MARKER_VERSION,
        "input": task.path, "input_sha256": sha,
        "options": dict(task.options), "options_hash": task.options_hash,
        "outputs": {k: os.path.relpath(v, task.out_dir) for k, v in outs.items()},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "row": {k: row[k] for k in ("ljp_mv", "n_sweeps", "mean_Vm_mV")},
    })
    try:
        partial_path.unlink()
    except FileNotFoundError:
        pass


# =========================================================================== the run
def _resolve_settings(relpath: str, sheet: ExperimentSheet | None, defaults: Mapping[str, Any],
                      specs: dict, sheet_base: Path | None) -> FileSettings:
    row = sheet.match(relpath) if sheet is not None else None
    if sheet is not None and row is None and (defaults.get("pipette") is None or defaults.get("bath") is None
                                              or defaults.get("temperature_c") is None):
        raise ParameterError(f"no row of the experiment sheet {sheet.path} matches {relpath!r}, and the "
                             "command-line options do not give pipette, bath and temperature")
    merged = dict(defaults)
    if row is not None:
        for key in ("pipette", "bath", "temperature_c", "configuration", "ljp_mv", "perforating_agent",
                    "clamp_mode", "ljp_method", "zeroing_temperature_c"):
            value = getattr(row, key)
            if value is not None:
                merged[key] = value
    where = f"sheet line {row.line} ({row.pattern!r})" if row is not None else "the options"
    for key in ("pipette", "bath", "temperature_c"):
        if merged.get(key) is None:
            opt = "--" + key.replace("_c", "").replace("_", "-")
            raise ParameterError(f"no {key} for {relpath!r}: {where} leaves it empty and {opt} was not given")

    def spec(value, base):
        key = (str(value), str(base))
        if key not in specs:
            specs[key] = _sol_spec(value, base)
        return specs[key]

    base = sheet_base if row is not None else None
    pip = spec(merged["pipette"], base)
    bath = spec(merged["bath"], base)
    return FileSettings(
        pipette=pip.name if not isinstance(merged["pipette"], str) else str(merged["pipette"]),
        bath=bath.name if not isinstance(merged["bath"], str) else str(merged["bath"]),
        temperature_c=float(merged["temperature_c"]),
        configuration=str(merged.get("configuration") or "whole-cell"),
        ljp_method=str(merged.get("ljp_method") or "henderson"),
        ljp_mv=merged.get("ljp_mv"), perforating_agent=merged.get("perforating_agent"),
        clamp_mode=merged.get("clamp_mode"), zeroing_temperature_c=merged.get("zeroing_temperature_c"),
        sheet_line=row.line if row is not None else None,
        _pipette=pip, _bath=bath)


def _check_choices(configuration: str | None, ljp_method: str | None, where: str) -> None:
    """Fail before any file for a configuration or LJP method that no file could use."""
    from .correction import get_configuration
    from .ljp import METHODS

    if configuration is not None:
        try:
            get_configuration(configuration)
        except ParameterError as exc:
            raise ParameterError(f"{where}: {exc}" if where else str(exc)) from None
    if ljp_method is not None and ljp_method not in METHODS:
        msg = (f"Invalid value for the 'ljp_method' parameter. Allowed values are {list(METHODS)}, "
               f"but got {ljp_method!r} instead.")
        raise ParameterError(f"{where}: {msg}" if where else msg)


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    # fork is fastest; it is unsafe once threads run (e.g. a Dask client in this process)
    if "fork" in methods and threading.active_count() == 1 and sys.platform != "darwin":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def run_batch(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    out_dir: str | os.PathLike,
    pipette: Any = None,
    bath: Any = None,
    temperature_c: float | None = None,
    configuration: str = "whole-cell",
    ljp_method: str = "henderson",
    ljp_mv: float | None = None,
    perforating_agent: str | None = None,
    clamp_mode: str | None = None,
    zeroing_temperature_c: float | None = None,
    sheet: ExperimentSheet | str | os.PathLike | None = None,
    format: str = "csv",
    jobs: int | None = None,
    force: bool = False,
    nwb: bool = False,
    plots: bool = False,
    extensions: Sequence[str] = DEFAULT_EXTENSIONS,
    dask_client: Any = None,
    scheduler: str | None = None,
    progress: Callable[[int, int, dict], None] | None = None,
) -> BatchResult:
    """Correct every recording in *inputs* and write the per-file outputs and a summary.

    Parameters
    ----------
    inputs : path or iterable of paths
        Recording files and/or folders (searched recursively for *extensions*).
    out_dir : path
        Output folder (created).  Sub-folders of an input folder are mirrored.
    pipette, bath : Solution, str or mapping, optional
        Default solutions (name, recipe path, Solution or ion mapping); an
        experiment sheet row overrides them per file.
    temperature_c : float, optional
        Default temperature (degC); no default of its own.
    configuration : str
        Default recording configuration (``"whole-cell"``).
    ljp_method : str
        ``"henderson"`` or ``"nernst-planck"``.
    ljp_mv : float, optional
        Given V_L (mV, bath relative to pipette) for every file instead of the
        computed one.
    perforating_agent, clamp_mode : str, optional
        Passed on to the correction / the reader.
    zeroing_temperature_c : float, optional
        Temperature at which the pipette offset was zeroed (LJP); default
        the recording temperature.
    sheet : ExperimentSheet or path, optional
        Per-recording settings (see :func:`load_sheet`); first matching row
        wins; files matching no row use the options above or fail.
    format : {"csv", "parquet", "xlsx", "md"}
        Format of the driving-force tables and of the summary.
    jobs : int, optional
        Worker processes (default: all cores); 1 runs in this process.
    force : bool
        Redo files already done and overwrite existing outputs.
    nwb, plots : bool
        Also write ``<stem>.nwb`` / PNG figures (slow; off by default).
    extensions : sequence of str
        Extensions collected from folders.
    dask_client : distributed.Client, optional
        Run the files on this Dask cluster instead of local processes.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); a client is opened
        and closed for the run.
    progress : callable, optional
        Called as ``progress(done, total, row)`` after each file.

    Returns
    -------
    BatchResult

    Raises
    ------
    ParameterError
        Bad *format*, *jobs*, or no solutions/temperature anywhere.
    UnknownSolutionError, RecipeError
        A solution name or a sheet that cannot be used (checked before any file).
    FileNotFoundError
        An input does not exist.

    Notes
    -----
    Per-file problems never raise: they are rows with ``status="failed"`` and
    a ``reason``.  The summary is rewritten on every run (it describes the
    run); per-file outputs follow the resume rules of the module docstring.
    """
    from .report import write_table

    if format not in TABLE_FORMATS:
        raise ParameterError(f"Invalid value for the 'format' parameter. Allowed values are "
                             f"{list(TABLE_FORMATS)}, but got {format!r} instead.")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ParameterError(f"'jobs' must be a positive integer, got {jobs!r}.")
    if dask_client is not None and scheduler is not None:
        raise ParameterError("give either 'dask_client' or 'scheduler', not both.")
    if temperature_c is not None:
        temperature_c = _sheet_value("temperature_c", temperature_c, "temperature_c")
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out = Path(out_dir)
    if isinstance(sheet, (str, os.PathLike)):
        sheet = load_sheet(sheet)
    if sheet is None and (pipette is None or bath is None or temperature_c is None):
        missing = [n for n, v in (("pipette", pipette), ("bath", bath), ("temperature_c", temperature_c))
                   if v is None]
        raise ParameterError(f"no {', '.join(missing)}: give them, or an experiment sheet that does.")
    sheet_base = Path(sheet.path).resolve().parent if sheet is not None and sheet.path else None
    files = find_recordings(inputs, extensions=extensions, exclude=[out])
    defaults = {"pipette": pipette, "bath": bath, "temperature_c": temperature_c,
                "configuration": configuration, "ljp_method": ljp_method, "ljp_mv": ljp_mv,
                "perforating_agent": perforating_agent, "clamp_mode": clamp_mode,
                "zeroing_temperature_c": zeroing_temperature_c}
    specs: dict = {}
    if pipette is not None:  # check the run's own solutions before any file
        _sol_spec(pipette, None)
    if bath is not None:
        _sol_spec(bath, None)
    _check_choices(configuration, ljp_method, "")
    if sheet is not None:  # every solution named in the sheet must load (a sheet error is a usage error)
        for row in sheet.rows:
            _check_choices(row.configuration, row.ljp_method, f"{sheet.path}: line {row.line}")
            for value in (row.pipette, row.bath):
                if value is not None:
                    specs[(str(value), str(sheet_base))] = _sol_spec(value, sheet_base)
    from . import __version__

    tasks: list[_Task] = []
    stems: dict[str, str] = {}
    for path, rel in files:
        stem = output_stem(rel)
        error = None
        settings = None
        try:
            settings = _resolve_settings(rel, sheet, defaults, specs, sheet_base)
        except EphysCorrectError as exc:
            error = _reason(exc)
        key = stem.lower()
        if error is None and key in stems:
            error = (f"ParameterError: its output name {stem!r} is also used by {stems[key]}; "
                     "correct them in separate runs or rename one")
        stems.setdefault(key, str(path))
        options = {"ephys_correct": __version__, "format": format, "nwb": bool(nwb), "plots": bool(plots),
                   **(settings.options() if settings else {})}
        tasks.append(_Task(str(path), rel, stem, str(out), settings, error, format, bool(nwb), bool(plots),
                           bool(force), options, _options_hash(options)))
    out.mkdir(parents=True, exist_ok=True)
    rows = _execute(tasks, jobs=jobs, dask_client=dask_client, scheduler=scheduler, progress=progress)
    summary = _summary_frame(rows)
    summary.attrs.update({
        "software_version": __version__,
        "inputs": [str(i) for i in inputs],
        "sheet": None if sheet is None else sheet.path,
        "options": {k: (v if isinstance(v, (str, int, float, type(None))) else getattr(v, "name", str(v)))
                    for k, v in defaults.items()},
        "format": format, "nwb": bool(nwb), "plots": bool(plots),
        "counts": {st: sum(r["status"] == st for r in rows) for st in ("ok", "failed", "skipped")},
        "units": {"ljp_mv": "mV", "seconds": "s", "temperature_c": "degC",
                  **{c: "mV" for c in summary.columns if c.startswith("mean_Vm_mV")}},
    })
    summary_path = out / f"summary.{format}"
    write_table(summary, summary_path, format=format, overwrite=True)
    return BatchResult(tuple(rows), summary, summary_path, out)


def _execute(tasks: list[_Task], *, jobs: int | None, dask_client: Any, scheduler: str | None,
             progress: Callable | None) -> list[dict]:
    n = len(tasks)
    results: list[dict | None] = [None] * n
    done = 0

    def finish(i: int, row: dict) -> None:
        nonlocal done
        results[i] = row
        done += 1
        if progress is not None:
            progress(done, n, row)

    # files that fail before any work (no sheet row, name clash) need no worker
    work = []
    for i, t in enumerate(tasks):
        if t.error:
            finish(i, _process_task(t))
        else:
            work.append(i)
    if dask_client is not None or scheduler is not None:
        _execute_dask(tasks, work, finish, dask_client, scheduler)
    else:
        n_jobs = (os.cpu_count() or 1) if jobs is None else jobs
        n_jobs = min(n_jobs, len(work)) if work else 1
        if n_jobs <= 1:
            for i in work:
                finish(i, _process_task(tasks[i]))
        else:
            from concurrent.futures import ProcessPoolExecutor, as_completed
            from concurrent.futures.process import BrokenProcessPool

            with ProcessPoolExecutor(max_workers=n_jobs, mp_context=_mp_context()) as pool:
                futures = {pool.submit(_process_task, tasks[i]): i for i in work}
                try:
                    for fut in as_completed(futures):
                        i = futures[fut]
                        try:
                            row = fut.result()
                        except BrokenProcessPool as exc:
                            row = _base_row(tasks[i])
                            row["reason"] = f"worker process died ({exc}); rerun to resume"
                        finish(i, row)
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    raise
    return [r for r in results if r is not None]


def _execute_dask(tasks, work, finish, dask_client, scheduler) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ParameterError("running on a Dask cluster needs the 'dask' extra "
                             "(pip install 'ephys_correct[dask]')") from exc
    if dask_client is not None:
        client = dask_client
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ParameterError(f"cannot connect to the Dask scheduler {scheduler!r}: {exc}") from None
    try:
        futures = client.map(_process_task, [tasks[i] for i in work], pure=False)
        index = {f.key: i for f, i in zip(futures, work)}
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                row = fut.result()
            except Exception as exc:  # a lost worker: the file is reported, the run goes on
                row = _base_row(tasks[i])
                row["reason"] = f"Dask task failed: {_reason(exc)}"
            finish(i, row)
    finally:
        if dask_client is None:
            client.close()


def _summary_frame(rows: Sequence[dict]):
    import pandas as pd

    heads = sorted({int(k) for r in rows for k in (r.get("mean_Vm_mV") or {})})
    records = []
    for r in rows:
        rec = {k: r.get(k) for k in _SUMMARY_BASE}
        for h in heads:
            rec[f"mean_Vm_mV_hs{h}"] = (r.get("mean_Vm_mV") or {}).get(str(h))
        for k in ("seconds", "pipette", "bath", "temperature_c", "configuration", "sheet_line", "output"):
            rec[k] = r.get(k)
        records.append(rec)
    cols = [*_SUMMARY_BASE, *(f"mean_Vm_mV_hs{h}" for h in heads), "seconds", "pipette", "bath",
            "temperature_c", "configuration", "sheet_line", "output"]
    df = pd.DataFrame.from_records(records, columns=cols)
    for c in ("ljp_mv", "seconds", "temperature_c", *(f"mean_Vm_mV_hs{h}" for h in heads)):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["n_sweeps"] = pd.array(df["n_sweeps"], dtype="Int64")
    df["sheet_line"] = pd.array(df["sheet_line"], dtype="Int64")
    df.attrs["description"] = "ephys-correct correct: one row per recording (status ok/failed/skipped)"
    return df
