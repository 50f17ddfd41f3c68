"""The ``ephys-correct`` command line: a thin layer over the public API.

Each sub-command lives in ``cmd_<name>.py`` with ``register(subparsers)``.
Exit status: 0 success, 1 a handled failure (message on stderr, no
traceback), 2 a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ephys_correct._version import __version__
from ..errors import EphysCorrectError
from ._common import SafeStream, safe_text

#: sub-command modules, in help order
COMMANDS = ("demo", "solutions", "ljp", "erev", "info", "correct", "report", "plan", "speciate", "planner")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ephys-correct",
        description="Liquid junction potentials, reversal potentials and LJP-corrected "
        "patch-clamp recordings. LJP sign: bath relative to pipette; whole-cell "
        "Vm = Vp - V_L.",
    )
    parser.add_argument("--version", action="version", version=f"ephys_correct {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"ephys_correct.cli.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"ephys_correct.cli.cmd_{name}":
                continue  # sub-command not built yet
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ephys-correct`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    import warnings

    def _show(message, category, filename, lineno, file=None, line=None):
        # model-validity and similar warnings read as one line each, without source lines
        print(f"ephys-correct {args.command}: warning: {safe_text(message, keep_newlines=True)}", file=sys.stderr)

    previous = warnings.showwarning
    warnings.showwarning = _show
    out = sys.stdout
    sys.stdout = SafeStream(out)  # names from files never reach the terminal as escape sequences
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # output piped into e.g. `head`: stop quietly, like other command-line tools
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except EphysCorrectError as exc:
        print(f"ephys-correct {args.command}: error: {safe_text(exc, keep_newlines=True)}", file=sys.stderr)
        return 1
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        # a missing or unreadable input file is a user error, not a bug: no traceback
        print(f"ephys-correct {args.command}: error: {safe_text(exc, keep_newlines=True)}", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = previous
        sys.stdout = out


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
