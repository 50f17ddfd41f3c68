"""Run the code examples of the Markdown documentation (used by ``tests/test_docs.py``).

Conventions (also in ``docs/dev/testing.md``):

* Every fenced block has a language. ``python``, ``bash`` and ``console`` blocks
  are run; ``text``, ``toml``, ``csv``, ``json`` blocks are not (``toml`` and
  ``json`` must parse).
* The blocks of one page run in document order in one temporary folder that
  looks like the project folder (``ephys_correct/``, ``scripts/`` and
  ``solutions_db/`` are links to the project's own), so a page can use the
  bundled recording ``ephys_correct/data/examples/17o05028_ic_steps.abf`` and
  build on the files its earlier blocks wrote.  All ``python`` blocks of a page
  share one namespace.
* ``python``: an expression statement followed by ``# -> TEXT`` must show TEXT
  (its ``repr``, or what it prints); more output lines follow as lines of their
  own starting with ``# ->``.
* ``bash``: every command must exit with status 0; the output is not checked.
* ``console``: ``$ command`` lines, each followed by its expected output (stdout
  and stderr as on a terminal); a last output line ``[exit N]`` expects status N.
  A command without output lines is only checked for its exit status.
* Output matching: whitespace runs are equivalent; ``...`` stands for any text;
  a number shown with d decimals matches a printed number within half a unit of
  its last digit (the doc shows the value rounded), e.g. ``15.71`` matches
  15.7134 but not 15.72.
* A block that cannot run carries ``<!-- no-run: reason -->`` on the line right
  before its fence; such blocks are counted and listed.
* ``<!-- file: NAME -->`` right before a fence writes the block to NAME in the
  page folder (a sheet or recipe that the next blocks use).

``ephys-correct ...`` and ``python scripts/...py`` commands run in the test
process (the console script's ``main`` / the script through ``runpy``): one
interpreter start costs ~1.5 s, which over the ~40 commands of the docs would
be most of the suite's time.  ``EPHYS_CORRECT_DOCS_SUBPROCESS=1`` runs every
command through ``bash`` instead, with ``ephys-correct`` and ``python``
pointing at ``sys.executable``; commands with shell syntax (pipes, redirects,
``;``) always do.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import runpy
import shlex
import subprocess
import sys
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path

RUN_LANGS = {"python", "bash", "console"}
PARSED_LANGS = {"toml", "json"}
NO_RUN_LANGS = {"text", "csv", *PARSED_LANGS}
NO_RUN_RE = re.compile(r"^\s*<!--\s*no-run:\s*(?P<reason>.*?)\s*-->\s*$")
FILE_RE = re.compile(r"^\s*<!--\s*file:\s*(?P<name>\S+)\s*-->\s*$")
FENCE_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
EXIT_RE = re.compile(r"^\[exit (?P<status>\d+)\]$")
#: links that make the temporary folder look like the project folder
PROJECT_LINKS = ("ephys_correct", "scripts", "solutions_db")
COMMAND_TIMEOUT_S = 300


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    no_run: str | None = None  # the reason, when opted out
    file: str | None = None  # written to this file of the page folder (``<!-- file: NAME -->``)

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def parse_markdown(path: Path) -> list[Block]:
    """Every fenced code block of a Markdown file, in order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        lang = m["info"].strip().split(" ")[0].lower() if m["info"].strip() else ""
        no_run = file = None
        if i > 0:
            nm = NO_RUN_RE.match(lines[i - 1])
            if nm:
                no_run = nm["reason"] or "(no reason given)"
            fm = FILE_RE.match(lines[i - 1])
            if fm:
                file = fm["name"]
        body = []
        j = i + 1
        close = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
        while j < len(lines) and not close.match(lines[j]):
            ln = lines[j]
            body.append(ln[indent:] if ln[:indent].strip() == "" else ln)
            j += 1
        blocks.append(Block(Path(path), i + 1, lang, "\n".join(body) + "\n", no_run, file))
        i = j + 1
    return blocks


# --------------------------------------------------------------------------- output matching

_WILD = r"\s*(?:.*?)\s*"
_EXP_TOKEN = re.compile(
    r"(?P<ell>\.\.\.)"
    r"|(?P<num>(?:(?<![\w.])[-+])?(?<![\d.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\d])"
    r"|(?P<ws>\s+)"
)


def _tolerance(num: str) -> float:
    mant, _, exp = num.lower().partition("e")
    decimals = len(mant.partition(".")[2])
    return 0.5 * 10.0 ** (int(exp or 0) - decimals)


def output_mismatch(expected: str, actual: str) -> str | None:
    """None when *actual* shows *expected*; otherwise why not.

    Whitespace runs are equivalent, ``...`` matches any text and each number
    of *expected* matches a number of *actual* within half a unit of its last
    shown digit.
    """
    expected, actual = expected.strip(), actual.strip()
    parts: list[str] = []
    numbers: list[tuple[str, float, float]] = []
    pos = 0
    for m in _EXP_TOKEN.finditer(expected):
        parts.append(re.escape(expected[pos:m.start()]))
        pos = m.end()
        if m["ell"]:
            # whitespace around an ellipsis is optional
            while parts and parts[-1] in (r"\s+", ""):
                parts.pop()
            parts.append(_WILD)
        elif m["num"]:
            text = m["num"]
            signed = text[0] in "+-"
            pat = r"[-+]?" if (signed or m.start() == 0 or not re.match(r"[\w.]", expected[m.start() - 1])) else ""
            parts.append(r"(?<![\d.])(" + pat + r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\d])")
            numbers.append((text, float(text), _tolerance(text)))
        else:
            nonempty = [p for p in parts if p]
            if not (nonempty and nonempty[-1] == _WILD):
                parts.append(r"\s+")
    parts.append(re.escape(expected[pos:]))
    pattern = "".join(parts)
    m = re.fullmatch(pattern, actual, flags=re.DOTALL)
    if m is None:
        return f"the output does not have the shape shown.\n--- expected ---\n{expected}\n--- actual ---\n{actual}"
    bad = []
    for (text, value, tol), got in zip(numbers, m.groups()):
        g = float(got)
        if abs(g - value) > tol * (1 + 1e-9) + 1e-12:
            bad.append(f"{text} (within {tol:g}) but the code gives {got}")
    if bad:
        return ("numbers differ: " + "; ".join(bad)
                + f"\n--- expected ---\n{expected}\n--- actual ---\n{actual}")
    return None


# --------------------------------------------------------------------------- python blocks

@dataclass
class _Check:
    expected: list[str] = field(default_factory=list)
    line: int = 0


def _plain(value):
    """numpy scalars as Python numbers, so reprs read like the docs."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and type(value) is dict:
        return {k: _plain(v) for k, v in value.items()}
    return value


def _arrow_comments(source: str) -> list[tuple[int, bool, str]]:
    """(line, standalone, text) of every ``# ->`` comment of a block."""
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and re.match(r"#\s*->", tok.string):
            text = re.sub(r"^#\s*->\s?", "", tok.string)
            standalone = tok.line[: tok.start[1]].strip() == ""
            out.append((tok.start[0], standalone, text))
    return out


class DocError(AssertionError):
    """A documentation example that does not run or does not show what it prints."""


def run_python(block: Block, namespace: dict) -> int:
    """Run a python block statement by statement; check ``# ->`` outputs. Returns #checks."""
    source = block.text
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise DocError(f"{block.where}: not valid Python: {exc}") from None
    stmts = tree.body
    checks: dict[int, _Check] = {}
    for line, standalone, text in _arrow_comments(source):
        if standalone:
            owners = [k for k, s in enumerate(stmts) if s.end_lineno < line]
        else:
            owners = [k for k, s in enumerate(stmts) if s.end_lineno == line]
        if not owners:
            raise DocError(f"{block.path.name}:{block.line + line}: '# ->' follows no statement")
        k = owners[-1]
        if not isinstance(stmts[k], ast.Expr):
            raise DocError(f"{block.path.name}:{block.line + line}: '# ->' after a statement that is "
                           "not an expression (only expressions show a value)")
        checks.setdefault(k, _Check(line=block.line + line)).expected.append(text)
    filename = str(block.path)
    for k, stmt in enumerate(stmts):
        ast.increment_lineno(stmt, block.line)
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                if k in checks:
                    value = eval(compile(ast.Expression(stmt.value), filename, "eval"), namespace)
                else:
                    exec(compile(ast.Module([stmt], type_ignores=[]), filename, "exec"), namespace)
                    value = None
        except Exception as exc:
            raise DocError(f"{block.path.name}:{stmt.lineno}: the example raised "
                           f"{type(exc).__name__}: {exc}") from exc
        if k in checks:
            shown = buf.getvalue()
            if value is not None:
                shown += repr(_plain(value))
            why = output_mismatch("\n".join(checks[k].expected), shown)
            if why:
                raise DocError(f"{block.path.name}:{checks[k].line}: {why}")
    return len(checks)


# --------------------------------------------------------------------------- shell blocks

@dataclass
class Command:
    text: str
    line: int
    expected: str | None = None  # None: output not checked
    status: int = 0


def shell_commands(block: Block) -> list[Command]:
    """The commands of a bash or console block with their expected output."""
    cmds: list[Command] = []
    lines = block.text.splitlines()
    i = 0
    if block.lang == "bash":
        while i < len(lines):
            start = i
            text = lines[i]
            while text.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
            if text.strip() and not text.strip().startswith("#"):
                cmds.append(Command(text.strip(), block.line + 1 + start))
        return cmds
    # console
    while i < len(lines):
        if not lines[i].startswith("$ "):
            if lines[i].strip():
                raise DocError(f"{block.path.name}:{block.line + 1 + i}: console blocks start each "
                               "command with '$ '; output lines follow their command")
            i += 1
            continue
        start = i
        text = lines[i][2:]
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text.rstrip()[:-1] + " " + lines[i].strip()
        i += 1
        out = []
        while i < len(lines) and not lines[i].startswith("$ "):
            out.append(lines[i])
            i += 1
        while out and not out[-1].strip():
            out.pop()
        status = 0
        if out and EXIT_RE.match(out[-1].strip()):
            status = int(EXIT_RE.match(out[-1].strip())["status"])
            out.pop()
        cmds.append(Command(text.strip(), block.line + 1 + start, "\n".join(out) if out else None, status))
    return cmds


_SHELL_SYNTAX = set("|&;<>()$`")


def _simple_argv(text: str) -> list[str] | None:
    """The words of a simple command, or None when it needs a shell."""
    lex = shlex.shlex(text, posix=True, punctuation_chars="|&;<>()")
    lex.whitespace_split = True
    lex.commenters = "#"
    try:
        words = list(lex)
    except ValueError:
        return None
    if any(w and set(w) <= _SHELL_SYNTAX for w in words) or any("$" in w or "`" in w for w in words):
        return None
    return words


def _shim_dir(root: Path) -> Path:
    """``ephys-correct``, ``python`` and ``python3`` running this interpreter."""
    shims = root / ".doc_bin"
    if not shims.is_dir():
        shims.mkdir()
        py = shlex.quote(sys.executable)
        for name, body in (("ephys-correct", f'PYTHONSAFEPATH=1 exec {py} -m ephys_correct "$@"'),
                           ("python", f'exec {py} "$@"'), ("python3", f'exec {py} "$@"')):
            p = shims / name
            p.write_text(f"#!/bin/sh\n{body}\n")
            p.chmod(0o755)
    return shims


def _run_in_shell(text: str, cwd: Path) -> tuple[int, str]:
    env = dict(os.environ, PATH=f"{_shim_dir(cwd)}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONUNBUFFERED="1", MPLBACKEND="Agg", COLUMNS="100")
    env.pop("PYTHONWARNINGS", None)
    proc = subprocess.run(["bash", "-c", text], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=COMMAND_TIMEOUT_S)
    return proc.returncode, proc.stdout


def _run_in_process(argv: list[str], cwd: Path) -> tuple[int, str] | None:
    """Run ``ephys-correct ...`` or ``python script.py ...`` here; None if it is neither."""
    if argv[0] == "ephys-correct":
        from ephys_correct.cli import main

        def call():
            return main(argv[1:])
    elif argv[0] in ("python", "python3") and len(argv) > 1 and argv[1].endswith(".py"):
        script = str(cwd / argv[1])

        def call():
            old = sys.argv
            sys.argv = [script, *argv[2:]]
            try:
                runpy.run_path(script, run_name="__main__")
            finally:
                sys.argv = old
            return 0
    else:
        return None
    buf = io.StringIO()
    old_cwd = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf), warnings.catch_warnings():
            warnings.simplefilter("default")  # shown, as by the real command, not raised
            try:
                status = call()
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if not isinstance(exc.code, int) and exc.code is not None:
                    print(exc.code, file=sys.stderr)
    finally:
        os.chdir(old_cwd)
    return int(status or 0), buf.getvalue()


def run_command(cmd: Command, cwd: Path, *, where: str) -> None:
    argv = None if os.environ.get("EPHYS_CORRECT_DOCS_SUBPROCESS") == "1" else _simple_argv(cmd.text)
    result = _run_in_process(argv, cwd) if argv else None
    status, output = result if result is not None else _run_in_shell(cmd.text, cwd)
    if status != cmd.status:
        raise DocError(f"{where}: `{cmd.text}` exited with status {status} (expected {cmd.status}):\n"
                       f"{output[-3000:]}")
    if cmd.expected is not None:
        why = output_mismatch(cmd.expected, output)
        if why:
            raise DocError(f"{where}: `{cmd.text}`: {why}")


# --------------------------------------------------------------------------- pages

@dataclass
class PageReport:
    blocks_run: int = 0
    checks: int = 0
    commands: int = 0
    files: int = 0
    no_run: list[Block] = field(default_factory=list)


def prepare_folder(folder: Path, root: Path) -> None:
    """Make *folder* look like the project folder (links to the shipped files)."""
    for name in PROJECT_LINKS:
        link = folder / name
        if not link.exists():
            link.symlink_to(root / name, target_is_directory=True)


def run_page(path: Path, folder: Path, root: Path) -> PageReport:
    """Run every block of one Markdown page in *folder*; raise DocError on the first failure."""
    prepare_folder(folder, root)
    report = PageReport()
    namespace: dict = {"__name__": "__docs__"}
    old_cwd = os.getcwd()
    os.chdir(folder)
    try:
        for block in parse_markdown(path):
            if block.no_run is not None:
                report.no_run.append(block)
                continue
            if block.file is not None:
                target = (folder / block.file).resolve()
                if block.file.startswith(("/", "~")) or folder.resolve() not in target.parents:
                    raise DocError(f"{block.where}: <!-- file: {block.file} --> must name a file "
                                   "inside the page folder")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.text, encoding="utf-8")
                report.files += 1
            if block.lang == "python":
                report.checks += run_python(block, namespace)
            elif block.lang in ("bash", "console"):
                for cmd in shell_commands(block):
                    run_command(cmd, folder, where=f"{path.name}:{cmd.line}")
                    report.commands += 1
                    report.checks += cmd.expected is not None
            elif block.lang == "toml":
                from ephys_correct._resources import tomllib

                try:
                    tomllib.loads(block.text)
                except tomllib.TOMLDecodeError as exc:
                    raise DocError(f"{block.where}: not valid TOML: {exc}") from None
                continue
            elif block.lang == "json":
                try:
                    json.loads(block.text)
                except json.JSONDecodeError as exc:
                    raise DocError(f"{block.where}: not valid JSON: {exc}") from None
                continue
            else:
                continue
            report.blocks_run += 1
    finally:
        os.chdir(old_cwd)
    return report
