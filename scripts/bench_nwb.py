#!/usr/bin/env python3
"""Write time and size of ``write_nwb`` per file, with and without compression.

    .venv/bin/python scripts/bench_nwb.py [--repeat 5]

For the bundled example ``17o05028_ic_steps.abf`` and the test files
``171116sh_0013.abf`` and ``pclamp11_4ch.abf``: the corrected recording is
built once, then ``write_nwb`` (gzip level 4 + shuffle, the default) and, as
the baseline in the same process, the same writer with compression switched
off, interleaved, ``--repeat`` times each.  Printed: min / median / max
seconds per file, the ratio compressed / uncompressed (medians), and the file
sizes against the input file.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = (ROOT / "ephys_correct" / "data" / "examples" / "17o05028_ic_steps.abf",
         ROOT / "tests" / "data" / "171116sh_0013.abf",
         ROOT / "tests" / "data" / "pclamp11_4ch.abf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import numpy as np

    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.report import nwb

    plain = lambda data: np.asarray(data)  # noqa: E731 - the baseline: no filter
    compressed = nwb._compressed
    print(f"python {platform.python_version()} on {platform.machine()}, repeat {args.repeat}")
    print(f"{'file':28s} {'gzip s (min/med/max)':>24s} {'plain s (min/med/max)':>24s} {'ratio':>6s} "
          f"{'input MB':>9s} {'gzip MB':>8s} {'plain MB':>9s}")
    with tempfile.TemporaryDirectory() as tmp:
        for f in FILES:
            cr = correct_recording(f, pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath",
                                   temperature_c=32, zeroing_temperature_c=22)
            times = {"gzip": [], "plain": []}
            sizes = {}
            for i in range(args.repeat + 1):  # the first pass warms up
                for kind, fn in (("gzip", compressed), ("plain", plain)):
                    nwb._compressed = fn
                    out = Path(tmp) / f"{f.stem}.{kind}.nwb"
                    t0 = time.perf_counter()
                    nwb.write_nwb(cr, out, overwrite=True)
                    dt = time.perf_counter() - t0
                    if i:
                        times[kind].append(dt)
                    sizes[kind] = out.stat().st_size / 1e6
            nwb._compressed = compressed
            g, p = times["gzip"], times["plain"]
            print(f"{f.name:28s} {min(g):7.3f}/{statistics.median(g):7.3f}/{max(g):7.3f} "
                  f"{min(p):7.3f}/{statistics.median(p):7.3f}/{max(p):7.3f} "
                  f"{statistics.median(g) / statistics.median(p):6.2f} {f.stat().st_size / 1e6:9.2f} "
                  f"{sizes['gzip']:8.2f} {sizes['plain']:9.2f}")


if __name__ == "__main__":
    main()
