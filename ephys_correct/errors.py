"""Exceptions and warnings raised by ephys_correct.

Every concrete error derives from :class:`EphysCorrectError` *and* from a
builtin (``ValueError``, ``KeyError``, ``OSError``) so that callers who do not
know this package can still catch it with the builtin they expect.  Messages
name the file, the key and the value that caused them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "EphysCorrectError",
    "UnknownIonError",
    "UnknownCompoundError",
    "UnknownSolutionError",
    "RecipeError",
    "UnknownAdditiveError",
    "ElectroneutralityError",
    "ConcentrationError",
    "ParameterError",
    "ModelValidityWarning",
    "ConvergenceError",
    "DataFileError",
    "RecordingError",
    "CorruptRecordingError",
    "UnsupportedFormatError",
    "UnitError",
    "ClampModeError",
    "OutputExistsError",
    "MissingDependencyError",
    "OutputLockedError",
    "NotAFolderError",
    "RecipeLimitError",
    "ShadowedRecipeWarning",
    "suggest",
    "IonicStrengthError",
]


class EphysCorrectError(Exception):
    """Base class of every error raised on purpose by ephys_correct."""


class UnknownIonError(EphysCorrectError, KeyError):
    """An ion name that is neither a canonical name nor a known alias."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownCompoundError(EphysCorrectError, KeyError):
    """A compound name (what is weighed) that the compound table does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownSolutionError(EphysCorrectError, KeyError):
    """A solution name that is neither a file nor a recipe in the solutions database."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class RecipeError(EphysCorrectError, ValueError):
    """A solution recipe is malformed: bad key, bad amount, bad schema."""


class UnknownAdditiveError(UnknownCompoundError, RecipeError):
    """A recipe's [additives] entry that neither the additive nor the compound table knows.

    Both a :class:`UnknownCompoundError` (a ``KeyError``) and a :class:`RecipeError` (a
    ``ValueError``); the message names the file, the key and the value, suggests close names
    and says how to declare a custom additive.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class RecipeLimitError(RecipeError):
    """A recipe file beyond what a recipe can be: not a regular file, too long, too deeply
    nested, a number too large; the message names the file and the key."""


class ConcentrationError(EphysCorrectError, ValueError):
    """A concentration is negative, NaN, infinite or not a number."""


class ElectroneutralityError(EphysCorrectError, ValueError):
    """A solution's charge balance exceeds the documented tolerance."""


class ParameterError(EphysCorrectError, ValueError):
    """A function argument has a value outside what the function accepts."""


class ConvergenceError(EphysCorrectError, ArithmeticError):
    """A numerical solver did not converge; no unconverged number is returned."""


class DataFileError(EphysCorrectError, ValueError):
    """A packaged or user-supplied data file (ion table, sources, parameters) is malformed."""


class RecordingError(EphysCorrectError, OSError):
    """A recording cannot be read."""


class CorruptRecordingError(RecordingError, ValueError):
    """A recording file is truncated, zero-length or not the format it claims."""


class UnsupportedFormatError(RecordingError, ValueError):
    """No reader is known for this file."""


class UnitError(EphysCorrectError, ValueError):
    """A unit string is unknown or incompatible with the signal it labels."""


class ClampModeError(EphysCorrectError, ValueError):
    """The clamp mode of a headstage cannot be established from the file."""


class OutputExistsError(EphysCorrectError, FileExistsError):
    """An output file exists and overwriting was not asked for."""


class OutputLockedError(EphysCorrectError, BlockingIOError):
    """Another run holds the output folder (``<out>/.ephys_correct.lock``)."""


class NotAFolderError(EphysCorrectError, NotADirectoryError):
    """A path that must be a folder (e.g. the output folder) is a file."""


class MissingDependencyError(EphysCorrectError, ImportError):
    """An optional dependency (an extra such as ``plot`` or ``nwb``) is not installed."""


class ShadowedRecipeWarning(UserWarning):
    """A recipe name resolved to a file that hides a shipped recipe of the same name
    (e.g. ``./solutions_db/<name>.toml``)."""


class StrictModeError(EphysCorrectError, ValueError):
    """A recording has warnings (weak evidence, suspect units, implausible values) and strict mode is on."""


class ModelValidityWarning(UserWarning):
    """A model is used outside the range its parameters were fitted for."""


def suggest(name: str, candidates: Iterable[str], n: int = 5) -> str:
    """Return a ``" Did you mean: a, b?"`` suffix for an unknown *name*.

    Matching is case-insensitive; an empty string is returned when nothing is
    close.
    """
    cands = list(candidates)
    lower = {c.lower(): c for c in cands}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.6)
    # substring hits help with abbreviations such as "gluc" -> "gluconate-"
    if len(name) >= 3:
        for key, orig in lower.items():
            if name.lower() in key and key not in hits:
                hits.append(key)
    hits = hits[:n]
    if not hits:
        return ""
    return " Did you mean: " + ", ".join(repr(lower[h]) for h in hits) + "?"


class IonicStrengthError(ConcentrationError, ParameterError):
    """An ionic strength that is not a finite number >= 0 (a concentration given as a
    parameter: both a :class:`ConcentrationError` and a :class:`ParameterError`)."""
