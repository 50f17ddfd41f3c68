"""``ephys-correct erev PIPETTE BATH --temperature T``: per-ion reversal potentials.

A thin wrapper over :func:`ephys_correct.reversal.reversal_potentials`.  The
configuration decides which solution faces the cytoplasm: the pipette in
whole-cell, perforated-patch and outside-out recordings, the bath in
inside-out patches.  Cell-attached has no known inside and is refused.
"""

from __future__ import annotations

from ephys_correct._validate import check_choice, check_concentration, message
from ephys_correct.chemistry.activity import DEFAULT_MODEL, MODELS
from ..errors import ParameterError
from ephys_correct.correction.configurations import CONFIGURATIONS
from ._common import SOLUTION_FORMS, add_basis_arguments, format_table, parse_solution, print_json

#: the recording configurations (correction.configurations): which solution faces the cytoplasm is
#: the configuration's ``inside``; perforated patch uses the pipette (with --inside for the ions
#: the pores do not pass), cell-attached has no known inside and is refused
_CONFIGURATIONS = tuple(CONFIGURATIONS)


def _inside_of(name: str) -> str:
    cfg = CONFIGURATIONS[name]
    return "bath" if cfg.inside == "bath" else "pipette"


def register(sub) -> None:
    p = sub.add_parser(
        "erev",
        help="per-ion reversal potentials (ideal and activity-corrected)",
        description="Nernst potentials E = (RT/zF) ln(a_out/a_in) (V_in - V_out, mV) for every "
        "ion present in both solutions, with concentrations and with activities.",
    )
    p.add_argument("pipette", metavar="PIPETTE", help=SOLUTION_FORMS)
    p.add_argument("bath", metavar="BATH", help="same forms as PIPETTE")
    p.add_argument("--temperature", "-T", dest="temperature_c", type=float, required=True, metavar="DEGC",
                   help="recording temperature, degC (required)")
    p.add_argument("--activity-model", default=DEFAULT_MODEL, choices=MODELS,
                   help=f"activity model (default {DEFAULT_MODEL})")
    p.add_argument("--configuration", default="whole-cell", choices=_CONFIGURATIONS,
                   help="recording configuration; decides which solution is inside (default whole-cell)")
    p.add_argument("--inside", dest="inside_override", action="append", default=[],
                   metavar="ION=MM",
                   help="replace the inside concentration of one ion, e.g. --inside Cl-=10 "
                   "(gramicidin perforated patch); repeatable")
    add_basis_arguments(p, "the inside solution")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _parse_overrides(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        ion, sep, value = item.partition("=")
        try:
            if not sep or not ion.strip():
                raise ValueError
            number = float(value)
        except ValueError:
            raise ParameterError(message("--inside", item, "not ION=MM", "e.g. --inside Cl-=10",
                                         where="ephys-correct erev")) from None
        out[ion.strip()] = check_concentration(number, what=f"--inside {ion.strip()}", where="ephys-correct erev")
    return out


def run(args) -> int:
    from ephys_correct.report.reversal_table import reversal_potentials

    check_choice(args.configuration, tuple(n for n, c in CONFIGURATIONS.items() if c.inside_known != "none"),
                 what="--configuration", where="ephys-correct erev",
                 hint=f"in {args.configuration!r} the inside is the unknown cytoplasm")
    inside_is = _inside_of(args.configuration)
    pipette, bath = parse_solution(args.pipette), parse_solution(args.bath)
    inside, outside = (pipette, bath) if inside_is == "pipette" else (bath, pipette)
    df = reversal_potentials(inside, outside, temperature_c=args.temperature_c,
                             activity_model=args.activity_model,
                             inside_override_mm=_parse_overrides(args.inside_override) or None,
                             free_ions=not args.totals,
                             pH_at_recording=None if args.ph is None else {"inside": args.ph})
    if args.json:
        print_json({
            "configuration": args.configuration,
            "inside_is": inside_is,
            "attrs": df.attrs,
            "rows": df.to_dict(orient="records"),
        })
        return 0
    a = df.attrs
    print(f"inside ({inside_is}): {a['inside']}   outside: {a['outside']}   "
          f"configuration: {args.configuration}")
    print(f"concentrations: {a['concentration_basis']}")
    print(f"T = {a['temperature_c']:g} degC   activity model: {a['activity_model']}   "
          f"I_in = {a['ionic_strength_inside_mM']:.1f} mM   I_out = {a['ionic_strength_outside_mM']:.1f} mM")
    if a["inside_override_mm"]:
        print("inside override (mM): " + ", ".join(f"{k} {v:g}" for k, v in a["inside_override_mm"].items()))
    print()
    cols = ["ion", "c_in_mM", "c_out_mM", "gamma_in", "gamma_out", "E_rev_ideal_mV", "E_rev_mV", "delta_mV"]
    rows = [[r[c] for c in cols] for r in df.to_dict(orient="records")]
    print(format_table(cols, rows, floatfmt=".3f"))
    notes = [f"{r['ion']}: {r['bound_total_warning']}" for r in df.to_dict(orient="records")
             if r["bound_total_warning"]]
    for ion, info in a["gamma_models"].items():
        for side in ("inside", "outside"):
            reason = info.get(f"{side}_fallback")
            if reason:
                notes.append(f"{ion} ({side}): gamma by {info[side]} ({reason})")
    if args.configuration == "perforated":
        notes.append("perforated patch: only ions that pass the pores equilibrate with the pipette "
                     "(gramicidin: monovalent cations, not Cl-); give the cell's own values with "
                     "--inside ION=MM (e.g. --inside Cl-=10)")
    if notes:
        print()
        for n in notes:
            print("note: " + n)
    return 0
