"""Bad inputs: each a specific error that names the path; nothing is written."""

from __future__ import annotations

import builtins
import os
import shutil

import pytest
from io_helpers import local

from ephys_correct.errors import CorruptRecordingError, RecordingError, UnsupportedFormatError
from ephys_correct.io import (
    RecordingIsADirectoryError,
    RecordingNotFoundError,
    RecordingPermissionError,
    read_recording,
)


def _snapshot(folder):
    return {p: (os.stat(folder / p).st_size, os.stat(folder / p).st_mtime_ns) for p in sorted(os.listdir(folder))}


def _expect(path, exc_type, match):
    folder = path.parent
    before = _snapshot(folder)
    with pytest.raises(exc_type, match=match) as info:
        read_recording(path)
    assert str(path) in str(info.value)
    assert _snapshot(folder) == before  # nothing written, nothing touched
    return info.value


def test_missing_file(tmp_path):
    exc = _expect(tmp_path / "nope.abf", FileNotFoundError, "no such file")
    assert isinstance(exc, RecordingNotFoundError) and isinstance(exc, RecordingError)
    assert exc.filename == str(tmp_path / "nope.abf")


def test_directory(tmp_path):
    d = tmp_path / "folder.abf"
    d.mkdir()
    exc = _expect(d, IsADirectoryError, "is a directory")
    assert isinstance(exc, RecordingIsADirectoryError) and isinstance(exc, OSError)


def test_no_permission_via_access(tmp_path, monkeypatch):
    p = tmp_path / "locked.abf"
    shutil.copyfile(local("2018_11_16_sh_0006.abf"), p)
    real = os.access
    monkeypatch.setattr(os, "access", lambda f, mode, *a, **k: False if str(f) == str(p) else real(f, mode))
    exc = _expect(p, PermissionError, "permission denied")
    assert isinstance(exc, RecordingPermissionError)


def test_no_permission_via_open(tmp_path, monkeypatch):
    p = tmp_path / "locked.abf"
    shutil.copyfile(local("2018_11_16_sh_0006.abf"), p)
    real_open = builtins.open

    def fake_open(file, *args, **kwargs):
        if str(file) == str(p):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    _expect(p, RecordingPermissionError, "permission denied")


def test_zero_length(tmp_path):
    p = tmp_path / "empty.abf"
    p.write_bytes(b"")
    _expect(p, CorruptRecordingError, "zero-length")


@pytest.mark.parametrize("name,keep", [("171116sh_0013.abf", 200_000), ("171116sh_0013.abf", 1000),
                                       ("pclamp11_4ch_abf1.abf", 300_000), ("pclamp11_4ch_abf1.abf", 3000)])
def test_truncated_abf(tmp_path, name, keep):
    p = tmp_path / f"cut_{keep}.abf"
    p.write_bytes(local(name).read_bytes()[:keep])
    exc = _expect(p, CorruptRecordingError, "truncated")
    assert isinstance(exc, ValueError) and isinstance(exc, OSError)


@pytest.mark.parametrize("name,keep", [("myokit_wcp-file.wcp", 2000), ("AxoGraph_X_File.axgx", 300)])
def test_truncated_other_formats(tmp_path, name, keep):
    p = tmp_path / name
    p.write_bytes(local(name).read_bytes()[:keep])
    _expect(p, CorruptRecordingError, "truncated")


def test_wrong_extension_abf_named_wcp(tmp_path):
    p = tmp_path / "really_abf.wcp"
    shutil.copyfile(local("171116sh_0013.abf"), p)
    _expect(p, CorruptRecordingError, "says WinWCP, but its content is ABF")


def test_wrong_extension_wcp_named_abf(tmp_path):
    p = tmp_path / "really_wcp.abf"
    shutil.copyfile(local("myokit_wcp-file.wcp"), p)
    _expect(p, CorruptRecordingError, "says ABF, but its content is WinWCP")


def test_unknown_extension(tmp_path):
    p = tmp_path / "recording.dat"
    shutil.copyfile(local("171116sh_0013.abf"), p)
    _expect(p, UnsupportedFormatError, r"unsupported file type '\.dat' \(its content looks like ABF")


@pytest.mark.parametrize("name,content,exc,match", [
    ("notes.abf", b"hello, this is a text file\n", CorruptRecordingError, "not ABF data"),
    ("noise.wcp", bytes(range(256)) * 20, CorruptRecordingError, "not WinWCP data"),
    ("noise.axgx", b"\x01\x02" * 3000, CorruptRecordingError, "not AxoGraph data"),
    ("notes.txt", b"hello\n", UnsupportedFormatError, "unsupported file type '.txt'"),
])
def test_not_a_recording(tmp_path, name, content, exc, match):
    p = tmp_path / name
    p.write_bytes(content)
    _expect(p, exc, match)


def test_corrupt_header_field(tmp_path):
    p = tmp_path / "zero_rate.abf"
    data = bytearray(local("171116sh_0013.abf").read_bytes())
    # protocol section: fADCSequenceInterval (float32 at +2) -> 0
    block = int.from_bytes(data[76:80], "little")
    data[block * 512 + 2:block * 512 + 6] = b"\0\0\0\0"
    p.write_bytes(bytes(data))
    _expect(p, CorruptRecordingError, "fADCSequenceInterval = 0.0")
