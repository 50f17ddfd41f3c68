"""``ephys-correct correct RECORDING_OR_FOLDER... --out DIR``: correct many recordings.

A thin wrapper around :func:`ephys_correct.batch.run_batch`: per file the
corrected traces (``<stem>.corrected.npz``), the driving-force table, optional
NWB and figures, and one ``summary.<fmt>`` for the run.  Exit status 1 when
any file failed (the others are still done); re-running skips finished files
unless ``--force``.
"""

from __future__ import annotations

import os
import sys
import time

from ephys_correct.batch.inputs import DEFAULT_EXTENSIONS
from ephys_correct.batch.run import TABLE_FORMATS, run_batch
from ephys_correct.batch.settings import SETTING_FIELDS, SOLUTION_SETTINGS, Settings
from ephys_correct.report.nwb import load_nwb_metadata
from ..errors import ParameterError
from ._common import cli_hint, parse_solution, print_warning, safe_text


def register(sub) -> None:
    p = sub.add_parser(
        "correct",
        help="LJP-correct recordings (files or folders) and write tables, traces and a summary",
        description="Correct every recording (folders are searched recursively for "
        f"{', '.join(DEFAULT_EXTENSIONS)}) and write per file <stem>.corrected.npz, "
        "<stem>.driving_force.<fmt> (and <stem>.nwb with --nwb, PNG figures with --plots), plus "
        "summary.<fmt> and report.html (unless --no-report) for the run. "
        "Solutions and temperature come from the options or, per file, "
        "from an experiment sheet (--sheet; first matching row wins). A file that fails is "
        "reported in the summary with its reason and the run goes on; exit status 1 if any "
        "failed. Re-running over the same --out skips finished files (same input SHA-256 and "
        "options) unless --force.",
    )
    p.add_argument("inputs", metavar="RECORDING_OR_FOLDER", nargs="+", help="recording files and/or folders")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder (created)")
    for f in SETTING_FIELDS:  # the per-file settings: flags, help and defaults from their one definition
        p.add_argument(*f.metadata["option"], dest=f.name, default=f.default, help=f.metadata["help"],
                       **f.metadata["cli"])
    p.add_argument("--window", choices=("baseline", "epochs", "sweep"), default="baseline",
                   help="V_m window of the driving-force tables: baseline (default; before the first "
                   "command step), epochs (one row set per command segment), sweep (whole sweep)")
    p.add_argument("--strict", action="store_true",
                   help="a file with warnings (weak evidence, suspect units, implausible values) fails")
    p.add_argument("--sheet", metavar="SHEET", default=None,
                   help="experiment sheet (CSV or TOML): file glob pattern -> pipette, bath, "
                   "temperature_c, configuration, ... (see docs/cli.md)")
    p.add_argument("--format", "-f", choices=TABLE_FORMATS, default="csv",
                   help="format of the driving-force tables and the summary (default csv)")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="worker processes (default: all cores; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on an existing Dask cluster (e.g. tcp://10.0.0.5:8786) instead of local processes")
    p.add_argument("--force", action="store_true",
                   help="redo finished files and overwrite existing outputs")
    p.add_argument("--wait", action="store_true",
                   help="when another run is writing into --out, wait for it (default: refuse)")
    p.add_argument("--retry-killed", action="store_true",
                   help="try again the files that killed a worker process in an earlier run (<stem>.killed.json)")
    p.add_argument("--nwb", action="store_true", help="also write <stem>.nwb (slow)")
    g = p.add_argument_group("NWB session metadata (with --nwb; options override the metadata file)")
    g.add_argument("--nwb-metadata", metavar="FILE", default=None,
                   help="JSON, TOML or YAML file with sections NWBFile (session_description, experimenter, "
                   "institution, lab, cell_id, ...) and Subject (subject_id, species, age, sex, ...), as neuroconv")
    for opt, section, key, help_ in _NWB_OPTIONS:
        g.add_argument(opt, dest=f"nwb_{section}_{key}", default=None, metavar=key.upper(),
                       action="append" if key == "experimenter" else "store", help=help_)
    g.add_argument("--nwb-timezone", metavar="ZONE", default=None,
                   help="IANA time zone of a start time stored without one (ABF), e.g. Europe/Berlin; "
                   "default: this machine's, stated in each file")
    p.add_argument("--plots", action="store_true", help="also write <stem>.sweep0.png and <stem>.driving_force.png")
    p.add_argument("--ext", action="append", default=[], metavar=".EXT",
                   help="also collect files with this extension from folders (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is shown only on a terminal)")
    p.add_argument("--no-report", action="store_true",
                   help="do not write DIR/report.html (the HTML report of the run; see 'ephys-correct report')")
    p.set_defaults(func=run)


class ProgressBar:
    """A one-line progress bar on a terminal; silent in pipes, files and CI.

    Parameters
    ----------
    stream : file
        Where to draw (stderr).
    enabled : bool, optional
        Default: *stream* is a terminal and ``$CI`` is not set.
    """

    def __init__(self, stream=None, enabled: bool | None = None, width: int = 28):
        self.stream = stream or sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", lambda: False)
            enabled = bool(isatty()) and not os.environ.get("CI")
        self.enabled = enabled
        self.width = width
        self.t0 = time.perf_counter()
        self.counts = {"ok": 0, "warn": 0, "failed": 0, "skipped": 0}
        self._drawn = False

    def __call__(self, done: int, total: int, row: dict) -> None:
        self.counts[row.get("status", "failed")] = self.counts.get(row.get("status", "failed"), 0) + 1
        if not self.enabled:
            return
        frac = done / total if total else 1.0
        fill = int(round(frac * self.width))
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        c = self.counts
        line = (f"\r[{'#' * fill}{'.' * (self.width - fill)}] {done}/{total}  ok {c['ok']}  "
                f"warn {c['warn']}  failed {c['failed']}  skipped {c['skipped']}  {rate:.1f} files/s")
        self.stream.write(line)
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the line."""
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


#: (option, metadata section, key, help) of the NWB metadata options
_NWB_OPTIONS = (
    ("--nwb-subject-id", "Subject", "subject_id", "subject (animal or donor) identifier"),
    ("--nwb-species", "Subject", "species", "Latin binomial or NCBI taxonomy URI, e.g. 'Mus musculus'"),
    ("--nwb-age", "Subject", "age", "ISO 8601 duration, e.g. P30D"),
    ("--nwb-sex", "Subject", "sex", "M, F, U or O"),
    ("--nwb-experimenter", "NWBFile", "experimenter", "'Last, First' (repeatable)"),
    ("--nwb-institution", "NWBFile", "institution", "institution"),
    ("--nwb-lab", "NWBFile", "lab", "lab"),
    ("--nwb-session-description", "NWBFile", "session_description", "session description"),
    ("--nwb-cell-id", "NWBFile", "cell_id", "cell identifier (default '<file stem> headstage <k>')"),
)


def _nwb_metadata(args):
    """The metadata file's sections with the command-line options on top (None when nothing was given)."""
    meta = load_nwb_metadata(args.nwb_metadata) if args.nwb_metadata else None
    given = {(sec, key): getattr(args, f"nwb_{sec}_{key}") for _, sec, key, _ in _NWB_OPTIONS}
    if any(v is not None for v in given.values()):
        meta = meta or {"NWBFile": {}, "Subject": {}}
        for (sec, key), v in given.items():
            if v is not None:
                meta[sec][key] = v
    if not args.nwb and (meta is not None or args.nwb_timezone is not None):
        raise ParameterError("NWB metadata options were given without --nwb (no NWB file would be written).")
    return meta


def run(args) -> int:
    missing = [f.metadata["option"][0] for f in SETTING_FIELDS
               if f.metadata["required"] and getattr(args, f.name) is None]
    if args.sheet is None and missing:
        raise ParameterError(f"give {', '.join(missing)} (or an experiment sheet with --sheet).")
    values = {f.name: getattr(args, f.name) for f in SETTING_FIELDS}
    for name in SOLUTION_SETTINGS:  # a solution may be given inline, 'K=145,Cl=10,...'
        if values[name] is not None:
            values[name] = parse_solution(values[name])
    settings = Settings(**values)
    bar = ProgressBar(enabled=False if args.no_progress else None)
    try:
        result = run_batch(
            args.inputs, out_dir=args.out, settings=settings, sheet=args.sheet, strict=args.strict, window=args.window,
            format=args.format, jobs=args.jobs, force=args.force, nwb=args.nwb, plots=args.plots,
            nwb_metadata=_nwb_metadata(args), nwb_timezone=args.nwb_timezone,
            extensions=(*DEFAULT_EXTENSIONS, *args.ext), scheduler=args.scheduler, progress=bar,
            wait=args.wait, retry_killed=args.retry_killed,
        )
    finally:
        bar.close()
    total = len(result.rows)
    if total == 0:
        print(f"ephys-correct correct: no recordings found in {', '.join(args.inputs)} "
              f"(extensions {', '.join((*DEFAULT_EXTENSIONS, *args.ext))})", file=sys.stderr)
    for row in result.rows:
        name = os.path.basename(row["file"])
        for w in row.get("warnings") or ():
            print_warning("correct", w, file_name=name)  # a warning that names its file is printed as it is
        if row["status"] == "failed":
            print(f"FAILED {safe_text(row['file'])}: {safe_text(cli_hint(row['reason']))}", file=sys.stderr)
    secs = sum(float(r.get("seconds") or 0) for r in result.rows)
    print(f"{total} recordings: {result.n_ok + result.n_warned} corrected ({result.n_warned} with warnings), "
          f"{result.n_skipped} skipped (already done), {result.n_failed} failed; {secs:.1f} s of work")
    print(f"summary: {result.summary_path}")
    if total and not args.no_report:
        _write_run_report(args, result)
    return 1 if result.n_failed or total == 0 else 0


def _write_run_report(args, result) -> None:
    """DIR/report.html; an earlier report of ours is replaced, any other file only with --force."""
    from pathlib import Path

    from ..errors import MissingDependencyError
    from ephys_correct.report.html import REPORT_NAME, is_own_report, write_report

    if args.format == "md":
        print(f"ephys-correct correct: no {REPORT_NAME}: a Markdown summary cannot be read back "
              "(use --format csv, parquet or xlsx, then 'ephys-correct report')", file=sys.stderr)
        return
    dest = Path(args.out) / REPORT_NAME
    overwrite = bool(args.force) or is_own_report(dest)
    try:
        write_report(args.out, dest, overwrite=overwrite, summary=result.summary_path, jobs=args.jobs)
    except MissingDependencyError as exc:
        print(f"ephys-correct correct: warning: {exc}; the report has no figures", file=sys.stderr)
        write_report(args.out, dest, overwrite=overwrite, summary=result.summary_path, jobs=args.jobs,
                     figures=False)
    print(f"report: {dest}")
