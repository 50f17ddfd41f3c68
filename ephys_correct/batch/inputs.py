"""Collecting recordings from files and folders."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ephys_correct.io import READABLE_EXTENSIONS


#: file extensions collected when a folder is searched: exactly those
#: ``ephys_correct.io.read_recording`` reads (one list, ``io.READABLE_EXTENSIONS``); extend with
#: ``run_batch(extensions=...)`` / ``--ext``
DEFAULT_EXTENSIONS = READABLE_EXTENSIONS


# =========================================================================== inputs
def find_recordings(inputs: Iterable[str | os.PathLike], *, extensions: Sequence[str] = DEFAULT_EXTENSIONS,
                    exclude: Iterable[str | os.PathLike] = ()) -> list[tuple[Path, str]]:
    """Recordings named by *inputs*, each as ``(path, relative path)``.

    Files are taken as given (any extension); folders are searched recursively
    for *extensions* (case-insensitive), skipping hidden entries and the
    *exclude* folders (e.g. the output folder).  The relative path (posix) is
    relative to the folder given, or the file name for a file; sheets match
    against it and outputs mirror it.

    Raises
    ------
    FileNotFoundError
        An input does not exist.
    """
    exts = {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}
    excl = {Path(e).resolve() for e in exclude}
    out: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def add(p: Path, rel: str) -> None:
        r = p.resolve()
        if r not in seen:
            seen.add(r)
            out.append((p, rel))

    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(p):
                d = Path(dirpath)
                dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and (d / n).resolve() not in excl)
                for name in filenames:
                    if not name.startswith(".") and os.path.splitext(name)[1].lower() in exts:
                        found.append(d / name)
            for f in sorted(found):
                add(f, f.relative_to(p).as_posix())
        elif p.exists():
            add(p, p.name)
        else:
            raise FileNotFoundError(f"Input not found: {p}")
    return out


def output_stem(relpath: str) -> str:
    """Output name (posix, relative to the output folder) for a recording's relative path."""
    rel = Path(relpath)
    return (rel.parent / rel.stem).as_posix() if rel.parent != Path(".") else rel.stem
