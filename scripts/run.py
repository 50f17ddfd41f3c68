#!/usr/bin/env python3
"""Set up a local virtual environment (if needed) and run the demo or the tests.

    python3 scripts/run.py demo    # set up, then run the main job on bundled example data
    python3 scripts/run.py test    # set up, then run the full test suite

Only the Python 3 standard library is needed to start: the script creates
``.venv`` beside the project, installs the package with its extras from
``pyproject.toml`` (re-installing only when pyproject.toml changes), then runs.
Extra arguments after ``demo``/``test`` are passed on (to ``ephys-correct demo``
or to ``pytest``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
EXTRAS = "test,plot,dask,nwb,io,web"


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _pip(py: Path, *args: str, required: bool) -> None:
    """pip install, its chatter kept (build-backend notices, index warnings) and shown only on failure."""
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    res = subprocess.run([str(py), "-m", "pip", "install", "--quiet", *args], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout)
        if required:
            raise SystemExit(f"[setup] pip install {' '.join(args)} failed (exit {res.returncode}); see above")
        print(f"[setup] note: pip install {' '.join(args)} failed; continuing", file=sys.stderr)


def setup() -> Path:
    py = _python()
    if not py.exists():
        print(f"[setup] creating virtual environment {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    stamp = VENV / ".ephys_correct_installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != want:
        print("[setup] installing ephys_correct and its dependencies (first run only)", flush=True)
        _pip(py, "--upgrade", "pip", required=False)
        _pip(py, "-e", f"{ROOT}[{EXTRAS}]", required=True)
        # matplotlib builds its font cache on first import and says so on stderr; do it here,
        # once, so the first demo prints only the project's own messages
        subprocess.run([str(py), "-c", "import matplotlib.font_manager"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stamp.write_text(want)
    return py


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup"):
        print(__doc__)
        return 2
    py = setup()
    env = dict(os.environ, MPLBACKEND="Agg")
    if argv[0] == "setup":
        return 0
    if argv[0] == "demo":
        cmd = [str(py), "-m", "ephys_correct", "demo", *argv[1:]]
    else:
        workers = [] if any(a.startswith("-n") for a in argv[1:]) else ["-n", "2"]
        cmd = [str(py), "-m", "pytest", *workers, *argv[1:]]
    print("[run] " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
