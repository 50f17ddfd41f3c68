"""The argument checks of the package, with one message shape.

Every check takes the value, names it (``what``) and says where it was given (``where``:
the public function, or the file and table), and either returns the validated value or
raises an exception from :mod:`ephys_correct.errors` whose message reads::

    <where>: <what> = <value!r> is <problem>; <hint>

e.g. ``free_calcium: temperature_c = nan is not a finite number; give the temperature in
degC`` or ``liquid_junction_potential: method = 'henderso' is not one of 'henderson',
'nernst-planck'; did you mean 'henderson'?``.  Without a *where* the message starts at
*what*.  Public functions check their arguments once with these, then hand validated
values to private kernels.

What is refused everywhere: bools (``True`` is not a temperature), strings and other
non-numbers where a number is expected, NaN and infinities.  Numbers may be Python or
numpy scalars (0-d arrays included).
"""

from __future__ import annotations

import decimal
import difflib
import math
import numbers
import warnings
from collections.abc import Iterable
from typing import Any

from ephys_correct.errors import ConcentrationError, IonicStrengthError, ModelValidityWarning, ParameterError

__all__ = [
    "LIQUID_WATER_RANGE_C",
    "PH_RANGE",
    "message",
    "show",
    "close_names",
    "as_number",
    "check_number",
    "check_positive",
    "check_nonnegative",
    "check_integer",
    "check_concentration",
    "check_ionic_strength",
    "check_temperature_c",
    "check_ph",
    "check_choice",
    "check_flag",
]

#: temperatures outside this interval are refused: a recording solution is liquid water at
#: atmospheric pressure, between its freezing and boiling points (degC)
LIQUID_WATER_RANGE_C = (0.0, 100.0)
#: a pH is -log10 a(H+) as a pH meter reads it; outside the open interval (0, 14) it is refused
PH_RANGE = (0.0, 14.0)


def show(value: Any) -> str:
    """``repr(value)``, shortened for huge integers and long reprs (for messages).

    Parameters
    ----------
    value : Any
        What was given.

    Returns
    -------
    str
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        digits = len(str(abs(value))) if abs(value) < 10 ** 4000 else "thousands of"
        return f"an integer of ~{digits} digits"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def message(what: str, value: Any, problem: str, hint: str = "", *, where: str = "") -> str:
    """The one message shape: ``"<where>: <what> = <value!r> is <problem>; <hint>"``.

    Parameters
    ----------
    what : str
        The parameter, key or field (``"temperature_c"``, ``"[ph] value"``).
    value : Any
        The value given (shown with :func:`show`).
    problem : str
        What is wrong with it, completing "... is <problem>".
    hint : str, optional
        What would be right; omitted when empty.
    where : str, optional
        The public function, or the file (and table) the value came from.

    Returns
    -------
    str
    """
    text = f"{where}: " if where else ""
    text += f"{what} = {show(value)} is {problem}"
    return text + (f"; {hint}" if hint else "")


def close_names(name: Any, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to *n* of *candidates* close to *name* (difflib; case-insensitive).

    Parameters
    ----------
    name : Any
        The unknown name (non-strings have no close names).
    candidates : iterable of str
        The names allowed.
    n : int
        At most this many.

    Returns
    -------
    list of str
        Closest first; empty when nothing is close.
    """
    if not isinstance(name, str):
        return []
    by_lower = {str(c).lower(): str(c) for c in candidates}
    hits = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.6)
    return [by_lower[h] for h in hits]


def as_number(value: Any) -> float | None:
    """*value* as a float if it is a real number (not a bool, not a string), else None.

    Parameters
    ----------
    value : Any
        A Python or numpy real scalar, or a 0-d numeric numpy array.

    Returns
    -------
    float or None
        The float (possibly NaN or infinite; an integer beyond float range gives inf),
        or None for a non-number.
    """
    if isinstance(value, (bool, str, bytes)):
        return None
    dtype = getattr(value, "dtype", None)
    if dtype is not None:  # numpy scalar or array: real numbers only, one value
        if getattr(dtype, "kind", "") not in "iuf" or getattr(value, "ndim", 0) != 0:
            return None
    elif not isinstance(value, (numbers.Real, decimal.Decimal)):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float64
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return None


def _finite(value: Any, what: str, where: str, error: type[Exception], hint: str, sign: str = "") -> float:
    """*value* as a finite float; *sign* ``">= 0"`` or ``"> 0"`` also bounds it below."""
    v = as_number(value)
    problem = ("not a number" if v is None else "not a finite number" if not math.isfinite(v)
               else "not > 0" if sign == "> 0" and v <= 0 else "negative" if sign == ">= 0" and v < 0 else "")
    if problem:
        raise error(message(what, value, problem, hint, where=where))
    return v


def check_number(value: Any, *, what: str, where: str = "", unit: str = "",
                 error: type[Exception] = ParameterError) -> float:
    """A finite real number (not a bool, not a string).

    Parameters
    ----------
    value : Any
        The value to check.
    what, where : str
        Its name, and where it was given (see :func:`message`).
    unit : str, optional
        Its unit, named in the hint.
    error : exception class, default ParameterError
        What is raised.

    Returns
    -------
    float

    Raises
    ------
    ParameterError (or *error*)
        A non-number, a bool, NaN or an infinity.
    """
    return _finite(value, what, where, error, f"give a number of {unit}" if unit else "give a finite number")


def check_positive(value: Any, *, what: str, where: str = "", unit: str = "",
                   error: type[Exception] = ParameterError) -> float:
    """A finite real number > 0 (parameters as in :func:`check_number`).

    Parameters
    ----------
    value, what, where, unit, error
        As in :func:`check_number`.

    Returns
    -------
    float
    """
    return _finite(value, what, where, error, f"give a positive number{' of ' + unit if unit else ''}", "> 0")


def check_nonnegative(value: Any, *, what: str, where: str = "", unit: str = "",
                      error: type[Exception] = ParameterError, hint: str = "") -> float:
    """A finite real number >= 0 (parameters as in :func:`check_number`).

    Parameters
    ----------
    value, what, where, unit, error
        As in :func:`check_number`.
    hint : str, optional
        The hint of the message (default: "give a finite number >= 0 (<unit>)").

    Returns
    -------
    float
    """
    return _finite(value, what, where, error, hint or f"give a finite number >= 0{f' ({unit})' if unit else ''}",
                   ">= 0")


def check_integer(value: Any, *, what: str, where: str = "", error: type[Exception] = ParameterError,
                  minimum: int | None = None) -> int:
    """A whole number (an int, or a float with no fractional part; not a bool).

    Parameters
    ----------
    value, what, where, error
        As in :func:`check_number`.
    minimum : int, optional
        The smallest value allowed.

    Returns
    -------
    int
    """
    hint = "give a whole number" if minimum is None else f"give a whole number >= {minimum}"
    v = _finite(value, what, where, error, hint)
    if v != int(v):
        raise error(message(what, value, "not an integer", hint, where=where))
    if minimum is not None and int(v) < minimum:
        raise error(message(what, value, f"less than {minimum}", hint, where=where))
    return int(v)


def check_concentration(value: Any, *, what: str, where: str = "", unit: str = "mM",
                        error: type[Exception] = ConcentrationError) -> float:
    """A concentration or amount, a finite number >= 0: :class:`ConcentrationError` otherwise.

    Parameters
    ----------
    value, what, where, unit, error
        As in :func:`check_number` (*unit* defaults to mM, *error* to ConcentrationError).

    Returns
    -------
    float
    """
    return check_nonnegative(value, what=what, where=where, error=error,
                             hint=f"concentrations are finite numbers >= 0 ({unit})")


def check_ionic_strength(value: Any, *, what: str = "ionic_strength_mm", where: str = "",
                         unit: str = "mM", error: type[Exception] = IonicStrengthError) -> float:
    """An ionic strength, a finite number >= 0: :class:`IonicStrengthError` otherwise.

    Parameters
    ----------
    value, what, where, unit, error
        As in :func:`check_number` (*unit* ``"mM"`` or ``"mol/kg"``; *error* defaults to
        IonicStrengthError, both a ConcentrationError and a ParameterError).

    Returns
    -------
    float
    """
    return check_nonnegative(value, what=what, where=where, error=error,
                             hint=f"an ionic strength is a finite number >= 0 ({unit})")


def check_temperature_c(temperature_c: Any, *, what: str = "temperature_c", where: str = "",
                        valid_range_c: tuple[float, float] | None = None, data: str = "",
                        error: type[Exception] = ParameterError, stacklevel: int = 3) -> float:
    """Validated Celsius temperature: the one temperature check of the package.

    Parameters
    ----------
    temperature_c : Any
        The temperature, degC.
    what, where, error
        As in :func:`check_number` (*what* defaults to ``"temperature_c"``).
    valid_range_c : (float, float), optional
        Range of the data the caller uses at this temperature (mobilities, constants...);
        outside it a :class:`~ephys_correct.errors.ModelValidityWarning` is issued.
    data : str
        What that range belongs to, for the warning.
    stacklevel : int, default 3
        Passed to :func:`warnings.warn` (3: the caller of the function that checks).

    Returns
    -------
    float

    Raises
    ------
    ParameterError (or *error*)
        Not a finite number, or outside 0-100 degC (no aqueous recording solution is liquid
        there at atmospheric pressure: e.g. 500 degC is refused, not extrapolated).
    """
    t = check_number(temperature_c, what=what, where=where, unit="degC", error=error)
    lo, hi = LIQUID_WATER_RANGE_C
    if not lo <= t <= hi:
        raise error(message(
            what, temperature_c, f"outside {lo:g}-{hi:g} degC",
            f"an aqueous solution at atmospheric pressure is liquid between {lo:g} and {hi:g} degC, "
            "and no result is computed outside that range", where=where))
    if valid_range_c is not None and not valid_range_c[0] <= t <= valid_range_c[1]:
        warnings.warn(
            f"{where + ': ' if where else ''}{what}={t:g} degC is outside {valid_range_c[0]:g}-"
            f"{valid_range_c[1]:g} degC, the range of {data or 'the data used'}; the result is an "
            "extrapolation.",
            ModelValidityWarning,
            stacklevel=stacklevel,
        )
    return t


def check_ph(pH: Any, *, what: str = "pH", where: str = "", error: type[Exception] = ParameterError) -> float:
    """A pH: a finite number strictly between 0 and 14.

    Parameters
    ----------
    pH : Any
        The pH (-log10 a(H+), as a pH meter reads).
    what, where, error
        As in :func:`check_number` (*what* defaults to ``"pH"``).

    Returns
    -------
    float
    """
    hint = "a pH is a finite number between 0 and 14 (pH = -log10 a(H+), as a pH meter reads)"
    v = _finite(pH, what, where, error, hint)
    if not PH_RANGE[0] < v < PH_RANGE[1]:
        raise error(message(what, pH, f"outside {PH_RANGE[0]:g}-{PH_RANGE[1]:g}", hint, where=where))
    return v


def check_choice(value: Any, choices: Iterable[Any], *, what: str, where: str = "",
                 error: type[Exception] = ParameterError, hint: str = "") -> Any:
    """One of *choices* (an activity model, an LJP method, a configuration, a format...).

    Parameters
    ----------
    value : Any
        The name given.
    choices : iterable
        The allowed values (compared with ``==``; strings are matched exactly, case included).
    what, where : str
        Its name (``"activity_model"``), and where it was given.
    error : exception class, default ParameterError
        What is raised.
    hint : str, optional
        Said when no allowed name is close to *value* (e.g. where a similar option lives).

    Returns
    -------
    Any
        *value*, unchanged.

    Raises
    ------
    ParameterError (or *error*)
        *value* is not one of *choices*; the message lists them and suggests close names.
    """
    allowed = tuple(choices)
    if any(_same(value, a) for a in allowed):
        return value
    close = close_names(value, [a for a in allowed if isinstance(a, str)])
    if close:
        hint = f"did you mean {', '.join(map(repr, close))}?"
    elif hint:
        pass
    elif not isinstance(value, str) and all(isinstance(a, str) for a in allowed):
        hint = "give one of these names as a string"
    else:
        hint = "choose one of these"
    raise error(message(what, value, f"not one of {', '.join(map(repr, allowed))}", hint, where=where))


def check_flag(value: Any, *, what: str, where: str = "", error: type[Exception] = ParameterError) -> bool:
    """A flag: ``True`` or ``False`` (a Python or numpy bool; ``1``, ``"yes"`` and None are refused).

    Parameters
    ----------
    value : Any
        The value given.
    what, where, error
        As in :func:`check_number`.

    Returns
    -------
    bool
    """
    numpy_bool = getattr(getattr(value, "dtype", None), "kind", "") == "b" and getattr(value, "ndim", 1) == 0
    if not (isinstance(value, bool) or numpy_bool):
        raise error(message(what, value, "not True or False", "give True or False", where=where))
    return bool(value)


def _same(value: Any, allowed: Any) -> bool:
    if isinstance(allowed, str):
        return isinstance(value, str) and value == allowed
    if allowed is None or isinstance(allowed, bool):
        return value is allowed
    return type(value) is type(allowed) and bool(value == allowed)
