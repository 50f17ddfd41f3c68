"""Pickling and copying of frozen dataclasses that hold read-only mappings.

``types.MappingProxyType`` cannot be pickled, so a frozen dataclass with one
(:class:`~ephys_correct.solutions.Solution`, ``TitrationEstimate``,
:class:`~ephys_correct.ljp.LJPResult`, ...) could not be sent to a worker
process, cached with pickle or deep-copied.  :class:`FrozenMappings` turns
every proxy (at any depth inside dicts, lists and tuples) into a marked plain
dict when pickled and back into a read-only proxy when unpickled, so the copy
is exactly as immutable as the original.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = ["FrozenMappings"]


class _Thawed(dict):
    """The contents of a ``MappingProxyType`` while pickled."""

    __slots__ = ()


def _thaw(value: Any) -> Any:
    if isinstance(value, MappingProxyType):
        return _Thawed({k: _thaw(v) for k, v in value.items()})
    if type(value) is dict:
        return {k: _thaw(v) for k, v in value.items()}
    if type(value) is list:
        return [_thaw(v) for v in value]
    if type(value) is tuple:
        return tuple(_thaw(v) for v in value)
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, _Thawed):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if type(value) is dict:
        return {k: _freeze(v) for k, v in value.items()}
    if type(value) is list:
        return [_freeze(v) for v in value]
    if type(value) is tuple:
        return tuple(_freeze(v) for v in value)
    return value


class FrozenMappings:
    """Mixin for frozen dataclasses with ``MappingProxyType`` fields: pickle, copy and deepcopy.

    The state is the instance ``__dict__`` with the proxies thawed; unpickling
    sets the fields with ``object.__setattr__`` (the class stays frozen) and
    re-wraps them, without running ``__post_init__`` again (hashes and other
    derived fields are kept as they were).
    """

    __slots__ = ()

    def __getstate__(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, _freeze(v))
