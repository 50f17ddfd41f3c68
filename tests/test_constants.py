"""Exact 2019 SI constants and the thermal voltage (BIPM SI Brochure 9th ed., Table 1)."""

import math

import pytest

from ephys_correct import _constants as C
from ephys_correct.errors import ParameterError


def test_defining_constants_are_exact_si_2019():
    assert C.ELEMENTARY_CHARGE == 1.602176634e-19
    assert C.AVOGADRO == 6.02214076e23
    assert C.BOLTZMANN == 1.380649e-23
    assert C.ZERO_CELSIUS_K == 273.15


def test_derived_constants():
    # CODATA 2018 (exact): R = 8.314462618... J/mol/K, F = 96485.33212... C/mol
    assert C.GAS_CONSTANT == pytest.approx(8.31446261815324, rel=1e-15)
    assert C.FARADAY == pytest.approx(96485.33212331001, rel=1e-15)


@pytest.mark.parametrize(
    "t_c, expected_mv",
    [(25.0, 25.6926), (37.0, 26.7267)],  # activity_notes.md sec. 4 (CODATA 2018 exact)
)
def test_thermal_voltage(t_c, expected_mv):
    assert C.thermal_voltage_mv(t_c) == pytest.approx(expected_mv, abs=5e-5)


def test_decade_slopes():
    # STYLE.md closed forms: 59.159 mV/decade at 25 degC, 58.167 at 20 degC
    assert C.thermal_voltage_mv(25) * math.log(10) == pytest.approx(59.159, abs=5e-4)
    assert C.thermal_voltage_mv(20) * math.log(10) == pytest.approx(58.167, abs=5e-4)


@pytest.mark.parametrize("bad", [-273.15, -300, float("nan"), float("inf"), "warm", None, True])
def test_bad_temperature(bad):
    with pytest.raises(ParameterError, match="temperature_c"):
        C.kelvin(bad)
