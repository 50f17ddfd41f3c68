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

__version__ = "0.1.0"

# public name -> module that defines it (imported on first use, so that
# `import ephys_correct` stays light and readers/pandas load only when needed)
_EXPORTS = {
    # ions and data
    "Ion": "ions", "IonTable": "ions", "load_ion_table": "ions", "get_ion": "ions",
    "canonical_ion_name": "ions", "load_sources": "sources",
    # solutions
    "Solution": "solutions", "Recipe": "solutions", "load_recipe": "solutions",
    "load_solution": "solutions", "as_solution": "solutions", "list_solutions": "solutions",
    "get_compound": "solutions",
    # activity and reversal potentials
    "activity_coefficients": "activity", "ActivityResult": "activity", "ionic_strength_mm": "activity",
    "reversal_potential": "reversal", "reversal_potentials": "reversal",
    "ghk_potential": "reversal", "ghk_current": "reversal", "donnan_equilibrium": "reversal",
    # liquid junction potential
    "liquid_junction_potential": "ljp", "LJPResult": "ljp", "bath_change_offset": "ljp",
    "BathSchedule": "ljp",
    # speciation
    "free_calcium": "speciation", "free_magnesium": "speciation",
    "total_calcium_for_free": "speciation", "total_magnesium_for_free": "speciation",
    # recordings
    "read_recording": "io", "Recording": "io",
    # correction and reports
    "correct_recording": "correction", "CorrectedRecording": "correction",
    "CONFIGURATIONS": "correction", "apply_ljp": "correction", "apply_current_sign": "correction",
    "get_configuration": "correction",
    "driving_force_table": "report", "write_table": "report", "read_table": "report",
    "write_nwb": "nwb",
    # batch runs and planning
    "run_batch": "batch", "plan_solutions": "plan", "solve_target": "plan",
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
