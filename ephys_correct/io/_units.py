"""Unit strings of recording channels: parse, classify, convert to mV / pA.

Conversion factors come from the ``quantities`` package (the units library of
the neo stack).  Voltages are converted to mV and currents to pA; any other
physical unit that ``quantities`` knows is kept as written (the channel's kind
is then ``"other"``).  A short list of labels that acquisition programs use for
auxiliary inputs and that ``quantities`` cannot parse (``dB``, ``deg C``,
``units``, ``?``, blank) is accepted as "non-electrical, kept as written".
Anything else raises :class:`~ephys_correct.errors.UnitError`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


from ephys_correct.errors import UnitError

__all__ = ["UnitInfo", "parse_unit", "VOLTAGE", "CURRENT", "OTHER", "NONE"]

#: dimension classes returned in :attr:`UnitInfo.dimension`
VOLTAGE = "voltage"
CURRENT = "current"
OTHER = "other"
NONE = "none"

# The units of nearly every patch-clamp channel, with their exact SI-prefix factors to mV / pA:
# answered without importing `quantities` (~0.1 s), which is imported only for other labels.
_COMMON_ELECTRICAL = {
    "mV": (VOLTAGE, 1.0), "V": (VOLTAGE, 1e3), "uV": (VOLTAGE, 1e-3),
    "pA": (CURRENT, 1.0), "nA": (CURRENT, 1e3), "uA": (CURRENT, 1e6), "mA": (CURRENT, 1e9),
    "A": (CURRENT, 1e12),
}
# physical units that are neither a voltage nor a current (kept as written, kind "other")
_COMMON_OTHER = ("C", "s", "ms", "Hz", "K")

# Labels for auxiliary (non-electrical) inputs that `quantities` does not
# parse, or parses as something the label does not mean ("C" on a channel named
# "Tmp" is a temperature in degC, not coulomb: we keep the label, kind "other").
# Keys are compared after normalisation (see _normalise).
_AUX_LABELS = {
    "": "",
    "?": "",
    "dimensionless": "",
    "none": "",
    "units": "units",
    "unit": "unit",
    "au": "AU",
    "a.u.": "a.u.",
    "arb": "arb",
    "db": "dB",
    "degc": "degC",
    "deg c": "degC",
    "°c": "degC",
    "celsius": "degC",
    "%": "%",
}

# Units missing from quantities but used for patch-clamp currents / voltages.
# value: (canonical unit of its dimension, factor to that unit)
_EXTRA_ELECTRICAL = {
    "fA": (CURRENT, 1e-3),  # femtoampere -> pA
    "nV": (VOLTAGE, 1e-6),  # nanovolt -> mV
}


@dataclass(frozen=True)
class UnitInfo:
    """What a unit string means for a recording channel.

    Attributes
    ----------
    label : str
        The unit string as written in the file, cleaned (``µ`` -> ``u``,
        surrounding blanks and NUL bytes removed).
    dimension : str
        ``"voltage"``, ``"current"``, ``"other"`` (a physical unit that is
        neither) or ``"none"`` (blank / dimensionless / an auxiliary label).
    units : str
        Units of the converted values: ``"mV"`` for voltages, ``"pA"`` for
        currents, otherwise *label*.
    factor : float
        Multiply values in *label* by this to get values in *units*.
    """

    label: str
    dimension: str
    units: str
    factor: float


def _tidy(x) -> float:
    """Drop the last-bit noise of quantities' rescaling (nA -> pA gives 999.9999999999999)."""
    return float(f"{float(x):.15g}")


def _normalise(raw: str) -> str:
    s = raw.replace("\x00", " ").strip()
    s = s.replace("\u00b5", "u").replace("\u03bc", "u")  # micro sign, greek mu
    s = s.replace("\u00b0", "°")
    return s


@functools.lru_cache(maxsize=256)
def parse_unit(raw: str) -> UnitInfo:
    """Classify a unit string and give its conversion factor to mV or pA.

    Parameters
    ----------
    raw : str
        Unit string as found in the file header (``"mV"``, ``"nA"``, ``"V"``,
        ``"A"``, ``"uA"``, ``"µA"``, ``"dB"``, ...).

    Returns
    -------
    UnitInfo

    Raises
    ------
    UnitError
        If the string is neither a unit known to ``quantities`` nor one of the
        accepted auxiliary labels.  The caller adds file and channel to the
        message (see :func:`channel_unit`).

    Examples
    --------
    >>> parse_unit("nA").factor
    1000.0
    >>> parse_unit("V").units
    'mV'
    """
    if not isinstance(raw, str):
        raise UnitError(f"unit must be a string, got {raw!r}")
    label = _normalise(raw)
    aux = _AUX_LABELS.get(label.lower())
    if aux is not None:
        return UnitInfo(label=label, dimension=NONE if aux in ("", "units", "unit", "AU", "a.u.", "arb") else OTHER,
                        units=aux, factor=1.0)
    known = _COMMON_ELECTRICAL.get(label) or _EXTRA_ELECTRICAL.get(label)
    if known is not None:
        dim, factor = known
        return UnitInfo(label=label, dimension=dim, units="mV" if dim == VOLTAGE else "pA", factor=factor)
    if label in _COMMON_OTHER:
        return UnitInfo(label=label, dimension=OTHER, units=label, factor=1.0)
    import quantities as pq

    try:
        q = pq.Quantity(1.0, label)
    except (LookupError, ValueError, TypeError, SyntaxError, AttributeError) as exc:
        raise UnitError(f"unknown unit {label!r}") from exc
    dim = q.simplified.dimensionality
    if dim == pq.V.simplified.dimensionality:
        return UnitInfo(label=label, dimension=VOLTAGE, units="mV", factor=_tidy(q.rescale(pq.mV).magnitude))
    if dim == pq.A.simplified.dimensionality:
        return UnitInfo(label=label, dimension=CURRENT, units="pA", factor=_tidy(q.rescale(pq.pA).magnitude))
    if q.dimensionality == pq.dimensionless.dimensionality:
        return UnitInfo(label=label, dimension=NONE, units="", factor=1.0)
    return UnitInfo(label=label, dimension=OTHER, units=label, factor=1.0)


def channel_unit(raw: str, *, path: str, channel: str) -> UnitInfo:
    """:func:`parse_unit` with a message naming the file and the channel."""
    try:
        return parse_unit(raw)
    except UnitError as exc:
        raise UnitError(
            f"{path}: channel {channel}: unknown unit {_normalise(str(raw))!r} "
            "(expected a voltage such as mV/V, a current such as pA/nA/A, or an auxiliary label)"
        ) from exc
