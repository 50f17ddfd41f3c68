"""One atomic file writer and one JSON-ready converter, with one set of guarantees.

Guarantees of :func:`atomic_write` (and the helpers built on it)
-----------------------------------------------------------------
* Each output is written to a temporary file in its destination folder
  (``.<name>.<random>.tmp<suffix>``, mode 0o666 minus the umask, like any new file),
  then renamed into place: a reader sees the old file or the whole new one, never a
  partial one.  On failure every temporary file is removed.
* Several outputs that belong together (a table and its sidecar) are committed in
  reverse order, so the first (main) file appears last.
* Without ``overwrite=True`` an existing destination is never replaced, not even one
  created by another process while we wrote (hard-link commit): :class:`OutputExistsError`.
* ``durable=True`` also fsyncs every file before its rename and the folder after it, so
  the outputs survive a power loss once the call returns.  Batch runs use it for the
  files a finished-file marker vouches for, and for the marker itself; interactive
  writers do not need it.

:func:`to_jsonable` turns nested mappings, sequences, numpy scalars and arrays, paths and
non-finite floats (-> None) into standard JSON values; every JSON output uses it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence, Set
from pathlib import Path
from typing import Any

from ephys_correct.errors import OutputExistsError


def to_jsonable(obj: Any) -> Any:
    """A copy of *obj* made of dict, list, str, int, float (finite), bool and None.

    Parameters
    ----------
    obj : Any
        Mappings (keys become str), lists, tuples, sets, numpy scalars and arrays,
        paths; other objects are returned unchanged.

    Returns
    -------
    Any
        The JSON-ready copy; NaN and infinities become None.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"a": np.float64(1.5), "b": (1, float("nan"))})
    {'a': 1.5, 'b': [1, None]}
    """
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:  # the common leaves, without ABC checks
        return obj
    if t is float:
        return obj if math.isfinite(obj) else None
    if t is dict:
        return {k if type(k) is str else str(k): to_jsonable(v) for k, v in obj.items()}
    if t is list:
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, Set)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy scalars and arrays
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def json_bytes(obj: Any) -> bytes:
    """Standard JSON (UTF-8, sorted keys, one-space indent, trailing newline) of :func:`to_jsonable` (*obj*)."""
    return (json.dumps(to_jsonable(obj), indent=1, sort_keys=True, ensure_ascii=False, default=str)
            + "\n").encode("utf-8")


def temp_path_in(dirpath: Path, name: str) -> Path:
    """A new empty temporary file beside the destination, created with mode 0o666 minus the umask.

    Parameters
    ----------
    dirpath : Path
        The destination folder.
    name : str
        The destination file name (its suffix is kept last: pynwb and openpyxl look at it).

    Returns
    -------
    Path
        The temporary file (created, empty).
    """
    suffix = Path(name).suffix
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


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def atomic_write(dests: Sequence[str | os.PathLike], writers: Sequence[Callable[[Path], None]], *,
                 overwrite: bool = False, durable: bool = False, make_parents: bool = False) -> None:
    """Write several files that belong together, atomically (see the module docstring).

    Parameters
    ----------
    dests : sequence of path
        Destinations; the first is the main file (committed last).
    writers : sequence of callable
        ``writer(tmp_path)`` writes the content of the matching destination to *tmp_path*.
    overwrite : bool
        Replace existing destinations (default: refuse with :class:`OutputExistsError`).
    durable : bool
        fsync each file before its rename and the folder after it.
    make_parents : bool
        Create missing destination folders (default: a missing folder is an error).

    Raises
    ------
    OutputExistsError
        A destination exists (without *overwrite*) or is a directory.
    FileNotFoundError
        A destination folder does not exist (without *make_parents*).
    """
    paths = [Path(d) for d in dests]
    for d in paths:
        if d.is_dir():
            raise OutputExistsError(f"{d}: is a directory")
        if d.exists() and not overwrite:
            raise OutputExistsError(f"{d}: exists; pass overwrite=True to replace it")
        if not d.parent.is_dir():
            if not make_parents:
                raise FileNotFoundError(f"{d.parent}: no such directory (output {d.name})")
            d.parent.mkdir(parents=True, exist_ok=True)
    tmps: list[Path] = []
    try:
        for d, w in zip(paths, writers):
            t = temp_path_in(d.parent, d.name)
            tmps.append(t)
            w(t)
            if durable:
                _fsync_path(t)
        for d, t in reversed(list(zip(paths, tmps))):
            _commit(t, d, overwrite)
        if durable:
            for folder in {d.parent for d in paths}:
                _fsync_path(folder)
    finally:
        for t in tmps:
            if t.exists():
                t.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = False,
                       durable: bool = False, make_parents: bool = False) -> None:
    """:func:`atomic_write` of one file with *data*.

    Parameters
    ----------
    path : path
        Destination.
    data : bytes
        Content.
    overwrite, durable, make_parents : bool
        As in :func:`atomic_write`.
    """
    atomic_write([path], [lambda t: Path(t).write_bytes(data)], overwrite=overwrite, durable=durable,
                 make_parents=make_parents)


def atomic_write_json(path: str | os.PathLike, obj: Any, *, overwrite: bool = False,
                      durable: bool = False, make_parents: bool = False) -> None:
    """:func:`atomic_write_bytes` of :func:`json_bytes` (*obj*).

    Parameters
    ----------
    path : path
        Destination.
    obj : Any
        Anything :func:`to_jsonable` accepts.
    overwrite, durable, make_parents : bool
        As in :func:`atomic_write`.
    """
    atomic_write_bytes(path, json_bytes(obj), overwrite=overwrite, durable=durable, make_parents=make_parents)
