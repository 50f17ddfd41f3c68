"""Unit tests of ephys_correct.ljp: API, sign convention, closed forms, errors,
bath exchange.  Reference cases: test_ljp_reference.py; properties:
test_ljp_properties.py; CLI: test_ljp_cli.py."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import ephys_correct
from ephys_correct.potentials import _nernst_planck
from ephys_correct._constants import thermal_voltage_mv
from ephys_correct.errors import (
    ConcentrationError,
    ConvergenceError,
    ElectroneutralityError,
    ParameterError,
    UnknownIonError,
)
from ephys_correct.chemistry.ions import get_ion
from ephys_correct.potentials.bath import BathChange, BathSchedule, bath_change_offset
from ephys_correct.potentials.ljp import (
    LJPResult,
    henderson_contributions_mv,
    henderson_matrix_mv,
    henderson_mv,
    ion_arrays,
    liquid_junction_potential,
    nernst_planck_mv,
)
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.correction.sign import apply_ljp

# AxoBits 39 K-gluconate internal / saline (Figl, Lewis & Barry 2003), HEPES as HEPES-
AXO_PIP = {"K+": 145, "Na+": 13, "Cl-": 10, "gluconate-": 145, "Mg2+": 1, "HEPES-": 5}
AXO_BATH = {"K+": 2.8, "Na+": 145, "Cl-": 148.8, "Mg2+": 2, "Ca2+": 1, "HEPES-": 5}
NACL = {"Na+": 145, "Cl-": 145}
LOW_CL = {"Na+": 145, "Cl-": 75, "gluconate-": 70}


def u(name):
    return get_ion(name).relative_mobility


# ----------------------------------------------------------------------------- sign convention
def test_k_gluconate_internal_vs_saline_is_positive_and_whole_cell_example():
    """JPCalc convention: V_L = V(bath) - V(pipette) ~ +15 mV for K-gluconate vs ACSF."""
    r = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20)
    assert isinstance(r, LJPResult)
    assert 15.0 < float(r) < 16.0
    # LJPcalc README worked example: measured -48.13 mV, V_L = 16.05 -> -64.18 mV
    r_np = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20, method="nernst-planck")
    assert float(r_np) == pytest.approx(16.05, abs=0.005)
    assert float(apply_ljp(-48.13, ljp_mv=r_np.ljp_mv, configuration="whole-cell")) == pytest.approx(-64.18, abs=0.005)


def test_swap_negates_high_level_both_methods():
    for method in ("henderson", "nernst-planck"):
        a = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=22, method=method)
        b = liquid_junction_potential(AXO_BATH, AXO_PIP, temperature_c=22, method=method)
        assert float(a) != 0
        assert float(b) == pytest.approx(-float(a), abs=1e-9)


def test_identical_solutions_give_exactly_zero():
    for method in ("henderson", "nernst-planck"):
        r = liquid_junction_potential(AXO_PIP, AXO_PIP, temperature_c=20, method=method)
        assert float(r) == 0.0 and not math.isnan(float(r))
        assert all(v == 0.0 for v in r.contributions_mv.values())


# ----------------------------------------------------------------------------- Henderson
def test_binary_salt_closed_form_nacl_dilution_sign():
    """Harper 1985 NaCl 99.5 | 4.99 mM at 25 C: dilute bath -> negative (Cl- faster)."""
    vt = thermal_voltage_mv(25)
    up, un = u("Na+"), u("Cl-")
    exact = vt * (up - un) / (up + un) * math.log(99.5 / 4.99)
    assert exact == pytest.approx(-15.935, abs=5e-4)
    r = liquid_junction_potential({"Na": 99.5, "Cl": 99.5}, {"Na": 4.99, "Cl": 4.99},
                                  temperature_c=25)
    assert float(r) == pytest.approx(exact, abs=1e-12)


def test_binary_salt_divalent_closed_form():
    # CaCl2 10 mM | 1 mM: V = (RT/F) (u+ - u-)/(z+ u+ + |z-| u-) ln(cP/cS)
    vt = thermal_voltage_mv(30)
    up, un = u("Ca2+"), u("Cl-")
    exact = vt * (up - un) / (2 * up + un) * math.log(10.0)
    got = henderson_mv([10, 20], [1, 2], [2, -1], [up, un], temperature_c=30)
    assert got == pytest.approx(exact, rel=1e-13)
    got_np = nernst_planck_mv([10, 20], [1, 2], [2, -1], [up, un], temperature_c=30)
    assert got_np == pytest.approx(exact, abs=1e-6)


def test_henderson_equal_conductivity_limit_is_finite_and_continuous():
    """sum z^2 u (a^S - a^P) = 0 with different compositions: the ln/denominator limit."""
    uk, una, ucl = u("K+"), u("Na+"), u("Cl-")
    c_na = 100 * (uk + ucl) / (una + ucl)  # same conductivity as 100 mM KCl
    z = [1, 1, -1]
    mob = [uk, una, ucl]
    cp = np.array([100.0, 0.0, 100.0])
    cs = np.array([0.0, c_na, c_na])
    v0 = henderson_mv(cp, cs, z, mob, temperature_c=20, check_electroneutrality=True)
    # limit: -(RT/F) N / kappa with N = sum z u (cS - cP)
    kappa = 100 * (uk + ucl)
    n = (np.array(z) * mob) @ (cs - cp)
    assert v0 == pytest.approx(-thermal_voltage_mv(20) * n / kappa, rel=1e-12)
    for eps in (1e-9, 1e-6, 1e-3):
        v = henderson_mv(cp, cs * (1 + eps), z, mob, temperature_c=20)
        assert abs(v - v0) < 50 * eps + 1e-12
    contrib = henderson_contributions_mv(cp, cs, z, mob, temperature_c=20)
    assert contrib.sum() == pytest.approx(v0, rel=1e-12)


def test_henderson_vectorized_broadcasting_matches_scalar_loop():
    names, z, mob, c = ion_arrays([AXO_PIP, AXO_BATH, NACL, LOW_CL])
    rng = np.random.default_rng(0)
    scale = rng.uniform(0.5, 2.0, size=(5, 1, 1))
    pip = c[None, :2, :] * scale  # (5, 2, n)
    bath = c[2:, :]  # (2, n) broadcasts
    out = henderson_mv(pip, bath, z, mob, temperature_c=21)
    assert out.shape == (5, 2)
    for i in range(5):
        for j in range(2):
            ref = henderson_mv(pip[i, j], bath[j], z, mob, temperature_c=21)
            assert out[i, j] == pytest.approx(ref, rel=1e-13, abs=1e-13)
    assert out.std() > 1  # not all equal


def test_henderson_matrix_mv_matches_high_level():
    m = henderson_matrix_mv([AXO_PIP, NACL], [AXO_BATH, LOW_CL, NACL], temperature_c=20)
    assert m.shape == (2, 3)
    for i, p in enumerate([AXO_PIP, NACL]):
        for j, b in enumerate([AXO_BATH, LOW_CL, NACL]):
            assert m[i, j] == pytest.approx(
                float(liquid_junction_potential(p, b, temperature_c=20)), abs=1e-12)
    assert m[1, 2] == 0.0


def test_temperature_enters_only_through_rt_over_f():
    a = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20)
    b = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=34)
    assert float(b) / float(a) == pytest.approx((34 + 273.15) / (20 + 273.15), rel=1e-12)
    a = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20, method="nernst-planck")
    b = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=34, method="nernst-planck")
    assert float(b) / float(a) == pytest.approx((34 + 273.15) / (20 + 273.15), rel=1e-7)


# ----------------------------------------------------------------------------- LJPResult
def test_result_records_parameters_contributions_and_provenance():
    r = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20)
    assert r.method == "henderson" and r.temperature_c == 20 and r.activity_model is None
    assert r.thermal_voltage_mv == pytest.approx(thermal_voltage_mv(20))
    names = [i.name for i in r.ions]
    assert names == ["K+", "Na+", "Cl-", "gluconate-", "Mg2+", "HEPES-", "Ca2+"]
    ca = r.ions[-1]
    assert (ca.charge, ca.pipette_mm, ca.bath_mm) == (2, 0.0, 1.0)
    assert ca.relative_mobility == pytest.approx(0.405, abs=5e-4)  # Barry's Ca2+ value
    assert ca.lambda_eq == get_ion("Ca2+").lambda_eq
    assert ca.source == get_ion("Ca2+").lambda_source and ca.locator
    assert ca.gamma_pipette is None
    total = sum(r.contributions_mv.values())
    assert total == pytest.approx(float(r), abs=1e-12)
    assert r.contributions_mv["HEPES-"] == 0.0  # same on both sides
    assert r.contributions_mv["K+"] > 0 and r.contributions_mv["Na+"] < 0
    assert len(r.pipette_identity["composition_sha256"]) == 64
    assert r.pipette_identity != r.bath_identity
    assert r.package_version == ephys_correct.__version__
    d = json.loads(json.dumps(r.as_dict()))
    assert d["ljp_mv"] == float(r) and d["method"] == "henderson"
    assert d["ions"][0]["name"] == "K+" and "contribution_mv" in d["ions"][0]
    assert d["pipette"]["composition_sha256"] == r.pipette_identity["composition_sha256"]
    assert "V(bath) - V(pipette)" in d["sign_convention"]


def test_nernst_planck_result_records_solver_and_contributions_sum():
    r = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20, method="nernst-planck")
    s = r.solver
    assert s["tolerance_mv"] == 1e-4 and s["error_estimate_mv"] <= 1e-4
    # meshes 8/16/32 are solved together; accepting Newton needs at least two updates
    assert s["n_segments"] >= 32 and s["newton_iterations"] >= 2
    assert s["charge_adjustment"] == {}
    assert sum(r.contributions_mv.values()) == pytest.approx(float(r), abs=1e-9)
    json.dumps(r.as_dict())


def test_solution_objects_names_and_hashes_are_carried():
    p = Solution.from_ions(AXO_PIP, name="Kgluc internal")
    b = Solution.from_ions(AXO_BATH, name="saline")
    r = liquid_junction_potential(p, b, temperature_c=20)
    assert (r.pipette_name, r.bath_name) == ("Kgluc internal", "saline")
    assert (r.pipette_identity, r.bath_identity) == (p.identity(), b.identity())


def test_solutions_db_names_and_recipe_paths():
    """The bundled AxoBits 39 recipes reproduce the JPCalc value (15.6 mV at 20 C)."""
    from ephys_correct.chemistry.solutions_db import load_solution

    r = liquid_junction_potential("axobits39_kgluconate_pipette", "axobits39_saline_bath",
                                  temperature_c=20)
    assert float(r) == pytest.approx(15.607, abs=6e-4)
    pip = load_solution("axobits39_kgluconate_pipette")
    assert r.pipette_identity["source_sha256"] == pip.source_sha256 and r.pipette_name == pip.name
    by_path = liquid_junction_potential(pip.path, "axobits39_saline_bath", temperature_c=20)
    assert float(by_path) == float(r)


# ----------------------------------------------------------------------------- errors
def test_invalid_method_and_temperature():
    with pytest.raises(ParameterError, match=r"^liquid_junction_potential: method = 'goldman' is not one of 'henderson', 'nernst-planck'"):
        liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20, method="goldman")
    for bad in (float("nan"), float("inf"), -300.0, "warm"):
        with pytest.raises(ParameterError, match="temperature_c"):
            liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=bad)
    with pytest.raises(TypeError):
        liquid_junction_potential(AXO_PIP, AXO_BATH)  # no temperature default


def test_nernst_planck_rejects_activity_model():
    with pytest.raises(ParameterError, match=r"^liquid_junction_potential: activity_model = 'davies' is not available with method='nernst-planck'"):
        liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20, method="nernst-planck",
                                  activity_model="davies")
    r = liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20, method="nernst-planck",
                                  activity_model="ideal")
    assert r.activity_model == "ideal"


def test_non_neutral_solution_object_raises_naming_the_side():
    bad = Solution.from_ions({"K+": 140, "Cl-": 130}, name="leaky", check_balance=False)
    for method in ("henderson", "nernst-planck"):
        with pytest.raises(ElectroneutralityError, match=r"bath solution 'leaky'.*\+10"):
            liquid_junction_potential(AXO_PIP, bad, temperature_c=20, method=method)
        with pytest.raises(ElectroneutralityError, match="pipette solution 'leaky'"):
            liquid_junction_potential(bad, AXO_PIP, temperature_c=20, method=method)


def test_non_neutral_mapping_raises():
    with pytest.raises(ElectroneutralityError, match="pipette"):
        liquid_junction_potential({"K": 140, "Cl": 100}, NACL, temperature_c=20)


def test_array_api_electroneutrality_names_side_and_imbalance():
    z, mob = [1, -1], [1.0, 1.04]
    with pytest.raises(ElectroneutralityError, match=r"bath solution.*\+2 mEq/L"):
        nernst_planck_mv([100, 100], [12, 10], z, mob, temperature_c=20)
    with pytest.raises(ElectroneutralityError, match=r"pipette solution.*index \(1,\)"):
        henderson_mv([[100, 100], [100, 90]], [10, 10], z, mob, temperature_c=20)
    # within the tolerance max(0.5 mM, 0.5 % of sum|z|c/2): accepted
    assert np.isfinite(nernst_planck_mv([100.4, 100], [10, 10], z, mob, temperature_c=20))


def test_within_tolerance_imbalance_is_reported_not_silent():
    p = Solution.from_ions({"K+": 140.3, "Cl-": 140}, name="almost")
    r = liquid_junction_potential(p, NACL, temperature_c=20, method="nernst-planck")
    adj = r.solver["charge_adjustment"]
    assert set(adj) == {"pipette"}
    assert adj["pipette"]["net_meq"] == pytest.approx(0.3)
    assert adj["pipette"]["cation_factor"] < 1 < adj["pipette"]["anion_factor"]
    h = liquid_junction_potential(p, NACL, temperature_c=20)
    assert float(r) == pytest.approx(float(h), abs=0.05)


def test_array_validation_errors():
    with pytest.raises(ParameterError, match="charges"):
        henderson_mv([1, 1], [1, 1], [1, 0], [1, 1], temperature_c=20)
    with pytest.raises(ParameterError, match="charges"):
        henderson_mv([1, 1], [1, 1], [1, -1.5], [1, 1], temperature_c=20)
    with pytest.raises(ParameterError, match="mobilities"):
        henderson_mv([1, 1], [1, 1], [1, -1], [1, -1], temperature_c=20)
    with pytest.raises(ParameterError, match="c_bath"):
        henderson_mv([1, 1], [1, 1, 1], [1, -1], [1, 1], temperature_c=20)
    with pytest.raises(ConcentrationError, match="c_pipette"):
        henderson_mv([-1, -1], [1, 1], [1, -1], [1, 1], temperature_c=20)
    with pytest.raises(ConcentrationError, match="c_bath"):
        nernst_planck_mv([1, 1], [np.nan, 1], [1, -1], [1, 1], temperature_c=20)
    with pytest.raises(ConcentrationError, match="bath side has no ions"):
        nernst_planck_mv([1, 1], [0, 0], [1, -1], [1, 1], temperature_c=20)
    with pytest.raises(ConcentrationError, match="no ions"):
        henderson_mv([1, 1], [0, 0], [1, -1], [1, 1], temperature_c=20)
    with pytest.raises(ParameterError, match="one junction at a time"):
        nernst_planck_mv([[1, 1]], [[1, 1]], [1, -1], [1, 1], temperature_c=20)
    with pytest.raises(UnknownIonError, match="unobtainium"):
        liquid_junction_potential({"unobtainium": 1, "Cl": 1}, NACL, temperature_c=20)


def test_convergence_error_instead_of_unconverged_number():
    cp, cs = np.array([9.0, 0.0, 18.0]), np.array([0.0284, 3.0, 3.0568])
    z, mob = np.array([2, 1, -1]), np.array([u("Zn2+"), u("K+"), u("Cl-")])
    with pytest.raises(ConvergenceError, match="mesh refinement did not reach"):
        _nernst_planck.solve_nernst_planck(cp, cs, z, mob, tol=1e-12, m_max=32)
    with pytest.raises(ParameterError, match="tol_mv"):
        nernst_planck_mv(cp, cs, z, mob, temperature_c=25, tol_mv=0.0)


def test_newton_failure_raises_convergence_error(monkeypatch):
    monkeypatch.setattr(_nernst_planck, "_NEWTON_MAX_ITER", 1)
    with pytest.raises(ConvergenceError, match="Newton did not converge"):
        nernst_planck_mv([145, 13, 15, 145, 1, 0], [2.8, 145, 153.8, 0, 2, 1],
                         [1, 1, -1, -1, 2, 2],
                         [u("K+"), u("Na+"), u("Cl-"), u("gluconate-"), u("Mg2+"), u("Ca2+")],
                         temperature_c=20)


# ----------------------------------------------------------------------------- NP specifics
def test_nernst_planck_ion_on_one_side_only_and_converged():
    # bi-ionic: NaCl | KCl (Ng & Barry 1995 set), each cation on one side only
    z, mob = [1, 1, -1], [u("Na+"), u("K+"), u("Cl-")]
    v = nernst_planck_mv([50, 0, 50], [0, 50, 50], z, mob, temperature_c=25)
    tight = nernst_planck_mv([50, 0, 50], [0, 50, 50], z, mob, temperature_c=25, tol_mv=1e-7)
    assert v == pytest.approx(-4.36, abs=0.01)
    assert abs(v - tight) < 1e-4
    # Planck's exact result for 1:1 electrolytes at equal total concentration:
    # V = (RT/F) ln((uNa + uCl)/(uK + uCl)) (bath relative to pipette)
    planck = thermal_voltage_mv(25) * math.log((mob[0] + mob[2]) / (mob[1] + mob[2]))
    assert v == pytest.approx(planck, abs=1e-4)


def test_nernst_planck_differs_from_henderson_for_slow_anions_and_divalents():
    h = float(liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20))
    n = float(liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20,
                                        method="nernst-planck"))
    assert n - h == pytest.approx(0.443, abs=0.002)
    zp, zb = {"Zn2+": 9, "Cl-": 18}, {"Zn2+": 0.0284, "K+": 3, "Cl-": 3.0568}
    h = float(liquid_junction_potential(zp, zb, temperature_c=25))
    n = float(liquid_junction_potential(zp, zb, temperature_c=25, method="nernst-planck"))
    assert h == pytest.approx(-19.858, abs=6e-4)
    assert n == pytest.approx(-20.814, abs=6e-4)


# ----------------------------------------------------------------------------- activities
def _fake_activity(monkeypatch, gammas):
    calls = []

    class FakeResult(dict):
        model = "fake-model"

    def activity_coefficients(solution, *, temperature_c, model):
        calls.append((solution.name, temperature_c, model))
        return FakeResult({k: gammas[k] for k in solution.ions_mm})

    from ephys_correct.potentials import ljp as ljp_module

    monkeypatch.setattr(ljp_module, "activity_coefficients", activity_coefficients)
    return calls


def test_henderson_uses_gamma_times_c_and_records_it(monkeypatch):
    calls = _fake_activity(monkeypatch, {"Na+": 0.8, "Cl-": 0.7})
    p, b = {"Na": 100, "Cl": 100}, {"Na": 10, "Cl": 10}
    r = liquid_junction_potential(p, b, temperature_c=25, activity_model="davies")
    assert calls == [("pipette", 25.0, "davies"), ("bath", 25.0, "davies")]
    z, mob = [1, -1], [u("Na+"), u("Cl-")]
    # charge-consistent convention: each solution's ions carry its mean coefficient
    # sqrt(0.8 * 0.7) (gamma+- of a 1:1 salt), so a = gamma+- c stays electroneutral
    g = math.sqrt(0.8 * 0.7)
    expected = henderson_mv([100 * g, 100 * g], [10 * g, 10 * g], z, mob, temperature_c=25,
                            check_electroneutrality=False)
    assert float(r) == pytest.approx(expected, abs=1e-12)
    # the same gamma+- on both sides cancels in a single-salt junction
    assert float(r) == pytest.approx(float(liquid_junction_potential(p, b, temperature_c=25)), abs=1e-12)
    assert r.activity_model == "fake-model"
    assert r.ions[0].gamma_pipette == pytest.approx(g) and r.ions[1].gamma_bath == pytest.approx(g)
    assert r.as_dict()["ions"][1]["gamma_bath"] == pytest.approx(g)
    assert "mean activity" in r.as_dict()["activity_convention"]


def test_henderson_with_the_real_activity_module_for_a_dilution():
    from ephys_correct.chemistry.activity import activity_coefficients

    p, b = {"Na": 100, "Cl": 100}, {"Na": 10, "Cl": 10}
    r = liquid_junction_potential(p, b, temperature_c=25, activity_model="truesdell-jones")
    c = liquid_junction_potential(p, b, temperature_c=25)
    g = activity_coefficients(Solution.from_ions(p, name="p"), temperature_c=25,
                              model="truesdell-jones")
    assert 0.6 < g["Na+"] < 0.9
    # mean activity coefficient of the salt (charge-consistent convention)
    assert r.ions[0].gamma_pipette == pytest.approx(math.sqrt(g["Na+"] * g["Cl-"]))
    # activity coefficients below 1 shrink the dilution ratio: |V| decreases
    assert abs(float(r)) < abs(float(c))
    assert r.activity_model == "truesdell-jones"


# ----------------------------------------------------------------------------- bath change
def test_bare_ag_agcl_bath_change_sign_pinned():
    """145 -> 75 mM Cl- at 20 degC, concentrations: delta_ref = (RT/F) ln(75/145) = -16.65 mV,
    so whole-cell Vm = Vp - V_L + 16.65 mV (science_pitfalls item 3)."""
    for model in (None, "ideal"):
        bc = bath_change_offset(NACL, LOW_CL, temperature_c=20, reference="ag_agcl",
                                activity_model=model)
        assert isinstance(bc, BathChange)
        assert bc.delta_ref_mv == pytest.approx(-16.65, abs=0.005)
        assert bc.delta_ref_mv == pytest.approx(thermal_voltage_mv(20) * math.log(75 / 145),
                                                rel=1e-14)
        assert (bc.cl_activity_old_mm, bc.cl_activity_new_mm) == (145.0, 75.0)
    vp, v_l = -50.0, 15.0
    vm = vp - v_l - bc.delta_ref_mv
    assert vm == pytest.approx(-50.0 - 15.0 + 16.65, abs=0.005)
    back = bath_change_offset(LOW_CL, NACL, temperature_c=20, reference="ag_agcl",
                              activity_model=None)
    assert back.delta_ref_mv == pytest.approx(-bc.delta_ref_mv, rel=1e-14)


def test_bath_change_total_offset_with_pipette():
    bc = bath_change_offset(AXO_BATH, LOW_CL, temperature_c=20, reference="ag_agcl",
                            activity_model=None, pipette=AXO_PIP)
    v_l = float(liquid_junction_potential(AXO_PIP, AXO_BATH, temperature_c=20))
    assert bc.pipette_ljp.ljp_mv == pytest.approx(v_l, abs=1e-12)
    assert bc.total_offset_mv == pytest.approx(v_l + bc.delta_ref_mv, abs=1e-12)
    assert bc.parts_mv == {"pipette_ljp_mv": bc.pipette_ljp.ljp_mv,
                           "delta_ref_mv": bc.delta_ref_mv}
    d = json.loads(json.dumps(bc.as_dict()))
    assert "Vm = Vp - V_L - delta_ref_mv" in d["meaning"]
    no_pip = bath_change_offset(AXO_BATH, LOW_CL, temperature_c=20, reference="ag_agcl",
                                activity_model=None)
    assert no_pip.total_offset_mv is None


def test_chloride_free_bath_with_bare_wire_raises():
    cl_free = {"Na+": 145, "gluconate-": 145}
    with pytest.raises(ParameterError, match="new bath.*no Cl-"):
        bath_change_offset(NACL, cl_free, temperature_c=20, reference="ag_agcl",
                           activity_model=None)
    with pytest.raises(ParameterError, match="old bath.*no Cl-"):
        bath_change_offset(cl_free, NACL, temperature_c=20, reference="ag_agcl",
                           activity_model=None)
    # a salt bridge works with it
    bc = bath_change_offset(NACL, cl_free, temperature_c=20, reference="salt_bridge",
                            bridge={"K+": 3000, "Cl-": 3000}, activity_model=None)
    assert math.isfinite(bc.delta_ref_mv)


def test_salt_bridge_is_change_of_bridge_junction():
    bridge = {"K+": 3000, "Cl-": 3000}
    bc = bath_change_offset(NACL, LOW_CL, temperature_c=20, reference="salt_bridge",
                            bridge=bridge, activity_model=None)
    old = float(liquid_junction_potential(bridge, NACL, temperature_c=20))
    new = float(liquid_junction_potential(bridge, LOW_CL, temperature_c=20))
    assert bc.delta_ref_mv == pytest.approx(new - old, abs=1e-12)
    assert abs(bc.delta_ref_mv) < 1.5  # a 3 M KCl bridge nearly removes the shift
    assert bc.parts_mv["bridge_ljp_old_mv"] == pytest.approx(old)
    nacl_bridge = bath_change_offset(NACL, LOW_CL, temperature_c=20, reference="salt_bridge",
                                     bridge=NACL, activity_model=None)
    assert abs(nacl_bridge.delta_ref_mv) > 3 * abs(bc.delta_ref_mv)
    assert bc.bridge_ljp_new.activity_model is None


def test_bath_change_parameter_errors():
    with pytest.raises(ParameterError, match=r"^bath_change_offset: reference = 'calomel' is not one of 'ag_agcl', 'salt_bridge'"):
        bath_change_offset(NACL, LOW_CL, temperature_c=20, reference="calomel")
    with pytest.raises(ParameterError, match="bridge filling"):
        bath_change_offset(NACL, LOW_CL, temperature_c=20, reference="salt_bridge")
    with pytest.raises(ParameterError, match="reference='salt_bridge'"):
        bath_change_offset(NACL, LOW_CL, temperature_c=20, reference="ag_agcl",
                           bridge={"K": 3000, "Cl": 3000})
    with pytest.raises(TypeError):
        bath_change_offset(NACL, LOW_CL, temperature_c=20)  # reference has no default


def test_bath_schedule_by_sweep_and_time():
    sched = BathSchedule([(0, NACL), (10, LOW_CL), (25, NACL)], temperature_c=20,
                         reference="ag_agcl", activity_model=None)
    assert sched.offset_mv(sweep=0) == 0.0
    assert sched.offset_mv(sweep=9) == 0.0
    assert sched.offset_mv(sweep=10) == pytest.approx(-16.65, abs=0.005)
    assert sched.offset_mv(sweep=24) == pytest.approx(-16.65, abs=0.005)
    assert sched.offset_mv(sweep=25) == pytest.approx(0.0, abs=1e-12)
    assert [s.start for s in sched.steps] == [0, 10, 25]
    assert sched.step_for(sweep=12).change.cl_activity_new_mm == 75.0
    json.dumps(sched.as_dict())
    with pytest.raises(ParameterError, match="indexed by sweep"):
        sched.offset_mv(time_s=3.0)
    tsched = BathSchedule([(5.0, NACL), (60.5, LOW_CL)], axis="time_s", temperature_c=20,
                          reference="ag_agcl", activity_model=None)
    assert tsched.offset_mv(time_s=60.4) == 0.0
    assert tsched.offset_mv(time_s=60.5) == pytest.approx(-16.65, abs=0.005)
    with pytest.raises(ParameterError, match="before the first bath"):
        tsched.offset_mv(time_s=1.0)
    with pytest.raises(ParameterError, match="indexed by time"):
        tsched.offset_mv(sweep=1)


def test_bath_schedule_validation():
    with pytest.raises(ParameterError, match="strictly increasing"):
        BathSchedule([(0, NACL), (0, LOW_CL)], temperature_c=20, reference="ag_agcl")
    with pytest.raises(ParameterError, match="integer"):
        BathSchedule([(0, NACL), (2.5, LOW_CL)], temperature_c=20, reference="ag_agcl")
    with pytest.raises(ParameterError, match="empty"):
        BathSchedule([], temperature_c=20, reference="ag_agcl")
    with pytest.raises(ParameterError, match=r"^BathSchedule: axis = 'frames' is not one of 'sweep', 'time_s'"):
        BathSchedule([(0, NACL)], axis="frames", temperature_c=20, reference="ag_agcl")
