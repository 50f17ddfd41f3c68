"""Correct many recordings at once: locally on all cores, or on a Dask cluster.

:func:`run_batch` finds the recordings (folders are searched recursively),
decides the solutions and temperature of each file (command-line options or an
:class:`ExperimentSheet`), corrects every file with
:func:`ephys_correct.correction.correct_recording`, and writes per file

``<stem>.corrected.npz``
    The corrected traces and their metadata (see :func:`ephys_correct.report.traces.load_corrected_npz`).
``<stem>.driving_force.<fmt>``
    :func:`ephys_correct.report.driving_force_table`.
``<stem>.nwb`` (only with ``nwb=True``; NWB writing is slow)
``<stem>.sweep0.png``, ``<stem>.driving_force.png`` (only with ``plots=True``)
``<stem>.done.json``
    The done-marker: input SHA-256, the options and their hash, the outputs
    and the summary row.  Written last.

plus one ``summary.<fmt>`` for the whole run (one row per file: ``file,
status, reason, warnings, ljp_mv, n_sweeps, mean_Vm_mV_hs<k>, seconds, ...``).

Status: ``ok``; ``warn`` when the file was corrected but its interpretation
rests on weak evidence, its units are suspect, a value is implausible, ...
(the ``warnings`` column, one warning per ``" | "``-separated part; the same
lines are in the table's ``attrs["warnings"]``); ``failed`` (``reason``); or
``skipped``.  With ``strict=True`` a file with warnings fails instead (no
outputs are written for it).

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
is reported with its reason; the run goes on.  So is a file that kills its
worker process (see :mod:`ephys_correct.batch.pool`): it is recorded in
``<stem>.killed.json`` and not retried by later runs unless
``retry_killed=True``.  One run at a time writes into an output folder
(:class:`ephys_correct.batch.lock.OutputLock`).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from ephys_correct._validate import check_choice, check_integer
from ephys_correct.errors import EphysCorrectError, NotAFolderError, OutputExistsError, ParameterError, StrictModeError
from ephys_correct.batch.lock import OutputLock, remove_stale_temporaries
from ephys_correct.batch.pool import run_in_processes
from ephys_correct.batch.inputs import DEFAULT_EXTENSIONS, collect_recordings, output_stem
from ephys_correct.report.traces import write_corrected_npz
from ephys_correct.batch.outputs import (
    _Running, _adopt_crash, _atomic_write_json, _differences, _killed_before, _killed_path, _record_killed,
    _marker_paths, _mean_vm, _num, _outputs_for, _read_json, _reason, _sync_files,
)
from ephys_correct.batch.settings import (
    REQUIRED_SETTINGS, SETTING_FIELDS, SETTING_NAMES, FileSettings, Settings, _Task, _options_hash, _sol_spec,
    _solution_from_spec, check_settings, parse_clamp_mode, parse_headstages, parse_unit_fix,
)
from ephys_correct.batch.sheet import ExperimentSheet, load_sheet
from ephys_correct.correction.correct import correct_recording
from ephys_correct.correction.membrane import WINDOWS
from ephys_correct.io import read_recording
from ephys_correct.report.driving_force import driving_force_table
from ephys_correct.report.tables import write_table
from ephys_correct.report.nwb import check_nwb_metadata, write_nwb
from ephys_correct.report import plot
from ephys_correct._version import __version__


#: table formats of the driving-force tables and the summary
TABLE_FORMATS = ("csv", "parquet", "xlsx", "md")
MARKER_VERSION = 1
_SUMMARY_BASE = ("file", "status", "reason", "warnings", "ljp_mv", "n_sweeps")
#: separator of the warnings in the summary's ``warnings`` column
WARNING_SEPARATOR = " | "


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
    def n_warned(self) -> int:
        """Files corrected in this run whose row carries warnings (status ``warn``)."""
        return self._count("warn")

    @property
    def n_skipped(self) -> int:
        """Files already done by an earlier run with the same input and options."""
        return self._count("skipped")

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return self.n_failed == 0


def _base_row(task: _Task) -> dict[str, Any]:
    s = task.settings
    return {
        "file": task.path, "status": "failed", "reason": "", "ljp_mv": None, "n_sweeps": None,
        "seconds": 0.0, "output": task.stem,
        "pipette": s.pipette if s else None, "bath": s.bath if s else None,
        "temperature_c": s.temperature_c if s else None, "configuration": s.configuration if s else None,
        "sheet_line": s.sheet_line if s else None, "mean_Vm_mV": {}, "warnings": [],
    }


#: the run in progress in this process (and in the workers it forked): its done-markers carry the id
_RUN: dict[str, str | None] = {"id": None}


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




def _clamp_mode_arg(text: str):
    """``"current_clamp"`` or ``"0=voltage_clamp,1=current_clamp"`` -> read_recording's clamp_mode."""
    return parse_clamp_mode(text)


def _run_task(task: _Task, row: dict[str, Any]) -> None:
    outs = _outputs_for(task)
    done_path, partial_path = _marker_paths(task)
    s = task.settings
    # the header first (cheap); its cached SHA-256 serves the marker and the provenance
    overrides: dict[str, Any] = {}
    if s.clamp_mode:
        overrides["clamp_mode"] = parse_clamp_mode(s.clamp_mode)
    if s.headstages:
        overrides["headstages"] = parse_headstages(s.headstages)
    if s.unit_fix:
        overrides["unit_fix"] = parse_unit_fix(s.unit_fix)
    rec = read_recording(task.path, **overrides)
    sha = rec.sha256
    marker = _read_json(done_path)
    if not task.force:
        same_input = marker is not None and marker.get("input_sha256") == sha
        same_opts = marker is not None and marker.get("options_hash") == task.options_hash
        if same_input and same_opts:
            if all(Path(task.out_dir, p).exists() for p in marker.get("outputs", {}).values()):
                prev = marker.get("row", {})
                row.update({k: prev.get(k, row.get(k)) for k in ("ljp_mv", "n_sweeps", "mean_Vm_mV", "warnings")})
                if _RUN["id"] is not None and marker.get("run_id") == _RUN["id"]:
                    # finished by a worker of this run whose result was lost when another worker
                    # died (the pool breaks for every file in flight): report it as that worker did
                    row["status"] = "warn" if row.get("warnings") else "ok"
                    row["reason"] = str(prev.get("reason", ""))
                    return
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
    if s.ph is not None:
        kwargs["pH_at_recording"] = s.ph
    corrected = correct_recording(rec, pipette=_solution_from_spec(s._pipette), bath=_solution_from_spec(s._bath),
                                  temperature_c=s.temperature_c, configuration=s.configuration,
                                  ljp_method=s.ljp_method, free_ions=s.free_ions, **kwargs)
    table = driving_force_table(corrected, window=task.options.get("window", "baseline"))
    ljps = sorted(set(corrected.ljp_mv_by_headstage.values()))
    row["ljp_mv"] = _num(ljps[0]) if len(ljps) == 1 else None
    row["n_sweeps"] = int(corrected.n_sweeps)
    notes: list[str] = []
    row["warnings"] = list(table.attrs.get("warnings", ()))
    if task.strict and row["warnings"]:
        raise StrictModeError(f"{len(row['warnings'])} warning(s) and strict mode: "
                              + WARNING_SEPARATOR.join(row["warnings"]))
    if len(ljps) > 1:
        notes.append("LJP per headstage: " + ", ".join(
            f"{k}: {v:+.3f} mV" for k, v in corrected.ljp_mv_by_headstage.items()))
    row["mean_Vm_mV"], problems = _mean_vm(corrected, table)
    notes += problems
    # --------------------------------------------------------------- write
    # the in-progress marker lets a rerun finish an interrupted file without --force
    _atomic_write_json(partial_path, {"input": task.path, "input_sha256": sha, "options_hash": task.options_hash})
    # an older done-marker must not vouch for the outputs written now (a run killed half-way
    # would leave traces of one run beside a marker of another)
    try:
        done_path.unlink()
    except FileNotFoundError:
        pass
    outs["table"].parent.mkdir(parents=True, exist_ok=True)
    write_table(table, outs["table"], format=task.fmt, overwrite=True)
    write_corrected_npz(outs["traces"], corrected, durable=False)  # synced with the others below
    if task.nwb:
        write_nwb(corrected, outs["nwb"], overwrite=True, metadata=task.nwb_metadata, timezone=task.nwb_timezone)
    if task.plots:
        plot.plot_sweep(corrected, 0, path=outs["plot_sweep"], overwrite=True)
        plot.plot_driving_force(table, path=outs["plot_driving_force"], overwrite=True,
                                units_suspect=plot.suspect_text(rec))
    row["status"] = "warn" if row["warnings"] else "ok"
    row["reason"] = "; ".join(notes)
    _sync_files(outs.values())  # the outputs on disk before the durable marker vouches for them
    _atomic_write_json(done_path, {
        "marker_version": MARKER_VERSION,
        "input": task.path, "input_sha256": sha,
        "options": dict(task.options), "options_hash": task.options_hash,
        "outputs": {k: os.path.relpath(v, task.out_dir) for k, v in outs.items()},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "run_id": _RUN["id"],
        "row": {k: row[k] for k in ("ljp_mv", "n_sweeps", "mean_Vm_mV", "warnings", "reason")},
    }, durable=True)
    for stale in (partial_path, _killed_path(task)):
        try:
            stale.unlink()
        except FileNotFoundError:
            pass


# =========================================================================== the run
def _resolve_settings(relpath: str, sheet: ExperimentSheet | None, settings: Settings,
                      specs: dict, sheet_base: Path | None) -> FileSettings:
    row = sheet.match(relpath) if sheet is not None else None
    if sheet is not None and row is None and any(getattr(settings, k) is None for k in REQUIRED_SETTINGS):
        raise ParameterError(f"no row of the experiment sheet {sheet.path} matches {relpath!r}, and the "
                             "command-line options do not give pipette, bath and temperature")
    merged = settings.merged(row) if row is not None else settings
    where = f"sheet line {row.line} ({row.pattern!r})" if row is not None else "the options"
    for f in SETTING_FIELDS:
        if f.metadata["required"] and getattr(merged, f.name) is None:
            raise ParameterError(f"no {f.name} for {relpath!r}: {where} leaves it empty and "
                                 f"{f.metadata['option'][0]} was not given")

    def spec(value, base):
        key = (str(value), str(base))
        if key not in specs:
            specs[key] = _sol_spec(value, base)
        return specs[key]

    base = sheet_base if row is not None else None
    sols = {f.name: spec(getattr(merged, f.name), base) for f in SETTING_FIELDS if f.metadata["digest"]}
    values = merged.values()
    for name, sol in sols.items():  # the summary shows a solution by the name it was given, or its own
        values[name] = values[name] if isinstance(values[name], str) else sol.name
    return FileSettings(**values, sheet_line=row.line if row is not None else None,
                        **{f"_{name}": sol for name, sol in sols.items()})


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
    free_ions: bool = True,
    ph: float | None = None,
    headstages: str | Mapping | None = None,
    unit_fix: str | Mapping | None = None,
    settings: Settings | None = None,
    strict: bool = False,
    window: str = "baseline",
    sheet: ExperimentSheet | str | os.PathLike | None = None,
    format: str = "csv",
    jobs: int | None = None,
    force: bool = False,
    nwb: bool = False,
    plots: bool = False,
    nwb_metadata: Mapping[str, Any] | None = None,
    nwb_timezone: str | None = None,
    extensions: Sequence[str] = DEFAULT_EXTENSIONS,
    dask_client: Any = None,
    scheduler: str | None = None,
    progress: Callable[[int, int, dict], None] | None = None,
    wait: bool = False,
    retry_killed: bool = False,
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
    headstages, unit_fix : str or mapping, optional
        Reader overrides for every file (a sheet row overrides them):
        channel -> headstage (``"0=0,1=0,IN 2=none"``, see
        :func:`~ephys_correct.batch.settings.parse_headstages`) and channel
        unit fixes (``"0=mV/20"``, see
        :func:`~ephys_correct.batch.settings.parse_unit_fix`); mappings are
        passed to :func:`~ephys_correct.io.read_recording` as they are.
    settings : Settings, optional
        All the per-file settings above as one
        :class:`~ephys_correct.batch.settings.Settings` (instead of the
        keywords; giving both is a ParameterError).
    strict : bool
        A file with warnings fails (status ``failed``) instead of ``warn``.
    window : {"baseline", "epochs", "sweep"}
        V_m window of the driving-force tables (see
        :func:`~ephys_correct.report.driving_force_table`).
    zeroing_temperature_c : float, optional
        Temperature at which the pipette offset was zeroed (LJP); default
        the recording temperature.
    free_ions : bool, default True
        Speciated solutions (free Ca2+/Mg2+, re-titrated); False: totals (CLI ``--totals``),
        recorded in every output.
    ph : float, optional
        Pipette pH measured at the recording temperature (sheet column ``ph`` per file).
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
    nwb_metadata : Mapping, optional
        Session metadata for every NWB file (sections ``NWBFile`` and
        ``Subject``; :func:`ephys_correct.report.nwb.load_nwb_metadata`).
    nwb_timezone : str, optional
        IANA time zone of start times stored without one (ABF); default the
        machine's, stated in each file.
    extensions : sequence of str
        Extensions collected from folders.
    dask_client : distributed.Client, optional
        Run the files on this Dask cluster instead of local processes.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); a client is opened
        and closed for the run.
    progress : callable, optional
        Called as ``progress(done, total, row)`` after each file.
    wait : bool
        When another run holds *out_dir*, wait for it instead of refusing.
    retry_killed : bool
        Try again the files that killed a worker process in an earlier run
        (``<stem>.killed.json``); by default they fail with that reason.

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
    NotAFolderError
        *out_dir* is a file (also a NotADirectoryError).
    OutputLockedError
        Another run is writing into *out_dir* (and *wait* is False).

    Notes
    -----
    Per-file problems never raise: they are rows with ``status="failed"`` and
    a ``reason``.  The summary is rewritten on every run (it describes the
    run); per-file outputs follow the resume rules of the module docstring.
    """

    # the per-setting keywords, by the names of the Settings fields (locals(): the arguments as given)
    settings = _settings_of_call(settings, {name: value for name, value in locals().items() if name in SETTING_NAMES})
    check_choice(window, WINDOWS, what="window", where="run_batch")
    check_choice(format, TABLE_FORMATS, what="format", where="run_batch")
    jobs = None if jobs is None else check_integer(jobs, what="jobs", where="run_batch", minimum=1)
    if dask_client is not None and scheduler is not None:
        raise ParameterError("give either 'dask_client' or 'scheduler', not both.")
    if not nwb and (nwb_metadata is not None or nwb_timezone is not None):
        raise ParameterError("'nwb_metadata' / 'nwb_timezone' were given but no NWB files are written (nwb=False).")
    nwb_meta = check_nwb_metadata(dict(nwb_metadata) if nwb_metadata is not None else None, "nwb_metadata")
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotAFolderError(f"the output folder {out} is a file, not a folder; choose a folder "
                                 "(it is created)")
    if isinstance(sheet, (str, os.PathLike)):
        sheet = load_sheet(sheet)
    if sheet is None and any(getattr(settings, k) is None for k in REQUIRED_SETTINGS):
        missing = [k for k in REQUIRED_SETTINGS if getattr(settings, k) is None]
        raise ParameterError(f"no {', '.join(missing)}: give them, or an experiment sheet that does.")
    sheet_base = Path(sheet.path).resolve().parent if sheet is not None and sheet.path else None
    files, problems = collect_recordings(inputs, extensions=extensions, exclude=[out])
    specs: dict = {}
    solutions = [f.name for f in SETTING_FIELDS if f.metadata["digest"]]
    for name in solutions:  # check the run's own solutions before any file
        if getattr(settings, name) is not None:
            _sol_spec(getattr(settings, name), None)
    if sheet is not None:  # every value and solution in the sheet must do (a sheet error is a usage error)
        for row in sheet.rows:
            check_settings({k: getattr(row, k) for k in SETTING_NAMES}, f"{sheet.path}: line {row.line}")
            for value in (getattr(row, name) for name in solutions):
                if value is not None:
                    specs[(str(value), str(sheet_base))] = _sol_spec(value, sheet_base)

    tasks: list[_Task] = [_Task(str(p), rel, output_stem(rel), str(out), None, f"not read: {why}", format,
                                bool(nwb), bool(plots), bool(force), {}, "") for p, rel, why in problems]
    stems: dict[str, str] = {}
    for path, rel in files:
        stem = output_stem(rel)
        error = None
        file_settings = None
        try:
            file_settings = _resolve_settings(rel, sheet, settings, specs, sheet_base)
        except EphysCorrectError as exc:
            error = _reason(exc)
        key = stem.lower()
        if error is None and key in stems:
            error = (f"ParameterError: its output name {stem!r} is also used by {stems[key]}; "
                     "correct them in separate runs or rename one")
        stems.setdefault(key, str(path))
        options = {"ephys_correct": __version__, "format": format, "nwb": bool(nwb), "plots": bool(plots),
                   "window": window,
                   **(file_settings.options() if file_settings else {})}
        if nwb:
            options.update(nwb_metadata=nwb_meta, nwb_timezone=nwb_timezone)
        tasks.append(_Task(str(path), rel, stem, str(out), file_settings, error, format, bool(nwb), bool(plots),
                           bool(force), options, _options_hash(options), nwb_meta, nwb_timezone, bool(strict)))
    out.mkdir(parents=True, exist_ok=True)
    with OutputLock(out, wait=wait):  # one run per output folder
        remove_stale_temporaries(out)
        _adopt_crash(out, tasks)
        if not retry_killed:
            tasks = [t if t.error else _skip_killed(t) for t in tasks]
        _RUN["id"] = uuid.uuid4().hex  # forked workers inherit it: their done-markers name this run
        try:
            rows = _execute(tasks, jobs=jobs, dask_client=dask_client, scheduler=scheduler, progress=progress)
        finally:
            _RUN["id"] = None
        return _finish_run(rows, out, inputs, sheet, settings.values(), format, nwb, plots, strict)


def _skip_killed(task: _Task) -> _Task:
    reason = _killed_before(task)
    return task if reason is None else dataclasses.replace(task, error=reason)


def _finish_run(rows, out, inputs, sheet, defaults, format, nwb, plots, strict) -> BatchResult:
    summary = _summary_frame(rows)
    summary.attrs.update({
        "software_version": __version__,
        "inputs": [str(i) for i in inputs],
        "sheet": None if sheet is None else sheet.path,
        "options": {k: (v if isinstance(v, (str, int, float, type(None))) else getattr(v, "name", str(v)))
                    for k, v in defaults.items()},
        "format": format, "nwb": bool(nwb), "plots": bool(plots),
        "counts": {st: sum(r["status"] == st for r in rows) for st in ("ok", "warn", "failed", "skipped")},
        "strict": bool(strict),
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
                with _Running(tasks[i]):  # a hard death here is recorded by the next run
                    finish(i, _process_task(tasks[i]))
        else:
            def killed_row(k: int, reason: str) -> dict:
                row = _base_row(tasks[work[k]])
                row["reason"] = reason
                return row

            ctx = _mp_context()
            if ctx.get_start_method() == "fork":
                _warm_chemistry([tasks[i] for i in work])
            run_in_processes([tasks[i] for i in work], _process_task, lambda k, row: finish(work[k], row),
                             n_jobs=n_jobs, mp_context=ctx, killed_row=killed_row,
                             on_killed=lambda k, reason: _record_killed(tasks[work[k]], reason))
    return [r for r in results if r is not None]


def _warm_chemistry(tasks: Sequence[_Task], max_settings: int = 8) -> None:
    """Speciate the run's solutions and compute their LJP once here, before the workers fork.

    The free-ion speciation of a pipette/bath pair (and the import of the solver it needs)
    costs far more than correcting a file; each worker would otherwise redo it for itself
    (with 2 workers, twice the serial work: no speed-up at all).  Forked workers inherit
    the filled caches.  Only the chemistry is done here (no recording is read in this
    process); any error is left for the files to report.
    """
    from ephys_correct.chemistry.speciation import free_ion_solution
    from ephys_correct.potentials.ljp import liquid_junction_potential

    seen: set = set()
    for t in tasks:
        s = t.settings
        if t.error or s is None:
            continue
        key = (s._pipette, s._bath, s.temperature_c, s.zeroing_temperature_c, s.free_ions, s.ljp_method,
               s.ph, s.ljp_mv)
        if key in seen:
            continue
        if len(seen) >= max_settings:
            break
        seen.add(key)
        try:
            pip, bath = _solution_from_spec(s._pipette), _solution_from_spec(s._bath)
            t_rec = float(s.temperature_c)
            t_zero = t_rec if s.zeroing_temperature_c is None else float(s.zeroing_temperature_c)
            if s.free_ions:
                for sol in (pip, bath):
                    free_ion_solution(sol, temperature_c=t_zero)  # as correct_recording
                    if s.ph is None:  # as the driving-force table's reversal potentials
                        free_ion_solution(sol, temperature_c=t_rec, activity_model="truesdell-jones")
            if s.ljp_mv is None and s.ph is None:
                liquid_junction_potential(pip, bath, temperature_c=t_zero, method=s.ljp_method,
                                          free_ions=s.free_ions)
        except Exception:  # noqa: BLE001 - a warm-up only: the file that needs it reports the error
            continue


def _execute_dask(tasks, work, finish, dask_client, scheduler) -> None:
    try:
        from distributed import Client
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
        _gather_dask(client, futures, work, tasks, finish)
    finally:
        if dask_client is None:
            client.close()


#: seconds a Dask run waits with no worker at all before the remaining files fail
DASK_NO_WORKER_TIMEOUT_S = 60.0


def _gather_dask(client, futures, work, tasks, finish, *, no_worker_timeout_s: float | None = None,
                 poll_s: float = 1.0) -> None:
    """Collect the rows as they finish; when the cluster has had no worker for
    *no_worker_timeout_s*, the files not finished fail with that reason (no endless wait)."""
    from distributed import wait as dask_wait

    limit = DASK_NO_WORKER_TIMEOUT_S if no_worker_timeout_s is None else no_worker_timeout_s
    pending = dict(zip(futures, work))
    since: float | None = None
    while pending:
        try:
            done, _ = dask_wait(list(pending), timeout=poll_s, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = set()
        for fut in done:
            i = pending.pop(fut)
            try:
                row = fut.result()
            except Exception as exc:  # a lost worker (KilledWorker): the file is reported, the run goes on
                row = _base_row(tasks[i])
                row["reason"] = f"Dask task failed: {_reason(exc)}"
                if type(exc).__name__ == "KilledWorker":  # it took its workers down: a rerun skips it
                    _record_killed(tasks[i], row["reason"])
            finish(i, row)
        if done or not pending:
            since = None
            continue
        try:
            n_workers = len(client.scheduler_info().get("workers", {}))
        except Exception:  # the scheduler itself is gone
            n_workers = 0
        if n_workers:
            since = None
            continue
        since = time.monotonic() if since is None else since
        if time.monotonic() - since >= limit:
            for fut, i in list(pending.items()):
                fut.cancel()
                row = _base_row(tasks[i])
                row["reason"] = (f"not run: the Dask cluster has had no worker for {limit:.0f} s "
                                 "(all workers lost); rerun to resume")
                finish(i, row)
            pending.clear()


def _settings_of_call(settings: Settings | None, keywords: Mapping[str, Any]) -> Settings:
    """run_batch's settings: *settings*, or the per-setting keywords (giving both is an error)."""
    if settings is None:
        return Settings(**keywords)
    if not isinstance(settings, Settings):
        raise ParameterError(f"'settings' must be a Settings, got {type(settings).__name__}.")
    given = [f.name for f in SETTING_FIELDS if not _is_default(keywords[f.name], f.default)]
    if given:
        raise ParameterError(f"give either 'settings' or the keywords {given}, not both "
                             "(use settings.with_overrides({...}) to change a setting).")
    return settings


def _is_default(value: Any, default: Any) -> bool:
    return value is default or (type(value) is type(default) and isinstance(value, (str, bool)) and value == default)


def _summary_frame(rows: Sequence[dict]):
    import pandas as pd

    heads = sorted({int(k) for r in rows for k in (r.get("mean_Vm_mV") or {})})
    records = []
    for r in rows:
        rec = {k: r.get(k) for k in _SUMMARY_BASE}
        rec["warnings"] = WARNING_SEPARATOR.join(r.get("warnings") or ())
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
    df.attrs["description"] = ("ephys-correct correct: one row per recording (status ok/warn/failed/skipped; "
                               f"warnings separated by {WARNING_SEPARATOR!r})")
    return df
