"""Issue 17 item 5: names from files never reach the terminal as escape sequences."""

from __future__ import annotations

import shutil

from hypothesis import given, settings, strategies as st

from ephys_correct.cli import main
from ephys_correct.cli._common import format_table, safe_text

from conftest import TEST_DATA  # noqa: E402


def test_safe_text_escapes_controls():
    assert safe_text("a\x1b[2Jb\x07\r\x9b1m") == "a\\x1b[2Jb\\x07\\x0d\\x9b1m"
    assert safe_text("line1\nline2", keep_newlines=True) == "line1\nline2"
    assert safe_text("line1\nline2") == "line1\\x0aline2"
    assert safe_text("Vm µ Ω") == "Vm µ Ω"


@settings(max_examples=80, derandomize=True, deadline=None)
@given(st.text(max_size=20))
def test_safe_text_never_leaves_a_control_character(s):
    out = safe_text(s)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)


def test_format_table_escapes_cells_and_headers():
    text = format_table(["na\x1bme"], [["\x1b]0;pwned\x07"]])
    assert "\x1b" not in text and "\x07" not in text and "\\x1b]0;pwned\\x07" in text


def test_correct_prints_failed_file_names_escaped(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    bad = src / "evil\x1b[2J.abf"
    bad.write_bytes(b"not an abf" * 10)
    shutil.copy(TEST_DATA / "2018_11_16_sh_0006.abf", src / "good.abf")
    code = main(["correct", str(src), "--out", str(tmp_path / "out"), "--pipette", "internal_k_gluconate",
                 "--bath", "acsf_carbogen_standard", "-T", "32", "--no-progress", "-j", "1"])
    assert code == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "evil\\x1b[2J.abf" in err


def test_stdout_of_every_command_is_escaped(tmp_path, capsys):
    recipe = tmp_path / "evil.toml"
    recipe.write_text('schema_version = 1\nname = "evil\\u001b]0;owned\\u0007"\n[ions_mm]\nK = 140\nCl = 140\n',
                      encoding="utf-8")
    # `ljp` prints the recipe names without escaping them itself: the stream does it
    assert main(["ljp", str(recipe), "acsf_carbogen_standard", "-T", "25"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "evil\\x1b]0;owned\\x07" in out
    assert "\n" in out  # lines stay lines
