"""The name -> file index of the solutions database is cached and follows folder changes (issue 16)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ephys_correct.chemistry import solutions_db
from ephys_correct.chemistry.solutions_db import load_solution
from ephys_correct.errors import UnknownSolutionError

SRC = Path(solutions_db.__file__).resolve().parents[2] / "solutions_db" / "axobits39_saline_bath.toml"


def test_index_follows_added_and_removed_recipes(tmp_path, monkeypatch):
    monkeypatch.setenv("EPHYS_CORRECT_SOLUTIONS_DB", str(tmp_path))
    shutil.copy(SRC, tmp_path / "my_bath_one.toml")
    assert load_solution("my_bath_one").ions_mm
    first = solutions_db._db_index()
    assert solutions_db._db_index() is first  # unchanged folders: the cached index
    with pytest.raises(UnknownSolutionError, match="my_bath_two"):
        load_solution("my_bath_two")
    shutil.copy(SRC, tmp_path / "my_bath_two.toml")
    st = os.stat(tmp_path)  # make sure the folder's mtime moved even on a coarse-clock file system
    os.utime(tmp_path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert load_solution("my_bath_two").ions_mm == load_solution("my_bath_one").ions_mm
    (tmp_path / "my_bath_one.toml").unlink()
    st = os.stat(tmp_path)
    os.utime(tmp_path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(UnknownSolutionError, match="my_bath_one"):
        load_solution("my_bath_one")
