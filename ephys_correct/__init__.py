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

# public name -> module that defines it (imported on first use, so that
# `import ephys_correct` stays light and readers/pandas load only when needed)
_EXPORTS = {
    # ions and data
    "Ion": "chemistry.ions", "IonTable": "chemistry.ions", "load_ion_table": "chemistry.ions", "get_ion": "chemistry.ions",
    "canonical_ion_name": "chemistry.ions", "load_sources": "sources",
    # solutions
    "Solution": "chemistry.solutions", "Recipe": "chemistry.recipes", "load_recipe": "chemistry.recipes",
    "load_solution": "chemistry.solutions_db", "as_solution": "chemistry.solutions_db", "list_solutions": "chemistry.solutions_db",
    "get_compound": "chemistry.compounds",
    # activity and reversal potentials
    "activity_coefficients": "chemistry.activity", "ActivityResult": "chemistry.activity", "ionic_strength_mm": "chemistry.activity",
    "reversal_potential": "potentials.reversal", "reversal_potentials": "potentials.reversal",
    "ghk_potential": "potentials.reversal", "ghk_current": "potentials.reversal", "donnan_equilibrium": "potentials.reversal",
    # liquid junction potential
    "liquid_junction_potential": "potentials.ljp", "LJPResult": "potentials.ljp", "bath_change_offset": "potentials.bath",
    "BathSchedule": "potentials.bath",
    # speciation
    "free_calcium": "chemistry.speciation", "free_magnesium": "chemistry.speciation",
    "total_calcium_for_free": "chemistry.speciation", "total_magnesium_for_free": "chemistry.speciation",
    # recordings
    "read_recording": "io", "Recording": "io",
    # correction and reports
    "correct_recording": "correction.correct", "CorrectedRecording": "correction.corrected",
    "CONFIGURATIONS": "correction.configurations", "apply_ljp": "correction.sign", "apply_current_sign": "correction.sign",
    "get_configuration": "correction.configurations",
    "driving_force_table": "report.driving_force", "write_table": "report.tables", "read_table": "report.tables",
    "write_nwb": "report.nwb",
    # batch runs and planning
    "run_batch": "batch.run", "plan_solutions": "plan", "solve_target": "plan",
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
