"""Osmolality a lab can check against its osmometer (issue 13, item 6).

Every shipped recipe that states a measured osmolality is estimated within 2 %; the molar ->
molal conversion, the nonelectrolyte osmotic coefficients and the sulfate association are
checked against published numbers; every number is labelled as what it is.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ephys_correct.chemistry import osmolality as osm
from ephys_correct.chemistry import activity as act
from ephys_correct.errors import ConcentrationError
from ephys_correct.chemistry.solutions import Osmolarity
from ephys_correct.chemistry.recipes import load_recipe
from ephys_correct.chemistry.solutions_db import load_solution, solutions_db_dirs

#: the estimate must agree with a recipe's measured osmolality within this (issue 13)
TOLERANCE = 0.02


def _measured_recipes() -> list[Path]:
    out = []
    for d in solutions_db_dirs():
        for f in sorted(d.glob("*.toml")):
            if load_recipe(f).measured_osmolality_mosm_kg is not None:
                out.append(f)
    return out


MEASURED = _measured_recipes()


def test_the_shipped_database_has_measured_recipes_to_check():
    names = {p.stem for p in MEASURED}
    assert {"acsf_carbogen_standard", "tyrode_hepes", "acsf_sucrose_cutting"} <= names


@pytest.mark.parametrize("path", MEASURED, ids=[p.stem for p in MEASURED])
def test_every_measured_recipe_is_estimated_within_2_percent(path):
    """Residuals (estimate / measured - 1) at the time of writing: carbogen ACSF +1.7 %
    (320.4 vs 315), HEPES Tyrode +0.5 % (321.5 vs 320), sucrose cutting ACSF +0.8 %
    (342.6 vs 340; it was -4.4 % before the molal conversion and phi(sucrose))."""
    s = load_solution(path)
    osm = s.osmolarity()
    rel = osm.estimate_mosm_kg / s.measured_osmolality_mosm_kg - 1.0
    assert abs(rel) <= TOLERANCE, (path.stem, osm.estimate_mosm_kg, s.measured_osmolality_mosm_kg)


def test_sucrose_cutting_solution_reads_above_its_ideal_osmolarity():
    """The 'ideal' sum is not an upper bound: 234 mM sucrose occupies 49 mL per litre (molal >
    molar) and has phi > 1, so the measured 340 mOsm/kg exceeds the 330.5 mOsm/L ideal sum."""
    s = load_solution("acsf_sucrose_cutting")
    osm = s.osmolarity()
    assert osm.ideal_mosm_l < s.measured_osmolality_mosm_kg
    assert osm.estimate_mosm_kg > osm.ideal_mosm_l
    assert osm.details["water_kg_per_l"] == pytest.approx(0.946, abs=0.002)
    assert osm.details["neutral_phi"]["sucrose"] == pytest.approx(1.017, abs=0.002)


def test_normal_saline():
    """0.9 % NaCl = 154 mM: 286 mOsm/kg measured by freezing point (Williams 1999)."""
    est = osm.osmolality({"Na+": 154, "Cl-": 154})
    assert est.osmolality_mosm_kg == pytest.approx(286, rel=0.005)
    assert est.ideal_osmolarity_mosm_l == 308


def test_molar_to_molal_uses_partial_molar_volumes():
    # 0.5 M sucrose: 1 L holds 0.5 x 211.3 = 105.7 mL of sucrose volume, so 0.997 x 0.894 kg of
    # water: 0.559 mol/kg. CRC 'Concentrative properties' lists ~0.56 mol/kg for 0.5 M sucrose.
    est = osm.osmolality({}, {"sucrose": 500})
    water = act.water_density_g_cm3(25.0) * (1 - 0.5 * 211.3 / 1000)
    assert est.water_kg_per_l == pytest.approx(water, rel=1e-12)
    m = 0.5 / water
    assert est.osmolality_mosm_kg == pytest.approx(1000 * m * (1 + 0.070 * m), rel=1e-12)
    # salts: V(NaCl) = -1.21 + 17.83 = 16.62 cm3/mol (Millero 1971)
    est = osm.osmolality({"Na+": 1000, "Cl-": 1000})
    assert est.water_kg_per_l == pytest.approx(act.water_density_g_cm3(25.0) * (1 - 16.62e-3), rel=1e-9)


@pytest.mark.parametrize("solute,phi_at_03", [
    # ubc_biomania_osmotic: phi of the solute at the concentration of extracellular fluid
    ("sucrose", 1.02), ("glucose", 1.01),
])
def test_nonelectrolyte_osmotic_coefficients(solute, phi_at_03):
    est = osm.osmolality({}, {solute: 280})
    assert est.neutral_phi[solute] == pytest.approx(phi_at_03, abs=0.006)


def test_mannitol_is_close_to_ideal_and_unknown_neutrals_are_named():
    est = osm.osmolality({}, {"mannitol": 300, "taurine": 5})
    assert 0.99 < est.neutral_phi["mannitol"] < 1.0
    assert est.neutral_phi["taurine"] == 1.0
    assert "phi = 1 assumed for taurine" in est.method


def test_sulfate_association_lowers_the_osmolality():
    """MgSO4 associates (ion pairs), which pitzer.dat carries in beta2: phi(MgSO4, 0.1 mol/kg)
    = 0.595 against 0.58 in the UBC physiological table and 0.93 for NaCl."""
    assert osm.osmotic_coefficient("MgSO4", 0.1) == pytest.approx(0.58, abs=0.03)
    mgso4 = osm.osmolality({"Mg2+": 10, "SO4 2-": 10}).osmolality_mosm_kg
    mgcl2 = osm.osmolality({"Mg2+": 10, "Cl-": 20}).osmolality_mosm_kg
    assert mgso4 / 20.0 < 0.8 < 0.85 < mgcl2 / 30.0  # per ideal particle: 0.77 vs 0.90
    assert "through Pitzer's beta2" in osm.osmolality({"Mg2+": 10, "SO4 2-": 10}).method


@pytest.mark.parametrize("m,ref", [(0.1, 0.150), (0.2, 0.107), (0.3, 0.0874)])
def test_mgso4_mean_activity_coefficient_is_within_15_percent_of_crc(m, ref):
    """CRC gamma+- of MgSO4 (crc_activity_acids_bases_salts); the pitzer.dat parameters put it
    11-14 % high at 0.1-0.3 mol/kg: a known limit of this parameter set, recorded here."""
    g = osm._pitzer(osm._pitzer_table()["MgSO4"], m)[1]
    assert g == pytest.approx(ref, rel=0.15)


def test_pitzer_mixture_reduces_to_the_single_salt_equation():
    for salt, ions in (("NaCl", {"Na+": 1, "Cl-": 1}), ("MgCl2", {"Mg2+": 1, "Cl-": 2}),
                       ("Na2SO4", {"Na+": 2, "SO4 2-": 1}), ("MgSO4", {"Mg2+": 1, "SO4 2-": 1})):
        est = osm.osmolality({k: 50.0 * n for k, n in ions.items()})
        m = 0.05 / est.water_kg_per_l
        assert est.phi_ionic == pytest.approx(osm.osmotic_coefficient(salt, m), rel=1e-9), salt


def test_labels_say_what_each_number_is(capsys):
    s = load_solution("acsf_sucrose_cutting")
    d = s.osmolarity().as_dict()
    assert "not an osmolality" in d["labels"]["ideal_mosm_l"]
    assert "osmometer" in d["labels"]["estimate_mosm_kg"]
    assert "measured" in d["labels"]["measured_mosm_kg"]
    assert "kg water per L" in d["estimate_method"]
    assert isinstance(Osmolarity.LABELS, type(d["labels"])) or Osmolarity.LABELS
    from ephys_correct.cli import main

    assert main(["solutions", "show", "acsf_sucrose_cutting"]) == 0
    out = capsys.readouterr().out
    assert "upper bound" not in out
    assert "mOsm/L ideal (sum of particles per litre; not an osmolality)" in out
    assert "mOsm/kg estimated" in out and "340 mOsm/kg measured" in out


def test_bad_inputs():
    with pytest.raises(ConcentrationError):
        osm.osmolality({"Na+": 10})
    with pytest.raises(ConcentrationError):
        osm.osmolality({"Na+": 10, "Cl-": 10}, {"glucose": -1})
    assert math.isfinite(osm.osmolality({}, {}).osmolality_mosm_kg)
