"""write_nwb stores the file's integer samples, the correction as the series offset (issue 15 item 5).

Read back with pynwb alone: ``data`` is the file's int16 samples, ``data *
conversion + offset`` the corrected values in volts / amperes, ``data *
file_scale + file_offset`` (provenance ``nwb.storage``) the file's values; a
file without integer samples, or a correction that is not one offset for the
sweep, falls back to float64 values and says why.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pynwb
import pytest
from abf_craft import abf2_set_dac_field
from conftest import TEST_DATA, shared_path
from test_nwb import METADATA, _inspector_findings, assert_si

from ephys_correct.correction.correct import correct_recording
from ephys_correct.io import read_recording
from ephys_correct.potentials.bath import BathSchedule
from ephys_correct.report import nwb as nwb_mod
from ephys_correct.report.nwb import read_nwb_provenance, write_nwb

SOLUTIONS = dict(pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath", temperature_c=32,
                 zeroing_temperature_c=22)
SI = {"mV": 1e-3, "pA": 1e-12}


def _series_channel(name: str) -> int:
    return int(name.split("_ch")[1].split("_")[0])


def _check_round_trip(path, cr) -> int:
    """Every response series through pynwb alone; returns the number of series checked."""
    rec = cr.recording
    storage = read_nwb_provenance(path)["nwb"]["storage"]
    n = 0
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        for name, series in nwb.acquisition.items():
            s, c = int(series.name[5:9]), _series_channel(name)
            units = rec.channels[c].units
            st = storage[str(c)]
            assert series.data.dtype == np.int16 == np.dtype(st["dtype"])  # the file's samples, not float64
            data = series.data[:]
            np.testing.assert_array_equal(data, rec.stored_sweep_data(s, c))
            assert_si(series, cr.sweep_data(s, c), SI[units])  # the corrected values, in volts / amperes
            # the file's values from the stored samples and the documented scaling: bit for bit
            np.testing.assert_array_equal(data * st["file_scale"] + st["file_offset"], rec.sweep_data(s, c))
            assert series.resolution == pytest.approx(abs(series.conversion), rel=1e-15)
            assert series.data.compression == "gzip" and series.data.shuffle
            n += 1
    return n


@pytest.mark.parametrize("name", ["171116sh_0013.abf", "190619B_0003.abf", "pclamp11_4ch_abf1.abf"])
def test_pynwb_round_trip_of_the_stored_samples(tmp_path, name):
    cr = correct_recording(TEST_DATA / name, **SOLUTIONS)
    p = write_nwb(cr, tmp_path / "x.nwb")
    assert _check_round_trip(p, cr) == cr.recording.n_sweeps * cr.recording.n_channels
    side = json.loads(nwb_mod.nwb_sidecar_path(p).read_text())  # the storage, in the sidecar too
    st = cr.recording.stored_scaling(0)
    assert side["nwb"]["storage"]["0"] == {"dtype": "int16", "file_scale": st.scale, "file_offset": st.offset,
                                           "units": st.units}


@pytest.mark.shared_data
def test_pynwb_round_trip_shared_current_clamp_with_monitor(tmp_path):
    cr = correct_recording(shared_path("data", "abf", "2019_05_02_DIC2_0011.abf"), **SOLUTIONS)
    p = write_nwb(cr, tmp_path / "x.nwb", metadata=METADATA, timezone="Europe/Berlin")
    assert _check_round_trip(p, cr) == 3 * 2
    assert _inspector_findings(p) == []


def test_sign_inverting_configuration_gives_a_negative_conversion(tmp_path):
    """Inside-out: I_m = -I_rec, V_m = -(V_rec - V_L); the int16 samples stay, conversion and offset carry it."""
    cr = correct_recording(TEST_DATA / "171116sh_0013.abf", configuration="inside-out", **SOLUTIONS)
    p = write_nwb(cr, tmp_path / "x.nwb", metadata=METADATA, timezone="Europe/Berlin")
    assert _check_round_trip(p, cr) == 13
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        nwb = io.read()
        assert nwb.acquisition["sweep0000_ch0_IN_0"].conversion < 0
        st = nwb.stimulus["stimulus_sweep0002_hs0_dac0"]
        assert st.conversion == -1e-3 and st.offset == pytest.approx(cr.ljp_mv * 1e-3, rel=1e-14)
        assert_si(st, cr.command(2, 0), 1e-3)
    assert _inspector_findings(p) == []


def _float_abf(tmp_path):
    """pclamp11_4ch.abf rewritten with float32 samples (nDataFormat = 1), as in test_io_hostile."""
    data = bytearray((TEST_DATA / "pclamp11_4ch.abf").read_bytes())
    block, _, count = struct.unpack_from("<IIq", data, 236)
    struct.pack_into("<IIq", data, 236, block, 4, count // 2)
    struct.pack_into("<H", data, 30, 1)
    pblock, = struct.unpack_from("<I", data, 76)
    spe, = struct.unpack_from("<i", data, pblock * 512 + 22)
    struct.pack_into("<i", data, pblock * 512 + 22, spe // 2)
    n = count // 2
    struct.pack_into(f"<{n}f", data, block * 512, *np.linspace(-1, 1, n, dtype=np.float32))
    p = tmp_path / "float.abf"
    p.write_bytes(bytes(data))
    for d in range(4):  # holding only: the epoch table was made for the old sweep length
        abf2_set_dac_field(p, d, 40, "<h", 0)
    return p


def test_float_data_are_stored_as_float64_with_the_reason(tmp_path):
    cr = correct_recording(_float_abf(tmp_path), **SOLUTIONS)
    p = write_nwb(cr, tmp_path / "x.nwb")
    storage = read_nwb_provenance(p)["nwb"]["storage"]
    assert storage["0"]["dtype"] == "float64" and "nDataFormat = 1" in storage["0"]["reason"]
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        series = io.read().acquisition["sweep0001_ch2_IN_2"]
        assert series.data.dtype == np.float64 and series.offset == 0.0 and series.resolution == -1.0
        assert "no integer samples" in series.description
        np.testing.assert_array_equal(series.data[:], cr.sweep_data(1, 2))  # exact, as before


def test_bath_change_within_a_sweep_stores_that_sweeps_command_as_float(tmp_path):
    rec = read_recording(TEST_DATA / "pclamp11_4ch.abf")
    t_change = rec.sweep_start_s[2] + 0.05  # 50 ms into sweep 2
    sched = BathSchedule([(0.0, "axobits39_saline_bath"), (t_change, {"Na+": 145, "Cl-": 75, "gluconate-": 70})],
                         temperature_c=20, reference="ag_agcl", activity_model=None, axis="time_s")
    cr = correct_recording(rec, pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath",
                           temperature_c=20, bath_change=sched)
    p = write_nwb(cr, tmp_path / "x.nwb")
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        stim = io.read().stimulus
        inside = stim["stimulus_sweep0002_hs0_dac0"]
        assert inside.data.dtype == np.float64 and inside.offset == 0.0
        assert "the bath changes within this sweep" in inside.description
        np.testing.assert_array_equal(inside.data[:], cr.command(2, 0))
        before, after = stim["stimulus_sweep0001_hs0_dac0"], stim["stimulus_sweep0003_hs0_dac0"]
        assert before.data.dtype == after.data.dtype == np.float32
        assert after.offset != before.offset  # the new bath's offset, from the sweep after the change on
        assert_si(before, cr.command(1, 0), 1e-3)
        assert_si(after, cr.command(3, 0), 1e-3)


def test_a_correction_that_is_not_an_offset_is_stored_as_float(tmp_path, monkeypatch):
    """The writer checks the offset against CorrectedRecording.sweep_data; a wrong one never reaches the file."""
    cr = correct_recording(TEST_DATA / "myokit_wcp-file.wcp", clamp_mode="voltage_clamp", **SOLUTIONS)
    good = write_nwb(cr, tmp_path / "int.nwb")
    monkeypatch.setattr(nwb_mod, "_correction_map", lambda corrected, sc, sweep: (1.0, 0.0))  # forgets V_L
    p = write_nwb(cr, tmp_path / "float.nwb")
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        nwb = io.read()
        vm = nwb.acquisition["sweep0004_ch1_Vm"]  # the potential monitor: V_L missing -> refused
        assert vm.data.dtype == np.float64 and "not an offset of the stored samples" in vm.description
        np.testing.assert_array_equal(vm.data[:], cr.sweep_data(4, 1))
        im = nwb.acquisition["sweep0004_ch0_Im"]  # the current: unchanged, the map is right
        assert im.data.dtype == np.int16
    with pynwb.NWBHDF5IO(str(good), "r") as io:
        assert io.read().acquisition["sweep0004_ch1_Vm"].data.dtype == np.int16  # without the patch
