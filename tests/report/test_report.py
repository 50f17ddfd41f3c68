"""driving_force_table on real recordings with shipped recipes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA, shared_path

from ephys_correct.correction.correct import correct_recording
from ephys_correct.errors import ParameterError, UnknownIonError
from ephys_correct.io import read_recording
from ephys_correct.potentials.bath import BathSchedule
from ephys_correct.report.driving_force import COLUMN_UNITS, TABLE_COLUMNS, driving_force_table
from ephys_correct.report.reversal_table import reversal_potentials
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.chemistry.solutions_db import load_solution

PIPETTE = "axobits39_kgluconate_pipette"   # solutions_db recipe (AxoBits 39)
BATH = "axobits39_saline_bath"
VC_STEPS = TEST_DATA / "171116sh_0013.abf"
FOUR_CH = TEST_DATA / "pclamp11_4ch.abf"
WCP = TEST_DATA / "myokit_wcp-file.wcp"
CSF_PIPETTE = {"Cs+": 135, "F-": 135, "Na+": 10, "Cl-": 10}  # JPCalcWin manual p.7


@pytest.fixture(scope="module")
def pip():
    return load_solution(PIPETTE)


@pytest.fixture(scope="module")
def bath():
    return load_solution(BATH)


@pytest.fixture(scope="module")
def erev_wc(pip, bath):
    df = reversal_potentials(pip, bath, temperature_c=22, activity_model="truesdell-jones")
    return df.set_index("ion")


def test_current_clamp_table(pip, bath, erev_wc):
    path = shared_path("data", "abf", "17o05028_ic_steps.abf")
    cr = correct_recording(path, pipette=PIPETTE, bath=BATH, temperature_c=22, zeroing_temperature_c=20)
    df = driving_force_table(cr, window="sweep")
    assert tuple(df.columns) == TABLE_COLUMNS
    # one row per sweep x headstage x ion present on both sides (Na+, K+, Cl-, Mg2+)
    assert len(df) == 16 * 4
    assert list(df["ion"][:4]) == ["Na+", "K+", "Cl-", "Mg2+"]
    row = df[(df.sweep == 5) & (df.ion == "K+")].iloc[0]
    vm = cr.raw_sweep_data(5, 0).mean() - cr.ljp_mv
    assert row.V_m_mV == pytest.approx(vm, abs=1e-9)
    assert row.E_rev_mV == pytest.approx(erev_wc.loc["K+", "E_rev_mV"], abs=1e-12)
    assert row.E_rev_ideal_mV == pytest.approx(erev_wc.loc["K+", "E_rev_ideal_mV"], abs=1e-12)
    assert row.driving_force_mV == pytest.approx(vm - row.E_rev_mV, abs=1e-12)
    assert (row.file, row.channel, row.headstage, row.clamp_mode) == (
        "17o05028_ic_steps.abf", "IN 0", 0, "current_clamp")
    assert row.E_rev_basis == "free"  # the default since issue 13 (free ions, pH at 22 degC)


def test_direction_and_flux_for_cations_and_anions(pip, bath):
    cr = correct_recording(VC_STEPS, pipette=pip, bath=bath, temperature_c=22)
    df = driving_force_table(cr, epochs=[("hold", 0.0, 0.01)])
    for r in df.itertuples():
        if r.driving_force_mV > 0:
            assert r.current_direction == "outward"
            assert r.ion_flux == ("efflux" if r.charge > 0 else "influx")
        else:
            assert r.current_direction == "inward"
            assert r.ion_flux == ("influx" if r.charge > 0 else "efflux")
    # sweep 0 holds at -70 - V_L = -85.7 mV: above E_K (-100 mV) -> K+ outward, K+ efflux;
    # below E_Cl (-68.7 mV) -> Cl- current inward = Cl- efflux
    k = df[(df.sweep == 0) & (df.ion == "K+")].iloc[0]
    cl = df[(df.sweep == 0) & (df.ion == "Cl-")].iloc[0]
    assert (k.current_direction, k.ion_flux) == ("outward", "efflux")
    assert (cl.current_direction, cl.ion_flux) == ("inward", "efflux")


def test_voltage_clamp_epochs_from_command(pip, bath):
    cr = correct_recording(VC_STEPS, pipette=pip, bath=bath, temperature_c=22)
    df = driving_force_table(cr, ions=["K+"], epochs=[("hold", 0.0, 0.01), ("step", 0.5, 0.9)],
                             statistic="median")
    assert len(df) == 13 * 2
    row = df[(df.sweep == 7) & (df.epoch == "step")].iloc[0]
    cmd = cr.recording.command(7, 0)[10000:18000]
    assert row.V_m_mV == pytest.approx(np.median(cmd) - cr.ljp_mv, abs=1e-9)
    assert "median of corrected command DAC 0" in row.V_m_source
    assert (row.t_start_s, row.t_end_s) == (0.5, 0.9)


def test_multichannel_holding_rows(pip, bath):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20)
    df = driving_force_table(cr, ions=["K+", "Cl-"], epochs=[("baseline", 0.0, 0.002)])
    assert sorted(df.headstage.unique()) == [0, 1, 2, 3]
    for hs, hold in enumerate((-10.0, -20.0, 0.0, -40.0)):
        v = df[(df.sweep == 0) & (df.headstage == hs)].V_m_mV
        np.testing.assert_allclose(v, hold - cr.ljp_mv, rtol=0, atol=1e-12)


def test_paired_pipettes_give_per_headstage_erev(bath):
    axo = load_solution(PIPETTE)
    csf = Solution.from_ions(CSF_PIPETTE, name="CsF")
    cr = correct_recording(FOUR_CH, pipette={0: axo, 1: csf, 2: axo, 3: csf}, bath=bath, temperature_c=20)
    df = driving_force_table(cr, ions=["Cl-", "Na+"], epochs=[("baseline", 0.0, 0.002)])
    cl0 = df[(df.headstage == 0) & (df.ion == "Cl-")].E_rev_mV.iloc[0]
    cl1 = df[(df.headstage == 1) & (df.ion == "Cl-")].E_rev_mV.iloc[0]
    # both pipettes hold 10 mM Cl-: E_Cl differs only through gamma_in (ionic strength 160 vs 145 mM)
    assert cl0 != cl1 and abs(cl0 - cl1) < 0.5
    na0 = df[(df.headstage == 0) & (df.ion == "Na+")].E_rev_mV.iloc[0]
    na1 = df[(df.headstage == 1) & (df.ion == "Na+")].E_rev_mV.iloc[0]
    assert na0 != na1  # 13 vs 10 mM Na+ inside
    v0 = df[(df.headstage == 0) & (df.sweep == 0)].V_m_mV.iloc[0]
    v1 = df[(df.headstage == 1) & (df.sweep == 0)].V_m_mV.iloc[0]
    assert v0 == pytest.approx(-10.0 - cr.ljp_mv_by_headstage[0], abs=1e-12)
    assert v1 == pytest.approx(-20.0 - cr.ljp_mv_by_headstage[1], abs=1e-12)
    # default ions: Cs+ and F- are only in the CsF pipette -> not reported
    assert not set(driving_force_table(cr).ion) & {"Cs+", "F-"}


def test_non_abf_file(pip, bath):
    cr = correct_recording(WCP, pipette=pip, bath=bath, temperature_c=20, clamp_mode="voltage_clamp")
    df = driving_force_table(cr, ions=["K+"])
    assert len(df) == 11
    assert df.channel.iloc[0] == "Im"
    assert "voltage monitor 'Vm'" in df.V_m_source.iloc[0]
    vm3 = cr.sweep_data(3, "Vm")  # no command in a WCP file: the baseline is the first 10 % of the sweep
    np.testing.assert_allclose(df.V_m_mV.iloc[3], vm3[: int(len(vm3) * 0.1)].mean(), atol=1e-9)
    assert "first 10% of the sweep" in df.V_m_source.iloc[3]


def test_inside_out_swaps_sides(pip, bath):
    wc = driving_force_table(correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20),
                             ions=["K+"], epochs=[("b", 0.0, 0.002)])
    io = driving_force_table(correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20,
                                               configuration="inside-out"),
                             ions=["K+"], epochs=[("b", 0.0, 0.002)])
    # inside-out: cytoplasmic face = bath (2.8 mM K+), outside = pipette (145 mM): E_K flips sign
    np.testing.assert_allclose(io.E_rev_mV, -wc.E_rev_mV, atol=1e-12)
    assert (io.c_in_mM == 2.8).all() and (io.c_out_mM == 145.0).all()


def test_perforated_gramicidin_chloride_unknown_then_given(pip, bath):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="perforated",
                           perforating_agent="gramicidin")
    df = driving_force_table(cr, epochs=[("b", 0.0, 0.002)])
    cl = df[df.ion == "Cl-"].iloc[0]
    assert np.isnan(cl.E_rev_mV) and np.isnan(cl.driving_force_mV)
    assert "does not equilibrate through gramicidin" in cl.note and "inside_override_mm" in cl.note
    assert cl.current_direction == "" and cl.ion_flux == ""
    k = df[df.ion == "K+"].iloc[0]
    assert np.isfinite(k.E_rev_mV) and "Donnan" in k.note
    cr2 = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="perforated",
                            perforating_agent="gramicidin")
    df2 = driving_force_table(cr2, ions=["Cl-"], epochs=[("b", 0.0, 0.002)], inside_override_mm={"Cl-": 12})
    ref = reversal_potentials(pip, bath, temperature_c=20, inside_override_mm={"Cl-": 12}, ions=["Cl-"])
    assert df2.E_rev_mV.iloc[0] == pytest.approx(ref.E_rev_mV.iloc[0], abs=1e-12)
    assert df2.c_in_mM.iloc[0] == 12.0
    # amphotericin passes Cl-: taken from the pipette (10 mM)
    cr3 = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="perforated",
                            perforating_agent="amphotericin")
    df3 = driving_force_table(cr3, ions=["Cl-", "Mg2+"], epochs=[("b", 0.0, 0.002)])
    assert df3[df3.ion == "Cl-"].c_in_mM.iloc[0] == 10.0
    assert np.isnan(df3[df3.ion == "Mg2+"].E_rev_mV.iloc[0])


def test_cell_attached(pip, bath):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="cell-attached")
    df = driving_force_table(cr, epochs=[("b", 0.0, 0.002)])
    assert df.driving_force_mV.isna().all()
    assert df.note.str.contains("relative to rest").all()
    assert df.note.str.contains("cytoplasmic").all()
    cr2 = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="cell-attached",
                            resting_potential_mv=-70.0)
    df2 = driving_force_table(cr2, ions=["K+"], epochs=[("b", 0.0, 0.002)], inside_override_mm={"K+": 140})
    r = df2[df2.headstage == 0].iloc[0]
    # V_m = V_rest - (Vp - V_L) = -70 - (-10 - V_L); outside = pipette (145 mM K+)
    assert r.V_m_mV == pytest.approx(-70.0 - (-10.0 - cr2.ljp_mv), abs=1e-12)
    assert r.c_in_mM == 140.0 and r.c_out_mM == 145.0
    assert r.driving_force_mV == pytest.approx(r.V_m_mV - r.E_rev_mV, abs=1e-12)


def test_free_ions_from_speciation():
    # charge forms consistent with pH 7.3 (EGTA mostly H2EGTA2-, HEPES ~40 % anion), so the
    # speciated solution stays electroneutral for the free-ion LJP as well
    pip = Solution.from_ions({"K+": 130, "Na+": 8, "Mg2+": 2, "Ca2+": 0.1, "Cl-": 10, "gluconate-": 128.2,
                              "H2EGTA2-": 1, "HEPES-": 2}, neutrals_mm={"HEPES": 3},
                             name="K-gluconate EGTA", ph=7.3, ph_temperature_c=22)
    bath = Solution.from_ions({"Na+": 145, "K+": 2.5, "Ca2+": 2, "Mg2+": 1, "Cl-": 153.5}, name="saline",
                              ph=7.4, ph_temperature_c=22)
    total = driving_force_table(correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=22,
                                                  free_ions=False),
                                ions=["Ca2+", "K+"], epochs=[("b", 0.0, 0.002)])
    free = driving_force_table(correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=22,
                                                 free_ions=True),
                               ions=["Ca2+", "K+"], epochs=[("b", 0.0, 0.002)])
    ca_t = total[total.ion == "Ca2+"].iloc[0]
    ca_f = free[free.ion == "Ca2+"].iloc[0]
    assert ca_t.E_rev_basis == "total" and ca_f.E_rev_basis == "free"
    assert "free" in ca_t.note  # the total in an EGTA solution is flagged
    assert ca_f.c_in_mM < 0.01 < ca_t.c_in_mM
    assert ca_f.E_rev_mV > ca_t.E_rev_mV + 50  # ~ +110 mV from free vs ~ +20 mV from total
    k_t, k_f = total[total.ion == "K+"].iloc[0], free[free.ion == "K+"].iloc[0]
    assert k_f.c_in_mM == k_t.c_in_mM == 130.0


def test_series_resistance_warning(pip, bath):
    rec = read_recording(VC_STEPS)
    rec = dataclasses.replace(rec, access_resistance_by_headstage={0: 20.0})
    cr = correct_recording(rec, pipette=pip, bath=bath, temperature_c=22)
    df = driving_force_table(cr, ions=["K+"], epochs=[("hold", 0.0, 0.01)])
    for r in df.itertuples():
        i_mean = cr.sweep_data(r.sweep, 0, start=0, stop=200).mean()  # first 10 ms at 20 kHz
        err = abs(i_mean) * 20.0 * 1e-3  # pA x MOhm = 1e-6 V -> mV
        if err > 1.0:  # sweep 0: 105 pA x 20 MOhm = 2.1 mV; sweep 1: 755 pA -> 15.1 mV
            assert f"about {err:.1f} mV error" in r.note and "I*R_s" in r.note
        else:  # sweep 11: 2.6 pA -> 0.05 mV, no warning
            assert r.note == ""
    assert df.note.str.contains("15.1 mV error").any() and (df.note == "").any()


def test_bath_schedule_changes_outside(pip, bath):
    low_cl = Solution.from_ions({"Na+": 145, "K+": 2.8, "Mg2+": 2, "Ca2+": 1, "Cl-": 75, "gluconate-": 73.8,
                                 "HEPES-": 5}, name="low Cl")
    sched = BathSchedule([(0, bath), (5, low_cl)], temperature_c=20, reference="ag_agcl", activity_model=None)
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, bath_change=sched)
    df = driving_force_table(cr, ions=["Cl-"], epochs=[("b", 0.0, 0.002)])
    before = df[(df.sweep == 4) & (df.headstage == 0)].iloc[0]
    after = df[(df.sweep == 5) & (df.headstage == 0)].iloc[0]
    assert (before.c_out_mM, after.c_out_mM) == (148.8, 75.0)
    assert after.V_m_mV == pytest.approx(before.V_m_mV - sched.offset_mv(sweep=5), abs=1e-12)


def test_window_spanning_time_based_bath_change(pip, bath):
    rec = read_recording(FOUR_CH)
    low_cl = {"Na+": 145, "Cl-": 75, "gluconate-": 70}
    sched = BathSchedule([(0.0, bath), (rec.sweep_start_s[1] + 0.1, low_cl)], temperature_c=20,
                         reference="ag_agcl", activity_model=None, axis="time_s")
    cr = correct_recording(rec, pipette=pip, bath=bath, temperature_c=20, bath_change=sched)
    df = driving_force_table(cr, ions=["Cl-"], window="sweep")
    s1 = df[df.sweep == 1]
    assert s1.E_rev_mV.isna().all() and s1.note.str.contains("bath changes within").all()
    assert np.isfinite(df[df.sweep == 0].E_rev_mV).all() and np.isfinite(df[df.sweep == 2].E_rev_mV).all()


def test_requested_ion_absent_and_unknown(pip, bath):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20)
    df = driving_force_table(cr, ions=["Ca2+", "K"], epochs=[("b", 0.0, 0.002)])
    ca = df[df.ion == "Ca2+"].iloc[0]
    assert np.isnan(ca.E_rev_mV) and "absent (0 mM) on the inside" in ca.note
    assert set(df.ion) == {"Ca2+", "K+"}
    with pytest.raises(UnknownIonError):
        driving_force_table(cr, ions=["Kalium+"])
    with pytest.raises(ParameterError, match=r"^driving_force_table: epochs\[0\] = \('x', 0\.5, 0\.1\) is not a window with"):
        driving_force_table(cr, epochs=[("x", 0.5, 0.1)])
    with pytest.raises(ParameterError, match=r"^driving_force_table: statistic = 'max' is not one of 'mean'"):
        driving_force_table(cr, statistic="max")
    with pytest.raises(ParameterError, match=r"^driving_force_table: activity_model = 'davis' .*did you mean 'davies'"):
        driving_force_table(cr, activity_model="davis")
    with pytest.raises(ParameterError, match="CorrectedRecording"):
        driving_force_table(cr.recording)


def test_attrs_travel_with_the_table(pip, bath):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=22, zeroing_temperature_c=20)
    df = driving_force_table(cr, ions=["K+"], epochs=[("b", 0.0, 0.002)])
    a = df.attrs
    assert a["units"] == COLUMN_UNITS and a["units"]["driving_force_mV"] == "mV"
    assert a["solutions"]["bath"]["source_sha256"] == bath.source_sha256
    assert a["solutions"]["pipette"]["0"]["source_sha256"] == pip.source_sha256
    assert a["solutions"]["pipette"]["0"]["ions_mM"]["K+"] == 145.0
    assert (a["temperature_c"], a["zeroing_temperature_c"]) == (22.0, 20.0)
    assert a["ljp"]["method"] == "henderson" and a["ljp"]["ljp_mv"] == cr.ljp_mv
    assert a["activity_model"] == "truesdell-jones" and a["configuration"] == "whole-cell"
    assert a["software_version"] and a["input_sha256"] == cr.provenance["input_sha256"]
    assert a["input_file"].endswith("pclamp11_4ch.abf")
    assert isinstance(df, pd.DataFrame)


def test_no_vm_source_gives_nan_with_reason():
    # f1_saved.abf: pyabf-written ABF1 with a blank header: no command, no holding, no Vm channel
    path = shared_path("data", "abf", "f1_saved.abf")
    cr = correct_recording(path, pipette=PIPETTE, bath=BATH, temperature_c=22)
    df = driving_force_table(cr, ions=["K+"])
    assert len(df) == cr.n_sweeps
    assert df.V_m_mV.isna().all() and df.driving_force_mV.isna().all()
    assert df.note.str.startswith("no V_m: ").all() and df.note.str.contains("f1_saved.abf").all()
    assert np.isfinite(df.E_rev_mV).all()
