"""Every shipped recipe in ``solutions_db/`` loads, is sourced, electroneutral and plausible.

The titrant ranges asserted below are reasoned from the chemistry, not copied from the code's
output: every acid-base component consumes (or releases) its share of titrant at the target pH
(science_pitfalls.md item 6), so the expected amount is a sum over components.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import shared_path
from ephys_correct.chemistry import solutions_db as sol_mod
from ephys_correct.cli import main
from ephys_correct.chemistry.recipes import load_recipe
from ephys_correct.chemistry.solutions_db import load_solution

from conftest import ROOT  # noqa: E402
DB = ROOT / "solutions_db"
FILES = sorted(DB.glob("*.toml"))
IDS = [f.stem for f in FILES]

BATH_MAIN_CATIONS = {"Na+", "NMDG+", "choline+"}
PIPETTE_MAIN_CATIONS = {"K+", "Cs+"}
YEAR = re.compile(r"\b(18|19|20)\d{2}\b")


def _main_cation(solution) -> str:
    cations = {ion: c for ion, c in solution.ions_mm.items() if ion.endswith("+")}
    return max(cations, key=cations.get)


def test_database_has_enough_recipes():
    assert len(FILES) >= 18, [f.name for f in FILES]
    for f in FILES:
        assert re.fullmatch(r"[a-z0-9_]+", f.stem), f"{f.name}: file names are lower_snake_case"


@pytest.fixture(scope="module")
def loaded():
    return {f.stem: load_solution(f) for f in FILES}


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_recipe_has_name_role_and_source(path):
    rec = load_recipe(path)
    assert rec.name.strip()
    assert rec.role in ("pipette", "bath", "bridge")
    assert rec.source and rec.source.strip(), f"{path.name}: no source"
    assert YEAR.search(rec.source) or rec.doi, f"{path.name}: source needs a year or a DOI"
    assert rec.notes and rec.notes.strip(), f"{path.name}: notes should state purpose and assumptions"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_recipe_is_electroneutral_without_rebalancing(path, loaded):
    s = loaded[path.stem]
    assert s.rebalanced is None
    assert abs(s.charge_balance_meq()) <= s.charge_tolerance_mm()
    # the CLI summary is JSON-serialisable
    json.dumps(s.describe())


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_role_sanity(path, loaded):
    s = loaded[path.stem]
    rec = load_recipe(path)
    main_cation = _main_cation(s)
    if s.role == "bath":
        assert s.ions_mm.get("Ca2+", 0.0) > 0, f"{path.name}: a bath without Ca2+"
        allowed = set(BATH_MAIN_CATIONS)
        if "high-K" in (rec_tags := _tags(path)):
            allowed.add("K+")
        assert main_cation in allowed, (path.name, main_cation, rec_tags)
    elif s.role == "pipette":
        assert main_cation in PIPETTE_MAIN_CATIONS, (path.name, main_cation)
        # internals are low in Ca2+ (none of the shipped ones exceeds 1 mM total)
        assert s.ions_mm.get("Ca2+", 0.0) <= 1.0
    assert rec.role == s.role


def _tags(path: Path) -> list[str]:
    from ephys_correct._resources import tomllib

    return list(tomllib.loads(path.read_text(encoding="utf-8")).get("tags", []))


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_titration_is_physically_sensible(path, loaded):
    s = loaded[path.stem]
    rec = load_recipe(path)
    t = s.titration
    if rec.ph.mode == "none":
        assert t is None
        return
    assert t is not None
    assert t.ph_temperature_c == rec.ph.temperature_c
    assert 6.5 <= t.ph <= 8.0
    if t.mode == "target":
        assert t.titrant_mm is not None and t.titrant_mm > 0
        if s.role == "pipette":
            # KOH/CsOH for HEPES + EGTA + nucleotides: a few mM to a few tens of mM
            assert t.titrant_mm < 40, (path.name, t.titrant_mm)
        elif t.titrant == "NaOH":
            # HEPES-buffered salines: at most the HEPES + phosphate protons
            assert t.titrant_mm < 12, (path.name, t.titrant_mm)
    if t.mode == "bicarbonate":
        # only the phosphate/HEPES protons convert HCO3- to CO2: about 1 mM for 1.25 mM NaH2PO4
        assert 0 <= t.bicarbonate_to_co2_mm < 3
        assert s.ions_mm["HCO3-"] > 20


# Expected titrant amounts, reasoned from the components (pKa(HEPES) 7.57 at 25 degC, I = 0, about
# 7.5 at 22 degC and I ~ 0.15 M -> 35-45 % HEPES- at pH 7.3-7.4; EGTA free acid ~2 eq; MgH2ATP and
# Na2H2GTP ~1.9 eq each; NMDG (pKa ~9.5) ~99 % protonated at pH 7.35).
EXPECTED_TITRANT = {
    # 10 HEPES (~4) + 4 EGTA (~8) + 4 MgATP (~7.5) + 0.3 NaGTP (~0.6)  ->  ~20 mM KOH
    "internal_k_gluconate": ("KOH", 15.0, 25.0),
    # 10 HEPES (~4) + 11 EGTA (~22)  ->  ~26 mM CsOH
    "internal_cs_gluconate": ("CsOH", 20.0, 32.0),
    # 10 HEPES (~4) + 10 EGTA (~20) + 4 MgATP (~7.5) + 0.4 Tris-GTP (~1)  ->  ~32 mM CsOH
    "internal_cscl": ("CsOH", 26.0, 38.0),
    # 92 NMDG protonated (~91) minus HEPES (~7-9) and phosphate (~1) protons  ->  ~80-85 mM HCl
    "acsf_nmdg_hepes_recovery": ("HCl", 75.0, 92.0),
    # 10 HEPES at pH 7.35-7.4 (~4-5 mM NaOH)
    "tyrode_hepes": ("NaOH", 2.5, 7.0),
    "external_hepes_hek": ("NaOH", 2.5, 7.0),
}


@pytest.mark.parametrize("stem", sorted(EXPECTED_TITRANT))
def test_titrant_amount_matches_the_chemistry(stem, loaded):
    titrant, lo, hi = EXPECTED_TITRANT[stem]
    t = loaded[stem].titration
    assert t.mode == "target" and t.titrant == titrant
    assert lo <= t.titrant_mm <= hi, (stem, t.titrant_mm)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_measured_osmolality_consistent_with_composition(path, loaded):
    s = loaded[path.stem]
    osm = s.osmolarity()
    assert osm.ideal_mosm_l > 0
    # the estimate is not bounded by the ideal sum: molal > molar and phi(sucrose) > 1 put the
    # sucrose cutting solution above it (tests/test_osmolality.py checks every measured recipe)
    assert osm.estimate_mosm_kg is not None and osm.estimate_mosm_kg > 0
    if s.measured_osmolality_mosm_kg is not None:
        rel = abs(s.measured_osmolality_mosm_kg - osm.ideal_mosm_l) / osm.ideal_mosm_l
        assert rel <= 0.12, (path.name, s.measured_osmolality_mosm_kg, osm.ideal_mosm_l)


def test_bicarbonate_acsf_keeps_phosphate_protons_out_of_the_charge_balance(loaded):
    # 26 NaHCO3 + 1.25 NaH2PO4 at pH 7.4: ~80 % of the phosphate is HPO4 2-, its released proton
    # converts ~1 mM HCO3- to CO2; Na+ is the weighed 125 + 26 + 1.25.
    s = loaded["acsf_carbogen_standard"]
    assert s.ions_mm["Na+"] == pytest.approx(152.25)
    assert s.ions_mm["HCO3-"] == pytest.approx(26 - s.titration.bicarbonate_to_co2_mm)
    assert 0.7 < s.titration.bicarbonate_to_co2_mm < 1.2
    assert s.neutrals_mm["CO2"] == pytest.approx(s.titration.bicarbonate_to_co2_mm)


def test_phosphate_ringer_ratio_sets_its_own_ph(loaded):
    # Hodgkin & Horowicz Ringer: 2.15 Na2HPO4 + 0.85 NaH2PO4 at the stated pH 7.2 balances with no
    # titrant (HPO4/H2PO4 = 2.5 -> pH = pKa' + 0.4 ~ 7.2).
    s = loaded["ringer_frog"]
    assert s.titration.mode == "titrant-given" and s.titration.titrant is None
    assert abs(s.charge_balance_meq()) < 0.3


def test_axobits_pair_matches_reference_case():
    cases = json.loads(shared_path("reference", "ljp_cases.json").read_text())["cases"]
    case = next(c for c in cases if c["id"] == "axobits39_kgluconate_vs_saline_jpcalc")
    aliases = {"K": "K+", "Na": "Na+", "Cl": "Cl-", "Gluconate": "gluconate-", "Mg": "Mg2+",
               "Ca": "Ca2+", "HEPES": "HEPES-"}
    for stem, side in (("axobits39_kgluconate_pipette", "pipette"), ("axobits39_saline_bath", "bath")):
        s = load_solution(DB / f"{stem}.toml")
        expected = {aliases[k]: float(v) for k, v in case[side].items()}
        assert dict(s.ions_mm) == pytest.approx(expected)
        assert s.titration is None and s.neutrals_mm == {}


def test_cli_solutions_list_json_lists_every_file(tmp_cwd, monkeypatch, capsys):
    monkeypatch.delenv("EPHYS_CORRECT_SOLUTIONS_DB", raising=False)
    assert DB.resolve() in sol_mod.solutions_db_dirs()
    assert main(["solutions", "list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert isinstance(items, list)
    by_id = {item["id"]: item for item in items}
    for f in FILES:
        assert f.stem in by_id, f.stem
        item = by_id[f.stem]
        assert item["name"] == load_recipe(f).name
        assert item["role"] in ("pipette", "bath", "bridge")


def test_recipes_load_by_name_and_by_stem(tmp_cwd, monkeypatch):
    monkeypatch.delenv("EPHYS_CORRECT_SOLUTIONS_DB", raising=False)
    by_stem = load_solution("internal_k_gluconate")
    by_name = load_solution(load_recipe(DB / "internal_k_gluconate.toml").name)
    assert by_stem.identity() == by_name.identity()
    assert by_stem.path and Path(by_stem.path).name == "internal_k_gluconate.toml"
