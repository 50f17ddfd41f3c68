"""Workers of a batch start with the run's chemistry done (issue 16: a batch that scales).

Before the worker processes fork, ``batch.run._warm_chemistry`` speciates each
distinct pipette/bath pair once and computes its LJP in the parent; forked
workers inherit the caches instead of each redoing the (expensive) speciation.
The warm-up must fill exactly the caches the correction then reads, and must
never fail a run.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

from conftest import TEST_DATA
from ephys_correct.batch import run as batch_run
from ephys_correct.batch.settings import _sol_spec
from ephys_correct.chemistry import speciation
from ephys_correct.correction.correct import correct_recording
from ephys_correct.potentials import ljp
from ephys_correct.report.driving_force import driving_force_table


def _task(pipette="internal_k_gluconate", bath="acsf_carbogen_standard", error=None):
    settings = SimpleNamespace(_pipette=_sol_spec(pipette, None), _bath=_sol_spec(bath, None), temperature_c=32.0,
                               zeroing_temperature_c=None, free_ions=True, ljp_method="henderson", ph=None,
                               ljp_mv=None)
    return SimpleNamespace(settings=settings, error=error)


def test_warm_up_fills_the_caches_the_correction_reads(monkeypatch):
    monkeypatch.setattr(speciation, "_FREE_CACHE", {})
    monkeypatch.setattr(ljp, "_RESULT_CACHE", {})
    batch_run._warm_chemistry([_task(), _task(), _task(error="refused")])
    free, ljps = dict(speciation._FREE_CACHE), dict(ljp._RESULT_CACHE)
    assert free and ljps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr = correct_recording(TEST_DATA / "171116sh_0013.abf", pipette="internal_k_gluconate",
                               bath="acsf_carbogen_standard", temperature_c=32.0)
        driving_force_table(cr)
    # the correction and its table found everything warm: no new speciation, no new LJP
    assert set(speciation._FREE_CACHE) == set(free)
    assert set(ljp._RESULT_CACHE) == set(ljps)


def test_warm_up_never_fails_the_run(monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(speciation, "free_ion_solution", broken)
    batch_run._warm_chemistry([_task(), SimpleNamespace(settings=None, error=None)])  # no exception


def test_a_file_finished_in_this_run_whose_result_was_lost_is_reported_as_done(tmp_path, monkeypatch):
    """When a worker dies, the pool fails every file in flight, also one another worker had finished.

    Run again alone (as ``batch.pool`` does with the suspects), such a file finds the done-marker of
    this very run: it is reported as it was corrected (ok / warn, with its reason), not "skipped:
    done earlier".  Simulated deterministically: every file is processed twice and the first result
    is dropped.
    """
    import shutil

    from ephys_correct.batch.run import run_batch

    src = tmp_path / "in"
    src.mkdir()
    for n in ("a.abf", "b.abf"):
        shutil.copy(TEST_DATA / "171116sh_0013.abf", src / n)

    def lossy(items, process, finish, **kw):
        for i, item in enumerate(items):
            process(item)  # outputs and marker written, result lost
            finish(i, process(item))

    monkeypatch.setattr(batch_run, "run_in_processes", lossy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_batch(src, out_dir=tmp_path / "out", jobs=2, pipette="internal_k_gluconate",
                        bath="acsf_carbogen_standard", temperature_c=32)
        assert all(r["status"] in ("ok", "warn") for r in res.rows), [(r["status"], r["reason"]) for r in res.rows]
        # a later run: those are earlier results now
        again = run_batch(src, out_dir=tmp_path / "out", jobs=2, pipette="internal_k_gluconate",
                          bath="acsf_carbogen_standard", temperature_c=32)
    assert all(r["status"] == "skipped" and "done earlier" in r["reason"] for r in again.rows)
    assert batch_run._RUN["id"] is None  # reset after the run
