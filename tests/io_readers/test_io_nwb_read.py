"""read_recording on NWB 2 icephys files (issue 14, item 6), written here by pynwb alone."""

from __future__ import annotations

import datetime as dt
import math
import sys

import numpy as np
import pynwb
import pytest
from io_helpers import local
from pynwb.icephys import (
    CurrentClampSeries,
    CurrentClampStimulusSeries,
    IZeroClampSeries,
    PatchClampSeries,
    VoltageClampSeries,
    VoltageClampStimulusSeries,
)

from ephys_correct.errors import (
    ClampModeError,
    CorruptRecordingError,
    MissingDependencyError,
    ParameterError,
    UnsupportedFormatError,
)
from ephys_correct.io import SUPPORTED_EXTENSIONS, read_recording

N = 200
RATE = 10000.0


def _nwb(tmp_path, name="cells.nwb", *, sweeps=3, second="vc", table=True, izero=False, mixed=False,
         drop=None, second_rate=None):
    """Electrode 0 in current clamp (stimulus 50 pA x sweep, Vm -65 + sweep mV, int16 with conversion);
    electrode 1 in voltage clamp (stimulus -70 mV, Im -100 pA) or I=0."""
    nwb = pynwb.NWBFile(session_description="paired test", identifier="id-1",
                        session_start_time=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    dev = nwb.create_device(name="MultiClamp 700B")
    e0 = nwb.create_icephys_electrode(name="elec0", description="cell 1", device=dev)
    e1 = nwb.create_icephys_electrode(name="elec1", description="cell 2", device=dev)
    for s in range(sweeps):
        kw = dict(starting_time=2.0 * s, rate=RATE, gain=1.0, sweep_number=np.uint32(s))
        # int16 counts of 0.01 mV: value = data * 1e-5 V + offset
        data = (np.full(N, (-65.0 + s) * 100) + np.arange(N) % 7).astype("i2")
        if mixed and s == 0:  # an I=0 sweep (no stimulus) before the current-clamp sweeps
            rs = IZeroClampSeries(name=f"vm0_{s}", data=data, conversion=1e-5, electrode=e0, **kw)
            st = None
        else:
            st = CurrentClampStimulusSeries(name=f"stim0_{s}", data=np.full(N, 50e-12 * s), electrode=e0, **kw)
            rs = CurrentClampSeries(name=f"vm0_{s}", data=data, conversion=1e-5, electrode=e0,
                                    stimulus_description="steps", **kw)
        if table:
            nwb.add_intracellular_recording(electrode=e0, stimulus=st, response=rs)
        else:
            if st is not None:
                nwb.add_stimulus(st)
            nwb.add_acquisition(rs)
        if drop == s:
            continue
        kw1 = dict(kw, rate=second_rate or RATE)
        if izero:
            rs2 = IZeroClampSeries(name=f"vm1_{s}", data=np.full(N, -70.0), conversion=1e-3, electrode=e1, **kw1)
            nwb.add_intracellular_recording(electrode=e1, response=rs2)
        else:
            st2 = VoltageClampStimulusSeries(name=f"stim1_{s}", data=np.full(N, -0.07), electrode=e1, **kw1)
            rs2 = VoltageClampSeries(name=f"im1_{s}", data=np.full(N, -100.0), conversion=1e-12, electrode=e1,
                                     stimulus_description="steps", **kw1)
            mon = PatchClampSeries(name=f"vmon1_{s}", data=np.full(N, -70.0), unit="volts", conversion=1e-3,
                                   electrode=e1, stimulus_description="steps", **kw1)
            if table:
                nwb.add_intracellular_recording(electrode=e1, stimulus=st2, response=rs2)
                nwb.add_intracellular_recording(electrode=e1, response=mon)
            else:
                nwb.add_stimulus(st2)
                nwb.add_acquisition(rs2)
                nwb.add_acquisition(mon)
    p = tmp_path / name
    with pynwb.NWBHDF5IO(str(p), "w") as io:
        io.write(nwb)
    return p


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """The standard paired file (icephys table), written once for the module."""
    return _nwb(tmp_path_factory.mktemp("nwb"))


def test_nwb_is_a_supported_extension():
    assert ".nwb" in SUPPORTED_EXTENSIONS


@pytest.mark.parametrize("table", [True, False], ids=["icephys-table", "sweep-numbers"])
def test_paired_cc_vc_file(tmp_path, cells, table):
    p = cells if table else _nwb(tmp_path, table=False)
    rec = read_recording(p)
    assert rec.format == "NWB" and rec.reader.startswith("pynwb") and rec.version
    assert rec.n_sweeps == 3 and rec.sample_rate_hz == RATE and rec.sweep_lengths == (N,) * 3
    assert rec.sweep_start_s == (0.0, 2.0, 4.0)
    assert [(c.name, c.units, c.kind, c.role, c.headstage) for c in rec.channels] == [
        ("elec0 Vm", "mV", "membrane_potential", "measured", 0),
        ("elec1 Im", "pA", "current", "measured", 1),
        ("elec1 Vm", "mV", "membrane_potential", "monitor", 1)]
    assert [(h.index, h.dac, h.clamp_mode, h.clamp_mode_source, h.confidence) for h in rec.headstages] == [
        (0, 0, "current_clamp", "series_type", "strong"), (1, 1, "voltage_clamp", "series_type", "strong")]
    # units through conversion: int16 counts x 1e-5 V -> mV
    y = rec.sweep_data(2, 0)
    np.testing.assert_allclose(y, (-63.0 * 100 + np.arange(N) % 7) * 1e-2, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rec.sweep_data(1, "elec1 Im"), -100.0)
    # stimuli are the commands, in pA / mV; NWB has no holding level
    np.testing.assert_allclose(rec.command(2, 0), 100.0)
    np.testing.assert_allclose(rec.command(1, 1), -70.0)
    assert [(h.units, h.headstage) for h in rec.holding] == [("pA", 0), ("mV", 1)]
    assert all(math.isnan(h.value) for h in rec.holding)
    assert any("no holding level" in e for e in rec.headstage_evidence)
    assert rec.protocol == "steps" and rec.comment == "paired test"
    assert rec.start_time == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert rec.interpretation_warnings == ()
    # the file is read lazily and not modified
    assert rec.to_array().shape == (3, 3, N)


def test_izero_and_mode_changing_between_sweeps(tmp_path):
    p = _nwb(tmp_path, mixed=True, izero=True)
    rec = read_recording(p)
    # electrode 1: IZeroClampSeries in every sweep, no stimulus
    assert rec.headstages[1].clamp_mode == "i_zero" and rec.headstages[1].dac is None
    assert rec.holding[1].headstage is None
    # electrode 0: I=0 in sweep 0, current clamp after: no single mode, and the message says what to do
    with pytest.raises(ClampModeError, match=r"current_clamp: sweeps 1-2; i_zero: sweeps 0.*sweeps=\[\.\.\.\]"):
        rec.headstages[0].clamp_mode
    sub = read_recording(p, sweeps=[1, 2])
    assert sub.n_sweeps == 2 and sub.headstages[0].clamp_mode == "current_clamp"
    assert sub.sweep_start_s == (2.0, 4.0)
    with pytest.raises(ParameterError, match=r"sweeps \[7\] are not in the file \(sweep numbers: 0-2\)"):
        read_recording(p, sweeps=[7])


def test_sweeps_with_other_channels_are_refused_with_the_fix(tmp_path):
    p = _nwb(tmp_path, drop=1)
    with pytest.raises(UnsupportedFormatError, match=r"sweep 1 lacks elec1 .*sweeps=\[\.\.\.\].*0-2"):
        read_recording(p)
    assert read_recording(p, sweeps=[0, 2]).n_sweeps == 2


def test_different_rates_are_refused(tmp_path):
    p = _nwb(tmp_path, second_rate=20000.0)
    with pytest.raises(UnsupportedFormatError, match="different sampling rates"):
        read_recording(p)


def test_clamp_mode_and_headstage_overrides_work_on_nwb(cells):
    rec = read_recording(cells, clamp_mode={1: "current_clamp"}, headstages={"elec1 Vm": None})
    assert rec.headstages[1].clamp_mode == "current_clamp" and rec.channels[2].headstage is None
    assert any("overrides the file's evidence" in w for w in rec.warnings)


def test_not_hdf5_and_sweeps_on_other_formats(tmp_path):
    bad = tmp_path / "text.nwb"
    bad.write_text("not an nwb file")
    with pytest.raises(CorruptRecordingError, match="NWB"):
        read_recording(bad)
    with pytest.raises(ParameterError, match="sweeps= selects the sweeps of NWB files"):
        read_recording(local("171116sh_0013.abf"), sweeps=[0])


def test_unreadable_hdf5_is_refused_and_its_reader_closed(tmp_path):
    """An HDF5 file that pynwb opens but cannot read: the error names the file, and the reader it
    opened is closed at once (left to the garbage collector it raised a ResourceWarning in whatever
    test ran next, under filterwarnings=error)."""
    import gc
    import warnings

    import h5py

    bad = tmp_path / "empty.nwb"
    with h5py.File(bad, "w") as f:
        f.create_group("not_nwb")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CorruptRecordingError, match="empty.nwb: pynwb cannot read this file"):
            read_recording(bad)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [str(w.message) for w in caught]


def test_missing_pynwb_is_a_clear_error(cells, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'ephys_correct\[nwb\]'"):
        read_recording(cells)


def test_round_trip_of_an_ephys_correct_nwb_file(tmp_path):
    """A file written by write_nwb reads back with its headstages, modes, corrected data and commands."""
    from abf_craft import MULTICLAMP, Adc, Dac, sweeps, write_abf1

    from ephys_correct import correct_recording
    from ephys_correct.report.nwb import write_nwb

    abf = write_abf1(tmp_path / "pair.abf", sweeps(2, [-100.0, 20.0]), 10000.0,
                     [Adc("IN 0", "pA", (MULTICLAMP, 0)), Adc("IN 1", "mV", (MULTICLAMP, 1))],
                     [Dac("Cmd 0", "mV", -70.0, [(1, -20.0, 100)]), Dac("Cmd 1", "pA", 0.0, [(1, 50.0, 100)])])
    cr = correct_recording(abf, pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath",
                           temperature_c=22, zeroing_temperature_c=20)
    p = write_nwb(cr, tmp_path / "pair.nwb")
    rec = read_recording(p)
    assert rec.n_sweeps == 2 and rec.n_channels == 2
    assert [h.clamp_mode for h in rec.headstages] == ["voltage_clamp", "current_clamp"]
    assert [c.headstage for c in rec.channels] == [0, 1]
    for s in (0, 1):
        for c in (0, 1):
            np.testing.assert_allclose(rec.sweep_data(s, c), cr.sweep_data(s, c), rtol=0, atol=1e-9)
            np.testing.assert_allclose(rec.command(s, c), cr.command(s, c), rtol=0, atol=1e-9)
