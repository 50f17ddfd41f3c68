#!/usr/bin/env python3
"""numpydoc gaps of the public API, and the allow-list that may only shrink.

    python scripts/numpydoc_allowlist.py            # list today's gaps, compare with the allow-list
    python scripts/numpydoc_allowlist.py --write    # rewrite tests/numpydoc_allowlist.txt from the code

The public API is every function, class and method of a class whose name does
not start with ``_``, in the modules of ``ephys_correct`` whose dotted names
have no part starting with ``_`` (their ``__all__`` when they define one, with
the objects re-exported from private modules), plus everything in
``ephys_correct.__all__``.  Each object is checked with
:func:`numpydoc.validate.validate` for the codes in :data:`CHECKS` and keyed
by ``obj.__module__ + "." + obj.__qualname__`` (where it is defined), so after
a module moves the list is regenerated with ``--write``.

``tests/test_numpydoc.py`` fails on a gap that is not in the allow-list and on
an allow-list entry that is no longer a gap (fixed docstrings must leave it).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / "tests" / "numpydoc_allowlist.txt"
PACKAGE = "ephys_correct"

#: the numpydoc validation codes that are enforced
CHECKS = {
    "GL08": "the object has no docstring",
    "SS01": "no one-line summary",
    "PR01": "parameters not documented",
    "PR02": "documented parameters the signature does not have",
    "RT01": "no Returns section although the function returns something",
    "YD01": "no Yields section although the function is a generator",
}

HEADER = """\
# numpydoc gaps of the public API that are allowed TODAY: `module.qualname CHECK` per line.
# This list may only shrink: tests/test_numpydoc.py fails on a new gap and on an entry
# that is no longer a gap. Regenerate after moving code: python scripts/numpydoc_allowlist.py --write
# Checks: {checks}
"""


def public_modules() -> list:
    """The importable public modules of the package (no part of the name starts with '_')."""
    pkg = importlib.import_module(PACKAGE)
    mods = [pkg]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=PACKAGE + "."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        mods.append(importlib.import_module(info.name))
    return mods


def _key(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _ours(obj) -> bool:
    mod = getattr(obj, "__module__", None) or ""
    return (mod == PACKAGE or mod.startswith(PACKAGE + ".")) and "<locals>" not in getattr(obj, "__qualname__", "<")


def public_objects() -> dict[str, object]:
    """key -> object for every public function, class and public method of a public class."""
    found: dict[str, object] = {}

    def add(obj):
        # functions (also behind functools wrappers such as lru_cache) and classes
        is_function = inspect.isfunction(inspect.unwrap(obj)) if callable(obj) else False
        if not (is_function or inspect.isclass(obj)) or not _ours(obj):
            return
        key = _key(obj)
        if key in found:
            return
        found[key] = obj
        if inspect.isclass(obj):
            for name, member in vars(obj).items():
                if name.startswith("_"):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member) and _ours(member):
                    found.setdefault(_key(member), member)
                elif isinstance(member, property) and member.fget is not None and _ours(member.fget):
                    found.setdefault(f"{key}.{name}", member)

    for mod in public_modules():
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n, v in vars(mod).items()
                     if not n.startswith("_") and getattr(v, "__module__", None) == mod.__name__]
        for name in names:
            if name.startswith("_"):
                continue
            add(getattr(mod, name))
    return dict(sorted(found.items()))


def gaps() -> set[tuple[str, str]]:
    """(key, code) for every enforced numpydoc error of the public API."""
    from numpydoc.validate import validate

    out = set()
    for key in public_objects():
        with warnings.catch_warnings():
            # numpydoc's parser warns about sections it does not know (GL06, not enforced)
            warnings.filterwarnings("ignore", message="Unknown section", category=UserWarning)
            result = validate(key)
        for code, _msg in result["errors"]:
            if code in CHECKS:
                out.add((key, code))
    return out


def read_allowlist(path: Path = ALLOWLIST) -> set[tuple[str, str]]:
    entries = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in CHECKS:
            raise ValueError(f"{path}:{n}: expected 'module.qualname CHECK' with CHECK in "
                             f"{sorted(CHECKS)}, got {line!r}")
        entries.add((parts[0], parts[1]))
    return entries


def format_allowlist(entries: set[tuple[str, str]]) -> str:
    checks = ", ".join(f"{k} {v}" for k, v in CHECKS.items())
    return HEADER.format(checks=checks) + "".join(f"{k} {c}\n" for k, c in sorted(entries))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help=f"rewrite {ALLOWLIST.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    now = gaps()
    n_obj = len(public_objects())
    if args.write:
        ALLOWLIST.write_text(format_allowlist(now), encoding="utf-8")
        print(f"{ALLOWLIST.relative_to(ROOT)}: {len(now)} gaps of {n_obj} public objects")
        return 0
    allowed = read_allowlist() if ALLOWLIST.exists() else set()
    new, fixed = sorted(now - allowed), sorted(allowed - now)
    by_code = {c: sum(1 for _k, cc in now if cc == c) for c in CHECKS}
    print(f"{n_obj} public objects; {len(now)} gaps: " + ", ".join(f"{c} {n}" for c, n in by_code.items()))
    for k, c in new:
        print(f"NEW   {k} {c}: {CHECKS[c]}")
    for k, c in fixed:
        print(f"FIXED {k} {c} (remove it from the allow-list: --write)")
    return 1 if new or fixed else 0


if __name__ == "__main__":
    sys.exit(main())
