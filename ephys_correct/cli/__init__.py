"""The ``ephys-correct`` command line: a thin layer over the public API.

Each sub-command lives in ``cmd_<name>.py`` with ``register(subparsers)``.
Only the module of the sub-command being run is imported: ``ephys-correct
--help`` lists the sub-commands from :data:`SUMMARIES` without importing numpy,
pandas or the rest of the package (``tests/cli/test_cli_startup.py`` checks
that the summaries match the modules).
Exit status: 0 success, 1 a handled failure (message on stderr, no
traceback), 2 a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ephys_correct._version import __version__
from ._common import SafeStream

#: sub-command modules, in help order
COMMANDS = ("demo", "solutions", "ljp", "erev", "info", "correct", "report", "plan", "speciate", "planner")

#: one-line help of each sub-command (the ``help=`` of its ``register``), for the top-level help
SUMMARIES = {
    "demo": "run the whole workflow on a bundled recording and bundled solutions",
    "solutions": "list or show solution recipes (solutions_db/ or files)",
    "ljp": "liquid junction potential of a pipette solution against a bath",
    "erev": "per-ion reversal potentials (ideal and activity-corrected)",
    "info": "summarise recordings (format, channels, clamp mode, sweeps, holding, tags)",
    "correct": "LJP-correct recordings (files or folders) and write tables, traces and a summary",
    "report": "build one self-contained HTML report from the output folder of 'correct'",
    "plan": "plan solutions: LJP, E_rev, osmolarity, and what to change to hit a target",
    "speciate": "free Ca2+/Mg2+ and metal-ligand complexes of a solution",
    "planner": "plan solutions in a web browser (local page; needs the 'web' extra)",
}


def _command_of(argv: list[str]) -> str | None:
    """The sub-command named in *argv* (its first non-option word), if it is one of ours."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(commands: tuple[str, ...] | None = None) -> argparse.ArgumentParser:
    """The argument parser; *commands* (default: all) are registered in full, the rest by name only.

    A sub-command registered by name only shows in the top-level help but has no arguments;
    :func:`main` registers in full the one it runs.

    Parameters
    ----------
    commands : tuple of str, optional
        Sub-commands to register in full (their modules are imported).

    Returns
    -------
    argparse.ArgumentParser
    """
    full = COMMANDS if commands is None else tuple(commands)
    parser = argparse.ArgumentParser(
        prog="ephys-correct",
        description="Liquid junction potentials, reversal potentials and LJP-corrected "
        "patch-clamp recordings. LJP sign: bath relative to pipette; whole-cell "
        "Vm = Vp - V_L.",
    )
    parser.add_argument("--version", action="version", version=f"ephys_correct {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if name not in full:
            sub.add_parser(name, help=SUMMARIES[name], add_help=False)
            continue
        try:
            mod = importlib.import_module(f"ephys_correct.cli.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"ephys_correct.cli.cmd_{name}":
                continue  # sub-command not built yet
            raise
        mod.register(sub)
    parser.set_defaults(_subparsers=sub.choices)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ephys-correct`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_of(argv)
    parser = build_parser(() if command is None else (command,))
    args, extra = parser.parse_known_args(argv)
    if extra:  # an unknown option: the sub-command's usage, not the top-level one
        subparsers = getattr(args, "_subparsers", {}) or {}
        (subparsers.get(getattr(args, "command", None)) or parser).error(
            f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    import warnings

    from ..errors import EphysCorrectError  # after parsing: `--help` needs none of it

    from ._common import CURRENT_COMMAND, print_warning

    def _show(message, category, filename, lineno, file=None, line=None):
        # model-validity and similar warnings read as one line each, without source lines
        print_warning(args.command, message, keep_newlines=True)

    CURRENT_COMMAND[0] = args.command
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
    except (EphysCorrectError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        # a missing or unreadable input file is a user error, not a bug: no traceback
        print_warning(args.command, exc, keep_newlines=True, level="error")
        if getattr(args, "json", False):  # a script reading stdout gets the failure as JSON too
            from ._common import print_json

            print_json({"error": {"type": type(exc).__name__, "message": str(exc), "exit_status": 1}})
        return 1
    finally:
        warnings.showwarning = previous
        sys.stdout = out


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
