"""Collecting recordings from files and folders."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from ephys_correct.io import READABLE_EXTENSIONS, list_recordings


#: file extensions collected when a folder is searched: exactly those
#: ``ephys_correct.io.read_recording`` reads (one list, ``io.READABLE_EXTENSIONS``); extend with
#: ``run_batch(extensions=...)`` / ``--ext``
DEFAULT_EXTENSIONS = READABLE_EXTENSIONS


# =========================================================================== inputs
def collect_recordings(inputs: Iterable[str | os.PathLike], *, extensions: Sequence[str] = DEFAULT_EXTENSIONS,
                       exclude: Iterable[str | os.PathLike] = ()
                       ) -> tuple[list[tuple[Path, str]], list[tuple[Path, str, str]]]:
    """Recordings named by *inputs*, and the entries that cannot be taken, each with the reason.

    Folders are listed with :func:`ephys_correct.io.list_recordings` (recursive,
    case-insensitive *extensions*, hidden entries and the *exclude* folders left
    out).  What it reports (symbolic links to folders or in a loop, broken links,
    unreadable entries, known but unreadable formats), and entries that are not
    regular files (a FIFO or a device named like a recording), come back as
    problems, so that a batch makes each one a failed row instead of stopping; a
    second path to a file already listed is dropped (the file is corrected once).

    Parameters
    ----------
    inputs : iterable of paths
        Recording files and/or folders.
    extensions : sequence of str
        Extensions collected from folders.
    exclude : iterable of paths
        Folders not to enter (e.g. the output folder).

    Returns
    -------
    recordings : list of (Path, str)
        ``(path, relative path)``; the relative path (posix) is relative to the
        folder given, or the file name for a file.
    problems : list of (Path, str, str)
        ``(path, relative path, reason)``.

    Raises
    ------
    FileNotFoundError
        An input does not exist.
    """
    exts = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    exclude = list(exclude)
    out: list[tuple[Path, str]] = []
    problems: list[tuple[Path, str, str]] = []
    seen: set[str] = set()

    def add(p: Path, rel: str) -> None:
        reason = _not_a_regular_file(p)
        if reason:
            problems.append((p, rel, reason))
            return
        r = os.path.realpath(p)
        if r not in seen:
            seen.add(r)
            out.append((p, rel))

    for item in inputs:
        p = Path(item)
        if p.is_dir():
            listing = list_recordings(p, extensions=exts, exclude=exclude)
            for entry in listing.recordings:
                add(entry.path, entry.relpath)
            for entry in listing.skipped:
                if not entry.reason.startswith("same file as"):
                    problems.append((entry.path, entry.relpath, entry.reason))
        elif p.exists():
            add(p, p.name)
        elif os.path.lexists(p):
            problems.append((p, p.name, "broken symbolic link or a loop of links"))
        else:
            raise FileNotFoundError(f"Input not found: {p}")
    return out, problems


def _not_a_regular_file(p: Path) -> str | None:
    try:
        mode = os.stat(p).st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    return f"{kind}, not a recording file"


def find_recordings(inputs: Iterable[str | os.PathLike], *, extensions: Sequence[str] = DEFAULT_EXTENSIONS,
                    exclude: Iterable[str | os.PathLike] = ()) -> list[tuple[Path, str]]:
    """Recordings named by *inputs*, each as ``(path, relative path)``.

    The recordings of :func:`collect_recordings` (its problems are left out).

    Parameters
    ----------
    inputs : iterable of paths
        Recording files and/or folders.
    extensions : sequence of str
        Extensions collected from folders.
    exclude : iterable of paths
        Folders not to enter.

    Returns
    -------
    list of (Path, str)

    Raises
    ------
    FileNotFoundError
        An input does not exist.
    """
    return collect_recordings(inputs, extensions=extensions, exclude=exclude)[0]


def output_stem(relpath: str) -> str:
    """Output name (posix, relative to the output folder) for a recording's relative path."""
    rel = Path(relpath)
    return (rel.parent / rel.stem).as_posix() if rel.parent != Path(".") else rel.stem
