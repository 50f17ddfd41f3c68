"""The documentation cannot disagree with the code.

Every ``python``, ``bash`` and ``console`` block of README.md and docs/**/*.md
is run, page by page, in a temporary copy of the project folder; the values
and outputs the docs show are compared with what the code prints now (see
``tests/doc_runner.py`` and docs/dev/testing.md for the conventions).
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

import doc_runner as dr

DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: opt-outs are for blocks that genuinely cannot run here; keep them few
MAX_NO_RUN = 8


def _id(path):
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("page", DOC_FILES, ids=_id)
def test_page_examples_run_and_show_what_the_code_prints(page, tmp_path):
    report = dr.run_page(page, tmp_path, ROOT)
    runnable = [b for b in dr.parse_markdown(page) if b.lang in dr.RUN_LANGS]
    assert report.blocks_run + len(report.no_run) >= len(runnable)


def test_every_code_block_has_a_known_language():
    bad = [f"{_id(b.path)}:{b.line} ```{b.lang}" for p in DOC_FILES for b in dr.parse_markdown(p)
           if b.lang not in dr.RUN_LANGS | dr.NO_RUN_LANGS]
    assert not bad, (
        "label every fenced block: python/bash/console (run by tests/test_docs.py) or "
        f"{'/'.join(sorted(dr.NO_RUN_LANGS))} (not run): " + ", ".join(bad))


def test_opt_outs_are_few_and_give_a_reason():
    opted = [b for p in DOC_FILES for b in dr.parse_markdown(p) if b.no_run is not None]
    listing = "\n".join(f"  {_id(b.path)}:{b.line} ```{b.lang}: {b.no_run}" for b in opted)
    print(f"\n{len(opted)} documentation block(s) opted out of running:\n{listing}")
    assert all(b.lang in dr.RUN_LANGS for b in opted), "only runnable blocks can opt out:\n" + listing
    assert all(b.no_run and b.no_run != "(no reason given)" for b in opted), listing
    assert len(opted) <= MAX_NO_RUN, f"{len(opted)} opt-outs (at most {MAX_NO_RUN}):\n{listing}"


_VALUE_COMMENT = re.compile(r"#\s*[-+]?\(?\d")


def test_values_shown_in_python_blocks_are_checked():
    """A comment that shows a value (``x  # 15.6``) must use ``# ->`` so that it is compared."""
    bad = []
    for p in DOC_FILES:
        for b in dr.parse_markdown(p):
            if b.lang != "python":
                continue
            for k, line in enumerate(b.text.splitlines(), start=1):
                code, hash_, comment = line.partition("#")
                if hash_ and code.strip() and _VALUE_COMMENT.match("#" + comment):
                    bad.append(f"{_id(p)}:{b.line + k}: {line.strip()}")
    assert not bad, "show values as '# -> VALUE':\n" + "\n".join(bad)


# ------------------------------------------------------------------ the runner itself

@pytest.mark.parametrize("expected, actual", [
    ("15.71", "15.7134"),
    ("15.71", "15.705"),
    ("+15.65 mV", "+15.6512 mV"),
    ("0.000", "-0.0004"),
    ("1.51e-4", "0.000151"),
    ("(13, 20000.0)", "(13, 20000.0)"),
    ("a ... d", "a b c d"),
    ("a ...", "a"),
    ("K+   159.22\nCl-  6.00", "K+ 159.22 Cl- 6.00"),
    ("17o05028_ic_steps.abf", "17o05028_ic_steps.abf"),
    ("2.6.0.0", "2.6.0.0"),
])
def test_output_match(expected, actual):
    assert dr.output_mismatch(expected, actual) is None


@pytest.mark.parametrize("expected, actual", [
    ("15.71", "15.72"),          # beyond half a unit of the last digit shown
    ("15.7", "15.76"),
    ("15.65", "-15.65"),
    ("16", "16.6"),
    ("1.51e-4", "0.000152"),
    ("a b", "a c"),
    ("(13, 20000.0)", "(13, 20000.0, 1)"),
    ("sweep0", "sweep1"),
])
def test_output_mismatch(expected, actual):
    assert dr.output_mismatch(expected, actual) is not None


def _page(tmp_path, text):
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent(text))
    folder = tmp_path / "run"
    folder.mkdir()
    return page, folder


def test_runner_checks_python_values_and_shares_a_namespace(tmp_path):
    page, folder = _page(tmp_path, '''
        ```python
        x = 2.0 / 3
        ```
        ```python
        x              # -> 0.667
        print(x, "a")  # -> 0.67 a
        print("1\\n2")
        # -> 1
        # -> 2
        ```
    ''')
    report = dr.run_page(page, folder, ROOT)
    assert (report.blocks_run, report.checks) == (2, 3)


@pytest.mark.parametrize("block, message", [
    ("x = 2.0 / 3\nx  # -> 0.66\n", "numbers differ"),
    ("y = 1  # -> 1\n", "not an expression"),
    ("undefined_name\n", "NameError"),
    ("print('a')  # -> b\n", "does not have the shape"),
])
def test_runner_reports_wrong_python_examples(tmp_path, block, message):
    page, folder = _page(tmp_path, "```python\n" + block + "```\n")
    with pytest.raises(dr.DocError, match=message):
        dr.run_page(page, folder, ROOT)


def test_runner_checks_console_output_and_status(tmp_path):
    page, folder = _page(tmp_path, '''
        ```console
        $ ephys-correct ljp "K=150,Cl=150" "Na=150,Cl=150" -T 25
        ...V_L = +4.36 mV...
        $ ephys-correct solutions show no_such_solution
        ...error...
        [exit 1]
        $ ls ephys_correct/data/examples
        17o05028_ic_steps.abf
        README.md
        ```
    ''')
    report = dr.run_page(page, folder, ROOT)
    assert (report.commands, report.checks) == (3, 3)


@pytest.mark.parametrize("block, message", [
    ('```console\n$ ephys-correct ljp "K=150,Cl=150" "Na=150,Cl=150" -T 25\n...V_L = +4.30 mV...\n```\n',
     "numbers differ"),
    ("```bash\nephys-correct solutions show no_such_solution\n```\n", "exited with status 1"),
    ("```bash\nephys-correct ljp --no-such-option\n```\n", "exited with status 2"),
    ("```bash\nfalse\n```\n", "exited with status 1"),
])
def test_runner_reports_wrong_shell_examples(tmp_path, block, message):
    page, folder = _page(tmp_path, block)
    with pytest.raises(dr.DocError, match=message):
        dr.run_page(page, folder, ROOT)


def test_no_run_marker_is_counted(tmp_path):
    page, folder = _page(tmp_path, '''
        <!-- no-run: installs packages -->
        ```bash
        pip install something
        ```
    ''')
    report = dr.run_page(page, folder, ROOT)
    assert report.blocks_run == 0 and [b.no_run for b in report.no_run] == ["installs packages"]


def test_in_process_command_prints_what_the_console_script_prints(tmp_path):
    """The docs run ``ephys-correct`` in-process; the installed command prints the same."""
    argv = ["ljp", "internal_k_gluconate", "acsf_carbogen_standard", "-T", "22", "--method", "both"]
    status, in_process = dr._run_in_process(["ephys-correct", *argv], tmp_path)
    proc = subprocess.run([sys.executable, "-m", "ephys_correct", *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert (status, in_process) == (proc.returncode, proc.stdout + proc.stderr)
    assert status == 0 and "Nernst-Planck - Henderson" in in_process
