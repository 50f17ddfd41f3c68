"""Recording model and read_recording behaviour on the small copies in tests/data."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pyabf
import pytest
from io_helpers import abf2_replace_string, abf2_set_adc_field, copy_to, local, make_bad_units_abf

from ephys_correct.errors import (
    ClampModeError,
    ParameterError,
    RecordingError,
    UnitError,
    UnsupportedFormatError,
)
from ephys_correct.io import (
    CLAMP_MODES,
    Channel,
    CommandUnavailableError,
    Recording,
    UnitFix,
    read_recording,
)
from ephys_correct.io._clamp import AdcSpec, DacSpec, assign, protocol_mode
from ephys_correct.io._units import parse_unit

VC = local("171116sh_0013.abf")
TAGGED = local("2018_11_16_sh_0006.abf")
FOUR = local("pclamp11_4ch.abf")
FOUR_ABF1 = local("pclamp11_4ch_abf1.abf")
WCP = local("myokit_wcp-file.wcp")
AXGX = local("AxoGraph_X_File.axgx")
AXGD = local("AxoGraph_Digitized_File.axgd")


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- public API
def test_public_names():
    rec = read_recording(VC)
    assert isinstance(rec, Recording)
    assert rec.n_sweeps == 13 and rec.sample_rate_hz == 20000.0
    assert rec.format == "ABF" and rec.version == "2.6.0.0"
    assert rec.path == str(VC.resolve())
    assert rec.reader.startswith("pyabf") and "memmap" in rec.reader
    assert rec.protocol == "0203 IV fast"
    assert rec.start_time.isoformat() == "2017-11-16T14:05:47.248000"
    ch = rec.channels[0]
    assert isinstance(ch, Channel)
    assert (ch.name, ch.units, ch.kind, ch.headstage, ch.clamp_mode) == ("IN 0", "pA", "current", 0,
                                                                         "voltage_clamp")
    assert rec.holding[0].value == -70.0 and rec.holding[0].units == "mV" and rec.holding[0].headstage == 0
    assert rec.tags == ()
    assert rec.access_resistance_mohm is None
    assert rec.sweep_times(0)[1] == pytest.approx(1 / 20000)
    np.testing.assert_array_equal(rec.time_s, rec.sweep_times(0))
    assert rec.sweep_times(2, absolute=True)[0] == pytest.approx(rec.sweep_start_s[2])
    assert rec.duration_s > 0
    d = rec.describe()
    for key in ("n_sweeps", "sample_rate_hz", "channels", "holding", "tags", "format", "version", "path",
                "reader", "protocol", "start_time"):
        assert key in d
    assert set(d["channels"][0]) >= {"name", "units", "kind", "headstage", "clamp_mode"}


def test_sweep_data_by_index_and_name_is_fresh_float64():
    rec = read_recording(FOUR)
    a = rec.sweep_data(3, 2)
    b = rec.sweep_data(3, "IN 2")
    assert a.dtype == np.float64 and a.ndim == 1 and a.shape == (4000,)
    np.testing.assert_array_equal(a, b)
    a[:] = 0
    assert np.any(rec.sweep_data(3, 2) != 0)
    np.testing.assert_array_equal(rec.sweep_data(3, 2, start=100, stop=200), b[100:200])
    np.testing.assert_array_equal(rec.sweep_data(-1, -1), rec.sweep_data(9, 3))


def test_matches_pyabf_for_every_sweep_and_channel():
    rec = read_recording(FOUR)
    abf = pyabf.ABF(str(FOUR))
    arr = rec.to_array()
    assert arr.shape == (10, 4, 4000)
    for s in range(rec.n_sweeps):
        for c in range(rec.n_channels):
            abf.setSweep(s, channel=c)
            np.testing.assert_allclose(rec.sweep_data(s, c), abf.sweepY, atol=1e-4)
            np.testing.assert_array_equal(arr[s, c], rec.sweep_data(s, c))
    sub = rec.to_array(channels=["IN 1"], sweeps=[2, 5], dtype=np.float32)
    assert sub.dtype == np.float32 and sub.shape == (2, 1, 4000)


def test_bad_channel_and_sweep_arguments():
    rec = read_recording(FOUR)
    with pytest.raises(ParameterError, match="no channel named 'IN 9'.*Did you mean"):
        rec.sweep_data(0, "IN 9")
    with pytest.raises(ParameterError, match="channel index 4 out of range"):
        rec.sweep_data(0, 4)
    with pytest.raises(ParameterError, match="sweep 10 out of range"):
        rec.sweep_data(10, 0)
    with pytest.raises(ParameterError, match="sweep must be an integer"):
        rec.sweep_data(1.5, 0)


def test_recording_is_immutable_and_file_untouched(tmp_path):
    p = copy_to(tmp_path, "171116sh_0013.abf")
    before = (_sha(p), os.stat(p).st_mtime_ns, sorted(os.listdir(tmp_path)))
    rec = read_recording(p)
    rec.to_array()
    rec.command(0, 0)
    rec.to_neo(sweeps=[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.n_sweeps = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.channels[0].units = "mV"
    with pytest.raises(TypeError):
        rec.access_resistance_by_headstage[0] = 1.0
    assert isinstance(rec.channels, tuple) and isinstance(rec.holding, tuple) and isinstance(rec.tags, tuple)
    assert (_sha(p), os.stat(p).st_mtime_ns, sorted(os.listdir(tmp_path))) == before


def test_sha256_is_lazy_and_checks_the_file_did_not_change(tmp_path):
    p = copy_to(tmp_path, "2018_11_16_sh_0006.abf")
    rec = read_recording(p)
    assert "sha256" not in rec._cache
    assert rec.sha256 == _sha(p)
    rec2 = read_recording(p)
    with open(p, "ab") as f:
        f.write(b"\0" * 10)
    with pytest.raises(RecordingError, match="changed on disk"):
        rec2.sha256


def test_per_sweep_read_does_not_load_the_file():
    rec = read_recording(TAGGED)  # 60 sweeps x 2000 samples
    tracemalloc.start()
    try:
        means = [rec.sweep_data(s, 0).mean() for s in range(rec.n_sweeps)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(means) == 60
    assert peak < 200_000  # one sweep is 16 kB as float64; the file is 248 kB


# --------------------------------------------------------------------------- ABF traps
def test_abf1_holding_is_fdacholdinglevel_not_pyabf_holdingcommand():
    r1, r2 = read_recording(FOUR_ABF1), read_recording(FOUR)
    assert [h.value for h in r1.holding[:4]] == [-10.0, -20.0, 0.0, -40.0]
    assert [h.value for h in r2.holding[:4]] == [-10.0, -20.0, 0.0, -40.0]
    assert pyabf.ABF(str(FOUR_ABF1), loadData=False).holdingCommand[:4] == [10.0, 0.0, 0.0, 0.0]
    assert [h.headstage for h in r1.holding] == [0, 1, 2, 3]
    for s in (0, 5):
        np.testing.assert_allclose(r1.sweep_data(s, 1), r2.sweep_data(s, 1), atol=0.01)
        for dac in (0, 1):
            np.testing.assert_array_equal(r1.command(s, dac), r2.command(s, dac))
    assert r1.command(0, 0)[0] == -10.0  # pre-epoch at the true holding
    assert not r1.has_command(2)
    with pytest.raises(CommandUnavailableError, match="DAC 0 and 1 only"):
        r1.command(0, 2)
    assert r2.has_command(2)


def test_command_matches_pyabf_sweepc():
    rec = read_recording(VC)
    abf = pyabf.ABF(str(VC))
    for s in range(rec.n_sweeps):
        abf.setSweep(s)
        np.testing.assert_array_equal(rec.command(s, 0), abf.sweepC)
    np.testing.assert_array_equal(rec.command(0, 5), np.zeros(20000))  # DAC without waveform: at holding
    with pytest.raises(CommandUnavailableError, match="no DAC 9"):
        rec.command(0, 9)
    with pytest.raises(CommandUnavailableError, match="stores no command"):
        read_recording(WCP).command(0, 0)


def test_tag_times_use_the_synch_time_unit_on_both_backends():
    import neo

    for backend in ("pyabf", "neo"):
        rec = read_recording(TAGGED, backend=backend)
        assert [(round(t.time_s, 4), t.comment) for t in rec.tags] == [(180.3776, "+drug at 3min")]
    # what neo itself reports (lTagTime / sampling rate): the trap
    seg = neo.io.AxonIO(str(TAGGED)).read_block().segments[0]
    assert float(seg.events[0].times[0]) == pytest.approx(721.5104, abs=1e-3)


def test_neo_backend_reads_abf_and_agrees():
    a, b = read_recording(FOUR, backend="pyabf"), read_recording(FOUR, backend="neo")
    assert b.reader.startswith("neo") and "AxonIO" in b.reader
    np.testing.assert_allclose(a.to_array(), b.to_array(), atol=1e-9)
    assert [h.value for h in a.holding] == [h.value for h in b.holding]


def test_neo_logging_is_captured_not_printed(capfd):
    read_recording(FOUR_ABF1, backend="neo").sweep_data(0, 0)
    read_recording(AXGD).sweep_data(0, 0)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_backend_argument():
    with pytest.raises(ParameterError, match=r"^read_recording: backend = 'abf' is not one of .*'neo'"):
        read_recording(VC, backend="abf")
    with pytest.raises(UnsupportedFormatError, match="backend='pyabf' reads only ABF"):
        read_recording(WCP, backend="pyabf")
    assert read_recording(WCP, backend="neo").n_sweeps == 11


# --------------------------------------------------------------------------- headstages and clamp mode
def test_four_headstages_paired_with_dacs_by_order():
    rec = read_recording(FOUR)
    assert [c.headstage for c in rec.channels] == [0, 1, 2, 3]
    assert [h.dac for h in rec.headstages] == [0, 1, 2, 3]
    assert all(h.clamp_mode == "voltage_clamp" and h.clamp_mode_source == "units" for h in rec.headstages)
    assert rec.holding[4].headstage is None


def test_clamp_mode_override_string_and_mapping():
    rec = read_recording(FOUR, clamp_mode="current_clamp")
    assert set(rec.clamp_modes.values()) == {"current_clamp"}
    assert all(c.clamp_mode_source == "user" for c in rec.channels)
    assert any("overrides the file's evidence" in w for w in rec.warnings)
    # the header units now contradict the mode: flagged, not converted
    assert all(c.units_suspect for c in rec.channels)
    rec = read_recording(FOUR, clamp_mode={2: "i_zero"})
    assert [rec.clamp_modes[h] for h in range(4)] == ["voltage_clamp", "voltage_clamp", "i_zero", "voltage_clamp"]
    with pytest.raises(ClampModeError, match=r"^\S*4ch\S*\.abf: clamp_mode = 'voltage-clamp' is not one of .*; did you mean 'voltage_clamp'"):
        read_recording(FOUR, clamp_mode="voltage-clamp")
    with pytest.raises(ParameterError, match=r"4ch\.abf: clamp_mode key = 7 is not one of 0, 1, 2, 3; give a headstage of this file$"):
        read_recording(FOUR, clamp_mode={7: "voltage_clamp"})


def test_headstage_override():
    rec = read_recording(FOUR, headstages={"IN 3": None, 1: 0})
    assert [c.headstage for c in rec.channels] == [0, 0, 2, None]
    assert rec.channels[3].kind == "other" and rec.channels[3].clamp_mode is None
    assert [h.index for h in rec.headstages] == [0, 2]
    with pytest.raises(ParameterError, match="headstages: no channel named 'IN 7'"):
        read_recording(FOUR, headstages={"IN 7": 0})


def test_ambiguous_clamp_mode_raises_on_use_with_instructions():
    rec = read_recording(WCP)  # Im (pA) + Vm (mV), no command or telegraph information
    assert rec.n_sweeps == 11
    assert [c.kind for c in rec.channels] == ["current", "membrane_potential"]
    with pytest.raises(ClampModeError, match=r"headstage 0 .*clamp_mode='voltage_clamp'.*--clamp-mode"):
        rec.channels[0].clamp_mode
    with pytest.raises(ClampModeError):
        rec.clamp_modes
    assert rec.describe()["channels"][0]["clamp_mode"] is None
    fixed = read_recording(WCP, clamp_mode="voltage_clamp")
    assert fixed.channels[1].clamp_mode == "voltage_clamp"


def test_multiclamp_telegraph_modes(tmp_path):
    for mode, expected in ((0, "voltage_clamp"), (1, "current_clamp"), (2, "i_zero")):
        p = copy_to(tmp_path, "171116sh_0013.abf", f"tele{mode}.abf")
        abf2_set_adc_field(p, 0, 18, "<h", mode)
        rec = read_recording(p)
        assert rec.channels[0].telegraph_mode == expected
        assert rec.channels[0].clamp_mode == expected
        assert rec.channels[0].clamp_mode_source == "telegraph"


def test_telegraph_ignored_for_non_multiclamp_instrument(tmp_path):
    p = copy_to(tmp_path, "171116sh_0013.abf", "axopatch.abf")
    abf2_set_adc_field(p, 0, 4, "<h", 15)  # Axopatch 200B: nTelegraphMode is always 0
    abf2_set_adc_field(p, 0, 18, "<h", 1)
    rec = read_recording(p)
    assert rec.channels[0].telegraph_mode is None
    assert rec.channels[0].clamp_mode == "voltage_clamp" and rec.channels[0].clamp_mode_source == "units"


def test_access_resistance_from_telegraph(tmp_path):
    p = copy_to(tmp_path, "171116sh_0013.abf", "ra.abf")
    abf2_set_adc_field(p, 0, 20, "<f", 12.5)
    rec = read_recording(p)
    assert rec.access_resistance_mohm == 12.5
    assert dict(rec.access_resistance_by_headstage) == {0: 12.5}


def test_protocol_name_rule():
    assert protocol_mode("Apply ACh with imaging (VC) 2") == "voltage_clamp"
    assert protocol_mode("Cc_minidigi") == "current_clamp"
    assert protocol_mode("4s-HALO Current Clamp Pulse") == "current_clamp"
    assert protocol_mode("0203 IV fast") is None
    assert protocol_mode("VC then CC") is None
    assert protocol_mode(None) is None


def _spec(i, name, units, adc=None, tele=None):
    return AdcSpec(index=i, name=name, file_units=units, unit=parse_unit(units), adc=adc, telegraph=tele,
                   telegraph_instrument=None if tele is None else 24)


def _dac(d, units, use=None, holding=None):
    return DacSpec(index=d, name=f"Cmd {d}", file_units=units, unit=parse_unit(units), holding=holding, use=use)


def test_monitor_or_second_cell_decided_by_the_dacs():
    # DAC 0 drives a current waveform, DAC 1 (mV) is idle
    dacs = [_dac(0, "pA", "epochs", 0.0), _dac(1, "mV", "none", 0.0)]
    # IN 0 (Vm, telegraph I-clamp) + IN 1 (current, no telegraph): one headstage, IN 1 is its monitor
    ch, hs, warns, _ = assign("f", [_spec(0, "IN 0", "mV", 0, 1), _spec(1, "I_MTest 1", "pA", 1)], dacs,
                              protocol=None, abf=True)
    assert [c.headstage for c in ch] == [0, 0] and [h.clamp_mode for h in hs] == ["current_clamp"]
    assert [c.kind for c in ch] == ["membrane_potential", "current"] and not any(c.units_suspect for c in ch)
    assert [c.role for c in ch] == ["measured", "monitor"] and hs[0].confidence == "strong" and not warns
    # IN 0 and IN 2, both membrane potentials with their own telegraph: two headstages, the second weak
    ch, hs, warns, _ = assign("f", [_spec(0, "IN 0", "mV", 0, 1), _spec(1, "IN 2", "mV", 2, 1)], dacs,
                              protocol=None, abf=True)
    assert [c.headstage for c in ch] == [0, 1] and [h.confidence for h in hs] == ["strong", "weak"]
    assert any("headstages={1: 0}" in w for w in warns)
    # a command monitor channel joins its headstage as kind "command"
    ch, hs, _, _ = assign("f", [_spec(0, "IN 0", "pA", 0, 0), _spec(1, "AO #0", "mV", 1)],
                          [_dac(0, ""), _dac(1, "")], protocol=None, abf=True)
    assert [c.kind for c in ch] == ["current", "command"] and hs[0].clamp_mode == "voltage_clamp"
    assert ch[1].role == "command"


def test_mixed_mode_pair():
    dacs = [_dac(0, "mV", "epochs", -70.0), _dac(1, "pA", "epochs", 0.0)]
    ch, hs, warns, _ = assign("f", [_spec(0, "IN 0", "pA", 0, 0), _spec(1, "IN 1", "mV", 1, 1)], dacs,
                              protocol=None, abf=True)
    assert [c.headstage for c in ch] == [0, 1]
    assert [h.clamp_mode for h in hs] == ["voltage_clamp", "current_clamp"]
    assert not warns


def test_protocol_and_adc_unit_fallbacks():
    # DAC and ADC both pA, no telegraph: the protocol name decides, and the channel is suspect
    ch, hs, warns, _ = assign("f", [_spec(0, "IN 0", "pA", 0)], [_dac(0, "pA")], protocol="IC steps", abf=True)
    assert hs[0].clamp_mode == "current_clamp" and hs[0].clamp_mode_source == "protocol"
    assert ch[0].units_suspect
    # ... without a protocol hint it is unresolved
    ch, hs, warns, _ = assign("f", [_spec(0, "IN 0", "pA", 0)], [_dac(0, "pA")], protocol="steps", abf=True)
    assert not hs[0].clamp_mode_known
    with pytest.raises(ClampModeError, match="DAC 0 units 'pA'"):
        ch[0].clamp_mode
    # DAC without units: ADC units alone decide, with a warning
    ch, hs, warns, _ = assign("f", [_spec(0, "IN 0", "pA", 0)], [_dac(0, "")], protocol=None, abf=True)
    assert hs[0].clamp_mode == "voltage_clamp" and hs[0].clamp_mode_source == "adc_units"
    assert any("ADC units alone" in w for w in warns)


# --------------------------------------------------------------------------- units
def test_bad_units_detected_and_reported_not_raised(tmp_path):
    p = make_bad_units_abf(tmp_path)
    rec = read_recording(p)
    ch = rec.channels[0]
    assert ch.units == "pA" and ch.units_suspect and ch.clamp_mode == "current_clamp"
    assert rec.holding[0].file_units == "pA"
    msg = [w for w in rec.warnings if "probably wrong" in w]
    assert len(msg) == 1 and str(p) in msg[0] and "unit_fix={0: ('mV'" in msg[0]
    assert rec.describe()["channels"][0]["units_suspect"] is True


def test_unit_fix_applies_confirmed_scale(tmp_path):
    p = make_bad_units_abf(tmp_path)
    raw = read_recording(p)
    for fix in ({0: ("mV", 1 / 20)}, {"IN 0": UnitFix("mV", 0.05)}):
        rec = read_recording(p, unit_fix=fix)
        ch = rec.channels[0]
        assert (ch.units, ch.kind, ch.units_suspect) == ("mV", "membrane_potential", False)
        assert ch.unit_fix == UnitFix("mV", 0.05) and ch.file_units == "pA"
        np.testing.assert_allclose(rec.sweep_data(1, 0), raw.sweep_data(1, 0) / 20)
        assert any("unit fix applied by the user" in w for w in rec.warnings)
    rec = read_recording(p, unit_fix={0: ("V", 1 / 20)})  # values / 20 are in V -> x1000 to mV
    np.testing.assert_allclose(rec.sweep_data(0, 0), raw.sweep_data(0, 0) / 20 * 1000)
    with pytest.raises(UnitError, match="must be a voltage or a current"):
        read_recording(p, unit_fix={0: ("degC", 1.0)})
    with pytest.raises(UnitError, match="unknown unit 'zQ'"):
        read_recording(p, unit_fix={0: ("zQ", 1.0)})
    with pytest.raises(ParameterError, match=r"bad_units\.abf: unit_fix\[0\] scale = 0 is zero; give a finite non-zero"):
        read_recording(p, unit_fix={0: ("mV", 0)})
    with pytest.raises(ParameterError, match="channel index 3 out of range"):
        read_recording(p, unit_fix={3: ("mV", 1.0)})
    with pytest.raises(ParameterError, match=r"\(units, scale\)"):
        read_recording(p, unit_fix={0: "mV"})


def test_unknown_unit_string_raises_unit_error_naming_file_channel_unit(tmp_path):
    p = copy_to(tmp_path, "171116sh_0013.abf", "weird.abf")
    abf2_replace_string(p, b"pA", b"zQ")
    with pytest.raises(UnitError) as exc:
        read_recording(p)
    assert str(p) in str(exc.value) and "channel 0 'IN 0'" in str(exc.value) and "'zQ'" in str(exc.value)


def test_si_units_converted_to_mv_and_pa():
    rec = read_recording(AXGD)
    assert [(c.file_units, c.units, c.kind) for c in rec.channels[:3]] == [
        ("A", "pA", "current"), ("V", "mV", "membrane_potential"), ("", "", "other")]
    assert rec.channels[0].scale == pytest.approx(1e12) and rec.channels[1].scale == pytest.approx(1e3)
    assert rec.channels[2].headstage is None and rec.channels[2].clamp_mode is None


# --------------------------------------------------------------------------- other formats, export, copies
def test_axograph_metadata():
    rec = read_recording(AXGX)
    assert rec.format == "AxoGraph" and rec.version == "5"
    assert rec.protocol == "EPSC + Amplitudes"
    assert rec.start_time.isoformat() == "2005-03-17T23:45:19"
    assert rec.channels[0].clamp_mode == "voltage_clamp"  # only a current signal: ADC-units rule
    assert rec.channels[0].clamp_mode_source == "adc_units"
    assert rec.sweep_start_s[0] == pytest.approx(5e-5)  # neo: first sample one interval after 0
    assert rec.holding == () and not rec.has_command(0)


def test_to_neo_block():
    import quantities as pq

    rec = read_recording(FOUR)
    block = rec.to_neo(sweeps=[1, 2], channels=["IN 0", 3])
    assert len(block.segments) == 2
    seg = block.segments[0]
    assert [s.name for s in seg.analogsignals] == ["IN 0", "IN 3"]
    sig = seg.analogsignals[1]
    assert sig.units == pq.pA and float(sig.sampling_rate.rescale("Hz")) == 20000.0
    assert list(sig.array_annotations["channel_ids"]) == ["3"]
    np.testing.assert_array_equal(np.asarray(sig)[:, 0], rec.sweep_data(1, 3))
    tagged = read_recording(TAGGED).to_neo(sweeps=[0])
    ev = tagged.segments[0].events[0]
    assert float(ev.times[0]) == pytest.approx(180.3776) and list(ev.labels) == ["+drug at 3min"]


def test_with_offsets_builds_corrected_copy():
    rec = read_recording(FOUR)
    new = rec.with_offsets({"IN 1": -15.6}, holding_offsets={1: -15.6}, note="LJP test")
    np.testing.assert_allclose(new.sweep_data(0, 1), rec.sweep_data(0, 1) - 15.6)
    np.testing.assert_array_equal(new.sweep_data(0, 0), rec.sweep_data(0, 0))
    assert new.holding[1].value == pytest.approx(-35.6) and rec.holding[1].value == -20.0
    np.testing.assert_allclose(new.command(0, 1), rec.command(0, 1) - 15.6)
    assert new.corrections == ("LJP test",) and rec.corrections == ()
    np.testing.assert_allclose(new.to_array()[0, 1], new.sweep_data(0, 1))
    with pytest.raises(ParameterError, match="note"):
        rec.with_offsets({0: 1.0}, note="")
    with pytest.raises(ParameterError, match="no DAC 12"):
        rec.with_offsets({}, holding_offsets={12: 1.0}, note="x")


def test_clamp_modes_constant():
    assert CLAMP_MODES == ("voltage_clamp", "current_clamp", "i_zero")


def test_io_does_not_import_pandas():
    import subprocess
    import sys

    code = ("import sys; import ephys_correct.io as m; "
            f"m.read_recording({str(FOUR)!r}).sweep_data(0, 0); "
            "m.read_recording(" + repr(str(WCP)) + ").sweep_data(0, 0); "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pyabf_written_abf1_keeps_its_sweeps_on_both_backends(tmp_path):
    """pyabf's writer (v1.3, no synch array): neo alone sees one segment; we keep the sweeps."""
    import neo
    import pyabf.abfWriter

    data = np.vstack([np.full(1000, k * 10.0) + np.arange(1000) * 0.01 for k in range(4)])
    p = tmp_path / "written.abf"
    pyabf.abfWriter.writeABF1(data, str(p), 10000, units="mV")
    assert len(neo.io.AxonIO(str(p)).read_block(lazy=True).segments) == 1
    for backend in ("pyabf", "neo"):
        rec = read_recording(p, backend=backend)
        assert rec.n_sweeps == 4 and rec.sweep_lengths == (1000,) * 4 and rec.sample_rate_hz == 10000.0
        assert rec.version == "1.2.9.9" and rec.start_time is None and rec.protocol is None
        for k in range(4):
            np.testing.assert_allclose(rec.sweep_data(k, 0), data[k], atol=0.01)
        assert rec.channels[0].clamp_mode == "current_clamp"  # only a voltage signal, no DAC units
        assert any("without the extended section" in w for w in rec.warnings)
        assert not rec.has_command(0)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"clamp_mode": {2: "izero"}}, r"clamp_mode\[2\] = 'izero' is not one of .*; did you mean 'i_zero'\?$"),
    ({"clamp_mode": 3}, r"clamp_mode = 3 is not one of None, .*; or give a mapping headstage -> mode$"),
    ({"unit_fix": {0: ("mV", 0)}}, r"unit_fix\[0\] scale = 0 is zero; give a finite non-zero scale$"),
    ({"unit_fix": {0: ("mV", "10")}}, r"unit_fix\[0\] scale = '10' is not a number"),
    ({"unit_fix": {0: ("mV", float("nan"))}}, r"unit_fix\[0\] scale = nan is not a finite number"),
    ({"headstages": {0: -1}}, r"headstages\[0\] = -1 is less than 0; give a whole number >= 0$"),
    ({"headstages": {0: True}}, r"headstages\[0\] = True is not a number"),
])
def test_reader_overrides_name_the_file_the_key_and_the_value(kwargs, pattern):
    with pytest.raises((ParameterError, ClampModeError), match=r"^\S*pclamp11_4ch\.abf: " + pattern):
        read_recording(FOUR, **kwargs)
