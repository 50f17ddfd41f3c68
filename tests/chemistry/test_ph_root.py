"""The pH at another temperature: secant steps from the recipe pH, a bracketing solver as the safeguard."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st
from scipy.optimize import brentq

from ephys_correct.chemistry import speciation
from ephys_correct.chemistry._roots import secant_root
from ephys_correct.chemistry.solutions_db import load_solution


@given(root=st.floats(6.0, 8.5), slope=st.floats(0.1, 50.0), curve=st.floats(-2.0, 2.0))
def test_secant_finds_the_root_of_a_smooth_monotone_balance(root, slope, curve):
    def f(x):  # monotone on [root - 1, root + 1] for |curve| <= 2 ... like a titration curve
        return slope * math.tanh(x - root) * (1.0 + 0.1 * curve * (x - root) ** 2)

    found = secant_root(f, 7.3, 6.3, 8.3)
    if found is not None:  # None is allowed (the caller then brackets); a wrong value is not
        assert abs(found - root) < 1e-7


def test_secant_converges_on_a_titration_like_curve_near_the_start():
    found = secant_root(lambda x: 5.0 * math.tanh(x - 7.15), 7.3, 6.3, 8.3)
    assert found is not None and abs(found - 7.15) < 1e-9


def test_secant_gives_up_outside_the_bracket_and_on_a_flat_function():
    assert secant_root(lambda x: x - 10.0, 7.0, 6.0, 8.0) is None
    assert secant_root(lambda x: 1.0, 7.0, 6.0, 8.0) is None


@pytest.mark.parametrize("name, t", [("internal_k_gluconate", 32.0), ("internal_k_gluconate", 4.0),
                                     ("acsf_carbogen_standard", 37.0)])
def test_ph_at_temperature_equals_a_bracketing_solve(name, t):
    sol = load_solution(name)
    target = speciation._bound_protons_mm(speciation.speciate_solution(
        sol, pH=sol.ph, temperature_c=sol.ph_temperature_c))

    def excess(ph):
        return speciation._bound_protons_mm(speciation.speciate_solution(sol, pH=ph, temperature_c=t)) - target

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", speciation.ModelValidityWarning)
        expected = brentq(excess, sol.ph - 1, sol.ph + 1, xtol=1e-10)
        assert speciation.ph_at_temperature(sol, temperature_c=t) == pytest.approx(expected, abs=1e-8)
