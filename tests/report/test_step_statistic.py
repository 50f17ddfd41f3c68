"""V_m of a stepped command from its pieces equals numpy's statistic of the waveform (issue 16).

``driving_force._step_statistic`` takes the mean or the median of a window of a
command given as constant pieces (``Recording.command_steps``) without building
the waveform; it must agree with ``np.mean`` / ``np.median`` of the samples to
rounding (the snapshot tables allow 1e-12 mV).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ephys_correct.report.driving_force import _step_statistic

levels = st.floats(min_value=-200.0, max_value=200.0, allow_nan=False, allow_infinity=False)


@st.composite
def pieces_and_window(draw):
    lengths = draw(st.lists(st.integers(1, 40), min_size=1, max_size=8))
    values = draw(st.lists(levels, min_size=len(lengths), max_size=len(lengths)))
    bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    steps = [(bounds[k], bounds[k + 1], values[k]) for k in range(len(lengths))]
    n = bounds[-1]
    i0 = draw(st.integers(0, n - 1))
    i1 = draw(st.integers(i0 + 1, n))
    return steps, i0, i1


@given(pieces_and_window(), st.sampled_from(["mean", "median"]))
def test_step_statistic_equals_numpy(case, statistic):
    steps, i0, i1 = case
    wave = np.concatenate([np.full(b - a, v) for a, b, v in steps])
    expected = (np.mean if statistic == "mean" else np.median)(wave[i0:i1])
    got = _step_statistic(steps, i0, i1, statistic)
    assert abs(got - expected) <= 1e-12 * max(1.0, abs(expected))


def test_step_statistic_median_between_two_levels():
    # 2 samples at -70 and 2 at -50: the median is the mean of the middle two, -60
    assert _step_statistic([(0, 2, -70.0), (2, 4, -50.0)], 0, 4, "median") == -60.0
    assert _step_statistic([(0, 2, -70.0), (2, 5, -50.0)], 0, 5, "median") == -50.0
    assert _step_statistic([(0, 2, -70.0), (2, 4, -50.0)], 1, 3, "mean") == -60.0
