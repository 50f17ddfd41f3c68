#!/usr/bin/env python3
"""Cost of the worker-death-safe pool (issue 17 item 2) against a plain process pool.

    .venv/bin/python scripts/bench_pool.py [--tasks 200] [--work-ms 20] [--jobs 2] [--repeat 5]

``ephys_correct.batch.pool.run_in_processes`` keeps at most two files per worker in
flight (so that a dying worker has few suspects); the baseline submits every
task to one ``ProcessPoolExecutor`` at once (the runner before issue 17).  Both
run the same CPU-bound task (``--work-ms`` of arithmetic, about one small
recording) on ``--jobs`` workers, interleaved, ``--repeat`` times; printed: wall
time min/median/max of each and the ratio of the medians (target <= 1.05).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ephys_correct.batch.pool import run_in_processes  # noqa: E402

WORK_MS = 20.0


def _task(seconds: float) -> dict:
    t_end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < t_end:
        x += 1
    return {"n": x}


def _baseline(items, jobs, ctx) -> None:
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futs = [pool.submit(_task, it) for it in items]
        for f in as_completed(futs):
            f.result()


def _ours(items, jobs, ctx) -> None:
    run_in_processes(items, _task, lambda i, row: None, n_jobs=jobs, mp_context=ctx,
                     killed_row=lambda i, r: {"reason": r})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--work-ms", type=float, default=WORK_MS)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    items = [args.work_ms / 1e3] * args.tasks
    times = {"baseline": [], "ours": []}
    for _ in range(args.repeat):
        for name, fn in (("baseline", _baseline), ("ours", _ours)):
            t0 = time.perf_counter()
            fn(items, args.jobs, ctx)
            times[name].append(time.perf_counter() - t0)
    for name, ts in times.items():
        print(f"{name:9s} min {min(ts):.3f} s  median {statistics.median(ts):.3f} s  max {max(ts):.3f} s")
    ratio = statistics.median(times["ours"]) / statistics.median(times["baseline"])
    print(f"ratio ours/baseline (medians): {ratio:.3f}  ({args.tasks} tasks of {args.work_ms:g} ms, "
          f"{args.jobs} workers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
