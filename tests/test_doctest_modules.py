"""The docstring examples of the package run with the suite (``--doctest-modules``).

pyproject.toml makes ``ephys_correct`` a test path and adds ``--doctest-modules``;
these tests keep that so: the options stay, no example is skipped, and every
module imports without the optional extras (plot, nwb, dask, io), so collecting
the doctests never needs them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

from conftest import ROOT

from ephys_correct._resources import tomllib

PACKAGE = ROOT / "ephys_correct"


def test_pytest_runs_the_docstring_examples():
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in ini["addopts"].split()
    assert "ephys_correct" in ini["testpaths"]
    assert set(ini["doctest_optionflags"].split()) >= {"NUMBER", "ELLIPSIS"}


def test_no_docstring_example_is_skipped():
    skipped = [f"{p.relative_to(ROOT)}:{n}" for p in sorted(PACKAGE.rglob("*.py"))
               for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
               if re.search(r"doctest:\s*\+SKIP|^\s*>>> .*#\s*doctest:.*SKIP", line)]
    assert not skipped, "docstring examples must run (no +SKIP): " + ", ".join(skipped)


def test_every_module_imports_without_optional_extras():
    code = textwrap.dedent('''
        import importlib, importlib.abc, pkgutil, sys
        BLOCK = ("matplotlib", "pynwb", "hdmf", "dask", "distributed", "pyarrow", "openpyxl",
                 "numpydoc", "pytest", "hypothesis")

        class Blocker(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCK:
                    raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
                return None

        sys.meta_path.insert(0, Blocker())
        import ephys_correct
        names = [i.name for i in pkgutil.walk_packages(ephys_correct.__path__, prefix="ephys_correct.")
                 if not i.name.endswith("__main__")]
        for n in names:
            importlib.import_module(n)
        print(len(names))
    ''')
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.strip()) >= 30
