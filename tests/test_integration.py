"""End-to-end checks across modules (solutions -> LJP / E_rev -> correction -> table)."""

from __future__ import annotations

import math

import pytest
from conftest import TEST_DATA

from ephys_correct.correction.correct import correct_recording
from ephys_correct.potentials.bath import bath_change_offset
from ephys_correct.potentials.ljp import liquid_junction_potential
from ephys_correct.report.driving_force import driving_force_table
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.chemistry.solutions_db import load_solution

FOUR_CH = TEST_DATA / "pclamp11_4ch.abf"
# AxoBits 39 pair (shared/reference/ljp_cases.json): JPCalc V_L = +15.6 mV at 20 degC
PIP = Solution.from_ions({"K+": 145, "Na+": 13, "Cl-": 10, "gluconate-": 145, "Mg2+": 1, "HEPES-": 5},
                         name="AxoBits 39 pipette")
BATH = Solution.from_ions({"K+": 2.8, "Na+": 145, "Cl-": 148.8, "Mg2+": 2, "Ca2+": 1, "HEPES-": 5},
                          name="AxoBits 39 bath")


def test_single_bath_change_reversal_potentials_follow_the_new_bath():
    low_cl = Solution.from_ions({"Na+": 145, "K+": 2.8, "Cl-": 75, "gluconate-": 73.8, "Mg2+": 2,
                                 "Ca2+": 1, "HEPES-": 5}, name="low-Cl bath (not in solutions_db)")
    bc = bath_change_offset(BATH, low_cl, temperature_c=20, reference="ag_agcl", activity_model=None)
    cr = correct_recording(FOUR_CH, pipette=PIP, bath=BATH, temperature_c=20, bath_change=bc)
    df = driving_force_table(cr, ions=["Cl-"], activity_model="ideal")
    e_cl = df["E_rev_ideal_mV"].to_numpy()
    # ideal Nernst for Cl-: E = -(RT/F) ln(c_out/c_in) = -(RT/F) ln(75/10) at 20 degC
    rt_f = 25.2614  # mV at 293.15 K (exact SI constants)
    assert all(math.isfinite(v) for v in e_cl)
    assert e_cl == pytest.approx(-rt_f * math.log(75 / 10), abs=2e-3)


def test_recipe_to_table_whole_chain():
    pip = load_solution("internal_k_gluconate")
    bath = load_solution("acsf_carbogen_standard")
    v_l = float(liquid_junction_potential(pip, bath, temperature_c=22))
    assert 12 < v_l < 18  # K-gluconate internal vs ACSF: "usually near +15 mV" (LJPcalc docs)
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=22,
                           zeroing_temperature_c=22)
    assert cr.holding[0].value == pytest.approx(-10.0 - v_l, abs=1e-12)
    df = driving_force_table(cr)
    assert {"K+", "Na+", "Cl-"} <= set(df["ion"])
    row = df[(df["ion"] == "K+") & (df["sweep"] == 0) & (df["headstage"] == df["headstage"].min())].iloc[0]
    assert row["driving_force_mV"] == pytest.approx(row["V_m_mV"] - row["E_rev_mV"], abs=1e-12)
    assert df.attrs["configuration"] == "whole-cell"


def test_free_ions_switch_changes_mg_and_is_recorded():
    """Issue 6: one switch speciates both sides for the LJP and E_rev (docs/speciation.md:
    4 mM Mg-ATP leaves ~0.5-0.7 mM free Mg2+; counting MgATP2- instead of Mg2+ + ATP4-
    moves the LJP of a standard internal by a few tenths of a mV)."""
    from ephys_correct.report.reversal_table import reversal_potentials

    pip, bath = "internal_k_gluconate", "acsf_carbogen_standard"
    total = reversal_potentials(pip, bath, temperature_c=22, free_ions=False)
    free = reversal_potentials(pip, bath, temperature_c=22, free_ions=True)
    mg_total = total.set_index("ion").loc["Mg2+"]
    mg_free = free.set_index("ion").loc["Mg2+"]
    assert mg_total["c_in_mM"] == pytest.approx(4.0)
    assert 0.3 < mg_free["c_in_mM"] < 1.0
    assert mg_free["E_rev_mV"] > mg_total["E_rev_mV"] + 5  # less free Mg inside -> E_Mg up
    assert mg_total["bound_total_warning"] and not mg_free["bound_total_warning"]
    assert free.attrs["free_ions"] is True and total.attrs["free_ions"] is False
    l_total = liquid_junction_potential(pip, bath, temperature_c=22, free_ions=False)
    l_free = liquid_junction_potential(pip, bath, temperature_c=22, free_ions=True)
    assert l_free.free_ions and not l_total.free_ions
    assert 0.05 < abs(float(l_free) - float(l_total)) < 1.0
    # idempotent: an already speciated solution is not speciated again
    from ephys_correct.chemistry.speciation import free_ion_solution

    sp = free_ion_solution(load_solution(pip), temperature_c=22)
    assert free_ion_solution(sp, temperature_c=22) is sp


def test_free_ions_needs_ph_for_buffered_inline_solution():
    from ephys_correct.errors import ParameterError

    inline = Solution.from_ions({"K+": 140, "Mg2+": 4, "ATP4-": 4, "Cl-": 132}, name="no pH")
    with pytest.raises(ParameterError, match="need the pH"):
        liquid_junction_potential(inline, BATH, temperature_c=22, free_ions=True)
    # nothing to speciate -> no pH needed
    kcl, nacl = {"K+": 140, "Cl-": 140}, {"Na+": 150, "Cl-": 150}
    assert liquid_junction_potential(kcl, nacl, temperature_c=20, free_ions=True).ljp_mv == \
        float(liquid_junction_potential(kcl, nacl, temperature_c=20))


def test_free_ions_retitrates_protons_released_by_binding(tmp_path):
    # 10 mM EGTA + 5 mM CaCl2 titrated to pH 7.2 with KOH: Ca2+ + H2EGTA2- -> CaEGTA2- + 2 H+,
    # so ~2 x 5 mM protons are released. The pH was set after everything was dissolved, so
    # the real solution holds that much more KOH; free_ion_solution restores electroneutrality.
    from ephys_correct.chemistry.speciation import free_ion_solution

    p = tmp_path / "egta_ca.toml"
    p.write_text('schema_version = 1\nname = "EGTA/Ca"\n[components_mm]\nKCl = 120\nEGTA = 10\n'
                 'CaCl2 = 5\nHEPES = 10\n[ph]\nvalue = 7.2\ntitrant = "KOH"\ntemperature_c = 22\n',
                 encoding="utf-8")
    sol = load_solution(p)
    free = free_ion_solution(sol, temperature_c=22)
    adj = free.speciation["titrant_adjustment_mm"]
    assert adj["titrant"] == "KOH"
    assert 8.0 < adj["delta_mm"] < 10.5
    assert abs(free.charge_balance_meq()) < 1e-6
    assert free.ions_mm["Ca2+"] < 1e-3  # free Ca in the 100 nM range (in mM)


def test_ljp_cache_returns_same_result_and_rewarns():
    from ephys_correct.errors import ModelValidityWarning

    a = liquid_junction_potential(PIP, BATH, temperature_c=20)
    assert liquid_junction_potential(PIP, BATH, temperature_c=20) is a  # computed once
    assert float(liquid_junction_potential(PIP, BATH, temperature_c=21)) != float(a)
    bridge = {"K+": 3000, "Cl-": 3000}  # 3 M KCl is far beyond the activity models' range
    for _ in range(2):  # the cached result warns again
        with pytest.warns(ModelValidityWarning):
            liquid_junction_potential(bridge, BATH, temperature_c=20, activity_model="truesdell-jones")
