"""Recipes and solutions: parsing, validation, titration, charge balance."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ephys_correct.errors import (
    ConcentrationError,
    ElectroneutralityError,
    RecipeError,
    UnknownCompoundError,
    UnknownIonError,
    UnknownSolutionError,
)
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.chemistry.compounds import get_compound, load_compounds
from ephys_correct.chemistry.recipes import load_recipe
from ephys_correct.chemistry.solutions_db import load_solution

KCL_RECIPE = """
schema_version = 1
name = "KCl test"
role = "pipette"
source = "test"
[components_mm]
KCl = 140
CaCl2 = 1
NaCl = 8
"""


def write(tmp_path: Path, text: str, name: str = "r.toml", *, raw: bool = False) -> Path:
    if not raw and "schema_version" not in text:
        text = "schema_version = 1\n" + text
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_simple_recipe(tmp_path):
    p = write(tmp_path, KCL_RECIPE)
    before = p.read_bytes()
    sol = load_solution(p)
    assert dict(sol.ions_mm) == {"K+": 140.0, "Cl-": 150.0, "Ca2+": 1.0, "Na+": 8.0}
    assert sol.charge_balance_meq() == pytest.approx(0.0)
    assert sol.ionic_strength_mm() == pytest.approx(0.5 * (140 + 150 + 4 + 8))
    assert sol.role == "pipette"
    assert sol.source_sha256 == hashlib.sha256(before).hexdigest()
    assert p.read_bytes() == before  # input never modified


def test_ions_mapping_read_only():
    sol = Solution.from_ions({"K": 145, "Cl": 145}, name="x")
    with pytest.raises(TypeError):
        sol.ions_mm["K+"] = 1  # type: ignore[index]


def test_from_ions_aliases_and_duplicates():
    sol = Solution.from_ions({"potassium": 10, "Cl-": 10})
    assert dict(sol.ions_mm) == {"K+": 10.0, "Cl-": 10.0}
    with pytest.raises(RecipeError, match="both name the ion 'K\\+'"):
        Solution.from_ions({"K": 10, "K+": 10, "Cl-": 20})


def test_stoichiometry_of_commercial_salts():
    assert dict(get_compound("Na2ATP").releases) == {"Na+": 2.0}
    assert dict(get_compound("Na2-ATP").ligands) == {"ATP": 1.0}
    assert get_compound("EGTA").protons == 4  # the free acid brings 4 protons
    assert get_compound("KOH").titrant
    assert get_compound("k gluconate").name == "K-gluconate"


# ------------------------------------------------------------------ bad input: a dozen kinds
BAD = {
    "negative": ('[components_mm]\nKCl = -5', ConcentrationError, r"'KCl'.*negative"),
    "nan": ('[components_mm]\nKCl = nan', ConcentrationError, r"'KCl'.*finite"),
    "inf": ('[components_mm]\nKCl = inf', ConcentrationError, r"'KCl'.*finite"),
    "string": ('[components_mm]\nKCl = "140 mM"', RecipeError, r"\[components_mm\]: 'KCl' = '140 mM' is not a number"),
    "bool": ('[components_mm]\nKCl = true', RecipeError, r"'KCl'.*number"),
    "unknown compound": ('[components_mm]\nKGlucnate = 5', UnknownCompoundError, r"KGlucnate.*K-gluconate"),
    "unknown ion": ('[ions_mm]\n"Kx+" = 5\n"Cl-" = 5', UnknownIonError, r"Kx\+"),
    "unknown key": ('colour = "blue"\n[components_mm]\nKCl = 5', RecipeError, r"unknown key 'colour'"),
    "unknown ph key": ('[components_mm]\nKCl = 5\n[ph]\nvalu = 7', RecipeError, r"\[ph\] 'valu'.*value"),
    "same compound twice": ('[components_mm]\nKCl = 5\n"potassium chloride" = 5', RecipeError, r"\[components_mm\]: 'potassium chloride' and 'KCl' both name the compound 'KCl'"),
    "toml duplicate": ('[components_mm]\nKCl = 5\nKCl = 6', RecipeError, r"not valid TOML"),
    "unbalanced": ('[ions_mm]\n"K+" = 140\n"Cl-" = 120', ElectroneutralityError, r"net \+20\.000"),
    "bad role": ('role = "cytoplasm"\n[components_mm]\nKCl = 5', RecipeError, r"r\.toml: role = 'cytoplasm' is not one of 'pipette', 'bath'"),
    "schema": ('schema_version = 9\n[components_mm]\nKCl = 5', RecipeError, r"schema_version 9"),
    "no schema": ('name = "x"\n[components_mm]\nKCl = 5', RecipeError, r"'schema_version' is missing"),
    "empty": ('source = "x"', RecipeError, r"empty"),
    "ph out of range": ('[components_mm]\nHEPES = 10\n[ph]\nvalue = 17\ntitrant = "KOH"\ntemperature_c = 22', RecipeError, r"\[ph\] value = 17 is outside 0-14"),
    "ph without temperature": ('[components_mm]\nHEPES = 10\n[ph]\nvalue = 7.3\ntitrant = "KOH"', RecipeError, r"temperature_c is required"),
    "not a titrant": ('[components_mm]\nHEPES = 10\n[ph]\nvalue = 7.3\ntitrant = "KCl"\ntemperature_c = 22', RecipeError, r"not a titrant"),
    "buffer without ph": ('[components_mm]\nHEPES = 10', RecipeError, r"no \[ph\] table"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_recipes(tmp_path, case):
    body, exc, pattern = BAD[case]
    text = body if "name =" in body else 'name = "bad"\n' + body
    p = write(tmp_path, text, raw=(case == "no schema"))
    before = sorted(tmp_path.iterdir())
    with pytest.raises(exc, match=pattern) as info:
        load_solution(p)
    assert str(p) in str(info.value)  # the message names the file
    assert sorted(tmp_path.iterdir()) == before  # nothing written


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_recipe(tmp_path / "nope.toml")
    with pytest.raises(RecipeError, match="directory"):
        load_recipe(tmp_path)


def test_unknown_db_name_suggests():
    with pytest.raises(UnknownSolutionError, match="No recipe"):
        load_solution("definitely_not_a_recipe_name")


def test_rebalance_is_explicit_and_recorded(tmp_path):
    p = write(tmp_path, 'name = "x"\n[ions_mm]\n"K+" = 140\n"Cl-" = 120\n')
    sol = load_solution(p, rebalance_with="Cl-")
    assert sol.ions_mm["Cl-"] == pytest.approx(140)
    assert sol.rebalanced.ion == "Cl-"
    assert sol.rebalanced.delta_mm == pytest.approx(20)
    assert sol.rebalanced.imbalance_before_meq == pytest.approx(20)
    with pytest.raises(ElectroneutralityError, match="negative"):
        load_solution(p, rebalance_with="Na+")  # would need -20 mM of Na+


def test_every_compound_is_electrically_neutral():
    """Bookkeeping check of compounds.toml: strong ions + ligands in their reference
    (fully deprotonated) form + carried protons must sum to zero charge."""
    from ephys_correct.chemistry.ions import get_ion
    from ephys_correct.chemistry.acidbase import reference_charge

    for comp in load_compounds().values():
        q = sum(get_ion(i).charge * n for i, n in comp.releases.items())
        q += sum(reference_charge(lig) * n for lig, n in comp.ligands.items())
        q += comp.protons
        assert q == 0, f"{comp.name}: net charge {q}"


def test_every_compound_ligand_is_known():
    from ephys_correct.chemistry.acidbase import ligand_names

    known = set(ligand_names())
    for comp in load_compounds().values():
        assert set(comp.ligands) <= known, comp.name


HEPES_TARGET = """
name = "KCl-HEPES"
[components_mm]
KCl = 140
HEPES = 10
[ph]
value = 7.3
titrant = "KOH"
temperature_c = 22
"""


def test_titration_target_counts_hepes_charge(tmp_path):
    # HEPES pKa 7.565 at 25 degC, -0.014/K (Vega & Bates 1976; see ligands.toml) -> ~7.61 at 22 degC.
    # At pH 7.3 only 1/(1 + 10**(7.61 - 7.3)) ~ 0.33 of it is HEPES- (ideal), ~0.4 with activity
    # corrections: 3-4.5 mM KOH, not the 10 mM of the "all HEPES is an anion" error.
    sol = load_solution(write(tmp_path, HEPES_TARGET))
    t = sol.titration
    assert t.mode == "target" and t.titrant == "KOH" and not t.ph_estimated
    assert 3.0 < t.titrant_mm < 4.5
    assert sol.ions_mm["K+"] == pytest.approx(140 + t.titrant_mm)
    assert sol.ions_mm["HEPES-"] == pytest.approx(t.titrant_mm, rel=1e-6)
    assert sol.neutrals_mm["HEPES"] == pytest.approx(10 - t.titrant_mm, rel=1e-6)
    assert abs(sol.charge_balance_meq()) < 1e-6
    ideal = load_solution(write(tmp_path, HEPES_TARGET, "b.toml"), activity_model="ideal")
    assert 3.0 < ideal.titration.titrant_mm < t.titrant_mm


def test_titration_given_estimates_ph(tmp_path):
    target = load_solution(write(tmp_path, HEPES_TARGET))
    given = HEPES_TARGET.replace('titrant = "KOH"\n', "").replace("value = 7.3\n", "")
    given = given.replace("HEPES = 10\n", f"HEPES = 10\nKOH = {target.titration.titrant_mm!r}\n")
    sol = load_solution(write(tmp_path, given, "g.toml"))
    assert sol.titration.ph_estimated
    assert sol.titration.ph == pytest.approx(7.3, abs=1e-6)


def test_titration_wrong_direction(tmp_path):
    text = HEPES_TARGET.replace('titrant = "KOH"', 'titrant = "HCl"')
    with pytest.raises(ElectroneutralityError, match="base"):
        load_solution(write(tmp_path, text))


def test_cached_load_sees_edits(tmp_path):
    p = write(tmp_path, KCL_RECIPE)
    first = load_solution(p)
    assert load_solution(p) is first  # unchanged file: loaded once
    p.write_text(KCL_RECIPE.replace("KCl = 140", "KCl = 130"), encoding="utf-8")
    second = load_solution(p)
    assert second.ions_mm["K+"] == 130.0 and second.source_sha256 != first.source_sha256


def test_identity_is_stable_under_float_noise_and_separates_file_from_derivation(tmp_path):
    """Issue 11: a solution's identity never hashes full-precision floats.

    Values that agree to 1e-12 (another numpy/scipy build) give the same identity;
    a real change of composition changes it; the recipe file's bytes
    (``source_sha256``) are kept apart from how a solution was derived.
    """
    from ephys_correct.chemistry.solutions import Solution

    base = Solution.from_ions({"K+": 140.123456789, "Cl-": 140.123456789}, name="x")
    noisy = Solution.from_ions({"K+": 140.123456789 * (1 + 1e-13), "Cl-": 140.123456789 * (1 - 1e-13)},
                               name="x")
    assert base.identity() == noisy.identity()
    other = Solution.from_ions({"K+": 140.2, "Cl-": 140.2}, name="x")
    assert other.composition_sha256 != base.composition_sha256
    assert base.source_sha256 == "" and base.derived_from is None

    p = write(tmp_path, KCL_RECIPE)
    sol = load_solution(p)
    changed = sol.with_ions({"K+": 141.0, "Cl-": 151.0})
    assert changed.source_sha256 == sol.source_sha256  # same recipe file ...
    assert changed.derived_from["operation"] == "with_ions"  # ... derived from it, and said so
    assert changed.derived_from["parent"]["composition_sha256"] == sol.composition_sha256
    assert changed.identity_key != sol.identity_key
