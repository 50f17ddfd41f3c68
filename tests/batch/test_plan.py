"""Experiment planning (ephys_correct.plan): targets hit, recipes stay electroneutral."""

from __future__ import annotations

import json
import math

import pytest

from ephys_correct.errors import ConvergenceError, ParameterError, UnknownCompoundError, UnknownIonError
from ephys_correct.potentials.ljp import liquid_junction_potential
from ephys_correct.plan import (
    Target,
    adjusted_recipe,
    parse_target,
    plan_solutions,
    scan_component,
    solve_target,
)
from ephys_correct.potentials.reversal import reversal_potential
from ephys_correct.chemistry.recipes import load_recipe
from ephys_correct.chemistry.solutions_db import load_solution

PIP = "internal_k_gluconate"
BATH = "acsf_carbogen_standard"


def _neutral(sol) -> bool:
    return abs(sol.charge_balance_meq()) <= sol.charge_tolerance_mm()


@pytest.mark.parametrize("target", ["E_Cl=-70", "E_Cl=-50"])
def test_e_cl_target_hit_and_recipe_electroneutral(target):
    res = solve_target(PIP, target=target, vary="KCl", other=BATH, temperature_c=32)
    goal = float(target.split("=")[1])
    assert abs(res.value - goal) < 0.01
    # independent check on the returned solution
    e = reversal_potential("Cl-", inside=res.solution, outside=load_solution(BATH), temperature_c=32)
    assert e == pytest.approx(goal, abs=0.01)
    assert _neutral(res.solution) and abs(res.charge_balance_meq) <= res.charge_tolerance_meq
    original = load_recipe(load_solution(PIP).path)
    assert res.amount_before_mm == original.components_mm["KCl"] == 4
    assert res.amount_mm > 4 and res.recipe.components_mm["KCl"] == pytest.approx(res.amount_mm)
    # everything else as weighed; the titrant is recomputed by the recipe
    for k, v in original.components_mm.items():
        if k != "KCl":
            assert res.recipe.components_mm[k] == v
    assert res.titrant == "KOH" and res.titrant_mm is not None
    assert res.recipe.path is None and res.recipe.source_sha256 == ""
    assert res.value_before == pytest.approx(-81.60, abs=0.05)


def test_exchange_keeps_the_sum_and_k():
    res = solve_target(PIP, target="E_Cl=-60", vary="KCl:K-gluconate", other=BATH, temperature_c=32)
    assert abs(res.value + 60) < 0.01
    assert res.amount_mm + res.exchange_amount_mm == pytest.approx(4 + 135)
    before = load_solution(PIP)
    assert res.solution.ions_mm["K+"] == pytest.approx(before.ions_mm["K+"], abs=0.05)
    assert _neutral(res.solution)


def test_osm_target_aims_at_phi_corrected_estimate():
    res = solve_target(PIP, target="osm=300", vary="sucrose", temperature_c=32)
    osm = res.solution.osmolarity()
    assert osm.estimate_mosm_kg == pytest.approx(300, abs=0.01)
    assert osm.ideal_mosm_l > 300  # the ideal sum is higher: not what was aimed at
    assert res.solution.neutrals_mm["sucrose"] == pytest.approx(res.amount_mm)


def test_bath_side_and_ljp_target():
    # totals asked for: this exercises the bath-side solver (free ions move the reachable range)
    res = solve_target(BATH, target="LJP=18", vary="NaCl", other=PIP, side="bath", temperature_c=25,
                       free_ions=False)
    ljp = liquid_junction_potential(load_solution(PIP), res.solution, temperature_c=25, free_ions=False)
    assert float(ljp) == pytest.approx(18, abs=0.01)
    assert _neutral(res.solution)


def test_free_calcium_target_via_speciation():
    from ephys_correct.chemistry.speciation import free_calcium

    res = solve_target(PIP, target="Ca_free=100e-6", temperature_c=22)  # default compound: CaCl2
    assert res.vary == "CaCl2"
    assert res.value == pytest.approx(1e-4, rel=1e-6)
    # MaxChelator-style cross-check with the recipe's totals (EGTA 4, ATP 4, GTP 0.3, Mg 4 mM)
    check = free_calcium(total_ca_mm=res.amount_mm, ligands_mm={"EGTA": 4, "ATP": 4, "GTP": 0.3}, pH=7.3,
                         temperature_c=22, total_mg_mm=4, ionic_strength_mm=res.solution.ionic_strength_mm())
    assert check == pytest.approx(1e-4, rel=0.1)
    assert 1.0 < res.amount_mm < 3.0  # ~half the EGTA, as expected at 100 nM free


def test_unreachable_target_says_what_is_reachable():
    with pytest.raises(ConvergenceError, match=r"out of reach.*E_Cl- spans .*mV"):
        solve_target(PIP, target="E_Cl=+20", vary="KCl", other=BATH, temperature_c=32, bounds_mm=(0, 50))


def test_inline_ions_can_be_planned():
    pip = {"K+": 140, "Cl-": 10, "gluconate-": 130}
    res = solve_target(pip, target="E_Cl=-40", vary="KCl", other={"Na+": 150, "Cl-": 150}, temperature_c=25,
                       )
    assert abs(res.value + 40) < 0.01
    assert res.solution.ions_mm["Cl-"] == pytest.approx(10 + res.amount_mm)


def test_parse_target_forms_and_errors():
    assert parse_target("E_Cl=-70") == Target("E", -70.0, "Cl-")
    assert parse_target("E_K_ideal=-90") == Target("E_ideal", -90.0, "K+")
    assert parse_target("osm=290").unit == "mOsm/kg"
    assert parse_target("LJP_np=0").quantity == "LJP_np"
    assert parse_target("Ca_free=100e-6").value == pytest.approx(1e-4)
    assert str(parse_target("E_Cl=-70")) == "E_Cl-=-70 mV"
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        parse_target("E_Cl")
    with pytest.raises(ParameterError, match="not a number"):
        parse_target("osm=high")
    with pytest.raises(ParameterError, match="Unknown target quantity 'osn'.*Did you mean.*'osm'"):
        parse_target("osn=290")
    with pytest.raises(UnknownIonError):
        parse_target("E_Xq=-70")
    with pytest.raises(ParameterError, match="cannot be negative"):
        parse_target("osm=-1")


def test_vary_errors():
    with pytest.raises(UnknownCompoundError):
        solve_target(PIP, target="E_Cl=-70", vary="KCL2", other=BATH, temperature_c=32)
    with pytest.raises(ParameterError, match="name the compound"):
        solve_target(PIP, target="I=150", other=BATH, temperature_c=32)
    with pytest.raises(ParameterError, match="other side"):
        solve_target(PIP, target="E_Cl=-70", vary="KCl", temperature_c=32)
    with pytest.raises(ParameterError, match=r"^solve_target: side = 'cell' is not one of 'pipette', 'bath'"):
        solve_target(PIP, target="E_Cl=-70", vary="KCl", other=BATH, side="cell", temperature_c=32)


def test_adjusted_recipe_exchange_bounds():
    rec = adjusted_recipe(PIP, "KCl:K-gluconate", 10)
    assert rec.components_mm["KCl"] == 10 and rec.components_mm["K-gluconate"] == 129
    from ephys_correct.errors import ConcentrationError

    with pytest.raises(ConcentrationError, match="negative"):
        adjusted_recipe(PIP, "KCl:K-gluconate", 200)


def test_plan_view_and_sequential_targets():
    plan = plan_solutions(PIP, BATH, temperature_c=32, ljp_temperature_c=22,
                          targets=["E_Cl=-70", "osm=300"], vary=["KCl:K-gluconate", "sucrose"])
    assert plan.ljp_mv("henderson") == pytest.approx(
        float(liquid_junction_potential(PIP, BATH, temperature_c=22)), abs=1e-12)
    assert plan.ljp_mv("nernst-planck") > plan.ljp_mv("henderson")  # slow anions: NP ~0.3 mV above
    assert {"E_rev_ideal_mV", "E_rev_mV"} <= set(plan.reversal.columns)
    pip = plan.solutions["pipette"]
    assert pip["osm_ideal_mosm_l"] > pip["osm_estimate_mosm_kg"]
    assert plan.solutions["bath"]["osm_measured_mosm_kg"] == 315
    assert [t.target.label for t in plan.targets] == ["E_Cl-", "osm"]
    # the second target is solved on the result of the first (sucrose leaves E_Cl alone)
    assert plan.final["E_Cl-"] == pytest.approx(-70, abs=0.01)
    assert plan.final["osm"] == pytest.approx(300, abs=0.01)
    assert plan.targets[1].recipe.components_mm["KCl"] == pytest.approx(plan.targets[0].amount_mm)
    assert _neutral(plan.final_solutions["pipette"])
    d = json.loads(json.dumps(plan.as_dict(), allow_nan=False))
    assert d["ljp_sign_convention"].startswith("V_L = V(bath)")
    assert d["targets"][0]["components_mm"]["KCl"] == pytest.approx(plan.targets[0].amount_mm)


def test_scan_component():
    scan = scan_component(PIP, vary="KCl", other=BATH, temperature_c=32, amounts_mm=[0, 5, 20],
                          nernst_planck=False)
    assert list(scan["amount_mM"]) == [0, 5, 20]
    e_cl = scan["E_Cl-_mV"].to_list()
    assert e_cl[0] < e_cl[1] < e_cl[2]  # more Cl- inside: E_Cl rises
    assert scan["LJP_henderson_mV"].is_monotonic_decreasing
    assert scan.attrs["current_mM"] == 4 and not any(math.isnan(v) for v in e_cl)
