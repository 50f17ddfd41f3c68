"""Synthetic ABF files for the headstage tests: a minimal ABF1 writer and ABF2 header patches.

``write_abf1`` writes an ABF 1.83 file with the extended header (data at byte
6144), so that telegraphs, waveform settings, DAC units/names and holding
levels are all recorded; the field offsets are those of pyabf's
``pyabf/abf1/headerV1.py`` (Axon's ABFHEADR.H).  pyabf's own
``abfWriter.writeABF1`` writes one channel with a blank 2 kB header, which
cannot carry those facts.

The ABF2 helpers patch a copy of a ``tests/data`` file (entry offsets as in
pyabf's ``abf2/adcSection.py`` / ``dacSection.py``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MULTICLAMP = 24
AXOPATCH_200B = 15


@dataclass
class Adc:
    name: str
    units: str
    telegraph: tuple | None = None  # (instrument, mode)
    physical: int | None = None  # physical ADC number (default: position)


@dataclass
class Dac:
    name: str
    units: str
    holding: float = 0.0
    epochs: list = field(default_factory=list)  # (type, level, duration) for DAC 0/1; type 1 = step
    waveform: bool | None = None  # nWaveformEnable (default: bool(epochs))


def write_abf1(path: Path, data: np.ndarray, rate_hz: float, adcs: list[Adc], dacs: list[Dac], *,
               protocol: str = "", creator: str = "Clampex") -> Path:
    """Write an ABF 1.83 episodic file.

    Parameters
    ----------
    data : ndarray, shape (sweeps, channels, samples)
        Values in each channel's units.
    adcs, dacs : lists of Adc / Dac
        Channel and DAC facts (at most 4 DACs; waveforms only for DAC 0 and 1).
    """
    data = np.asarray(data, dtype=np.float64)
    n_sweeps, nch, n = data.shape
    assert nch == len(adcs) and len(dacs) <= 4
    header = bytearray(6144)
    struct.pack_into("4s", header, 0, b"ABF ")
    struct.pack_into("<f", header, 4, 1.83)
    struct.pack_into("<h", header, 8, 5)  # episodic
    struct.pack_into("<i", header, 10, n_sweeps * nch * n)
    struct.pack_into("<i", header, 16, n_sweeps)
    struct.pack_into("<i", header, 20, 20240102)  # lFileStartDate
    struct.pack_into("<i", header, 24, 3600)  # lFileStartTime (s)
    struct.pack_into("<f", header, 32, 1.83)
    struct.pack_into("<h", header, 36, 1)
    struct.pack_into("<i", header, 40, 12)  # data at block 12 = byte 6144
    struct.pack_into("<h", header, 100, 0)  # int16
    struct.pack_into("<h", header, 120, nch)
    struct.pack_into("<f", header, 122, 1e6 / (rate_hz * nch))
    struct.pack_into("<i", header, 138, n * nch)
    struct.pack_into("<f", header, 244, 10.0)
    struct.pack_into("<f", header, 248, 10.0)
    struct.pack_into("<i", header, 252, 32768)
    struct.pack_into("<i", header, 256, 32768)
    struct.pack_into("16s", header, 294, creator.encode())
    phys = [a.physical if a.physical is not None else i for i, a in enumerate(adcs)]
    seq = phys + [-1] * (16 - nch)
    struct.pack_into("<16h", header, 410, *seq)
    struct.pack_into("<16h", header, 378, *[i if i in phys else -1 for i in range(16)])
    scales = []
    for i, a in enumerate(adcs):
        p = phys[i]
        peak = float(np.max(np.abs(data[:, i, :]))) or 1.0
        scale = 10.0 ** np.floor(np.log10(32767 / (3276.8 * peak)))  # V per unit, power of ten
        scales.append(scale)
        struct.pack_into("10s", header, 442 + 10 * p, a.name.encode().ljust(10))
        struct.pack_into("8s", header, 602 + 8 * p, a.units.encode().ljust(8))
        struct.pack_into("<f", header, 730 + 4 * p, 1.0)
        struct.pack_into("<f", header, 922 + 4 * p, scale)
        struct.pack_into("<f", header, 1050 + 4 * p, 1.0)
        if a.telegraph is not None:
            inst, mode = a.telegraph
            struct.pack_into("<h", header, 4512 + 2 * p, 1)
            struct.pack_into("<h", header, 4544 + 2 * p, inst)
            struct.pack_into("<f", header, 4576 + 4 * p, 1.0)
            struct.pack_into("<h", header, 4768 + 2 * p, mode)
    for d, dac in enumerate(dacs):
        struct.pack_into("10s", header, 1306 + 10 * d, dac.name.encode().ljust(10))
        struct.pack_into("8s", header, 1346 + 8 * d, dac.units.encode().ljust(8))
        struct.pack_into("<f", header, 1394 + 4 * d, dac.holding)
        if d < 2:
            enable = bool(dac.epochs) if dac.waveform is None else dac.waveform
            struct.pack_into("<h", header, 2296 + 2 * d, int(enable))
            struct.pack_into("<h", header, 2300 + 2 * d, 1)
            for e, (kind, level, duration) in enumerate(dac.epochs[:10]):
                struct.pack_into("<h", header, 2308 + 2 * (10 * d + e), kind)
                struct.pack_into("<f", header, 2348 + 4 * (10 * d + e), level)
                struct.pack_into("<i", header, 2508 + 4 * (10 * d + e), duration)
    if protocol:
        struct.pack_into("256s", header, 4898, f"C:\\Protocols\\{protocol}.pro".encode())
    # values -> int16 counts: value * scale [V] / 10 V * 32768
    counts = np.empty((n_sweeps, n, nch), dtype="<i2")
    for i in range(nch):
        counts[:, :, i] = np.round(data[:, i, :] * scales[i] * 3276.8).astype("<i2")
    with open(path, "wb") as f:
        f.write(bytes(header))
        f.write(counts.tobytes())
    return path


def sweeps(n_sweeps: int, values: list[float], n: int = 400) -> np.ndarray:
    """(sweeps, channels, samples) with a constant per channel plus a small ramp (so data are not flat)."""
    ramp = np.linspace(0.0, 1.0, n)
    return np.stack([np.stack([np.full(n, v) + ramp for v in values]) for _ in range(n_sweeps)])


def write_abf1_large(path: Path, *, n_sweeps: int, samples: int, gapfree: bool = False,
                     rate_hz: float = 20000.0) -> Path:
    """A large ABF 1.83 file written block by block (memory: one sweep, whatever the size).

    An Axopatch 200B current-clamp recording (``IN 0`` V_m in mV, telegraphed;
    ``IN 1`` current in pA; DAC 0 a current step protocol): *n_sweeps* copies of
    one sweep of *samples* samples per channel (4 bytes per sample pair).  With
    ``gapfree=True`` the file is gap-free (``nOperationMode`` 3): one sweep of
    ``n_sweeps * samples`` samples.
    """
    rng = np.random.default_rng(0)
    one = sweeps(1, [-65.0, 50.0], samples) + rng.normal(0.0, 0.5, size=(1, 2, samples))
    write_abf1(path, one, rate_hz, [Adc("IN 0", "mV", (AXOPATCH_200B, 0)), Adc("IN 1", "pA")],
               [Dac("Cmd 0", "pA", 0.0, [(1, 50.0, samples // 4), (1, 0.0, samples // 4)]), Dac("OUT 1", "V", -6.0)],
               protocol="steps")
    raw = Path(path).read_bytes()
    head, block = bytearray(raw[:6144]), raw[6144:]
    struct.pack_into("<i", head, 10, n_sweeps * 2 * samples)  # lActualAcqLength
    struct.pack_into("<i", head, 16, 1 if gapfree else n_sweeps)  # lActualEpisodes
    if gapfree:
        struct.pack_into("<h", head, 8, 3)  # nOperationMode: gap-free
    with open(path, "wb") as f:
        f.write(bytes(head))
        for _ in range(n_sweeps):
            f.write(block)
    return Path(path)


# --------------------------------------------------------------------------- ABF2 patches
def _section(data: bytes, offset: int) -> tuple[int, int, int]:
    block, size, count = struct.unpack_from("<IIq", data, offset)
    return block * 512, size, count


def abf2_set_dac_field(path: Path, dac: int, field_offset: int, fmt: str, value) -> None:
    """Overwrite a field of one DAC-section entry (offsets as in pyabf's DACSection)."""
    data = bytearray(path.read_bytes())
    start, size, _ = _section(data, 108)
    struct.pack_into(fmt, data, start + dac * size + field_offset, value)
    path.write_bytes(bytes(data))


def abf2_set_epoch_types(path: Path, dac: int, kind: int) -> None:
    """Set the type of every EpochPerDAC entry of *dac* (0 = off: the DAC drives no waveform)."""
    data = bytearray(path.read_bytes())
    start, size, count = _section(data, 156)
    for k in range(count):
        num, d = struct.unpack_from("<hh", data, start + k * size)
        if d == dac:
            struct.pack_into("<h", data, start + k * size + 4, kind)
    path.write_bytes(bytes(data))


def abf2_telegraph(path: Path, adc_entry: int, instrument: int, mode: int) -> None:
    """Enable a telegraph on one ADC entry (gain 1, so the scaling is unchanged)."""
    data = bytearray(path.read_bytes())
    start, size, _ = _section(data, 92)
    base = start + adc_entry * size
    struct.pack_into("<h", data, base + 2, 1)
    struct.pack_into("<h", data, base + 4, instrument)
    struct.pack_into("<f", data, base + 6, 1.0)
    struct.pack_into("<h", data, base + 18, mode)
    path.write_bytes(bytes(data))
