"""End to end, one process: read + correct + driving-force table vs ``pyabf.ABF(path)`` (issue 16 item 1).

``python scripts/bench_e2e.py [--data ../shared/data/abf] [--rounds 15]``

For every ABF of the shared recordings, one round times ``pyabf.ABF(path)``
(which loads and scales every sweep and channel) and then ours,
``driving_force_table(correct_recording(read_recording(path), ...))``, back to
back; the ratio ours / pyabf of each round is kept and the script prints its
min / median / max per file, then the median over the files of the per-file
medians.  Interleaving makes both contenders see the same machine load; only
ratios are reported as results (absolute times are shown for orientation).
Every run of ours is complete: a fresh read (its own header parse, memmap and
SHA-256 of the file), the correction with its provenance, and the table with
the full provenance in ``attrs``.  A file the toolkit refuses is listed with
the reason and left out.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPETTE = "internal_k_gluconate"
BATH = "acsf_carbogen_standard"
TEMPERATURE_C = 32.0


def shared_dir() -> Path:
    """``$EPHYS_CORRECT_SHARED``, else the first ``shared/`` beside the checkout or one level up."""
    import os

    env = os.environ.get("EPHYS_CORRECT_SHARED")
    if env:
        return Path(env)
    for cand in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if cand.is_dir():
            return cand
    return ROOT.parent / "shared"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=shared_dir() / "data" / "abf")
    ap.add_argument("--rounds", type=int, default=15, help="interleaved rounds per file (default 15)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # the benchmark measures; the tests check warnings
    import pyabf

    from ephys_correct._version import __version__
    from ephys_correct.chemistry.solutions_db import load_solution
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.io import read_recording
    from ephys_correct.report.driving_force import driving_force_table

    pip, bath = load_solution(PIPETTE), load_solution(BATH)

    def ours(path: str):
        corrected = correct_recording(read_recording(path), pipette=pip, bath=bath, temperature_c=TEMPERATURE_C)
        table = driving_force_table(corrected)
        assert table.attrs["input_sha256"] and table.attrs["correction"]
        return table

    files = sorted(args.data.glob("*.abf"))
    if not files:
        print(f"no .abf files in {args.data}", file=sys.stderr)
        return 1
    print(f"ephys_correct {__version__}, pyabf {pyabf.__version__}, Python {platform.python_version()}; "
          f"{PIPETTE} / {BATH}, {TEMPERATURE_C:g} degC; {args.rounds} interleaved rounds per file")
    print(f"{'file':28s} {'MB':>5s} {'pyabf ms':>9s} {'ours ms':>8s}   ratio ours/pyabf min / median / max")
    medians = []
    for p in files:
        path = str(p)
        try:
            ours(path)
            pyabf.ABF(path)
        except Exception as exc:  # noqa: BLE001 - reported and left out
            print(f"{p.name:28s} left out: {type(exc).__name__}: {str(exc)[:90]}")
            continue
        ratios, t_pyabf, t_ours = [], [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            pyabf.ABF(path)
            t1 = time.perf_counter()
            ours(path)
            t2 = time.perf_counter()
            t_pyabf.append(t1 - t0)
            t_ours.append(t2 - t1)
            ratios.append((t2 - t1) / (t1 - t0))
        med = statistics.median(ratios)
        medians.append(med)
        print(f"{p.name:28s} {p.stat().st_size / 1e6:5.2f} {1e3 * statistics.median(t_pyabf):9.2f} "
              f"{1e3 * statistics.median(t_ours):8.2f}   {min(ratios):.2f} / {med:.2f} / {max(ratios):.2f}")
    if medians:
        print(f"per-file median ratios: min {min(medians):.2f}, median {statistics.median(medians):.2f}, "
              f"max {max(medians):.2f}  (goal: < 1.0, ours faster than pyabf's bare load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
