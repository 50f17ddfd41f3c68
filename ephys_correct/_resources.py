"""Access to the package's data files through importlib.resources."""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["read_text", "read_csv_rows", "read_toml", "list_data_files", "tomllib", "read_user_file"]


def _data_dir():
    return resources.files("ephys_correct").joinpath("data")


def read_text(name: str) -> str:
    """Return the text of ``ephys_correct/data/<name>``."""
    return _data_dir().joinpath(name).read_text(encoding="utf-8")


def read_csv_rows(name: str) -> list[dict[str, str]]:
    """Rows of a packaged CSV file as dictionaries (lines starting with '#' skipped)."""
    text = "".join(ln for ln in io.StringIO(read_text(name)) if not ln.startswith("#"))
    return list(csv.DictReader(io.StringIO(text)))


def read_toml(name: str) -> dict[str, Any]:
    """Parse a packaged TOML file."""
    return tomllib.loads(read_text(name))


def list_data_files(pattern_prefix: str = "", suffix: str = "") -> list[str]:
    """Names of packaged data files starting with *pattern_prefix* and ending with *suffix*."""
    return sorted(
        p.name
        for p in _data_dir().iterdir()
        if p.name.startswith(pattern_prefix) and p.name.endswith(suffix)
    )


def read_user_file(path: str | os.PathLike, *, max_bytes: int, what: str, error: type = OSError) -> bytes:
    """The bytes of a user's file, refusing what could hang or exhaust memory.

    The file is checked with ``stat`` *before* it is opened: a named pipe
    (which would block), a device (``/dev/urandom``, ``/dev/zero``: endless), a
    socket or a folder is refused; a regular file is read up to *max_bytes*
    (one byte more means too long, whatever its size claimed).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    max_bytes : int
        The largest accepted size.
    what : str
        What the file should be (for the message, e.g. ``"recipe file"``).
    error : type
        Exception class raised for a refused file (called with the message).

    Returns
    -------
    bytes

    Raises
    ------
    FileNotFoundError
        No such file.
    error
        Not a regular file, or longer than *max_bytes*.
    """
    p = os.fspath(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} not found: {p}") from None
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
                else "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise error(f"{p}: is {kind}, not a {what}; refused without reading it.")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(p, flags)  # O_NONBLOCK: a FIFO swapped in after the check does not hang the open
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"{p}: is not a regular file, not a {what}; refused.")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise error(f"{p}: longer than {max_bytes} bytes: too long for a {what}; refused.")
    return data
