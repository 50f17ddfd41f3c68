"""Benchmark the recording reader against pyabf (``python scripts/bench_read.py``).

1. Full read: ``read_recording(p).to_array()`` (every sweep and channel as
   float64 in mV/pA) vs ``pyabf.ABF(p)`` (loads and scales everything to
   float32), over every ABF of ../shared/data/abf; throughput in MB of file per
   second and the ratio ours / pyabf (target >= 1.0).
2. Per-sweep statistic of one channel: mean of channel 0 of every sweep
   (``rec.sweep_data(s, 0).mean()`` vs ``pyabf.ABF(p)`` + ``setSweep(s)`` +
   ``sweepY.mean()``); target ratio >= 2.
3. Memory: chunked mean of channel 0 over a large synthetic gap-free ABF2
   (header of test_0001.abf, 16 channels, data extended to 100 MB and 500 MB)
   in a fresh subprocess each; peak traced Python/numpy allocations
   (tracemalloc) and growth of the peak resident set (VmHWM, reset after the
   imports; ru_maxrss where that is not possible) must not depend on the file
   size.  pyabf's footprint on the 100 MB file is shown for
   comparison.

Timings are the best of several repeats on a warm page cache.  Runtime < 1 min.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_ABF = ROOT.parent / "shared" / "data" / "abf"
TEMPLATE = "test_0001.abf"  # ABF2 gap-free, data section is the last section of the file


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_full_and_sweep(files, repeats: int) -> dict:
    import pyabf

    from ephys_correct.io import read_recording

    rows = []
    for p in files:
        size = p.stat().st_size

        def ours_full():
            read_recording(p).to_array()

        def pyabf_full():
            pyabf.ABF(str(p))

        def ours_sweeps():
            rec = read_recording(p)
            return [rec.sweep_data(s, 0).mean() for s in range(rec.n_sweeps)]

        def pyabf_sweeps():
            abf = pyabf.ABF(str(p))
            out = []
            for s in abf.sweepList:
                abf.setSweep(s, channel=0)
                out.append(abf.sweepY.mean())
            return out

        a, b = np.array(ours_sweeps()), np.array(pyabf_sweeps())
        assert np.allclose(a, b, atol=1e-3), f"{p.name}: per-sweep means differ"
        rows.append({
            "file": p.name, "mb": size / 1e6,
            "ours_full_s": best_time(ours_full, repeats), "pyabf_full_s": best_time(pyabf_full, repeats),
            "ours_sweep_s": best_time(ours_sweeps, repeats), "pyabf_sweep_s": best_time(pyabf_sweeps, repeats),
        })
    return rows


def make_gapfree(template: Path, dest: Path, target_bytes: int) -> None:
    """Copy *template*'s header and write int16 data up to *target_bytes*; patch the data section size."""
    head = bytearray(template.read_bytes())
    block, item, count = struct.unpack_from("<IIq", head, 236)  # DataSection: block, bytes per item, items
    start = block * 512
    assert start + item * count == len(head), "template data section is not the last section"
    n_ch = struct.unpack_from("<IIq", head, 92)[2]
    header = head[:start]
    n_items = (target_bytes - start) // item // n_ch * n_ch
    struct.pack_into("<q", header, 236 + 8, n_items)
    rng = np.random.default_rng(0)
    pattern = rng.integers(-2000, 2000, size=(1 << 22) // n_ch * n_ch, dtype=np.int16)  # 8 MiB
    with open(dest, "wb") as f:
        f.write(header)
        left = n_items
        while left > 0:
            k = min(left, pattern.size)
            f.write(pattern[:k].tobytes())
            left -= k


_CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
path, which = sys.argv[1], sys.argv[2]
from ephys_correct.io import read_recording
import pyabf

def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None

try:  # reset the peak-RSS mark (VmHWM) after the imports (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base, hwm = status_kb("VmRSS"), "VmHWM"
except OSError:
    base, hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, None
tracemalloc.start()
t0 = time.perf_counter()
if which == "ours":
    rec = read_recording(path)
    total, n, chunk_means = 0.0, 0, []
    for piece in rec.iter_chunks(0, 0, chunk_samples=1 << 20):
        chunk_means.append(piece.mean()); total += piece.sum(); n += piece.size
    mean = total / n
    n_samples = rec.sweep_lengths[0]
else:
    abf = pyabf.ABF(path)
    abf.setSweep(0, channel=0)
    mean = float(abf.sweepY.mean()); n_samples = abf.sweepPointCount
elapsed = time.perf_counter() - t0
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
rss = status_kb(hwm) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"mean": float(mean), "n": int(n_samples), "s": elapsed, "traced_peak_mb": peak / 1e6,
                  "rss_growth_mb": (rss - base) / 1024}))
"""


def run_child(path: Path, which: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), which], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(out.stdout)


def reference_mean(path: Path) -> float:
    """Channel-0 mean straight from the raw int16 (independent of the reader)."""
    from ephys_correct.io._abf import read_abf_header

    h = read_abf_header(str(path))
    raw = np.memmap(path, dtype=h.dtype, mode="r", offset=h.data_offset, shape=(h.n_points // h.n_channels,
                                                                                   h.n_channels))
    total = 0
    for lo in range(0, raw.shape[0], 1 << 22):
        total += int(raw[lo:lo + (1 << 22), 0].astype(np.int64).sum())
    c = h.channels[0]
    return total / raw.shape[0] * c.gain + c.offset


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 500])
    args = ap.parse_args(argv)
    files = sorted(SHARED_ABF.glob("*.abf"))
    if not files:
        print(f"no ABF files in {SHARED_ABF}", file=sys.stderr)
        return 1
    t_start = time.perf_counter()
    rows = bench_full_and_sweep(files, args.repeats)
    print(f"{'file':28s} {'MB':>6s} {'full ours':>10s} {'pyabf':>8s} {'ratio':>6s}  {'sweep-mean ours':>15s} "
          f"{'pyabf':>8s} {'ratio':>6s}")
    for r in rows:
        print(f"{r['file']:28s} {r['mb']:6.2f} {r['ours_full_s'] * 1e3:8.2f}ms {r['pyabf_full_s'] * 1e3:6.2f}ms "
              f"{r['pyabf_full_s'] / r['ours_full_s']:6.2f}  {r['ours_sweep_s'] * 1e3:13.2f}ms "
              f"{r['pyabf_sweep_s'] * 1e3:6.2f}ms {r['pyabf_sweep_s'] / r['ours_sweep_s']:6.2f}")
    mb = sum(r["mb"] for r in rows)
    tot = {k: sum(r[k] for r in rows) for k in ("ours_full_s", "pyabf_full_s", "ours_sweep_s", "pyabf_sweep_s")}
    print(f"\nall {len(rows)} shared ABF files, {mb:.2f} MB:")
    print(f"  full read         ours {mb / tot['ours_full_s']:8.0f} MB/s   pyabf {mb / tot['pyabf_full_s']:8.0f} MB/s"
          f"   ratio {tot['pyabf_full_s'] / tot['ours_full_s']:.2f} (target >= 1.0)")
    print(f"  per-sweep mean    ours {mb / tot['ours_sweep_s']:8.0f} MB/s   pyabf {mb / tot['pyabf_sweep_s']:8.0f} "
          f"MB/s   ratio {tot['pyabf_sweep_s'] / tot['ours_sweep_s']:.2f} (target >= 2)")

    template = SHARED_ABF / TEMPLATE
    print("\nchunked mean of channel 0 over a synthetic gap-free ABF2 (16 channels), fresh process each:")
    with tempfile.TemporaryDirectory() as tmp:
        for size_mb in args.sizes_mb:
            path = Path(tmp) / f"gapfree_{size_mb}MB.abf"
            make_gapfree(template, path, size_mb * 1_000_000)
            res = run_child(path, "ours")
            ref = reference_mean(path)
            assert abs(res["mean"] - ref) < 1e-6 * max(1.0, abs(ref)), (res["mean"], ref)
            print(f"  {path.stat().st_size / 1e6:6.0f} MB  ours : {res['s']:6.2f} s "
                  f"({path.stat().st_size / 1e6 / res['s']:6.0f} MB/s)   traced peak {res['traced_peak_mb']:7.1f} MB"
                  f"   peak RSS growth {res['rss_growth_mb']:7.1f} MB   (mean {res['mean']:.4f}, checked)")
            if size_mb == min(args.sizes_mb):
                pa = run_child(path, "pyabf")
                print(f"  {path.stat().st_size / 1e6:6.0f} MB  pyabf: {pa['s']:6.2f} s   traced peak "
                      f"{pa['traced_peak_mb']:7.1f} MB   peak RSS growth {pa['rss_growth_mb']:7.1f} MB")
            path.unlink()
    print(f"\ntotal benchmark time {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
