#!/usr/bin/env python3
"""Example lab pipeline: plan a pipette solution.

    .venv/bin/python scripts/example_pipeline_planning.py [--pipette NAME] [--bath NAME] [--temperature 32]
                                                          [--plot planning.png]

For a K-gluconate internal against ACSF: exchange KCl for K-gluconate (K+ stays
constant) to set E_Cl to -80 ... -50 mV; for each, check the LJP (Henderson and
Nernst-Planck, at the temperature the offset is zeroed), the osmolality
estimate (phi-corrected: what an osmometer reads) and the charge balance,
then bring the osmolality up to ``--osm`` (default 300 mOsm/kg, some 15 below
the bath's measured 315) with sucrose.  Uses
:func:`ephys_correct.plan.solve_target` and :func:`~ephys_correct.plan.plan_solutions`.
"""

from __future__ import annotations

import argparse
import sys

from ephys_correct.errors import ConvergenceError
from ephys_correct.plan import plan_solutions, scan_component, solve_target


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipette", default="internal_k_gluconate")
    ap.add_argument("--bath", default="acsf_carbogen_standard")
    ap.add_argument("--temperature", type=float, default=32.0, help="recording temperature, degC")
    ap.add_argument("--zeroing-temperature", type=float, default=22.0,
                    help="temperature at which the pipette offset is zeroed, degC")
    ap.add_argument("--osm", type=float, default=300.0, help="osmolality target (phi-corrected), mOsm/kg")
    ap.add_argument("--plot", default=None, help="also plot E_rev and LJP against KCl (PNG)")
    args = ap.parse_args(argv)

    base = plan_solutions(args.pipette, args.bath, temperature_c=args.temperature,
                          ljp_temperature_c=args.zeroing_temperature)
    e_cl = base.reversal.set_index("ion").loc["Cl-", "E_rev_mV"]
    print(f"{base.pipette.name}  vs  {base.bath.name}")
    print(f"as weighed: E_Cl {e_cl:.1f} mV, V_L {base.ljp_mv('henderson'):+.2f} mV (Henderson), "
          f"osmolality ~{base.solutions['pipette']['osm_estimate_mosm_kg']:.0f} mOsm/kg")
    print()
    print(f"{'E_Cl target':>11s} {'KCl':>7s} {'K-gluc':>7s} {'V_L H':>7s} {'V_L NP':>7s} {'osm':>6s} "
          f"{'sucrose to osm':>15s} {'charge':>7s}")
    print(f"{'(mV)':>11s} {'(mM)':>7s} {'(mM)':>7s} {'(mV)':>7s} {'(mV)':>7s} {'(mOsm)':>6s} {'(mM)':>15s} "
          f"{'(mEq/L)':>7s}")
    for target in (-80, -70, -60, -50):
        try:
            plan = plan_solutions(args.pipette, args.bath, temperature_c=args.temperature,
                                  ljp_temperature_c=args.zeroing_temperature,
                                  targets=[f"E_Cl={target}"], vary="KCl:K-gluconate")
        except ConvergenceError as exc:
            print(f"{target:11d}  not reachable: {exc}")
            continue
        t = plan.targets[0]
        osm = t.solution.osmolarity().estimate_mosm_kg
        try:  # sucrose only raises the osmolality: above the target, dilute instead
            sucrose = solve_target(t.recipe, target=f"osm={args.osm}", vary="sucrose", temperature_c=args.temperature)
            sucrose_txt = f"{sucrose.amount_mm:15.1f}"
        except ConvergenceError:
            sucrose_txt = f"{'(above: dilute)':>15s}"
        print(f"{target:11d} {t.amount_mm:7.2f} {t.exchange_amount_mm:7.2f} {plan.final_ljp_mv['henderson']:7.2f} "
              f"{plan.final_ljp_mv['nernst-planck']:7.2f} {osm:6.0f} {sucrose_txt} {t.charge_balance_meq:+7.3f}")
    if args.plot:
        from ephys_correct.report.plot import plot_plan_scan

        scan = scan_component(args.pipette, vary="KCl:K-gluconate", other=args.bath,
                              temperature_c=args.temperature, ljp_temperature_c=args.zeroing_temperature)
        plot_plan_scan(scan, path=args.plot, overwrite=True)
        print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
