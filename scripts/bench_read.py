"""Benchmark the recording reader against pyabf (``python scripts/bench_read.py``).

1. Full read: ``read_recording(p).to_array()`` (every sweep and channel as
   float64 in mV/pA) vs ``pyabf.ABF(p)`` (loads and scales everything to
   float32), over every ABF of the shared recordings; each round runs both
   back to back (interleaved) and the ratio ours / pyabf is reported as
   min / median / max per file (goal <= 1).
2. Per-sweep statistic of one channel of an open file (issue 16 item 5): the
   mean of channel 0 of every sweep, ``rec.sweep_data(s, 0).mean()``, against
   neo's fastest path (``AxonRawIO.get_analogsignal_chunk`` for the one channel,
   then ``rescale_signal_raw_to_float``) and against a raw ``numpy.memmap`` of
   the data section (a view per sweep, mean, then gain and offset); the three
   run interleaved on the already-opened file; ratios neo / ours (goal >= 2)
   and ours / memmap (goal <= 3), min / median / max.
3. Memory: chunked mean of channel 0 over a large synthetic gap-free ABF2
   (header of test_0001.abf, 16 channels, data extended to 100 MB and 500 MB)
   in a fresh subprocess each; peak traced Python/numpy allocations
   (tracemalloc) and growth of the peak resident set (VmHWM, reset after the
   imports; ru_maxrss where that is not possible) must not depend on the file
   size.  pyabf's footprint on the 100 MB file is shown for
   comparison.

Only ratios of interleaved runs are judged (the machine may be shared).  Runtime ~1 min.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    env = os.environ.get("EPHYS_CORRECT_SHARED")
    if env:
        return Path(env)
    for cand in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if cand.is_dir():
            return cand
    return ROOT.parent / "shared"


SHARED_ABF = _shared_dir() / "data" / "abf"
TEMPLATE = "test_0001.abf"  # ABF2 gap-free, data section is the last section of the file


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _interleaved(fns, rounds: int) -> list[list[float]]:
    """Times of each function, run back to back in every round (same machine load for all)."""
    times = [[] for _ in fns]
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def _mmm(ratios) -> str:
    return f"{min(ratios):5.2f} / {statistics.median(ratios):5.2f} / {max(ratios):5.2f}"


def bench_full(files, rounds: int) -> list[dict]:
    import pyabf

    from ephys_correct.io import read_recording

    rows = []
    for p in files:
        def ours_full():
            read_recording(p).to_array()

        def pyabf_full():
            pyabf.ABF(str(p))

        t_ours, t_pyabf = _interleaved([ours_full, pyabf_full], rounds)
        rows.append({"file": p.name, "mb": p.stat().st_size / 1e6, "ratios": [a / b for a, b in zip(t_ours, t_pyabf)],
                     "ours": statistics.median(t_ours), "pyabf": statistics.median(t_pyabf)})
    return rows


def bench_sweep_stats(files, rounds: int) -> list[dict]:
    """Mean of channel 0 per sweep on an open file: ours vs neo rawio vs a raw memmap."""
    from neo.rawio import AxonRawIO

    from ephys_correct.io import read_recording

    rows = []
    for p in files:
        rec = read_recording(p)
        src = rec._source
        if src.kind != "memmap" or rec.channels[0].scale != 1.0 or rec._offsets[0]:
            continue
        raw = AxonRawIO(filename=str(p))
        raw.parse_header()
        if raw.segment_count(0) != rec.n_sweeps:
            continue
        total = max(a + n for a, n in src.sweep_frames)
        mm = np.memmap(p, dtype=src.dtype, mode="r", offset=src.data_offset, shape=(total, src.n_channels))
        gain, offset = src.gains[0], src.offsets[0]
        sweeps = range(rec.n_sweeps)

        def ours():
            return [float(rec.sweep_data(s, 0).mean()) for s in sweeps]

        def neo_rawio():
            out = []
            for s in sweeps:
                chunk = raw.get_analogsignal_chunk(0, s, None, None, 0, channel_indexes=[0])
                out.append(float(raw.rescale_signal_raw_to_float(chunk, dtype="float64", channel_indexes=[0]).mean()))
            return out

        def memmap():
            return [float(mm[a:a + n, 0].mean()) * gain + offset for a, n in src.sweep_frames]

        a, b, c = np.array(ours()), np.array(neo_rawio()), np.array(memmap())
        if not (np.allclose(a, c, rtol=1e-9, atol=1e-9) and np.allclose(a, b, rtol=1e-4, atol=1e-3)):
            raise AssertionError(f"{p.name}: per-sweep means differ between ours, neo and the memmap")
        t_ours, t_neo, t_mm = _interleaved([ours, neo_rawio, memmap], rounds)
        rows.append({"file": p.name, "sweeps": rec.n_sweeps,
                     "neo_over_ours": [n / o for n, o in zip(t_neo, t_ours)],
                     "ours_over_memmap": [o / m for o, m in zip(t_ours, t_mm)]})
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
    rows = bench_full(files, args.repeats)
    print(f"1. full read, {args.repeats} interleaved rounds; ratio ours / pyabf min / median / max (goal <= 1)")
    print(f"{'file':28s} {'MB':>6s} {'ours ms':>8s} {'pyabf ms':>9s}   ratio")
    for r in rows:
        print(f"{r['file']:28s} {r['mb']:6.2f} {1e3 * r['ours']:8.2f} {1e3 * r['pyabf']:9.2f}   {_mmm(r['ratios'])}")
    meds = [statistics.median(r["ratios"]) for r in rows]
    print(f"per-file medians: {_mmm(meds)}")

    print(f"\n2. mean of channel 0 per sweep, open file, {args.repeats * 3} interleaved rounds "
          "(min / median / max)")
    print(f"{'file':28s} {'sweeps':>6s}   {'neo rawio / ours (>= 2)':>24s}   {'ours / raw memmap (<= 3)':>24s}")
    stats_rows = bench_sweep_stats(files, args.repeats * 3)
    for r in stats_rows:
        print(f"{r['file']:28s} {r['sweeps']:6d}   {_mmm(r['neo_over_ours']):>24s}   "
              f"{_mmm(r['ours_over_memmap']):>24s}")
    print(f"per-file medians: neo / ours {_mmm([statistics.median(r['neo_over_ours']) for r in stats_rows])}; "
          f"ours / memmap {_mmm([statistics.median(r['ours_over_memmap']) for r in stats_rows])}")

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
