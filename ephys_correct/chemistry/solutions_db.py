"""Finding solutions: the shipped solutions_db, the user's folders, and coercion of
solution-like arguments (a Solution, a name, a path, a mapping ion -> mM)."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from ephys_correct.errors import (
    EphysCorrectError,
    ParameterError,
    ShadowedRecipeWarning,
    UnknownSolutionError,
    suggest,
)
from ephys_correct.chemistry.compounds import _cnorm
from ephys_correct.chemistry.recipes import load_recipe
from ephys_correct.chemistry.solutions import DEFAULT_ACTIVITY_MODEL, Solution


# --------------------------------------------------------------------------- database
def solutions_db_dirs() -> list[Path]:
    """Directories searched for recipe names, in order.

    ``$EPHYS_CORRECT_SOLUTIONS_DB`` (os.pathsep-separated), ``./solutions_db``, the
    ``solutions_db/`` beside the package source (a checkout or editable install), and
    the copy a regular install puts in ``<sys.prefix>/share/ephys_correct/solutions_db``.
    """
    dirs: list[Path] = []
    env = os.environ.get("EPHYS_CORRECT_SOLUTIONS_DB")
    if env:
        dirs += [Path(d) for d in env.split(os.pathsep) if d]
    dirs.append(Path.cwd() / "solutions_db")
    dirs.append(Path(__file__).resolve().parents[2] / "solutions_db")  # source checkout
    dirs.append(Path(sys.prefix) / "share" / "ephys_correct" / "solutions_db")  # installed copy
    seen, out = set(), []
    for d in dirs:
        r = _resolved(str(d))
        if r not in seen and r.is_dir():
            seen.add(r)
            out.append(r)
    return out


# name -> path index of the database folders, rebuilt when the folder list or a folder's
# modification time changes (adding, removing or renaming a recipe changes its folder's mtime;
# an edited recipe is caught by _cached_solution's own stat of the file)
_INDEX_CACHE: dict[tuple, dict[str, Path]] = {}


@lru_cache(maxsize=64)
def _resolved(path: str) -> Path:
    # realpath costs a system call per path component; a folder's resolution is stable enough
    # within a process (links re-pointed during a run are not followed again)
    return Path(path).resolve()


def _dirs_key(dirs: list[Path]) -> tuple | None:
    try:
        return tuple((str(d), d.stat().st_mtime_ns) for d in dirs)
    except OSError:
        return None


def _db_index() -> dict[str, Path]:
    dirs = solutions_db_dirs()
    key = _dirs_key(dirs)
    hit = _INDEX_CACHE.get(key) if key is not None else None
    if hit is not None:
        return hit
    index: dict[str, Path] = {}
    for d in dirs:
        for f in sorted(d.glob("*.toml")):
            index.setdefault(_cnorm(f.stem), f)
    if key is not None:
        _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = index
    return index


def _shipped_dirs() -> set[Path]:
    """The solutions_db folders that come with the package (not the user's)."""
    here = Path(__file__).resolve().parents[2] / "solutions_db"
    installed = Path(sys.prefix) / "share" / "ephys_correct" / "solutions_db"
    return {d.resolve() for d in (here, installed)}


def _folder_kind(folder: Path) -> str:
    if folder in _shipped_dirs():
        return "shipped"
    if folder == (Path.cwd() / "solutions_db").resolve():
        env = os.environ.get("EPHYS_CORRECT_SOLUTIONS_DB") or ""
        if folder not in {Path(d).resolve() for d in env.split(os.pathsep) if d}:
            return "working directory"
    return "EPHYS_CORRECT_SOLUTIONS_DB"


def _db_all() -> dict[str, list[Path]]:
    """Every recipe file per name, in search order (the first one is used)."""
    found: dict[str, list[Path]] = {}
    for d in solutions_db_dirs():
        for f in sorted(d.glob("*.toml")):
            found.setdefault(_cnorm(f.stem), []).append(f)
    return found


def locate_solution(name: str) -> dict[str, Any]:
    """Which solutions_db file a recipe id resolves to, and what it hides.

    Parameters
    ----------
    name : str
        A recipe id (file stem) as given to :func:`load_solution`.

    Returns
    -------
    dict
        ``path`` (the file used), ``folder``, ``kind`` (``"shipped"``,
        ``"working directory"`` or ``"EPHYS_CORRECT_SOLUTIONS_DB"``) and
        ``shadows``: the files of the same name later in the search order,
        which are not used.

    Raises
    ------
    UnknownSolutionError
        No file of that id in :func:`solutions_db_dirs`.
    """
    files = _db_all().get(_cnorm(str(name)))
    if not files:
        raise UnknownSolutionError(f"No solutions_db entry called {str(name)!r} "
                                   f"(searched {[str(d) for d in solutions_db_dirs()]}).")
    folder = files[0].parent
    return {"path": files[0], "folder": folder, "kind": _folder_kind(folder), "shadows": tuple(files[1:])}


def _warn_if_shadowing(key: str) -> None:
    files = _db_all().get(key) or []
    if len(files) < 2 or _folder_kind(files[0].parent) != "working directory":
        return
    hidden = [f for f in files[1:] if f.parent in _shipped_dirs()]
    if hidden:
        warnings.warn(f"recipe {files[0].stem!r}: using {files[0]} from ./solutions_db in the working "
                      f"directory, which hides the shipped recipe {hidden[0]}; rename one of them or "
                      "give the file path to be explicit", ShadowedRecipeWarning, stacklevel=3)


def list_solutions() -> list[dict[str, Any]]:
    """Recipes in the solutions database: name, id (file stem), role, source, path."""
    out = []
    for key, f in sorted(_db_index().items()):
        rec = load_recipe(f)
        out.append({"id": f.stem, "name": rec.name, "role": rec.role, "source": rec.source,
                    "path": str(f)})
    return out


def _solution_from_file(path: Path, activity_model: str, rebalance_with: str | None) -> Solution:
    try:
        st = path.stat()
    except OSError:
        return load_recipe(path).to_solution(activity_model=activity_model,
                                             rebalance_with=rebalance_with)
    return _cached_solution(str(path.resolve()), st.st_mtime_ns, st.st_size, activity_model,
                            rebalance_with)


@lru_cache(maxsize=256)
def _cached_solution(path: str, mtime_ns: int, size: int, activity_model: str,
                     rebalance_with: str | None) -> Solution:
    # Solutions are immutable, so a file unchanged since the last load (same path, size and
    # modification time) gives the same Solution; batch runs load each recipe once.
    return load_recipe(path).to_solution(activity_model=activity_model, rebalance_with=rebalance_with)


def load_solution(name_or_path: str | os.PathLike, *, activity_model: str = DEFAULT_ACTIVITY_MODEL,
                  rebalance_with: str | None = None) -> Solution:
    """Load a recipe by file path or by database name and return its :class:`Solution`.

    Parameters
    ----------
    name_or_path : str or path
        A ``.toml`` file, or the id (file stem) / name of a recipe in
        :func:`solutions_db_dirs`.
    activity_model : str
        Used for the ionic-strength correction of pKa values in the titration.
    rebalance_with : str, optional
        Explicit opt-in to fix a charge imbalance with this ion.
    """
    p = Path(name_or_path)
    if p.suffix.lower() == ".toml" or p.exists() or os.sep in str(name_or_path):
        return _solution_from_file(p, activity_model, rebalance_with)
    key = _cnorm(str(name_or_path))
    index = _db_index()
    if key not in index:
        by_name = {}
        broken = []
        for f in index.values():
            try:
                by_name[_cnorm(load_recipe(f).name)] = f
            except EphysCorrectError as exc:  # reported below, never silently dropped
                broken.append(f"{f.name}: {exc}")
        if key in by_name:
            return _solution_from_file(by_name[key], activity_model, rebalance_with)
        raise UnknownSolutionError(
            f"No recipe file or solutions_db entry called {str(name_or_path)!r} "
            f"(searched {[str(d) for d in solutions_db_dirs()]})."
            + suggest(str(name_or_path), [f.stem for f in index.values()])
            + ("" if not broken else " Recipes that could not be read: " + "; ".join(broken))
        )
    _warn_if_shadowing(key)
    return _solution_from_file(index[key], activity_model, rebalance_with)


def as_solution(obj: Any, *, name: str | None = None) -> Solution:
    """Coerce *obj* to a :class:`Solution`.

    Accepts a Solution, a recipe path, a solutions_db name, or a mapping of
    ion name -> mM (checked for electroneutrality).
    """
    if isinstance(obj, Solution):
        return obj
    if isinstance(obj, Mapping):
        return Solution.from_ions(obj, name=name or "custom")
    if isinstance(obj, (str, os.PathLike)):
        return load_solution(obj)
    raise ParameterError(
        f"Expected a Solution, a solutions_db name, a recipe path or a mapping ion -> mM; "
        f"got {type(obj).__name__}: {obj!r}."
    )
