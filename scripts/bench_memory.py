"""Peak memory of correcting one large file (issue 17 item 1): ``python scripts/bench_memory.py``.

``python scripts/bench_memory.py [--size-mb 300] [--rounds 3] [--plots] [--nwb]``

Two synthetic ABF 1.83 files of *--size-mb* are written (``tests/abf_craft.py``
``write_abf1_large``: Axopatch current clamp, V_m in mV + current in pA, a
current-step command): one **gap-free** (a single sweep as long as the file)
and one **episodic** (sweeps of 1 s at 20 kHz).  Each round runs, back to back
and each in a fresh subprocess,

* ``ours``: ``run_batch(path, ...)`` of that one file, as ``ephys-correct
  correct`` runs it (driving-force table + JSON sidecar, ``.corrected.npz``,
  markers; NWB and plots with ``--nwb`` / ``--plots``);
* ``pyabf``: ``pyabf.ABF(path)`` (loads and scales the whole file), the
  baseline;

and reports per file, min / median / max over the rounds:

* the peak of the allocations traced by ``tracemalloc`` (Python objects and
  numpy arrays) after the imports, as a fraction of the file size;
* the growth of the peak resident set (``VmHWM``, reset after the imports
  through ``/proc/self/clear_refs``; Linux) as a fraction of the file size
  (the reader maps a large file one piece at a time and unmaps it, so file
  pages do not pile up in it);
* ``ours / pyabf`` of both.

Goal: the peak of ``ours`` well under the file size (< 25 % plus a constant),
and independent of it.  To measure another version of the package, put it
first on the path: ``PYTHONPATH=/tmp/before python scripts/bench_memory.py``.
Only ratios are judged (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from abf_craft import write_abf1_large  # noqa: E402

SAMPLES_PER_SWEEP = 20000  # 1 s at 20 kHz, 2 channels: 80 kB per sweep

_CHILD = r"""
import json, os, sys, time, tracemalloc, warnings
warnings.simplefilter("ignore")
path, which, out, extra = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
import numpy as np
import pyabf
import ephys_correct
from ephys_correct.batch.run import run_batch


def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


with open("/proc/self/clear_refs", "w") as f:  # reset the peak-RSS mark (VmHWM) after the imports
    f.write("5")
base = status_kb("VmRSS")
tracemalloc.start()
t0 = time.perf_counter()
if which == "ours":
    res = run_batch([path], out_dir=out, pipette="internal_k_gluconate", bath="acsf_carbogen_standard",
                    temperature_c=32.0, jobs=1, **extra)
    assert res.n_failed == 0, res.summary.to_dict("records")
else:
    abf = pyabf.ABF(path)
    assert abf.data.size > 0
elapsed = time.perf_counter() - t0
_, traced = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({"package": os.path.dirname(ephys_correct.__file__), "s": elapsed, "traced_mb": traced / 1e6, "rss_mb": (status_kb("VmHWM") - base) / 1024}))
"""


def run_child(path: Path, which: str, out: Path, extra: dict) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = env.get("PYTHONPATH", "") + os.pathsep + str(ROOT)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    # run from the file's folder: ``-c`` puts the working directory first on sys.path, and the
    # package under test must be the one PYTHONPATH names
    res = subprocess.run([sys.executable, "-c", _CHILD, str(path), which, str(out), json.dumps(extra)],
                         capture_output=True, text=True, env=env, cwd=path.parent)
    if res.returncode:
        raise SystemExit(f"{which} on {path.name} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def mmm(xs, fmt="{:.3f}") -> str:
    return " / ".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=300.0, help="size of each synthetic file (default 300)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--plots", action="store_true", help="also write the PNG figures")
    ap.add_argument("--nwb", action="store_true", help="also write the NWB file")
    ap.add_argument("--tmp", type=Path, default=None, help="folder for the files (default: system temp)")
    args = ap.parse_args(argv)
    extra = {"plots": bool(args.plots), "nwb": bool(args.nwb)}
    import ephys_correct

    print(f"package: {Path(ephys_correct.__file__).parent}; outputs: table, npz"
          + (", plots" if args.plots else "") + (", nwb" if args.nwb else ""))
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        n_sweeps = int(args.size_mb * 1e6 // (4 * SAMPLES_PER_SWEEP))
        files = {
            "gap-free": write_abf1_large(tmp / "gapfree.abf", n_sweeps=n_sweeps, samples=SAMPLES_PER_SWEEP,
                                         gapfree=True),
            "episodic": write_abf1_large(tmp / "episodic.abf", n_sweeps=n_sweeps, samples=SAMPLES_PER_SWEEP),
        }
        os.sync()  # so that the outputs' fsync does not also flush the freshly written inputs
        results = {k: {"ours": [], "pyabf": []} for k in files}
        for r in range(args.rounds):
            for kind, path in files.items():
                for which in ("ours", "pyabf"):
                    out = tmp / f"out_{kind}_{which}_{r}"
                    results[kind][which].append(run_child(path, which, out, extra))
                    if out.exists():
                        for f in out.iterdir():
                            f.unlink()
                        out.rmdir()
        used = {x["package"] for k in results for x in results[k]["ours"]}
        print(f"package used by the runs: {', '.join(sorted(used))}")
        print(f"{args.rounds} interleaved rounds, fresh process each; min / median / max; peaks above the "
              "level after the imports, as a fraction of the file size")
        for kind, path in files.items():
            mb = path.stat().st_size / 1e6
            o, p = results[kind]["ours"], results[kind]["pyabf"]
            print(f"\n{kind}: {path.name} {mb:.0f} MB")
            for name, rows in (("ours ", o), ("pyabf", p)):
                print(f"  {name}  traced peak / file {mmm([x['traced_mb'] / mb for x in rows])}   "
                      f"peak RSS growth / file {mmm([x['rss_mb'] / mb for x in rows])}   "
                      f"(traced {mmm([x['traced_mb'] for x in rows], '{:.0f}')} MB, "
                      f"RSS {mmm([x['rss_mb'] for x in rows], '{:.0f}')} MB, "
                      f"{mmm([x['s'] for x in rows], '{:.1f}')} s)")
            print(f"  ours / pyabf: traced {mmm([a['traced_mb'] / b['traced_mb'] for a, b in zip(o, p)])}   "
                  f"peak RSS growth {mmm([a['rss_mb'] / max(b['rss_mb'], 1e-3) for a, b in zip(o, p)])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
