"""Paths, manifests and file-crafting helpers for the recording-reader tests.

Manifest tests run over every file of ``../shared/data/{abf,other}`` and their
MANIFEST.csv when ``../shared`` is present, and over the copies in ``tests/data``
(``MANIFEST_abf_subset.csv``, ``MANIFEST_other.csv``) when it is not, so they run
in a user's clone too.  Nothing here skips (see tests/conftest.py).
"""

from __future__ import annotations

import csv
import os
import shutil
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "tests" / "data"
SHARED_DATA = Path(os.environ.get("EPHYS_CORRECT_SHARED", ROOT.parent / "shared")) / "data"
HAVE_SHARED = (SHARED_DATA / "abf" / "MANIFEST.csv").is_file()

LOCAL_ABF_MANIFEST = LOCAL / "MANIFEST_abf_subset.csv"
LOCAL_OTHER_MANIFEST = LOCAL / "MANIFEST_other.csv"

#: the files copied into tests/data (unmodified upstream bytes)
LOCAL_ABF = ("171116sh_0013.abf", "2018_11_16_sh_0006.abf", "pclamp11_4ch.abf", "pclamp11_4ch_abf1.abf")
LOCAL_OTHER = ("myokit_wcp-file.wcp", "AxoGraph_X_File.axgx", "AxoGraph_Digitized_File.axgd")

def local(name: str) -> Path:
    """A file copied into tests/data."""
    return LOCAL / name


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def data_source(kind: str) -> tuple[Path, Path]:
    """(folder, manifest) for ``kind`` in {"abf", "other"}: ../shared if present, else the copies."""
    if not HAVE_SHARED:
        return LOCAL, (LOCAL_ABF_MANIFEST if kind == "abf" else LOCAL_OTHER_MANIFEST)
    folder = SHARED_DATA / kind
    return folder, folder / "MANIFEST.csv"


def manifest_params(kind: str) -> list:
    """pytest params, one per manifest row (the full shared set, or the tests/data subset)."""
    _, manifest = data_source(kind)
    rows = _read_csv(manifest)
    assert rows, f"{manifest} lists no files"
    return [pytest.param(r, id=r["file"]) for r in rows]


def row_path(row, kind: str) -> Path:
    """Path of a manifest row's file; fails (never skips) if it is missing."""
    folder, _ = data_source(kind)
    p = folder / row["file"]
    if not p.is_file():
        pytest.fail(f"manifest lists {row['file']} but {p} does not exist")
    return p


def split(cell: str, sep: str = ";") -> list[str]:
    return [] if cell == "" else cell.split(sep)


# --------------------------------------------------------------------------- crafted files
def copy_to(tmp_path: Path, name: str, new_name: str | None = None) -> Path:
    dst = tmp_path / (new_name or name)
    shutil.copyfile(local(name), dst)
    dst.chmod(0o644)
    return dst


def _abf2_section(data: bytes, offset: int) -> tuple[int, int, int]:
    block, size, count = struct.unpack_from("<IIq", data, offset)
    return block * 512, size, count


def abf2_replace_string(path: Path, old: bytes, new: bytes, occurrence: int = 0) -> None:
    """Replace the *occurrence*-th NUL-delimited string *old* of the strings section by *new* (same length)."""
    assert len(old) == len(new)
    data = bytearray(path.read_bytes())
    start, size, count = _abf2_section(data, 220)
    region = bytes(data[start:start + size * count])
    pos = -1
    for _ in range(occurrence + 1):
        pos = region.index(b"\x00" + old + b"\x00", pos + 1)
    data[start + pos + 1:start + pos + 1 + len(old)] = new
    path.write_bytes(bytes(data))


def abf2_set_adc_field(path: Path, adc_entry: int, field_offset: int, fmt: str, value) -> None:
    """Overwrite a field of one ADC-section entry (offsets as in pyabf's ADCSection)."""
    data = bytearray(path.read_bytes())
    start, size, _ = _abf2_section(data, 92)
    struct.pack_into(fmt, data, start + adc_entry * size + field_offset, value)
    path.write_bytes(bytes(data))


def make_bad_units_abf(tmp_path: Path) -> Path:
    """A small twin of opto_aps_bad_units.abf built from 171116sh_0013.abf.

    MultiClamp telegraph set to I-clamp (nTelegraphMode = 1 at ADC entry byte 18)
    and DAC 0 units changed from mV to pA, so ADC (pA) == DAC (pA) in current clamp.
    """
    p = copy_to(tmp_path, "171116sh_0013.abf", "bad_units.abf")
    abf2_set_adc_field(p, 0, 18, "<h", 1)
    abf2_replace_string(p, b"mV", b"pA", occurrence=0)  # first "mV" in the strings = Cmd 0 units
    return p
