"""Batch throughput as a user runs it: ``ephys-correct correct FOLDER --jobs 1`` vs ``--jobs 2`` (issue 16).

``python scripts/bench_batch.py [--files 120] [--rounds 3]``

A folder of *--files* hard links to the shared ABF recordings that the toolkit
accepts is corrected by the command line in a fresh subprocess per run: the
interpreter start, the imports, the cold worker processes and every output
(driving-force CSV + JSON sidecar, corrected traces ``.npz``, the durable
done-markers, the summary) are counted.  Each round runs, back to back,

* ``pyabf``: a subprocess loading every file with ``pyabf.ABF(path)`` (the
  baseline: the bare load of the same files, one process);
* ``--jobs 1`` and ``--jobs 2`` into fresh output folders;

and the script prints min / median / max over the rounds of the scaling
``t(jobs 1) / t(jobs 2)`` (goal >= 1.8 on 2 cores), of ``t(jobs 1) / t(pyabf)``
and the per-file wall time of each.  Subprocesses run with
PYTHONDONTWRITEBYTECODE unset (an installation caches bytecode).  Only ratios
are judged: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPETTE = "internal_k_gluconate"
BATH = "acsf_carbogen_standard"
TEMPERATURE_C = 32.0
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def shared_dir() -> Path:
    env = os.environ.get("EPHYS_CORRECT_SHARED")
    if env:
        return Path(env)
    for cand in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if cand.is_dir():
            return cand
    return ROOT.parent / "shared"


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    t = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return t


def mmm(xs: list[float], fmt: str = "{:.2f}") -> str:
    return " / ".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=120, help="files in the benchmark folder (default 120)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--data", type=Path, default=shared_dir() / "data" / "abf", help="source ABF folder")
    ap.add_argument("--no-report", action="store_true",
                    help="pass --no-report (diagnosis: the run without its HTML report, which a user's "
                         "default run writes; the figures of the report are most of a run's time)")
    args = ap.parse_args(argv)
    import warnings

    warnings.simplefilter("ignore")
    from ephys_correct._version import __version__
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.report.driving_force import driving_force_table

    usable, refused = [], []
    for p in sorted(args.data.glob("*.abf")):
        try:
            driving_force_table(correct_recording(p, pipette=PIPETTE, bath=BATH, temperature_c=TEMPERATURE_C))
            usable.append(p)
        except Exception as exc:  # noqa: BLE001 - reported, then left out
            refused.append(f"{p.name}: {type(exc).__name__}: {str(exc)[:100]}")
    if not usable:
        print(f"no usable .abf files in {args.data}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="ephys_bench_batch_") as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        paths = []
        for i in range(args.files):
            src = usable[i % len(usable)]
            dst = folder / f"{i:04d}_{src.name}"
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy(src, dst)
            paths.append(str(dst))
        list_file = Path(tmp) / "files.txt"
        list_file.write_text("\n".join(paths))
        mb = sum(os.path.getsize(p) for p in paths) / 1e6
        print(f"ephys_correct {__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
              f"{len(paths)} files ({len(usable)} recordings), {mb:.1f} MB; {PIPETTE} / {BATH}, "
              f"{TEMPERATURE_C:g} degC; {args.rounds} interleaved rounds"
              + ("; WITHOUT the HTML report (--no-report)" if args.no_report else "; with the HTML report (default)"))
        for r in refused:
            print(f"  left out (refused, with reason): {r}")
        pyabf_cmd = [sys.executable, "-c", "import sys, pyabf\n"
                     "for p in open(sys.argv[1]).read().split('\\n'): pyabf.ABF(p)", str(list_file)]
        cli = [sys.executable, "-c", "import sys; from ephys_correct.cli import main; sys.exit(main())",
               "correct", str(folder), "--pipette", PIPETTE, "--bath", BATH, "--temperature", str(TEMPERATURE_C),
               "--no-progress"] + (["--no-report"] if args.no_report else [])
        # warm-up: bytecode caches and page cache
        timed(pyabf_cmd)
        timed(cli + ["--out", str(Path(tmp) / "warm"), "--jobs", "1"])
        shutil.rmtree(Path(tmp) / "warm")
        t_pyabf, t1, t2 = [], [], []
        for k in range(args.rounds):
            t_pyabf.append(timed(pyabf_cmd))
            for jobs, store in ((1, t1), (2, t2)):
                out = Path(tmp) / f"out_{k}_{jobs}"
                store.append(timed(cli + ["--out", str(out), "--jobs", str(jobs)]))
                n_out = sum(1 for _ in out.rglob("*.done.json"))
                if n_out != len(paths):
                    raise SystemExit(f"--jobs {jobs}: {n_out} files done of {len(paths)}")
                shutil.rmtree(out)
    n = len(paths)
    print(f"per-file wall time (ms), min / median / max over rounds:")
    print(f"  pyabf.ABF (one process)      {mmm([1e3 * t / n for t in t_pyabf], '{:.1f}')}")
    print(f"  ephys-correct correct -j 1   {mmm([1e3 * t / n for t in t1], '{:.1f}')}")
    print(f"  ephys-correct correct -j 2   {mmm([1e3 * t / n for t in t2], '{:.1f}')}")
    print(f"ratio -j 1 / pyabf             {mmm([a / b for a, b in zip(t1, t_pyabf)])}")
    print(f"scaling -j 1 / -j 2            {mmm([a / b for a, b in zip(t1, t2)])}  (goal >= 1.8 on 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
