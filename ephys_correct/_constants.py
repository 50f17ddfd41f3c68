"""Physical constants: the exact values of the 2019 redefinition of the SI.

Source: BIPM, *The International System of Units (SI)*, 9th edition (2019),
section 2.2, Table 1 (the defining constants); also CODATA 2018
(Tiesinga et al., Rev. Mod. Phys. 93, 025010 (2021)), where these are exact.
Derived constants (R, F) are products of exact numbers and so are exact too.
"""

from __future__ import annotations

from ephys_correct._validate import LIQUID_WATER_RANGE_C, check_number, check_temperature_c, message
from ephys_correct.errors import ParameterError

__all__ = [
    "ELEMENTARY_CHARGE", "AVOGADRO", "BOLTZMANN", "GAS_CONSTANT", "FARADAY", "ZERO_CELSIUS_K",
    "LIQUID_WATER_RANGE_C", "kelvin", "check_temperature_c", "thermal_voltage_mv",
]

#: elementary charge, C (exact)
ELEMENTARY_CHARGE = 1.602176634e-19
#: Avogadro constant, 1/mol (exact)
AVOGADRO = 6.02214076e23
#: Boltzmann constant, J/K (exact)
BOLTZMANN = 1.380649e-23
#: molar gas constant R = N_A k, J/(mol K) (exact)
GAS_CONSTANT = AVOGADRO * BOLTZMANN
#: Faraday constant F = N_A e, C/mol (exact)
FARADAY = AVOGADRO * ELEMENTARY_CHARGE
#: 0 degC in kelvin (exact by definition of the Celsius scale)
ZERO_CELSIUS_K = 273.15


def kelvin(temperature_c: float) -> float:
    """Convert a Celsius temperature to kelvin (the only place this is done)."""
    t = check_number(temperature_c, what="temperature_c", where="kelvin", unit="degC")
    if t <= -ZERO_CELSIUS_K:
        raise ParameterError(message("temperature_c", temperature_c, "not above absolute zero",
                                     "give a temperature in degC", where="kelvin"))
    return t + ZERO_CELSIUS_K


def thermal_voltage_mv(temperature_c: float) -> float:
    """RT/F in millivolts at *temperature_c* (25.6926 mV at 25 degC)."""
    return GAS_CONSTANT * kelvin(temperature_c) / FARADAY * 1e3
