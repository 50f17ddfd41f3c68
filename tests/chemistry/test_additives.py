"""Recipes as labs write them: an [additives] section for drugs, toxins, dyes and tracers
(issue 13, item 7)."""

from __future__ import annotations

import pickle
import re

import pytest

from ephys_correct.chemistry import additives as add
from ephys_correct.errors import (
    ConcentrationError,
    RecipeError,
    UnknownAdditiveError,
    UnknownCompoundError,
)
from ephys_correct.chemistry.ions import load_ion_table
from ephys_correct.chemistry.solutions import CHARGE_TOLERANCE_ABS_MM
from ephys_correct.chemistry.solutions_db import load_solution
from ephys_correct.chemistry.recipes import parse_recipe

BASE = {
    "schema_version": 1,
    "name": "K-gluconate internal with additives",
    "role": "pipette",
    "components_mm": {"K-gluconate": 135, "KCl": 4, "HEPES": 10, "EGTA": 0.5, "Mg-ATP": 4},
    "ph": {"value": 7.3, "titrant": "KOH", "temperature_c": 22},
}


def _solution(additives, **extra):
    return parse_recipe({**BASE, **extra, "additives": additives}, path="lab.toml").to_solution()


def test_threshold_is_the_charge_balance_floor():
    assert add.ION_THRESHOLD_MEQ == CHARGE_TOLERANCE_ABS_MM == 0.5


# ---------------------------------------------------------------- the table itself
def test_every_table_entry_is_a_neutral_salt_with_a_source_and_mass():
    table = add.load_additives()
    ions = load_ion_table()
    for name, a in table.items():
        net = a.charge + sum(ions[k].charge * n for k, n in a.counter_ions.items()) + a.protons
        assert net == 0, name
        assert a.source and a.locator and a.molar_mass_g_mol > 0, name
        if a.ion is not None:
            assert ions[a.ion].charge == a.charge, name


@pytest.mark.parametrize("name", ["TTX", "CNQX", "NBQX", "D-AP5", "picrotoxin", "gabazine",
                                  "bicuculline", "strychnine", "4-AP", "TEA", "kynurenic acid",
                                  "Alexa 488", "Alexa 594", "Fluo-4", "OGB-1", "Fura-2",
                                  "biocytin", "Neurobiotin", "Lucifer Yellow", "spermine",
                                  "glutathione", "QX-314", "SR-95531", "APV"])
def test_the_usual_additives_are_known(name):
    assert add.get_additive(name).name


@pytest.mark.parametrize("formula,mass", [
    # molar masses from PubChem formulas with IUPAC standard atomic weights
    ("TTX", 319.27), ("CNQX", 232.16), ("D-AP5", 197.13), ("picrotoxin", 602.59),
    ("biocytin", 372.48), ("Neurobiotin", 322.85), ("Lucifer Yellow", 457.24),
    ("glutathione", 307.32), ("Fluo-4", 927.08), ("Fura-2", 831.99),
])
def test_molar_masses(formula, mass):
    assert add.get_additive(formula).molar_mass_g_mol == pytest.approx(mass, abs=0.01)


# ---------------------------------------------------------------- amounts and counting
def test_amount_forms():
    recs = {r["name"]: r for r in _solution({
        "TTX": "0.5 uM", "CNQX": {"uM": 10}, "biocytin": "0.2 %", "picrotoxin": {"mM": 0.1},
        "Alexa 594": "20 µM", "gabazine": {"nM": 500}, "Neurobiotin": {"mg_per_ml": 1},
    }).additives}
    assert recs["TTX"]["mm"] == pytest.approx(5e-4)
    assert recs["CNQX"]["mm"] == pytest.approx(0.01)
    assert recs["biocytin"]["mm"] == pytest.approx(2.0 / 372.48 * 1000)  # 0.2 % = 2 g/L
    assert recs["picrotoxin"]["mm"] == pytest.approx(0.1)
    assert recs["Alexa Fluor 594 hydrazide"]["mm"] == pytest.approx(0.02)
    assert recs["gabazine"]["mm"] == pytest.approx(5e-4)
    assert recs["Neurobiotin"]["mm"] == pytest.approx(1.0 / 322.85 * 1000)


def test_small_and_neutral_additives_count_in_the_osmolality_only():
    plain = _solution({})
    sol = _solution({"TTX": "1 uM", "CNQX": "10 uM", "biocytin": "0.5 %"})
    assert dict(sol.ions_mm) == pytest.approx(dict(plain.ions_mm))  # charge, LJP untouched
    recs = {r["name"]: r for r in sol.additives}
    assert recs["biocytin"]["counted_as"].startswith("osmolality only")
    assert recs["biocytin"]["reason"] == "uncharged at pH 7.3"
    assert "< 0.5 mEq/L" in recs["CNQX"]["reason"]
    biocytin_mm = 5.0 / 372.48 * 1000  # 13.4 mM
    d_ideal = sol.osmolarity().ideal_mosm_l - plain.osmolarity().ideal_mosm_l
    assert d_ideal == pytest.approx(biocytin_mm + 1e-3 + 1e-2, rel=1e-9)  # 1 particle each
    d_est = sol.osmolarity().estimate_mosm_kg - plain.osmolarity().estimate_mosm_kg
    # per kg of water (x 1.026), and its 3 mL/L of volume concentrates the other solutes (+0.9)
    assert 1.08 * biocytin_mm < d_est < 1.11 * biocytin_mm
    assert "biocytin" in sol.osmolarity().details["additives_counted_mosm_l"]


def test_ionic_additives_above_the_threshold_count_as_ions():
    plain = _solution({})
    sol = _solution({"QX-314": "5 mM", "Lucifer Yellow": "0.1 %", "Fluo-4": "100 uM"})
    ions = sol.ions_mm
    assert ions["QX-314+"] == pytest.approx(5.0) and ions["Br-"] == pytest.approx(5.0)
    ly = 1.0 / 457.24 * 1000
    assert ions["LuciferYellow2-"] == pytest.approx(ly) and ions["Li+"] == pytest.approx(2 * ly)
    assert ions["Fluo-4 5-"] == pytest.approx(0.1)  # 0.5 mEq/L: at the threshold, counted
    assert ions["K+"] > plain.ions_mm["K+"]  # 0.5 mM K+ from the salt (and titrant changes)
    assert abs(sol.charge_balance_meq()) <= sol.charge_tolerance_mm()
    recs = {r["name"]: r for r in sol.additives}
    assert recs["QX-314 bromide"]["counted_as"].startswith("ions")
    assert recs["QX-314 bromide"]["osmotic_particles_mm"] == 0.0  # counted via ions_mm


def test_free_acids_and_bases_go_through_the_titration():
    """Kynurenic acid (free acid) releases a proton: the KOH titrant grows by as much;
    4-AP (free base) takes one up: the titrant shrinks."""
    plain = _solution({})
    kyn = _solution({"kynurenic acid": "2 mM"})
    ap = _solution({"4-AP": "5 mM"})
    assert kyn.ions_mm["kynurenate-"] == pytest.approx(2.0)
    assert kyn.titration.titrant_mm - plain.titration.titrant_mm == pytest.approx(2.0, abs=0.05)
    assert ap.ions_mm["4-AP+"] == pytest.approx(5.0)
    assert plain.titration.titrant_mm - ap.titration.titrant_mm == pytest.approx(5.0, abs=0.05)


def test_bicarbonate_buffer_takes_the_protons_of_a_free_acid():
    """In carbogen ACSF, kynurenic acid (free acid) turns HCO3- into CO2."""
    recipe = {"schema_version": 1, "name": "ACSF + kynurenic acid", "role": "bath",
              "components_mm": {"NaCl": 125, "NaHCO3": 26, "NaH2PO4": 1.25, "KCl": 2.5,
                                "MgCl2": 1, "CaCl2": 2, "glucose": 25},
              "ph": {"buffer": "bicarbonate", "value": 7.4, "temperature_c": 22}}
    plain = parse_recipe(recipe, path="a.toml").to_solution()
    kyn = parse_recipe({**recipe, "additives": {"kynurenic acid": "1 mM"}}, path="a.toml").to_solution()
    assert plain.ions_mm["HCO3-"] - kyn.ions_mm["HCO3-"] == pytest.approx(1.0, abs=1e-6)
    assert kyn.neutrals_mm["CO2"] - plain.neutrals_mm["CO2"] == pytest.approx(1.0, abs=1e-6)


def test_compound_table_names_work_as_additives():
    sol = _solution({"TEA-Cl": "10 mM", "glycine": "1 mM"})
    assert sol.ions_mm["TEA+"] == pytest.approx(10.0)
    recs = {r["name"]: r for r in sol.additives}
    assert recs["glycine"]["counted_as"].startswith("osmolality only")


def test_custom_additive():
    sol = _solution({"mydrug": {"uM": 5, "charge": -1, "molar_mass_g_mol": 400}})
    (rec,) = sol.additives
    assert rec["custom"] and rec["mm"] == pytest.approx(0.005)
    assert rec["osmotic_particles_mm"] == pytest.approx(0.005 * 2)  # + one counter-ion
    sol = _solution({"mycation": {"mM": 2, "charge": 1, "molar_mass_g_mol": 130, "ion": "TEA+",
                                  "counter_ions": {"Cl-": 1}}})
    assert sol.ions_mm["TEA+"] == pytest.approx(2.0)


def test_solution_with_additives_pickles():
    sol = _solution({"biocytin": "0.2 %", "QX-314": "5 mM"})
    again = pickle.loads(pickle.dumps(sol))
    assert again.additives == sol.additives


# ---------------------------------------------------------------- refusing loudly
def test_unknown_additive_error_names_file_key_value_and_how_to_declare():
    with pytest.raises(UnknownAdditiveError) as exc:
        _solution({"bicuculine": "10 uM"})
    msg = str(exc.value)
    assert "lab.toml" in msg and "'bicuculine'" in msg and "10 uM" in msg
    assert "Did you mean" in msg and "bicuculline" in msg
    assert "charge = -1, molar_mass_g_mol = 400" in msg
    assert isinstance(exc.value, RecipeError) and isinstance(exc.value, UnknownCompoundError)


@pytest.mark.parametrize("value,match", [
    ("10 uMol", "expected '<number> <unit>'"),
    ({"uM": 1, "mM": 2}, "exactly one amount key"),
    ({"uM": "x"}, "is not a number"),
    ({"uM": 1, "chrage": 1}, "unknown key 'chrage'"),
    ({"uM": 1, "charge": -1}, "needs \\['molar_mass_g_mol'\\]"),
    (12, "expected a string"),
])
def test_bad_amounts(value, match):
    with pytest.raises(RecipeError, match=match):
        _solution({"mydrug" if isinstance(value, dict) and "charge" in value else "TTX": value})


def test_negative_amount():
    with pytest.raises(ConcentrationError, match="TTX"):
        _solution({"TTX": {"uM": -1}})


def test_known_additive_with_a_declared_charge_is_ambiguous():
    with pytest.raises(RecipeError, match="is a known additive"):
        _solution({"TTX": {"uM": 1, "charge": 0, "molar_mass_g_mol": 300}})


def test_charged_additive_without_an_ion_above_the_threshold_is_refused_unless_opted_out():
    with pytest.raises(RecipeError, match=re.escape("has no ion-table ion")):
        _solution({"D-AP5": "1 mM"})
    sol = _solution({"D-AP5": {"mM": 1, "ignore_charge": True}})
    (rec,) = sol.additives
    assert rec["reason"] == "ignore_charge = true in the recipe"
    with pytest.raises(RecipeError, match="has no ion-table ion"):
        _solution({"mydrug": {"mM": 1, "charge": -2, "molar_mass_g_mol": 300}})


def test_same_additive_twice():
    with pytest.raises(RecipeError, match="same additive"):
        _solution({"TTX": "1 uM", "tetrodotoxin": "1 uM"})


def test_w_v_amount_needs_a_molar_mass():
    with pytest.raises(RecipeError, match="needs the molar mass"):
        _solution({"glycine": "0.1 %"})


def test_additives_are_not_a_recipe_on_their_own():
    with pytest.raises(RecipeError, match="the recipe is empty"):
        parse_recipe({"schema_version": 1, "name": "x", "additives": {"TTX": "1 uM"}}, path="x.toml")


def test_recipe_file_with_additives(tmp_path):
    f = tmp_path / "internal.toml"
    f.write_text(
        'schema_version = 1\nname = "K-gluconate + tracers"\nrole = "pipette"\n'
        '[components_mm]\n"K-gluconate" = 135\nKCl = 4\nHEPES = 10\n'
        '[ph]\nvalue = 7.3\ntitrant = "KOH"\ntemperature_c = 22\n'
        '[additives]\nbiocytin = "0.2 %"\n"Alexa Fluor 594" = { uM = 20 }\nspermine = "0.1 mM"\n',
        encoding="utf-8")
    sol = load_solution(f)
    assert [r["name"] for r in sol.additives] == ["biocytin", "Alexa Fluor 594 hydrazide",
                                                   "spermine tetrahydrochloride"]
    assert "additives" in sol.describe()


def test_correction_provenance_lists_the_additives():
    from ephys_correct.correction.corrected import _solution_summary

    sol = _solution({"TTX": "1 uM", "QX-314": "5 mM"})
    listed = {r["name"]: r["counted_as"] for r in _solution_summary(sol)["additives"]}
    assert listed["TTX"].startswith("osmolality only") and listed["QX-314 bromide"].startswith("ions")
