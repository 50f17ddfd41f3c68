"""The one list of formats ``read_recording`` reads, and listing a folder's recordings.

:data:`READABLE_EXTENSIONS` is what :func:`~ephys_correct.io.read_recording`
accepts and what folder collection (``batch``) must collect: the two come from
the same table (:data:`FORMATS`), so a collected file is a file the reader
reads.  Formats that acquisition programs write but that cannot be read here
are in :data:`NOT_READABLE`, each with the reason, so that a folder listing can
say why a file was left out.

:func:`list_recordings` walks a folder and returns the recordings *and* every
entry it did not take with a reason: symbolic links (followed to a file and
reported; to a folder, not followed), broken links, unreadable files and
folders, and files of known but unreadable formats.  Nothing is dropped
silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FORMATS",
    "READABLE_EXTENSIONS",
    "NOT_READABLE",
    "FolderEntry",
    "SkippedEntry",
    "FolderListing",
    "list_recordings",
]

#: HDF5 file signature (NWB 2 files are HDF5)
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

#: extension -> (format name, reader, magic prefixes of the content or None)
#: reader: a neo RawIO-based class name, or "pynwb" for NWB
FORMATS = {
    ".abf": ("ABF", "AxonIO", (b"ABF ", b"ABF2")),
    ".wcp": ("WinWCP", "WinWcpIO", (b"VER=",)),
    ".axgx": ("AxoGraph", "AxographIO", (b"axgx", b"AxGr")),
    ".axgd": ("AxoGraph", "AxographIO", (b"axgx", b"AxGr")),
    ".edr": ("WinEDR", "WinEdrIO", (b"VER=",)),
    ".smr": ("Spike2", "Spike2IO", None),
    ".nwb": ("NWB", "pynwb", (HDF5_MAGIC,)),
}

#: file extensions read_recording reads (lower case, with the dot); folder collection uses the same list
READABLE_EXTENSIONS = tuple(sorted(FORMATS))

#: formats found in recording folders that cannot be read here, with the reason (docs/recordings.md)
NOT_READABLE = {
    ".smrx": "Spike2 64-bit file: neo's CedIO needs CED's sonpy package, which is not installed here; "
             "save it as .smr from Spike2",
    ".cfs": "CED Filing System file: neo has no reader for it",
    ".ibw": "Igor binary wave: neo's IgorIO needs the igor2 package, which is not installed here",
    ".pxp": "Igor packed experiment: neo's IgorIO needs the igor2 package, which is not installed here",
    ".dat": "HEKA PatchMaster bundles (.dat) are not read: no maintained reader could be validated on public "
            "files (docs/recordings.md); export the series to NWB or ABF",
}


@dataclass(frozen=True)
class FolderEntry:
    """A recording found in a folder.

    Attributes
    ----------
    path : Path
        The path as found (inside the folder; a link keeps its own name).
    relpath : str
        Path relative to the folder (posix).
    link_target : Path or None
        The resolved target when *path* is, or lies under, a symbolic link.
    """

    path: Path
    relpath: str
    link_target: Path | None = None


@dataclass(frozen=True)
class SkippedEntry:
    """An entry of a folder that was not taken as a recording, with the reason."""

    path: Path
    relpath: str
    reason: str


@dataclass(frozen=True)
class FolderListing:
    """What :func:`list_recordings` found.

    Attributes
    ----------
    recordings : tuple of FolderEntry
        Readable recordings, sorted by relative path.
    skipped : tuple of SkippedEntry
        Everything else that looked like a recording or could hide one (links,
        unreadable entries, files of known but unreadable formats), with the
        reason.
    """

    folder: Path
    recordings: tuple
    skipped: tuple

    @property
    def links(self) -> tuple:
        """The recordings reached through a symbolic link."""
        return tuple(e for e in self.recordings if e.link_target is not None)


def _norm_exts(extensions: Iterable[str]) -> set[str]:
    return {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}


def list_recordings(folder: str | os.PathLike, *, extensions: Sequence[str] = READABLE_EXTENSIONS,
                    exclude: Iterable[str | os.PathLike] = (), include_hidden: bool = False) -> FolderListing:
    """List the recordings of a folder (recursively), reporting what was left out and why.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder to search.
    extensions : sequence of str
        Extensions to collect (default :data:`READABLE_EXTENSIONS`).
    exclude : iterable of paths
        Folders not to enter (e.g. the output folder).
    include_hidden : bool
        Also enter hidden folders and take hidden files (names starting with
        ``.``); by default they are left out without a report.

    Returns
    -------
    FolderListing
        Symbolic links to files are followed (each recording found through a
        link carries its ``link_target``; a link to a file already listed is
        reported as a duplicate); links to folders are not followed (loops)
        and are reported; broken links, entries that cannot be read, and files
        whose extension is in :data:`NOT_READABLE` are reported.

    Raises
    ------
    NotADirectoryError
        *folder* is not a folder.
    FileNotFoundError
        *folder* does not exist.
    """
    root = Path(folder)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such folder")
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    exts = _norm_exts(extensions)
    excl = {Path(e).resolve() for e in exclude}
    candidates: list[tuple[Path, str, bool]] = []
    skipped: list[SkippedEntry] = []

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    def walk_error(err: OSError) -> None:
        p = Path(err.filename) if err.filename else root
        skipped.append(SkippedEntry(p, rel(p) if p != root else ".", f"folder cannot be read ({err.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error):
        d = Path(dirpath)
        keep = []
        for n in sorted(dirnames):
            p = d / n
            if n.startswith(".") and not include_hidden:
                continue
            if p.is_symlink():
                target = os.path.realpath(p)
                skipped.append(SkippedEntry(p, rel(p), f"symbolic link to the folder {target}: not followed "
                                                       "(give that folder as an input to include it)"))
                continue
            if p.resolve() in excl:
                continue
            keep.append(n)
        dirnames[:] = keep
        for n in sorted(filenames):
            if n.startswith(".") and not include_hidden:
                continue
            p = d / n
            ext = os.path.splitext(n)[1].lower()
            link = p.is_symlink()
            if link and not p.exists():
                skipped.append(SkippedEntry(p, rel(p), f"broken symbolic link (to {os.readlink(p)})"))
                continue
            if ext not in exts:
                if ext in NOT_READABLE:
                    skipped.append(SkippedEntry(p, rel(p), NOT_READABLE[ext]))
                continue
            if link and p.resolve().is_dir():
                continue  # a link named like a file pointing to a folder: reported with the folders above
            if not os.access(p, os.R_OK):
                skipped.append(SkippedEntry(p, rel(p), "permission denied (cannot read)"))
                continue
            candidates.append((p, rel(p), link))
    # one entry per file: the real file before its links, then the first path
    candidates.sort(key=lambda c: (c[2], c[1]))
    found: list[FolderEntry] = []
    seen: dict[Path, str] = {}
    for p, r, link in candidates:
        target = p.resolve()
        if target in seen:
            skipped.append(SkippedEntry(p, r, f"same file as {seen[target]}" + (" (symbolic link)" if link else "")))
            continue
        seen[target] = r
        found.append(FolderEntry(p, r, target if link else None))  # folder links are not entered
    found.sort(key=lambda e: e.relpath)
    skipped.sort(key=lambda e: e.relpath)
    return FolderListing(root, tuple(found), tuple(skipped))
