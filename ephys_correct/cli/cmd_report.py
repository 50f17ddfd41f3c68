"""``ephys-correct report OUT_DIR [-o report.html]``: the HTML report of a ``correct`` output folder.

A thin wrapper around :func:`ephys_correct.report.html.write_report`: reads
the folder (summary, done-markers, ``.corrected.npz``, driving-force tables)
and writes one self-contained HTML file (no network needed to view it).
"""

from __future__ import annotations

from pathlib import Path

from ephys_correct.report.html import REPORT_NAME, write_report


def register(sub) -> None:
    p = sub.add_parser(
        "report",
        help="build one self-contained HTML report from the output folder of 'correct'",
        description="Build one HTML file from an 'ephys-correct correct' output folder: the run's settings, "
        "an index of the recordings (status, warnings, LJP and its method, configuration, mean V_m per "
        "headstage; filterable), and per recording its provenance, raw vs corrected traces (the command in "
        "voltage clamp), the driving force per ion and the reversal potentials. Figures are inline PNGs; "
        "the file opens offline. The folder is only read.",
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="the --out folder of an 'ephys-correct correct' run")
    p.add_argument("--output", "-o", metavar="HTML", default=None,
                   help=f"the HTML file to write (default OUT_DIR/{REPORT_NAME})")
    p.add_argument("--summary", metavar="TABLE", default=None,
                   help="the run summary to use (default: summary.csv/.parquet/.xlsx in OUT_DIR, the newest)")
    p.add_argument("--force", action="store_true", help="overwrite an existing HTML file")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="worker processes drawing the figures (default: all cores)")
    p.add_argument("--max-points", type=int, default=2000, metavar="N",
                   help="points drawn per trace (min/max per bin; default 2000)")
    p.add_argument("--max-sweeps", type=int, default=3, metavar="N",
                   help="sweeps drawn per headstage: first, last, evenly spaced between (default 3)")
    p.set_defaults(func=run)


def run(args) -> int:
    dest = write_report(args.out_dir, args.output, overwrite=args.force, summary=args.summary, jobs=args.jobs,
                        max_points=args.max_points, max_sweeps=args.max_sweeps)
    print(f"report: {dest} ({Path(dest).stat().st_size / 1e6:.1f} MB)")
    return 0
