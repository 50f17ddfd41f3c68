"""The file's own samples: the integers as stored, and the scale and offset that make them values.

Most acquisition formats store ADC counts (ABF, WinWCP, WinEDR, Spike2:
int16) and a per-channel gain and offset in the header.
:meth:`Recording.stored_sweep_data` hands out those integers unchanged and
:meth:`Recording.stored_scaling` the exact affine map to the values of
:meth:`Recording.sweep_data`, so that an exporter can keep the data lossless
and small (NWB: ``data`` + ``conversion`` + ``offset``).  Formats that store
floats (ABF1 with ``nDataFormat = 1``, AxoGraph float columns, NWB float
series, neo objects held in memory) have no integers to hand out:
:class:`StoredSamplesUnavailableError` says so and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ephys_correct.errors import RecordingError

__all__ = ["StoredScaling", "StoredSamplesUnavailableError"]


class StoredSamplesUnavailableError(RecordingError, LookupError):
    """The file stores no integer samples for this channel (float data, or data held in memory)."""


@dataclass(frozen=True)
class StoredScaling:
    """How the stored integer samples of one channel become the values of ``sweep_data``.

    ``stored * scale + offset`` gives the values of
    :meth:`Recording.sweep_data` (in :attr:`units`): bit for bit when the
    reader applies no unit factor (the header's units are already mV / pA)
    and the header has no offset (every ABF and WinWCP file of the test
    data), else within a few units in the last place of ``|stored * scale|
    + |offset|`` (the reader scales in steps, ``scale`` and ``offset`` are
    one affine map).  :meth:`values` repeats the reader's steps and is bit
    for bit in every case.

    Parameters
    ----------
    channel : int
        Channel index.
    dtype : numpy.dtype
        Integer dtype of the stored samples (native byte order), e.g. int16.
    scale : float
        Channel units per count: the header's gain times the unit factor
        (e.g. V -> mV) and any :class:`~ephys_correct.io.UnitFix` scale.
    offset : float
        Channel units: the header's offset (scaled like the gain) plus the
        offsets of :meth:`Recording.with_offsets`.
    units : str
        Units of the values (the channel's: ``"mV"``, ``"pA"``, ...).

    Other Parameters
    ----------------
    _steps : tuple of float
        (header gain, header offset, unit factor, added offset): the
        reader's steps, in its order (internal; used by :meth:`values`).
    """

    channel: int
    dtype: np.dtype
    scale: float
    offset: float
    units: str
    _steps: tuple[float, float, float, float] = field(default=(1.0, 0.0, 1.0, 0.0), repr=False)

    def values(self, stored) -> np.ndarray:
        """The values of stored samples, float64, exactly as :meth:`Recording.sweep_data` computes them.

        The reader's steps in its order: ``((stored * gain + header offset)
        * unit factor) + added offset``; equal to ``stored * scale + offset``
        up to rounding.

        Parameters
        ----------
        stored : array_like
            Integer samples of this channel (from :meth:`Recording.stored_sweep_data`).

        Returns
        -------
        numpy.ndarray
            A new float64 array in :attr:`units`.
        """
        gain, offset, unit_scale, extra = self._steps
        out = np.asarray(stored, dtype=np.float64) * gain
        if offset:
            out += offset
        if unit_scale != 1.0:
            out *= unit_scale
        if extra:
            out += extra
        return out


def combine(channel: int, dtype, gain: float, offset: float, unit_scale: float, extra_offset: float,
            units: str) -> StoredScaling:
    """The StoredScaling of ``((stored * gain + offset) * unit_scale) + extra_offset``, in that order."""
    scale, off = float(gain), float(offset)
    if unit_scale != 1.0:
        scale *= unit_scale
        off *= unit_scale
    if extra_offset:
        off += extra_offset
    return StoredScaling(channel=int(channel), dtype=np.dtype(dtype).newbyteorder("="), scale=scale, offset=off,
                         units=units, _steps=(float(gain), float(offset), float(unit_scale), float(extra_offset)))


def check_integer(path: str, dtype, what: str) -> np.dtype:
    """*dtype* when it is an integer type, else StoredSamplesUnavailableError naming *what* stores floats."""
    dt = np.dtype(dtype)
    if dt.kind not in "iu":
        raise StoredSamplesUnavailableError(f"{path}: {what} stores {dt.name} values, not integer samples; "
                                            "there are no stored integers to hand out (use sweep_data)")
    return dt
