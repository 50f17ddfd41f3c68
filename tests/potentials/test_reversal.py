"""ephys_correct.reversal: Nernst (ideal and with activities), GHK, Donnan, and the erev CLI.

Reference cases: tests/data/electrochem_cases.json (copy of
../shared/reference/electrochem_cases.json; sources per case in the file).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ephys_correct.chemistry import activity as act
from ephys_correct.potentials import reversal as rev
from ephys_correct.report.reversal_table import reversal_potentials
from ephys_correct._constants import thermal_voltage_mv
from ephys_correct.errors import (
    ElectroneutralityError,
    ModelValidityWarning,
    ParameterError,
    UnknownIonError,
)

from conftest import TEST_DATA  # noqa: E402
CASES = json.loads((TEST_DATA / "electrochem_cases.json").read_text())["cases"]
COUNTER = {1: "Cl-", -1: "Na+", 2: "Cl-"}


def _salt(ion: str, z: int, c: float) -> dict[str, float]:
    """A neutral two-ion solution holding *c* mM of *ion* (counter-ion for charge balance)."""
    counter = COUNTER[z]
    return {ion: c, counter: abs(z) * c}


def _cases(kind):
    return [pytest.param(c, id=c["id"]) for c in CASES if c["kind"] == kind]


# --------------------------------------------------------------------------- Nernst
@pytest.mark.parametrize("case", _cases("nernst"))
def test_nernst_reference_cases(case):
    inp = case["inputs"]
    e = rev.reversal_potential(
        inp["ion"], inside=_salt(inp["ion"], inp["z"], inp["c_in_mM"]),
        outside=_salt(inp["ion"], inp["z"], inp["c_out_mM"]),
        temperature_c=inp["temperature_C"], activity_model="ideal",
    )
    assert e == pytest.approx(case["expected_mV"], abs=1e-3)  # exact constants
    assert abs(e - case["published_mV"]) <= case["tolerance"]  # the printed, rounded value


def test_decade_slopes_closed_form():
    k10 = {"K+": 10.0, "Cl-": 10.0}
    k1 = {"K+": 1.0, "Cl-": 1.0}
    for t, slope in ((25.0, 59.159), (20.0, 58.167)):  # STYLE.md section 8
        e = rev.reversal_potential("K+", inside=k1, outside=k10, temperature_c=t, activity_model="ideal")
        assert e == pytest.approx(slope, abs=5e-4)


@pytest.mark.parametrize("m_in,m_out,salt,expected", [
    # NaCl 0.5 | 0.1 mol/kg: (RT/F) ln(0.5*0.681 / (0.1*0.778)) with the CRC gamma+-
    # (activity_reference.csv, J. Phys. Chem. Ref. Data 13 (1984)) = 37.93 mV (activity_notes.md);
    # ideal 41.35 mV
    (0.5, 0.1, ("Na+", "Cl-"), 37.93),
    # KCl 0.1 | 0.01 mol/kg = 55.06 mV (activity_notes.md; gamma+- 0.769 and 0.902 from a
    # Hamer & Wu list the notes mark SECONDARY); ideal 59.16 mV
    (0.1, 0.01, ("K+", "Cl-"), 55.06),
])
def test_concentration_cell_emf_is_convention_free(m_in, m_out, salt, expected):
    """(E_anion - E_cation)/2 = (RT/F) ln(a+-_in / a+-_out) does not depend on how gamma+-
    is split between the ions; the TJ error in gamma+- (< 1 %) allows 0.3 mV."""
    cat, an = salt
    inside = {cat: m_in * 1000, an: m_in * 1000}
    outside = {cat: m_out * 1000, an: m_out * 1000}
    e_cat = rev.reversal_potential(cat, inside=inside, outside=outside, temperature_c=25)
    e_an = rev.reversal_potential(an, inside=inside, outside=outside, temperature_c=25)
    assert (e_an - e_cat) / 2 == pytest.approx(expected, abs=0.3)
    e_ideal = rev.reversal_potential(an, inside=inside, outside=outside, temperature_c=25,
                                     activity_model="ideal")
    assert e_ideal - (e_an - e_cat) / 2 > 3.0  # the activity correction is several mV here


conc = st.floats(0.01, 500)
temps = st.floats(0, 45)


@given(c_in=conc, c_out=conc, k=st.floats(0.01, 100), t=temps)
def test_ideal_nernst_invariant_to_scaling_both_sides(c_in, c_out, k, t):
    e1 = rev.reversal_potential("K+", inside=_salt("K+", 1, c_in), outside=_salt("K+", 1, c_out),
                                temperature_c=t, activity_model="ideal")
    e2 = rev.reversal_potential("K+", inside=_salt("K+", 1, c_in * k), outside=_salt("K+", 1, c_out * k),
                                temperature_c=t, activity_model="ideal")
    assert e1 == pytest.approx(e2, abs=1e-9)


@given(c_in=conc, c_out=conc, t=temps)
def test_anion_sign_flip_and_divalent_halving(c_in, c_out, t):
    inside = {"K+": c_in, "Cl-": c_in, "Ca2+": c_in, "Na+": 2 * c_in}
    inside["Cl-"] = c_in + 2 * c_in + 2 * c_in
    outside = {"K+": c_out, "Ca2+": c_out, "Na+": 2 * c_out, "Cl-": 5 * c_out}
    kw = dict(inside=inside, outside=outside, temperature_c=t, activity_model="ideal")
    e_k = rev.reversal_potential("K+", **kw)
    e_cl = rev.reversal_potential("Cl-", **kw)
    e_ca = rev.reversal_potential("Ca2+", **kw)
    assert e_cl == pytest.approx(-e_k, abs=1e-9)  # same ratio, opposite charge
    assert e_ca == pytest.approx(e_k / 2, abs=1e-9)  # z = 2 halves the slope


def test_activity_corrected_k_in_acsf_vs_internal_is_small():
    """Nearly equal ionic strengths (0.15 vs 0.16 mol/kg): |delta| < 0.5 mV (activity_notes 5)."""
    internal = {"K+": 140, "Cl-": 10, "gluconate-": 130}
    acsf = {"Na+": 151.25, "K+": 2.5, "Cl-": 133.5, "H2PO4-": 1.25, "HCO3-": 25, "Ca2+": 2, "Mg2+": 1}
    # ion mappings without a pH: totals, asked for by name (free ions would need the pH)
    df = reversal_potentials(internal, acsf, temperature_c=34, free_ions=False)
    assert (df["delta_mV"].abs() < 0.5).all()


# --------------------------------------------------------------------------- errors
def test_zero_concentration_raises_by_default_and_inf_on_request():
    inside = {"K+": 140, "Cl-": 140}
    outside = {"Na+": 140, "Cl-": 140}
    with pytest.raises(ParameterError, match=r"K\+ is 0 mM on the outside.*zero='inf'"):
        rev.reversal_potential("K+", inside=inside, outside=outside, temperature_c=25)
    assert rev.reversal_potential("K+", inside=inside, outside=outside, temperature_c=25,
                                  zero="inf") == -math.inf
    assert rev.reversal_potential("Na+", inside=inside, outside=outside, temperature_c=25,
                                  zero="inf") == math.inf
    with pytest.raises(ParameterError, match="both sides"):
        rev.reversal_potential("Ca2+", inside=inside, outside=outside, temperature_c=25, zero="inf")
    with pytest.raises(ParameterError, match=r"^reversal_potential: zero = 'nan' is not one of 'raise', 'inf'"):
        rev.reversal_potential("K+", inside=inside, outside=inside, temperature_c=25, zero="nan")


def test_reversal_errors():
    s = {"K+": 140, "Cl-": 140}
    with pytest.raises(UnknownIonError, match="Unknown ion 'Kalium'"):
        rev.reversal_potential("Kalium", inside=s, outside=s, temperature_c=25)
    with pytest.raises(ParameterError, match=r"^reversal_potential: activity_model = 'pitzer' is not one of "
                                             r"'ideal', 'davies', 'extended-debye-huckel', "
                                             r"'truesdell-jones'"):
        rev.reversal_potential("K+", inside=s, outside=s, temperature_c=25, activity_model="pitzer")
    with pytest.raises(ParameterError, match="temperature_c"):
        rev.reversal_potential("K+", inside=s, outside=s, temperature_c=-10)
    with pytest.raises(ParameterError, match="temperature_c"):
        rev.reversal_potential("K+", inside=s, outside=s, temperature_c=-300, activity_model="ideal")
    with pytest.raises(ElectroneutralityError):
        rev.reversal_potential("K+", inside={"K+": 140}, outside=s, temperature_c=25)
    with pytest.raises(ParameterError, match="Expected a Solution"):
        rev.reversal_potential("K+", inside=42, outside=s, temperature_c=25)


# --------------------------------------------------------------------------- table
def test_reversal_potentials_table():
    inside = {"K+": 130, "Na+": 4, "Cl-": 10, "gluconate-": 124}
    outside = {"Na+": 145, "K+": 5, "Cl-": 150}
    df = reversal_potentials(inside, outside, temperature_c=32)
    assert list(df.columns) == ["ion", "charge", "c_in_mM", "c_out_mM", "gamma_in", "gamma_out",
                                "a_in_mM", "a_out_mM", "E_rev_ideal_mV", "E_rev_mV", "delta_mV",
                                "bound_total_warning"]
    assert list(df["ion"]) == ["K+", "Na+", "Cl-"]  # gluconate- only inside
    k = df.set_index("ion").loc["K+"]
    assert k["E_rev_ideal_mV"] == pytest.approx(thermal_voltage_mv(32) * math.log(5 / 130))
    assert k["a_in_mM"] == pytest.approx(k["gamma_in"] * 130)
    assert k["delta_mV"] == pytest.approx(k["E_rev_mV"] - k["E_rev_ideal_mV"])
    assert k["E_rev_mV"] == pytest.approx(
        rev.reversal_potential("K+", inside=inside, outside=outside, temperature_c=32))
    a = df.attrs
    assert a["units"]["E_rev_mV"] == "mV" and a["units"]["c_in_mM"] == "mM"
    assert a["temperature_c"] == 32 and a["activity_model"] == "truesdell-jones"
    assert a["inside"] == "custom" and a["package_version"]
    assert a["gamma_models"]["K+"] == {"inside": "truesdell-jones", "outside": "truesdell-jones"}


def test_inside_override_gramicidin():
    inside = {"K+": 140, "Cl-": 140}
    outside = {"Na+": 140, "K+": 5, "Cl-": 145}
    df = reversal_potentials(inside, outside, temperature_c=25, inside_override_mm={"Cl": 10},
                                 activity_model="ideal")
    cl = df.set_index("ion").loc["Cl-"]
    assert cl["c_in_mM"] == 10
    assert cl["E_rev_mV"] == pytest.approx(-thermal_voltage_mv(25) * math.log(145 / 10))
    assert df.attrs["inside_override_mm"] == {"Cl-": 10.0}
    # with activities, gamma_in is the one of the inside solution as given (I = 140 mM)
    df2 = reversal_potentials(inside, outside, temperature_c=25, inside_override_mm={"Cl-": 10})
    g = act.activity_coefficients(inside, temperature_c=25)["Cl-"]
    assert df2.set_index("ion").loc["Cl-", "gamma_in"] == pytest.approx(g)
    with pytest.raises(ParameterError, match="inside_override_mm"):
        reversal_potentials(inside, outside, temperature_c=25, inside_override_mm=[("Cl-", 1)])


def test_ions_selection():
    inside = {"K+": 140, "Cl-": 140}
    outside = {"Na+": 140, "K+": 5, "Cl-": 145}
    df = reversal_potentials(inside, outside, temperature_c=25, ions=["Cl"])
    assert list(df["ion"]) == ["Cl-"]
    with pytest.raises(ParameterError, match="not present on both sides"):
        reversal_potentials(inside, outside, temperature_c=25, ions=["Na+"])


def test_bound_total_warning_for_calcium_with_chelator():
    inside = {"K+": 130, "Ca2+": 1, "EGTA4-": 5, "Cl-": 2, "gluconate-": 110, "Mg2+": 4, "MgATP2-": 4}
    inside["gluconate-"] = 130 + 2 + 8 - 2 - 20 - 8
    outside = {"Na+": 145, "K+": 5, "Ca2+": 2, "Mg2+": 1, "Cl-": 156}
    df = reversal_potentials(inside, outside, temperature_c=25, free_ions=False).set_index("ion")
    assert df.attrs["concentration_basis"] == "totals (free_ions=False)"
    for ion in ("Ca2+", "Mg2+"):
        note = df.loc[ion, "bound_total_warning"]
        assert "EGTA4-" in note and "MgATP2-" in note and "free" in note
    assert df.loc["K+", "bound_total_warning"] == ""
    plain = reversal_potentials({"K+": 130, "Ca2+": 1, "Cl-": 132}, outside, temperature_c=25)
    assert (plain["bound_total_warning"] == "").all()


# --------------------------------------------------------------------------- GHK
def _ghk_side(ions, conc, z, extra_anion="gluconate-", extra_cation="NMDG+"):
    """A neutral solution from the case's ions; an impermeant counter-ion takes the imbalance."""
    d = dict(zip(ions, conc))
    net = sum(c * zz for c, zz in zip(conc, z))
    if net > 0:
        d[extra_anion] = net
    elif net < 0:
        d[extra_cation] = -net
    return d


@pytest.mark.parametrize("case", _cases("ghk"))
def test_ghk_reference_cases(case):
    inp = case["inputs"]
    perm = dict(zip(inp["ions"], inp["P_rel"]))
    res = rev.ghk_potential(_ghk_side(inp["ions"], inp["c_in_mM"], inp["z"]),
                            _ghk_side(inp["ions"], inp["c_out_mM"], inp["z"]),
                            permeabilities=perm, temperature_c=inp["temperature_C"],
                            activity_model="ideal")
    # expected values are printed to 3 decimals; identities (tolerance 1e-9) are checked exactly
    assert float(res) == pytest.approx(case["expected_mV"], abs=5e-4)
    assert abs(float(res) - case["published_mV"]) <= max(case["tolerance"], 5e-4)
    if case["id"] == "ghk_single_ion_limit_equals_nernst":
        e_k = rev.reversal_potential("K+", inside={"K+": 140, "Cl-": 140}, outside={"K+": 5, "Cl-": 5},
                                     temperature_c=37, activity_model="ideal")
        assert float(res) == pytest.approx(e_k, abs=1e-9)
    if case["id"] == "ghk_symmetric_zero":
        assert abs(float(res)) <= case["tolerance"]
    assert res.applied_to == "concentrations" and res.method == "quadratic"


def test_ghk_records_activities():
    s_in = {"K+": 140, "Cl-": 140}
    s_out = {"K+": 5, "Na+": 145, "Cl-": 150}
    res = rev.ghk_potential(s_in, s_out, permeabilities={"K+": 1, "Na+": 0.05}, temperature_c=25)
    assert res.applied_to == "activities" and res.activity_model == "truesdell-jones"
    assert res.a_in_mm["K+"] < 140


pos = st.floats(0.1, 300)
perm = st.floats(0.0, 10)


@given(ci=pos, co=pos, t=temps, ion=st.sampled_from(["K+", "Ca2+", "Cl-"]),
       model=st.sampled_from(["ideal", "truesdell-jones"]))
def test_ghk_with_one_permeant_ion_equals_nernst(ci, co, t, ion, model):
    z = {"K+": 1, "Ca2+": 2, "Cl-": -1}[ion]
    inside, outside = _salt(ion, z, ci), _salt(ion, z, co)
    g = rev.ghk_potential(inside, outside, permeabilities={ion: 2.5}, temperature_c=t,
                          activity_model=model)
    e = rev.reversal_potential(ion, inside=inside, outside=outside, temperature_c=t,
                               activity_model=model)
    assert float(g) == pytest.approx(e, abs=1e-7)


@given(k=st.tuples(pos, pos), na=st.tuples(pos, pos), ca=st.tuples(st.floats(0.01, 20), st.floats(0.01, 20)),
       pk=perm, pna=perm, pca=perm, pcl=perm, t=temps)
def test_ghk_quadratic_equals_brentq(k, na, ca, pk, pna, pca, pcl, t):
    assume(pk + pna + pca + pcl > 0.01)
    inside = {"K+": k[0], "Na+": na[0], "Ca2+": ca[0], "Cl-": k[0] + na[0] + 2 * ca[0]}
    outside = {"K+": k[1], "Na+": na[1], "Ca2+": ca[1], "Cl-": k[1] + na[1] + 2 * ca[1]}
    kw = dict(permeabilities={"K+": pk, "Na+": pna, "Ca2+": pca, "Cl-": pcl}, temperature_c=t,
              activity_model="ideal")
    q = rev.ghk_potential(inside, outside, method="quadratic", **kw)
    b = rev.ghk_potential(inside, outside, method="brentq", **kw)
    assert float(q) == pytest.approx(float(b), abs=1e-6)


def test_ghk_general_charge_uses_brentq_and_zero_current():
    inside = {"K+": 140, "Cl-": 20, "PO4 3-": 40}
    outside = {"K+": 5, "Na+": 145, "Cl-": 120, "PO4 3-": 10}
    perm = {"K+": 1.0, "Na+": 0.05, "PO4 3-": 0.2}
    res = rev.ghk_potential(inside, outside, permeabilities=perm, temperature_c=25, activity_model="ideal")
    assert res.method == "brentq"
    total = sum(rev.ghk_current(i, float(res), inside=inside, outside=outside, permeability_cm_s=p,
                                temperature_c=25, activity_model="ideal") for i, p in perm.items())
    assert abs(total) < 1e-12 * rev.ghk_current("K+", 0, inside=inside, outside=outside,
                                                permeability_cm_s=1, temperature_c=25,
                                                activity_model="ideal")
    with pytest.raises(ParameterError, match="quadratic"):
        rev.ghk_potential(inside, outside, permeabilities=perm, temperature_c=25, method="quadratic")


def test_ghk_errors():
    s_in = {"K+": 140, "Cl-": 140}
    s_out = {"Na+": 140, "Cl-": 140}
    with pytest.raises(ParameterError, match="infinite"):
        rev.ghk_potential(s_in, s_out, permeabilities={"K+": 1}, temperature_c=25)
    assert float(rev.ghk_potential(s_in, s_out, permeabilities={"K+": 1}, temperature_c=25,
                                   zero="inf")) == -math.inf
    with pytest.raises(ParameterError, match="at least one"):
        rev.ghk_potential(s_in, s_out, permeabilities={"K+": 0}, temperature_c=25)
    with pytest.raises(ParameterError, match="permeabilities"):
        rev.ghk_potential(s_in, s_out, permeabilities={"K+": -1}, temperature_c=25)
    with pytest.raises(UnknownIonError):
        rev.ghk_potential(s_in, s_out, permeabilities={"Zz+": 1}, temperature_c=25)


# --------------------------------------------------------------------------- GHK current
def test_ghk_current_conventions_and_units():
    inside, outside = {"K+": 140, "Cl-": 140}, {"K+": 5, "Na+": 135, "Cl-": 140}
    kw = dict(inside=inside, outside=outside, temperature_c=25, activity_model="ideal")
    # V = 0: I = P z F (c_in - c_out), c in mol/cm^3
    i0 = rev.ghk_current("K+", 0.0, permeability_cm_s=1e-6, **kw)
    assert i0 == pytest.approx(1e-6 * 96485.33212 * (140 - 5) * 1e-6, rel=1e-9)
    assert i0 > 0  # K+ efflux is outward, positive
    e_k = rev.reversal_potential("K+", **kw)
    assert rev.ghk_current("K+", e_k, permeability_cm_s=1e-6, **kw) == pytest.approx(0, abs=1e-18)
    assert rev.ghk_current("K+", e_k - 20, permeability_cm_s=1e-6, **kw) < 0
    # anion efflux is an inward current
    cl_in = {"K+": 140, "Cl-": 140}
    cl_out = {"K+": 5, "Cl-": 5, "Na+": 100, "gluconate-": 100}
    assert rev.ghk_current("Cl-", 0, inside=cl_in, outside=cl_out, permeability_cm_s=1e-6,
                           temperature_c=25, activity_model="ideal") < 0
    # with an area the result is pA
    pa = rev.ghk_current("K+", 0.0, permeability_cm_s=1e-6, area_cm2=1e-6, **kw)
    assert pa == pytest.approx(i0 * 1e-6 * 1e12)
    # large voltages stay finite
    for v in (-500.0, 500.0):
        assert math.isfinite(rev.ghk_current("K+", v, permeability_cm_s=1e-6, **kw))
    with pytest.raises(ParameterError, match="area_cm2"):
        rev.ghk_current("K+", 0.0, permeability_cm_s=1e-6, area_cm2=0, **kw)
    with pytest.raises(ParameterError, match="permeability_cm_s"):
        rev.ghk_current("K+", 0.0, permeability_cm_s=-1, **kw)


@given(v=st.floats(-150, 150), t=temps)
def test_ghk_current_is_increasing_in_voltage(v, t):
    kw = dict(inside={"Ca2+": 0.0001, "Cl-": 0.0002, "K+": 1, "gluconate-": 1},
              outside={"Ca2+": 2, "Cl-": 4}, permeability_cm_s=1e-6, temperature_c=t,
              activity_model="ideal")
    assert rev.ghk_current("Ca2+", v + 1, **kw) > rev.ghk_current("Ca2+", v, **kw)


# --------------------------------------------------------------------------- Donnan
def test_donnan_reference_case_infinite_bath():
    case = next(c for c in CASES if c["id"] == "donnan_cell_in_large_KCl_bath_25C")
    inp, exp, tol = case["inputs"], case["expected"], case["tolerance"]
    r = rev.donnan_equilibrium(inp["bath_mM"], impermeant_mm=inp["inside_fixed_anion_mM"],
                               impermeant_charge=inp["fixed_anion_z"],
                               temperature_c=inp["temperature_C"], activity_model="ideal")
    for ion, c in exp["inside_mM"].items():
        assert r.compartment_mm[ion] == pytest.approx(c, abs=tol["conc_mM"])
    assert r.ratio_r == pytest.approx(exp["donnan_ratio_r"], abs=1e-6)
    assert r.donnan_potential_mv == pytest.approx(exp["Vin_minus_Vout_mV"], abs=tol["mV"])
    assert r.bath_mm == {"K+": 150.0, "Cl-": 150.0} and math.isinf(r.bath_volume_ratio)


@pytest.mark.parametrize("case_id", ["donnan_equal_volume_KA_vs_KCl_25C",
                                     "donnan_equal_volume_KA_vs_KCl_37C"])
def test_donnan_reference_case_equal_volumes(case_id):
    case = next(c for c in CASES if c["id"] == case_id)
    inp, exp, tol = case["inputs"], case["expected"], case["tolerance"]
    r = rev.donnan_equilibrium(inp["side2_initial_mM"], impermeant_mm=100, impermeant_charge=-1,
                               compartment={"K+": 100}, bath_volume_ratio=1.0,
                               temperature_c=inp["temperature_C"], activity_model="ideal")
    for ion in ("K+", "Cl-"):
        assert r.compartment_mm[ion] == pytest.approx(exp["side1_mM"][ion], abs=tol["conc_mM"])
        assert r.bath_mm[ion] == pytest.approx(exp["side2_mM"][ion], abs=tol["conc_mM"])
    assert r.ratio_r == pytest.approx(exp["donnan_ratio_r"], abs=1e-9)
    assert float(r) == pytest.approx(exp["V1_minus_V2_mV"], abs=tol["mV"])


def _net(ions):
    from ephys_correct.chemistry.ions import load_ion_table

    t = load_ion_table()
    return sum(t[k].charge * v for k, v in ions.items())


@given(k=st.floats(1, 300), ca=st.one_of(st.just(0.0), st.floats(1e-6, 10)), x=st.floats(0, 200), zx=st.sampled_from([-1, -2, -3, 1]),
       ratio=st.one_of(st.just("infinite"), st.floats(0.05, 50)), t=temps)
def test_donnan_product_rule_and_electroneutrality(k, ca, x, zx, ratio, t):
    bath = {"K+": k, "Ca2+": ca, "Cl-": k + 2 * ca}
    # finite bath: compartment starts with the impermeant salt of K+ (or Cl- for a cation)
    comp = {"K+": -zx * x} if zx < 0 else {"Cl-": zx * x}
    r = rev.donnan_equilibrium(bath, impermeant_mm=x, impermeant_charge=zx, temperature_c=t,
                               compartment=comp, bath_volume_ratio=ratio, activity_model="ideal")
    c, b = r.compartment_mm, r.bath_mm
    scale = k + ca + x
    assert abs(_net(c) + zx * x) < 1e-9 * scale  # electroneutral compartment
    assert abs(_net(b)) < 1e-9 * scale  # electroneutral bath
    assert c["K+"] * c["Cl-"] == pytest.approx(b["K+"] * b["Cl-"], rel=1e-9)  # product rule
    if ca > 0:
        assert c["Ca2+"] * c["Cl-"] ** 2 == pytest.approx(b["Ca2+"] * b["Cl-"] ** 2, rel=1e-9)
        assert c["Ca2+"] / b["Ca2+"] == pytest.approx(r.ratio_r ** 2, rel=1e-9)
    assert r.donnan_potential_mv == pytest.approx(-thermal_voltage_mv(t) * math.log(r.ratio_r), rel=1e-12)
    if ratio != "infinite":  # mass conservation
        assert c["K+"] + ratio * b["K+"] == pytest.approx(comp.get("K+", 0) + ratio * k, rel=1e-9)


def test_donnan_with_activities_equalizes_activity_products():
    bath = {"K+": 150, "Cl-": 150}
    r = rev.donnan_equilibrium(bath, impermeant_mm=100, impermeant_charge=-1, temperature_c=25)
    assert r.activity_model == "truesdell-jones" and r.iterations > 1
    g_c = act.activity_coefficients(dict(r.compartment_mm), temperature_c=25)
    g_b = act.activity_coefficients(bath, temperature_c=25)
    # the compartment's I includes the impermeant anion, so recompute gamma there explicitly
    i_c = (act.ionic_strength_mm(dict(r.compartment_mm)) + 50.0) / 1000
    gk = 10 ** act.log10_gamma(1, i_c, 25, "truesdell-jones", ion="K+")[0]
    gcl = 10 ** act.log10_gamma(-1, i_c, 25, "truesdell-jones", ion="Cl-")[0]
    lhs = gk * r.compartment_mm["K+"] * gcl * r.compartment_mm["Cl-"]
    rhs = g_b["K+"] * 150 * g_b["Cl-"] * 150
    assert lhs == pytest.approx(rhs, rel=1e-9)
    assert g_c  # noqa: the plain-mapping path also works on the result


def test_donnan_errors():
    bath = {"K+": 150, "Cl-": 150}
    with pytest.raises(ParameterError, match=r"^donnan_equilibrium: impermeant_charge = 0 is zero; "):
        rev.donnan_equilibrium(bath, impermeant_mm=10, impermeant_charge=0, temperature_c=25)
    with pytest.raises(ParameterError, match="compartment"):
        rev.donnan_equilibrium(bath, impermeant_mm=10, impermeant_charge=-1, temperature_c=25,
                               bath_volume_ratio=2.0)
    with pytest.raises(ElectroneutralityError, match="compartment"):
        rev.donnan_equilibrium(bath, impermeant_mm=10, impermeant_charge=-1, temperature_c=25,
                               bath_volume_ratio=2.0, compartment={"K+": 5})
    with pytest.raises(ElectroneutralityError, match="bath"):
        rev.donnan_equilibrium({"K+": 150}, impermeant_mm=10, impermeant_charge=-1, temperature_c=25)
    with pytest.raises(ParameterError, match="No permeant cation"):
        rev.donnan_equilibrium(bath, impermeant_mm=10, impermeant_charge=-1, temperature_c=25,
                               permeant=["Cl-"], activity_model="ideal")
    with pytest.raises(ParameterError, match="bath_volume_ratio"):
        rev.donnan_equilibrium(bath, impermeant_mm=10, impermeant_charge=-1, temperature_c=25,
                               bath_volume_ratio="huge")


def test_donnan_nonpermeant_ions_stay_put():
    bath = {"K+": 140, "Na+": 10, "Cl-": 150}
    r = rev.donnan_equilibrium(bath, impermeant_mm=50, impermeant_charge=-1, temperature_c=25,
                               compartment={"Na+": 20, "K+": 30}, permeant=["K+", "Cl-"],
                               activity_model="ideal")
    assert r.compartment_mm["Na+"] == 20 and r.permeant == ("K+", "Cl-")
    assert abs(_net(dict(r.compartment_mm)) - 50) < 1e-9


# --------------------------------------------------------------------------- CLI
def _recipe(path: Path, name: str, role: str, ions: dict[str, float]) -> str:
    body = "\n".join(f'"{k}" = {v}' for k, v in ions.items())
    path.write_text(f'schema_version = 1\nname = "{name}"\nrole = "{role}"\n\n[ions_mm]\n{body}\n')
    return str(path)


def test_cli_erev_table_and_json(tmp_path, capsys):
    from ephys_correct.cli import main

    pip = _recipe(tmp_path / "pip.toml", "KCl internal", "pipette", {"K+": 140, "Cl-": 140})
    bath = _recipe(tmp_path / "bath.toml", "saline", "bath", {"Na+": 145, "K+": 5, "Cl-": 150})
    assert main(["erev", pip, bath, "--temperature", "25"]) == 0
    out = capsys.readouterr().out
    assert "E_rev_mV" in out and "KCl internal" in out and "truesdell-jones" in out
    assert main(["erev", pip, bath, "--temperature", "25", "--json", "--activity-model", "ideal",
                 "--inside", "Cl-=10"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["ion"]: r for r in data["rows"]}
    assert rows["K+"]["E_rev_mV"] == pytest.approx(thermal_voltage_mv(25) * math.log(5 / 140))
    assert rows["Cl-"]["c_in_mM"] == 10
    assert data["attrs"]["inside"] == "KCl internal" and data["inside_is"] == "pipette"
    # inside-out: the bath faces the cytoplasm
    assert main(["erev", pip, bath, "--temperature", "25", "--json", "--configuration",
                 "inside-out", "--activity-model", "ideal"]) == 0
    data = json.loads(capsys.readouterr().out)
    k = next(r for r in data["rows"] if r["ion"] == "K+")
    assert k["E_rev_mV"] == pytest.approx(thermal_voltage_mv(25) * math.log(140 / 5))


def test_cli_erev_errors(tmp_path, capsys):
    from ephys_correct.cli import main

    pip = _recipe(tmp_path / "pip.toml", "p", "pipette", {"K+": 140, "Cl-": 140})
    assert main(["erev", pip, pip, "--temperature", "25", "--configuration", "cell-attached"]) == 1
    assert "cell-attached" in capsys.readouterr().err
    assert main(["erev", pip, pip, "--temperature", "25", "--inside", "Cl-"]) == 1
    assert "ION=MM" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["erev", pip, pip])  # --temperature is required
    assert exc.value.code == 2


def test_no_warning_for_physiological_pair():
    internal = {"K+": 135, "Na+": 4, "Mg2+": 4, "Cl-": 10, "gluconate-": 135, "HEPES-": 4}
    internal["gluconate-"] = 135 + 4 + 8 - 10 - 4
    acsf = {"Na+": 151.25, "K+": 2.5, "Cl-": 133.5, "H2PO4-": 1.25, "HCO3-": 25, "Ca2+": 2, "Mg2+": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelValidityWarning)
        reversal_potentials(internal, acsf, temperature_c=34, free_ions=False)
    # the same pair as free ions needs the pH of the phosphate/Ca2+ bath: refused loudly without it
    with pytest.raises(ParameterError, match="need the pH"):
        reversal_potentials(internal, acsf, temperature_c=34)
