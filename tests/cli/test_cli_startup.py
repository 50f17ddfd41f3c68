"""`ephys-correct --help` imports no numpy/pandas/package rooms; the summaries match the commands (issue 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ephys_correct.cli import COMMANDS, SUMMARIES, build_parser, main

_PROBE = r"""
import json, sys
from ephys_correct.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "pandas", "quantities",
      "pyabf", "neo", "scipy") or m.startswith(("ephys_correct.chemistry", "ephys_correct.io",
      "ephys_correct.report", "ephys_correct.batch", "ephys_correct.cli.cmd_")))))
"""


def _imported(*argv: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "error"})
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], [], ["--version"]])
def test_top_level_help_imports_nothing_heavy(argv):
    assert _imported(*argv) == []


def test_sub_command_help_imports_only_its_module():
    mods = _imported("ljp", "--help")
    assert "ephys_correct.cli.cmd_ljp" in mods
    assert not [m for m in mods if m.startswith("ephys_correct.cli.cmd_") and m != "ephys_correct.cli.cmd_ljp"]


def test_summaries_match_the_command_modules():
    parser = build_parser()  # every command registered in full
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert helps == SUMMARIES and tuple(SUMMARIES) == COMMANDS


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in COMMANDS:
        assert name in text and SUMMARIES[name] in " ".join(text.split())


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == 2
