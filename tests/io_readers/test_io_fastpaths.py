"""Fast paths of the reader (issue 16): units without `quantities`, one memmap per file."""

from __future__ import annotations

import pickle

import numpy as np
import pyabf
import pytest
import quantities as pq

from conftest import TEST_DATA
from ephys_correct.io import read_recording
from ephys_correct.io._units import _COMMON_ELECTRICAL, _COMMON_OTHER, CURRENT, OTHER, VOLTAGE, parse_unit


@pytest.mark.parametrize("label", sorted(_COMMON_ELECTRICAL))
def test_common_units_agree_with_quantities(label):
    dim, factor = _COMMON_ELECTRICAL[label]
    target = pq.mV if dim == VOLTAGE else pq.pA
    assert pq.Quantity(1.0, label).rescale(target).magnitude == pytest.approx(factor, rel=1e-15)
    info = parse_unit(label)
    assert (info.dimension, info.factor, info.units) == (dim, factor, "mV" if dim == VOLTAGE else "pA")
    assert dim in (VOLTAGE, CURRENT)


@pytest.mark.parametrize("label", _COMMON_OTHER)
def test_common_other_units_are_what_quantities_says(label):
    q = pq.Quantity(1.0, label)
    dim = q.simplified.dimensionality
    assert dim not in (pq.V.simplified.dimensionality, pq.A.simplified.dimensionality)
    assert q.dimensionality != pq.dimensionless.dimensionality
    info = parse_unit(label)
    assert (info.dimension, info.units, info.factor) == (OTHER, label, 1.0)


@pytest.mark.parametrize("name", ["pclamp11_4ch.abf", "pclamp11_4ch_abf1.abf", "171116sh_0013.abf"])
def test_reused_memmap_gives_the_per_read_map_values(name):
    path = TEST_DATA / name
    rec, ref = read_recording(path), read_recording(path)
    assert rec._source.kind == "memmap"
    ref._source.__dict__["_whole_map"] = False  # the per-read map (used when the file is short)
    for s in range(rec.n_sweeps):
        for c in range(rec.n_channels):
            a = rec.sweep_data(s, c)
            assert np.array_equal(a, ref.sweep_data(s, c))
            assert np.array_equal(rec.sweep_data(s, c, start=3, stop=17), a[3:17])
            a[:] = 12345.0  # a new array each time: the file's map is never written through
            assert not np.array_equal(rec.sweep_data(s, c), a)
    src = pickle.loads(pickle.dumps(rec._source))  # the map is per process, made again after unpickling
    assert "_whole_map" not in src.__dict__
    assert np.array_equal(src.read(0, 0, 0, rec.sweep_lengths[0]) * rec.channels[0].scale, rec.sweep_data(0, 0))
    # the same values as pyabf (sweep 0, channel 0; pyabf scales to float32)
    abf = pyabf.ABF(str(path))
    abf.setSweep(0, channel=0)
    assert np.allclose(rec.sweep_data(0, 0) / rec.channels[0].scale, abf.sweepY, rtol=1e-5, atol=1e-3) \
        or rec.channels[0].units != abf.sweepUnitsY
