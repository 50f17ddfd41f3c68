"""Run the recording reader on hostile files in a watched child process.

The reader runs in a long-lived child process (one per test session and xdist
worker, restarted after a crash or a hang) whose address space is capped with
``resource.setrlimit(RLIMIT_AS)`` a fixed amount above what it uses after
its imports, so a header that makes a reader allocate gigabytes fails with
``MemoryError`` in the child instead of exhausting the machine.  Each file
gets a wall-clock limit; a child that does not answer in time is killed (by
its pid) and the file is reported as ``"hang"``.

The child reads the file like ``ephys-correct info`` and ``correct`` would:
``read_recording``, ``describe()``, every sample of every sweep and channel,
and the command waveform of the first and last sweep of each DAC that has
one, and checks that every number is finite.  It answers with one JSON line:

``outcome``
    ``"ok"`` (a Recording whose numbers are all finite), ``"refused"`` (an
    :class:`~ephys_correct.errors.EphysCorrectError`), ``"nonfinite"`` (read
    fine but some number is NaN/inf), ``"exception"`` (any other exception:
    a defect), ``"memory"`` (MemoryError: a defect), ``"hang"``, ``"crash"``.
``error_type``, ``message``
    Exception class and text, when there is one.
``peak_mib``
    Peak of the memory allocations traced by ``tracemalloc`` during the read.
``seconds``
    Wall time of the read in the child.

Used by ``tests/test_io_hostile.py`` and ``scripts/fuzz_abf.py``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: address space the child may use beyond what it holds after its imports
DEFAULT_MEMORY_MIB = 768
#: wall-clock limit per file (a normal read of a test file takes < 0.2 s)
DEFAULT_TIMEOUT_S = 30.0

#: time the child may take to import numpy, neo and pyabf
STARTUP_TIMEOUT_S = 120.0

DEFECTS = ("nonfinite", "exception", "memory", "hang", "crash")


# ----------------------------------------------------------------------------------------------- child
def _vm_size_bytes() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _probe(path: str, backend: str) -> dict:
    import numpy as np

    from ephys_correct.errors import EphysCorrectError
    from ephys_correct.io import read_recording

    bad: list[str] = []

    def finite(what, values):
        arr = np.asarray(values, dtype=np.float64)
        if arr.size and not np.isfinite(arr).all():
            bad.append(what)

    try:
        rec = read_recording(path, backend=backend)
        rec.describe()
        finite("sample_rate_hz", [rec.sample_rate_hz])
        if not rec.sample_rate_hz > 0:
            bad.append("sample_rate_hz <= 0")
        finite("sweep_start_s", rec.sweep_start_s)
        finite("tag times", [t.time_s for t in rec.tags])
        for h in rec.holding:
            if not np.isfinite(h.value) and not any(f"DAC {h.dac} holding" in w for w in rec.warnings):
                bad.append(f"holding of DAC {h.dac} is {h.value} without a warning")
        if len(set(rec.sweep_lengths)) == 1:
            finite("samples", rec.to_array())
        else:
            for s in range(rec.n_sweeps):
                for c in range(rec.n_channels):
                    finite(f"samples of sweep {s} channel {c}", rec.sweep_data(s, c))
        command = _probe_commands(rec)
    except EphysCorrectError as exc:
        return {"outcome": "refused", "error_type": type(exc).__name__, "message": str(exc)}
    except MemoryError as exc:
        return {"outcome": "memory", "error_type": "MemoryError", "message": str(exc)}
    except Exception as exc:  # noqa: BLE001 - any other type is what the fuzzing looks for
        import traceback

        return {"outcome": "exception", "error_type": type(exc).__name__, "message": str(exc),
                "traceback": traceback.format_exc(limit=8)}
    if bad:
        return {"outcome": "nonfinite", "error_type": None, "message": "; ".join(bad[:5]), "command": command}
    return {"outcome": "ok", "error_type": None, "message": "", "command": command}


def _probe_commands(rec) -> str:
    """Command waveforms of the first and last sweep of every DAC that has one.

    ``Recording.command`` is held to pyabf's ``sweepC`` value for value
    (tests/test_io_command_equivalence.py): where pyabf raises ValueError or
    IndexError on an epoch table, so does ``command``, and pyabf's NaN fill
    (triangle trains, unknown epoch types) is kept.  Those outcomes are
    reported here (``"pyabf:ValueError"``, ``"nonfinite"``) rather than as
    reading defects; a MemoryError is re-raised (always a defect).
    """
    import numpy as np

    from ephys_correct.errors import EphysCorrectError

    result = "ok"
    for h in rec.holding:
        if not rec.has_command(h.dac):
            continue
        for s in sorted({0, rec.n_sweeps - 1}):
            try:
                y = rec.command(s, h.dac)
            except EphysCorrectError:
                result = "refused" if result == "ok" else result
                continue
            except MemoryError:
                raise
            except Exception as exc:  # noqa: BLE001
                return f"pyabf:{type(exc).__name__}" if isinstance(exc, (ValueError, IndexError)) else \
                    f"exception:{type(exc).__name__}"
            if not np.isfinite(y).all():
                result = "nonfinite"
    return result


def _selftest(kind: str) -> dict:
    """What a runaway reader does: allocate per declared entry ("allocate"), or loop ("spin")."""
    try:
        if kind == "allocate":
            entries = [None] * 2 ** 31  # pyabf's [None] * entryCount for a 2**31-entry section
            return {"outcome": "ok", "error_type": None, "message": f"allocated {len(entries)}"}
        while kind == "spin":
            time.sleep(0.05)
    except MemoryError as exc:
        return {"outcome": "memory", "error_type": "MemoryError", "message": str(exc)}
    return {"outcome": "exception", "error_type": None, "message": f"unknown self-test {kind!r}"}


def _child_main(memory_mib: int) -> None:
    import resource
    import tracemalloc
    import warnings

    import ephys_correct.io  # noqa: F401 - imports done before the address-space cap
    import neo  # noqa: F401
    import numpy  # noqa: F401
    import pyabf  # noqa: F401

    warnings.simplefilter("ignore")  # warnings are not outcomes; Recording.warnings are checked instead
    base = _vm_size_bytes()
    if base is not None:
        limit = base + memory_mib * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    tracemalloc.start()
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the protocol stream
    out.write(json.dumps({"ready": True, "address_space_cap": base is not None}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        tracemalloc.reset_peak()
        t0 = time.perf_counter()
        if "selftest" in req:  # exercise the watchdog itself (tests/test_io_hostile.py)
            ans = _selftest(req["selftest"])
        else:
            ans = _probe(req["path"], req.get("backend", "auto"))
        ans["seconds"] = round(time.perf_counter() - t0, 4)
        ans["peak_mib"] = round(tracemalloc.get_traced_memory()[1] / (1 << 20), 2)
        out.write(json.dumps(ans) + "\n")
        out.flush()


# ---------------------------------------------------------------------------------------------- parent
class ReaderProcess:
    """A child process that reads recordings under a memory cap and a time limit.

    Parameters
    ----------
    memory_mib : int
        Address space allowed beyond the child's footprint after imports.
    timeout_s : float
        Wall-clock limit per file.
    """

    def __init__(self, memory_mib: int = DEFAULT_MEMORY_MIB, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.memory_mib = int(memory_mib)
        self.timeout_s = float(timeout_s)
        self._proc: subprocess.Popen | None = None
        self.restarts = 0

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(self.memory_mib)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env=env, text=True, bufsize=1)
        # the per-file time limit starts after the imports: wait for the child to say it is ready
        ready, _, _ = select.select([p.stdout], [], [], STARTUP_TIMEOUT_S)
        line = p.stdout.readline() if ready else ""
        if not line or not json.loads(line).get("ready"):
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            raise RuntimeError(f"the reader child did not start within {STARTUP_TIMEOUT_S:g} s")
        if not json.loads(line).get("address_space_cap"):
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            raise RuntimeError("the reader child could not cap its address space (no /proc/self/status)")
        return p

    def _stop(self) -> None:
        p, self._proc = self._proc, None
        if p is None:
            return
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        p.wait()
        for stream in (p.stdin, p.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stop the child process."""
        self._stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def selftest(self, kind: str) -> dict:
        """Ask the child to misbehave on purpose (``"allocate"`` 16 GiB, or ``"spin"`` forever)."""
        return self._ask({"selftest": kind})

    def read(self, path, backend: str = "auto") -> dict:
        """Read *path* in the child; returns the answer dict (see the module docstring).

        Parameters
        ----------
        path : str or os.PathLike
            The file to read.
        backend : str
            ``read_recording``'s backend.

        Returns
        -------
        dict
            ``outcome``, ``error_type``, ``message``, ``seconds``, ``peak_mib``.
        """
        return self._ask({"path": str(path), "backend": backend})

    def _ask(self, request: dict) -> dict:
        if self._proc is None or self._proc.poll() is not None:
            if self._proc is not None:
                self._stop()
                self.restarts += 1
            self._proc = self._start()
        p = self._proc
        t0 = time.monotonic()
        try:
            p.stdin.write(json.dumps(request) + "\n")
            p.stdin.flush()
        except (BrokenPipeError, OSError):
            self._stop()
            self.restarts += 1
            return {"outcome": "crash", "error_type": None, "message": "child died before the request",
                    "seconds": 0.0, "peak_mib": None}
        ready, _, _ = select.select([p.stdout], [], [], self.timeout_s)
        if not ready:
            self._stop()
            self.restarts += 1
            return {"outcome": "hang", "error_type": None, "seconds": round(time.monotonic() - t0, 2),
                    "message": f"no answer within {self.timeout_s:g} s", "peak_mib": None}
        line = p.stdout.readline()
        if not line:
            code = p.wait()
            self._stop()
            self.restarts += 1
            return {"outcome": "crash", "error_type": None, "message": f"child exited with status {code}",
                    "seconds": round(time.monotonic() - t0, 2), "peak_mib": None}
        return json.loads(line)


# --------------------------------------------------------------------------------------------- mutation
#: values that break readers: zero, sign, int limits, NaN/inf, denormal-ish and huge floats
INTERESTING_INTS = (0, 1, -1, 2, 255, 256, 32767, -32768, 65535, 2 ** 31 - 1, -2 ** 31, 2 ** 32 - 1,
                    2 ** 40 + 5, 2 ** 63 - 1, -2 ** 63)
INTERESTING_FLOATS = (0.0, -0.0, 1.0, -1.0, float("nan"), float("inf"), float("-inf"), 1e-30, -1e-30, 1e30,
                      3.4e38, 1e-45)
#: struct formats a "field" mutation writes: (format, size)
FIELD_FORMATS = ("<h", "<H", "<i", "<I", "<q", "<f")

#: named header fields, for regression tests and targeted fuzzing: name -> (format, offset function)
#: ABF1 offsets are absolute (HeaderV1); ABF2 offsets are relative to the section named first
ABF1_FIELDS = {
    "nOperationMode": ("<h", 8), "lActualAcqLength": ("<i", 10), "nNumPointsIgnored": ("<h", 14),
    "lActualEpisodes": ("<i", 16), "lDataSectionPtr": ("<i", 40), "lTagSectionPtr": ("<i", 44),
    "lNumTagEntries": ("<i", 48), "lSynchArrayPtr": ("<i", 92), "lSynchArraySize": ("<i", 96),
    "nDataFormat": ("<h", 100), "nADCNumChannels": ("<h", 120), "fADCSampleInterval": ("<f", 122),
    "fSynchTimeUnit": ("<f", 130), "fADCRange": ("<f", 244), "lADCResolution": ("<i", 252),
    "fFileVersionNumber": ("<f", 4),
}
#: per physical ADC p: absolute offset = base + step * p
ABF1_ADC_FIELDS = {
    "fADCProgrammableGain": ("<f", 730, 4), "fInstrumentScaleFactor": ("<f", 922, 4),
    "fInstrumentOffset": ("<f", 986, 4), "fSignalGain": ("<f", 1050, 4), "fSignalOffset": ("<f", 1114, 4),
    "nTelegraphEnable": ("<h", 4512, 2), "fTelegraphAdditGain": ("<f", 4576, 4),
}
ABF2_HEADER_FIELDS = {"lActualEpisodes": ("<I", 12), "nDataFormat": ("<H", 30)}
ABF2_PROTOCOL_FIELDS = {
    "nOperationMode": ("<h", 0), "fADCSequenceInterval": ("<f", 2), "fSynchTimeUnit": ("<f", 14),
    "fEpisodeStartToStart": ("<f", 62), "fADCRange": ("<f", 110), "lADCResolution": ("<i", 118),
}
ABF2_ADC_FIELDS = {
    "nADCNum": ("<h", 0), "nTelegraphEnable": ("<h", 2), "fTelegraphAdditGain": ("<f", 6),
    "fADCProgrammableGain": ("<f", 28), "fInstrumentScaleFactor": ("<f", 40), "fInstrumentOffset": ("<f", 44),
    "fSignalGain": ("<f", 48), "fSignalOffset": ("<f", 52),
}
ABF2_SECTION_NAMES = ("Protocol", "ADC", "DAC", "Epoch", "ADCPerDAC", "EpochPerDAC", "UserList", "StatsRegion",
                      "Math", "Strings", "Data", "Tag", "Scope", "Delta", "VoiceTag", "SynchArray", "Annotation",
                      "Stats")


def header_extent(data: bytes) -> int:
    """Bytes before the sample data of a file (the part a header mutation should hit)."""
    import struct

    if data[:4] == b"ABF2":
        block, = struct.unpack_from("<I", data, 236)
        return max(512, min(len(data), block * 512))
    if data[:4] == b"ABF ":
        ptr, = struct.unpack_from("<i", data, 40)
        return max(2048, min(len(data), ptr * 512 if ptr > 0 else 2048))
    return min(len(data), 1024)


def set_field(data: bytearray, fmt: str, offset: int, value) -> None:
    """Write *value* with struct format *fmt* at *offset* (ints wrap to the field's width)."""
    import struct

    size = struct.calcsize(fmt)
    if fmt[-1] in "hHiIqQ":
        bits = 8 * size
        value = int(value) & ((1 << bits) - 1)
        if fmt[-1].islower() and value >= 1 << (bits - 1):
            value -= 1 << bits
    elif abs(value) > 3.4028234663852886e38:  # beyond float32: what a float32 field holds then
        value = float("inf") if value > 0 else float("-inf")
    struct.pack_into(fmt, data, offset, value)


def abf2_field_offset(data: bytes, name: str, channel: int = 0) -> tuple[str, int]:
    """(format, absolute offset) of an ABF2 header, protocol or ADC field."""
    import struct

    if name in ABF2_HEADER_FIELDS:
        return ABF2_HEADER_FIELDS[name]
    if name in ABF2_PROTOCOL_FIELDS:
        fmt, rel = ABF2_PROTOCOL_FIELDS[name]
        block, = struct.unpack_from("<I", data, 76)
        return fmt, block * 512 + rel
    fmt, rel = ABF2_ADC_FIELDS[name]
    block, entry = struct.unpack_from("<II", data, 92)
    return fmt, block * 512 + entry * channel + rel


def abf1_field_offset(data: bytes, name: str, channel: int = 0) -> tuple[str, int]:
    """(format, absolute offset) of an ABF1 field; per-ADC fields of the physical ADC of *channel*."""
    import struct

    if name in ABF1_FIELDS:
        return ABF1_FIELDS[name]
    fmt, base, step = ABF1_ADC_FIELDS[name]
    p, = struct.unpack_from("<h", data, 410 + 2 * channel)  # nADCSamplingSeq
    return fmt, base + step * p


def field_offset(data: bytes, name: str, channel: int = 0) -> tuple[str, int]:
    """(format, absolute offset) of a named header field of an ABF1 or ABF2 file."""
    return (abf2_field_offset if data[:4] == b"ABF2" else abf1_field_offset)(data, name, channel)


def apply_ops(data: bytes, ops) -> bytes:
    """Apply mutation operations to a copy of *data*.

    Each op is a tuple:

    ``("flip", offset, bit)``
        Flip one bit.
    ``("bytes", offset, bytes)``
        Overwrite bytes.
    ``("field", offset, fmt, value)``
        Write a number with a struct format.
    ``("named", name, channel, value)``
        Write a named header field (see ``ABF1_FIELDS``...).
    ``("section", index, part, value)``
        ABF2 section map record *index*: part 0 block (uint32), 1 bytes per
        entry (uint32), 2 entry count (int64).
    ``("truncate", length)``
        Keep the first *length* bytes (at least 1).

    Offsets beyond the data wrap around (``offset % len``).
    """
    out = bytearray(data)
    for op in ops:
        kind = op[0]
        if kind == "flip":
            k = op[1] % len(out)
            out[k] ^= 1 << (op[2] % 8)
        elif kind == "bytes":
            k = op[1] % len(out)
            chunk = op[2][: len(out) - k]
            out[k:k + len(chunk)] = chunk
        elif kind == "field":
            import struct

            size = struct.calcsize(op[2])
            k = op[1] % max(1, len(out) - size)
            set_field(out, op[2], k, op[3])
        elif kind == "named":
            fmt, k = field_offset(bytes(out), op[1], op[2])
            if 0 <= k and k + 8 <= len(out):
                set_field(out, fmt, k, op[3])
        elif kind == "section":
            if out[:4] == b"ABF2":
                fmt, rel = (("<I", 0), ("<I", 4), ("<q", 8))[op[2] % 3]
                set_field(out, fmt, 76 + 16 * (op[1] % 18) + rel, op[3])
        elif kind == "truncate":
            del out[max(1, op[1]):]
        else:  # pragma: no cover
            raise ValueError(f"unknown mutation {op!r}")
    return bytes(out)


def random_ops(rng, data: bytes, n_max: int = 4) -> list:
    """1..n_max random mutation operations aimed at the header of *data* (``rng``: random.Random)."""
    import math

    hdr = header_extent(data)
    abf = data[:4] in (b"ABF2", b"ABF ")
    ops = []
    for _ in range(rng.randint(1, n_max)):
        kinds = ["flip", "bytes", "field"] + (["named", "named", "section" if data[:4] == b"ABF2" else "named"]
                                             if abf else [])
        kind = rng.choice(kinds + (["truncate"] if rng.random() < 0.05 else []))
        if kind == "flip":
            ops.append(("flip", rng.randrange(hdr), rng.randrange(8)))
        elif kind == "bytes":
            n = rng.randint(1, 16)
            ops.append(("bytes", rng.randrange(hdr), bytes(rng.randrange(256) for _ in range(n))))
        elif kind == "field":
            fmt = rng.choice(FIELD_FORMATS)
            value = rng.choice(INTERESTING_FLOATS if fmt == "<f" else INTERESTING_INTS)
            ops.append(("field", rng.randrange(0, hdr, 2), fmt, value))
        elif kind == "named":
            names = (list(ABF2_HEADER_FIELDS) + list(ABF2_PROTOCOL_FIELDS) + list(ABF2_ADC_FIELDS)
                     if data[:4] == b"ABF2" else list(ABF1_FIELDS) + list(ABF1_ADC_FIELDS))
            name = rng.choice(names)
            is_float = name.startswith("f")
            value = rng.choice(INTERESTING_FLOATS if is_float else INTERESTING_INTS)
            if is_float and rng.random() < 0.3:
                value = math.ldexp(rng.random(), rng.randint(-140, 130)) * rng.choice((1, -1))
            ops.append(("named", name, rng.randrange(4), value))
        elif kind == "section":
            part = rng.randrange(3)
            ops.append(("section", rng.choice((0, 1, 2, 3, 5, 6, 9, 10, 11, 15, rng.randrange(18))), part,
                        rng.choice(INTERESTING_INTS + (rng.randrange(1 << 20),))))
        else:
            ops.append(("truncate", rng.randrange(1, len(data))))
    return ops


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--child":
    _child_main(int(sys.argv[2]))
