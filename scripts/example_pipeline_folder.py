#!/usr/bin/env python3
"""Example lab pipeline: a folder of recordings + an experiment sheet -> tables.

    .venv/bin/python scripts/example_pipeline_folder.py [FOLDER] [--sheet SHEET] [--out DIR] [--jobs N]

FOLDER defaults to the recording bundled with the package; SHEET to
``scripts/example_lab/experiment_sheet.csv`` (per-recording pipette, bath,
temperature, configuration).  The script uses the Python API only:

1. :func:`ephys_correct.batch.run_batch` corrects every recording (all cores,
   resumable: a second run skips finished files) and writes per file the
   corrected traces and the driving-force table, plus ``summary.csv``;
2. the per-file tables are read back (:func:`ephys_correct.report.read_table`)
   and combined into one long table, ``all_driving_forces.csv``;
3. a short per-file report is printed: LJP, mean corrected V_m, and the mean
   driving force of K+ and Cl-.

Try it on the shared recordings:
``.venv/bin/python scripts/example_pipeline_folder.py ../shared/data/abf --out lab_results``.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

import pandas as pd

from ephys_correct.batch.sheet import load_sheet
from ephys_correct.batch.run import run_batch
from ephys_correct.errors import OutputExistsError
from ephys_correct.report.tables import read_table, write_table

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", type=Path,
                    default=Path(str(resources.files("ephys_correct").joinpath("data", "examples"))),
                    help="folder of recordings (default: the bundled example)")
    ap.add_argument("--sheet", type=Path, default=HERE / "example_lab" / "experiment_sheet.csv")
    ap.add_argument("--out", type=Path, default=Path("example_pipeline_output"))
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    ap.add_argument("--force", action="store_true", help="redo finished files")
    args = ap.parse_args(argv)

    sheet = load_sheet(args.sheet)  # errors in the sheet stop here, before any file is touched
    print(f"sheet {args.sheet}: {len(sheet.rows)} rows; recordings from {args.folder}")
    result = run_batch(args.folder, out_dir=args.out, sheet=sheet, jobs=args.jobs, force=args.force,
                       progress=lambda done, total, row: print(f"  [{done}/{total}] {row['status']:7s} "
                                                               f"{Path(row['file']).name}"))
    print(f"{result.n_ok} corrected, {result.n_skipped} already done, {result.n_failed} failed "
          f"-> {result.summary_path}")

    # combine the per-file driving-force tables (their units and provenance travel in attrs)
    tables = []
    for row in result.rows:
        if row["status"] == "failed":
            print(f"  FAILED {row['file']}: {row['reason']}")
            continue
        t = read_table(args.out / f"{row['output']}.driving_force.csv")
        t.insert(0, "output", row["output"])
        tables.append(t)
    if not tables:
        return 1
    combined = pd.concat(tables, ignore_index=True)
    combined.attrs = {"description": "all driving-force tables of the run", "units": tables[0].attrs["units"]}
    try:
        write_table(combined, args.out / "all_driving_forces.csv", overwrite=args.force)
    except OutputExistsError:
        print("  all_driving_forces.csv exists (use --force to rewrite it)")

    # a short report per recording
    print()
    print(f"{'recording':32s} {'V_L (mV)':>9s} {'mean Vm (mV)':>13s} {'K+ DF (mV)':>11s} {'Cl- DF (mV)':>12s}")
    for row in result.rows:
        if row["status"] == "failed":
            continue
        t = combined[combined["output"] == row["output"]]
        df = t.groupby("ion")["driving_force_mV"].mean()
        vm = row["mean_Vm_mV"].get("0", float("nan"))
        ljp = float("nan") if row["ljp_mv"] is None else row["ljp_mv"]
        print(f"{Path(row['file']).name[:32]:32s} {ljp:9.2f} {vm:13.2f} "
              f"{df.get('K+', float('nan')):11.2f} {df.get('Cl-', float('nan')):12.2f}")
    return 1 if result.n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
