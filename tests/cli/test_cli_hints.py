"""Warnings name the fix in both faces: the Python keyword and the command-line option (issue 14 item 5).

Each command-line form a hint shows is parsed back by the option's own parser, so a hint that
names an option the CLI would refuse fails here.
"""

from __future__ import annotations

import re

import pytest

from ephys_correct.batch.settings import parse_clamp_mode, parse_headstages, parse_unit_fix
from ephys_correct.cli import main
from ephys_correct.cli._common import cli_hint
from io_helpers import make_bad_units_abf

PARSERS = {"--headstages": parse_headstages, "--unit-fix": parse_unit_fix, "--clamp-mode": parse_clamp_mode}


@pytest.mark.parametrize("message, option, value", [
    ("pass headstages={1: 0}.", "--headstages", "1=0"),
    ("to leave it out, headstages={2: None}.", "--headstages", "2=none"),
    ("If that is wrong, pass clamp_mode={0: 'current_clamp'}.", "--clamp-mode", "0=current_clamp"),
    ("pass unit_fix={0: ('mV', <scale>)}, e.g. ('mV', 1/20).", "--unit-fix", "0=mV/20"),
    ("pass unit_fix={3: ('pA', 1000.0)}.", "--unit-fix", "3=pA*1000.0"),
])
def test_hint_adds_the_option_and_the_option_parses(message, option, value):
    hinted = cli_hint(message)
    assert hinted.startswith(message.rstrip(".").split(" (")[0])
    found = re.search(rf"command line: {option} '([^']+)'", hinted)
    assert found is not None, hinted
    assert found.group(1) == value
    PARSERS[option](found.group(1))  # the form shown is one the CLI accepts


def test_text_without_a_keyword_is_unchanged():
    text = "f.abf: no valid acquisition date in the header; start_time is None"
    assert cli_hint(text) == text


def test_info_prints_the_command_line_fix_for_suspect_units(capsys, tmp_path):
    path = make_bad_units_abf(tmp_path)  # pA-labelled V_m in current clamp (pyABF's "bad units")
    assert main(["info", str(path)]) == 0
    err = capsys.readouterr().err
    assert "bad_units.abf" in err and "--unit-fix '0=mV/20'" in err
    # the fix it names, applied, is accepted and reported as the user's
    assert main(["info", str(path), "--unit-fix", "0=mV/20"]) == 0
    assert "unit fix applied by the user" in capsys.readouterr().err
