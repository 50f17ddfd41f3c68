"""``ephys-correct demo``: the whole workflow on a bundled recording and bundled solutions.

Reads the bundled current-clamp recording (``ephys_correct/data/examples/``),
computes the LJP of a K-gluconate internal against a carbogen ACSF (both
methods) and the reversal potentials, corrects the recording and writes the
corrected traces, the driving-force table, a summary and two figures into the
output folder (default ``./demo_output``).  Re-running keeps what is there
(nothing is overwritten without ``--force``).
"""

from __future__ import annotations

import importlib
import sys
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from ._common import format_table, print_warning

#: the bundled recording (package data)
EXAMPLE_RECORDING = "17o05028_ic_steps.abf"
#: the solutions_db recipes the demo uses (a shipped K-gluconate internal and carbogen ACSF)
DEMO_PIPETTE = "internal_k_gluconate"
DEMO_BATH = "acsf_carbogen_standard"
#: fallback pair when those recipes are not shipped (AxoBits 39 example)
FALLBACK_PAIR = ("axobits39_kgluconate_pipette", "axobits39_saline_bath")
DEMO_TEMPERATURE_C = 32.0
N_SWEEPS_SHOWN = 5


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole workflow on a bundled recording and bundled solutions",
        description="LJP (Henderson and Nernst-Planck), reversal potentials, LJP correction of a "
        "bundled current-clamp recording, driving-force table, summary and figures, written to an "
        f"output folder. Solutions: solutions_db '{DEMO_PIPETTE}' against '{DEMO_BATH}' at "
        f"{DEMO_TEMPERATURE_C:g} degC (a demonstration pairing: the recording's real solutions are "
        "not known).",
    )
    p.add_argument("--out", "-o", default="demo_output", metavar="DIR",
                   help="output folder (default ./demo_output)")
    p.add_argument("--force", action="store_true", help="redo and overwrite the outputs of an earlier demo")
    p.set_defaults(func=run)


def _available(module: str) -> bool:
    try:
        importlib.import_module(f"ephys_correct.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"ephys_correct.{module}":
            return False
        raise
    return True


def _solutions():
    from ..errors import UnknownSolutionError
    from ephys_correct.chemistry.solutions_db import load_solution

    try:
        return load_solution(DEMO_PIPETTE), load_solution(DEMO_BATH)
    except UnknownSolutionError:
        return load_solution(FALLBACK_PAIR[0]), load_solution(FALLBACK_PAIR[1])


def run(args) -> int:
    from ephys_correct.potentials.ljp import liquid_junction_potential
    from ephys_correct.report.reversal_table import reversal_potentials

    out = Path(args.out)
    t = DEMO_TEMPERATURE_C
    pipette, bath = _solutions()
    with ExitStack() as stack:
        rec_path = stack.enter_context(resources.as_file(
            resources.files("ephys_correct").joinpath("data", "examples", EXAMPLE_RECORDING)))
        print("ephys-correct demo: LJP, reversal potentials and LJP correction of a bundled recording")
        print(f"  recording:   {EXAMPLE_RECORDING} (pyABF sample data, MIT; see data/examples/README.md)")
        print(f"  pipette:     {pipette.name}  [{Path(pipette.path).name if pipette.path else 'ions'}]")
        print(f"  bath:        {bath.name}  [{Path(bath.path).name if bath.path else 'ions'}]")
        print(f"  temperature: {t:g} degC (offset zeroed and recorded at this temperature)")
        print("  (a demonstration pairing: the recording's real solutions are not known)")
        print()
        ljp = {m: liquid_junction_potential(pipette, bath, temperature_c=t, method=m)
               for m in ("henderson", "nernst-planck")}
        h, n = float(ljp["henderson"]), float(ljp["nernst-planck"])
        print("1. Liquid junction potential V_L (bath relative to pipette)")
        print(f"   Henderson {h:+.2f} mV   Nernst-Planck {n:+.2f} mV")
        print(f"   whole-cell: true Vm = recorded Vm - ({h:+.2f} mV)")
        print()
        erev = reversal_potentials(pipette, bath, temperature_c=t)
        print("2. Reversal potentials (inside = pipette, outside = bath; Nernst on activities)")
        rows = [(r["ion"], r["c_in_mM"], r["c_out_mM"], r["E_rev_ideal_mV"], r["E_rev_mV"])
                for r in erev.to_dict(orient="records")]
        print(format_table(["ion", "in (mM)", "out (mM)", "E ideal (mV)", "E activity (mV)"], rows,
                           floatfmt=".2f"))
        print()
        missing = [m for m in ("correction", "report") if not _available(m)]
        if missing:
            print(f"3. (the {' and '.join(missing)} module{'s are' if len(missing) > 1 else ' is'} not "
                  "installed yet: recording correction and tables skipped)")
            return 0
        return _correct_and_report(rec_path, pipette, bath, t, ljp, erev, out, args.force)


def _correct_and_report(rec_path, pipette, bath, t, ljp, erev, out: Path, force: bool) -> int:
    import pandas as pd

    from ephys_correct.batch.run import run_batch
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.correction.membrane import windows_for
    from ..errors import OutputExistsError
    from ..io import read_recording
    from ephys_correct.report.tables import write_table

    rec = read_recording(rec_path)
    corrected = correct_recording(rec, pipette=pipette, bath=bath, temperature_c=t)
    print("3. LJP-corrected membrane potential (mean of each sweep's baseline, before the current step)")
    head = corrected.recording.headstages[0]
    hs = head.index
    vm_ch = [c.index for c in rec.channels if c.kind == "membrane_potential"]
    rows = []
    for s in range(min(N_SWEEPS_SHOWN, rec.n_sweeps)):
        w = windows_for(corrected, head, s, "baseline")[0]
        raw = float(rec.sweep_data(s, vm_ch[0], start=w.i0, stop=w.i1).mean()) if vm_ch else float("nan")
        vm, _ = corrected.membrane_potential(s, hs)
        rows.append((s, w.i1 / rec.sample_rate_hz, raw, vm, vm - raw))
    print(format_table(["sweep", "baseline to (s)", "recorded (mV)", "corrected (mV)", "change (mV)"], rows,
                       floatfmt=".2f"))
    print(f"   ({rec.n_sweeps} sweeps; {corrected.configuration.name}: {corrected.configuration.formula})")
    print()
    out.mkdir(parents=True, exist_ok=True)
    kept: list[str] = []

    def table(df, name: str) -> None:
        try:
            write_table(df, out / name, format="csv", overwrite=force)
        except OutputExistsError:
            kept.append(name)

    ljp_df = pd.DataFrame([{"method": m, "ljp_mV": float(r), "temperature_c": r.temperature_c,
                            "pipette": r.pipette_name, "bath": r.bath_name} for m, r in ljp.items()])
    ljp_df.attrs["sign_convention"] = "V_L = V(bath) - V(pipette); whole-cell Vm = Vp - V_L"
    table(ljp_df, "ljp.csv")
    table(erev, "reversal_potentials.csv")
    # the batch path: the same run as `ephys-correct correct` (resumable: an earlier demo is kept)
    result = run_batch([rec_path], out_dir=out, pipette=pipette, bath=bath, temperature_c=t, jobs=1,
                       force=force, plots=_has_matplotlib())
    row = result.rows[0]
    for w in row.get("warnings") or ():
        print_warning("demo", w)
    if row["status"] == "failed":
        print(f"correction of the recording failed: {row['reason']}", file=sys.stderr)
    elif row["status"] == "skipped":
        kept.append("corrected traces and tables (done by an earlier demo)")
    print(f"4. Files in {out}/")
    for f in sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")):
        print(f"   {f.relative_to(out)}")
    if kept:
        print(f"   kept from an earlier demo: {', '.join(kept)} (use --force to redo)")
    return 1 if row["status"] == "failed" else 0


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True
