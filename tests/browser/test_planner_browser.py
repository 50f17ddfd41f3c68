"""The planner page in headless Chromium: it loads cleanly, shows the API's numbers, reacts to edits.

Expected numbers are computed here with the public API (``import ephys_correct as ec``),
independently of the web code, and compared with what the page shows: the exact value each
number element carries (``data-value``, the JSON float) and its text.
"""

from __future__ import annotations

import dataclasses
import warnings
from types import MappingProxyType

import pytest

import ephys_correct as ec
from ephys_correct.chemistry.speciation import free_ion_solution
from ephys_correct.errors import ModelValidityWarning

pytestmark = pytest.mark.browser

PIPETTE, BATH = "internal_k_gluconate", "acsf_carbogen_standard"


def _open(bp, planner_url, *, temperature=22, ljp_temperature=22, pipette=PIPETTE, bath=BATH):
    bp.goto(f"{planner_url}?pipette={pipette}&bath={bath}&temperature={temperature}"
            f"&ljp_temperature={ljp_temperature}")
    _settle(bp.page)
    assert bp.page.input_value("#temperature") == str(temperature)
    return bp.page


def _settle(page):
    """Wait until the latest edit has been evaluated (or refused with a message)."""
    page.wait_for_selector("#status.ok, #status.bad")


def _value(page, selector) -> float:
    raw = page.get_attribute(selector, "data-value")
    assert raw, f"{selector} carries no number (text {page.inner_text(selector)!r})"
    return float(raw)


def _amount_input(page, side, name):
    rows = page.locator(f"#{side} tr.amount-row")
    for i in range(rows.count()):
        if rows.nth(i).locator("input.name").input_value() == name:
            return rows.nth(i).locator("input.amount")
    raise AssertionError(f"no {name!r} row in the {side} recipe")


def _quiet(fn, *args, **kwargs):
    """Run an API call, returning its result and the ModelValidityWarning messages it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelValidityWarning)
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught]


def test_page_loads_without_console_errors_and_the_chart_renders(browser_page, planner_url):
    page = _open(browser_page, planner_url)
    assert page.inner_text("#status") == "up to date"
    assert page.locator("#erev-chart svg circle").count() == page.locator("#rev-table tbody tr").count() >= 3
    assert browser_page.assert_images_rendered() >= 1
    assert page.is_hidden("#global-errors")
    browser_page.assert_no_console_errors()


def test_numbers_on_the_page_equal_the_api(browser_page, planner_url):
    page = _open(browser_page, planner_url, temperature=32, ljp_temperature=22)
    plan, plan_warnings = _quiet(ec.plan_solutions, PIPETTE, BATH, temperature_c=32, ljp_temperature_c=22)
    # LJP, both methods, at the zeroing temperature (22 degC), not the recording one
    for method, sel in (("henderson", "#ljp-henderson"), ("nernst-planck", "#ljp-nernst-planck")):
        assert _value(page, sel) == plan.ljp_mv(method)
        assert page.inner_text(sel) == f"{plan.ljp_mv(method):+.2f}"
    # reversal potentials of the free ions at 32 degC
    rev, rev_warnings = _quiet(ec.reversal_potentials, plan.pipette, plan.bath, temperature_c=32, free_ions=True)
    assert page.locator("#rev-table tbody tr").count() == len(rev)
    for row in rev.to_dict(orient="records"):
        tr = f'#rev-table tr[data-ion="{row["ion"]}"]'
        assert _value(page, f"{tr} .e-act") == row["E_rev_mV"]
        assert _value(page, f"{tr} .e-ideal") == row["E_rev_ideal_mV"]
        assert page.inner_text(f"{tr} .e-act") == f"{row['E_rev_mV']:+.2f}"
        assert _value(page, f"{tr} .c-in") == row["c_in_mM"]
    # free Ca2+/Mg2+ as the Ca_free/Mg_free planning targets speciate
    for side, sol in (("pipette", plan.pipette), ("bath", plan.bath)):
        spec, _ = _quiet(free_ion_solution, sol, temperature_c=32)
        assert _value(page, f"#free-ca-{side}") == spec.ions_mm.get("Ca2+", 0.0)
        assert _value(page, f"#free-mg-{side}") == spec.ions_mm["Mg2+"]
        summary = plan.solutions[side]
        assert _value(page, f"#osm-estimate-{side}") == summary["osm_estimate_mosm_kg"]
        assert page.inner_text(f"#osm-estimate-{side}") == f"{summary['osm_estimate_mosm_kg']:.1f}"
        assert _value(page, f"#ionic-strength-{side}") == summary["ionic_strength_mm"]
    bath_ca = _value(page, "#free-ca-bath")
    assert page.inner_text("#free-ca-bath") == f"{bath_ca:.3g} mM"
    # whatever the API warns about is on the page (the pH is now computed at 32 degC: no warning)
    notes = page.inner_text("#notes")
    for msg in set(rev_warnings):
        assert msg in notes
    browser_page.assert_no_console_errors()


def test_changing_a_concentration_changes_the_ljp(browser_page, planner_url):
    page = _open(browser_page, planner_url)
    before = _value(page, "#ljp-henderson")
    _amount_input(page, "pipette", "KCl").fill("40")
    _settle(page)
    after = _value(page, "#ljp-henderson")
    assert after != before
    recipe = ec.load_recipe(ec.load_solution(PIPETTE).path)
    comps = dict(recipe.components_mm, KCl=40.0)
    edited = dataclasses.replace(recipe, components_mm=MappingProxyType(comps)).to_solution()
    for method, sel in (("henderson", "#ljp-henderson"), ("nernst-planck", "#ljp-nernst-planck")):
        expected = float(ec.liquid_junction_potential(edited, BATH, temperature_c=22, method=method))
        assert _value(page, sel) == expected
    assert page.is_visible("#pipette .badge.edited")
    browser_page.assert_no_console_errors()


def test_errors_are_shown_never_a_blank(browser_page, planner_url):
    page = _open(browser_page, planner_url)
    page.click("#pipette .add-compound")
    page.keyboard.type("KClx")
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    _settle(page)
    errors = page.inner_text("#pipette .side-errors")
    assert "Unknown compound 'KClx'" in errors and "Did you mean: 'KCl'" in errors
    assert page.inner_text("#ljp-henderson") == "–"
    assert "not computed: pipette" in page.inner_text("#ljp-correction")
    assert "not computed" in page.inner_text("#rev-table")
    assert _value(page, "#osm-estimate-bath") > 0  # the bath alone still has its numbers
    # fix the name: the numbers come back; then unbalance the charge with an ion
    page.locator("#pipette input.name").last.fill("KCl")
    page.keyboard.press("Tab")
    _settle(page)
    assert "listed twice" in page.inner_text("#pipette .side-errors")
    page.locator("#pipette tr.amount-row").last.locator("button.remove").click()
    _settle(page)
    assert page.is_hidden("#pipette .side-errors")
    page.click("#bath .add-ion")
    page.keyboard.type("Na+")
    page.keyboard.press("Tab")
    page.keyboard.type("20")
    _settle(page)
    assert "ElectroneutralityError" in page.inner_text("#bath .side-errors")
    page.fill("#temperature", "")
    _settle(page)
    assert "'temperature_c' is required" in page.inner_text("#global-errors")
    browser_page.assert_no_console_errors()


def test_download_round_trips_through_load_recipe(browser_page, planner_url, tmp_path):
    page = _open(browser_page, planner_url)
    _amount_input(page, "pipette", "KCl").fill("12.5")
    _settle(page)
    with page.expect_download() as info:
        page.click("#pipette button.download")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".toml"
    loaded = ec.load_recipe(path)
    shipped = ec.load_recipe(ec.load_solution(PIPETTE).path)
    assert dict(loaded.components_mm) == dict(shipped.components_mm, KCl=12.5)
    assert loaded.ph == shipped.ph and loaded.role == "pipette" and loaded.name == shipped.name
    assert loaded.source.startswith("Edited in the ephys_correct planner from: ")
    # the downloaded file gives the LJP the page shows
    sol = ec.load_solution(path)
    assert float(ec.liquid_junction_potential(sol, BATH, temperature_c=22)) == _value(page, "#ljp-henderson")
    # the unedited bath downloads as the shipped recipe
    with page.expect_download() as info:
        page.click("#bath button.download")
    bath_path = tmp_path / "bath.toml"
    info.value.save_as(bath_path)
    bath, shipped_bath = ec.load_recipe(bath_path), ec.load_recipe(ec.load_solution(BATH).path)
    for field in ("name", "role", "components_mm", "ions_mm", "ph", "source", "doi", "notes",
                  "measured_osmolality_mosm_kg"):
        assert getattr(bath, field) == getattr(shipped_bath, field), field
    browser_page.assert_no_console_errors()


def test_a_target_is_solved_and_applied(browser_page, planner_url):
    # the AxoBits 39 recipes are given as ions, without pH: solving is quick (no titration); nothing
    # in them binds Mg2+, so free Mg2+ is the total (free ions are the default, issue 13)
    pipette, bath = "axobits39_kgluconate_pipette", "axobits39_saline_bath"
    page = _open(browser_page, planner_url, pipette=pipette, bath=bath)
    assert page.inner_text("#status") == "up to date"
    assert page.inner_text("#free-mg-pipette") == "1.00 mM"
    row = page.locator("#target-table tbody tr").first
    row.locator(".t-value").fill("-50")
    row.locator(".t-vary").fill("KCl")
    page.click("#solve")
    page.wait_for_selector("#solve-status:text-is('solved')", timeout=60_000)
    plan, _ = _quiet(ec.plan_solutions, pipette, bath, temperature_c=22, ljp_temperature_c=22,
                     targets=["E_Cl-=-50"], vary=["KCl"], side=["pipette"])
    solved = plan.targets[0]
    assert _value(page, "#target-result-table .t-amount") == solved.amount_mm
    assert _value(page, "#target-result-table .t-value-out") == solved.value == pytest.approx(-50, abs=1e-3)
    page.click("#apply-targets")
    _settle(page)
    assert float(_amount_input(page, "pipette", "KCl").input_value()) == solved.amount_mm
    assert _value(page, "#ljp-henderson") == plan.final_ljp_mv["henderson"]
    assert _value(page, '#rev-table tr[data-ion="Cl-"] .e-act') == plan.final["E_Cl-"]
    browser_page.assert_no_console_errors()
