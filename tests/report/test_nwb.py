"""write_nwb: round trip through pynwb, provenance where NWB tools show it, atomic writes."""

from __future__ import annotations

import json
import os

import numpy as np
import pynwb
import pytest
from conftest import TEST_DATA

from ephys_correct.correction.correct import correct_recording
from ephys_correct.errors import OutputExistsError, ParameterError
from ephys_correct.report.nwb import PROVENANCE_SCRATCH_NAME, nwb_sidecar_path, read_nwb_provenance, write_nwb
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
    assert sorted(os.listdir(tmp_path)) == ["wcp.nwb", "wcp.nwb.json"]
    with pynwb.NWBHDF5IO(str(p), "r") as io:
        nwb = io.read()
        assert len(nwb.acquisition) == 11 * 2
        for s in (0, 7):
            im = nwb.acquisition[f"sweep{s:04d}_ch0_Im"]
            vm = nwb.acquisition[f"sweep{s:04d}_ch1_Vm"]
            assert isinstance(im, pynwb.icephys.VoltageClampSeries)
            assert isinstance(vm, pynwb.icephys.PatchClampSeries) and vm.unit == "volts"
            np.testing.assert_array_equal(im.data[:], cr.sweep_data(s, 0))  # exact (float64)
            np.testing.assert_array_equal(vm.data[:], cr.sweep_data(s, 1))
            assert (im.conversion, vm.conversion) == (1e-12, 1e-3)
            assert vm.rate == pytest.approx(cr.sample_rate_hz)
            assert int(vm.sweep_number) == s
        # the correction is visible: stored Vm = raw - V_L
        np.testing.assert_array_equal(nwb.acquisition["sweep0003_ch1_Vm"].data[:],
                                      cr.raw_sweep_data(3, 1) - cr.ljp_mv)
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
            np.testing.assert_array_equal(st.data[:], cr.command(4, hs))
            desc = nwb.icephys_electrodes[f"headstage{hs}"].description
            assert f"LJP V_L = {cr.ljp_mv_by_headstage[hs]:.6g} mV" in desc
            assert ("CsF" if hs % 2 else "K-gluconate") in desc
        # holding -40 mV on DAC 3 stored corrected
        assert nwb.stimulus["stimulus_sweep0000_hs3_dac3"].data[0] == -40.0 - cr.ljp_mv_by_headstage[3]
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
