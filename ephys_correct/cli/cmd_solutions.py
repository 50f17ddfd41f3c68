"""``ephys-correct solutions list|show``: browse and inspect solution recipes."""

from __future__ import annotations

import os
from pathlib import Path

from ephys_correct.errors import UnknownSolutionError

from ephys_correct.chemistry.solutions_db import as_solution, list_solutions, locate_solution
from ._common import SOLUTION_FORMS, format_table, parse_solution, print_json, safe_text


def register(sub) -> None:
    p = sub.add_parser("solutions", help="list or show solution recipes (solutions_db/ or files)")
    ssub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    pl = ssub.add_parser("list", help="list the recipes in the solutions database")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(func=run_list)
    ps = ssub.add_parser("show", help="ions, charge balance, titration, ionic strength, osmolarity")
    ps.add_argument("solution", metavar="SOLUTION", help=SOLUTION_FORMS)
    ps.add_argument("--json", action="store_true", help="machine-readable output")
    ps.set_defaults(func=run_show)


def run_list(args) -> int:
    items = list_solutions()
    if args.json:
        print_json(items)
        return 0
    print(format_table(["id", "role", "name"], [(i["id"], i["role"] or "", i["name"]) for i in items]))
    return 0


def run_show(args) -> int:
    sol = as_solution(parse_solution(args.solution))
    d = sol.describe()
    if args.json:
        print_json(d)
        return 0
    print(f"{safe_text(d['name'])}  (role: {d['role'] or '-'})")
    if d["source"]:
        print(f"source: {d['source']}")
    if d["path"]:
        print(f"file:   {safe_text(d['path'])}  sha256 {d['identity']['source_sha256'][:12]}")
    where = _where(args.solution)
    if where:
        print(where)
    print()
    print(format_table(["ion", "mM"], sorted(d["ions_mM"].items(), key=lambda kv: -kv[1])))
    if d["neutrals_mM"]:
        print()
        print(format_table(["neutral solute", "mM"], sorted(d["neutrals_mM"].items(), key=lambda kv: -kv[1])))
    print()
    print(f"charge balance: {d['charge_balance_meq']:+.3f} mEq/L (tolerance {d['charge_tolerance_meq']:.3f})")
    print(f"ionic strength: {d['ionic_strength_mM']:.1f} mM")
    osm = d["osmolarity"]
    print(f"osmolarity:     {osm['ideal_mosm_l']:.1f} mOsm/L ideal (sum of particles per litre; not an osmolality)")
    if osm["estimate_mosm_kg"] is not None:
        print(f"osmolality:     {osm['estimate_mosm_kg']:.1f} mOsm/kg estimated ({osm['estimate_method']})")
    if osm["measured_mosm_kg"] is not None:
        print(f"                {osm['measured_mosm_kg']:.0f} mOsm/kg measured (recipe source)")
    t = d["titration"]
    if t:
        how = "estimated from electroneutrality" if t["ph_estimated"] else "stated"
        print(f"pH:             {t['ph']:.2f} ({how}; pKa at {t['ph_temperature_c']:g} degC)")
        if t["titrant"]:
            amount = "" if t["titrant_mm"] is None else f"{t['titrant_mm']:.3f} mM "
            word = "computed" if t["mode"] == "target" else "given"
            print(f"titrant:        {amount}{t['titrant']} ({word})")
        if t["bicarbonate_to_co2_mm"]:
            print(f"bicarbonate:    {t['bicarbonate_to_co2_mm']:.3f} mM HCO3- converted to CO2 by the other buffers")
        charges = ", ".join(f"{k} {v:+.2f}" for k, v in t["ligand_charge"].items())
        if charges:
            print(f"mean charges:   {charges}")
    if d["rebalanced"]:
        r = d["rebalanced"]
        print(f"REBALANCED:     {r['ion']} changed by {r['delta_mm']:+.3f} mM (explicit opt-in)")
    return 0


def _where(name: str) -> str:
    """Which solutions_db folder a name resolved to, and which files of that name it hides."""
    if Path(name).suffix.lower() == ".toml" or os.sep in name or Path(name).exists():
        return ""
    try:
        loc = locate_solution(name)
    except UnknownSolutionError:  # found by its name inside the file, not by the file name
        return ""
    text = f"from:   {safe_text(loc['folder'])} ({loc['kind']} solutions_db)"
    for f in loc["shadows"]:
        text += f"\nhides:  {safe_text(f)} (same name, later in the search order; not used)"
    return text
