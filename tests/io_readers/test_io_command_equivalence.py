"""``Recording.command`` equals pyabf's ``sweepC``, value for value.

The ABF command waveform is built from the epoch table read once per file
(``ephys_correct.io._abf.AbfCommand``), not from a full ``pyabf.ABF``.  These
tests hold it to pyabf's own result for every sweep and every DAC:

* every shared ABF (``../shared/data/abf``, or the tests/data copies with
  ../shared absent) and every ABF copied into tests/data;
* crafted epoch tables (a copy of a small file with its epoch entries
  rewritten) for what the real files do not contain: level and duration
  increments, the "use last level" inter-sweep rule, pulse/triangle/cosine/
  biphasic trains, unknown epoch types, epochs running past the sweep end or
  with negative durations (pyabf raises, and so must we), ABF1 epoch arrays.

The one documented difference from ``pyabf.ABF.sweepC`` is the holding level of
ABF1 files (pyabf takes ``fEpochInitLevel``; the true level is
``fDACHoldingLevel``), so the reference is pyabf's ``sweepC`` with
``holdingCommand`` set to the true holding levels.  Values are in mV / pA, so
the reference is scaled by the DAC's unit factor (1 for mV and pA).
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pyabf
import pyabf.stimulus
import pyabf.waveform
import pytest
from io_helpers import LOCAL, copy_to, manifest_params, row_path

from ephys_correct.io import read_recording
from ephys_correct.io._units import parse_unit

ABF_ROWS = manifest_params("abf")
LOCAL_ABFS = sorted(p.name for p in LOCAL.glob("*.abf"))


# --------------------------------------------------------------------------- reference
def _true_holding(abf: pyabf.ABF, path: Path) -> list[float]:
    if abf.abfVersion["major"] == 1:
        return list(struct.unpack_from("<4f", path.read_bytes(), 1394))  # fDACHoldingLevel
    return list(abf._dacSection.fDACHoldingLevel)


def _outcome(fn):
    """(array or exception type name, warning messages) of fn()."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - the exception type is compared
            value = type(exc).__name__
    return value, [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)]


class PyabfReference:
    """pyabf's sweepC for any sweep and DAC (true holding levels for ABF1)."""

    def __init__(self, path: Path):
        self.path = path
        self.abf = pyabf.ABF(str(path))
        self.abf.holdingCommand = _true_holding(self.abf, path)

    def __call__(self, sweep: int, dac: int):
        abf = self.abf
        if dac < abf.channelCount:  # sweepC is reachable through setSweep for as many DACs as ADCs
            def fn():
                abf.setSweep(sweep, channel=dac)
                return np.asarray(abf.sweepC, dtype=np.float64)
        else:  # what sweepC returns for this DAC
            def fn():
                return np.asarray(pyabf.stimulus.Stimulus(abf, dac).stimulusWaveform(sweep), dtype=np.float64)
        return _outcome(fn)


def _assert_same(path: Path, *, require_fast: bool, monkeypatch) -> int:
    """Compare every sweep of every DAC with a command; returns the number of waveforms compared."""
    rec = read_recording(path)
    ref = PyabfReference(path)
    expected = {}
    for dac in range(len(rec.holding)):
        if rec.has_command(dac):
            factor = parse_unit(rec.holding[dac].file_units).factor
            for s in range(rec.n_sweeps):
                value, warns = ref(s, dac)
                expected[s, dac] = (value * factor if isinstance(value, np.ndarray) else value, warns)
    if require_fast:
        # the waveforms must come from the epoch table alone: no pyabf.ABF behind them
        def no_abf(*a, **k):
            raise AssertionError("pyabf.ABF built for a command waveform")

        monkeypatch.setattr(pyabf, "ABF", no_abf)
    for (s, dac), (value, warns) in expected.items():
        got, got_warns = _outcome(lambda: rec.command(s, dac))
        where = f"{path.name} sweep {s} DAC {dac}"
        if isinstance(value, str):
            assert got == value, f"{where}: pyabf raises {value}, command() gave {got!r}"
        else:
            assert isinstance(got, np.ndarray), f"{where}: command() raised {got}"
            assert got.dtype == np.float64
            assert np.array_equal(got, value, equal_nan=True), f"{where}: differs from pyabf sweepC"
            _assert_steps_match(rec, s, dac, got, where)
        assert got_warns == warns, where
    return len(expected)


def _assert_steps_match(rec, s: int, dac: int, wave: np.ndarray, where: str) -> None:
    """``Recording.command_steps`` (issue 16: statistics without the waveform) is ``command`` piece by piece."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steps = rec.command_steps(s, dac)
    if steps is None:
        return
    assert [(a, b) for a, b, _ in steps] == list(zip([0] + [b for _, b, _ in steps[:-1]], [b for _, b, _ in steps]))
    assert steps[0][0] == 0 and steps[-1][1] == len(wave) and all(a < b for a, b, _ in steps), where
    rebuilt = np.concatenate([np.full(b - a, v) for a, b, v in steps])
    assert np.array_equal(rebuilt, wave), f"{where}: command_steps differs from command()"


def test_command_steps_of_a_step_protocol_with_holding_offsets():
    """A voltage-step file gives its commands as pieces, equal to command(), offsets included."""
    rec = read_recording(LOCAL / "pclamp11_4ch.abf")
    dacs = [d for d in range(len(rec.holding))
            if rec.has_command(d) and len({v for _, _, v in rec.command_steps(0, d) or ()}) > 1]
    assert dacs
    shifted = rec.with_offsets({}, note="test", holding_offsets={dacs[0]: -7.25})
    for r in (rec, shifted):
        for s in range(r.n_sweeps):
            steps = r.command_steps(s, dacs[0])
            assert steps is not None and len(steps) > 1
            _assert_steps_match(r, s, dacs[0], r.command(s, dacs[0]), f"sweep {s}")
    assert shifted.command_steps(0, dacs[0])[0][2] == rec.command_steps(0, dacs[0])[0][2] - 7.25
    assert rec.command_steps(0, len(rec.holding)) is None  # no such DAC: None, as has_command says


# --------------------------------------------------------------------------- real files
@pytest.mark.parametrize("row", ABF_ROWS)
def test_command_equals_pyabf_sweepc_shared(row, monkeypatch):
    p = row_path(row, "abf")
    n = _assert_same(p, require_fast=True, monkeypatch=monkeypatch)
    rec = read_recording(p)
    assert n == sum(rec.n_sweeps for d in range(len(rec.holding)) if rec.has_command(d))


@pytest.mark.parametrize("name", LOCAL_ABFS)
def test_command_equals_pyabf_sweepc_local_copies(name, monkeypatch):
    _assert_same(LOCAL / name, require_fast=True, monkeypatch=monkeypatch)


def test_local_copies_and_shared_files_have_commands():
    assert len(LOCAL_ABFS) >= 5
    compared = 0
    for name in LOCAL_ABFS:
        rec = read_recording(LOCAL / name)
        compared += sum(rec.n_sweeps for d in range(len(rec.holding)) if rec.has_command(d))
    assert compared > 100


def test_command_is_lazy_and_the_epoch_table_is_read_once(monkeypatch):
    rec = read_recording(LOCAL / "171116sh_0013.abf")
    cmd = rec._command
    assert cmd._plans == {} and cmd._abf2_epochs is None and cmd._abf is None  # nothing computed at read
    first = rec.command(3, 0)
    assert set(cmd._plans) == {0} and cmd._abf is None
    monkeypatch.setattr(type(cmd), "_read_abf2_epochs", lambda self: pytest.fail("epoch table read twice"))
    np.testing.assert_array_equal(rec.command(3, 0), first)
    assert rec.command(3, 0) is not rec.command(3, 0)  # a fresh array each call
    rec.command(5, 0)[:] = 0
    assert rec.command(5, 0)[-1] != 0


# --------------------------------------------------------------------------- crafted ABF2 epoch tables
#: pclamp11_4ch.abf: 4 ADCs, 8 DACs, 10 sweeps of 4000 samples, 4 EpochPerDAC entries (one step per DAC 0-3),
#: one EpochSection entry, active DAC 0.  The scenarios move all 4 entries to one DAC and rewrite them.
ABF2_BASE = "pclamp11_4ch.abf"


def _abf2_write(path: Path, dac: int, inter_episode: int, types, levels, level_incs, durations, duration_incs,
                periods=(0, 0, 0, 0), widths=(0, 0, 0, 0)) -> None:
    data = bytearray(path.read_bytes())
    block, size, count = struct.unpack_from("<IIi", data, 156)  # EpochPerDAC section
    assert count == 4
    for i in range(4):
        struct.pack_into("<hhhffiiii", data, block * 512 + i * size, i, dac, types[i], levels[i], level_incs[i],
                         durations[i], duration_incs[i], periods[i], widths[i])
    block, size, count = struct.unpack_from("<IIi", data, 108)  # DAC section: nInterEpisodeLevel at 44
    struct.pack_into("<h", data, block * 512 + dac * size + 44, inter_episode)
    struct.pack_into("<hh", data, block * 512 + dac * size + 40, 1, 1)  # waveform enabled, from the epochs
    path.write_bytes(bytes(data))


ABF2_SCENARIOS = {
    "step_ramp_increments_last_level": dict(
        inter_episode=1, types=(1, 2, 2, 1), levels=(-60.0, -20.0, 10.5, -70.25), level_incs=(0.0, 5.0, -2.5, 1.25),
        durations=(300, 400, 200, 500), duration_incs=(10, -20, 30, 0)),
    "step_ramp_increments_holding": dict(
        inter_episode=0, types=(2, 1, 2, 2), levels=(-60.0, -20.0, 10.5, -70.25), level_incs=(0.1, 5.0, -2.5, 1.25),
        durations=(300, 400, 200, 500), duration_incs=(10, -20, 30, 0)),
    "trains": dict(
        inter_episode=1, types=(3, 4, 5, 7), levels=(10.0, -30.0, 20.0, 5.0), level_incs=(1.0, 0.0, -1.0, 2.0),
        durations=(500, 600, 400, 450), duration_incs=(0, 7, 0, -3), periods=(100, 150, 120, 90),
        widths=(30, 50, 0, 40)),
    "off_and_unknown_types": dict(
        inter_episode=1, types=(1, 0, 6, 2), levels=(10.0, -30.0, 20.0, 5.0), level_incs=(1.0, 0.0, -1.0, 2.0),
        durations=(500, 600, 400, 450), duration_incs=(0, 0, 0, 0)),
    "short_ramps": dict(
        inter_episode=0, types=(2, 2, 2, 2), levels=(10.0, -30.0, 20.0, 5.0), level_incs=(1.0, 0.0, -1.0, 2.0),
        durations=(0, 1, 2, 3), duration_incs=(0, 1, 0, 0)),
    "ends_at_the_sweep_end": dict(
        inter_episode=1, types=(1, 2, 1, 2), levels=(10.0, -30.0, 20.0, 5.0), level_incs=(1.0, 0.0, -1.0, 2.0),
        durations=(1000, 1000, 1000, 4000 - 62 - 3000), duration_incs=(0, 0, 0, 0)),
    "runs_past_the_sweep_end": dict(  # pyabf raises ValueError (negative post-epoch chunk)
        inter_episode=0, types=(1, 2, 1, 1), levels=(10.0, -30.0, 20.0, 5.0), level_incs=(0.0, 0.0, 0.0, 0.0),
        durations=(2000, 1000, 500, 400), duration_incs=(0, 0, 0, 100)),
    "negative_duration_from_sweep_4": dict(
        inter_episode=1, types=(1, 2, 1, 1), levels=(10.0, -30.0, 20.0, 5.0), level_incs=(0.0, 0.0, 0.0, 0.0),
        durations=(300, 1000, 500, 400), duration_incs=(-75, 0, 0, 0)),
}


@pytest.mark.parametrize("scenario", sorted(ABF2_SCENARIOS))
def test_crafted_abf2_epoch_tables(scenario, tmp_path, monkeypatch):
    p = copy_to(tmp_path, ABF2_BASE, f"{scenario}.abf")
    _abf2_write(p, dac=1, **ABF2_SCENARIOS[scenario])
    assert _assert_same(p, require_fast=True, monkeypatch=monkeypatch) == 8 * 10


def test_crafted_abf2_more_epochs_than_digital_entries_falls_back_to_pyabf(tmp_path):
    # 4 epochs on the active DAC but 1 EpochSection entry: pyabf's EpochTable raises IndexError (so does sweepC,
    # and pyabf.ABF(path) itself, which calls setSweep(0)); command() keeps that behaviour through pyabf.ABF
    p = copy_to(tmp_path, ABF2_BASE, "digital.abf")
    _abf2_write(p, dac=0, **ABF2_SCENARIOS["step_ramp_increments_holding"])
    with pytest.raises(IndexError):
        pyabf.waveform.EpochTable(pyabf.ABF(str(p), loadData=False), 0)
    rec = read_recording(p)
    for s in range(rec.n_sweeps):
        with pytest.raises(IndexError):
            rec.command(s, 0)
    assert rec._command._plan(0) is None and rec._command._abf is not None  # handed to pyabf.ABF
    np.testing.assert_array_equal(rec.command(0, 1), np.full(4000, rec.holding[1].value))  # no epochs left


# --------------------------------------------------------------------------- crafted ABF1 epoch tables
#: pclamp11_4ch_abf1.abf: 10 sweeps of 4000 samples; 10 epoch slots for each of DAC 0 and 1
ABF1_BASE = "pclamp11_4ch_abf1.abf"


def _abf1_write(path: Path, inter_episode, types, levels, level_incs, durations, duration_incs) -> None:
    data = bytearray(path.read_bytes())
    struct.pack_into("<2h", data, 2296, 1, 1)  # nWaveformEnable
    struct.pack_into("<2h", data, 2300, 1, 1)  # nWaveformSource
    struct.pack_into("<2h", data, 2304, *inter_episode)
    struct.pack_into("<20h", data, 2308, *types)
    struct.pack_into("<20f", data, 2348, *levels)
    struct.pack_into("<20f", data, 2428, *level_incs)
    struct.pack_into("<20i", data, 2508, *durations)
    struct.pack_into("<20i", data, 2588, *duration_incs)
    path.write_bytes(bytes(data))


def _slots(dac0, dac1):
    return tuple(dac0) + (0,) * (10 - len(dac0)) + tuple(dac1) + (0,) * (10 - len(dac1))


ABF1_SCENARIOS = {
    "steps_ramps_increments": dict(
        inter_episode=(1, 0), types=_slots((1, 2, 0, 2, 1), (2, 1, 2)),
        levels=_slots((-60.0, -20.0, 99.0, 10.5, -70.25), (5.0, 15.0, -5.0)),
        level_incs=_slots((0.0, 5.0, 0.0, -2.5, 1.25), (0.5, 0.0, 1.5)),
        durations=_slots((300, 400, 50, 200, 500), (100, 1000, 250)),
        duration_incs=_slots((10, -20, 0, 30, 0), (0, 25, -5))),
    "pulse_type_without_train_and_unknown": dict(
        inter_episode=(0, 1), types=_slots((3, 2, 1), (9, 1)),
        levels=_slots((10.0, -10.0, 0.0), (1.0, 2.0)), level_incs=_slots((1.0, 1.0, 0.0), (0.0, 0.25)),
        durations=_slots((100, 200, 300), (400, 500)), duration_incs=_slots((0, 0, 0), (0, 0))),
    "runs_past_the_sweep_end": dict(
        inter_episode=(0, 0), types=_slots((1, 2), (1,)), levels=_slots((10.0, -10.0), (1.0,)),
        level_incs=_slots((0.0, 0.0), (0.0,)), durations=_slots((3000, 800), (100,)),
        duration_incs=_slots((0, 50), (0,))),
}


@pytest.mark.parametrize("scenario", sorted(ABF1_SCENARIOS))
def test_crafted_abf1_epoch_tables(scenario, tmp_path, monkeypatch):
    p = copy_to(tmp_path, ABF1_BASE, f"{scenario}.abf")
    _abf1_write(p, **ABF1_SCENARIOS[scenario])
    assert _assert_same(p, require_fast=True, monkeypatch=monkeypatch) == 2 * 10
