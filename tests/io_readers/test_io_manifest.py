"""Every file of the shared sample sets against its MANIFEST.csv (and both ABF backends).

With ../shared present: every shared file; without it: the copies in tests/data
(see tests/io_helpers.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from io_helpers import LOCAL, SHARED_DATA, data_source, manifest_params, row_path, split

from ephys_correct.errors import ClampModeError
from ephys_correct.io import parse_unit, read_recording
from ephys_correct.io._clamp import TELEGRAPH_MODES

ABF_ROWS = manifest_params("abf")
OTHER_ROWS = manifest_params("other")


def _file_value(rec, channel: int, value: float) -> float:
    """A value read in the channel's units, back in the file's units."""
    return value / rec.channels[channel].scale


@pytest.mark.parametrize("row", ABF_ROWS)
def test_abf_manifest(row):
    p = row_path(row, "abf")
    rec = read_recording(p)
    assert rec.format == "ABF"
    assert rec.version == row["abf_version_full"]
    assert int(rec.version.split(".")[0]) == int(row["abf_version"])
    assert rec.acquisition_mode == row["protocol"]
    assert rec.n_sweeps == int(row["sweeps"])
    assert rec.sweep_lengths == (int(row["sweep_points"]),) * rec.n_sweeps
    assert rec.sample_rate_hz == pytest.approx(float(row["sample_rate_hz"]), rel=1e-9)
    assert rec.n_channels == int(row["channels"])
    assert [c.file_units for c in rec.channels] == split(row["units"])
    for c in rec.channels:
        info = parse_unit(c.file_units)
        assert c.units == info.units
        assert c.units in ("mV", "pA") or info.dimension not in ("voltage", "current")
    names = split(row["adc_names"])
    if names:
        assert list(rec.channel_names) == names
    # first sweep, first channel: mean and first sample (pyabf, float32) in file units
    y = rec.sweep_data(0, 0)
    assert _file_value(rec, 0, y.mean()) == pytest.approx(float(row["sweep0_ch0_mean"]), abs=1e-3)
    assert _file_value(rec, 0, y[0]) == pytest.approx(float(row["sweep0_ch0_first"]), abs=1e-3)
    # true holding level per DAC (ABF1: fDACHoldingLevel, not pyabf's fEpochInitLevel)
    hold = [float(v) for v in split(row["dac_holding"])]
    dac_units = split(row["dac_units"]) or [""] * len(hold)
    assert len(rec.holding) >= len(hold)
    for d, (v, u) in enumerate(zip(hold, dac_units)):
        assert rec.holding[d].dac == d
        assert rec.holding[d].file_units == u
        assert rec.holding[d].value == pytest.approx(v * parse_unit(u).factor, abs=1e-6)
    # tags: text as pyabf, times with the correct time base
    tags = split(row["tags"], " | ")
    assert len(rec.tags) == int(row["tag_count"]) == len(tags)
    assert [t.comment for t in rec.tags] == tags
    times = [float(t) for t in split(row["tag_times_sec"])]
    assert [t.time_s for t in rec.tags] == pytest.approx(times, abs=1e-3)
    assert rec.comment == row["file_comment"]
    assert (rec.protocol or "None") == row["protocol_name"]
    assert (rec.creator or "") == row["creator"]
    if row["file"] != "f1_saved.abf":  # date is the file mtime there (blank header): not tested
        assert rec.start_time is not None
        assert rec.start_time.isoformat() == row["recording_datetime"]
    else:
        assert rec.start_time is None
    assert rec.sha256 == row["sha256"]
    # telegraphs as recorded
    inst, tmode = split(row["telegraph_instrument"]), split(row["telegraph_mode"])
    for c, (i, m) in enumerate(zip(inst, tmode)):
        expect = TELEGRAPH_MODES[int(m)] if i == "24" else None
        assert rec.channels[c].telegraph_mode == expect


@pytest.mark.parametrize("row", ABF_ROWS)
def test_abf_clamp_mode(row):
    p = row_path(row, "abf")
    rec = read_recording(p)
    assert all(c.kind in ("membrane_potential", "current", "command", "other") for c in rec.channels)
    if row["mode"] in ("voltage_clamp", "current_clamp"):
        assert rec.channels[0].clamp_mode == row["mode"]
        assert set(rec.clamp_modes.values()) == {row["mode"]}
    else:  # "mixed": the header does not establish one mode for the file
        known = {h.clamp_mode for h in rec.headstages if h.clamp_mode_known}
        unresolved = [h for h in rec.headstages if not h.clamp_mode_known]
        # ... so the reader must not claim one: several modes, an unresolved one, or only weak headstages
        # (each explained in interpretation_warnings)
        weak = all(h.confidence == "weak" for h in rec.headstages)
        assert len(known) > 1 or unresolved or (weak and rec.interpretation_warnings)
        if unresolved:
            with pytest.raises(ClampModeError, match="clamp_mode="):
                rec.channel(unresolved[0].channels[0]).clamp_mode
        forced = read_recording(p, clamp_mode="current_clamp")
        assert set(forced.clamp_modes.values()) == {"current_clamp"}


@pytest.mark.parametrize("row", ABF_ROWS)
def test_abf_backends_agree(row):
    """pyabf+memmap and neo read the same samples; neo keeps pyabf-written sweeps too."""
    p = row_path(row, "abf")
    a = read_recording(p, backend="pyabf")
    b = read_recording(p, backend="neo")
    assert b.reader.startswith("neo")
    assert a.n_sweeps == b.n_sweeps == int(row["sweeps"])  # neo alone gives row["neo_segments"]
    assert a.sweep_lengths == b.sweep_lengths
    assert [c.name for c in a.channels] == [c.name for c in b.channels]
    assert [c.units for c in a.channels] == [c.units for c in b.channels]
    assert [t.comment for t in a.tags] == [t.comment for t in b.tags]
    assert [t.time_s for t in a.tags] == pytest.approx([t.time_s for t in b.tags], abs=1e-6)
    for c in range(a.n_channels):
        scale = abs(a.channels[c].scale)
        for s in range(a.n_sweeps):
            x, y = a.sweep_data(s, c), b.sweep_data(s, c)
            # float32 rounding of the file-unit values (pyabf/neo precision), in channel units
            tol = scale * (np.abs(x / scale).max() * 2 ** -23 + 1e-6)
            np.testing.assert_allclose(x, y, rtol=0, atol=tol)


@pytest.mark.parametrize("row", OTHER_ROWS)
def test_other_manifest(row):
    p = row_path(row, "other")
    rec = read_recording(p)
    assert rec.reader.endswith(row["neo_io"])
    assert rec.n_sweeps == int(row["neo_segments"])
    assert rec.n_channels == int(row["signals_per_segment"])
    assert rec.sample_rate_hz == pytest.approx(float(row["sample_rate_hz"]), rel=1e-6)
    assert rec.sweep_lengths[0] == int(row["samples"])
    for c, spec in enumerate(split(row["first_signals"])):
        name, units = spec[:-1].split("[")
        ch = rec.channels[c]
        assert ch.name == (name or f"ch{c}")
        assert (ch.file_units or "dimensionless") == units
        if units == "A":  # AxoGraph stores SI units: read as pA
            assert ch.scale == pytest.approx(1e12)
        if units in ("A", "pA"):
            assert ch.units == "pA" and ch.kind == "current"
        if units in ("V", "mV"):
            assert ch.units == "mV" and ch.kind == "membrane_potential"
    m = _file_value(rec, 0, rec.sweep_data(0, 0).mean())
    assert m == pytest.approx(float(row["seg0_sig0_mean"]), rel=1e-5)
    assert rec.sha256 == row["sha256"]
    assert rec.holding == ()
    d = rec.describe()
    assert d["n_sweeps"] == rec.n_sweeps and d["format"] == rec.format



@pytest.mark.shared_data
def test_full_shared_sets_are_used_when_present():
    """Where ../shared is present (CI) the manifest tests run on every shared file, not the subset."""
    for kind in ("abf", "other"):
        folder, manifest = data_source(kind)
        assert folder == SHARED_DATA / kind and folder != LOCAL
        assert manifest.is_file()
