"""``ephys-correct plan PIPETTE BATH --temperature T``: plan a pipette/bath pair.

Prints the LJP (both methods), reversal potentials (ideal and
activity-corrected), ionic strength, osmolarity (ideal, phi-corrected,
measured) and charge balance; with ``--target`` it solves how much of a
compound (``--vary``) to weigh.  A thin wrapper around
:func:`ephys_correct.plan.plan_solutions`.
"""

from __future__ import annotations

import argparse

import math

from ephys_correct._validate import message
from ephys_correct.chemistry.activity import MODELS
from ..errors import ParameterError
from ..plan import QUANTITIES, plan_solutions, scan_component
from ._common import format_table, parse_solution, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "plan",
        help="plan solutions: LJP, E_rev, osmolarity, and what to change to hit a target",
        description="Experiment planning for a pipette solution against a bath: LJP (Henderson and "
        "Nernst-Planck), reversal potentials, ionic strength, osmolarity, charge balance; with "
        "--target, the amount of a compound (--vary) that hits it. Targets: E_<ion>=mV, "
        "E_<ion>_ideal=mV, LJP=mV, LJP_np=mV, osm=mOsm/kg (estimated osmolality, what an osmometer reads), "
        "osm_ideal=mOsm/L, I=mM, Ca_free=mM (100e-6 = 100 nM), Mg_free=mM. Targets are solved in "
        "order, each on the solutions left by the previous one.",
    )
    p.add_argument("pipette", metavar="PIPETTE",
                   help="solutions_db name, recipe file, or inline 'K=145,Cl=10,gluconate=145' (mM)")
    p.add_argument("bath", metavar="BATH", help="same forms as PIPETTE")
    p.add_argument("--temperature", "-T", dest="temperature_c", type=float, required=True, metavar="DEGC",
                   help="recording temperature, degC (reversal potentials, speciation; required)")
    p.add_argument("--totals", action="store_true",
                   help="use recipe totals without speciation (default: free ions at each temperature)")
    p.add_argument("--zeroing-temperature", dest="ljp_temperature_c", type=float, default=None, metavar="DEGC",
                   help="temperature at which the pipette offset is zeroed (LJP); default --temperature")
    # the earlier name, kept working for scripts (not shown: one name per option across sub-commands)
    p.add_argument("--ljp-temperature", dest="ljp_temperature_c", type=float, help=argparse.SUPPRESS)
    p.add_argument("--target", action="append", default=[], metavar="NAME=VALUE",
                   help="e.g. E_Cl=-70, osm=290, LJP=0, Ca_free=100e-6 (repeatable)")
    p.add_argument("--vary", action="append", default=[], metavar="COMPOUND",
                   help="compound to change ('KCl'), or an exchange 'KCl:K-gluconate' (A up, B down); "
                   "once for all targets or once per target (default per target: E_Cl KCl, osm sucrose, "
                   "Ca_free CaCl2, Mg_free MgCl2)")
    p.add_argument("--side", action="append", default=[], choices=("pipette", "bath"),
                   help="solution to change; once for all targets or once per target (default pipette)")
    p.add_argument("--range", dest="range_mm", default=None, metavar="LO:HI",
                   help="search range of the amount, mM (default 0 .. max(500, 4 x current))")
    p.add_argument("--activity-model", default="truesdell-jones", choices=MODELS,
                   help="activity model of the reversal potentials and speciation (default truesdell-jones)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="plot E_rev and LJP against the varied compound (the first --vary or the "
                   "first target's compound)")
    p.add_argument("--force", action="store_true", help="overwrite the --plot file")
    p.set_defaults(func=run)


def _range(text: str | None):
    if text is None:
        return None
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise ParameterError(message("--range", text, "not LO:HI in mM", "e.g. --range 0:50",
                                     where="ephys-correct plan")) from None
    if not (0 <= lo < hi and math.isfinite(hi)):
        raise ParameterError(message("--range", text, "not a range with 0 <= LO < HI",
                                     "give finite amounts in mM, e.g. --range 0:50", where="ephys-correct plan"))
    return lo, hi


def _f(v, fmt=".2f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, fmt)


def run(args) -> int:
    pipette = parse_solution(args.pipette)
    bath = parse_solution(args.bath)
    plan = plan_solutions(
        pipette, bath, temperature_c=args.temperature_c, ljp_temperature_c=args.ljp_temperature_c,
        free_ions=not args.totals,
        activity_model=args.activity_model, targets=args.target, vary=args.vary or None,
        side=args.side or "pipette", bounds_mm=_range(args.range_mm),
    )
    plot_path = None
    if args.plot:
        plot_path = _plot(plan, args)
    if args.json:
        d = plan.as_dict()
        d["plot"] = plot_path
        print_json(d)
        return 0
    _print_plan(plan)
    if plot_path:
        print(f"\nplot: {plot_path}")
    return 0


def _plot(plan, args) -> str:
    from ephys_correct.report.plot import plot_plan_scan

    if args.vary:
        vary, side = args.vary[0], (args.side[0] if args.side else "pipette")
        solved = plan.targets[0] if plan.targets and plan.targets[0].vary.split(":")[0].lower() == \
            vary.split(":")[0].lower() else None
    elif plan.targets:
        solved = plan.targets[0]
        vary, side = solved.vary, solved.side
    else:
        raise ParameterError("--plot needs a compound to vary: give --vary COMPOUND (or a --target).")
    recipe = parse_solution(args.pipette if side == "pipette" else args.bath)
    other = plan.bath if side == "pipette" else plan.pipette
    amounts = None
    if args.range_mm:
        import numpy as np

        lo, hi = _range(args.range_mm)
        amounts = np.linspace(lo, hi, 41)
    scan = scan_component(recipe, vary=vary, other=other, temperature_c=plan.temperature_c, side=side,
                          amounts_mm=amounts, ljp_temperature_c=plan.ljp_temperature_c,
                          activity_model=plan.activity_model)
    plot_plan_scan(scan, solved_mm=None if solved is None else solved.amount_mm,
                   target=None if solved is None else solved.target, path=args.plot, overwrite=args.force)
    return str(args.plot)


def _print_plan(plan) -> None:
    print(f"Pipette: {plan.pipette.name}")
    print(f"Bath:    {plan.bath.name}")
    t = f"{plan.temperature_c:g} degC"
    if plan.ljp_temperature_c != plan.temperature_c:
        t += f" (LJP at {plan.ljp_temperature_c:g} degC, when the offset is zeroed)"
    print(f"Temperature: {t}; activity model {plan.activity_model}")
    print()
    h, n = plan.ljp_mv("henderson"), plan.ljp_mv("nernst-planck")
    print(f"Liquid junction potential V_L (bath relative to pipette): Henderson {h:+.2f} mV, "
          f"Nernst-Planck {n:+.2f} mV")
    print(f"  whole-cell: true Vm = measured - ({h:+.2f} mV)")
    print()
    print("Reversal potentials (inside = pipette, outside = bath)")
    rows = [(r["ion"], r["c_in_mM"], r["c_out_mM"], r["E_rev_ideal_mV"], r["E_rev_mV"], r["delta_mV"])
            for r in plan.reversal.to_dict(orient="records")]
    print(format_table(["ion", "in (mM)", "out (mM)", "E ideal (mV)", "E activity (mV)", "delta (mV)"],
                       rows, floatfmt=".2f"))
    print()
    rows = []
    for side in ("pipette", "bath"):
        s = plan.solutions[side]
        rows.append((side, _f(s["ionic_strength_mm"], ".1f"), _f(s["osm_ideal_mosm_l"], ".1f"),
                     _f(s["osm_estimate_mosm_kg"], ".1f"), _f(s["osm_measured_mosm_kg"], ".0f"),
                     f"{s['charge_balance_meq']:+.3f} (tol {s['charge_tolerance_meq']:.2f})",
                     _f(s["ph"], ".2f")))
    print(format_table(["solution", "I (mM)", "osmolarity ideal (mOsm/L)",
                        "osmolality est. (mOsm/kg)", "osmolality measured",
                        "charge balance (mEq/L)", "pH"], rows))
    if plan.targets:
        print()
        print("Targets (solved in order)")
        rows = []
        for t in plan.targets:
            vary = t.vary
            change = f"{t.amount_before_mm:.3f} -> {t.amount_mm:.3f} mM ({t.delta_mm:+.3f})"
            if t.exchange_amount_mm is not None:
                change += f"; {vary.split(':')[1]} {t.exchange_amount_before_mm:.3f} -> {t.exchange_amount_mm:.3f}"
            titr = "" if t.titrant is None else f"{t.titrant} {t.titrant_mm_before:.3f} -> {t.titrant_mm:.3f} mM"
            unit = QUANTITIES[t.target.quantity][0]
            fmt = ".4g" if unit == "mM" else ".2f"
            rows.append((str(t.target), t.side, vary.split(":")[0], change,
                         f"{format(t.value_before, fmt)} -> {format(t.value, fmt)} {unit}", titr))
        print(format_table(["target", "side", "compound", "amount", "value", "titrant"], rows))
        print()
        print("After all adjustments")
        rows = [(k, v) for k, v in (plan.final or {}).items()]
        rows += [(f"LJP {m}", v) for m, v in (plan.final_ljp_mv or {}).items()]
        print(format_table(["quantity", "value"], rows, floatfmt=".4g"))
        for t in plan.targets:
            comps = ", ".join(f"{k} {v:g}" for k, v in t.recipe.components_mm.items())
            print(f"  {t.side} recipe after {t.target.label}: {comps} (mM)")
    if plan.notes:
        print()
        for note in plan.notes:
            print(f"note: {note}")
