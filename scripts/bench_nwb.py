#!/usr/bin/env python3
"""Write time and size of ``write_nwb`` per file: the file's int16 samples against float64 values.

    .venv/bin/python scripts/bench_nwb.py [--repeat 5] [more.abf ...]

For the bundled example ``17o05028_ic_steps.abf``, the test files
``171116sh_0013.abf`` and ``pclamp11_4ch.abf`` (and any file given): the
corrected recording is built once, then ``write_nwb`` as it is (the file's
integer samples with ``conversion`` and ``offset``, commands as the protocol
gives them; gzip level 4 + shuffle, chunked) and, as the baseline in the same
process, the former layout (corrected float64 values, gzip + shuffle),
interleaved, ``--repeat`` times each after one warm-up pass.  Printed: min /
median / max seconds per file, the ratio int16 / float64 (medians), and the
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
    ap.add_argument("files", nargs="*", type=Path, help="more recordings to time")
    args = ap.parse_args()

    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.report import nwb

    stored_storage, stored_command = nwb._storage, nwb._command_data

    def float_storage(corrected):  # the baseline: every channel as corrected float64 values
        return {c.index: "baseline: float64 values" for c in corrected.recording.channels}

    def float_command(corrected, s, dac, si):  # the baseline: the corrected command, float64
        return corrected.command(s, dac), si, 0.0, "baseline: float64 values"

    variants = (("int16", stored_storage, stored_command), ("float64", float_storage, float_command))
    print(f"python {platform.python_version()} on {platform.machine()}, repeat {args.repeat}")
    print(f"{'file':28s} {'int16 s (min/med/max)':>24s} {'float64 s (min/med/max)':>24s} {'ratio':>6s} "
          f"{'input MB':>9s} {'int16 MB':>9s} {'float64 MB':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        for f in (*FILES, *args.files):
            cr = correct_recording(f, pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath",
                                   temperature_c=32, zeroing_temperature_c=22)
            times: dict[str, list[float]] = {"int16": [], "float64": []}
            sizes = {}
            try:
                for i in range(args.repeat + 1):  # the first pass warms up
                    for kind, storage, command in variants:
                        nwb._storage, nwb._command_data = storage, command
                        out = Path(tmp) / f"{f.stem}.{kind}.nwb"
                        t0 = time.perf_counter()
                        nwb.write_nwb(cr, out, overwrite=True)
                        dt = time.perf_counter() - t0
                        if i:
                            times[kind].append(dt)
                        sizes[kind] = out.stat().st_size / 1e6
            finally:
                nwb._storage, nwb._command_data = stored_storage, stored_command
            a, b = times["int16"], times["float64"]
            print(f"{f.name:28s} {min(a):7.3f}/{statistics.median(a):7.3f}/{max(a):7.3f} "
                  f"{min(b):7.3f}/{statistics.median(b):7.3f}/{max(b):7.3f} "
                  f"{statistics.median(a) / statistics.median(b):6.2f} {f.stat().st_size / 1e6:9.2f} "
                  f"{sizes['int16']:9.2f} {sizes['float64']:10.2f}")


if __name__ == "__main__":
    main()
