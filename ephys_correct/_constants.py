"""Physical constants: the exact values of the 2019 redefinition of the SI.

Source: BIPM, *The International System of Units (SI)*, 9th edition (2019),
section 2.2, Table 1 (the defining constants); also CODATA 2018
(Tiesinga et al., Rev. Mod. Phys. 93, 025010 (2021)), where these are exact.
Derived constants (R, F) are products of exact numbers and so are exact too.
"""

from __future__ import annotations

import math

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
    from .errors import ParameterError

    try:
        t = float(temperature_c)
    except (TypeError, ValueError):
        t = math.nan
    if isinstance(temperature_c, bool) or not math.isfinite(t) or t <= -ZERO_CELSIUS_K:
        raise ParameterError(
            f"Invalid value for the 'temperature_c' parameter: got {temperature_c!r}; "
            "it must be a finite temperature above absolute zero (degC)."
        )
    return t + ZERO_CELSIUS_K


#: temperatures outside this interval are refused: a recording solution is liquid water at
#: atmospheric pressure, between its freezing and boiling points (degC)
LIQUID_WATER_RANGE_C = (0.0, 100.0)


def check_temperature_c(temperature_c, *, name: str = "temperature_c",
                        valid_range_c: tuple[float, float] | None = None, data: str = "") -> float:
    """Validated Celsius temperature: the one temperature check of the package.

    Parameters
    ----------
    temperature_c : float
        The temperature, degC.
    name : str
        Parameter name used in messages.
    valid_range_c : (float, float), optional
        Range of the data the caller uses at this temperature (mobilities, constants...);
        outside it a :class:`~ephys_correct.errors.ModelValidityWarning` is issued.
    data : str
        What that range belongs to, for the warning.

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        Not a finite number, or outside 0-100 degC (no aqueous recording solution is liquid
        there at atmospheric pressure: e.g. 500 degC is refused, not extrapolated).
    """
    import warnings

    from .errors import ModelValidityWarning, ParameterError

    kelvin(temperature_c)  # raises ParameterError for non-numbers, bools, NaN, inf, <= 0 K
    t = float(temperature_c)
    lo, hi = LIQUID_WATER_RANGE_C
    if not lo <= t <= hi:
        raise ParameterError(
            f"Invalid value for the {name!r} parameter: got {temperature_c!r} degC; an aqueous "
            f"solution at atmospheric pressure is liquid between {lo:g} and {hi:g} degC, and no "
            "result is computed outside that range."
        )
    if valid_range_c is not None and not valid_range_c[0] <= t <= valid_range_c[1]:
        warnings.warn(
            f"{name}={t:g} degC is outside {valid_range_c[0]:g}-{valid_range_c[1]:g} degC, the range of "
            f"{data or 'the data used'}; the result is an extrapolation.",
            ModelValidityWarning,
            stacklevel=3,
        )
    return t


def thermal_voltage_mv(temperature_c: float) -> float:
    """RT/F in millivolts at *temperature_c* (25.6926 mV at 25 degC)."""
    return GAS_CONSTANT * kelvin(temperature_c) / FARADAY * 1e3
