"""``ephys-correct ljp PIPETTE BATH --temperature T``: liquid junction potential.

A thin wrapper around :func:`ephys_correct.ljp.liquid_junction_potential`.
PIPETTE and BATH are solutions_db names, recipe files, or inline
compositions ``"K=145,Cl=10,gluconate=145"`` (ion=mM pairs).
"""

from __future__ import annotations

from ephys_correct.potentials.ljp import METHODS, LJPResult, liquid_junction_potential
from ._common import SOLUTION_FORMS, add_basis_arguments, format_table, parse_solution, print_json

_EXAMPLE_VP_MV = -60.0


def register(sub) -> None:
    p = sub.add_parser(
        "ljp",
        help="liquid junction potential of a pipette solution against a bath",
        description="Liquid junction potential V_L = V(bath) - V(pipette) (JPCalc / Barry & "
        "Lynch sign). For whole-cell and outside-out data the true membrane potential is "
        "Vm = Vp - V_L. Give the temperature at which the pipette offset was zeroed.",
    )
    p.add_argument("pipette", metavar="PIPETTE", help=SOLUTION_FORMS)
    p.add_argument("bath", metavar="BATH", help="same forms as PIPETTE")
    p.add_argument("--temperature", "-T", type=float, required=True, metavar="DEGC",
                   help="temperature (degC) at which the pipette offset was zeroed (required)")
    p.add_argument("--method", choices=[*METHODS, "both"], default="henderson",
                   help="generalized Henderson (JPCalc), stationary Nernst-Planck (LJPcalc), "
                   "or both (default: henderson)")
    p.add_argument("--activity-model", default=None, metavar="MODEL",
                   help="Henderson with activities (e.g. truesdell-jones, davies); default: "
                   "concentrations. Nernst-Planck is ideal.")
    add_basis_arguments(p, "the pipette")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def whole_cell_sentence(ljp_mv: float) -> str:
    """What V_L means for whole-cell data, in words (Vm = Vp - V_L)."""
    from ephys_correct.correction.sign import apply_ljp

    op = "-" if ljp_mv >= 0 else "+"
    example = float(apply_ljp(_EXAMPLE_VP_MV, ljp_mv=ljp_mv, configuration="whole-cell"))
    return (f"whole-cell / outside-out: true Vm = measured {op} {abs(ljp_mv):.2f} mV "
            f"(e.g. measured {_EXAMPLE_VP_MV:.2f} mV -> {example:.2f} mV)")


def _print_result(r: LJPResult) -> None:
    label = "Henderson" if r.method == "henderson" else "Nernst-Planck"
    acts = (f"activities ({r.activity_model})" if r.activity_model not in (None, "ideal")
            else "concentrations")
    print(f"{label} liquid junction potential at {r.temperature_c:g} degC ({acts})")
    print(f"  pipette: {r.pipette_name}    bath: {r.bath_name}")
    print(f"  concentrations: {'free ions (speciated)' if r.free_ions else 'totals (--totals: no speciation)'}")
    print(f"  V_L = {r.ljp_mv:+.2f} mV  (bath relative to pipette)")
    print(f"  {whole_cell_sentence(r.ljp_mv)}")
    print(f"  a direct measurement of this junction (pipette zeroed in the pipette "
          f"solution, bath switched) reads {-r.ljp_mv:+.2f} mV")
    if r.method == "nernst-planck":
        print(f"  converged to {r.solver['tolerance_mv']:g} mV "
              f"({r.solver['n_segments']} segments, {r.solver['newton_iterations']} Newton steps)")
        for side, adj in r.solver.get("charge_adjustment", {}).items():
            print(f"  note: {side} imbalance {adj['net_meq']:+.4f} mEq/L (within tolerance) "
                  "removed by scaling cations/anions before solving")
    rows = sorted(r.ions, key=lambda i: -abs(i.contribution_mv))
    print()
    print(format_table(
        ["ion", "z", "u (rel. K+)", "pipette mM", "bath mM", "contribution mV"],
        [(i.name, f"{i.charge:+d}", f"{i.relative_mobility:.3f}", i.pipette_mm, i.bath_mm,
          i.contribution_mv) for i in rows],
    ))
    print("  contribution: the ion's additive share of V_L, -(RT/F) z u * integral of "
          "c'(x)/kappa(x) over the junction")


def run(args) -> int:
    pipette = parse_solution(args.pipette)
    bath = parse_solution(args.bath)
    methods = METHODS if args.method == "both" else (args.method,)
    results = {}
    for m in methods:
        # with --method both the activity model applies to Henderson only (NP is ideal);
        # with --method nernst-planck alone it is passed on and refused
        model = None if (m == "nernst-planck" and args.method == "both") else args.activity_model
        results[m] = liquid_junction_potential(pipette, bath, temperature_c=args.temperature,
                                               method=m, activity_model=model,
                                               free_ions=not args.totals, pH_at_recording=args.ph)
    if args.json:
        # one shape whatever --method: every method computed under "results"
        out = {"results": {m: {**r.as_dict(), "whole_cell": whole_cell_sentence(r.ljp_mv)}
                           for m, r in results.items()},
               "difference_mv": (results["nernst-planck"].ljp_mv - results["henderson"].ljp_mv
                                 if len(results) == 2 else None)}
        print_json(out)
        return 0
    for k, r in enumerate(results.values()):
        if k:
            print()
        _print_result(r)
    if len(results) == 2:
        d = results["nernst-planck"].ljp_mv - results["henderson"].ljp_mv
        print()
        print(f"Nernst-Planck - Henderson = {d:+.3f} mV")
        if args.activity_model not in (None, "ideal"):
            print("  (Henderson used activities, Nernst-Planck concentrations)")
    return 0
