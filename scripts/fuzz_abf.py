"""Fuzz the recording reader with mutated copies of real files (``python scripts/fuzz_abf.py``).

Each iteration takes a real recording, applies 1-4 random header mutations
(bit flips, random bytes, interesting numbers such as 0, -1, 2**31-1, NaN,
inf, 1e-30 written over named header fields or random offsets, edits of the
ABF2 section map, truncation), writes the result to a temporary folder and
reads it in a child process capped in address space (``--memory-mib`` above
its footprint after imports) and in time (``--timeout``), like ``ephys-correct
info`` and ``correct`` would (every sample, the first and last command sweep).
The outcomes are counted:

* ``ok``: a Recording whose numbers are all finite;
* ``refused``: an EphysCorrectError (CorruptRecordingError, UnitError, ...);
* defects: ``exception`` (any other exception type; from ``command()``, any
  type but pyabf's own ValueError/IndexError, which it mirrors), ``memory``
  (MemoryError under the cap), ``hang`` (no answer within the timeout),
  ``crash`` (the child died), ``nonfinite`` (read fine but NaN/inf values).

Every defect is written to ``--out`` (mutated file + JSON with the operations
and the answer) so it can be turned into a regression test.  Exit status 1 if
any defect was found.  The same harness runs in the test suite
(``tests/test_io_hostile.py``) with a fixed seed and ~100 examples.

    python scripts/fuzz_abf.py --iterations 2000 --seed 1
    python scripts/fuzz_abf.py --files ../shared/data/abf/*.abf --backend neo
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from io_fuzz import DEFECTS, ReaderProcess, apply_ops, random_ops  # noqa: E402

DEFAULT_FILES = ("171116sh_0013.abf", "2018_11_16_sh_0006.abf", "pclamp11_4ch.abf", "pclamp11_4ch_abf1.abf",
                 "f1_saved.abf", "190619B_0003.abf")
OTHER_FILES = ("myokit_wcp-file.wcp", "AxoGraph_X_File.axgx", "AxoGraph_Digitized_File.axgd")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", "-n", type=int, default=1000, help="mutated files to read (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same files")
    ap.add_argument("--files", nargs="+", type=Path,
                    help="recordings to mutate (default: the ABFs in tests/data)")
    ap.add_argument("--other-formats", action="store_true",
                    help="also mutate the WinWCP and AxoGraph files of tests/data")
    ap.add_argument("--backend", choices=("auto", "pyabf", "neo"), default="auto")
    ap.add_argument("--memory-mib", type=int, default=768,
                    help="address space the reader may use beyond its footprint after imports (default 768)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per file before it counts as a hang")
    ap.add_argument("--out", type=Path, default=Path("fuzz_defects"),
                    help="folder for the files that revealed a defect (default ./fuzz_defects)")
    args = ap.parse_args(argv)

    files = args.files or [ROOT / "tests" / "data" / f for f in DEFAULT_FILES]
    if args.other_formats:
        files = list(files) + [ROOT / "tests" / "data" / f for f in OTHER_FILES]
    originals = {Path(f): Path(f).read_bytes() for f in files}
    rng = random.Random(args.seed)
    counts = collections.Counter()
    by_error = collections.Counter()
    commands = collections.Counter()
    peak = 0.0
    slowest = 0.0
    slowest_case = None
    defects = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ReaderProcess(args.memory_mib, args.timeout) as reader:
        for it in range(args.iterations):
            src = rng.choice(sorted(originals))
            ops = random_ops(rng, originals[src])
            data = apply_ops(originals[src], ops)
            path = Path(tmp) / f"m{it:06d}{src.suffix}"
            path.write_bytes(data)
            ans = reader.read(path, backend=args.backend)
            outcome = ans["outcome"]
            if str(ans.get("command", "")).startswith("exception:"):
                outcome = "exception"  # command() may only fail like pyabf (ValueError, IndexError)
                ans["message"] = f"command(): {ans['command']}"
            counts[outcome] += 1
            if ans.get("command"):
                commands[ans["command"]] += 1
            if ans.get("error_type"):
                by_error[f"{outcome}: {ans['error_type']}"] += 1
            peak = max(peak, ans.get("peak_mib") or 0.0)
            if (ans.get("seconds") or 0.0) > slowest:
                slowest, slowest_case = ans["seconds"], (it, src.name, ops, outcome)
            if outcome in DEFECTS:
                defects += 1
                args.out.mkdir(parents=True, exist_ok=True)
                keep = args.out / f"seed{args.seed}_it{it:06d}_{src.name}"
                keep.write_bytes(data)
                report = {"source": str(src), "ops": [list(map(_jsonable, op)) for op in ops], "answer": ans}
                keep.with_suffix(keep.suffix + ".json").write_text(json.dumps(report, indent=1))
                print(f"[{it}] {outcome}: {ans.get('error_type')} {ans.get('message', '')[:160]}  -> {keep}",
                      flush=True)
            path.unlink()
            if (it + 1) % 200 == 0:
                print(f"  {it + 1}/{args.iterations} {dict(counts)}", flush=True)
        restarts = reader.restarts
    wall = time.perf_counter() - t0
    print(f"\n{args.iterations} mutated files from {len(originals)} originals, seed {args.seed}, backend "
          f"{args.backend}, {wall:.1f} s")
    for k in ("ok", "refused", *DEFECTS):
        print(f"  {k:10s} {counts.get(k, 0)}")
    for k, v in by_error.most_common():
        print(f"    {v:6d}  {k}")
    print("  command waveforms of the files read (first and last sweep of each DAC):")
    for k, v in commands.most_common():
        print(f"    {v:6d}  {k}")
    print(f"  largest traced peak: {peak:.1f} MiB; slowest read: {slowest:.2f} s; child restarts: {restarts}")
    if slowest_case:
        print(f"  slowest: iteration {slowest_case[0]} ({slowest_case[1]}, {slowest_case[3]}): {slowest_case[2]}")
    return 1 if defects else 0


def _jsonable(x):
    if isinstance(x, bytes):
        return x.hex()
    if isinstance(x, float) and x != x:
        return "nan"
    if isinstance(x, float) and x in (float("inf"), float("-inf")):
        return str(x)
    return x


if __name__ == "__main__":
    sys.exit(main())
