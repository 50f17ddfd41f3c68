"""Headstages from the file's evidence (issue 14, item 1): synthetic ABF1/ABF2 files for each case.

The cases of the issue: an Axopatch 200B current-clamp file whose command-current
monitor became a second, voltage-clamped "headstage" held at -6000 mV; a
MultiClamp pair put on one headstage.  Plus a single MultiClamp cell, and
conflicting / weak evidence, which must be said, with the override that fixes it.
"""

from __future__ import annotations

import numpy as np
import pytest
from abf_craft import (
    AXOPATCH_200B,
    MULTICLAMP,
    Adc,
    Dac,
    abf2_set_dac_field,
    abf2_set_epoch_types,
    abf2_telegraph,
    sweeps,
    write_abf1,
)
from hypothesis import given
from hypothesis import strategies as st
from io_helpers import abf2_replace_string, copy_to, local, manifest_params, row_path

from ephys_correct.io import read_recording
from ephys_correct.io._clamp import AdcSpec, DacSpec, assign
from ephys_correct.io._headstages import plan_headstages
from ephys_correct.io._units import parse_unit

STEP_PA = [(1, 50.0, 100), (1, 0.0, 100)]  # two step epochs (type 1)
STEP_MV = [(1, -20.0, 100), (1, -70.0, 100)]


def _axopatch_abf1(tmp_path, dac1=Dac("OUT 1", "V", -6.0), name1="IN 1"):
    """Axopatch 200B current clamp: V_m (mV, telegraphed) + command-current monitor (pA), no MultiClamp."""
    return write_abf1(tmp_path / "axopatch_cc.abf", sweeps(3, [-65.0, 50.0]), 10000.0,
                      [Adc("IN 0", "mV", (AXOPATCH_200B, 0)), Adc(name1, "pA")],
                      [Dac("Cmd 0", "pA", 0.0, STEP_PA), dac1], protocol="steps")


def _axopatch_abf2(tmp_path):
    """The same case as an ABF2 file: pclamp11_4ch.abf patched (ch0 mV + Axopatch telegraph, DAC 0 pA,
    DAC 1 'OUT 1' in V holding -6 V without waveform, channels 2/3 auxiliary, DACs 2/3 idle)."""
    p = copy_to(tmp_path, "pclamp11_4ch.abf", "axopatch_cc2.abf")
    abf2_replace_string(p, b"mV", b"pA", occurrence=0)  # DAC 0 units (first "mV" of the strings)
    abf2_replace_string(p, b"pA", b"mV", occurrence=0)  # ADC 0 units
    abf2_replace_string(p, b"mV", b" V", occurrence=1)  # DAC 1 units ("V" after stripping)
    abf2_replace_string(p, b"Cmd 1", b"OUT 1")
    # "pA" now stands for ADC 1, 2, 3 and DAC 0, in that order: ADC 2, then ADC 3 become auxiliary
    abf2_replace_string(p, b"pA", b"dB", occurrence=1)
    abf2_replace_string(p, b"pA", b"dB", occurrence=1)
    abf2_telegraph(p, 0, AXOPATCH_200B, 0)
    abf2_set_dac_field(p, 0, 12, "<f", 0.0)  # holding 0 pA
    abf2_set_dac_field(p, 1, 12, "<f", -6.0)  # -6 V
    for d in (1, 2, 3):
        abf2_set_dac_field(p, d, 40, "<h", 0)  # no waveform
        abf2_set_epoch_types(p, d, 0)
        if d > 1:
            abf2_set_dac_field(p, d, 12, "<f", 0.0)
    return p


# --------------------------------------------------------------------------- the Axopatch case
@pytest.mark.parametrize("fmt", ["abf1", "abf2"])
def test_axopatch_current_monitor_is_not_a_second_cell(tmp_path, fmt):
    p = _axopatch_abf1(tmp_path) if fmt == "abf1" else _axopatch_abf2(tmp_path)
    rec = read_recording(p)
    assert [c.file_units for c in rec.channels[:2]] == ["mV", "pA"]
    assert [h.index for h in rec.headstages] == [0]
    hs = rec.headstages[0]
    assert hs.dac == 0 and hs.channels == (0, 1) and hs.clamp_mode == "current_clamp"
    assert hs.confidence == "strong"
    assert [(c.kind, c.role, c.headstage) for c in rec.channels[:2]] == [
        ("membrane_potential", "measured", 0), ("current", "monitor", 0)]
    assert rec.channels[0].telegraph_instrument == "Axopatch 200B"
    # DAC 1 holds -6 V: not a membrane command, so it commands no headstage
    assert rec.holding[1].value == pytest.approx(-6000.0) and rec.holding[1].headstage is None
    assert any("no membrane command" in e and "DAC 1" in e for e in rec.headstage_evidence)
    assert any("not a second cell" in e for e in rec.headstage_evidence)
    if fmt == "abf2":
        assert [c.headstage for c in rec.channels[2:]] == [None, None]
    assert rec.interpretation_warnings == ()
    d = rec.describe()
    assert d["channels"][1]["role"] == "monitor" and d["headstages"][0]["confidence"] == "strong"
    assert d["interpretation_warnings"] == [] and d["headstage_evidence"]


def test_axopatch_named_command_monitor(tmp_path):
    rec = read_recording(_axopatch_abf1(tmp_path, name1="I_Com"))
    assert [(c.kind, c.role, c.headstage) for c in rec.channels] == [
        ("membrane_potential", "measured", 0), ("command", "command", 0)]
    assert rec.interpretation_warnings == ()


def test_plausible_second_dac_makes_it_ambiguous_and_says_so(tmp_path):
    # DAC 1 holds -60 mV (a plausible voltage command) without waveform: the current could be the
    # monitor of headstage 0 or the current of a voltage-clamped cell on DAC 1
    p = _axopatch_abf1(tmp_path, dac1=Dac("Cmd 1", "mV", -60.0))
    rec = read_recording(p)
    assert [c.headstage for c in rec.channels] == [0, 0]
    (w,) = rec.interpretation_warnings
    assert "DAC 1 'Cmd 1'" in w and "headstages={1: 1}" in w and str(p) in w
    assert w in rec.warnings
    # the override named in the warning states the other reading; the warning goes away
    rec = read_recording(p, headstages={1: 1})
    assert [c.headstage for c in rec.channels] == [0, 1]
    assert [h.dac for h in rec.headstages] == [0, 1]
    assert rec.headstages[1].clamp_mode == "voltage_clamp" and rec.headstages[1].confidence == "user"
    assert rec.holding[1].headstage == 1
    assert rec.interpretation_warnings == ()
    assert any("given by the user" in e for e in rec.headstage_evidence)


def test_axopatch_file_corrected_without_a_phantom_cell(tmp_path):
    """The issue's symptom: V_m = -6016 mV and driving forces near -5900 mV, status ok, no warning."""
    from ephys_correct import Solution, correct_recording, driving_force_table

    pip = Solution.from_ions({"K+": 145, "Na+": 13, "Cl-": 10, "gluconate-": 145, "Mg2+": 1, "HEPES-": 5},
                             name="pipette")
    bath = Solution.from_ions({"K+": 2.8, "Na+": 145, "Cl-": 148.8, "Mg2+": 2, "Ca2+": 1, "HEPES-": 5},
                              name="bath")
    cr = correct_recording(_axopatch_abf1(tmp_path), pipette=pip, bath=bath, temperature_c=20)
    assert [h.index for h in cr.recording.headstages] == [0]
    assert cr.command_corrections[1].quantity == "none"  # the -6 V output is left alone
    vm, _ = cr.membrane_potential(0, 0)
    assert -100 < vm < 0
    df = driving_force_table(cr)
    assert set(df.headstage) == {0}
    assert df.V_m_mV.between(-100, 0).all()


# --------------------------------------------------------------------------- MultiClamp
def _mc_pair_abf1(tmp_path, *, second_holding=-60.0, second_epochs=STEP_MV, units=("pA", "pA"),
                  dac_units=("mV", "mV"), modes=(0, 0)):
    return write_abf1(tmp_path / "mc_pair.abf", sweeps(2, [-100.0, -50.0]), 10000.0,
                      [Adc("IN 0", units[0], (MULTICLAMP, modes[0])), Adc("IN 1", units[1], (MULTICLAMP, modes[1]))],
                      [Dac("Cmd 0", dac_units[0], -70.0 if dac_units[0] == "mV" else 0.0,
                           STEP_MV if dac_units[0] == "mV" else STEP_PA),
                       Dac("Cmd 1", dac_units[1], second_holding, second_epochs),
                       Dac("AO #2", "mV"), Dac("AO #3", "mV")], protocol="pair")


def test_multiclamp_pair_is_two_cells_abf1(tmp_path):
    rec = read_recording(_mc_pair_abf1(tmp_path))
    assert [c.headstage for c in rec.channels] == [0, 1]
    assert [(h.index, h.dac, h.clamp_mode, h.confidence) for h in rec.headstages] == [
        (0, 0, "voltage_clamp", "strong"), (1, 1, "voltage_clamp", "strong")]
    assert [h.headstage for h in rec.holding[:2]] == [0, 1]
    assert rec.interpretation_warnings == ()


def test_multiclamp_pair_is_two_cells_abf2(tmp_path):
    p = copy_to(tmp_path, "pclamp11_4ch.abf", "mc_pair2.abf")
    abf2_telegraph(p, 0, MULTICLAMP, 0)
    abf2_telegraph(p, 1, MULTICLAMP, 0)
    abf2_replace_string(p, b"pA", b"dB", occurrence=2)
    abf2_replace_string(p, b"pA", b"dB", occurrence=2)
    for d in (2, 3):
        abf2_set_dac_field(p, d, 40, "<h", 0)
        abf2_set_dac_field(p, d, 12, "<f", 0.0)
        abf2_set_epoch_types(p, d, 0)
    rec = read_recording(p)
    assert [c.headstage for c in rec.channels] == [0, 1, None, None]
    assert [c.telegraph_mode for c in rec.channels[:2]] == ["voltage_clamp"] * 2
    assert [(h.dac, h.clamp_mode_source, h.confidence) for h in rec.headstages] == [
        (0, "telegraph", "strong"), (1, "telegraph", "strong")]
    assert [h.value for h in rec.holding[:2]] == [-10.0, -20.0]
    assert [h.headstage for h in rec.holding[:4]] == [0, 1, None, None]
    assert rec.interpretation_warnings == ()


def test_current_clamp_pair_second_dac_only_held(tmp_path):
    # cell 2 gets no waveform but is held at -80 pA: still a driven amplifier channel
    p = _mc_pair_abf1(tmp_path, units=("mV", "mV"), dac_units=("pA", "pA"), modes=(1, 1),
                      second_holding=-80.0, second_epochs=[])
    rec = read_recording(p)
    assert [c.headstage for c in rec.channels] == [0, 1]
    assert [h.clamp_mode for h in rec.headstages] == ["current_clamp"] * 2
    assert rec.holding[1].headstage == 1 and rec.interpretation_warnings == ()


def test_mixed_ic_vc_pair(tmp_path):
    p = _mc_pair_abf1(tmp_path, units=("mV", "pA"), dac_units=("pA", "mV"), modes=(1, 0))
    rec = read_recording(p)
    assert [c.headstage for c in rec.channels] == [0, 1]
    assert [h.clamp_mode for h in rec.headstages] == ["current_clamp", "voltage_clamp"]
    assert rec.interpretation_warnings == ()


def test_single_multiclamp_vc():
    rec = read_recording(local("171116sh_0013.abf"))
    assert [(h.index, h.dac, h.channels, h.confidence) for h in rec.headstages] == [(0, 0, (0,), "strong")]
    assert rec.channels[0].role == "measured" and rec.channels[0].telegraph_instrument == "MultiClamp 700"
    assert rec.interpretation_warnings == ()


def test_single_multiclamp_vc_with_voltage_monitor(tmp_path):
    p = write_abf1(tmp_path / "vc_mon.abf", sweeps(2, [-100.0, -70.0]), 10000.0,
                   [Adc("IN 0", "pA", (MULTICLAMP, 0)), Adc("IN 1", "mV")],
                   [Dac("Cmd 0", "mV", -70.0, STEP_MV), Dac("Cmd 1", "mV"), Dac("AO #2", "mV"), Dac("AO #3", "mV")])
    rec = read_recording(p)
    assert [(c.headstage, c.kind, c.role) for c in rec.channels] == [
        (0, "current", "measured"), (0, "membrane_potential", "monitor")]
    assert rec.interpretation_warnings == ()


# --------------------------------------------------------------------------- weak and conflicting evidence
def test_telegraph_contradicts_dac_units(tmp_path):
    # the MultiClamp says V-clamp, the driven DAC is a current command and the only signal a voltage
    p = write_abf1(tmp_path / "conflict.abf", sweeps(2, [-65.0]), 10000.0, [Adc("IN 0", "mV", (MULTICLAMP, 0))],
                   [Dac("Cmd 0", "pA", 0.0, STEP_PA), Dac("Cmd 1", "mV")])
    rec = read_recording(p)
    assert rec.channels[0].headstage == 0 and rec.headstages[0].confidence == "weak"
    ws = rec.interpretation_warnings
    assert any("telegraph" in w and "says voltage_clamp" in w and "DAC 0" in w and "pA" in w for w in ws)
    assert any("clamp_mode={0:" in w for w in ws)  # telegraph vs DAC units of a used DAC
    assert rec.channels[0].units_suspect  # V-clamp without a current signal
    assert all(w in rec.warnings for w in ws)


def test_second_current_with_idle_dac_is_weak(tmp_path):
    # two MultiClamp V-clamp currents, only DAC 0 used (the shared 05210017_vc_abf1.abf layout)
    p = _mc_pair_abf1(tmp_path, second_holding=0.0, second_epochs=[])
    rec = read_recording(p)
    assert [c.headstage for c in rec.channels] == [0, 1]
    assert [h.confidence for h in rec.headstages] == ["strong", "weak"]
    (w,) = rec.interpretation_warnings
    assert "channel 1 'IN 1'" in w and "weak evidence" in w and "headstages={1: 0}" in w
    fixed = read_recording(p, headstages={1: 0})
    assert [c.headstage for c in fixed.channels] == [0, 0] and fixed.interpretation_warnings == ()
    assert fixed.headstages[0].confidence == "user"


def test_driven_dac_without_channel_is_reported(tmp_path):
    p = write_abf1(tmp_path / "lonely_dac.abf", sweeps(2, [-100.0]), 10000.0, [Adc("IN 0", "pA", (MULTICLAMP, 0))],
                   [Dac("Cmd 0", "mV", -70.0, STEP_MV), Dac("Cmd 1", "mV", -80.0)])
    rec = read_recording(p)
    assert [h.index for h in rec.headstages] == [0] and rec.holding[1].headstage is None
    (w,) = rec.interpretation_warnings
    assert "DAC 1 'Cmd 1'" in w and "holding -80 mV" in w and "no recorded channel belongs to it" in w


def test_user_grouping_against_the_telegraphs_warns(tmp_path):
    p = _mc_pair_abf1(tmp_path, units=("mV", "pA"), dac_units=("pA", "mV"), modes=(1, 0))
    rec = read_recording(p, headstages={1: 0})
    assert any("different MultiClamp telegraph modes" in w for w in rec.interpretation_warnings)


def test_abf1_dac_use_not_recorded_is_weak():
    rec = read_recording(local("pclamp11_4ch_abf1.abf"))
    assert [c.headstage for c in rec.channels] == [0, 1, 2, 3]
    assert [h.confidence for h in rec.headstages] == ["strong", "strong", "weak", "strong"]
    assert any("does not record whether the protocol uses DAC 2" in w for w in rec.interpretation_warnings)
    twin = read_recording(local("pclamp11_4ch.abf"))  # ABF2 records it: DAC 2 drives a waveform at 0 mV
    assert [h.confidence for h in twin.headstages] == ["strong"] * 4 and twin.interpretation_warnings == ()


def test_formats_without_dacs_warn_on_two_signals_of_one_quantity():
    adcs = [AdcSpec(0, "Vm1", "mV", parse_unit("mV")), AdcSpec(1, "Vm2", "mV", parse_unit("mV")),
            AdcSpec(2, "Im", "pA", parse_unit("pA"))]
    ch, hs, warns, ev = assign("x.wcp", adcs, [], protocol=None, abf=False)
    assert [c.headstage for c in ch] == [0, 0, 0] and hs[0].dac is None and hs[0].confidence == "inferred"
    assert any("0 'Vm1', 1 'Vm2'" in w and "headstages={1: 1}" in w for w in warns)
    ch, hs, warns, ev = assign("x.wcp", adcs, [], protocol=None, abf=False, headstages={1: 1})
    assert [c.headstage for c in ch] == [0, 1, 0] and not any("Vm1" in w for w in warns)


# --------------------------------------------------------------------------- invariants
_UNITS = ("mV", "pA", "V", "nA", "dB", "")
_NAMES = ("IN 0", "IN 1", "IN 2", "V1", "I1", "V2", "I2", "AO #0", "AO #1", "Cmd", "I_Com", "Vm")


@st.composite
def _files(draw):
    n = draw(st.integers(1, 5))
    adcs = []
    for i in range(n):
        units = draw(st.sampled_from(_UNITS))
        tele = draw(st.sampled_from([None, 0, 1, 2]))
        inst = None if tele is None else draw(st.sampled_from([MULTICLAMP, AXOPATCH_200B]))
        adcs.append(AdcSpec(i, draw(st.sampled_from(_NAMES)), units, parse_unit(units), adc=i,
                            telegraph=tele if inst == MULTICLAMP else None, telegraph_instrument=inst))
    m = draw(st.integers(0, 4))
    dacs = []
    for d in range(m):
        units = draw(st.sampled_from(("mV", "pA", "V", "um", "")))
        dacs.append(DacSpec(d, draw(st.sampled_from((f"Cmd {d}", f"AO #{d}", f"OUT {d}", "piezo"))), units,
                            parse_unit(units), holding=draw(st.sampled_from((0.0, -70.0, -6.0, 5000.0, None))),
                            use=draw(st.sampled_from(("epochs", "file", "none", None)))))
    return adcs, dacs


@given(_files())
def test_plan_invariants(file):
    adcs, dacs = file
    plan = plan_headstages("f.abf", adcs, dacs, abf=True)
    assert plan == plan_headstages("f.abf", adcs, dacs, abf=True)  # deterministic
    heads = sorted(plan.dac)
    assert sorted({h for h in plan.headstage if h is not None}) == heads
    real = [d for d in plan.dac.values() if d is not None]
    assert len(real) == len(set(real))  # one headstage per DAC
    for h, d in plan.dac.items():
        assert d is None or d == h  # a headstage with a DAC has its number
    text = " ".join(w.message for w in plan.warnings)
    for i, a in enumerate(adcs):
        electrical = a.unit.dimension in ("voltage", "current")
        if not electrical:
            assert plan.headstage[i] is None
        elif plan.headstage[i] is None and dacs and any(d.unit.dimension in ("voltage", "current") for d in dacs):
            # an electrical channel left out is named in a warning or in the evidence (command monitors)
            assert f"{i} {a.name!r}" in text or any(f"channel {i} " in e for e in plan.evidence)
    for h, conf in plan.confidence.items():
        assert conf in ("strong", "inferred", "weak")
        if conf == "weak":
            assert any(plan.headstage[i] == h and i in w.channels for w in plan.warnings
                       for i in range(len(adcs))) or any(f"headstage {h}" in w.message for w in plan.warnings)


# --------------------------------------------------------------------------- the shared recordings
#: file -> headstage index -> channels (the evidence in MANIFEST.csv's mode_evidence / recordings_notes.md)
SHARED_LAYOUT = {
    "05210017_vc_abf1.abf": {0: (0,), 1: (1,)},  # second MultiClamp current on an idle DAC: weak, warned
    "190619B_0003.abf": {0: (0,), 1: (1,)},  # IN 0 and IN 2, each with a MultiClamp I-clamp telegraph
    "File_axon_2.abf": {0: (0,)},
    "17o05028_ic_steps.abf": {0: (0,)},
    "171116sh_0013.abf": {0: (0,)},
    "2018_11_16_sh_0006.abf": {0: (0,)},
    "2019_05_02_DIC2_0011.abf": {0: (0, 1)},  # Vm + current monitor: one cell
    "opto_aps_bad_units.abf": {0: (0,)},
    "test_0001.abf": {0: (0,), 1: (1, 3), 2: (2,), 3: (4, 5)},  # clamp mode not recorded: all weak
    "pclamp11_4ch.abf": {0: (0,), 1: (1,), 2: (2,), 3: (3,)},
    "pclamp11_4ch_abf1.abf": {0: (0,), 1: (1,), 2: (2,), 3: (3,)},
    "f1_saved.abf": {0: (0,)},
}
WEAK = {"05210017_vc_abf1.abf": [1], "190619B_0003.abf": [1], "test_0001.abf": [0, 1, 2, 3],
        "pclamp11_4ch_abf1.abf": [2]}


@pytest.mark.shared_data
@pytest.mark.parametrize("row", manifest_params("abf"))
def test_shared_recordings_headstages(row):
    p = row_path(row, "abf")
    assert row["file"] in SHARED_LAYOUT, f"add the headstage layout of {row['file']} to SHARED_LAYOUT"
    rec = read_recording(p)
    assert {h.index: h.channels for h in rec.headstages} == SHARED_LAYOUT[row["file"]]
    weak = [h.index for h in rec.headstages if h.confidence == "weak"]
    assert weak == WEAK.get(row["file"], [])
    for h in weak:  # every weak headstage is explained, with the override
        assert any(f"headstage {h}" in w and "headstages=" in w for w in rec.interpretation_warnings)
    assert all(w in rec.warnings for w in rec.interpretation_warnings)
    assert rec.headstage_evidence


def test_monitor_samples_unchanged(tmp_path):
    """The new grouping changes no data: the monitor reads the same samples as before."""
    p = _axopatch_abf1(tmp_path)
    rec = read_recording(p)
    np.testing.assert_allclose(rec.sweep_data(0, 1)[[0, -1]], [50.0, 51.0], atol=1e-2)
