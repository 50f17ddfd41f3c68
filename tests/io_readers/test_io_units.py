"""Unit strings of recording channels."""

from __future__ import annotations

import pytest

from ephys_correct.errors import UnitError
from ephys_correct.io import parse_unit


@pytest.mark.parametrize("raw,units,factor,dimension", [
    ("mV", "mV", 1.0, "voltage"),
    ("V", "mV", 1e3, "voltage"),
    ("uV", "mV", 1e-3, "voltage"),
    ("pA", "pA", 1.0, "current"),
    ("nA", "pA", 1e3, "current"),
    ("A", "pA", 1e12, "current"),
    ("uA", "pA", 1e6, "current"),
    ("\u00b5A", "pA", 1e6, "current"),
    ("fA", "pA", 1e-3, "current"),
    (" pA\x00\x00 ", "pA", 1.0, "current"),
])
def test_electrical_units(raw, units, factor, dimension):
    info = parse_unit(raw)
    assert (info.units, info.dimension) == (units, dimension)
    assert info.factor == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize("raw,units,dimension", [
    ("", "", "none"), ("?", "", "none"), ("dimensionless", "", "none"), ("units", "units", "none"),
    ("dB", "dB", "other"), ("deg C", "degC", "other"), ("degC", "degC", "other"), ("C", "C", "other"),
    ("mmHg", "mmHg", "other"), ("um", "um", "other"),
])
def test_auxiliary_units_kept(raw, units, dimension):
    info = parse_unit(raw)
    assert (info.units, info.dimension, info.factor) == (units, dimension, 1.0)


@pytest.mark.parametrize("raw", ["zQ", "mVolt?", "pA/"])
def test_unknown_unit(raw):
    with pytest.raises(UnitError, match="unknown unit"):
        parse_unit(raw)
