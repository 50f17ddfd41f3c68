"""End-to-end checks across modules (solutions -> LJP / E_rev -> correction -> table)."""

from __future__ import annotations

import math

import pytest
from conftest import TEST_DATA

from ephys_correct.correction import correct_recording
from ephys_correct.ljp import bath_change_offset, liquid_junction_potential
from ephys_correct.report import driving_force_table
from ephys_correct.solutions import Solution, load_solution

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
    cr = correct_recording(FOUR_CH, pipette=PIP, bath=BATH, temperature_c=20, bath_change=bc,
                           activity_model="ideal")
    df = driving_force_table(cr, ions=["Cl-"])
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
