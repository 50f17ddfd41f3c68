"""Reading through neo's RawIO layer (WinWCP, AxoGraph, ... and ABF for comparison).

Only the header is parsed when a file is opened; samples are read per sweep
and channel with ``get_analogsignal_chunk``.  Channels are addressed by neo's
channel id (``signal_channels['id']``, the ``array_annotations['channel_ids']``
of the AnalogSignals), never by neo's unit-grouped AnalogSignal order.  neo's
log messages emitted while reading are captured into ``Recording.warnings``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import re

import numpy as np

from ephys_correct.errors import CorruptRecordingError, UnsupportedFormatError

__all__ = ["open_neo", "capture_neo_logs", "neo_channels", "neo_tags", "neo_version"]


class _ListHandler(logging.Handler):
    def __init__(self, sink: list):
        super().__init__(level=logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.sink.append(f"neo: {record.getMessage()}")


@contextlib.contextmanager
def capture_neo_logs(sink: list):
    """Collect neo's warnings into *sink* instead of letting them reach stderr.

    A handler is attached to the ``neo`` logger for the duration of the block
    and removed afterwards; logging configuration is otherwise untouched.
    """
    logger = logging.getLogger("neo")
    handler = _ListHandler(sink)
    old_propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate


def neo_version() -> str:
    import neo

    return str(neo.__version__)


def open_neo(path: str, *, io_class, sink: list):
    """Create and parse a neo RawIO-based reader of class *io_class* for *path*.

    Raises
    ------
    UnsupportedFormatError
        The reader needs an optional package that is not installed.
    CorruptRecordingError
        The reader fails on the file.
    """
    with capture_neo_logs(sink):
        try:
            io = io_class(filename=path)
            if getattr(io, "header", None) is None:
                io.parse_header()
        except ImportError as exc:
            raise UnsupportedFormatError(f"{path}: neo's {io_class.__name__} needs a package that is not "
                                         f"installed ({exc})") from exc
        except KeyboardInterrupt:
            raise
        except MemoryError as exc:
            # headers are small: a parser that runs out of memory follows a corrupt length or count field
            # (neo's AxoGraph reader reads length-prefixed strings with file.read(length))
            import os

            raise CorruptRecordingError(
                f"{path}: {io_class.__name__} ran out of memory while parsing the header of this "
                f"{os.path.getsize(path)}-byte file: a length or count field in the header is corrupt") from exc
        except Exception as exc:  # neo raises many types on bad input
            raise CorruptRecordingError(
                f"{path}: {io_class.__name__} cannot read this file ({type(exc).__name__}: {exc}); it is "
                f"truncated, corrupt, or not the format its extension says") from exc
    return io


def neo_channels(io, path: str):
    """Per neo channel: (stream index, index in stream, name, id, units)."""
    sc = io.header["signal_channels"]
    streams = io.header["signal_streams"]
    out = []
    for s_index, stream_id in enumerate(streams["id"]):
        mask = sc["stream_id"] == stream_id
        sub = sc[mask]
        for k in range(len(sub)):
            out.append((s_index, k, str(sub["name"][k]), str(sub["id"][k]), str(sub["units"][k])))
    if not out:
        raise CorruptRecordingError(f"{path}: no analog signals in this file")
    return out


def neo_tags(io, sink: list) -> list[tuple[float, str]]:
    """Tags (time in s from the start of block 0, label) of a generic neo reader."""
    tags: list[tuple[float, str]] = []
    ev = io.header.get("event_channels")
    if ev is None or len(ev) == 0:
        return tags
    with capture_neo_logs(sink):
        for e in range(len(ev)):
            if ev["type"][e] not in (b"event", "event"):
                continue
            for seg in range(io.segment_count(0)):
                n = io.event_count(block_index=0, seg_index=seg, event_channel_index=e)
                if not n:
                    continue
                ts, _, labels = io.get_event_timestamps(block_index=0, seg_index=seg, event_channel_index=e)
                times = io.rescale_event_timestamp(ts, dtype="float64", event_channel_index=e)
                for t, lab in zip(times, labels):
                    tags.append((float(t), str(lab)))
    return tags


def neo_block_annotations(io) -> dict:
    try:
        return dict(io.raw_annotations["blocks"][0])
    except (AttributeError, KeyError, IndexError, TypeError):
        return {}


def neo_start_time(ann: dict) -> _dt.datetime | None:
    st = ann.get("rec_datetime")
    return st if isinstance(st, _dt.datetime) else None


def neo_protocol(ann: dict) -> str | None:
    notes = ann.get("notes")
    if isinstance(notes, str):
        m = re.search(r"Protocol\s*:\s*(.+)", notes)
        if m:
            return m.group(1).strip() or None
    return None


def segment_lengths(io, path: str = "") -> list[int]:
    """Samples per segment of stream 0 (all streams must agree)."""
    n_streams = len(io.header["signal_streams"])
    out = []
    for seg in range(io.segment_count(0)):
        sizes = {int(io.get_signal_size(block_index=0, seg_index=seg, stream_index=s)) for s in range(n_streams)}
        if len(sizes) != 1:
            raise UnsupportedFormatError(f"{path}: streams of segment {seg} differ in length: {sorted(sizes)}")
        out.append(sizes.pop())
    return out


def sampling_rate(io, path: str) -> float:
    n_streams = len(io.header["signal_streams"])
    rates = {float(io.get_signal_sampling_rate(stream_index=s)) for s in range(n_streams)}
    if len(rates) != 1:
        raise UnsupportedFormatError(f"{path}: channels have different sampling rates {sorted(rates)}; "
                                     "only one rate per file is supported")
    return rates.pop()


def t_starts(io) -> list[float]:
    return [float(io.get_signal_t_start(block_index=0, seg_index=s, stream_index=0))
            for s in range(io.segment_count(0))]


def abf_neo_tags(io, path: str) -> list[tuple[float, str]]:
    """ABF tags from neo's parsed header, with the correct time base.

    neo's Event times are ``lTagTime / sampling_rate``, which ignores
    ``fSynchTimeUnit`` and channel interleaving; ABFFIO defines the count in
    ``fSynchTimeUnit`` microseconds, or in first-sample intervals (one
    multiplexed sample) when that is 0.  Comments are decoded from bytes
    (neo gives a ``b'...'`` repr for ABF2 and blanks for ABF1).
    """
    info = io._axon_info  # neo's parsed ABF header
    version = float(info["fFileVersionNumber"])
    if version < 2.0:
        unit = float(info["fSynchTimeUnit"])
        nch = int(info["nADCNumChannels"])
        first = float(info["fADCSampleInterval"])
    else:
        unit = float(info["protocol"]["fSynchTimeUnit"])
        nch = int(info["sections"]["ADCSection"]["llNumEntries"])
        first = float(info["protocol"]["fADCSequenceInterval"]) / nch
    synch_s = (unit if unit > 0 else first) * 1e-6
    out = []
    tags = info.get("listTag", [])
    if version < 2.0:
        # neo reads ABF1 tag entries without the pointer arithmetic; re-read them
        ptr, n = int(info["lTagSectionPtr"]), int(info["lNumTagEntries"])
        tags = []
        if n > 0:
            with open(path, "rb") as f:
                for k in range(n):
                    f.seek(ptr * 512 + k * 64)
                    b = f.read(64)
                    if len(b) < 64:
                        break
                    tags.append({"lTagTime": int(np.frombuffer(b[:4], "<i4")[0]), "sComment": b[4:60]})
    for tag in tags:
        c = tag["sComment"]
        raw = c if isinstance(c, bytes) else str(c).encode("latin-1", errors="replace")
        text = raw.decode("ascii", errors="ignore").replace("\x00", " ").strip()
        out.append((float(tag["lTagTime"]) * synch_s, text, raw.rstrip(b"\x00 ")))
    return out
