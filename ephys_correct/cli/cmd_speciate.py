"""``ephys-correct speciate``: free Ca2+, Mg2+ and complexes of a solution."""

from __future__ import annotations

from ephys_correct.chemistry.solutions_db import as_solution
from ._common import SOLUTION_FORMS, add_ph_argument, format_table, parse_solution, print_json

_METALS = ("Ca2+", "Mg2+")


def register(sub) -> None:
    p = sub.add_parser("speciate", help="free Ca2+/Mg2+ and metal-ligand complexes of a solution")
    p.add_argument("solution", metavar="SOLUTION", help=SOLUTION_FORMS)
    p.add_argument("--temperature", "-T", dest="temperature_c", type=float, required=True, metavar="DEGC",
                   help="temperature in degC (binding constants are corrected to it)")
    add_ph_argument(p, "the solution")
    p.add_argument("--activity-model", default="truesdell-jones", metavar="MODEL",
                   help="activity model for the ionic-strength correction (default truesdell-jones)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    from ephys_correct.chemistry.speciation import free_ion_solution

    total = as_solution(parse_solution(args.solution))
    # the pH at the recording temperature: measured (--ph) or computed from the recipe's pH and the
    # temperature at which it was set; protons released by binding re-titrated as the recipe says
    free = free_ion_solution(total, temperature_c=args.temperature_c, activity_model=args.activity_model,
                             pH_at_recording=args.ph)
    record = dict(free.speciation or {})
    ph_used = record.get("ph_used", args.ph if args.ph is not None else total.ph)
    rows = []
    for name in sorted(set(total.ions_mm) | set(free.ions_mm) | set(free.neutrals_mm)):
        before = total.ions_mm.get(name, total.neutrals_mm.get(name, 0.0))
        after = free.ions_mm.get(name, free.neutrals_mm.get(name, 0.0))
        if before == after and name not in _METALS:
            continue  # spectators
        rows.append((name, before, after))
    if args.json:
        print_json({
            "solution": total.name,
            "temperature_c": args.temperature_c,
            "ph": ph_used,
            "ph_source": record.get("ph_source"),
            "activity_model": args.activity_model,
            "free_mM": {n: a for n, _b, a in rows},
            "total_or_input_mM": {n: b for n, b, _a in rows},
            "speciation": record,
        })
        return 0
    src = record.get("ph_source")
    print(f"{total.name}: speciated at {args.temperature_c:g} degC, pH {_fmt_ph(ph_used)}"
          f"{f' ({src})' if src else ''}, activity model {args.activity_model}")
    print(format_table(["species", "as entered mM", "at equilibrium mM"], rows, floatfmt=".6g"))
    for metal in _METALS:
        if metal in free.ions_mm:
            print(f"free {metal}: {free.ions_mm[metal] * 1e6:.4g} nM" if free.ions_mm[metal] < 1e-3
                  else f"free {metal}: {free.ions_mm[metal]:.4g} mM")
    adj = record.get("titrant_adjustment_mm")
    if adj:
        print(f"protons released by binding re-titrated: {adj['delta_mm']:+.3f} mM {adj['titrant']}")
    return 0


def _fmt_ph(ph) -> str:
    return f"{round(ph, 3):g}" if isinstance(ph, float) else str(ph)
