"""write_nwb: round trip through pynwb, provenance where NWB tools show it, atomic writes."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pynwb
import pytest
from conftest import TEST_DATA

import ephys_correct

from ephys_correct.correction.correct import correct_recording
from ephys_correct.errors import OutputExistsError, ParameterError
from ephys_correct.io import Tag, read_recording
from ephys_correct.report.nwb import (
    PROVENANCE_SCRATCH_NAME,
    load_nwb_metadata,
    nwb_sidecar_path,
    read_nwb_provenance,
    write_nwb,
)
from ephys_correct.chemistry.solutions import Solution

WCP = TEST_DATA / "myokit_wcp-file.wcp"          # 11 sweeps x 256 samples, Im + Vm
FOUR_CH = TEST_DATA / "pclamp11_4ch.abf"         # 10 sweeps x 4000 samples, 4 headstages
CSF_PIPETTE = {"Cs+": 135, "F-": 135, "Na+": 10, "Cl-": 10}  # JPCalcWin manual p.7


@pytest.fixture(scope="module")
def wcp_corrected():
    return correct_recording(WCP, pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath",
                             temperature_c=22, zeroing_temperature_c=20, clamp_mode="voltage_clamp")


def test_round_trip_tiny_file(tmp_path, wcp_corrected):
    cr = wcp_corrected
    p = write_nwb(cr, tmp_path / "wcp.nwb")
    assert sorted(os.listdir(tmp_path)) == ["wcp.ephys_correct_provenance.json", "wcp.nwb"]
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        nwb = io.read()
        assert len(nwb.acquisition) == 11 * 2
        for s in (0, 7):
            im = nwb.acquisition[f"sweep{s:04d}_ch0_Im"]
            vm = nwb.acquisition[f"sweep{s:04d}_ch1_Vm"]
            assert isinstance(im, pynwb.icephys.VoltageClampSeries)
            assert isinstance(vm, pynwb.icephys.PatchClampSeries) and vm.unit == "volts"
            # the file's int16 samples, lossless; data * conversion + offset = the corrected values (SI)
            assert im.data.dtype == vm.data.dtype == np.int16
            np.testing.assert_array_equal(im.data[:], cr.recording.stored_sweep_data(s, 0))
            np.testing.assert_array_equal(vm.data[:], cr.recording.stored_sweep_data(s, 1))
            assert_si(im, cr.sweep_data(s, 0), 1e-12)
            assert_si(vm, cr.sweep_data(s, 1), 1e-3)
            assert im.conversion == cr.recording.stored_scaling(0).scale * 1e-12
            assert vm.resolution == vm.conversion  # one count
            assert vm.rate == pytest.approx(cr.sample_rate_hz)
            assert int(vm.sweep_number) == s
        # the correction is the offset: Vm = file value - V_L (the file's offset is 0)
        assert nwb.acquisition["sweep0003_ch1_Vm"].offset == pytest.approx(-cr.ljp_mv * 1e-3, rel=1e-15)
        assert nwb.acquisition["sweep0003_ch0_Im"].offset == 0.0
        el = nwb.icephys_electrodes["headstage0"]
        for s in (cr.pipette(0).name, cr.pipette(0).source_sha256, "LJP V_L = ", f"{cr.ljp_mv:.6g} mV",
                  "bath relative to pipette", "whole-cell", cr.bath.source_sha256):
            assert s in el.description
        assert "ephys_correct provenance (JSON)" in nwb.notes
        stored = json.loads(nwb.scratch[PROVENANCE_SCRATCH_NAME].data)
        assert len(nwb.intracellular_recordings) == 22
    prov = read_nwb_provenance(p)
    expected = cr.provenance
    for key in ("ljp", "solutions", "temperature_c", "zeroing_temperature_c", "concentration_basis", "configuration",
                "input_sha256", "package_version", "timestamp"):
        assert prov[key] == expected[key] == stored[key]
    side = json.loads(nwb_sidecar_path(p).read_text())
    assert side["ljp"] == expected["ljp"] and len(side["channel_corrections"]) == 2


def assert_si(series, expected, si):
    """series.data * conversion + offset equals *expected* (package units) times *si*, within rounding."""
    got = series.data[:] * series.conversion + series.offset
    np.testing.assert_allclose(got, expected * si, rtol=1e-13, atol=1e-13 * si * max(1.0, np.abs(expected).max()))


def test_stimulus_and_per_headstage_ljps(tmp_path):
    axo = Solution.from_ions({"K+": 145, "Na+": 13, "Cl-": 10, "gluconate-": 145, "Mg2+": 1, "HEPES-": 5},
                             name="K-gluconate")
    csf = Solution.from_ions(CSF_PIPETTE, name="CsF")
    cr = correct_recording(FOUR_CH, pipette={0: axo, 1: csf, 2: axo, 3: csf}, bath="axobits39_saline_bath",
                           temperature_c=20)
    p = write_nwb(cr, tmp_path / "four.nwb")
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        nwb = io.read()
        for hs in range(4):
            st = nwb.stimulus[f"stimulus_sweep0004_hs{hs}_dac{hs}"]
            assert isinstance(st, pynwb.icephys.VoltageClampStimulusSeries)
            # the protocol's command (steps: float32, exactly), the correction in the offset
            assert st.data.dtype == np.float32 and st.conversion == 1e-3
            np.testing.assert_array_equal(st.data[:], cr.recording.command(4, hs))
            assert st.offset == pytest.approx(-cr.ljp_mv_by_headstage[hs] * 1e-3, rel=1e-15)
            assert_si(st, cr.command(4, hs), 1e-3)
            desc = nwb.icephys_electrodes[f"headstage{hs}"].description
            assert f"LJP V_L = {cr.ljp_mv_by_headstage[hs]:.6g} mV" in desc
            assert ("CsF" if hs % 2 else "K-gluconate") in desc
        # holding -40 mV on DAC 3: corrected through the offset
        st = nwb.stimulus["stimulus_sweep0000_hs3_dac3"]
        assert st.data[0] * st.conversion + st.offset == pytest.approx((-40.0 - cr.ljp_mv_by_headstage[3]) * 1e-3,
                                                                       rel=1e-14)
        assert len(nwb.icephys_simultaneous_recordings) == 10


def test_refuses_to_overwrite_and_validates(tmp_path, wcp_corrected):
    p = tmp_path / "x.nwb"
    p.write_bytes(b"keep")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        write_nwb(wcp_corrected, p)
    assert p.read_bytes() == b"keep" and not nwb_sidecar_path(p).exists()
    write_nwb(wcp_corrected, p, overwrite=True)
    assert read_nwb_provenance(p)["input_sha256"] == wcp_corrected.provenance["input_sha256"]
    assert [n for n in os.listdir(tmp_path) if ".tmp" in n] == []
    with pytest.raises(ParameterError, match="must end in '.nwb'"):
        write_nwb(wcp_corrected, tmp_path / "x.h5")
    with pytest.raises(ParameterError, match="CorrectedRecording"):
        write_nwb(wcp_corrected.recording, tmp_path / "y.nwb")


def test_failure_leaves_no_partial_file(tmp_path, wcp_corrected, monkeypatch):
    def boom(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_nwb(wcp_corrected, tmp_path / "x.nwb")
    assert os.listdir(tmp_path) == []


def test_clear_error_without_pynwb(tmp_path, wcp_corrected, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pynwb", None)  # makes `import pynwb` fail
    with pytest.raises(ImportError, match=r"pip install 'ephys_correct\[nwb\]'"):
        write_nwb(wcp_corrected, tmp_path / "x.nwb")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- inspector, metadata, time zone, tags
EXAMPLE = Path(ephys_correct.__file__).parent / "data" / "examples" / "17o05028_ic_steps.abf"
ABF_13 = TEST_DATA / "171116sh_0013.abf"
METADATA = {
    "NWBFile": {"session_description": "whole-cell steps, LJP-corrected", "experimenter": ["Doe, Jane"],
                "institution": "Example University", "lab": "Patch Lab", "cell_id": "cell-7"},
    "Subject": {"subject_id": "mouse-42", "species": "Mus musculus", "age": "P30D", "sex": "M"},
}


def _inspector_findings(path):
    """Messages at CRITICAL or BEST_PRACTICE_VIOLATION from nwbinspector, run in this process."""
    from nwbinspector import Importance, inspect_nwbfile

    bad = (Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION)
    return [f"{m.importance.name} {m.check_function_name} {m.object_type} {m.location}: {m.message}"
            for m in inspect_nwbfile(nwbfile_path=str(path)) if m.importance in bad]


@pytest.mark.parametrize("src", [EXAMPLE, ABF_13], ids=["example", "171116sh_0013"])
def test_nwbinspector_finds_nothing_serious(tmp_path, src):
    cr = correct_recording(src, pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath",
                           temperature_c=32, zeroing_temperature_c=22)
    p = write_nwb(cr, tmp_path / "x.nwb", metadata=METADATA, timezone="Europe/Berlin")
    assert _inspector_findings(p) == []
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        nwb = io.read()
        assert nwb.subject.species == "Mus musculus" and nwb.subject.subject_id == "mouse-42"
        assert tuple(nwb.experimenter) == ("Doe, Jane",) and nwb.lab == "Patch Lab"
        assert {e.cell_id for e in nwb.icephys_electrodes.values()} == {"cell-7"}
        start = nwb.session_start_time
        assert start.utcoffset() is not None
        assert start.replace(tzinfo=None) == cr.recording.start_time.replace(tzinfo=None)
        name = next(iter(nwb.acquisition))
        data = nwb.acquisition[name].data
        assert data.compression == "gzip" and data.shuffle and data.chunks  # lossless, smaller
        np.testing.assert_array_equal(data[:], cr.recording.stored_sweep_data(0, 0))


def test_without_metadata_the_assumed_time_zone_is_stated(tmp_path, wcp_corrected):
    p = write_nwb(wcp_corrected, tmp_path / "x.nwb")
    prov = read_nwb_provenance(p)
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        nwb = io.read()
        assert nwb.session_start_time.utcoffset() is not None
        assert nwb.subject is None
    src = prov["nwb"]["session_start_time_source"]
    assert ("ASSUMED the time zone of the writing machine" in src
            or "modification time" in src)


def test_tags_become_time_intervals(tmp_path, wcp_corrected):
    assert read_recording(TEST_DATA / "2018_11_16_sh_0006.abf").tags[0].comment == "+drug at 3min"  # ABF tags read
    tags = (Tag(0.5, "+drug at 3min"), Tag(1.25, "<washout> & Co"))
    rec = dataclasses.replace(wcp_corrected.recording, tags=tags)  # the tiny file, with tags
    cr = correct_recording(rec, pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath",
                           temperature_c=22, zeroing_temperature_c=20)
    p = write_nwb(cr, tmp_path / "x.nwb")
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        df = io.read().intervals["tags"].to_dataframe()
        assert list(df["comment"]) == [t.comment for t in tags]
        assert list(df["start_time"]) == [t.time_s for t in tags] == list(df["stop_time"])


def test_metadata_file_formats_and_errors(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps(METADATA))
    (tmp_path / "m.toml").write_text('[NWBFile]\nexperimenter = "Doe, Jane"\nlab = "Patch Lab"\n'
                                     '[Subject]\nsubject_id = "mouse-42"\nspecies = "Mus musculus"\n')
    (tmp_path / "m.yaml").write_text("NWBFile:\n  lab: Patch Lab\nSubject:\n  sex: F\n  subject_id: 42\n")
    assert load_nwb_metadata(tmp_path / "m.json") == METADATA
    toml = load_nwb_metadata(tmp_path / "m.toml")
    assert toml["NWBFile"]["experimenter"] == ["Doe, Jane"] and toml["Subject"]["species"] == "Mus musculus"
    assert load_nwb_metadata(tmp_path / "m.yaml") == {"NWBFile": {"lab": "Patch Lab"},
                                                      "Subject": {"sex": "F", "subject_id": "42"}}
    (tmp_path / "bad.json").write_text(json.dumps({"Subject": {"speces": "Mus musculus"}}))
    with pytest.raises(ParameterError, match=r"bad.json.*Subject.speces"):
        load_nwb_metadata(tmp_path / "bad.json")
    (tmp_path / "bad2.json").write_text(json.dumps({"Ecephys": {}}))
    with pytest.raises(ParameterError, match="unknown section 'Ecephys'"):
        load_nwb_metadata(tmp_path / "bad2.json")
    (tmp_path / "m.txt").write_text("{}")
    with pytest.raises(ParameterError, match="suffix '.txt'"):
        load_nwb_metadata(tmp_path / "m.txt")


def test_bad_timezone_is_refused(tmp_path, wcp_corrected):
    with pytest.raises(ParameterError, match="Mars/Olympus"):
        write_nwb(wcp_corrected, tmp_path / "x.nwb", timezone="Mars/Olympus")
    assert os.listdir(tmp_path) == []


def test_nwb_tools_do_not_take_the_sidecar_for_an_nwb_file(tmp_path, wcp_corrected):
    from nwbinspector.utils import get_nwbfiles_from_path

    p = write_nwb(wcp_corrected, tmp_path / "cell.nwb")
    assert nwb_sidecar_path(p).is_file()
    assert [f.name for f in get_nwbfiles_from_path(tmp_path)] == ["cell.nwb"]  # it globs *.nwb*
