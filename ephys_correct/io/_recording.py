"""The Recording model: one file, sweeps x channels x samples, in mV and pA."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from ephys_correct.io._display import recording_html
from ephys_correct.errors import ParameterError, RecordingError, suggest

__all__ = [
    "Channel",
    "Headstage",
    "Holding",
    "Tag",
    "UnitFix",
    "Recording",
    "CommandUnavailableError",
    "StoredScaling",
    "StoredSamplesUnavailableError",
    "CLAMP_MODES",
    "SIGNAL_KINDS",
    "SIGNAL_ROLES",
    "HEADSTAGE_CONFIDENCE",
]

# the parts of a recording and their vocabularies are defined once, in _parts
from ephys_correct.io._parts import (  # noqa: F401  (re-exported)
    CLAMP_MODES, HEADSTAGE_CONFIDENCE, SIGNAL_KINDS, SIGNAL_ROLES, Channel, Headstage, Holding, Tag, UnitFix,
    _clamp_mode_help,
)
from ephys_correct.io._stored import StoredSamplesUnavailableError, StoredScaling, combine


class CommandUnavailableError(RecordingError, LookupError):
    """The file holds no command waveform for this DAC (or for this format)."""




def _ro_mapping(m: Mapping | None) -> Mapping:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True, eq=False)
class Recording:
    """An electrophysiology recording read from one file.

    Immutable: data are read from the file on demand (one sweep of one channel
    at a time) and returned as fresh float64 arrays in the channel's units (mV
    or pA).  Build corrected copies with :meth:`with_offsets`.  Create with
    :func:`ephys_correct.io.read_recording`; the fields below are also the
    attributes.

    Parameters
    ----------
    path : str
        Absolute path of the file.
    format : str
        ``"ABF"``, ``"WinWCP"``, ``"AxoGraph"`` or the neo reader's format name.
    version : str
        Format version; for ABF the header version as pyabf reports it
        (``"2.6.0.0"``, ``"1.8.3.0"``; a v1.3 float reads ``"1.2.9.9"``).
    reader : str
        What read it, e.g. ``"pyabf 2.3.8 header + numpy.memmap"`` or
        ``"neo 0.14.6 AxonIO"``.
    channels : tuple of Channel
        ADC channels in sampling order.
    headstages : tuple of Headstage
        Amplifier channels with their clamp mode.
    n_sweeps : int
        Number of sweeps (gap-free files have one).
    sample_rate_hz : float
        Samples per second per channel.
    sweep_lengths : tuple of int
        Samples per sweep.
    sweep_start_s : tuple of float
        Start of each sweep, seconds from the start of the recording.
    t_start_s : float
        Time of the first sample within a sweep (0 for ABF; one sample
        interval for AxoGraph files, as neo reports).
    holding : tuple of Holding
        Per DAC, the holding level; ``holding[k].dac == k``.  Empty when the
        format stores no command information.
    tags : tuple of Tag
        Tags with times in seconds from the start of the recording.
    comment : str
        File comment ("" when none).
    protocol : str or None
        Protocol name (file stem of the protocol path), None when none.
    acquisition_mode : str
        ``"episodic"``, ``"gap-free"``, ``"event-driven fixed-length"``,
        ``"event-driven variable-length"``, ``"high-speed oscilloscope"`` or
        ``"records"`` (non-ABF formats).
    start_time : datetime.datetime or None
        Acquisition start, None when the header has no valid date.
    creator : str or None
        Acquisition program and version.
    access_resistance_by_headstage : Mapping[int, float]
        Access (series) resistance in MOhm per headstage, from the MultiClamp
        telegraph; empty when the file does not record it.
    warnings : tuple of str
        Reportable problems found while reading (suspect units, clamp mode
        inferred from weak evidence, ...).  The library never prints them.
        Includes every :attr:`interpretation_warnings` entry.
    corrections : tuple of str
        Descriptions of the corrections applied by :meth:`with_offsets`.
    headstage_evidence : tuple of str
        How the headstages (which channels belong to which amplifier channel
        and DAC) and their clamp modes were decided, one sentence each.
    interpretation_warnings : tuple of str
        The warnings about the interpretation of the file: headstages or
        clamp modes resting on weak or conflicting evidence, DACs in use
        without a recorded channel, channels tied to no headstage, suspect
        units.  Each names the override (``headstages=``, ``clamp_mode=``,
        ``unit_fix=``) that states the truth.  Every output made from this
        recording should carry them.

    Other Parameters
    ----------------
    _source : object
        The sample reader (``read(sweep, channel, start, stop)``,
        ``read_block(...)``) of the backend (internal).
    _offsets : tuple of float
        Per channel, the offset added when data are read (internal; see
        :meth:`with_offsets`).
    _holding_offsets : tuple of float
        Per DAC, the offset added to the holding level and the command
        (internal).
    _command : object or None
        The command-waveform builder, None for formats without one (internal).
    _file_state : tuple of (int, float) or None
        Size and mtime of the file when it was read, to detect changes
        (internal).
    _cache : dict
        Lazily computed values such as the SHA-256 (internal).
    """

    path: str
    format: str
    version: str
    reader: str
    channels: tuple[Channel, ...]
    headstages: tuple[Headstage, ...]
    n_sweeps: int
    sample_rate_hz: float
    sweep_lengths: tuple[int, ...]
    sweep_start_s: tuple[float, ...]
    t_start_s: float
    holding: tuple[Holding, ...]
    tags: tuple[Tag, ...]
    comment: str
    protocol: str | None
    acquisition_mode: str
    start_time: _dt.datetime | None
    creator: str | None
    access_resistance_by_headstage: Mapping[int, float]
    warnings: tuple[str, ...]
    corrections: tuple[str, ...] = ()
    headstage_evidence: tuple[str, ...] = ()
    interpretation_warnings: tuple[str, ...] = ()
    _source: Any = field(default=None, repr=False)
    _offsets: tuple[float, ...] = field(default=(), repr=False)
    _holding_offsets: tuple[float, ...] = field(default=(), repr=False)
    _command: Any = field(default=None, repr=False)
    _file_state: tuple[int, float] | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)
    #: (byte offset, value) of a CRC-32 of the whole file stored in the header (ABF >= 1.82), or None
    _checksum: tuple[int, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "access_resistance_by_headstage", _ro_mapping(self.access_resistance_by_headstage))
        if not self._offsets:
            object.__setattr__(self, "_offsets", (0.0,) * len(self.channels))
        if not self._holding_offsets:
            object.__setattr__(self, "_holding_offsets", (0.0,) * len(self.holding))

    # ------------------------------------------------------------------ basics
    def __repr__(self) -> str:
        return (f"Recording({os.path.basename(self.path)!r}, format={self.format!r} {self.version}, "
                f"{self.n_sweeps} sweeps x {len(self.channels)} channels @ {self.sample_rate_hz:g} Hz, "
                f"reader={self.reader!r})")

    def _repr_html_(self) -> str:
        """Notebook view: file, format, sweeps, rate, duration, start time, channels and warnings."""
        return recording_html(self)

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channels)

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Channel names in order."""
        return tuple(c.name for c in self.channels)

    @property
    def n_samples(self) -> int:
        """Samples per sweep.

        Raises
        ------
        RecordingError
            If sweeps differ in length (event-driven variable-length files);
            use :attr:`sweep_lengths`.
        """
        if len(set(self.sweep_lengths)) != 1:
            raise RecordingError(f"{self.path}: sweeps have different lengths; use sweep_lengths")
        return self.sweep_lengths[0]

    @property
    def duration_s(self) -> float:
        """Seconds from the start of the first sweep to the end of the last."""
        return float(self.sweep_start_s[-1] + self.sweep_lengths[-1] / self.sample_rate_hz)

    @property
    def clamp_modes(self) -> Mapping[int, str]:
        """Headstage -> clamp mode.

        Raises
        ------
        ClampModeError
            If any headstage's mode is not established.
        """
        return MappingProxyType({h.index: h.clamp_mode for h in self.headstages})

    @property
    def access_resistance_mohm(self) -> float | None:
        """Access resistance in MOhm, None when the file does not record it.

        With several headstages the largest recorded value is returned (the
        conservative one for series-resistance warnings); see
        :attr:`access_resistance_by_headstage` for each.
        """
        vals = list(self.access_resistance_by_headstage.values())
        return max(vals) if vals else None

    @property
    def sha256(self) -> str:
        """SHA-256 of the file, computed on first access (streamed, 1 MiB blocks).

        The same pass verifies the checksum the file stores, if any (see
        :meth:`verify_checksum`).

        Raises
        ------
        RecordingError
            If the file changed (size or mtime) since it was read.
        CorruptRecordingError
            If the file stores a checksum and its bytes do not match it.
        """
        h = self._cache.get("sha256")
        if h is None:
            self._hash_file()
            h = self._cache["sha256"]
        return h

    def verify_checksum(self) -> bool:
        """Check the file against the checksum stored in its header.

        ABF 1.82 and later (with the 6144-byte extended header) store a
        CRC-32 of the whole file in ``ulFileCRC`` (byte 5314; the CRC is
        taken with those 4 bytes zeroed; 0 means none).  ABF2 files from
        Clampex 10/11, WinWCP and AxoGraph files store none, so a flipped
        bit in their sample data cannot be detected.  The file is read once
        (streamed) and the result cached, together with :attr:`sha256`.

        Returns
        -------
        bool
            True if the file stores a checksum and matches it; False if it
            stores none.

        Raises
        ------
        CorruptRecordingError
            The file's bytes do not match its checksum (bit flips,
            truncation, an edit that did not update the CRC).
        RecordingError
            If the file changed (size or mtime) since it was read.
        """
        if "checksum_ok" not in self._cache:
            self._hash_file()
        return self._cache["checksum_ok"]

    def _hash_file(self) -> None:
        """Stream the file once: SHA-256 and, when the header stores one, the CRC-32 to verify."""
        import zlib

        from ephys_correct.errors import CorruptRecordingError

        self._check_unchanged()
        digest = hashlib.sha256()
        crc_spec = self._checksum  # (offset of the stored CRC-32, stored value) or None
        crc = 0
        pos = 0
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        with open(self.path, "rb", buffering=0) as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                block = view[:n]  # no copy: hashed and checksummed in place
                digest.update(block)
                if crc_spec is not None:
                    at = crc_spec[0] - pos
                    if -4 < at < n:  # the stored CRC counts as zeros
                        lo, hi = max(at, 0), min(at + 4, n)
                        crc = zlib.crc32(block[:lo], crc)
                        crc = zlib.crc32(bytes(hi - lo), crc)
                        crc = zlib.crc32(block[hi:], crc)
                    else:
                        crc = zlib.crc32(block, crc)
                pos += n
        if crc_spec is not None and crc != crc_spec[1]:
            raise CorruptRecordingError(
                f"{self.path}: corrupt data: the file's CRC-32 is {crc} but its header (ulFileCRC at byte "
                f"{crc_spec[0]}) says {crc_spec[1]}; bytes changed after acquisition (bit flips, truncation or an "
                "edit)")
        self._cache["sha256"] = digest.hexdigest()
        self._cache["checksum_ok"] = crc_spec is not None

    def _check_unchanged(self) -> None:
        if self._file_state is None:
            return
        st = os.stat(self.path)
        if (st.st_size, st.st_mtime) != self._file_state:
            raise RecordingError(f"{self.path}: file changed on disk since it was read (size/mtime differ)")

    # ------------------------------------------------------------------ lookup
    def channel_index(self, channel: int | str) -> int:
        """Index of a channel given by index or name.

        Parameters
        ----------
        channel : int or str
            Channel index (negative counts from the end) or name.

        Returns
        -------
        int
            Position in :attr:`channels`.

        Raises
        ------
        ParameterError
            Unknown name or index out of range.
        """
        n = len(self.channels)
        if isinstance(channel, (bool, np.bool_)):
            raise ParameterError(f"{self.path}: channel must be an index or a name, got {channel!r}")
        if isinstance(channel, (int, np.integer)):
            c = int(channel)
            if c < 0:
                c += n
            if not 0 <= c < n:
                raise ParameterError(f"{self.path}: channel index {channel} out of range (0..{n - 1})")
            return c
        if isinstance(channel, str):
            matches = [c.index for c in self.channels if c.name == channel]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ParameterError(f"{self.path}: channel name {channel!r} is not unique (indices {matches}); "
                                     "use the index")
            raise ParameterError(f"{self.path}: no channel named {channel!r}; channels: "
                                 f"{list(self.channel_names)}." + suggest(channel, self.channel_names))
        raise ParameterError(f"{self.path}: channel must be an index or a name, got {channel!r}")

    def channel(self, channel: int | str) -> Channel:
        """The :class:`Channel` given by index or name.

        Parameters
        ----------
        channel : int or str
            Channel index (negative counts from the end) or name.

        Returns
        -------
        Channel
            The channel; unknown names and indices raise ``ParameterError``.
        """
        return self.channels[self.channel_index(channel)]

    def _sweep_index(self, sweep: int) -> int:
        if isinstance(sweep, (bool, np.bool_)) or not isinstance(sweep, (int, np.integer)):
            raise ParameterError(f"{self.path}: sweep must be an integer, got {sweep!r}")
        s = int(sweep)
        if s < 0:
            s += self.n_sweeps
        if not 0 <= s < self.n_sweeps:
            raise ParameterError(f"{self.path}: sweep {sweep} out of range (0..{self.n_sweeps - 1})")
        return s

    # ------------------------------------------------------------------ data
    def sweep_data(self, sweep: int, channel: int | str, *, start: int = 0, stop: int | None = None) -> np.ndarray:
        """One sweep of one channel, float64, in the channel's units.

        Parameters
        ----------
        sweep : int
            Sweep index (negative counts from the end).
        channel : int or str
            Channel index or name.
        start, stop : int, optional
            Sample range inside the sweep (Python slice semantics, no step);
            only that range is read from the file.

        Returns
        -------
        numpy.ndarray
            A new array (modifying it does not affect the recording).
        """
        s = self._sweep_index(sweep)
        c = self.channel_index(channel)
        n = self.sweep_lengths[s]
        lo, hi, _ = slice(start, stop).indices(n)
        hi = max(hi, lo)
        out = self._source.read(s, c, lo, hi)
        scale = self.channels[c].scale
        if scale != 1.0:
            out *= scale
        off = self._offsets[c]
        if off:
            out += off
        return out

    def stored_scaling(self, channel: int | str) -> StoredScaling:
        """How the file's integer samples of a channel become the values of :meth:`sweep_data`.

        Parameters
        ----------
        channel : int or str
            Channel index or name.

        Returns
        -------
        StoredScaling
            ``dtype`` (e.g. int16), ``scale`` and ``offset`` with
            ``stored_sweep_data(...) * scale + offset == sweep_data(...)``
            (bit for bit without a unit factor or header offset, else within
            a few units in the last place), in the channel's units.

        Raises
        ------
        StoredSamplesUnavailableError
            The file stores floats for this channel (ABF ``nDataFormat = 1``,
            AxoGraph float columns, NWB float series) or the recording was
            built from neo objects in memory; the message says which.
        """
        c = self.channel_index(channel)
        get = getattr(self._source, "stored_scaling", None)
        if get is None:
            raise StoredSamplesUnavailableError(
                f"{self.path}: the {self.format} data read by {self.reader} are values, not stored integer "
                "samples (use sweep_data)")
        dtype, gain, offset = get(c)
        chan = self.channels[c]
        return combine(c, dtype, gain, offset, chan.scale, self._offsets[c], chan.units)

    def stored_sweep_data(self, sweep: int, channel: int | str, *, start: int = 0,
                          stop: int | None = None) -> np.ndarray:
        """One sweep of one channel as the file stores it: the integer samples (ADC counts).

        ``stored_sweep_data(s, c) * scale + offset`` with :meth:`stored_scaling`
        gives :meth:`sweep_data`; exporters use it to keep the data lossless
        and small.

        Parameters
        ----------
        sweep : int
            Sweep index (negative counts from the end).
        channel : int or str
            Channel index or name.
        start, stop : int, optional
            Sample range inside the sweep (Python slice semantics, no step).

        Returns
        -------
        numpy.ndarray
            A new integer array (``stored_scaling(channel).dtype``, native byte order).

        Raises
        ------
        StoredSamplesUnavailableError
            As :meth:`stored_scaling`.
        """
        s = self._sweep_index(sweep)
        c = self.channel_index(channel)
        self.stored_scaling(c)  # raises for float data
        lo, hi, _ = slice(start, stop).indices(self.sweep_lengths[s])
        return self._source.read_stored(s, c, lo, max(hi, lo))

    def iter_chunks(self, sweep: int, channel: int | str, *, chunk_samples: int = 1 << 20):
        """Yield one sweep of one channel in consecutive pieces (bounded memory).

        For long gap-free sweeps: each piece is read and scaled on its own, so
        memory stays at about ``chunk_samples`` float64 values whatever the
        file size.

        Parameters
        ----------
        sweep : int
            Sweep index (negative counts from the end).
        channel : int or str
            Channel index or name.
        chunk_samples : int
            Samples per piece (the last one may be shorter).

        Yields
        ------
        numpy.ndarray
            The next piece, float64, in the channel's units.
        """
        if isinstance(chunk_samples, bool) or not isinstance(chunk_samples, (int, np.integer)) or chunk_samples < 1:
            raise ParameterError(f"chunk_samples must be a positive integer, got {chunk_samples!r}")
        s = self._sweep_index(sweep)
        c = self.channel_index(channel)
        n = self.sweep_lengths[s]
        for lo in range(0, n, int(chunk_samples)):
            yield self.sweep_data(s, c, start=lo, stop=min(n, lo + int(chunk_samples)))

    def to_array(self, *, channels: Sequence[int | str] | None = None, sweeps: Sequence[int] | None = None,
                 dtype=np.float64) -> np.ndarray:
        """Data as a (sweeps, channels, samples) array in the channels' units.

        Parameters
        ----------
        channels : sequence of int or str, optional
            Channels to include (default all).
        sweeps : sequence of int, optional
            Sweeps to include (default all).
        dtype : numpy dtype, optional
            float64 (default) or float32.

        Returns
        -------
        numpy.ndarray
            A new ``(n_sweeps, n_channels, n_samples)`` array.

        Raises
        ------
        RecordingError
            If the selected sweeps differ in length.
        """
        ch = [self.channel_index(c) for c in (range(self.n_channels) if channels is None else channels)]
        sw = [self._sweep_index(s) for s in (range(self.n_sweeps) if sweeps is None else sweeps)]
        lengths = {self.sweep_lengths[s] for s in sw}
        if len(lengths) > 1:
            raise RecordingError(f"{self.path}: selected sweeps differ in length; read them with sweep_data()")
        n = lengths.pop() if lengths else 0
        out = self._source.read_block(sw, ch, n, dtype=np.dtype(dtype))
        scale = np.asarray([self.channels[c].scale for c in ch], dtype=out.dtype)[None, :, None]
        off = np.asarray([self._offsets[c] for c in ch], dtype=out.dtype)[None, :, None]
        if np.any(scale != 1.0):
            out *= scale
        if np.any(off != 0.0):
            out += off
        return out

    def sweep_times(self, sweep: int = 0, *, absolute: bool = False) -> np.ndarray:
        """Sample times of a sweep in seconds.

        Parameters
        ----------
        sweep : int
            Sweep index.
        absolute : bool
            If True, add the sweep's start time (seconds from the start of the
            recording); otherwise times are relative to the sweep start.

        Returns
        -------
        numpy.ndarray
            float64 times in s, one per sample (``t_start_s`` + i / rate).
        """
        s = self._sweep_index(sweep)
        t = self.t_start_s + np.arange(self.sweep_lengths[s], dtype=np.float64) / self.sample_rate_hz
        if absolute:
            t += self.sweep_start_s[s]
        return t

    @property
    def time_s(self) -> np.ndarray:
        """Sample times (s) of sweep 0 relative to its start; see :meth:`sweep_times`."""
        return self.sweep_times(0)

    def has_command(self, dac: int) -> bool:
        """Whether :meth:`command` can return a waveform for *dac*.

        Parameters
        ----------
        dac : int
            DAC index.

        Returns
        -------
        bool
            False for formats without command information, stimulus-file
            waveforms, DACs without a stored epoch table (ABF1 DAC 2 and 3,
            pyabf-written ABF1, gap-free files) and DACs that do not exist.
        """
        if self._command is None:
            return False
        return self._command.available(int(dac))

    def command(self, sweep: int, dac: int, *, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Command waveform of one DAC for one sweep, in the DAC's units (mV or pA).

        Built from the ABF epoch table (pyabf ``sweepC`` logic) with the true
        holding level (ABF1: ``fDACHoldingLevel``); a DAC without an enabled
        waveform is at its holding level throughout.

        Parameters
        ----------
        sweep : int
            Sweep index (negative counts from the end).
        dac : int
            DAC index (``holding[dac]``).
        start, stop : int, optional
            Sample range inside the sweep (Python slice semantics, no step); an
            ABF epoch waveform is synthesized for that range only.

        Returns
        -------
        numpy.ndarray
            float64, one value per sample of the range (a new array), including
            the offsets of :meth:`with_offsets`.

        Raises
        ------
        CommandUnavailableError
            The format stores no command, or the waveform comes from a
            stimulus file, or the DAC does not exist.
        """
        s = self._sweep_index(sweep)
        if self._command is None:
            raise CommandUnavailableError(f"{self.path}: the {self.format} format stores no command waveform")
        d = int(dac)
        if not 0 <= d < len(self.holding):
            raise CommandUnavailableError(f"{self.path}: no DAC {dac} (DACs 0..{len(self.holding) - 1})")
        n = self.sweep_lengths[s]
        lo, hi, _ = slice(start, stop).indices(n)
        hi = max(hi, lo)
        if (lo, hi) == (0, n):
            out = self._command.waveform(s, d, n)
        elif getattr(self._command, "ranges", False):
            out = self._command.waveform(s, d, n, lo, hi)
        else:
            out = self._command.waveform(s, d, n)[lo:hi].copy()
        off = self._holding_offsets[d]
        if off:
            out += off  # a fresh array from the command source
        return out

    def command_steps(self, sweep: int, dac: int) -> list[tuple[int, int, float]] | None:
        """The command of one DAC for one sweep as constant pieces, when it is made of steps.

        The same values as :meth:`command` (holding offsets included), given as
        ``(i0, i1, value)`` pieces that tile the sweep's samples ``[0, n)`` in
        order (no empty piece; neighbours may have equal values), without
        building the sample array.  Statistics and step detection over a
        protocol's windows then cost nothing per sample.

        Parameters
        ----------
        sweep : int
            Sweep index (negative counts from the end).
        dac : int
            DAC index.

        Returns
        -------
        list of (int, int, float) or None
            None when the waveform has anything but steps (ramps, trains, a
            stimulus file), its levels are not finite, or the format stores no
            command: use :meth:`command` then (which says why when there is none).
        """
        s = self._sweep_index(sweep)
        steps = getattr(self._command, "steps", None)
        d = int(dac)
        if steps is None or not 0 <= d < len(self.holding):
            return None
        pieces = steps(s, d, self.sweep_lengths[s])
        off = self._holding_offsets[d]
        if pieces is None or not off:
            return pieces
        out = [(a, b, float(np.float64(v) + off)) for a, b, v in pieces]  # as command's out += off
        return out if all(math.isfinite(v) for _, _, v in out) else None

    # ------------------------------------------------------------------ copies
    def with_offsets(self, channel_offsets: Mapping[int | str, float], *, note: str,
                     holding_offsets: Mapping[int, float] | None = None) -> Recording:
        """A copy whose channel values (and DAC holding/command) are shifted.

        The file is not touched; the shift is applied when data are read.

        Parameters
        ----------
        channel_offsets : Mapping
            Channel (index or name) -> offset added to every sample, in the
            channel's units.
        note : str
            Description recorded in :attr:`corrections` (e.g. "LJP -15.6 mV
            subtracted from membrane potential").
        holding_offsets : Mapping[int, float], optional
            DAC -> offset added to its holding level and command waveform, in
            the DAC's units.

        Returns
        -------
        Recording
        """
        if not isinstance(note, str) or not note.strip():
            raise ParameterError("with_offsets: 'note' must describe the correction, got " + repr(note))
        offs = list(self._offsets)
        for ch, val in channel_offsets.items():
            c = self.channel_index(ch)
            v = float(val)
            if not np.isfinite(v):
                raise ParameterError(f"with_offsets: offset for channel {ch!r} must be finite, got {val!r}")
            offs[c] += v
        hoffs = list(self._holding_offsets)
        holding = list(self.holding)
        for dac, val in (holding_offsets or {}).items():
            d = int(dac)
            if not 0 <= d < len(holding):
                raise ParameterError(f"with_offsets: no DAC {dac!r} in {self.path} (DACs 0..{len(holding) - 1})")
            v = float(val)
            if not np.isfinite(v):
                raise ParameterError(f"with_offsets: holding offset for DAC {dac!r} must be finite, got {val!r}")
            hoffs[d] += v
            holding[d] = dataclasses.replace(holding[d], value=holding[d].value + v)
        return dataclasses.replace(self, _offsets=tuple(offs), _holding_offsets=tuple(hoffs), holding=tuple(holding),
                                   corrections=self.corrections + (note,), _cache=dict(self._cache))

    # ------------------------------------------------------------------ export
    def describe(self) -> dict:
        """The facts of ``ephys-correct info --json`` as a JSON-ready dict.

        Keys are the attribute names: ``path``, ``format``, ``version``,
        ``reader``, ``n_sweeps``, ``sample_rate_hz``, ``sweep_lengths``,
        ``duration_s``, ``acquisition_mode``, ``channels`` (list of dicts with
        ``index, name, units, file_units, kind, role, headstage, clamp_mode,
        clamp_mode_source, units_suspect, telegraph_instrument``),
        ``headstages`` (with ``dac``, ``confidence`` and ``evidence``),
        ``holding`` (list of dicts ``dac, name, value, units, headstage``),
        ``tags`` (``time_s, comment``), ``comment``, ``protocol``,
        ``start_time`` (ISO 8601), ``creator``, ``access_resistance_mohm``,
        ``warnings``, ``interpretation_warnings``, ``headstage_evidence``,
        ``corrections``.
        A clamp mode the file does not establish is ``None`` and its reason is
        in ``clamp_mode_evidence`` of the headstage.  ``sha256`` is not
        included (it reads the whole file); the CLI adds it on request.

        Returns
        -------
        dict
            JSON-serialisable (plain str, int, float, None, list, dict).
        """
        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        chans = []
        for c in self.channels:
            chans.append({
                "index": c.index, "name": c.name, "units": c.units, "file_units": c.file_units, "kind": c.kind,
                "role": c.role, "headstage": c.headstage, "telegraph_instrument": c.telegraph_instrument,
                "clamp_mode": None if c._clamp_mode_error else c._clamp_mode,
                "clamp_mode_source": c.clamp_mode_source, "units_suspect": c.units_suspect,
                "unit_fix": None if c.unit_fix is None else {"units": c.unit_fix.units, "scale": c.unit_fix.scale},
            })
        heads = [{"index": h.index, "dac": h.dac, "channels": list(h.channels),
                  "clamp_mode": h._clamp_mode, "clamp_mode_source": h.clamp_mode_source,
                  "clamp_mode_evidence": h.clamp_mode_evidence, "confidence": h.confidence,
                  "evidence": list(h.evidence)} for h in self.headstages]
        return {
            "path": self.path,
            "format": self.format,
            "version": self.version,
            "reader": self.reader,
            "n_sweeps": self.n_sweeps,
            "n_channels": self.n_channels,
            "sample_rate_hz": float(self.sample_rate_hz),
            "sweep_lengths": sorted(set(self.sweep_lengths)) if len(set(self.sweep_lengths)) > 1
            else [self.sweep_lengths[0]],
            "duration_s": self.duration_s,
            "acquisition_mode": self.acquisition_mode,
            "channels": chans,
            "headstages": heads,
            "holding": [{"dac": h.dac, "name": h.name, "value": num(h.value), "units": h.units,
                         "headstage": h.headstage} for h in self.holding],
            "tags": [{"time_s": t.time_s, "comment": t.comment} for t in self.tags],
            "comment": self.comment,
            "protocol": self.protocol,
            "start_time": None if self.start_time is None else self.start_time.isoformat(),
            "creator": self.creator,
            "access_resistance_mohm": self.access_resistance_mohm,
            "warnings": list(self.warnings),
            "interpretation_warnings": list(self.interpretation_warnings),
            "headstage_evidence": list(self.headstage_evidence),
            "corrections": list(self.corrections),
        }

    def to_neo(self, *, sweeps: Sequence[int] | None = None, channels: Sequence[int | str] | None = None):
        """The recording (or a subset) as a ``neo.Block``.

        One Segment per sweep, one AnalogSignal per channel (units mV / pA via
        ``quantities``; ``array_annotations`` carry ``channel_names`` and
        ``channel_ids``), the tags as one Event per segment (times in s from the
        start of the recording).  Only the selected data are read.

        Parameters
        ----------
        sweeps : sequence of int, optional
            Sweeps to include (default all).
        channels : sequence of int or str, optional
            Channels (index or name) to include (default all).

        Returns
        -------
        neo.Block
            A new block; the recording is not changed.
        """
        import neo
        import quantities as pq

        sw = [self._sweep_index(s) for s in (range(self.n_sweeps) if sweeps is None else sweeps)]
        ch = [self.channel_index(c) for c in (range(self.n_channels) if channels is None else channels)]
        block = neo.Block(name=os.path.basename(self.path), file_origin=self.path, rec_datetime=self.start_time,
                          description=self.comment or None)
        block.annotate(format=self.format, version=self.version, reader=self.reader, protocol=self.protocol or "",
                       corrections=list(self.corrections))
        tag_times = np.array([t.time_s for t in self.tags], dtype=float)
        tag_labels = np.array([t.comment for t in self.tags], dtype="U")
        for s in sw:
            seg = neo.Segment(name=f"sweep {s}", index=s)
            t0 = (self.sweep_start_s[s] + self.t_start_s) * pq.s
            for c in ch:
                chan = self.channels[c]
                units = chan.units if chan.units else "dimensionless"
                try:
                    u = pq.Quantity(1.0, units)
                except (LookupError, ValueError):
                    u = pq.dimensionless
                sig = neo.AnalogSignal(self.sweep_data(s, c)[:, None], units=u.units,
                                       sampling_rate=self.sample_rate_hz * pq.Hz, t_start=t0, name=chan.name,
                                       array_annotations={"channel_names": np.array([chan.name]),
                                                          "channel_ids": np.array([str(chan.index)])})
                sig.annotate(kind=chan.kind, headstage=-1 if chan.headstage is None else chan.headstage,
                             role=chan.role or "", units_suspect=chan.units_suspect,
                             clamp_mode=(chan._clamp_mode or "") if chan._clamp_mode_error is None else "")
                seg.analogsignals.append(sig)
            if len(tag_times):
                seg.events.append(neo.Event(times=tag_times * pq.s, labels=tag_labels, name="tags"))
            block.segments.append(seg)
        return block
