#!/usr/bin/env python3
"""Benchmark of batch correction over the shared ABF recordings.

    .venv/bin/python scripts/bench_batch.py [--files 240] [--nwb-files 3] [--data DIR]

The shared recordings (``../shared/data/abf/*.abf``) are hard-linked (or
copied) into a temporary folder until it holds ``--files`` files.  Reported
separately:

(a) compute: reading + LJP correction + driving-force table (no writing),
    in this process, as files/s and MB/s, against ``pyabf.ABF(path)`` (which
    loads every sample) over the same files in the same run: the ratio
    ours / pyabf (target >= 0.7).  Then the same compute in a process pool
    with 1 and 2 workers (target: near-linear scaling).
(b) writers: ``report.write_table`` of the driving-force table (CSV + JSON
    sidecar) and the ``.corrected.npz`` per file; the full
    ``run_batch`` (compute + CSV + npz + done-marker) with 1 and 2 workers;
    NWB seconds per file on a few files (NWB is off the critical path: only
    with ``--nwb``).

Files the toolkit refuses (e.g. a clamp mode the header does not establish)
are counted and excluded from (a) so both sides process the same files.
Timings are the best of ``--repeat`` passes after a warm-up pass (page cache
warm for both contenders).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPETTE = "internal_k_gluconate"
BATH = "acsf_carbogen_standard"
TEMPERATURE_C = 32.0

_SOLS = None


def _solutions():
    global _SOLS
    if _SOLS is None:
        from ephys_correct.chemistry.solutions_db import load_solution

        _SOLS = (load_solution(PIPETTE), load_solution(BATH))
    return _SOLS


def compute_one(path: str) -> int:
    """Read + correct + driving-force table of one file; returns the table's row count."""
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.io import read_recording
    from ephys_correct.report.driving_force import driving_force_table

    pip, bath = _solutions()
    corrected = correct_recording(read_recording(path), pipette=pip, bath=bath, temperature_c=TEMPERATURE_C)
    return len(driving_force_table(corrected))


def read_correct_one(path: str) -> int:
    """Read + correct only (no table): where the time goes."""
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.io import read_recording

    pip, bath = _solutions()
    return correct_recording(read_recording(path), pipette=pip, bath=bath, temperature_c=TEMPERATURE_C).n_sweeps


def pyabf_one(path: str) -> int:
    import pyabf

    return pyabf.ABF(path).sweepCount


def _chunk(paths: list[str]) -> int:
    return sum(compute_one(p) for p in paths)


def _pool_compute(paths: list[str], workers: int) -> float:
    import multiprocessing

    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_warm,
                             initargs=(_WARM_FILE,)) as pool:
        # every worker up and warm (imports, solution cache) before the clock starts
        list(pool.map(time.sleep, [0.5] * workers))
        chunks = [paths[i::workers * 4] for i in range(workers * 4)]
        t0 = time.perf_counter()
        list(pool.map(_chunk, chunks))
        return time.perf_counter() - t0


def _warm(path: str) -> None:
    warnings.simplefilter("ignore")
    compute_one(path)


_WARM_FILE = ""


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _rate(n: int, nbytes: int, seconds: float) -> str:
    return f"{n / seconds:8.1f} files/s  {nbytes / seconds / 1e6:8.1f} MB/s  ({seconds:.3f} s)"


def main(argv=None) -> int:
    global _WARM_FILE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=240, help="number of files in the benchmark folder (default 240)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "abf", help="source ABF folder")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes (best is reported)")
    ap.add_argument("--nwb-files", type=int, default=3, help="files for the NWB timing (0: skip)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # the benchmark measures; the tests check warnings
    import numpy as np

    from ephys_correct._version import __version__
    from ephys_correct.batch.run import run_batch

    sources = sorted(args.data.glob("*.abf"))
    if not sources:
        print(f"no .abf files in {args.data}", file=sys.stderr)
        return 1
    # which files does the toolkit accept (same set for both contenders)?
    usable, refused = [], []
    for p in sources:
        try:
            compute_one(str(p))
            usable.append(p)
        except Exception as exc:  # noqa: BLE001 - reported, then excluded from (a)
            refused.append(f"{p.name}: {type(exc).__name__}: {str(exc)[:100]}")
    with tempfile.TemporaryDirectory(prefix="ephys_bench_") as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        paths: list[str] = []
        linked = True
        for i in range(args.files):
            src = usable[i % len(usable)]
            dst = folder / f"{i:04d}_{src.name}"
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy(src, dst)
                linked = False
            paths.append(str(dst))
        nbytes = sum(os.path.getsize(p) for p in paths)
        _WARM_FILE = paths[0]
        print(f"ephys_correct {__version__}, Python {platform.python_version()}, {platform.machine()}, "
              f"{os.cpu_count()} CPUs ({platform.processor() or platform.platform()})")
        print(f"{len(paths)} files ({'hard links' if linked else 'copies'} of {len(usable)} recordings), "
              f"{nbytes / 1e6:.1f} MB; solutions {PIPETTE} / {BATH}, {TEMPERATURE_C:g} degC")
        if refused:
            print("excluded (refused by the toolkit, with reason):")
            for r in refused:
                print(f"  {r}")
        print()
        # ---------------------------------------------------------------- (a)
        for p in paths:  # warm-up: page cache, imports, solution caches
            pyabf_one(p)
            compute_one(p)
        t_pyabf = _best(lambda: [pyabf_one(p) for p in paths], args.repeat)
        t_ours = _best(lambda: [compute_one(p) for p in paths], args.repeat)
        print("(a) compute: read + correct + driving-force table, no writing (one process)")
        print(f"    pyabf.ABF(path)          {_rate(len(paths), nbytes, t_pyabf)}")
        print(f"    ephys_correct            {_rate(len(paths), nbytes, t_ours)}")
        print(f"    ratio ours / pyabf       {t_pyabf / t_ours:.2f}x  (target >= 0.7x)")
        t_rc = _best(lambda: [read_correct_one(p) for p in paths], args.repeat)
        print(f"    of which read + correct  {_rate(len(paths), nbytes, t_rc)}  ratio {t_pyabf / t_rc:.2f}x;"
              f" driving-force table {1e3 * (t_ours - t_rc) / len(paths):.1f} ms/file")
        t1 = min(_pool_compute(paths, 1) for _ in range(args.repeat))
        t2 = min(_pool_compute(paths, 2) for _ in range(args.repeat))
        print(f"    process pool, 1 worker   {_rate(len(paths), nbytes, t1)}")
        print(f"    process pool, 2 workers  {_rate(len(paths), nbytes, t2)}")
        print(f"    scaling 1 -> 2 workers   {t1 / t2:.2f}x  (ideal 2.00x)")
        print()
        # ---------------------------------------------------------------- (b)
        from ephys_correct.report.traces import write_corrected_npz as _write_npz
        from ephys_correct.correction.correct import correct_recording
        from ephys_correct.io import read_recording
        from ephys_correct.report.driving_force import driving_force_table
        from ephys_correct.report.tables import write_table

        pip, bath = _solutions()
        sample = paths[: len(usable)]
        prepared = []
        for p in sample:
            c = correct_recording(read_recording(p), pipette=pip, bath=bath, temperature_c=TEMPERATURE_C)
            prepared.append((c, driving_force_table(c)))
        wdir = Path(tmp) / "writers"
        wdir.mkdir()
        t_csv, t_npz = [], []
        for k, (c, table) in enumerate(prepared):
            t0 = time.perf_counter()
            write_table(table, wdir / f"{k}.csv", overwrite=True)
            t_csv.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _write_npz(wdir / f"{k}.corrected.npz", c)
            t_npz.append(time.perf_counter() - t0)
        print("(b) writers (per file, over the distinct recordings)")
        for label, ts in (("driving-force CSV + sidecar", t_csv), ("corrected traces .npz", t_npz)):
            print(f"    {label:28s} median {1e3 * np.median(ts):7.1f} ms, max {1e3 * max(ts):7.1f} ms")
        kw = dict(pipette=pip, bath=bath, temperature_c=TEMPERATURE_C)
        for jobs in (1, 2):
            out = Path(tmp) / f"out{jobs}"
            t0 = time.perf_counter()
            res = run_batch(folder, out_dir=out, jobs=jobs, **kw)
            t = time.perf_counter() - t0
            print(f"    run_batch --jobs {jobs} (all outputs)  {_rate(len(paths), nbytes, t)}  "
                  f"ok {res.n_ok}, failed {res.n_failed}")
            if jobs == 2:
                t0 = time.perf_counter()
                res = run_batch(folder, out_dir=out, jobs=jobs, **kw)
                t = time.perf_counter() - t0
                print(f"    rerun (all skipped: marker check)   {_rate(len(paths), nbytes, t)}")
            shutil.rmtree(out)
        if args.nwb_files:
            try:
                from ephys_correct.report.nwb import write_nwb
            except ModuleNotFoundError as exc:
                print(f"    NWB: not measured ({exc})")
            else:
                times = []
                for k, (c, _) in enumerate(prepared[: args.nwb_files]):
                    t0 = time.perf_counter()
                    write_nwb(c, wdir / f"{k}.nwb", overwrite=True)
                    times.append(time.perf_counter() - t0)
                names = ", ".join(Path(c.recording.path).name.split("_", 1)[1] for c, _ in prepared[: args.nwb_files])
                print(f"    NWB write                    median {np.median(times):.3f} s/file, max {max(times):.3f} s "
                      f"({names})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
