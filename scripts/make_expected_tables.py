"""Snapshot driving-force tables for the regression test of ``report.driving_force_table``.

    .venv/bin/python scripts/make_expected_tables.py [--check]

Writes, per case of :data:`CASES`, ``tests/data/expected_tables/<case>.csv``
(every column, floats at full ``repr`` precision, ``""`` for NaN) and
``<case>.json`` (column dtypes, pandas version, the table's ``attrs``).
``tests/test_report_perf_equivalence.py`` recomputes every case and compares
columns, dtypes, values (1e-12) and attrs.  Regenerate only when a change of
the table's *content* is intended (and say so in the commit).

Machine- and run-specific parts are normalized in both the snapshot and the
recomputed table (:func:`normalize_attrs`): the repository root in paths
(``<ROOT>``), the package version, the provenance timestamp and the reader
string (it names the pyabf version).

``--check`` compares instead of writing, as the test does (exit 1 on a difference).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "expected_tables"
VC_STEPS = ROOT / "tests" / "data" / "171116sh_0013.abf"
FOUR_CH = ROOT / "tests" / "data" / "pclamp11_4ch.abf"
IC_STEPS = ROOT / "ephys_correct" / "data" / "examples" / "17o05028_ic_steps.abf"
RECORDINGS = (VC_STEPS, FOUR_CH, IC_STEPS)

PIP, BATH = "internal_k_gluconate", "acsf_carbogen_standard"  # as scripts/bench_batch.py
AXO_PIP, AXO_BATH = "axobits39_kgluconate_pipette", "axobits39_saline_bath"


# ----------------------------------------------------------------------------- cases
def _bench(path):
    from ephys_correct.correction.correct import correct_recording

    return correct_recording(path, pipette=PIP, bath=BATH, temperature_c=32.0), {}


def _vc_epochs_median_rs():
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.io import read_recording

    rec = dataclasses.replace(read_recording(VC_STEPS), access_resistance_by_headstage={0: 20.0})
    cr = correct_recording(rec, pipette=AXO_PIP, bath=AXO_BATH, temperature_c=22, zeroing_temperature_c=20)
    return cr, {"ions": ["K+", "Cl-", "Ca2+", "Na"], "epochs": [("hold", 0.0, 0.01), ("step", 0.5, 0.9),
                                                             ("tail", 0.95, 5.0)], "statistic": "median"}


def _vc_free_ions():
    from ephys_correct.correction.correct import correct_recording

    cr = correct_recording(VC_STEPS, pipette=PIP, bath=BATH, temperature_c=30, free_ions=True)
    return cr, {"epochs": [("hold", 0.0, 0.01)]}


def _vc_totals():
    from ephys_correct.correction.correct import correct_recording

    cr = correct_recording(VC_STEPS, pipette=PIP, bath=BATH, temperature_c=30, free_ions=False)
    return cr, {"epochs": [("hold", 0.0, 0.01)]}


def _4ch_paired_pipettes():
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.chemistry.solutions import Solution
    from ephys_correct.chemistry.solutions_db import load_solution

    axo = load_solution(AXO_PIP)
    csf = Solution.from_ions({"Cs+": 135, "F-": 135, "Na+": 10, "Cl-": 10}, name="CsF")
    cr = correct_recording(FOUR_CH, pipette={0: axo, 1: csf, 2: axo, 3: csf}, bath=AXO_BATH, temperature_c=20)
    return cr, {"epochs": [("baseline", 0.0, 0.002), ("step", 0.01, 0.05)]}


def _4ch_perforated():
    from ephys_correct.correction.correct import correct_recording

    cr = correct_recording(FOUR_CH, pipette=AXO_PIP, bath=AXO_BATH, temperature_c=22, zeroing_temperature_c=20,
                           configuration="perforated", perforating_agent="gramicidin")
    return cr, {"epochs": [("baseline", 0.0, 0.002), ("step", 0.01, 0.05)]}


def _4ch_cell_attached():
    from ephys_correct.correction.correct import correct_recording

    cr = correct_recording(FOUR_CH, pipette=AXO_PIP, bath=AXO_BATH, temperature_c=20,
                           configuration="cell-attached", resting_potential_mv=-70.0)
    return cr, {"ions": ["K+", "Cl-"], "inside_override_mm": {"K+": 140}}


def _4ch_bath_per_sweep():
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.potentials.bath import BathSchedule
    from ephys_correct.chemistry.solutions import Solution
    from ephys_correct.chemistry.solutions_db import load_solution

    bath = load_solution(AXO_BATH)
    low_cl = Solution.from_ions({"Na+": 145, "K+": 2.8, "Mg2+": 2, "Ca2+": 1, "Cl-": 75, "gluconate-": 73.8,
                                 "HEPES-": 5}, name="low Cl")
    sched = BathSchedule([(0, bath), (5, low_cl)], temperature_c=20, reference="ag_agcl", activity_model=None)
    cr = correct_recording(FOUR_CH, pipette=AXO_PIP, bath=bath, temperature_c=20, bath_change=sched)
    return cr, {"epochs": [("b", 0.0, 0.002)]}


def _4ch_bath_in_time():
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.io import read_recording
    from ephys_correct.potentials.bath import BathSchedule
    from ephys_correct.chemistry.solutions_db import load_solution

    rec = read_recording(FOUR_CH)
    bath = load_solution(AXO_BATH)
    low_cl = {"Na+": 145, "Cl-": 75, "gluconate-": 70}
    sched = BathSchedule([(0.0, bath), (rec.sweep_start_s[1] + 0.1, low_cl)], temperature_c=20,
                         reference="ag_agcl", activity_model=None, axis="time_s")
    cr = correct_recording(rec, pipette=AXO_PIP, bath=bath, temperature_c=20, bath_change=sched)
    return cr, {"ions": ["Cl-", "K+"]}


def _ic_epochs_median():
    from ephys_correct.correction.correct import correct_recording

    cr = correct_recording(IC_STEPS, pipette=AXO_PIP, bath=AXO_BATH, temperature_c=22, zeroing_temperature_c=20)
    return cr, {"epochs": [("rest", 0.0, 0.1), ("step", 0.3, 0.6)], "statistic": "median"}


def _ic_inside_out_ideal():
    from ephys_correct.correction.correct import correct_recording

    cr = correct_recording(IC_STEPS, pipette=PIP, bath=BATH, temperature_c=25, configuration="inside-out")
    return cr, {"ions": ["K+", "Na+", "Cl-"], "activity_model": "ideal"}


#: case name -> () -> (CorrectedRecording, driving_force_table keyword arguments)
CASES = {
    "vc_bench": lambda: _bench(VC_STEPS),
    "vc_epochs_median_rs": _vc_epochs_median_rs,
    "vc_free_ions": _vc_free_ions,
    "vc_totals": _vc_totals,
    "4ch_bench": lambda: _bench(FOUR_CH),
    "4ch_paired_pipettes": _4ch_paired_pipettes,
    "4ch_perforated": _4ch_perforated,
    "4ch_cell_attached": _4ch_cell_attached,
    "4ch_bath_per_sweep": _4ch_bath_per_sweep,
    "4ch_bath_in_time": _4ch_bath_in_time,
    "ic_bench": lambda: _bench(IC_STEPS),
    "ic_epochs_median": _ic_epochs_median,
    "ic_inside_out_ideal": _ic_inside_out_ideal,
}


def compute(case: str):
    """The driving-force table of *case* from the current code."""
    from ephys_correct.report.driving_force import driving_force_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr, kw = CASES[case]()
        return driving_force_table(cr, **kw)


# ----------------------------------------------------------------------------- normalization
_VOLATILE = {"timestamp": "<TIMESTAMP>", "reader": "<READER>", "software_version": "<VERSION>",
             "package_version": "<VERSION>"}


def normalize_attrs(obj: Any) -> Any:
    """JSON-ready copy of *obj* with machine/run-specific values replaced (see the module docstring)."""
    root = str(ROOT)

    def walk(o, key=None):
        if key in _VOLATILE and isinstance(o, str):
            return _VOLATILE[key]
        if isinstance(o, dict):
            return {str(k): walk(v, str(k)) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v) for v in o]
        if isinstance(o, str):
            return o.replace(root, "<ROOT>")
        if hasattr(o, "item") and not isinstance(o, (list, dict)):  # numpy scalars
            return walk(o.item(), key)
        return o

    return json.loads(json.dumps(walk(obj), allow_nan=True))


def normalize_str(s: str) -> str:
    return s.replace(str(ROOT), "<ROOT>")


def snapshot(df) -> tuple[str, dict[str, Any]]:
    """(CSV text, JSON metadata) of a table."""
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c])):
            out[c] = [normalize_str(str(v)) for v in out[c]]
    csv = out.to_csv(index=False, na_rep="", lineterminator="\n")
    meta = {
        "pandas_major": int(pd.__version__.split(".")[0]),
        "n_rows": len(df),
        "columns": [{"name": str(c), "dtype": str(df[c].dtype)} for c in df.columns],
        "attrs": normalize_attrs(dict(df.attrs)),
    }
    return csv, meta


def load_expected(case: str):
    """(DataFrame of the snapshot's values with the recorded dtypes, metadata) of *case*."""
    import csv as _csv

    import numpy as np
    import pandas as pd

    meta = json.loads((OUT / f"{case}.json").read_text(encoding="utf-8"))
    with open(OUT / f"{case}.csv", newline="", encoding="utf-8") as f:
        rows = list(_csv.reader(f))
    header, body = rows[0], rows[1:]
    assert header == [c["name"] for c in meta["columns"]], f"{case}: CSV header differs from the JSON"
    cols: dict[str, Any] = {}
    for k, c in enumerate(meta["columns"]):
        raw = [r[k] for r in body]
        kind = dtype_kind(c["dtype"])
        if kind == "float":
            cols[c["name"]] = np.array([float(v) if v != "" else math.nan for v in raw], dtype=np.float64)
        elif kind == "int":
            cols[c["name"]] = np.array([int(v) for v in raw], dtype=np.int64)
        elif kind == "bool":
            cols[c["name"]] = np.array([v == "True" for v in raw], dtype=bool)
        else:
            cols[c["name"]] = raw
    return pd.DataFrame(cols), meta


def dtype_kind(dtype: str) -> str:
    if dtype.startswith("float"):
        return "float"
    if dtype.startswith("int"):
        return "int"
    if dtype == "bool":
        return "bool"
    return "str"


# ----------------------------------------------------------------------------- comparison
ATOL = 1e-12  # floats: absolute, mV / mM / s (attrs: relative for values beyond 1)


def _json_differences(a: Any, b: Any, where: str, out: list[str]) -> None:
    """Recursive comparison of JSON-like values; floats to ATOL, NaN == NaN."""
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float))) or isinstance(a, bool) \
                or isinstance(b, bool):
            out.append(f"{where}: {a!r} != {b!r}")
        elif math.isnan(a) or math.isnan(b):
            if not (math.isnan(a) and math.isnan(b)):
                out.append(f"{where}: {a!r} != {b!r}")
        elif abs(a - b) > ATOL * max(1.0, abs(b)):
            out.append(f"{where}: {a!r} != {b!r}")
    elif isinstance(a, dict):
        if not isinstance(b, dict) or list(a) != list(b):
            out.append(f"{where}: keys {list(a)} != {list(b) if isinstance(b, dict) else b!r}")
            return
        for k in a:
            _json_differences(a[k], b[k], f"{where}[{k!r}]", out)
    elif isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            out.append(f"{where}: {a!r} != {b!r}")
            return
        for k, (x, y) in enumerate(zip(a, b)):
            _json_differences(x, y, f"{where}[{k}]", out)
    elif type(a) is not type(b) or a != b:
        out.append(f"{where}: {a!r} != {b!r}")


def differences(case: str, df) -> list[str]:
    """How *df* differs from the snapshot of *case*: columns, dtypes, values (ATOL), attrs; [] if not."""
    import numpy as np
    import pandas as pd

    expected, meta = load_expected(case)
    out: list[str] = []
    cols = [c["name"] for c in meta["columns"]]
    if list(df.columns) != cols:
        return [f"{case}: columns {list(df.columns)} != {cols}"]
    if len(df) != meta["n_rows"]:
        return [f"{case}: {len(df)} rows != {meta['n_rows']}"]
    if not (isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1):
        out.append(f"{case}: index {df.index!r} is not a RangeIndex from 0")
    same_pandas = meta["pandas_major"] == int(pd.__version__.split(".")[0])
    for c in meta["columns"]:
        name, dt = c["name"], c["dtype"]
        got = df[name]
        kind = dtype_kind(dt)
        if same_pandas and str(got.dtype) != dt:
            out.append(f"{case}: column {name}: dtype {got.dtype} != {dt}")
        elif dtype_kind(str(got.dtype)) != kind and not (kind == "str" and got.dtype == object):
            out.append(f"{case}: column {name}: dtype {got.dtype} is not {kind}")
        if kind == "float":
            x = got.to_numpy(dtype=np.float64)
            y = expected[name].to_numpy()
            bad = np.flatnonzero(~((np.isnan(x) & np.isnan(y)) | (np.abs(x - y) <= ATOL)))
            if len(bad):
                out.append(f"{case}: column {name}: {len(bad)} values differ by more than {ATOL:g}, e.g. row "
                           f"{bad[0]}: {x[bad[0]]!r} != {y[bad[0]]!r}")
        elif kind in ("int", "bool"):
            bad = np.flatnonzero(got.to_numpy() != expected[name].to_numpy())
            if len(bad):
                out.append(f"{case}: column {name}: row {bad[0]}: {got.iloc[bad[0]]!r} != "
                           f"{expected[name].iloc[bad[0]]!r}")
        else:
            vals = got.tolist()
            if not all(isinstance(v, str) for v in vals):
                out.append(f"{case}: column {name} holds values that are not str")
            bad = [(k, v, e) for k, (v, e) in enumerate(zip(map(normalize_str, map(str, vals)), expected[name]))
                   if v != e]
            if bad:
                out.append(f"{case}: column {name}: {len(bad)} differ, first {bad[:2]}")
    _json_differences(normalize_attrs(dict(df.attrs)), meta["attrs"], f"{case}: attrs", out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the stored snapshots instead of writing")
    ap.add_argument("cases", nargs="*", help=f"cases (default all): {', '.join(CASES)}")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    bad = 0
    for case in args.cases or list(CASES):
        df = compute(case)
        csv, meta = snapshot(df)
        text = json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
        if args.check:
            diff = differences(case, df)
            identical = not diff and (OUT / f"{case}.csv").read_text(encoding="utf-8") == csv
            status = "identical" if identical else f"same to {ATOL:g}" if not diff else "DIFFERS"
            print(f"{case:24s} {status}")
            for d in diff[:5]:
                print(f"    {d}")
            bad += bool(diff)
        else:
            (OUT / f"{case}.csv").write_text(csv, encoding="utf-8")
            (OUT / f"{case}.json").write_text(text, encoding="utf-8")
            print(f"{case:24s} {meta['n_rows']:4d} rows -> {OUT.relative_to(ROOT)}/{case}.csv/.json")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
