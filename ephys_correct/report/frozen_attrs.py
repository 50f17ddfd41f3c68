"""Read-only JSON records for ``DataFrame.attrs`` (copied by reference, serialized once).

pandas deep-copies ``DataFrame.attrs`` on nearly every operation (column
access, ``groupby``, slicing, every chunk of ``to_csv``).  A driving-force
table carries ~25 kB of provenance there, so copying it cost more than
computing the table.  :class:`FrozenDict` and :class:`FrozenList` are a
``dict`` and a ``list`` (``json.dumps``, ``==``, ``isinstance(x, dict)``,
indexing and iteration work as before) that refuse mutation; because nothing
can change them, ``copy.copy`` and ``copy.deepcopy`` return the object
itself.

To edit a record, make a mutable copy: :func:`thaw` (or ``json.loads(
json.dumps(record))``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Set
from typing import Any

__all__ = ["FrozenDict", "FrozenList", "freeze", "freeze_json", "thaw"]


def _refusing(cls: str, names: str) -> dict:
    """Methods *names* (space-separated) of class *cls* that refuse any change."""

    def make(name):
        def method(self, *args, **kwargs):
            raise TypeError(f"{type(self).__name__} is read-only (table provenance is shared between copies "
                            "of the table); make an editable copy with ephys_correct.report.frozen_attrs.thaw(...)")

        method.__name__ = name
        method.__qualname__ = f"{cls}.{name}"
        method.__doc__ = ("Refused: the record is read-only (TypeError).\n\n"
                          "Parameters\n----------\n*args, **kwargs\n    Ignored.\n")
        return method

    return {n: make(n) for n in names.split()}


class FrozenDict(dict):
    """A read-only ``dict`` of JSON values; copies are the object itself."""

    __slots__ = ()
    locals().update(_refusing("FrozenDict", "__setitem__ __delitem__ clear pop popitem setdefault update __ior__"))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (_frozen_dict, (dict(self),))

    def __hash__(self):  # dicts are unhashable; keep it so (equality is by content)
        raise TypeError(f"unhashable type: '{type(self).__name__}'")


class FrozenList(list):
    """A read-only ``list`` of JSON values; copies are the object itself.

    Parameters
    ----------
    iterable : iterable, optional
        The items (already frozen: use :func:`freeze`).
    """

    __slots__ = ()
    locals().update(_refusing("FrozenList", "__setitem__ __delitem__ append extend insert pop remove clear sort "
                                            "reverse __iadd__ __imul__"))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (_frozen_list, (list(self),))

    __hash__ = None  # type: ignore[assignment]


def _frozen_dict(d: dict) -> FrozenDict:
    return freeze(d)


def _frozen_list(v: list) -> FrozenList:
    return freeze(v)


def freeze(obj: Any) -> Any:
    """A read-only copy of a JSON-like value (dicts and lists at any depth; tuples become lists).

    Parameters
    ----------
    obj : object
        A JSON-like value.

    Returns
    -------
    object
        *obj* with every dict a :class:`FrozenDict` and every list or tuple a
        :class:`FrozenList`; scalars unchanged.
    """
    t = type(obj)
    if t is str or t is float or t is int or t is bool or obj is None or t is FrozenDict or t is FrozenList:
        return obj
    if isinstance(obj, dict):
        out = FrozenDict()
        dict.update(out, {k: freeze(v) for k, v in obj.items()})
        return out
    if isinstance(obj, (list, tuple)):
        return FrozenList([freeze(v) for v in obj])
    return obj


def freeze_json(obj: Any, memo: dict | None = None) -> Any:
    """``freeze(json.loads(json.dumps(to_jsonable(obj))))`` in one pass, sharing repeated parts.

    The JSON values are those of :func:`ephys_correct._fileio.to_jsonable` after
    a JSON round trip: mapping keys become ``str``, tuples and sets lists, numpy
    scalars and arrays Python values, non-finite floats ``None``, paths ``str``,
    and subclasses of ``str``/``int``/``float`` their base type.  A container
    object met twice (the same object, e.g. one LJP record referenced by every
    headstage) is converted once and the frozen result shared: it is read-only,
    so sharing is invisible except in memory and time.

    Parameters
    ----------
    obj : object
        A JSON-like value.
    memo : dict, optional
        ``id(input) -> (input, frozen)`` of the containers already converted; pass the
        same dict to several calls to share between them.

    Returns
    -------
    object
        Made of :class:`FrozenDict`, :class:`FrozenList` and JSON scalars.

    Raises
    ------
    TypeError
        A value that JSON cannot represent (as ``json.dumps`` would).
    """
    if memo is None:
        memo = {}
    return _fj(obj, memo)


def _fj(obj: Any, memo: dict) -> Any:
    t = type(obj)
    if t is str or t is int or t is bool or obj is None:
        return obj
    if t is float:
        return obj if math.isfinite(obj) else None
    if t is FrozenDict or t is FrozenList:
        return obj
    hit = memo.get(id(obj))
    if hit is not None:
        return hit[1]
    if t is dict or isinstance(obj, Mapping):
        out = FrozenDict()
        dict.update(out, {(k if type(k) is str else _json_key(k)): _fj(v, memo) for k, v in obj.items()})
    elif t is list or t is tuple or isinstance(obj, (list, tuple, Set)):
        out = FrozenList([_fj(v, memo) for v in obj])
    elif hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy scalars and arrays
        return _fj(obj.tolist(), memo)
    elif isinstance(obj, bool):
        return bool(obj)
    elif isinstance(obj, int):
        return int(obj)
    elif isinstance(obj, float):
        return _fj(float(obj), memo)
    elif isinstance(obj, str):
        return str(obj)
    elif isinstance(obj, os.PathLike):
        return os.fspath(obj)
    else:
        raise TypeError(f"Object of type {t.__name__} is not JSON serializable")
    memo[id(obj)] = (obj, out)  # the input is kept alive so that its id is not reused
    return out


def _json_key(k: Any) -> str:
    # to_jsonable makes every key str(k); the JSON round trip keeps it
    return str(k)


def thaw(obj: Any) -> Any:
    """A mutable deep copy (plain dicts and lists) of a frozen record.

    Parameters
    ----------
    obj : object
        A frozen record (or any JSON-like value).

    Returns
    -------
    object
        A copy made of plain ``dict`` and ``list``.
    """
    if isinstance(obj, dict):
        return {k: thaw(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [thaw(v) for v in obj]
    return obj

