"""Issue 17 items 2-3: a batch survives its files (dying workers, links in a loop, devices) and
one run owns its output folder (lock, markers that agree with the outputs, stale temporaries)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import ephys_correct.batch.run as run_mod
from ephys_correct.batch.lock import LOCK_NAME, OutputLock, remove_stale_temporaries
from ephys_correct.batch.inputs import collect_recordings
from ephys_correct.batch.run import run_batch
from ephys_correct.errors import OutputExistsError, OutputLockedError
from ephys_correct._fileio import temp_path_in

from conftest import ROOT, TEST_DATA  # noqa: E402

PIPETTE = "internal_k_gluconate"
BATH = "acsf_carbogen_standard"
GOOD = "2018_11_16_sh_0006.abf"
OPTS = dict(pipette=PIPETTE, bath=BATH, temperature_c=32)


def _folder(root: Path, names) -> Path:
    src = root / "in"
    src.mkdir()
    for n in names:
        shutil.copy(TEST_DATA / GOOD, src / n)
    return src


def _killer_reader(real):
    """A reader that kills its worker process (as a segfault in a C extension would) on 'killer' files."""
    def read(path, *args, **kwargs):
        if "killer" in Path(path).name:
            os._exit(7)
        return real(path, *args, **kwargs)
    return read


@pytest.fixture
def killer(monkeypatch):
    # fork: the workers inherit the monkeypatched reader (the test hook)
    monkeypatch.setattr(run_mod, "read_recording", _killer_reader(run_mod.read_recording))
    monkeypatch.setattr(run_mod, "_mp_context", lambda: multiprocessing.get_context("fork"))


def _rows(result) -> dict[str, dict]:
    return {Path(r["file"]).name: r for r in result.rows}


# --------------------------------------------------------------------------- dying workers
def test_dead_worker_fails_only_its_own_file_and_is_recorded(tmp_path, killer):
    names = [f"cell{i:02d}.abf" for i in range(4)]
    src = _folder(tmp_path, [*names[:2], "killer.abf", *names[2:]])
    out = tmp_path / "out"
    res = run_batch(src, out_dir=out, jobs=2, **OPTS)
    rows = _rows(res)
    assert rows["killer.abf"]["status"] == "failed"
    # the exit code (7) is added when the pool still knows its process; the reason is always given
    assert "worker process died while correcting this file" in rows["killer.abf"]["reason"]
    assert all(rows[n]["status"] == "ok" for n in names), {n: rows[n]["reason"] for n in names}
    assert [Path(r["file"]).name for r in res.rows] == sorted(rows)  # input order kept
    marker = json.loads((out / "killer.killed.json").read_text())
    assert "worker process died" in marker["reason"]

    # a rerun does not die on it again: it fails with the recorded reason, without a worker
    again = _rows(run_batch(src, out_dir=out, jobs=2, **OPTS))
    assert again["killer.abf"]["status"] == "failed"
    assert "killed a worker process in an earlier run" in again["killer.abf"]["reason"]
    assert "--retry-killed" in again["killer.abf"]["reason"]
    assert all(again[n]["status"] == "skipped" for n in names)


def test_retry_killed_tries_again_and_a_success_clears_the_record(tmp_path, killer, monkeypatch):
    src = _folder(tmp_path, ["a.abf", "killer.abf"])
    out = tmp_path / "out"
    run_batch(src, out_dir=out, jobs=2, **OPTS)
    assert (out / "killer.killed.json").is_file()
    # still a killer: retried, killed again, recorded again; the run still finishes
    res = _rows(run_batch(src, out_dir=out, jobs=2, retry_killed=True, **OPTS))
    assert "worker process died" in res["killer.abf"]["reason"]
    # the file was fixed (here: the hook is gone): retried, corrected, record removed
    monkeypatch.setattr(run_mod, "read_recording", run_mod.read_recording.__closure__[0].cell_contents)
    res = _rows(run_batch(src, out_dir=out, jobs=2, retry_killed=True, **OPTS))
    assert res["killer.abf"]["status"] == "ok"
    assert not (out / "killer.killed.json").exists()


def test_a_changed_input_is_not_held_against_it(tmp_path, killer, monkeypatch):
    src = _folder(tmp_path, ["a.abf", "killer.abf"])
    out = tmp_path / "out"
    run_batch(src, out_dir=out, jobs=2, **OPTS)
    assert (out / "killer.killed.json").is_file()
    monkeypatch.setattr(run_mod, "read_recording", run_mod.read_recording.__closure__[0].cell_contents)
    with open(src / "killer.abf", "ab") as fh:  # a new version of the file (other size)
        fh.write(b"\0" * 512)
    res = _rows(run_batch(src, out_dir=out, jobs=2, **OPTS))
    assert "killed a worker" not in res["killer.abf"]["reason"]


def test_pool_gives_up_when_every_worker_dies(tmp_path, monkeypatch):
    from ephys_correct.batch import pool

    monkeypatch.setattr(pool, "MAX_POOL_REBUILDS", 2)
    got = {}
    pool.run_in_processes(list(range(12)), _always_die, lambda i, row: got.setdefault(i, row),
                          n_jobs=2, mp_context=multiprocessing.get_context("fork"),
                          killed_row=lambda i, reason: {"reason": reason})
    assert sorted(got) == list(range(12))
    assert all("died" in r["reason"] for r in got.values())
    assert any("not run: worker processes died 2 times" in r["reason"] for r in got.values())


def _always_die(item):
    os._exit(3)


# --------------------------------------------------------------------------- hostile folders
def test_symlink_loops_devices_and_fifos_are_failed_rows(tmp_path):
    src = _folder(tmp_path, ["good.abf"])
    (src / "sub").mkdir()
    os.symlink(src, src / "sub" / "loop")               # folder link back up: a loop
    os.symlink("self.abf", src / "self.abf")            # a link to itself
    os.symlink("b.abf", src / "a.abf")
    os.symlink("a.abf", src / "b.abf")                  # a two-link loop
    os.mkfifo(src / "pipe.abf")                         # would block a reader
    os.symlink("/dev/zero", src / "zero.abf")           # endless
    found, problems = collect_recordings([src])
    assert [rel for _, rel in found] == ["good.abf"]
    reasons = {rel: why for _, rel, why in problems}
    assert set(reasons) == {"sub/loop", "self.abf", "a.abf", "b.abf", "pipe.abf", "zero.abf"}
    assert "FIFO" in reasons["pipe.abf"] and "character device" in reasons["zero.abf"]

    res = run_batch(src, out_dir=tmp_path / "out", jobs=1, **OPTS)
    rows = {r["output"]: r for r in res.rows}
    assert rows["good"]["status"] == "ok"
    assert {k for k, r in rows.items() if r["status"] == "failed"} == {"sub/loop", "self", "a", "b", "pipe", "zero"}
    assert res.summary_path.is_file()


def test_out_that_is_a_file_is_a_clear_error(tmp_path):
    src = _folder(tmp_path, ["a.abf"])
    (tmp_path / "out.csv").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        run_batch(src, out_dir=tmp_path / "out.csv", **OPTS)


def test_cli_out_that_is_a_file_exits_1_without_traceback(tmp_path, capsys):
    from ephys_correct.cli import main

    src = _folder(tmp_path, ["a.abf"])
    (tmp_path / "f").write_text("x")
    code = main(["correct", str(src), "--out", str(tmp_path / "f"), "--pipette", PIPETTE, "--bath", BATH,
                 "-T", "32", "--no-progress"])
    assert code == 1
    assert "is a file, not a folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- one run per output folder
def test_second_run_into_the_same_out_is_refused_naming_the_holder(tmp_path):
    src = _folder(tmp_path, ["a.abf"])
    out = tmp_path / "out"
    out.mkdir()
    code = textwrap.dedent(f"""
        import sys, time
        from ephys_correct.batch.lock import OutputLock
        with OutputLock({str(out)!r}):
            print("locked", flush=True)
            sys.stdin.readline()
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputLockedError, match=f"pid {holder.pid}"):
            run_batch(src, out_dir=out, **OPTS)
        assert not any(out.glob("*.done.json"))
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    assert run_batch(src, out_dir=out, **OPTS).n_ok == 1  # released at the holder's exit
    assert (out / LOCK_NAME).read_text() == ""             # released by us too


def test_wait_waits_for_the_holder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    code = f"import time\nfrom ephys_correct.batch.lock import OutputLock\nwith OutputLock({str(out)!r}):\n" \
           "    print('locked', flush=True)\n    time.sleep(0.5)\n"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        with OutputLock(out, wait=True):
            waited = time.monotonic() - t0
        assert waited > 0.2  # it waited for the holder's 0.5 s instead of refusing
    finally:
        holder.wait(timeout=30)
        holder.stdout.close()


def test_rerun_with_other_options_never_leaves_a_marker_vouching_for_other_outputs(tmp_path, monkeypatch):
    src = _folder(tmp_path, ["a.abf"])
    out = tmp_path / "out"
    run_batch(src, out_dir=out, **OPTS)
    done = out / "a.done.json"
    assert json.loads(done.read_text())["options"]["temperature_c"] == 32

    # a forced rerun with other options dies after writing the new table, before its marker
    def boom(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(run_mod, "write_corrected_npz", boom)
    with pytest.raises(KeyboardInterrupt):
        run_batch(src, out_dir=out, jobs=1, force=True, pipette=PIPETTE, bath=BATH, temperature_c=22)
    assert not done.exists()  # the old marker no longer vouches for the half-new outputs
    monkeypatch.undo()
    # a rerun with the first options does not skip the file as finished (its outputs are half
    # from the other run): it refuses to touch them without --force
    res = run_batch(src, out_dir=out, jobs=1, **OPTS)
    assert res.rows[0]["status"] == "failed" and "--force" in res.rows[0]["reason"]
    res = run_batch(src, out_dir=out, jobs=1, force=True, **OPTS)
    assert res.rows[0]["status"] == "ok"
    assert json.loads(done.read_text())["options"]["temperature_c"] == 32


def test_rerun_with_other_options_without_force_is_refused(tmp_path):
    src = _folder(tmp_path, ["a.abf"])
    out = tmp_path / "out"
    run_batch(src, out_dir=out, **OPTS)
    res = run_batch(src, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=22)
    assert res.rows[0]["status"] == "failed" and "options differ" in res.rows[0]["reason"]
    assert OutputExistsError.__name__ in res.rows[0]["reason"]


def test_stale_temporaries_are_removed_at_the_start_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    stale = [temp_path_in(out, "a.corrected.npz"), temp_path_in(out / "sub", "b.driving_force.csv")]
    keep = [out / "notes.tmp", out / ".hidden.tmp", out / "a.corrected.npz"]
    for k in keep:
        k.write_text("mine")
    removed = remove_stale_temporaries(out)
    assert sorted(removed) == sorted(stale)
    assert all(not s.exists() for s in stale) and all(k.exists() for k in keep)


# --------------------------------------------------------------------------- Dask: all workers lost
def test_dask_all_workers_lost_ends_in_bounded_time(tmp_path):
    import distributed

    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        gate = distributed.Event("never", client=client)
        futures = client.map(_wait_forever, ["x", "y"], pure=False)
        cluster.scale(0)  # every worker leaves; the tasks can never finish
        got = {}
        t0 = time.monotonic()
        run_mod._gather_dask(client, futures, [0, 1], [_FakeTask(), _FakeTask()],
                             lambda i, row: got.setdefault(i, row), no_worker_timeout_s=1.0, poll_s=0.2)
        assert time.monotonic() - t0 < 30
        gate.set()
    assert sorted(got) == [0, 1]
    assert all("no worker for 1 s" in r["reason"] for r in got.values())


def _wait_forever(name):
    import distributed

    distributed.Event("never").wait()
    return {}


class _FakeTask:
    path = "x.abf"
    stem = "x"
    settings = None


def test_a_file_that_kills_the_run_itself_is_recorded_for_the_next_run(tmp_path):
    # one file runs in the calling process (no pool): the whole run dies; the next run knows why
    src = _folder(tmp_path, ["a.abf", "killer.abf"])
    out = tmp_path / "out"
    code = textwrap.dedent(f"""
        import os
        from pathlib import Path
        import ephys_correct.batch.run as run_mod
        real = run_mod.read_recording
        def read(path, *a, **k):
            if "killer" in Path(path).name:
                os._exit(9)
            return real(path, *a, **k)
        run_mod.read_recording = read
        run_mod.run_batch({str(src)!r}, out_dir={str(out)!r}, jobs=1, pipette={PIPETTE!r}, bath={BATH!r},
                          temperature_c=32)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr
    assert (out / ".ephys_correct.running.json").is_file()
    res = _rows(run_batch(src, out_dir=out, jobs=1, **OPTS))
    assert res["a.abf"]["status"] == "skipped"
    assert "killed a worker process in an earlier run" in res["killer.abf"]["reason"]
    assert "ended abruptly" in res["killer.abf"]["reason"]
    assert not (out / ".ephys_correct.running.json").exists()
