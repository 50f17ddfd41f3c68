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
