"""ephys_correct: trust patch-clamp membrane potentials to the millivolt.

Liquid junction potentials (generalized Henderson, stationary Nernst-Planck),
activity-corrected reversal potentials, recording readers (ABF, neo formats),
LJP correction per recording configuration and per-ion driving-force tables.

Sign convention (the only one used): the LJP V_L is the potential of the bath
relative to the pipette (Barry & Lynch 1991; JPCalc); for whole-cell data
V_membrane = V_pipette - V_L.  See ``docs/conventions.md``.
"""

from __future__ import annotations

import importlib

from ephys_correct._version import __version__

# public name -> module that defines it (imported on first use, so that `import ephys_correct`
# stays light and readers/pandas load only when needed).  A small face: everything else is
# importable from its module (ephys_correct.chemistry.*, .potentials.*, .correction.*, ...).
_EXPORTS = {
    # solutions
    "Solution": "chemistry.solutions", "load_solution": "chemistry.solutions_db",
    "list_solutions": "chemistry.solutions_db", "load_recipe": "chemistry.recipes",
    # chemistry at the recording conditions
    "activity_coefficients": "chemistry.conditions", "free_ion_solution": "chemistry.speciation",
    "free_calcium": "chemistry.speciation", "total_calcium_for_free": "chemistry.speciation",
    # potentials between two solutions
    "liquid_junction_potential": "potentials.ljp", "LJPResult": "potentials.ljp",
    "bath_change_offset": "potentials.bath", "BathSchedule": "potentials.bath",
    "reversal_potentials": "report.reversal_table",
    # recordings, correction, tables
    "read_recording": "io", "correct_recording": "correction.correct",
    "driving_force_table": "report.driving_force", "write_table": "report.tables", "read_table": "report.tables",
    # many recordings, planning
    "run_batch": "batch.run", "plan_solutions": "plan",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ephys_correct' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ephys_correct.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
