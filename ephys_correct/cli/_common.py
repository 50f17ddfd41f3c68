"""Helpers shared by the sub-commands: JSON output and plain-text tables."""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any, Iterable, Sequence


def _default(obj: Any):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if hasattr(obj, "items"):
        return dict(obj)
    return str(obj)


#: version of the shape of every ``--json`` document (bumped when a key is renamed or removed)
SCHEMA_VERSION = 1
#: the sub-command being run (set by :func:`ephys_correct.cli.main`; names the JSON document)
CURRENT_COMMAND: list[str] = [""]

# one key style for units in every JSON document: the unit symbol as written in the SI brochure
_UNIT_SUFFIXES = (("_mosm_l", "_mOsm_L"), ("_mosm_kg", "_mOsm_kg"), ("_mohm", "_MOhm"), ("_mv", "_mV"),
                  ("_mm", "_mM"), ("_um", "_uM"), ("_nm", "_nM"), ("_hz", "_Hz"), ("_pa", "_pA"))
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def json_key(key: str) -> str:
    """*key* in the one unit style of the JSON documents (``ljp_mv`` -> ``ljp_mV``, ``temperature_c`` ->
    ``temperature_degC``); keys that are not lower-case identifiers (ion names, labels) are kept."""
    if not _KEY.match(key):
        return key
    for low, unit in _UNIT_SUFFIXES:
        if key.endswith(low):
            return key[: -len(low)] + unit
    if key.endswith("_c") and "temperature" in key:
        return key[:-2] + "_degC"
    return key


def _clean(obj: Any):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {json_key(str(k)): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


#: C0 controls except none, DEL and C1 controls (ESC starts terminal escape sequences; CSI is U+009B)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def safe_text(text: Any, *, keep_newlines: bool = False) -> str:
    """*text* for a terminal: control characters (escape sequences, carriage returns, bells)
    from names in files are shown as ``\\xNN`` instead of being executed by the terminal.

    Parameters
    ----------
    text : object
        A name or message (converted with ``str``).
    keep_newlines : bool
        Leave line feeds as they are (multi-line messages).

    Returns
    -------
    str
        The text with every C0/C1 control character and DEL escaped (tab and newline too).
    """
    pattern = _CONTROL_BUT_NEWLINE if keep_newlines else _CONTROL
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


class SafeStream:
    """A text stream that escapes control characters (except newline and tab) on the way out.

    The command line prints names that come from files (recipe names, channel
    names, file names); wrapped in this, ``sys.stdout``/``sys.stderr`` never pass
    an escape sequence from such a name to the terminal.

    Parameters
    ----------
    stream : text stream
        The stream written to; every other attribute is the stream's.
    """

    _PATTERN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(self._PATTERN.sub(lambda m: f"\\x{ord(m.group()):02x}", text))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def json_document(obj: Any, command: str | None = None) -> dict:
    """The ``--json`` document of *obj*: ``{"schema_version", "command", ...}``; a list goes under ``"items"``."""
    body = obj if isinstance(obj, dict) else {"items": obj}
    return {"schema_version": SCHEMA_VERSION, "command": command or CURRENT_COMMAND[0], **body}


def print_json(obj: Any, stream=None) -> None:
    """Print *obj* as the command's JSON document (NaN -> null, one unit key style) to stdout."""
    doc = json_document(obj)
    text = json.dumps(_clean(json.loads(json.dumps(doc, default=_default, allow_nan=True))),
                      indent=2, default=_default)
    print(text, file=stream or sys.stdout)


def format_table(header: Sequence[str], rows: Iterable[Sequence[Any]], floatfmt: str = ".3f") -> str:
    """A plain monospace table (no third-party dependency)."""
    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt) if math.isfinite(v) else str(v)
        return "" if v is None else safe_text(v)

    body = [[fmt(v) for v in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in body)) if body else len(str(h))
              for i, h in enumerate(header)]
    header = [safe_text(h) for h in header]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    for r in body:
        lines.append("  ".join(c.rjust(w) if _num(c) else c.ljust(w) for c, w in zip(r, widths)))
    return "\n".join(lines)


def _num(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


# the reader's and the table's messages name the Python keyword that fixes a file; on the command
# line the same fix is an option (and a column of the experiment sheet): both are shown
_HINTS = (
    (re.compile(r"headstages=\{([^{}:]+): ([^{}]+)\}"),
     lambda m: f"{m.group(0)} (command line: --headstages '{m.group(1)}={_none(m.group(2))}')"),
    (re.compile(r"clamp_mode=\{([^{}:]+): '?([^{}']+)'?\}"),
     lambda m: f"{m.group(0)} (command line: --clamp-mode '{m.group(1)}={m.group(2)}')"),
    (re.compile(r"unit_fix=\{([^{}:]+): \('([^']+)', ([^)]+)\)\}(?:, e\.g\. \('[^']+', ([^)]+)\))?"),
     lambda m: f"{m.group(0)} (command line: --unit-fix '{m.group(1)}={m.group(2)}{_scale(m.group(4) or m.group(3))}')"),
    (re.compile(r"pass clamp_mode= "), lambda m: "pass clamp_mode= / --clamp-mode "),
)


def _scale(value: str) -> str:
    value = value.strip()
    return value[1:] if re.fullmatch(r"1/[0-9.]+", value) else f"*{value}"


def _none(value: str) -> str:
    return "none" if value.strip() == "None" else value.strip()


def cli_hint(text: str) -> str:
    """*text* with the command-line form added after each Python-keyword fix it names.

    Parameters
    ----------
    text : str
        A warning or error message, e.g. ``"... pass headstages={1: 0}."``.

    Returns
    -------
    str
        E.g. ``"... pass headstages={1: 0} (command line: --headstages '1=0')."``.
    """
    for pattern, repl in _HINTS:
        text = pattern.sub(repl, text)
    return text


def print_warning(command: str, text: Any, *, file_name: str | None = None, keep_newlines: bool = False,
                  level: str = "warning") -> None:
    """One message on stderr: ``ephys-correct COMMAND: warning: [file: ]text``, control characters
    escaped and the command-line form of each fix added.

    Parameters
    ----------
    command : str
        The sub-command.
    text : object
        The warning (or, with *level* ``"error"``, the exception), converted with ``str``.
    file_name : str, optional
        The file it is about; prefixed unless the text names it already.
    keep_newlines : bool
        Leave line feeds as they are (multi-line messages).
    level : str
        ``"warning"`` or ``"error"``.
    """
    text = str(text)
    if file_name and file_name not in text.split(": ", 1)[0]:
        text = f"{file_name}: {text}"
    print(f"ephys-correct {command}: {level}: {safe_text(cli_hint(text), keep_newlines=keep_newlines)}",
          file=sys.stderr)


# ----------------------------------------------------------------------------- solutions on the command line
#: what a SOLUTION argument accepts, in every sub-command
SOLUTION_FORMS = "solutions_db name, recipe file, or inline 'K=145,Cl=10,gluconate=145' (ion=mM)"


def parse_solution(text: str) -> Any:
    """A SOLUTION argument: a db name or recipe path as it is, or an inline ``ion=mM,...`` composition.

    Parameters
    ----------
    text : str
        The argument.

    Returns
    -------
    str or dict
        The name/path, or ``{ion: mM}``.

    Raises
    ------
    ParameterError
        An inline composition with a part that is not ``ion=number``.
    """
    import os

    from ..errors import ParameterError

    if "=" not in text or os.path.exists(text):
        return text
    out: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ParameterError(f"Invalid inline composition {text!r}: {part.strip()!r} is not 'ion=mM'.")
        ion, value = part.split("=", 1)
        try:
            out[ion.strip()] = float(value)
        except ValueError:
            raise ParameterError(
                f"Invalid inline composition {text!r}: {value.strip()!r} (for {ion.strip()!r}) "
                "is not a number in mM."
            ) from None
    return out


def add_ph_argument(p, side: str) -> None:
    """``--ph PH``: the pH of *side* measured at the recording temperature.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The sub-command's parser.
    side : str
        Which solution the pH is of, in words (``"the pipette"``).
    """
    p.add_argument("--ph", type=float, default=None, metavar="PH",
                   help=f"pH of {side} measured at the recording temperature (default: computed from the "
                   "recipe pH and the temperature at which it was set)")


def add_basis_arguments(p, side: str) -> None:
    """``--free-ions`` (the default, kept for scripts) / ``--totals``, and ``--ph`` (:func:`add_ph_argument`).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The sub-command's parser.
    side : str
        Which solution ``--ph`` is of, in words.
    """
    basis = p.add_mutually_exclusive_group()
    basis.add_argument("--free-ions", action="store_true",
                       help="speciate the solutions first (free Ca2+/Mg2+ after EGTA/ATP binding; the default, "
                       "kept for scripts)")
    basis.add_argument("--totals", action="store_true",
                       help="use the recipe totals without speciation (a simplification, recorded in the output)")
    add_ph_argument(p, side)
