"""One atomic file writer: temp file in the destination folder, fsync, rename; umask; no overwrite
unless asked."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from ephys_correct.errors import OutputExistsError


def _tmp_in(dirpath: Path, name: str) -> Path:
    """A new empty temporary file beside the destination, created with mode 0o666 minus the umask.

    (``tempfile.mkstemp`` would create it 0o600, and the final file would keep that mode.)
    """
    suffix = Path(name).suffix  # keep the real suffix last (pynwb, openpyxl look at it); hidden, marked .tmp
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = Path(dirpath) / f".{name}.{os.urandom(6).hex()}.tmp{suffix}"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{dirpath}: could not create a temporary file for {name}")


def _commit(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Move *tmp* to *dest* atomically; without overwrite, never clobber a file created meanwhile."""
    if overwrite:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)  # fails if dest exists: no race with another writer
    except FileExistsError:
        raise OutputExistsError(f"{dest}: exists; pass overwrite=True to replace it") from None
    except OSError:  # filesystems without hard links
        if dest.exists():
            raise OutputExistsError(f"{dest}: exists; pass overwrite=True to replace it") from None
        os.replace(tmp, dest)
        return
    os.unlink(tmp)


def _atomic(dests: Sequence[Path], writers: Sequence[Callable[[Path], None]], overwrite: bool) -> None:
    for d in dests:
        if d.exists() and not overwrite:
            raise OutputExistsError(f"{d}: exists; pass overwrite=True to replace it")
        if d.is_dir():
            raise OutputExistsError(f"{d}: is a directory")
        if not d.parent.is_dir():
            raise FileNotFoundError(f"{d.parent}: no such directory (output {d.name})")
    tmps: list[Path] = []
    try:
        for d, w in zip(dests, writers):
            t = _tmp_in(d.parent, d.name)
            tmps.append(t)
            w(t)
        # the main file last: a reader never sees a table without its sidecar
        for d, t in reversed(list(zip(dests, tmps))):
            _commit(t, d, overwrite)
    finally:
        for t in tmps:
            if t.exists():
                t.unlink()
