"""``Recording.command(sweep, dac, start=, stop=)`` builds a sample range of the command (issue 17 item 1)."""

from __future__ import annotations

import numpy as np
import pytest

from abf_craft import MULTICLAMP, Adc, Dac, sweeps, write_abf1
from conftest import TEST_DATA
from ephys_correct.correction.correct import correct_recording
from ephys_correct.io import read_recording

RANGES = [(0, 1), (0, None), (5, 6), (3, 250), (99, 101), (100, 300), (150, 151), (-7, None), (250, -1),
          (390, 400), (400, 400), (300, 200)]


def _ramp_abf(tmp_path):
    """Voltage clamp, DAC 0: a ramp epoch (type 2) then a step, level and duration increments off."""
    return write_abf1(tmp_path / "ramp.abf", sweeps(3, [-50.0]), 10000.0, [Adc("IN 0", "pA", (MULTICLAMP, 0))],
                      [Dac("Cmd 0", "mV", -70.0, [(2, -20.0, 100), (1, -40.0, 80), (2, 10.0, 50)]),
                       Dac("Cmd 1", "mV", -60.0)], protocol="ramp")


def _check(rec, s, d):
    whole = rec.command(s, d)
    n = len(whole)
    for start, stop in RANGES + [(0, n), (n // 3, 2 * n // 3), (n - 1, n)]:
        part = rec.command(s, d, start=start, stop=stop)
        np.testing.assert_array_equal(part, whole[start:stop], err_msg=f"sweep {s} DAC {d} [{start}:{stop}]")
        if part.size:
            part[0] = 1e9  # a new array each time
            assert rec.command(s, d)[slice(start, stop)][0] != 1e9


def test_ramp_and_steps_any_range(tmp_path):
    rec = read_recording(_ramp_abf(tmp_path))
    assert rec.has_command(0)
    assert np.ptp(np.diff(rec.command(0, 0)[:120])) > 0  # a ramp is there
    for s in range(rec.n_sweeps):
        for d in (0, 1):
            _check(rec, s, d)


@pytest.mark.parametrize("name", ["171116sh_0013.abf", "2018_11_16_sh_0006.abf", "pclamp11_4ch.abf",
                                  "pclamp11_4ch_abf1.abf"])
def test_sample_files_any_range(name):
    rec = read_recording(TEST_DATA / name)
    dacs = [d for d in range(len(rec.holding)) if rec.has_command(d)]
    assert dacs
    for s in (0, rec.n_sweeps - 1):
        for d in dacs:
            _check(rec, s, d)


def test_corrected_command_range_is_the_slice(tmp_path):
    corrected = correct_recording(_ramp_abf(tmp_path), pipette="internal_k_gluconate", bath="acsf_carbogen_standard",
                                  temperature_c=32)
    whole = corrected.command(1, 0)
    np.testing.assert_array_equal(corrected.command(1, 0, start=90, stop=260), whole[90:260])
    assert corrected.command_corrections[0].quantity == "potential"
    assert not np.array_equal(whole, corrected.recording.command(1, 0))  # corrected, not raw
