"""Recording.stored_sweep_data / stored_scaling: the file's integer samples and their exact scaling.

The contract: ``stored * scale + offset`` reproduces ``sweep_data`` (bit for bit
where the reader applies no unit factor and the header no offset, else within
a few ulp of the terms), ``StoredScaling.values`` bit for bit always; formats
that store floats say so with StoredSamplesUnavailableError.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from conftest import TEST_DATA, shared_path
from hypothesis import given
from hypothesis import strategies as st

import ephys_correct
from ephys_correct.errors import RecordingError
from ephys_correct.io import StoredSamplesUnavailableError, StoredScaling, read_recording

EXAMPLE = ephys_correct.__path__[0] + "/data/examples/17o05028_ic_steps.abf"
#: ABF1 and ABF2 files with a copy in tests/data (run everywhere)
LOCAL_ABF = ["171116sh_0013.abf", "190619B_0003.abf", "2018_11_16_sh_0006.abf", "f1_saved.abf",
             "pclamp11_4ch.abf", "pclamp11_4ch_abf1.abf"]
#: ABF files only ../shared has (shared/data/abf/MANIFEST.csv)
SHARED_ABF = ["05210017_vc_abf1.abf", "2019_05_02_DIC2_0011.abf", "File_axon_2.abf", "opto_aps_bad_units.abf",
              "test_0001.abf"]
#: neo-read formats that store int16 counts (WinWCP; AxoGraph int16 columns, one of them with header offsets and
#: a unit factor A -> pA: the case where the one-step affine map is not bit for bit)
NEO_INT = ["myokit_wcp-file.wcp", "AxoGraph_X_File.axgx", "AxoGraph_Digitized_File.axgd"]


def _check_file(rec) -> int:
    """Assert the contract on every sweep and channel of *rec*; return the number of channels checked."""
    for c in range(rec.n_channels):
        sc = rec.stored_scaling(c)
        assert isinstance(sc, StoredScaling) and sc.channel == c and sc.units == rec.channels[c].units
        assert sc.dtype.kind in "iu" and sc.dtype.isnative
        gain, header_offset, unit_factor, added = sc._steps
        for s in range(rec.n_sweeps):
            raw = rec.stored_sweep_data(s, c)
            values = rec.sweep_data(s, c)
            assert raw.dtype == sc.dtype and raw.shape == values.shape
            np.testing.assert_array_equal(sc.values(raw), values)  # the reader's steps: bit for bit
            affine = raw * sc.scale + sc.offset
            if header_offset == 0.0 and unit_factor == 1.0:
                np.testing.assert_array_equal(affine, values)
            else:  # one rounding fewer than the reader: a few ulp of the terms
                mag = np.abs(raw * sc.scale) + abs(sc.offset)
                assert np.all(np.abs(affine - values) <= 4 * np.spacing(mag))
    return rec.n_channels


@pytest.mark.parametrize("backend", ["pyabf", "neo"])
@pytest.mark.parametrize("name", LOCAL_ABF)
def test_abf_stored_samples_reproduce_sweep_data(name, backend):
    rec = read_recording(TEST_DATA / name, backend=backend)
    assert _check_file(rec) >= 1
    assert rec.stored_scaling(0).dtype == np.int16  # ABF1 and ABF2 store int16 counts


@pytest.mark.shared_data
@pytest.mark.parametrize("backend", ["pyabf", "neo"])
@pytest.mark.parametrize("name", SHARED_ABF)
def test_shared_abf_stored_samples_reproduce_sweep_data(name, backend):
    rec = read_recording(shared_path("data", "abf", name), backend=backend)
    assert _check_file(rec) >= 1
    assert rec.stored_scaling(0).dtype == np.int16


def test_bundled_example():
    rec = read_recording(EXAMPLE)
    assert _check_file(rec) == 1
    assert rec.stored_scaling(0).dtype == np.int16 and rec.stored_scaling(0).offset == 0.0


@pytest.mark.parametrize("name", NEO_INT)
def test_neo_integer_formats(name):
    rec = read_recording(TEST_DATA / name, clamp_mode="voltage_clamp")
    assert _check_file(rec) == rec.n_channels
    assert {rec.stored_scaling(c).dtype for c in range(rec.n_channels)} == {np.dtype(np.int16)}


def test_axograph_offsets_and_unit_factor_are_not_bit_for_bit_in_one_step():
    """The documented exception: header offset + A -> pA; values() is exact, the affine map a few ulp off."""
    rec = read_recording(TEST_DATA / "AxoGraph_X_File.axgx")
    sc = rec.stored_scaling(0)
    assert sc.offset != 0 and sc._steps[2] == 1e12
    raw = rec.stored_sweep_data(0, 0)
    assert not np.array_equal(raw * sc.scale + sc.offset, rec.sweep_data(0, 0))
    np.testing.assert_array_equal(sc.values(raw), rec.sweep_data(0, 0))


def test_a_unit_fix_is_in_the_scaling():
    """UnitFix("V", 1/20): stored counts unchanged, scale = gain / 20 * 1000 (the fix and V -> mV)."""
    plain = read_recording(TEST_DATA / "171116sh_0013.abf")
    rec = read_recording(TEST_DATA / "171116sh_0013.abf", unit_fix={0: ("V", 1 / 20)})
    assert _check_file(rec) == 1
    sc, sc0 = rec.stored_scaling(0), plain.stored_scaling(0)
    assert sc.units == "mV" and sc.scale == pytest.approx(sc0.scale / 20 * 1000, rel=1e-15)
    np.testing.assert_array_equal(rec.stored_sweep_data(5, 0), plain.stored_sweep_data(5, 0))


def test_offsets_of_with_offsets_are_in_the_scaling():
    rec = read_recording(TEST_DATA / "190619B_0003.abf")
    shifted = rec.with_offsets({0: -15.5}, note="test shift")
    sc0, sc = rec.stored_scaling(0), shifted.stored_scaling(0)
    assert sc.scale == sc0.scale and sc.offset == sc0.offset - 15.5
    raw = shifted.stored_sweep_data(2, 0)
    np.testing.assert_array_equal(raw, rec.stored_sweep_data(2, 0))  # the samples do not change
    np.testing.assert_array_equal(raw * sc.scale + sc.offset, shifted.sweep_data(2, 0))


@given(start=st.integers(-40000, 40000), stop=st.one_of(st.none(), st.integers(-40000, 40000)))
def test_slices_are_slices_of_the_sweep(start, stop):
    rec = _SLICE_REC
    full = rec.stored_sweep_data(1, "IN 0")
    part = rec.stored_sweep_data(1, "IN 0", start=start, stop=stop)
    np.testing.assert_array_equal(part, full[slice(start, stop)])


_SLICE_REC = read_recording(TEST_DATA / "171116sh_0013.abf")


def test_float_abf_has_no_stored_integers(tmp_path):
    """ABF2 with nDataFormat = 1 (float32 samples): a specific error naming the file and the format."""
    data = bytearray((TEST_DATA / "pclamp11_4ch.abf").read_bytes())
    block, _, count = struct.unpack_from("<IIq", data, 236)  # DataSection: rewritten as float32 (as test_io_hostile)
    struct.pack_into("<IIq", data, 236, block, 4, count // 2)
    struct.pack_into("<H", data, 30, 1)
    pblock, = struct.unpack_from("<I", data, 76)
    spe, = struct.unpack_from("<i", data, pblock * 512 + 22)
    struct.pack_into("<i", data, pblock * 512 + 22, spe // 2)
    n = count // 2
    struct.pack_into(f"<{n}f", data, block * 512, *np.linspace(-1, 1, n, dtype=np.float32))
    p = tmp_path / "float.abf"
    p.write_bytes(bytes(data))
    rec = read_recording(p)  # (neo's AxonIO refuses this header patch: the memmap reader only)
    assert np.isfinite(rec.sweep_data(0, 0)).all()
    for call in (lambda: rec.stored_scaling(0), lambda: rec.stored_sweep_data(0, 0)):
        with pytest.raises(StoredSamplesUnavailableError, match=r"float\.abf.*float32.*not integer") as err:
            call()
        assert isinstance(err.value, RecordingError) and isinstance(err.value, LookupError)


def test_neo_objects_in_memory_have_no_stored_integers():
    rec = read_recording(TEST_DATA / "171116sh_0013.abf")
    mem = read_recording(rec.to_neo(sweeps=[0]))
    with pytest.raises(StoredSamplesUnavailableError, match="not stored integer samples"):
        mem.stored_sweep_data(0, 0)


def test_nwb_written_by_write_nwb_hands_back_the_abf_samples(tmp_path):
    """An int16 NWB series is stored samples too: the ABF's counts survive write_nwb and read_recording."""
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.report.nwb import write_nwb

    cr = correct_recording(TEST_DATA / "171116sh_0013.abf", pipette="axobits39_kgluconate_pipette",
                           bath="axobits39_saline_bath", temperature_c=32, zeroing_temperature_c=22)
    back = read_recording(write_nwb(cr, tmp_path / "x.nwb"))
    assert _check_file(back) == 1
    assert back.stored_scaling(0).dtype == np.int16
    for s in (0, 12):
        np.testing.assert_array_equal(back.stored_sweep_data(s, 0), cr.recording.stored_sweep_data(s, 0))
        np.testing.assert_allclose(back.sweep_data(s, 0), cr.sweep_data(s, 0), rtol=1e-13, atol=1e-9)


def test_nwb_series_whose_offsets_differ_per_sweep_have_no_single_scaling(tmp_path):
    """A per-sweep bath schedule gives each sweep its own offset: no one StoredScaling for the channel."""
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.potentials.bath import BathSchedule
    from ephys_correct.report.nwb import write_nwb

    sched = BathSchedule([(0, "axobits39_saline_bath"), (4, {"Na+": 145, "Cl-": 75, "gluconate-": 70})],
                         temperature_c=20, reference="ag_agcl", activity_model=None)
    cr = correct_recording(TEST_DATA / "190619B_0003.abf", pipette="axobits39_kgluconate_pipette",
                           bath="axobits39_saline_bath", temperature_c=20, bath_change=sched)
    back = read_recording(write_nwb(cr, tmp_path / "x.nwb"))
    with pytest.raises(StoredSamplesUnavailableError, match=r"x\.nwb: the series of channel 0 differ"):
        back.stored_scaling(0)
    np.testing.assert_allclose(back.sweep_data(6, 0), cr.sweep_data(6, 0), rtol=1e-13, atol=1e-9)
