"""V_m where the cell is at rest (correction/membrane.py): the window rule, the signal rule,
plausibility limits and the warnings every output carries (issue 14 items 2-4, issue 12 item 4)."""

from __future__ import annotations

import math

import numpy as np
import pyabf
import pytest

from ephys_correct import correct_recording, driving_force_table, read_recording
from ephys_correct.correction import membrane
from ephys_correct.correction.corrected import CorrectedRecording
from ephys_correct.errors import ParameterError

from conftest import ROOT, TEST_DATA  # noqa: E402

DEMO = ROOT / "ephys_correct" / "data" / "examples" / "17o05028_ic_steps.abf"
VC = TEST_DATA / "171116sh_0013.abf"
PIP, BATH = "internal_k_gluconate", "acsf_carbogen_standard"


@pytest.fixture(scope="module")
def demo():
    return correct_recording(DEMO, pipette=PIP, bath=BATH, temperature_c=32)


@pytest.fixture(scope="module")
def vc():
    return correct_recording(VC, pipette=PIP, bath=BATH, temperature_c=32)


def _first_step(path, sweep: int) -> int:
    """Index of the first change of pyabf's command waveform (an independent reading of the epoch table)."""
    abf = pyabf.ABF(str(path))
    abf.setSweep(sweep)
    c = abf.sweepC
    return int(np.flatnonzero(c != c[0])[0])


def test_demo_baseline_ends_at_the_first_current_step(demo):
    h = demo.recording.headstages[0]
    for sweep in (0, 3, 15):
        (w,) = membrane.windows_for(demo, h, sweep, "baseline")
        assert (w.i0, w.i1) == (0, _first_step(DEMO, sweep))
        assert w.name == "baseline" and "before the first command step" in w.description


def test_demo_default_vm_is_the_baseline_not_the_sweep_mean(demo):
    ch = [c.index for c in demo.channels if c.kind == "membrane_potential"][0]
    k = _first_step(DEMO, 0)
    expect = float(np.mean(demo.sweep_data(0, ch)[:k]))
    vm, src = demo.membrane_potential(0, demo.recording.headstages[0].index)
    assert vm == pytest.approx(expect, abs=1e-9)
    # the sweep mean includes the -50 pA step: ~30 mV more negative (issue 14: -92 vs -62 mV)
    whole, wsrc = demo.membrane_potential(0, demo.recording.headstages[0].index, window="sweep")
    assert whole == pytest.approx(float(np.mean(demo.sweep_data(0, ch))), abs=1e-9)
    assert whole < vm - 20 and "baseline" in src and "whole sweep" in wsrc
    df = driving_force_table(demo)
    row = df[(df.sweep == 0) & (df.ion == "K+")].iloc[0]
    assert row.epoch == "baseline" and row.V_m_mV == pytest.approx(vm, abs=1e-9)
    assert row.t_end_s == pytest.approx(k / demo.sample_rate_hz)
    assert "baseline" in row.V_m_source and df.attrs["window"] == "baseline"
    with pytest.raises(ParameterError, match=r"^driving_force_table: window = 'rest' is not one of None"):
        driving_force_table(demo, window="rest")
    with pytest.raises(ParameterError, match="not both"):
        driving_force_table(demo, window="sweep", epochs=[("a", 0, 1)])


def test_vc_epochs_are_the_holding_and_each_step_corrected(vc):
    df = driving_force_table(vc, window="epochs", ions=["K+"])
    abf = pyabf.ABF(str(VC))
    v_l = vc.ljp_mv
    for sweep in (0, 5):
        abf.setSweep(sweep)
        rows = df[df.sweep == sweep]
        assert rows.epoch.iloc[0] == "epoch:holding"
        assert list(rows.epoch) == ["epoch:holding", *(f"epoch:{k}" for k in range(1, len(rows)))]
        fs = vc.sample_rate_hz
        for r in rows.itertuples():
            i0, i1 = round(r.t_start_s * fs), round(r.t_end_s * fs)
            level = abf.sweepC[i0:i1]
            d = np.diff(level)
            assert (d == 0).all() or (d < 0).all() or (d > 0).all()  # one level, or one ramp
            assert r.V_m_mV == pytest.approx(float(np.mean(level)) - v_l, abs=1e-9)  # whole-cell: V_p - V_L
        if sweep == 0:  # later sweeps start at the previous sweep's last level (ABF inter-episode level)
            assert rows.V_m_mV.iloc[0] == pytest.approx(vc.holding_at(0)[0].value, abs=1e-9)


def test_file_without_command_uses_the_documented_fallback():
    rec = read_recording(TEST_DATA / "myokit_wcp-file.wcp", clamp_mode="current_clamp")
    c = correct_recording(rec, pipette=PIP, bath=BATH, temperature_c=22)
    h = [h for h in rec.headstages if h.channels][0]
    (w,) = membrane.windows_for(c, h, 0, "baseline")
    n = rec.sweep_lengths[0]
    assert (w.i0, w.i1) == (0, int(n * membrane.BASELINE_FALLBACK_FRACTION))
    assert "first 10% of the sweep" in w.description
    with pytest.raises(ParameterError, match="epochs="):
        membrane.windows_for(c, h, 0, "epochs")


def test_fast_path_runs_and_agrees_with_the_exact_rule(demo, monkeypatch):
    exact = [demo.membrane_potential(s, 0)[0] for s in range(demo.n_sweeps)]

    def boom(*a, **k):
        raise AssertionError("the exact path ran")

    monkeypatch.setattr(CorrectedRecording, "membrane_potential", boom)
    df = driving_force_table(demo, ions=["K+"])
    np.testing.assert_allclose(df.V_m_mV.to_numpy(), exact, atol=1e-9)


def test_one_rule_picks_the_signal(demo, vc):
    assert membrane.vm_signal(demo, demo.recording.headstages[0])[0] == "trace"
    assert membrane.vm_signal(vc, vc.recording.headstages[0]) == ("command", vc.recording.headstages[0].dac)


@pytest.mark.parametrize("kw, word", [({"vm_mv": -251.0}, "V_m"), ({"vm_mv": 300.0}, "V_m"),
                                      ({"holding_mv": -1500.0}, "command"),
                                      ({"driving_force_mv": 600.0}, "driving force")])
def test_implausible_values_are_named(kw, word):
    assert word in membrane.implausible(**kw)


@pytest.mark.parametrize("kw", [{"vm_mv": -249.0}, {"holding_mv": 999.0}, {"driving_force_mv": -499.0},
                                {"vm_mv": math.nan}, {}])
def test_plausible_values_pass(kw):
    assert membrane.implausible(**kw) == ""


def test_implausible_rows_are_flagged_with_the_reason():
    # the demo channel read as if stored x 20 (a wrong unit fix): V_m ~ -900 mV
    rec = read_recording(DEMO, unit_fix={0: ("mV", 20.0)})
    c = correct_recording(rec, pipette=PIP, bath=BATH, temperature_c=32)
    df = driving_force_table(c, ions=["K+"])
    assert (df.flag == "implausible").all()
    assert df.note.str.contains("implausible V_m").all()
    assert any("implausible V_m" in w for w in df.attrs["warnings"])
    ok = driving_force_table(correct_recording(DEMO, pipette=PIP, bath=BATH, temperature_c=32), ions=["K+"])
    assert (ok.flag == "").all()


def test_weak_evidence_reaches_the_table_attrs():
    rec = read_recording(TEST_DATA / "190619B_0003.abf")
    assert rec.interpretation_warnings
    c = correct_recording(rec, pipette=PIP, bath=BATH, temperature_c=32)
    df = driving_force_table(c, ions=["K+"])
    for w in rec.interpretation_warnings:
        assert w in df.attrs["warnings"]
    fixed = read_recording(TEST_DATA / "190619B_0003.abf", headstages={1: 0})
    assert membrane.recording_warnings(fixed) == []
    cf = correct_recording(fixed, pipette=PIP, bath=BATH, temperature_c=32)
    attrs = driving_force_table(cf, ions=["K+"]).attrs
    assert attrs["warnings"] == [] and attrs["headstages"][0]["confidence"] == "user"


@pytest.mark.parametrize("epochs, pattern", [
    ("baseline", r"epochs = 'baseline' is not a list of \(name, t_start_s, t_end_s\)"),
    ([], r"epochs = \[\] is empty; give None for the named window"),
    ([("a", 0.0)], r"epochs\[0\] = \('a', 0\.0\) is not \(name, t_start_s, t_end_s\)"),
    ([("", 0.0, 1.0)], r"epochs\[0\] name = '' is not a non-empty string"),
    ([("a", "0", 1.0)], r"epochs\[0\] t_start_s = '0' is not a number; give a number of s"),
    ([("a", 0.0, True)], r"epochs\[0\] t_end_s = True is not a number"),
    ([("a", 0.0, 1.0), ("b", 0.0, float("inf"))], r"epochs\[1\] t_end_s = inf is not a finite number"),
    ([("a", 1.0, 1.0)], r"epochs\[0\] = \('a', 1\.0, 1\.0\) is not a window with t_start_s < t_end_s; give t_start_s < t_end_s"),
])
def test_check_epochs_names_the_function_the_epoch_and_the_value(epochs, pattern):
    with pytest.raises(ParameterError, match="^driving_force_table: " + pattern):
        membrane.check_epochs(epochs)
    assert membrane.check_epochs([("a", 0, 1)]) == [("a", 0.0, 1.0)]
