"""correct_recording on real files: every potential corrected, currents signed, nothing modified."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil

import numpy as np
import pytest
from conftest import TEST_DATA, shared_path

from ephys_correct.correction.corrected import CorrectedRecording
from ephys_correct.correction.correct import correct_recording
from ephys_correct.report.driving_force import driving_force_table
from ephys_correct.errors import ClampModeError, ParameterError
from ephys_correct.io import read_recording
from ephys_correct.potentials.bath import BathSchedule, bath_change_offset
from ephys_correct.potentials.ljp import liquid_junction_potential
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.chemistry.solutions_db import load_solution

# AxoBits 39 pair (shared/reference/ljp_cases.json, axobits39_kgluconate_vs_saline_jpcalc):
# JPCalc V_L = +15.6 mV at 20 degC; our Henderson gives 15.607 mV.
AXO_PIPETTE = {"K+": 145, "Na+": 13, "Cl-": 10, "gluconate-": 145, "Mg2+": 1, "HEPES-": 5}
AXO_BATH = {"K+": 2.8, "Na+": 145, "Cl-": 148.8, "Mg2+": 2, "Ca2+": 1, "HEPES-": 5}
# JPCalcWin manual p.7: CsF internal vs NaCl bath, V_L = +8.74 mV at 20 degC
CSF_PIPETTE = {"Cs+": 135, "F-": 135, "Na+": 10, "Cl-": 10}

VC_STEPS = TEST_DATA / "171116sh_0013.abf"
FOUR_CH = TEST_DATA / "pclamp11_4ch.abf"
WCP = TEST_DATA / "myokit_wcp-file.wcp"


@pytest.fixture(scope="module")
def pip():
    return Solution.from_ions(AXO_PIPETTE, name="AxoBits 39 pipette")


@pytest.fixture(scope="module")
def bath():
    return Solution.from_ions(AXO_BATH, name="AxoBits 39 bath")


@pytest.fixture(scope="module")
def v_l(pip, bath):
    return float(liquid_junction_potential(pip, bath, temperature_c=20))


def sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ----------------------------------------------------------------------------- current clamp
def test_current_clamp_trace_shifted_by_minus_vl(pip, bath, v_l):
    path = shared_path("data", "abf", "17o05028_ic_steps.abf")
    cr = correct_recording(path, pipette=pip, bath=bath, temperature_c=20)
    assert isinstance(cr, CorrectedRecording)
    assert cr.ljp_mv == pytest.approx(15.6, abs=0.05)  # JPCalc, AxoBits 39
    raw = cr.raw_sweep_data(3, 0)
    np.testing.assert_array_equal(cr.sweep_data(3, 0), raw - v_l)
    (cc,) = cr.channel_corrections
    assert (cc.quantity, cc.voltage_sign, cc.offset_mv) == ("potential", 1, v_l)
    vm, desc = cr.membrane_potential(3, 0, window_s=(0.0, 0.1))
    assert vm == pytest.approx(raw[:2000].mean() - v_l, abs=1e-9)
    assert "trace 'IN 0'" in desc and "current_clamp" in desc
    vmed, desc = cr.membrane_potential(3, 0, statistic="median", window="sweep")
    assert vmed == pytest.approx(np.median(raw) - v_l, abs=1e-9) and "median" in desc
    # the current command (pA DAC) keeps its values in whole-cell
    np.testing.assert_array_equal(cr.command(3, 0), cr.recording.command(3, 0))


def test_ljp_uses_zeroing_temperature(pip, bath):
    rec = read_recording(VC_STEPS)
    cr = correct_recording(rec, pipette=pip, bath=bath, temperature_c=34, zeroing_temperature_c=20)
    assert cr.ljp_mv == pytest.approx(float(liquid_junction_potential(pip, bath, temperature_c=20)), abs=1e-12)
    prov = cr.provenance
    assert prov["temperature_c"] == 34 and prov["zeroing_temperature_c"] == 20
    assert prov["ljp"]["by_headstage"]["0"]["ljp"]["temperature_c"] == 20


# ----------------------------------------------------------------------------- voltage clamp
def test_voltage_clamp_holding_and_command(pip, bath, v_l):
    cr = correct_recording(VC_STEPS, pipette=pip, bath=bath, temperature_c=20)
    assert cr.holding[0].value == -70.0 - v_l
    for s in (0, 7):
        np.testing.assert_array_equal(cr.command(s, 0), cr.recording.command(s, 0) - v_l)
    # the recorded current is unchanged in whole-cell
    np.testing.assert_array_equal(cr.sweep_data(5, 0), cr.raw_sweep_data(5, 0))
    vm, desc = cr.membrane_potential(5, 0, window_s=(0.5, 0.9))
    assert vm == pytest.approx(cr.recording.command(5, 0)[10000:18000].mean() - v_l, abs=1e-9)
    assert "command DAC 0" in desc
    # unused DACs (no headstage) are left alone and say so
    assert cr.command_corrections[3].quantity == "none" and "no headstage" in cr.command_corrections[3].note


def test_four_headstages_corrected_holding_exact(pip, bath, v_l):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20)
    for dac, hold in enumerate((-10.0, -20.0, 0.0, -40.0)):
        assert cr.recording.holding[dac].value == hold
        assert cr.holding[dac].value == hold - v_l  # exactly
        assert cr.membrane_potential(0, dac, window_s=(0.0, 0.002))[0] == pytest.approx(hold - v_l, abs=1e-12)


def test_paired_pipettes_give_per_channel_ljps(bath):
    axo = Solution.from_ions(AXO_PIPETTE, name="K-gluconate")
    csf = Solution.from_ions(CSF_PIPETTE, name="CsF")
    v_axo = float(liquid_junction_potential(axo, bath, temperature_c=20))
    v_csf = float(liquid_junction_potential(csf, bath, temperature_c=20))
    assert abs(v_axo - v_csf) > 1.0
    cr = correct_recording(FOUR_CH, pipette={0: axo, 1: csf, 2: axo, 3: csf}, bath=bath, temperature_c=20)
    assert dict(cr.ljp_mv_by_headstage) == {0: v_axo, 1: v_csf, 2: v_axo, 3: v_csf}
    assert cr.holding[0].value == -10.0 - v_axo
    assert cr.holding[1].value == -20.0 - v_csf
    assert [c.ljp_mv for c in cr.command_corrections[:4]] == [v_axo, v_csf, v_axo, v_csf]
    with pytest.raises(ParameterError, match="ljp_mv_by_headstage"):
        cr.ljp_mv
    assert cr.provenance["solutions"]["pipette"]["1"]["name"] == "CsF"
    with pytest.raises(ParameterError, match=r"^correct_recording: pipette headstages = \[0, 1, 2\] is missing headstage\(s\) \[3\]; "):
        correct_recording(FOUR_CH, pipette={0: axo, 1: csf, 2: axo}, bath=bath, temperature_c=20)
    with pytest.raises(ParameterError, match=r"^correct_recording: pipette headstages = \[0, 1, 2, 3, 7\] is not within .*headstage\(s\) \[7\] do not exist"):
        correct_recording(FOUR_CH, pipette={0: axo, 1: csf, 2: axo, 3: csf, 7: axo}, bath=bath,
                          temperature_c=20)


def test_paired_current_clamp_file(bath):
    path = shared_path("data", "abf", "190619B_0003.abf")
    axo = Solution.from_ions(AXO_PIPETTE, name="K-gluconate")
    csf = Solution.from_ions(CSF_PIPETTE, name="CsF")
    cr = correct_recording(path, pipette={0: axo, 1: csf}, bath=bath, temperature_c=20)
    v0, v1 = cr.ljp_mv_by_headstage[0], cr.ljp_mv_by_headstage[1]
    np.testing.assert_array_equal(cr.sweep_data(2, 0), cr.raw_sweep_data(2, 0) - v0)
    np.testing.assert_array_equal(cr.sweep_data(2, 1), cr.raw_sweep_data(2, 1) - v1)
    # DAC 1 is in mV but its headstage is in current clamp: not a potential command
    assert cr.command_corrections[1].quantity == "none" and "current_clamp" in cr.command_corrections[1].note


def test_non_abf_file_needs_and_accepts_clamp_mode(pip, bath, v_l):
    with pytest.raises(ClampModeError, match="clamp_mode"):
        correct_recording(WCP, pipette=pip, bath=bath, temperature_c=20).membrane_potential(0, 0)
    cr = correct_recording(WCP, pipette=pip, bath=bath, temperature_c=20, clamp_mode="voltage_clamp")
    assert [c.quantity for c in cr.channel_corrections] == ["current", "potential"]
    np.testing.assert_array_equal(cr.sweep_data(4, "Vm"), cr.raw_sweep_data(4, "Vm") - v_l)
    vm, desc = cr.membrane_potential(4, 0)  # no command in a WCP file: the first 10 % of the sweep
    raw = cr.raw_sweep_data(4, "Vm")
    assert vm == pytest.approx(raw[: int(len(raw) * 0.1)].mean() - v_l, abs=1e-9)
    assert "voltage monitor 'Vm'" in desc
    assert cr.provenance["input_format"].startswith("WinWCP")


# ----------------------------------------------------------------------------- configurations on data
def test_inside_out_inverts_potentials_and_currents(pip, bath, v_l):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="inside-out")
    # Vm = -(Vp - V_L): holding -40 -> -(-40 - V_L) = 40 + V_L
    assert cr.holding[3].value == -(-40.0 - v_l)
    np.testing.assert_array_equal(cr.sweep_data(1, 2), -cr.raw_sweep_data(1, 2))
    # polarity inverted at acquisition (HEKA): the file holds -Vp and -Ip; undone, not applied twice
    inv = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="inside-out",
                            polarity_inverted_at_acquisition=True)
    # file holding -40 means Vp = +40 -> Vm = -(40 - V_L)
    assert inv.holding[3].value == -(40.0 - v_l)
    np.testing.assert_array_equal(inv.sweep_data(1, 2), inv.raw_sweep_data(1, 2))
    assert inv.provenance["polarity_inverted_at_acquisition"] is True


def test_cell_attached_relative_unless_resting_potential(pip, bath, v_l):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="cell-attached")
    # Vm - V_rest = -(Vp - V_L): holding -10 -> 10 + V_L
    assert cr.holding[0].value == pytest.approx(10.0 + v_l, abs=1e-12)
    assert "relative to the resting potential" in cr.command_corrections[0].formula
    assert any("relative to rest" in c for c in cr.provenance["caveats"])
    assert "relative to the resting potential" in cr.membrane_potential(0, 0)[1]
    abs_ = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="cell-attached",
                             resting_potential_mv=-70.0)
    # Vm = V_rest - (Vp - V_L) = -70 - (-10 - V_L) = -60 + V_L
    assert abs_.holding[0].value == pytest.approx(-60.0 + v_l, abs=1e-12)
    with pytest.raises(ParameterError, match="resting_potential_mv"):
        correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, resting_potential_mv=-70.0)


def test_perforated_rules(pip, bath):
    with pytest.raises(ParameterError, match=r"^perforating_agent = 'gramicidin' is given with configuration='whole-cell'"):
        correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, perforating_agent="gramicidin")
    with pytest.raises(ParameterError, match=r"^perforating_agent = 'gramicidine' is not one of None, .*did you mean 'gramicidin'\?"):
        correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="perforated",
                          perforating_agent="gramicidine")
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, configuration="perforated",
                           perforating_agent="gramicidin")
    assert cr.perforating_agent.name == "gramicidin"
    assert any("Donnan" in c for c in cr.provenance["caveats"])
    # the cytoplasmic override is a reversal-potential option: it belongs to the table (issue 12 item 4)
    with pytest.raises(TypeError, match="inside_override_mm"):
        correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, inside_override_mm={"Cl-": 12})
    df = driving_force_table(cr, ions=["Cl-"], inside_override_mm={"Cl": 12}, epochs=[("b", 0.0, 0.002)])
    assert df.attrs["inside_override_mm"] == {"Cl-": 12.0}
    wc = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20)
    with pytest.raises(ParameterError, match="inside_override_mm.*whole-cell"):
        driving_force_table(wc, inside_override_mm={"Cl-": 12})


# ----------------------------------------------------------------------------- LJP sources
def test_user_ljp_and_online_part(pip, bath):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, ljp_mv=16.05,
                           ljp_applied_online_mv=10.0)
    assert cr.ljp_mv == 16.05 and cr.ljp is None
    # only 16.05 - 10 = 6.05 is subtracted here
    assert cr.holding[0].value == pytest.approx(-10.0 - 6.05, abs=1e-12)
    prov = cr.provenance
    assert prov["ljp"]["source"] == "user" and prov["ljp"]["ljp_applied_online_mv"] == 10.0
    assert cr.channel_corrections[0].quantity == "current"


def test_online_ljp_with_bath_change_is_refused(pip, bath):
    bc = bath_change_offset(bath, {"Na+": 145, "Cl-": 75, "gluconate-": 70}, temperature_c=20,
                            reference="ag_agcl", activity_model=None)
    with pytest.raises(ParameterError, match=r"ljp_applied_online_mv=5\.0 cannot be combined with a bath change"):
        correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, ljp_applied_online_mv=5.0,
                          bath_change=bc)


# ----------------------------------------------------------------------------- bath changes
def test_bath_schedule_per_sweep(pip, bath, v_l):
    low_cl = {"Na+": 145, "Cl-": 75, "gluconate-": 70}
    sched = BathSchedule([(0, bath), (4, low_cl)], temperature_c=20, reference="ag_agcl", activity_model=None)
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, bath_change=sched)
    d = sched.steps[1].change.delta_ref_mv  # (RT/F) ln(75/148.8) = -17.31 mV
    assert d == pytest.approx(-17.31, abs=0.01)
    np.testing.assert_array_equal(cr.command(2, 0), cr.recording.command(2, 0) - v_l)
    np.testing.assert_array_equal(cr.command(6, 0), cr.recording.command(6, 0) - v_l - d)
    assert cr.holding_at(6)[0].value == -10.0 - v_l - d
    assert cr.bath_at(6).name == "entries[1] bath"
    assert cr.bath_at(1) is cr.bath_at(0)
    assert cr.provenance["bath_change"]["kind"] == "BathSchedule"


def test_bath_schedule_piecewise_in_time(pip, bath, v_l):
    rec = read_recording(FOUR_CH)
    t_change = rec.sweep_start_s[2] + 0.05  # 50 ms into sweep 2
    low_cl = {"Na+": 145, "Cl-": 75, "gluconate-": 70}
    sched = BathSchedule([(0.0, bath), (t_change, low_cl)], temperature_c=20, reference="ag_agcl",
                         activity_model=None, axis="time_s")
    cr = correct_recording(rec, pipette=pip, bath=bath, temperature_c=20, bath_change=sched)
    d = sched.steps[1].change.delta_ref_mv
    t = rec.sweep_times(2, absolute=True)
    expected = rec.command(2, 0) - v_l - np.where(t >= t_change, d, 0.0)
    np.testing.assert_array_equal(cr.command(2, 0), expected)
    assert (t >= t_change).any() and (t < t_change).any()


def test_single_bath_change_whole_recording(pip, bath, v_l):
    bc = bath_change_offset(bath, {"Na+": 145, "Cl-": 75, "gluconate-": 70}, temperature_c=20,
                            reference="ag_agcl", activity_model=None)
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, bath_change=bc)
    # Vm = Vp - V_L - delta_ref = -10 - V_L + 17.31
    assert cr.holding[0].value == -10.0 - v_l - bc.delta_ref_mv
    other = Solution.from_ions({"Na+": 150, "Cl-": 150}, name="other")
    with pytest.raises(ParameterError, match=r"^correct_recording: bath_change zeroing \(old\) bath = 'AxoBits 39 bath' "
                                             r"is not the 'bath' argument 'other'"):
        correct_recording(FOUR_CH, pipette=pip, bath=other, temperature_c=20, bath_change=bc)


# ----------------------------------------------------------------------------- immutability
def test_original_recording_and_file_never_modified(tmp_path, pip, bath):
    path = tmp_path / "copy.abf"
    shutil.copyfile(FOUR_CH, path)
    before = sha256(path)
    rec = read_recording(path)
    raw = rec.sweep_data(0, 0)
    cr = correct_recording(rec, pipette=pip, bath=bath, temperature_c=20, configuration="inside-out")
    for s in range(cr.n_sweeps):
        for c in range(len(cr.channels)):
            cr.sweep_data(s, c)
        cr.command(s, 0)
    np.testing.assert_array_equal(rec.sweep_data(0, 0), raw)
    assert rec.holding[0].value == -10.0
    assert sha256(path) == before == cr.provenance["input_sha256"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cr.temperature_c = 30  # type: ignore[misc]
    p = cr.provenance
    p["configuration"] = "tampered"
    assert cr.provenance["configuration"]["name"] == "inside-out"


def test_solutions_db_recipes_and_provenance():
    pip = load_solution("axobits39_kgluconate_pipette")
    bath = load_solution("axobits39_saline_bath")
    cr = correct_recording(FOUR_CH, pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath",
                           temperature_c=22, zeroing_temperature_c=20)
    prov = cr.provenance
    assert cr.ljp_mv == pytest.approx(15.6, abs=0.05)  # JPCalc AxoBits 39
    assert prov["solutions"]["pipette"]["0"]["source_sha256"] == pip.source_sha256
    assert prov["solutions"]["bath"]["source_sha256"] == bath.source_sha256
    for key in ("package_version", "timestamp", "input_file", "input_sha256", "concentration_basis",
                "polarity_inverted_at_acquisition", "perforating_agent", "bath_change", "ljp_applied_online_mv"):
        assert key in prov
    assert prov["ljp"]["method"] == "henderson" and prov["ljp"]["source"] == "computed"


def test_parameter_errors(pip, bath):
    with pytest.raises(ParameterError, match=r"^correct_recording: ljp_method = 'goldman' is not one of 'henderson'"):
        correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20, ljp_method="goldman")
    with pytest.raises(ParameterError, match="temperature_c"):
        correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=float("nan"))
    with pytest.raises(TypeError):
        correct_recording(FOUR_CH, pipette=pip, bath=bath)  # no temperature default
    with pytest.raises(ParameterError, match=r"^correct_recording: recording = 42 is a int, not a Recording or a path"):
        correct_recording(42, pipette=pip, bath=bath, temperature_c=20)
    with pytest.raises(ParameterError, match=r"^CorrectedRecording.membrane_potential: statistic = 'mode' is not"):
        correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20).membrane_potential(
            0, 0, statistic="mode")
    with pytest.raises(ParameterError, match="window_s"):
        correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20).membrane_potential(
            0, 0, window_s=(5.0, 6.0))


def test_free_ions_needs_ph(pip, bath):
    # the AxoBits ion sets hold no metal-ligand binding pair: used as given, no pH needed (issue 13)
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20)
    assert cr.free_ions and cr.provenance["concentration_basis"].startswith("free ions")
    egta = {"K+": 140, "Ca2+": 1, "EGTA4-": 1, "Cl-": 138}
    with pytest.raises(ParameterError, match="need the pH.*--totals"):
        correct_recording(FOUR_CH, pipette=egta, bath=bath, temperature_c=20)


def test_to_neo_and_describe(pip, bath, v_l):
    cr = correct_recording(FOUR_CH, pipette=pip, bath=bath, temperature_c=20)
    block = cr.to_neo(sweeps=[1], channels=[2])
    sig = block.segments[0].analogsignals[0]
    np.testing.assert_array_equal(np.asarray(sig.magnitude)[:, 0], cr.sweep_data(1, 2))
    assert "ephys_correct" in block.annotations
    d = cr.describe()
    assert d["command_corrections"][0]["offset_mv"] == v_l
    assert d["channel_corrections"][0]["quantity"] == "current"
