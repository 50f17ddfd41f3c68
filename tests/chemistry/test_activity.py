"""ephys_correct.activity: A/B(T), single-ion models, fallback chain, gamma+-, osmotic coefficients.

Reference data (every number cites where it was read):

* CRC = CRC Handbook 'Activity Coefficients of Acids, Bases, and Salts' (25 degC,
  m = 0.1-1.0), read as transcribed in KingsburyLab/pyEQL
  tests/test_benchmark/mean_activity_coefficient.json (commit b336a60) and
  src/pyEQL/database/CRC_activity_coefficient.csv (commit 2c8bd31).
* tests/data/activity_reference.csv (copied from ../shared/reference): CaCl2 CRC
  92nd ed. p. 5-106; NaCl J. Phys. Chem. Ref. Data 13 (1984) via pyEQL tests.
* Freeze & Cherry (1979) Appendix IV: A, B(T) and the Kielland gamma table
  (hydrogeologistswithoutborders.org/wordpress/1979-english/appendices/appendix-iv/).
"""

from __future__ import annotations

import csv
import filecmp
import math
import re
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ephys_correct.chemistry import osmolality as osm
from ephys_correct.chemistry import activity as act
from ephys_correct._constants import AVOGADRO, BOLTZMANN, ELEMENTARY_CHARGE, kelvin
from ephys_correct.errors import (
    ConcentrationError,
    ModelValidityWarning,
    ParameterError,
    UnknownIonError,
)
from ephys_correct.chemistry.ions import load_ion_table


from conftest import TEST_DATA  # noqa: E402
from conftest import SHARED  # noqa: E402
T25 = 25.0

NACL = {"Na+": 1, "Cl-": 1}
KCL = {"K+": 1, "Cl-": 1}
CACL2 = {"Ca2+": 1, "Cl-": 2}
MGCL2 = {"Mg2+": 1, "Cl-": 2}
NABR = {"Na+": 1, "Br-": 1}
KNO3 = {"K+": 1, "NO3-": 1}
NA2SO4 = {"Na+": 2, "SO4 2-": 1}

MOLALITIES = (0.1, 0.2, 0.3, 0.4, 0.5)
#: CRC 'Activity Coefficients of Acids, Bases, and Salts', gamma+- at 25 degC, m = 0.1 ... 0.5
CRC = {
    "NaCl": (NACL, (0.778, 0.735, 0.710, 0.693, 0.681)),
    "KCl": (KCL, (0.770, 0.718, 0.688, 0.666, 0.649)),
    "CaCl2": (CACL2, (0.518, 0.472, 0.455, 0.448, 0.448)),
    "MgCl2": (MGCL2, (0.529, 0.489, 0.477, 0.475, 0.481)),
    "NaBr": (NABR, (0.782, 0.741, 0.719, 0.704, 0.697)),
    "KNO3": (KNO3, (0.739, 0.663, 0.614, 0.576, 0.545)),
    "Na2SO4": (NA2SO4, (0.445, 0.365, 0.320, 0.289, 0.266)),
}


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelValidityWarning)
        return fn(*a, **k)


# --------------------------------------------------------------------------- data files
@pytest.mark.shared_data
def test_reference_copies_equal_shared_originals():
    for name in ("electrochem_cases.json", "activity_reference.csv"):
        copy = TEST_DATA / name
        assert copy.is_file(), copy
        original = SHARED / "reference" / name
        assert filecmp.cmp(copy, original, shallow=False), f"{copy} differs from {original}"


def test_parameter_table_uses_canonical_names_and_phreeqc_values():
    table = act._parameter_table()
    ions = load_ion_table()
    for name, p in table.items():
        assert ions.canonical(name) == name
        assert p.charge == ions[name].charge
    # spot checks against phreeqc.dat (usgs-coupled/phreeqc3 commit 0020a9c): the second
    # -gamma line of Na+ and Cl- overrides the first
    assert (table["Na+"].tj_a_angstrom, table["Na+"].tj_b_kg_mol) == (4.08, 0.082)
    assert (table["Cl-"].tj_a_angstrom, table["Cl-"].tj_b_kg_mol) == (3.63, 0.017)
    assert (table["K+"].tj_a_angstrom, table["K+"].tj_b_kg_mol) == (3.5, 0.015)
    assert (table["Ca2+"].tj_a_angstrom, table["Ca2+"].tj_b_kg_mol) == (5.0, 0.165)
    assert (table["Mg2+"].tj_a_angstrom, table["Mg2+"].tj_b_kg_mol) == (5.5, 0.20)
    # Kielland Table I (chempy transcription)
    assert table["Mg2+"].kielland_a_angstrom == 8 and table["K+"].kielland_a_angstrom == 3


def test_pitzer_table_loads():
    tab = osm._pitzer_table()
    assert {"NaCl", "KCl", "CaCl2", "MgCl2"} <= set(tab)
    # Pitzer & Mayorga Table VI gives 4/3 beta0 = 0.4212 for CaCl2
    assert tab["CaCl2"].beta0 == pytest.approx(0.4212 * 3 / 4)


# --------------------------------------------------------------------------- water, A, B
def test_water_properties_match_their_correlation_papers():
    # 0.997047 g/cm3 at 25 degC from the Tanaka et al. (2001, Metrologia 38, 301) VSMOW formula
    # as coded in bjodah/chempy water_density_tanaka_2001.py; Kell's eq. 16 agrees to 5e-6
    assert act.water_density_g_cm3(25.0) == pytest.approx(0.997047, abs=5e-6)
    assert act.water_density_g_cm3(3.98) > act.water_density_g_cm3(0.0)
    assert act.water_density_g_cm3(3.98) > act.water_density_g_cm3(8.0)
    # Malmberg & Maryott (1956): 87.74 at 0 degC, 78.30 at 25 degC
    assert act.water_dielectric_constant(0.0) == pytest.approx(87.740)
    assert act.water_dielectric_constant(25.0) == pytest.approx(78.30, abs=0.01)


def test_a_b_coefficients_follow_from_codata_constants():
    """1.82483e6 and 50.2916 (Truesdell & Jones 1974) from e, k, N_A (exact) and eps0.

    eps0 = 8.8541878128e-12 F/m (CODATA 2018, not exact after 2019).
    """
    eps0 = 8.8541878128e-12
    e, k, na = ELEMENTARY_CHARGE, BOLTZMANN, AVOGADRO
    for t in (0.0, 25.0, 37.0, 50.0):
        rho = act.water_density_g_cm3(t) * 1000.0  # kg/m3
        eps = act.water_dielectric_constant(t)
        tk = kelvin(t)
        a_ref = ((e * e / (4 * math.pi * eps0 * eps * k * tk)) ** 1.5
                 * math.sqrt(2 * math.pi * na * rho) / math.log(10))
        b_ref = math.sqrt(2 * na * e * e * rho / (eps0 * eps * k * tk)) * 1e-10
        a, b = act.debye_huckel_a_b(t)
        assert a == pytest.approx(a_ref, rel=2e-5)
        assert b == pytest.approx(b_ref, rel=5e-5)


@pytest.mark.parametrize("a_pub,b_pub,where", [
    (0.5085, 0.3281, "Freeze & Cherry 1979 App. IV"),
    (0.5114, 0.3288, "llnl.dat (activity_notes.md)"),
    (0.5098, 0.3284, "pyEQL, IAPWS rho and eps (activity_notes.md)"),
])
def test_a_b_at_25c_agree_with_published_values(a_pub, b_pub, where):
    a, b = act.debye_huckel_a_b(25.0)
    assert a == pytest.approx(a_pub, rel=5e-3), where
    assert b == pytest.approx(b_pub, rel=3e-3), where


@pytest.mark.parametrize("t,a_fc,b_fc", [
    (0, 0.4883, 0.3241), (10, 0.4960, 0.3258), (20, 0.5042, 0.3273), (30, 0.5130, 0.3290),
    (35, 0.5175, 0.3297), (40, 0.5221, 0.3305), (50, 0.5319, 0.3321), (60, 0.5425, 0.3338),
])
def test_a_b_temperature_dependence_follows_freeze_cherry(t, a_fc, b_fc):
    # the table (older eps data) runs 0.4-0.7 % below the modern correlations in A
    a, b = act.debye_huckel_a_b(t)
    assert a == pytest.approx(a_fc, rel=8e-3)
    assert b == pytest.approx(b_fc, rel=3e-3)


def test_temperature_limits():
    with pytest.raises(ParameterError, match=r"^debye_huckel_a_b: temperature_c = -5\.0 is outside 0-100 degC"):
        act.debye_huckel_a_b(-5.0)
    with pytest.raises(ParameterError, match="temperature_c"):
        act.debye_huckel_a_b(float("nan"))
    # above boiling is refused by the package-wide check (issue 13 item 8), before any extrapolation
    with pytest.raises(ParameterError, match="between 0 and 100 degC"):
        act.debye_huckel_a_b(160.0)
    with pytest.raises(ParameterError, match="between 0 and 100 degC"):
        act.debye_huckel_a_b(120.0)
    with pytest.raises(ParameterError, match="temperature_c"):
        act.activity_coefficients({"Na+": 1, "Cl-": 1}, temperature_c=-1)


# --------------------------------------------------------------------------- Kielland table
KIELLAND_I = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
#: Freeze & Cherry (1979) App. IV, Kielland table: (z, a) -> gamma at KIELLAND_I, as printed
KIELLAND_ROWS = {
    (1, 2.5): ("0.975", "0.964", "0.945", "0.924", "0.898", "0.85", "0.80", "0.75"),
    (1, 3.0): ("0.975", "0.964", "0.945", "0.925", "0.899", "0.85", "0.805", "0.755"),
    (1, 4.0): ("0.975", "0.964", "0.947", "0.928", "0.902", "0.86", "0.82", "0.775"),
    (1, 6.0): ("0.975", "0.965", "0.948", "0.929", "0.907", "0.87", "0.835", "0.80"),
    (1, 9.0): ("0.975", "0.967", "0.950", "0.933", "0.914", "0.88", "0.86", "0.83"),
    (2, 4.5): ("0.903", "0.867", "0.805", "0.742", "0.665", "0.55", "0.455", "0.37"),
    (2, 5.0): ("0.903", "0.868", "0.805", "0.744", "0.67", "0.555", "0.465", "0.38"),
    (2, 6.0): ("0.905", "0.870", "0.809", "0.749", "0.675", "0.57", "0.485", "0.405"),
    (2, 8.0): ("0.906", "0.872", "0.813", "0.755", "0.69", "0.595", "0.52", "0.45"),
    (3, 4.0): ("0.796", "0.725", "0.612", "0.505", "0.395", "0.25", "0.16", "0.095"),
    (3, 9.0): ("0.802", "0.738", "0.632", "0.54", "0.445", "0.325", "0.245", "0.18"),
}


def _half_unit(printed: str) -> float:
    return 0.5 * 10.0 ** -len(printed.split(".")[1])


@pytest.mark.parametrize("z,a", sorted(KIELLAND_ROWS))
def test_extended_dh_formula_reproduces_kielland_table(z, a):
    """At the table's own A, B (0.5085, 0.3281) within 0.005 + half a printed digit."""
    for i_m, printed in zip(KIELLAND_I, KIELLAND_ROWS[(z, a)]):
        g = 10 ** act._formula_log10("extended-debye-huckel", z, i_m, 0.5085, 0.3281, a)
        assert abs(g - float(printed)) <= 0.005 + _half_unit(printed), (z, a, i_m, g, printed)


@pytest.mark.parametrize("z,a", sorted(KIELLAND_ROWS))
def test_extended_dh_public_api_reproduces_kielland_table(z, a):
    """Through log10_gamma at 25 degC: A is 0.45 % above the table's, hence 0.0075."""
    for i_m, printed in zip(KIELLAND_I, KIELLAND_ROWS[(z, a)]):
        lg, info = act.log10_gamma(z, i_m, T25, "extended-debye-huckel", ion_size_angstrom=a)
        assert info["model"] == "extended-debye-huckel"
        assert abs(10 ** lg - float(printed)) <= 0.0075 + _half_unit(printed), (z, a, i_m)


def test_kielland_sizes_are_used_for_named_ions():
    lg, info = act.log10_gamma(2, 0.01, T25, "extended-debye-huckel", ion="Mg2+")
    assert info["parameters"]["a_angstrom"] == 8 and info["source"] == "kielland1937"
    assert 10 ** lg == pytest.approx(0.69, abs=0.005 + 0.005)  # F&C row z=2, a=8


# --------------------------------------------------------------------------- mean gamma
@pytest.mark.parametrize("salt", ["NaCl", "KCl", "CaCl2", "MgCl2"])
def test_truesdell_jones_mean_gamma_within_1p5_percent_of_crc(salt):
    """Fitted chlorides: TJ (phreeqc.dat) within 1.5 % up to 0.5 mol/kg (found <= 1.4 %)."""
    spec, ref = CRC[salt]
    for m, g_ref in zip(MOLALITIES, ref):
        g = _quiet(act.mean_activity_coefficient, spec, m, temperature_c=T25)
        assert g == pytest.approx(g_ref, rel=0.015), (salt, m, g, g_ref)


def test_truesdell_jones_against_shared_activity_reference():
    salts = {"CaCl2": CACL2, "NaCl": NACL}
    with (TEST_DATA / "activity_reference.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 10
    for r in rows:
        m = float(r["molality"])
        g = _quiet(act.mean_activity_coefficient, salts[r["salt"]], m,
                   temperature_c=float(r["temperature_C"]))
        assert g == pytest.approx(float(r["gamma_pm"]), rel=0.015), r


def test_held_out_bromide_within_5_percent():
    """NaBr was not in the TJ fit (Br- has a = 3, b = 0 in phreeqc.dat): 1.7 % at 0.1,
    4.9 % at 0.5 mol/kg too low.  The tolerance grows with m accordingly."""
    spec, ref = CRC["NaBr"]
    for m, g_ref, tol in zip(MOLALITIES, ref, (0.02, 0.03, 0.04, 0.045, 0.05)):
        g = act.mean_activity_coefficient(spec, m, temperature_c=T25)
        assert g == pytest.approx(g_ref, rel=tol), (m, g, g_ref)


def test_held_out_nitrate_within_3_percent_only_at_0p1():
    """KNO3 (NO3-: a = 3, b = 0, no b fitted; KNO3 associates): +2.6 % at 0.1 mol/kg but
    +15 % at 0.5 mol/kg.  Documented in docs/activity.md; pinned here so a change shows."""
    spec, ref = CRC["KNO3"]
    assert act.mean_activity_coefficient(spec, 0.1, temperature_c=T25) == pytest.approx(ref[0], rel=0.03)
    g05 = act.mean_activity_coefficient(spec, 0.5, temperature_c=T25)
    assert 1.10 < g05 / ref[4] < 1.20


def test_ion_pairing_salt_is_overestimated_without_speciation():
    """Na2SO4: no NaSO4- ion pair in a free-ion model, so gamma+- is 15 % high at 0.1 mol/kg."""
    spec, ref = CRC["Na2SO4"]
    ratio = act.mean_activity_coefficient(spec, 0.1, temperature_c=T25) / ref[0]
    assert 1.10 < ratio < 1.20


@pytest.mark.parametrize("salt,m,max_err", [("NaCl", 0.1, 0.01), ("CaCl2", 0.05, 0.01)])
def test_davies_is_acceptable_at_low_ionic_strength(salt, m, max_err):
    spec = {"NaCl": NACL, "CaCl2": CACL2}[salt]
    ref = {"NaCl": 0.778, "CaCl2": 0.577}[salt]  # CRC (above) and activity_reference.csv
    g = act.mean_activity_coefficient(spec, m, temperature_c=T25, model="davies")
    assert g == pytest.approx(ref, rel=max_err)


def test_mean_activity_coefficient_validates_salt():
    with pytest.raises(ParameterError, match="not electroneutral"):
        act.mean_activity_coefficient({"Ca2+": 1, "Cl-": 1}, 0.1, temperature_c=T25)
    with pytest.raises(ParameterError, match="positive integer"):
        act.mean_activity_coefficient({"Na+": 1.5, "Cl-": 1.5}, 0.1, temperature_c=T25)
    with pytest.raises(UnknownIonError, match="Xx"):
        act.mean_activity_coefficient({"Xx+": 1, "Cl-": 1}, 0.1, temperature_c=T25)


# --------------------------------------------------------------------------- invariants
charges = st.sampled_from([-3, -2, -1, 1, 2, 3])
models = st.sampled_from(act.MODELS)


@given(z=charges, model=models, t=st.floats(0, 60), i=st.floats(0, 1e-4))
def test_gamma_tends_to_one_at_zero_ionic_strength(z, model, t, i):
    lg, _ = act.log10_gamma(z, i, t, model)
    a, _ = act.debye_huckel_a_b(t)
    assert abs(lg) <= a * z * z * math.sqrt(i) + 1e-12  # bounded by the limiting law
    lg0, _ = act.log10_gamma(z, i * 1e-6, t, model)
    assert 10 ** lg0 == pytest.approx(1.0, abs=1e-3)  # I -> 0 gives gamma -> 1


@given(z=charges, model=st.sampled_from(act.MODELS[1:]), i=st.floats(1e-6, 1e-3))
def test_all_models_approach_the_limiting_law(z, model, i):
    lg, _ = act.log10_gamma(z, i, T25, model)
    a, _ = act.debye_huckel_a_b(T25)
    limiting = -a * z * z * math.sqrt(i)
    assert abs(lg - limiting) <= 2.5 * a * z * z * i + 1e-12


@given(i1=st.floats(0, 0.1), i2=st.floats(0, 0.1), z=charges)
def test_extended_dh_gamma_decreases_with_ionic_strength(i1, i2, z):
    lo, hi = sorted((i1, i2))
    g_lo, _ = act.log10_gamma(z, lo, T25, "extended-debye-huckel")
    g_hi, _ = act.log10_gamma(z, hi, T25, "extended-debye-huckel")
    assert g_hi <= g_lo + 1e-15


@given(ion=st.sampled_from(["Na+", "K+", "Cl-", "Ca2+", "Mg2+"]), t=st.floats(0, 50))
def test_gamma_depends_only_on_charge_and_parameters_in_davies(ion, t):
    z = load_ion_table()[ion].charge
    a, _ = act.log10_gamma(z, 0.15, t, "davies", ion=ion)
    b, _ = act.log10_gamma(z, 0.15, t, "davies")
    assert a == b


# --------------------------------------------------------------------------- chain, validity
def test_ion_without_tj_parameters_gets_davies_at_every_ionic_strength():
    """The model is chosen from the ion's parameters, not from I (issue 13 item 5)."""
    for i_m in (0.0, 0.05, 0.1, 0.15, 0.4):
        lg, info = act.log10_gamma(-1, i_m, T25, "truesdell-jones", ion="gluconate-")
        assert info["model"] == "davies"
        assert "no Truesdell-Jones parameters" in info["fallback_reason"]
        assert info["model_choice"].startswith("davies: the ion has no Truesdell-Jones")
        davies, _ = act.log10_gamma(-1, i_m, T25, "davies")
        assert lg == davies


def test_cs_and_rb_have_fitted_truesdell_jones_parameters():
    for ion, a in (("Cs+", 2.534), ("Rb+", 3.457)):
        for i_m in (0.05, 0.2):
            _, info = act.log10_gamma(1, i_m, T25, "truesdell-jones", ion=ion)
            assert info["model"] == "truesdell-jones" and info["fallback_reason"] is None
            assert info["source"] == "ec_fit_tj_rbcl_cscl_crc"
            assert info["parameters"]["a_angstrom"] == a


def test_truesdell_jones_ion_uses_its_own_parameters():
    lg, info = act.log10_gamma(1, 0.15, T25, "truesdell-jones", ion="Na")
    assert info["model"] == "truesdell-jones" and info["fallback_reason"] is None
    a, b = act.debye_huckel_a_b(T25)
    s = math.sqrt(0.15)
    assert lg == pytest.approx(-a * s / (1 + b * 4.08 * s) + 0.082 * 0.15, rel=1e-12)


def test_ext_dh_model_falls_back_to_assumed_size_and_says_so():
    _, info = act.log10_gamma(-2, 0.01, T25, "extended-debye-huckel", ion="MgATP2-")
    assert info["parameters"]["size_from"] == "assumed"
    assert "no Kielland ion size" in info["fallback_reason"]


def test_neutral_species_gamma_is_one_by_documented_definition():
    lg, info = act.log10_gamma(0, 0.2, T25, "truesdell-jones")
    assert lg == 0.0 and info["model"] == "neutral" and "by definition" in info["fallback_reason"]


def test_validity_warnings_fire_only_beyond_the_limit():
    # the pyEQL bug (STYLE.md): Davies must not warn at 0.1 < I <= 0.5, but must above 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        act.log10_gamma(1, 0.3, T25, "davies")
        act.log10_gamma(1, 0.5, T25, "davies")
        act.log10_gamma(1, 0.1, T25, "extended-debye-huckel")
        act.log10_gamma(1, 0.9, T25, "truesdell-jones", ion="Na+")
    with pytest.warns(ModelValidityWarning, match=r"davies at I = 0.6 > 0.5"):
        act.log10_gamma(1, 0.6, T25, "davies")
    with pytest.warns(ModelValidityWarning, match=r"extended-debye-huckel at I = 0.2 > 0.1"):
        act.log10_gamma(1, 0.2, T25, "extended-debye-huckel", ion="K+")
    with pytest.warns(ModelValidityWarning, match="truesdell-jones"):
        act.log10_gamma(1, 1.5, T25, "truesdell-jones", ion="Na+")
    with pytest.warns(ModelValidityWarning, match="davies"):  # end of the chain, beyond 0.5
        act.log10_gamma(-1, 0.7, T25, "truesdell-jones", ion="gluconate-")


def test_activity_coefficients_warns_once_listing_ions():
    with pytest.warns(ModelValidityWarning) as rec:
        act.activity_coefficients({"NH4+": 700, "I-": 700}, temperature_c=T25)
    assert len(rec) == 1
    assert "I-" in str(rec[0].message)


# --------------------------------------------------------------------------- errors
def test_unknown_ion_raises_never_gamma_one():
    with pytest.raises(UnknownIonError, match=r"Unknown ion 'Kx\+'"):
        act.activity_coefficients({"Kx+": 10, "Cl-": 10}, temperature_c=T25)
    with pytest.raises(UnknownIonError, match="glucose"):
        act.log10_gamma(1, 0.1, T25, "ideal", ion="glucose")
    with pytest.raises(UnknownIonError):
        act.ionic_strength_mm({"Foo": 1})


def test_bad_model_name_lists_allowed_values():
    msg = ("activity_coefficients: model = 'pitzer' is not one of 'ideal', 'davies', "
           "'extended-debye-huckel', 'truesdell-jones'; choose one of these")
    with pytest.raises(ParameterError, match=f"^{re.escape(msg)}$"):
        act.activity_coefficients({"Na+": 1, "Cl-": 1}, temperature_c=T25, model="pitzer")
    with pytest.raises(ParameterError, match=r"^log10_gamma: model = 'Davies' is not one of .*; did you mean 'davies'\?$"):
        act.log10_gamma(1, 0.1, T25, "Davies")


def test_bad_inputs():
    with pytest.raises(ParameterError, match="charge"):
        act.log10_gamma(2, 0.1, T25, "davies", ion="Na+")
    with pytest.raises(ParameterError, match="charge"):
        act.log10_gamma(1.5, 0.1, T25, "davies")
    with pytest.raises(ConcentrationError, match="ionic_strength_m"):
        act.log10_gamma(1, -0.1, T25, "davies")
    with pytest.raises(ConcentrationError, match="finite"):
        act.activity_coefficients({"Na+": -1, "Cl-": 1}, temperature_c=T25)
    with pytest.raises(ConcentrationError):
        act.activity_coefficients({"Na+": float("nan"), "Cl-": 1}, temperature_c=T25)
    with pytest.raises(ParameterError, match="both name 'Na\\+'"):
        act.activity_coefficients({"Na+": 1, "sodium": 1}, temperature_c=T25)
    with pytest.raises(ParameterError, match="ion_size_angstrom"):
        act.log10_gamma(1, 0.1, T25, "davies", ion_size_angstrom=3)


# --------------------------------------------------------------------------- solutions
def test_ionic_strength():
    assert act.ionic_strength_mm({"Ca2+": 2, "Cl-": 4}) == 6.0
    assert act.ionic_strength_mm({"K": 140, "Cl": 140}) == 140.0
    assert act.ionic_strength_mm({}) == 0.0


def test_activity_result_mapping_and_provenance():
    res = act.activity_coefficients({"K": 140, "gluconate": 130, "Cl-": 10}, temperature_c=37)
    assert set(res) == {"K+", "gluconate-", "Cl-"} and len(res) == 3
    assert res["potassium"] == res["K+"]  # aliases resolve
    assert res.ionic_strength_mm == pytest.approx(140.0)
    assert res.temperature_c == 37.0 and res.model == "truesdell-jones"
    assert res.per_ion["K+"]["model"] == "truesdell-jones"
    assert res.per_ion["gluconate-"]["model"] == "davies"
    assert res.per_ion["gluconate-"]["fallback_reason"]
    assert 0.5 < res["K+"] < 1.0
    with pytest.raises(UnknownIonError, match="Na\\+"):
        res["Na+"]
    with pytest.raises(TypeError):
        res.gammas["K+"] = 1.0  # read-only
    sub = act.activity_coefficients({"K": 140, "Cl-": 140}, temperature_c=37, ions=["Cl"])
    assert list(sub) == ["Cl-"] and sub.ionic_strength_mm == 140.0
    ideal = act.activity_coefficients({"K": 140, "Cl-": 140}, temperature_c=37, model="ideal")
    assert dict(ideal) == {"K+": 1.0, "Cl-": 1.0}


def test_activity_coefficients_accepts_a_solution_object():
    from ephys_correct.chemistry.solutions import Solution

    sol = Solution.from_ions({"Na+": 150, "Cl-": 150}, name="saline")
    res = act.activity_coefficients(sol, temperature_c=T25)
    assert res.solution_name == "saline"
    assert res["Na+"] == act.activity_coefficients({"Na+": 150, "Cl-": 150}, temperature_c=T25)["Na+"]


# --------------------------------------------------------------------------- osmotic
@pytest.mark.parametrize("salt", ["NaCl", "KCl", "CaCl2", "MgCl2", "NaBr", "KNO3"])
def test_pitzer_parameters_reproduce_crc_mean_gamma(salt):
    """Transcription check of the Pitzer & Mayorga parameters: their gamma+- against CRC
    (convention-free, independent of phi) within 1 %."""
    spec, ref = CRC[salt]
    p = osm._pitzer_table()[salt]
    for m, g_ref in zip(MOLALITIES, ref):
        assert osm._pitzer(p, m)[1] == pytest.approx(g_ref, rel=0.01), (salt, m)


def test_pitzer_na2so4_within_2p5_percent():
    spec, ref = CRC["Na2SO4"]
    p = osm._pitzer_table()["Na2SO4"]
    for m, g_ref in zip(MOLALITIES, ref):
        assert osm._pitzer(p, m)[1] == pytest.approx(g_ref, rel=0.025)


@pytest.mark.parametrize("salt,m,phi", [
    # science_pitfalls.md item 14 (UBC biomania osmotic-coefficient table) at physiological I
    ("NaCl", 0.15, 0.93), ("KCl", 0.15, 0.92), ("CaCl2", 0.05, 0.86), ("MgCl2", 0.05, 0.86),
])
def test_osmotic_coefficients_at_physiological_ionic_strength(salt, m, phi):
    assert osm.osmotic_coefficient(salt, m) == pytest.approx(phi, abs=0.01)


def test_osmotic_coefficient_limits_and_errors():
    assert osm.osmotic_coefficient("NaCl", 0.0) == 1.0
    assert osm.osmotic_coefficient("NaCl", 1e-8) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ParameterError, match=r"^osmotic_coefficient: salt .* = 'NaGluconate' is not one of 'NaCl'"):
        osm.osmotic_coefficient("NaGluconate", 0.1)


def test_osmolality_of_normal_saline_matches_measurement():
    """0.9 % NaCl = 9 g/L / 58.44 g/mol = 154 mM; measured 286 mOsm/kg (Williams 1999,
    freezing-point osmometer), against 308 ideal."""
    value, note = osm.osmolality_estimate({"Na+": 154, "Cl-": 154}, {})
    assert value == pytest.approx(286, rel=0.01)
    assert "Pitzer" in note and "kg water per L" in note


def test_osmolality_scheme_neutrals_and_proxy():
    ions = {"K+": 140, "gluconate-": 130, "Cl-": 10}
    v0, note = osm.osmolality_estimate(ions)
    v1, note1 = osm.osmolality_estimate(ions, {"HEPES": 20})
    assert 20.0 < v1 - v0 < 22.0  # a neutral with phi = 1, per kg of water (molal > molar)
    assert "K+/gluconate- (KCl used)" in note and "phi = 1 assumed for HEPES" in note1
    assert 0.85 * 280 < v0 < 280  # below the ideal sum
    assert osm.osmolality_estimate({}, {"mannitol": 10})[0] == pytest.approx(10.0, rel=0.01)
    with pytest.raises(ConcentrationError):
        osm.osmolality_estimate({"Na+": 10})
    with pytest.raises(UnknownIonError):
        osm.osmolality_estimate({"Qq+": 10, "Cl-": 10})


@pytest.mark.parametrize("t,expected", [
    (25.0, {"Na+": 0.759, "K+": 0.728, "Cl-": 0.732, "Ca2+": 0.341, "Mg2+": 0.361}),
    (37.0, {"Na+": 0.754, "K+": 0.723, "Cl-": 0.727, "Ca2+": 0.333, "Mg2+": 0.353}),
])
def test_acsf_free_ion_gammas_match_phreeqc_oracle(t, expected):
    """PHREEQC with phreeqc.dat (phreeqpython, via pyEQL) on ACSF, as recorded in
    ../shared/research/activity_notes.md section 2 (NaCl 125, KCl 2.5, NaH2PO4 1.25,
    NaHCO3 25, CaCl2 2, MgCl2 1 mM).  PHREEQC also forms ion pairs and uses its own A(T),
    hence 0.002 (monovalent) and 0.003 (divalent)."""
    acsf = {"Na+": 151.25, "K+": 2.5, "Cl-": 133.5, "H2PO4-": 1.25, "HCO3-": 25, "Ca2+": 2, "Mg2+": 1}
    res = act.activity_coefficients(acsf, temperature_c=t)
    for ion, g in expected.items():
        assert res[ion] == pytest.approx(g, abs=0.002 if abs(res.per_ion[ion]["charge"]) == 1 else 0.003)


# --------------------------------------------------------------------------- review regressions
def test_molality_errors_name_the_molality_parameter():
    # the message used to name 'ionic_strength_m', a parameter these functions do not have
    with pytest.raises(ConcentrationError, match=r"^mean_activity_coefficient: molality_mol_kg = -0\.1 is negative"):
        act.mean_activity_coefficient(NACL, -0.1, temperature_c=T25)
    with pytest.raises(ConcentrationError, match=r"^osmotic_coefficient: molality_mol_kg = nan is not a finite number"):
        osm.osmotic_coefficient("NaCl", float("nan"))


def test_ion_size_must_not_be_a_bool():
    # True used to be accepted as a = 1 Angstrom
    with pytest.raises(ParameterError, match="ion_size_angstrom"):
        act.log10_gamma(1, 0.1, T25, "extended-debye-huckel", ion_size_angstrom=True)
