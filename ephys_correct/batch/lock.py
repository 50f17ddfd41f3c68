"""One run per output folder: a lock on ``<out>/.ephys_correct.lock``, and the clean-up of
temporary files left by a killed run."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from ephys_correct.errors import OutputLockedError

LOCK_NAME = ".ephys_correct.lock"
#: temporary files of ``ephys_correct._fileio.temp_path_in``: ``.<name>.<12 hex>.tmp<suffix>``
_TEMP_RE = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp(\.[^./]*)?$")


class OutputLock:
    """An exclusive lock on an output folder for the duration of a run.

    Parameters
    ----------
    out_dir : path
        The output folder (created).
    wait : bool
        Wait for another run to finish instead of refusing.

    Raises
    ------
    OutputLockedError
        Another run (its pid is named) holds the folder and *wait* is False.
    """

    def __init__(self, out_dir: str | os.PathLike, *, wait: bool = False) -> None:
        self.path = Path(out_dir) / LOCK_NAME
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> "OutputLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            _lock(fd, self.wait)
        except BlockingIOError:
            holder = _holder(self.path)
            os.close(fd)
            raise OutputLockedError(
                f"{self.path.parent}: another ephys-correct run ({holder}) is writing into this output "
                "folder; wait for it to finish (or pass --wait / wait=True), or choose another folder") from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                os.close(self._fd)  # closing releases the lock
            self._fd = None


def _lock(fd: int, wait: bool) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if not wait:
                    raise BlockingIOError from None
                time.sleep(0.5)
    fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text or "pid unknown"


def remove_stale_temporaries(out_dir: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed run left in *out_dir* (recursively); call it holding the lock.

    Only names made by ``ephys_correct._fileio.temp_path_in`` are touched.

    Parameters
    ----------
    out_dir : path
        The output folder.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    for dirpath, _dirs, files in os.walk(out_dir):
        for name in files:
            if _TEMP_RE.match(name):
                p = Path(dirpath, name)
                try:
                    if p.is_file() and not p.is_symlink():
                        p.unlink()
                        removed.append(p)
                except OSError:
                    pass
    return removed
