"""Data sources behind a :class:`~ephys_correct.io.Recording`.

A source hands out one sweep of one channel at a time, in the *file's* units
(after the ADC scale factors, before any unit conversion), as float64.  It
never loads more than the requested sweep; nothing here writes to the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ephys_correct.errors import CorruptRecordingError, RecordingError
from ephys_correct.io._checks import check_finite_samples
from ephys_correct.io._stored import check_integer

__all__ = ["MemmapSource", "NeoSource"]


#: data sections up to this size are mapped once per file and the map reused by every read
_WHOLE_MAP_MAX_BYTES = 64 << 20


class MemmapSource:
    """Interleaved int16/float32 ABF data section read through ``numpy.memmap``.

    Each call maps only the bytes of the requested sweep (from the first to the
    last requested sample), copies one channel out as float64 and unmaps, so the
    resident memory of a per-sweep loop does not grow with the file size.

    Parameters
    ----------
    path : str
        File path.
    data_offset : int
        Byte offset of the first sample of the data section.
    dtype : numpy dtype
        ``int16`` or ``float32`` (little-endian).
    n_channels : int
        Number of interleaved ADC channels.
    sweep_frames : sequence of (int, int)
        Per sweep, (first frame, number of frames); a frame is one sample of
        every channel.
    gains, offsets : sequence of float
        Per channel, value = raw * gain + offset.
    """

    kind = "memmap"

    def __init__(self, path: str, data_offset: int, dtype, n_channels: int,
                 sweep_frames: Sequence[tuple[int, int]], gains: Sequence[float], offsets: Sequence[float]):
        self.path = path
        self.data_offset = int(data_offset)
        self.dtype = np.dtype(dtype)
        self.n_channels = int(n_channels)
        self.sweep_frames = tuple((int(a), int(n)) for a, n in sweep_frames)
        self.gains = tuple(float(g) for g in gains)
        self.offsets = tuple(float(o) for o in offsets)
        self.is_float = self.dtype.kind == "f"

    def _map(self, first_frame: int, n_frames: int) -> np.memmap:
        try:
            return np.memmap(self.path, dtype=self.dtype, mode="r",
                             offset=self.data_offset + first_frame * self.n_channels * self.dtype.itemsize,
                             shape=(n_frames, self.n_channels))
        except FileNotFoundError as exc:
            raise RecordingError(f"{self.path}: file disappeared after it was opened") from exc
        except ValueError as exc:  # mmap length beyond the end of the file
            raise CorruptRecordingError(f"{self.path}: data section shorter than the header says ({exc})") from exc

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_whole_map", None)  # a mapping is per process; made again on first read
        return state

    def _whole(self):
        """One read-only map of the whole data section, made on first use and reused by every read.

        False for a data section over ``_WHOLE_MAP_MAX_BYTES`` (the resident set must not grow
        with the file), and when the file is shorter than the header says; each read then maps
        only its own range (so the sweeps that are there stay readable and the others raise).
        """
        mm = self.__dict__.get("_whole_map")
        if mm is None:
            total = max((a + n for a, n in self.sweep_frames), default=0)
            mm = False
            # a large file keeps a map per read: pages of a long-lived map count in the process's
            # resident set, which must not grow with the file (chunked reads of long recordings)
            if 0 < total * self.n_channels * self.dtype.itemsize <= _WHOLE_MAP_MAX_BYTES:
                try:
                    mm = self._map(0, total)
                except CorruptRecordingError:
                    mm = False
            self._whole_map = mm
        return mm

    def read(self, sweep: int, channel: int, start: int, stop: int) -> np.ndarray:
        first, _ = self.sweep_frames[sweep]
        n = stop - start
        out = np.empty(n, dtype=np.float64)
        if n == 0:
            return out
        whole = self._whole()
        if whole is not False:
            self._scale_into(whole[first + start:first + stop, channel], channel, out)
        else:
            mm = self._map(first + start, n)
            try:
                self._scale_into(mm[:, channel], channel, out)
            finally:
                del mm
        if self.is_float:
            check_finite_samples(self.path, out, sweep, channel)
        return out

    def _scale_into(self, raw: np.ndarray, channel: int, out: np.ndarray) -> None:
        if self.is_float:
            np.copyto(out, raw, casting="unsafe")
            return
        np.multiply(raw, self.gains[channel], out=out, casting="unsafe")
        if self.offsets[channel]:
            out += self.offsets[channel]

    def stored_scaling(self, channel: int) -> tuple[np.dtype, float, float]:
        """(integer dtype, gain, offset) of *channel*: value = stored * gain + offset."""
        check_integer(self.path, self.dtype, "the ABF data section (nDataFormat = 1: float32)")
        return self.dtype, self.gains[channel], self.offsets[channel]

    def read_stored(self, sweep: int, channel: int, start: int, stop: int) -> np.ndarray:
        """The stored integers of one sweep of one channel (a new native-order array)."""
        check_integer(self.path, self.dtype, "the ABF data section (nDataFormat = 1: float32)")
        first, _ = self.sweep_frames[sweep]
        out = np.empty(stop - start, dtype=self.dtype.newbyteorder("="))
        if stop == start:
            return out
        whole = self._whole()
        if whole is not False:
            out[:] = whole[first + start:first + stop, channel]
        else:
            mm = self._map(first + start, stop - start)
            try:
                out[:] = mm[:, channel]
            finally:
                del mm
        return out

    def read_block(self, sweeps: Sequence[int], channels: Sequence[int], n_samples: int,
                   dtype=np.float64) -> np.ndarray:
        """(sweeps, channels, samples) array for equal-length sweeps.

        Consecutive sweeps are read with one sequential ``numpy.fromfile`` per
        run of sweeps (at most ~64 MiB of raw data at a time), then scaled
        channel by channel straight into the output array.
        """
        out = np.empty((len(sweeps), len(channels), n_samples), dtype=dtype)
        if not len(sweeps) or not n_samples:
            return out
        frame_bytes = self.n_channels * self.dtype.itemsize
        per_chunk = max(1, (64 << 20) // max(1, n_samples * frame_bytes))
        i = 0
        while i < len(sweeps):
            # a run of sweeps stored back to back
            j = i + 1
            while (j < len(sweeps) and j - i < per_chunk
                   and self.sweep_frames[sweeps[j]][0] == self.sweep_frames[sweeps[j - 1]][0] + n_samples):
                j += 1
            first = self.sweep_frames[sweeps[i]][0]
            count = (j - i) * n_samples * self.n_channels
            whole = self._whole()
            if whole is not False and first + (j - i) * n_samples <= len(whole):
                # the file's map (made once): scaled straight from the page cache, no raw copy
                raw = whole[first:first + (j - i) * n_samples]
            else:
                raw = np.fromfile(self.path, dtype=self.dtype, count=count,
                                  offset=self.data_offset + first * frame_bytes)
                if raw.size != count:
                    raise CorruptRecordingError(f"{self.path}: data section shorter than the header says")
            raw = raw.reshape(j - i, n_samples, self.n_channels)
            for k, c in enumerate(channels):
                self._scale_into(raw[:, :, c], c, out[i:j, k, :])
                if self.is_float and not np.isfinite(out[i:j, k, :]).all():
                    for m in range(j - i):
                        check_finite_samples(self.path, out[i + m, k, :], sweeps[i + m], c)
            i = j
        return out


class NeoSource:
    """A neo RawIO reader used as a data source.

    Parameters
    ----------
    rawio : neo.rawio.BaseRawIO
        Parsed reader (``parse_header()`` already called).
    stream_index : sequence of int
        Per channel (in Recording order), the neo stream index.
    channel_index : sequence of int
        Per channel, the index of the channel inside its neo stream.
    segment_map : sequence of (int, int)
        Per sweep, (neo segment index, first sample inside that segment).  A
        single neo segment can hold several sweeps (ABF1 files written by
        pyabf, which carry no synch array).
    """

    kind = "neo"

    def __init__(self, rawio, stream_index: Sequence[int], channel_index: Sequence[int],
                 segment_map: Sequence[tuple[int, int]]):
        self.rawio = rawio
        self.stream_index = tuple(int(s) for s in stream_index)
        self.channel_index = tuple(int(c) for c in channel_index)
        self.segment_map = tuple((int(a), int(b)) for a, b in segment_map)
        self.path = str(getattr(rawio, "filename", "") or getattr(rawio, "dirname", ""))

    def read(self, sweep: int, channel: int, start: int, stop: int) -> np.ndarray:
        seg, first = self.segment_map[sweep]
        si = self.stream_index[channel]
        ci = self.channel_index[channel]
        try:
            raw = self.rawio.get_analogsignal_chunk(block_index=0, seg_index=seg, i_start=first + start,
                                                    i_stop=first + stop, stream_index=si, channel_indexes=[ci])
            val = self.rawio.rescale_signal_raw_to_float(raw, dtype="float64", stream_index=si,
                                                         channel_indexes=[ci])
        except (OSError, ValueError, IndexError) as exc:
            raise CorruptRecordingError(f"{self.path}: neo could not read sweep {sweep} channel {channel}: {exc}") from exc
        out = np.ascontiguousarray(val[:, 0], dtype=np.float64)
        if raw.dtype.kind == "f":
            check_finite_samples(self.path, out, sweep, channel)
        return out

    def read_block(self, sweeps, channels, n_samples, dtype=np.float64):
        out = np.empty((len(sweeps), len(channels), n_samples), dtype=dtype)
        for i, s in enumerate(sweeps):
            for j, c in enumerate(channels):
                out[i, j] = self.read(s, c, 0, n_samples)
        return out

    def _what(self) -> str:
        return f"neo {type(self.rawio).__name__}"

    def stored_scaling(self, channel: int) -> tuple[np.dtype, float, float]:
        """(integer dtype, gain, offset) of *channel* from neo's header: value = stored * gain + offset."""
        hdr = self.rawio.header
        stream_id = hdr["signal_streams"][self.stream_index[channel]]["id"]
        chans = hdr["signal_channels"][hdr["signal_channels"]["stream_id"] == stream_id]
        ch = chans[self.channel_index[channel]]
        dt = check_integer(self.path, ch["dtype"], f"{self._what()} (channel {channel})")
        return dt, float(ch["gain"]), float(ch["offset"])

    def read_stored(self, sweep: int, channel: int, start: int, stop: int) -> np.ndarray:
        """neo's raw chunk of one sweep of one channel (the stored integers, a new array)."""
        dt, _, _ = self.stored_scaling(channel)
        seg, first = self.segment_map[sweep]
        try:
            raw = self.rawio.get_analogsignal_chunk(block_index=0, seg_index=seg, i_start=first + start,
                                                    i_stop=first + stop, stream_index=self.stream_index[channel],
                                                    channel_indexes=[self.channel_index[channel]])
        except (OSError, ValueError, IndexError) as exc:
            raise CorruptRecordingError(f"{self.path}: neo could not read sweep {sweep} channel {channel}: {exc}") from exc
        check_integer(self.path, raw.dtype, f"{self._what()} (channel {channel}, read)")
        return np.array(raw[:, 0], dtype=raw.dtype.newbyteorder("="))


def file_signature(path: str) -> tuple[int, float]:
    """(size, mtime) used to notice that a file changed after it was read."""
    st = os.stat(path)
    return st.st_size, st.st_mtime
