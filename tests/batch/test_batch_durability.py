"""Batch durability policy (issue 16): outputs flushed before the durable done-marker, nothing else synced."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

from conftest import TEST_DATA
from ephys_correct.batch.run import run_batch


def test_outputs_are_synced_before_the_marker(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(TEST_DATA / "pclamp11_4ch.abf", src / "cell.abf")
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else str(fd))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_batch(src, out_dir=out, pipette="internal_k_gluconate", bath="acsf_carbogen_standard",
                        temperature_c=32, jobs=1)
    assert res.n_ok == 1
    names = [Path(p).name for p in synced]
    # every output of the file, then its folder, then the marker (via its temporary name) and the folder
    outputs = {"cell.driving_force.csv", "cell.driving_force.csv.json", "cell.corrected.npz"}
    first_marker = next(i for i, n in enumerate(names) if "done.json" in n)
    assert outputs <= set(names[:first_marker])
    assert "out" in names[:first_marker]  # the folder: the renames are committed too
    assert names[-1] == "out" and "done.json" in names[-2]
    # the in-progress marker is a hint: never synced
    assert not any("partial" in n for n in names)
    assert (out / "cell.done.json").exists()
