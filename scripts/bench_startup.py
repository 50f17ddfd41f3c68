"""Start-up cost of the command line (issue 16 item 3).

``python scripts/bench_startup.py [--rounds 15]``

1. ``ephys-correct --help`` against ``python -c pass`` (the bare interpreter),
   run as fresh subprocesses, interleaved; prints min / median / max of each,
   of the difference (what the package adds) and of the ratio.  Goal: ``--help``
   under 0.1 s, i.e. the difference a few tens of ms at most.
2. A one-recording ``ephys-correct correct`` run with ``python -X importtime``:
   wall time of the run, total import time (sum of the top-level imports) and
   its share, and the ten costliest top-level imports.  Goal: the run is
   dominated by its work (reading, correcting, writing), not by imports.

Subprocesses run with PYTHONDONTWRITEBYTECODE unset (a user's installation
caches bytecode); one untimed warm-up run of each writes the caches.
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


def shared_dir() -> Path:
    env = os.environ.get("EPHYS_CORRECT_SHARED")
    if env:
        return Path(env)
    for cand in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if cand.is_dir():
            return cand
    return ROOT.parent / "shared"


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CLI = [sys.executable, "-c", "import sys; from ephys_correct.cli import main; sys.exit(main())"]


def run(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    return time.perf_counter() - t0, out


def stats(xs: list[float], scale: float = 1e3, unit: str = "ms") -> str:
    return f"{scale * min(xs):7.1f} / {scale * statistics.median(xs):7.1f} / {scale * max(xs):7.1f} {unit}"


def import_profile(stderr: str) -> list[tuple[str, float]]:
    """Top-level imports (name, cumulative s) from ``-X importtime`` output."""
    out = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cum, name = line[len("import time:"):].split("|")
        if name.startswith("  "):  # nested import
            continue
        out.append((name.strip(), int(cum) / 1e6))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--recording", type=Path, default=ROOT / "tests" / "data" / "pclamp11_4ch.abf")
    args = ap.parse_args(argv)
    base_cmd = [sys.executable, "-c", "pass"]
    help_cmd = CLI + ["--help"]
    for cmd in (base_cmd, help_cmd):  # warm-up: bytecode caches, page cache
        run(cmd)
    base, helps, diff, ratio = [], [], [], []
    for _ in range(args.rounds):
        tb, _ = run(base_cmd)
        th, out = run(help_cmd)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return 1
        base.append(tb)
        helps.append(th)
        diff.append(th - tb)
        ratio.append(th / tb)
    print(f"1. start-up, {args.rounds} interleaved rounds (min / median / max)")
    print(f"   python -c pass              {stats(base)}")
    print(f"   ephys-correct --help        {stats(helps)}   (goal < 100 ms)")
    print(f"   difference                  {stats(diff)}")
    print(f"   ratio --help / bare python  {min(ratio):.2f} / {statistics.median(ratio):.2f} / {max(ratio):.2f}")

    with tempfile.TemporaryDirectory(prefix="ephys_startup_") as tmp:
        cmd = [sys.executable, "-X", "importtime", "-c",
               "import sys; from ephys_correct.cli import main; sys.exit(main())",
               "correct", str(args.recording), "--out", "", "--pipette", "axobits39_kgluconate_pipette",
               "--bath", "axobits39_saline_bath", "--temperature", "22", "--jobs", "1", "--no-progress"]
        walls, imports, profiles = [], [], []
        for k in range(max(3, args.rounds // 3) + 1):
            out_dir = Path(tmp) / f"out{k}"
            cmd[cmd.index("--out") + 1] = str(out_dir)
            t, out = run(cmd)
            if out.returncode != 0:
                print(out.stderr[-2000:], file=sys.stderr)
                return 1
            shutil.rmtree(out_dir, ignore_errors=True)
            if k == 0:
                continue  # warm-up
            prof = import_profile(out.stderr)
            walls.append(t)
            imports.append(sum(c for _, c in prof))
            profiles.append(prof)
    share = [i / w for i, w in zip(imports, walls)]
    print()
    print(f"2. ephys-correct correct {args.recording.name} (one recording, all outputs), {len(walls)} runs")
    print(f"   wall time                   {stats(walls)}")
    print(f"   imports (-X importtime)     {stats(imports)}")
    print(f"   import share of the run     {min(share):.0%} / {statistics.median(share):.0%} / {max(share):.0%}")
    k = walls.index(sorted(walls)[len(walls) // 2])
    print("   costliest top-level imports (median run):")
    for name, c in sorted(profiles[k], key=lambda x: -x[1])[:10]:
        print(f"     {1e3 * c:7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
