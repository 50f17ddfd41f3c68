"""LJP correction of recordings: the one place the sign convention is applied.

Convention (``docs/conventions.md``)
------------------------------------
``V_L`` is the liquid junction potential of the **bath relative to the
pipette**, ``V_L = V(bath) - V(pipette)``, with the pipette open in the bath
in which the amplifier offset was zeroed (Barry & Lynch 1991; JPCalc;
LJPcalc; HEKA "LJ").  The amplifier reports the pipette potential ``V_p``
relative to the bath reference.  :func:`apply_ljp` turns a recorded potential
into a membrane potential ``V_m = V_in - V_out``::

    V_p = -V_rec if polarity_inverted_at_acquisition else V_rec
    V_m = s_V * (V_p - (V_L - V_L,online) - delta_ref)      (+ V_rest, cell-attached)

with ``s_V`` the configuration's voltage sign (:data:`CONFIGURATIONS`),
``V_L,online`` the part of V_L the amplifier already subtracted (HEKA LJ,
same sign convention) and ``delta_ref`` the change of the bath/reference
potential after a bath exchange (:class:`ephys_correct.ljp.BathChange`).
Currents only get the configuration's sign (membrane-current convention:
outward positive), see :func:`apply_current_sign`.

:func:`correct_recording` applies this to every potential of a recording
(current-clamp traces, voltage monitors, holding levels, command waveforms)
and returns an immutable :class:`CorrectedRecording`; the file and the
:class:`~ephys_correct.io.Recording` are never modified.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from . import __version__
from ._constants import check_temperature_c
from .errors import ParameterError, check_option, suggest

__all__ = [
    "Configuration",
    "CONFIGURATIONS",
    "PerforatingAgent",
    "PERFORATING_AGENTS",
    "get_configuration",
    "apply_ljp",
    "apply_current_sign",
    "SignalCorrection",
    "HeadstageCorrection",
    "CorrectedRecording",
    "correct_recording",
    "STATISTICS",
]

#: statistics accepted by :meth:`CorrectedRecording.membrane_potential`
STATISTICS = ("mean", "median")


# =============================================================================
# the configuration table
# =============================================================================


@dataclass(frozen=True)
class Configuration:
    """One recording configuration: which solution faces which side, and the signs.

    Attributes
    ----------
    name : str
        ``"whole-cell"``, ``"perforated"``, ``"outside-out"``, ``"inside-out"``
        or ``"cell-attached"``.
    inside : {"pipette", "bath", "cytoplasm"}
        What faces the cytoplasmic side of the membrane.  ``"cytoplasm"``: the
        cell's own cytoplasm (perforated: equal to the pipette only for the
        ions that equilibrate through the pores; cell-attached: unknown).
    outside : {"bath", "pipette"}
        What faces the extracellular side.
    voltage_sign : {+1, -1}
        ``s_V`` in ``V_m = s_V (V_p - V_L ...)``.
    current_sign : {+1, -1}
        ``s_I`` in ``I_membrane = s_I I_p`` (outward positive).
    needs_resting_potential : bool
        True when an absolute V_m needs the cell's resting potential
        (cell-attached: ``V_m = V_rest - (V_p - V_L)``).
    inside_known : {"all", "equilibrating", "none"}
        Which cytoplasmic concentrations the solutions define.
    formula : str
        The correction, in words.
    caveats : tuple of str
        What the correction cannot account for.
    """

    name: str
    inside: str
    outside: str
    voltage_sign: int
    current_sign: int
    needs_resting_potential: bool
    inside_known: str
    formula: str
    caveats: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        d = dict(self.__dict__)
        d["caveats"] = list(self.caveats)
        return d


_DONNAN_CAVEAT = (
    "perforated patch: an unknown Donnan potential between pipette and cytoplasm "
    "(impermeant ions on both sides of the perforated membrane) adds to the recorded "
    "potential and is not corrected"
)

#: The configuration table (read-only).  Keys are the canonical names.
CONFIGURATIONS: Mapping[str, Configuration] = MappingProxyType({
    c.name: c
    for c in (
        Configuration(
            name="whole-cell", inside="pipette", outside="bath", voltage_sign=+1, current_sign=+1,
            needs_resting_potential=False, inside_known="all",
            formula="V_m = V_p - V_L",
        ),
        Configuration(
            name="perforated", inside="cytoplasm", outside="bath", voltage_sign=+1, current_sign=+1,
            needs_resting_potential=False, inside_known="equilibrating",
            formula="V_m = V_p - V_L (+ unknown pipette-cell Donnan potential)",
            caveats=(_DONNAN_CAVEAT,),
        ),
        Configuration(
            name="outside-out", inside="pipette", outside="bath", voltage_sign=+1, current_sign=+1,
            needs_resting_potential=False, inside_known="all",
            formula="V_m = V_p - V_L",
        ),
        Configuration(
            name="inside-out", inside="bath", outside="pipette", voltage_sign=-1, current_sign=-1,
            needs_resting_potential=False, inside_known="all",
            formula="V_m = -(V_p - V_L)",
        ),
        Configuration(
            name="cell-attached", inside="cytoplasm", outside="pipette", voltage_sign=-1,
            current_sign=-1, needs_resting_potential=True, inside_known="none",
            formula="V_m = V_rest - (V_p - V_L)",
            caveats=("cell-attached: the cytoplasmic composition is unknown; the patch potential "
                     "is relative to the resting potential unless resting_potential_mv is given",),
        ),
    )
})

_CONFIG_ALIASES = {
    "wholecell": "whole-cell", "wc": "whole-cell",
    "perforated-patch": "perforated", "perforatedpatch": "perforated", "perf": "perforated",
    "outsideout": "outside-out", "oo": "outside-out",
    "insideout": "inside-out", "io": "inside-out",
    "cellattached": "cell-attached", "on-cell": "cell-attached", "oncell": "cell-attached",
    "ca": "cell-attached",
}


def get_configuration(configuration: str | Configuration) -> Configuration:
    """The :class:`Configuration` named *configuration*.

    Case, spaces and underscores are ignored (``"Whole_cell"`` is
    ``"whole-cell"``); ``"on-cell"`` is ``"cell-attached"``.

    Raises
    ------
    ParameterError
        Unknown name (with suggestions).
    """
    if isinstance(configuration, Configuration):
        return configuration
    if not isinstance(configuration, str):
        raise ParameterError(
            f"Invalid value for the 'configuration' parameter: expected one of "
            f"{', '.join(map(repr, CONFIGURATIONS))}, got {configuration!r}."
        )
    key = configuration.strip().lower().replace("_", "-").replace(" ", "-")
    if key in CONFIGURATIONS:
        return CONFIGURATIONS[key]
    alias = _CONFIG_ALIASES.get(key) or _CONFIG_ALIASES.get(key.replace("-", ""))
    if alias:
        return CONFIGURATIONS[alias]
    raise ParameterError(
        f"Invalid value for the 'configuration' parameter. Allowed values are "
        f"{', '.join(map(repr, CONFIGURATIONS))}, but got {configuration!r} instead."
        + suggest(configuration, CONFIGURATIONS)
    )


# =============================================================================
# perforating agents
# =============================================================================


@dataclass(frozen=True)
class PerforatingAgent:
    """Which ions equilibrate between pipette and cytoplasm through the pores.

    Attributes
    ----------
    name : str
    cations : tuple of str
        Cations that pass (canonical names).
    anions : tuple of str
        Anions that pass.
    all_ions : bool
        True when the pores pass every ion of the pipette solution.
    description : str
        The rule and its source.
    """

    name: str
    cations: tuple[str, ...]
    anions: tuple[str, ...]
    all_ions: bool
    description: str

    def equilibrates(self, ion: str) -> bool:
        """True when *ion* (canonical name) equilibrates with the pipette."""
        return self.all_ions or ion in self.cations or ion in self.anions

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"name": self.name, "cations": list(self.cations), "anions": list(self.anions),
                "all_ions": self.all_ions, "description": self.description}


# small inorganic monovalent cations (organic NMDG+, TEA+, choline+, Tris+ do not pass)
_MONOVALENT_CATIONS = ("H+", "Li+", "Na+", "K+", "Rb+", "Cs+", "NH4+")

#: Perforating agents (read-only).  Only the listed ions are taken from the
#: pipette for reversal potentials; the others need ``inside_override_mm``.
PERFORATING_AGENTS: Mapping[str, PerforatingAgent] = MappingProxyType({
    a.name: a
    for a in (
        PerforatingAgent(
            "gramicidin", _MONOVALENT_CATIONS, (), False,
            "gramicidin channels pass small monovalent cations only: Cl-, divalent cations and "
            "all anions keep their cytoplasmic concentrations (Kyrozis & Reichling 1995, "
            "J Neurosci Methods 57:27; Akaike 1996)",
        ),
        PerforatingAgent(
            "amphotericin", _MONOVALENT_CATIONS, ("Cl-",), False,
            "amphotericin B pores pass monovalent cations and Cl-, not divalent cations or "
            "large anions (Rae et al. 1991, J Neurosci Methods 37:15; Horn & Marty 1988)",
        ),
        PerforatingAgent(
            "nystatin", _MONOVALENT_CATIONS, ("Cl-",), False,
            "nystatin pores pass monovalent cations and Cl-, not divalent cations or large "
            "anions (Horn & Marty 1988, J Gen Physiol 92:145)",
        ),
        PerforatingAgent(
            "escin", (), (), True,
            "beta-escin makes large pores that pass ions and small molecules: every ion of the "
            "pipette solution is taken to equilibrate (Fan & Palade 1998, Pflugers Arch 436:1021)",
        ),
    )
})


def _get_agent(agent: str | None, configuration: Configuration) -> PerforatingAgent | None:
    if agent is None:
        return None
    if configuration.name != "perforated":
        raise ParameterError(
            f"Invalid value for the 'perforating_agent' parameter: {agent!r} was given with "
            f"configuration={configuration.name!r}; a perforating agent only applies to "
            "configuration='perforated'."
        )
    if not isinstance(agent, str) or agent.strip().lower() not in PERFORATING_AGENTS:
        raise ParameterError(
            f"Invalid value for the 'perforating_agent' parameter. Allowed values are None, "
            f"{', '.join(map(repr, PERFORATING_AGENTS))}, but got {agent!r} instead."
            + (suggest(agent, PERFORATING_AGENTS) if isinstance(agent, str) else "")
        )
    key = agent.strip().lower()
    return PERFORATING_AGENTS["amphotericin" if key == "amphotericin b" else key]


# =============================================================================
# the one function that applies the LJP
# =============================================================================


def _finite(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise ParameterError(f"Invalid value for the {name!r} parameter: expected a number, got {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"Invalid value for the {name!r} parameter: expected a number (mV), got {value!r}."
        ) from None
    if not math.isfinite(v):
        raise ParameterError(f"Invalid value for the {name!r} parameter: got {value!r}; it must be finite.")
    return v


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"Invalid value for the {name!r} parameter: expected True or False, got {value!r}.")
    return bool(value)


def _as_float_array(x: Any, name: str):
    scalar = np.ndim(x) == 0
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"Invalid value for the {name!r} parameter: expected numbers, got {x!r}.") from None
    return arr, scalar


def apply_ljp(
    recorded_mv,
    *,
    ljp_mv: float,
    configuration: str | Configuration,
    delta_ref_mv=0.0,
    ljp_applied_online_mv: float = 0.0,
    polarity_inverted_at_acquisition: bool = False,
    resting_potential_mv: float | None = None,
):
    """Membrane potential from a recorded potential (the only place V_L is applied).

    ::

        V_p = -V_rec if polarity_inverted_at_acquisition else V_rec
        V_m = s_V * (V_p - (ljp_mv - ljp_applied_online_mv) - delta_ref_mv)
        cell-attached: V_m = V_rest + s_V * (...)  (s_V = -1)

    Parameters
    ----------
    recorded_mv : float or array_like
        Recorded potential (pipette potential, command or holding level), mV.
    ljp_mv : float
        ``V_L = V(bath) - V(pipette)`` at zeroing, mV (JPCalc/LJPcalc sign).
        A *measured* junction (pipette zeroed in the internal, bath switched
        to the external) reads ``-V_L``: negate it before passing it here.
    configuration : str or Configuration
        A key of :data:`CONFIGURATIONS`.
    delta_ref_mv : float or array_like
        Change of the bath/reference potential after a bath exchange
        (:attr:`ephys_correct.ljp.BathChange.delta_ref_mv`); broadcast
        against *recorded_mv* (per sample for a time-based schedule).
    ljp_applied_online_mv : float
        Part of V_L the amplifier already subtracted online (HEKA "LJ"), in
        the same sign convention; only the remainder is subtracted here.
    polarity_inverted_at_acquisition : bool
        True when the acquisition software already inverted the recorded
        potential (HEKA in on-cell / inside-out mode); it is undone first,
        so the configuration's sign is never applied twice.
    resting_potential_mv : float, optional
        Cell-attached only: the cell's resting potential.  Without it the
        result is the patch potential relative to rest, ``V_m - V_rest``.

    Returns
    -------
    float or numpy.ndarray
        Membrane potential ``V_in - V_out`` in mV (a float for a scalar input).

    Raises
    ------
    ParameterError
        Non-finite parameters, unknown configuration, or a resting
        potential given for a configuration other than cell-attached.

    Examples
    --------
    LJPcalc's worked example (AxoBits 39 solutions, V_L = +16.05 mV):

    >>> round(apply_ljp(-48.13, ljp_mv=16.05, configuration="whole-cell"), 2)
    -64.18
    """
    cfg = get_configuration(configuration)
    vl = _finite(ljp_mv, "ljp_mv")
    online = _finite(ljp_applied_online_mv, "ljp_applied_online_mv")
    inverted = _flag(polarity_inverted_at_acquisition, "polarity_inverted_at_acquisition")
    rest = _resting_potential(resting_potential_mv, cfg)
    v, scalar = _as_float_array(recorded_mv, "recorded_mv")
    d, d_scalar = _as_float_array(delta_ref_mv, "delta_ref_mv")
    if not np.all(np.isfinite(d)):
        raise ParameterError("Invalid value for the 'delta_ref_mv' parameter: it must be finite.")
    vp = -v if inverted else v
    out = cfg.voltage_sign * (vp - (vl - online) - d)
    if rest is not None:
        out = out + rest
    if scalar and d_scalar:
        return float(out)
    return np.asarray(out, dtype=np.float64)


def apply_current_sign(
    recorded_pa,
    configuration: str | Configuration,
    polarity_inverted_at_acquisition: bool = False,
):
    """Membrane current (outward positive) from a recorded pipette current.

    ``I_p = -I_rec if polarity_inverted_at_acquisition else I_rec``, then
    ``I_m = s_I * I_p`` with the configuration's current sign (+1 whole-cell,
    perforated, outside-out; -1 inside-out, cell-attached).  Values are
    otherwise unchanged (same units).

    Parameters
    ----------
    recorded_pa : float or array_like
        Recorded current (any current unit; pA in this package).
    configuration : str or Configuration
    polarity_inverted_at_acquisition : bool
        True when the acquisition software already inverted the current.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    An inward (negative membrane) current of 20 pA flows *out of* an
    inside-out pipette, which records +20 pA:

    >>> apply_current_sign(20.0, "inside-out")
    -20.0
    """
    cfg = get_configuration(configuration)
    inverted = _flag(polarity_inverted_at_acquisition, "polarity_inverted_at_acquisition")
    arr, scalar = _as_float_array(recorded_pa, "recorded_pa")
    sign = cfg.current_sign * (-1 if inverted else 1)
    out = sign * arr
    return float(out) if scalar else np.asarray(out, dtype=np.float64)


# =============================================================================
# corrected recordings
# =============================================================================


@dataclass(frozen=True)
class HeadstageCorrection:
    """The LJP applied to one headstage.

    Attributes
    ----------
    headstage : int or None
        None for the single entry used when the recording has no headstage.
    pipette : Solution
    ljp_mv : float
        Total V_L (bath relative to pipette) at zeroing, mV.
    ljp_applied_online_mv : float
        Part already subtracted by the amplifier.
    ljp_source : {"computed", "user"}
    ljp : LJPResult or None
        The computation (None when the value came from the user).
    """

    headstage: int | None
    pipette: Any
    ljp_mv: float
    ljp_applied_online_mv: float
    ljp_source: str
    ljp: Any = None

    @property
    def applied_offline_mv(self) -> float:
        """``ljp_mv - ljp_applied_online_mv``: the part subtracted here."""
        return self.ljp_mv - self.ljp_applied_online_mv

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "headstage": self.headstage,
            "pipette": _solution_summary(self.pipette),
            "ljp_mv": self.ljp_mv,
            "ljp_applied_online_mv": self.ljp_applied_online_mv,
            "ljp_applied_offline_mv": self.applied_offline_mv,
            "ljp_source": self.ljp_source,
            "ljp": None if self.ljp is None else self.ljp.as_dict(),
        }


@dataclass(frozen=True)
class SignalCorrection:
    """What was done to one channel (ADC) or one command (DAC).

    Attributes
    ----------
    signal : {"channel", "dac"}
    index : int
        Channel index or DAC number.
    name, units : str
    kind : str
        Channel kind (``"membrane_potential"``, ``"current"``, ``"command"``,
        ``"other"``) or ``"command"`` for a DAC.
    headstage : int or None
    quantity : {"potential", "current", "none"}
        What the correction treated the signal as.
    voltage_sign, current_sign : int or None
        Sign applied (after undoing an acquisition inversion).
    ljp_mv, ljp_applied_online_mv, offset_mv : float or None
        Potentials: the total V_L, its online part, and ``offset_mv =
        ljp_mv - ljp_applied_online_mv`` (subtracted before the sign).
    bath_change : {"none", "constant", "per sweep", "piecewise in time"}
    resting_potential_mv : float or None
    polarity_inverted_at_acquisition : bool
    formula : str
    note : str
        Why a signal was left unchanged, or a caveat.
    """

    signal: str
    index: int
    name: str
    units: str
    kind: str
    headstage: int | None
    quantity: str
    voltage_sign: int | None = None
    current_sign: int | None = None
    ljp_mv: float | None = None
    ljp_applied_online_mv: float | None = None
    offset_mv: float | None = None
    bath_change: str = "none"
    resting_potential_mv: float | None = None
    polarity_inverted_at_acquisition: bool = False
    formula: str = "unchanged"
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return dict(self.__dict__)


def _identity_differs(identity: Mapping[str, Any], sol) -> bool:
    """True when a recorded :meth:`Solution.identity` is not *sol*'s (names ignored)."""
    mine = sol.identity()
    return any(identity.get(k) != mine[k] for k in ("source_sha256", "composition_sha256", "derived_from"))


def _solution_summary(sol) -> dict[str, Any]:
    return {
        "name": sol.name,
        **sol.identity(),
        "path": sol.path,
        "source": sol.source,
        "role": sol.role,
        "ions_mM": {k: float(v) for k, v in sol.ions_mm.items()},
        "neutrals_mM": {k: float(v) for k, v in sol.neutrals_mm.items()},
        # [additives] of the recipe (drugs, dyes): each with how it was counted
        **({"additives": [dict(r) for r in sol.additives]} if getattr(sol, "additives", ()) else {}),
    }


@dataclass(frozen=True, eq=False)
class CorrectedRecording:
    """A recording with every potential LJP-corrected (immutable; the original is untouched).

    Create with :func:`correct_recording`.  Data are corrected when read:
    :meth:`sweep_data` returns corrected values in the channel's units,
    :meth:`raw_sweep_data` the values of the file.

    Attributes
    ----------
    recording : Recording
        The original recording (unchanged).
    configuration : Configuration
    temperature_c : float
        Recording temperature (reversal potentials).
    zeroing_temperature_c : float
        Temperature at which the offset was zeroed (LJP).
    bath : Solution
        The bath in which the pipette offset was zeroed.
    headstage_corrections : Mapping[int, HeadstageCorrection]
        Per headstage (key None when the recording has none).
    channel_corrections : tuple of SignalCorrection
        Per channel, what was applied.
    command_corrections : tuple of SignalCorrection
        Per DAC, what was applied to the holding level and command.
    bath_change : BathSchedule, BathChange or None
    perforating_agent : PerforatingAgent or None
    polarity_inverted_at_acquisition : bool
    resting_potential_mv : float or None
    activity_model : str
        Activity model of the reversal potentials (and of the report).
    ljp_method : str
    ljp_activity_model : str or None
    free_ions : bool
        Reversal potentials from free (speciated) concentrations.
    inside_override_mm : Mapping[str, float]
        User cytoplasmic concentrations (perforated / cell-attached).
    provenance : dict
        Everything needed to reproduce the correction (a JSON-ready dict; a
        fresh copy on every access, so the record cannot be altered).
    """

    recording: Any
    configuration: Configuration
    temperature_c: float
    zeroing_temperature_c: float
    bath: Any
    headstage_corrections: Mapping[Any, HeadstageCorrection]
    channel_corrections: tuple[SignalCorrection, ...]
    command_corrections: tuple[SignalCorrection, ...]
    bath_change: Any
    perforating_agent: PerforatingAgent | None
    polarity_inverted_at_acquisition: bool
    resting_potential_mv: float | None
    activity_model: str
    ljp_method: str
    ljp_activity_model: str | None
    free_ions: bool
    inside_override_mm: Mapping[str, float]
    _provenance_data: Any = field(repr=False)
    _new_bath: Any = field(default=None, repr=False)

    @property
    def provenance(self) -> dict[str, Any]:
        """The provenance record (a new dict on each access).

        Built when the correction is made; turned into JSON-ready data only on
        first access (batch runs that never read it do not pay for it).
        """
        cached = self.__dict__.get("_provenance_json")
        if cached is None:
            cached = json.dumps(_jsonable(self._provenance_data), sort_keys=False)
            object.__setattr__(self, "_provenance_json", cached)
        return json.loads(cached)

    def __repr__(self) -> str:
        return (f"CorrectedRecording({os.path.basename(self.recording.path)!r}, "
                f"configuration={self.configuration.name!r}, ljp_mv={self._ljp_summary()})")

    def _ljp_summary(self) -> str:
        vals = sorted({round(h.ljp_mv, 4) for h in self.headstage_corrections.values()})
        return ", ".join(f"{v:+.4g}" for v in vals)

    # ------------------------------------------------------------------ recording facts
    def _sweep(self, sweep: int) -> int:
        """Validated sweep index (negative counts from the end)."""
        n = self.recording.n_sweeps
        if isinstance(sweep, (bool, np.bool_)) or not isinstance(sweep, (int, np.integer)):
            raise ParameterError(f"{self.recording.path}: sweep must be an integer, got {sweep!r}")
        s = int(sweep) + (n if sweep < 0 else 0)
        if not 0 <= s < n:
            raise ParameterError(f"{self.recording.path}: sweep {sweep} out of range (0..{n - 1})")
        return s

    @property
    def channels(self):
        """The recording's channels (units unchanged by the correction)."""
        return self.recording.channels

    @property
    def n_sweeps(self) -> int:
        """Number of sweeps."""
        return self.recording.n_sweeps

    @property
    def sample_rate_hz(self) -> float:
        """Samples per second per channel."""
        return self.recording.sample_rate_hz

    @property
    def path(self) -> str:
        """Path of the input file."""
        return self.recording.path

    @property
    def headstages(self):
        """The recording's headstages."""
        return self.recording.headstages

    def sweep_times(self, sweep: int = 0, *, absolute: bool = False) -> np.ndarray:
        """Sample times in s (see :meth:`Recording.sweep_times`)."""
        return self.recording.sweep_times(sweep, absolute=absolute)

    # ------------------------------------------------------------------ LJP
    @property
    def ljp_mv_by_headstage(self) -> Mapping[Any, float]:
        """Headstage -> total V_L (mV)."""
        return MappingProxyType({k: h.ljp_mv for k, h in self.headstage_corrections.items()})

    @property
    def ljp_mv(self) -> float:
        """The effective total LJP V_L (mV, bath relative to pipette) of the correction.

        The corrected data are free of this whole V_L: its online part
        (``ljp_applied_online_mv``) was subtracted by the amplifier, the rest
        here.  Bath-change offsets are separate (:meth:`delta_ref_mv`).

        Raises
        ------
        ParameterError
            If the headstages have different LJPs (paired recordings with
            different pipette solutions); use :attr:`ljp_mv_by_headstage`.
        """
        vals = {h.ljp_mv for h in self.headstage_corrections.values()}
        if len(vals) != 1:
            raise ParameterError(
                f"{self.recording.path}: the headstages have different LJPs "
                f"({dict(self.ljp_mv_by_headstage)}); use ljp_mv_by_headstage."
            )
        return vals.pop()

    @property
    def ljp(self):
        """The :class:`~ephys_correct.ljp.LJPResult` (None when the LJP came from the user).

        Raises
        ------
        ParameterError
            If the headstages have different LJPs; use :attr:`headstage_corrections`.
        """
        self.ljp_mv  # raises when the headstages differ
        return next(iter(self.headstage_corrections.values())).ljp

    def _hc_for(self, sc: SignalCorrection) -> HeadstageCorrection:
        # a potential of no headstage is corrected only when all headstages share one LJP
        if sc.headstage in self.headstage_corrections:
            return self.headstage_corrections[sc.headstage]
        return next(iter(self.headstage_corrections.values()))

    def headstage_correction(self, headstage: int | None) -> HeadstageCorrection:
        """The :class:`HeadstageCorrection` of *headstage*."""
        if headstage in self.headstage_corrections:
            return self.headstage_corrections[headstage]
        if None in self.headstage_corrections and len(self.headstage_corrections) == 1:
            return self.headstage_corrections[None]
        raise ParameterError(
            f"{self.recording.path}: no headstage {headstage!r}; headstages: "
            f"{sorted(k for k in self.headstage_corrections if k is not None)}."
        )

    def pipette(self, headstage: int | None = None):
        """Pipette solution of *headstage*."""
        if headstage is None:
            sols = {h.pipette.identity_key: h.pipette for h in self.headstage_corrections.values()}
            if len(sols) == 1:
                return next(iter(sols.values()))
            raise ParameterError(f"{self.recording.path}: the pipette differs per headstage; give headstage=")
        return self.headstage_correction(headstage).pipette

    # ------------------------------------------------------------------ bath changes
    def _schedule_axis(self) -> str:
        from .ljp import BathChange

        if self.bath_change is None:
            return "none"
        if isinstance(self.bath_change, BathChange):
            return "constant"
        return "per sweep" if self.bath_change.axis == "sweep" else "piecewise in time"

    def delta_ref_mv(self, sweep: int, *, start: int = 0, stop: int | None = None):
        """Bath-change offset ``delta_ref`` (mV) in effect during *sweep*.

        A float, or for a time-based :class:`~ephys_correct.ljp.BathSchedule`
        an array with one value per sample of ``sweep_data(sweep, ...,
        start=start, stop=stop)``; the schedule's times are seconds from the
        start of the recording.
        """
        axis = self._schedule_axis()
        if axis == "none":
            return 0.0
        if axis == "constant":
            return float(self.bath_change.delta_ref_mv)
        sched = self.bath_change
        if axis == "per sweep":
            return float(sched.offset_mv(sweep=self._sweep(sweep)))
        t = self.recording.sweep_times(sweep, absolute=True)[slice(start, stop)]
        return _piecewise(sched, t, self.recording.path)

    def bath_at(self, sweep: int, time_s: float | None = None):
        """The bath solution in the chamber during *sweep* (at *time_s* from the recording start).

        Returns None when the bath is not known (a single
        :class:`~ephys_correct.ljp.BathChange` whose new bath is not a
        solutions_db recipe).
        """
        axis = self._schedule_axis()
        if axis == "none":
            return self.bath
        if axis == "constant":
            return self._new_bath
        sched = self.bath_change
        if axis == "per sweep":
            step = sched.step_for(sweep=self._sweep(sweep))
        else:
            if time_s is None:
                time_s = float(self.recording.sweep_start_s[self._sweep(sweep)]
                               + self.recording.t_start_s)
            step = sched.step_for(time_s=float(time_s))
        k = sched.steps.index(step)
        return sched.entries[k][1]

    # ------------------------------------------------------------------ data
    def raw_sweep_data(self, sweep: int, channel: int | str, *, start: int = 0,
                       stop: int | None = None) -> np.ndarray:
        """Uncorrected values of one sweep of one channel (as read from the file)."""
        return self.recording.sweep_data(sweep, channel, start=start, stop=stop)

    def sweep_data(self, sweep: int, channel: int | str, *, start: int = 0,
                   stop: int | None = None) -> np.ndarray:
        """Corrected values of one sweep of one channel, in the channel's units.

        Potentials (mV): :func:`apply_ljp` with the headstage's LJP.
        Currents: :func:`apply_current_sign`.  Other signals: unchanged.
        See :attr:`channel_corrections`.
        """
        c = self.recording.channel_index(channel)
        raw = self.recording.sweep_data(sweep, c, start=start, stop=stop)
        return self._apply(self.channel_corrections[c], raw, sweep, start, stop)

    def _apply(self, sc: SignalCorrection, raw: np.ndarray, sweep: int, start: int, stop: int | None):
        if sc.quantity == "potential":
            hc = self._hc_for(sc)
            delta = self.delta_ref_mv(sweep, start=start, stop=stop)
            return apply_ljp(raw, ljp_mv=hc.ljp_mv, configuration=self.configuration, delta_ref_mv=delta,
                             ljp_applied_online_mv=hc.ljp_applied_online_mv,
                             polarity_inverted_at_acquisition=self.polarity_inverted_at_acquisition,
                             resting_potential_mv=self.resting_potential_mv)
        if sc.quantity == "current":
            return apply_current_sign(raw, self.configuration, self.polarity_inverted_at_acquisition)
        return raw

    def has_command(self, dac: int) -> bool:
        """True when :meth:`command` can return a waveform for *dac*."""
        return self.recording.has_command(dac)

    def command(self, sweep: int, dac: int) -> np.ndarray:
        """Corrected command waveform (holding + steps) of one DAC, in its units.

        A voltage command is corrected like any potential (a protocol whose
        steps were deliberately pre-shifted by the experimenter is an ordinary
        command and gets the ordinary correction); a current command gets the
        configuration's current sign.  See :attr:`command_corrections`.

        Raises
        ------
        CommandUnavailableError
            The file stores no command for this DAC.
        """
        raw = self.recording.command(sweep, dac)
        d = int(dac)
        return self._apply(self.command_corrections[d], raw, sweep, 0, None)

    def holding_at(self, sweep: int = 0):
        """Corrected holding levels (tuple of :class:`~ephys_correct.io.Holding`) at the start of *sweep*."""
        out = []
        for h, sc in zip(self.recording.holding, self.command_corrections):
            v = h.value
            if sc.quantity == "potential" and np.isfinite(v):
                start_delta = self.delta_ref_mv(sweep, start=0, stop=1)
                if np.ndim(start_delta):
                    start_delta = float(start_delta[0])
                hc = self._hc_for(sc)
                v = apply_ljp(v, ljp_mv=hc.ljp_mv, configuration=self.configuration, delta_ref_mv=start_delta,
                              ljp_applied_online_mv=hc.ljp_applied_online_mv,
                              polarity_inverted_at_acquisition=self.polarity_inverted_at_acquisition,
                              resting_potential_mv=self.resting_potential_mv)
            elif sc.quantity == "current" and np.isfinite(v):
                v = apply_current_sign(v, self.configuration, self.polarity_inverted_at_acquisition)
            out.append(replace(h, value=float(v)))
        return tuple(out)

    @property
    def holding(self):
        """Corrected holding levels per DAC (at the start of sweep 0); see :meth:`holding_at`."""
        return self.holding_at(0)

    # ------------------------------------------------------------------ membrane potential
    def _window(self, sweep: int, window_s) -> tuple[int, int, str]:
        rec = self.recording
        s = self._sweep(sweep)
        n = rec.sweep_lengths[s]
        if window_s is None:
            return 0, n, "whole sweep"
        try:
            t0, t1 = (float(window_s[0]), float(window_s[1]))
        except (TypeError, ValueError, IndexError):
            raise ParameterError(
                f"Invalid value for the 'window_s' parameter: expected (t_start_s, t_end_s), got {window_s!r}."
            ) from None
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
            raise ParameterError(
                f"Invalid value for the 'window_s' parameter: got {window_s!r}; need finite t_start_s < t_end_s."
            )
        fs = rec.sample_rate_hz
        i0 = int(math.ceil((t0 - rec.t_start_s) * fs - 1e-9))
        i1 = int(math.ceil((t1 - rec.t_start_s) * fs - 1e-9))
        i0, i1 = max(i0, 0), min(i1, n)
        if i1 <= i0:
            dur = n / fs
            raise ParameterError(
                f"{rec.path}: window_s={window_s!r} holds no sample of sweep {sweep} "
                f"(sweep is {dur:g} s long from t={rec.t_start_s:g} s)."
            )
        return i0, i1, f"{t0:g}-{t1:g} s"

    def headstage_clamp_mode(self, headstage: int) -> str:
        """Clamp mode of *headstage* (raises :class:`ClampModeError` when the file does not establish it)."""
        for h in self.recording.headstages:
            if h.index == headstage:
                return h.clamp_mode
        raise ParameterError(
            f"{self.recording.path}: no headstage {headstage!r}; headstages: "
            f"{[h.index for h in self.recording.headstages]}."
        )

    def _headstage(self, headstage: int):
        for h in self.recording.headstages:
            if h.index == headstage:
                return h
        raise ParameterError(
            f"{self.recording.path}: no headstage {headstage!r}; headstages: "
            f"{[h.index for h in self.recording.headstages]}."
        )

    def membrane_potential(self, sweep: int, headstage: int = 0, *, statistic: str = "mean",
                           window_s=None) -> tuple[float, str]:
        """Corrected membrane potential of one headstage over a window of a sweep.

        Current clamp / I=0: the *statistic* of the corrected membrane-
        potential trace.  Voltage clamp: the *statistic* of the corrected
        command (holding + command waveform) over the window; when the file
        stores no command, a recorded voltage monitor, else the corrected
        holding level.  Series-resistance error (I x R_s) is not included.

        Parameters
        ----------
        sweep : int
        headstage : int
        statistic : {"mean", "median"}
        window_s : (float, float), optional
            Start and end, s from the start of the sweep; default the whole sweep.

        Returns
        -------
        value_mv : float
        description : str
            Where the value came from (signal, statistic, window; cell-attached
            without a resting potential: says the value is relative to rest).

        Raises
        ------
        ClampModeError
            The file does not establish the headstage's clamp mode (read it
            with ``clamp_mode=``).
        ParameterError
            Unknown statistic, empty window, or no signal to take V_m from.
        """
        if statistic not in STATISTICS:
            raise ParameterError(
                f"Invalid value for the 'statistic' parameter. Allowed values are "
                f"{', '.join(map(repr, STATISTICS))}, but got {statistic!r} instead."
            )
        hs = self._headstage(headstage)
        mode = hs.clamp_mode
        i0, i1, wdesc = self._window(sweep, window_s)
        stat = np.mean if statistic == "mean" else np.median
        rel = ""
        if self.configuration.needs_resting_potential and self.resting_potential_mv is None:
            rel = "; relative to the resting potential (cell-attached, no resting_potential_mv)"
        vm_channels = [c for c in hs.channels
                       if self.recording.channels[c].kind == "membrane_potential"
                       and self.channel_corrections[c].quantity == "potential"]
        if mode in ("current_clamp", "i_zero"):
            if not vm_channels:
                raise ParameterError(
                    f"{self.recording.path}: headstage {headstage} is in {mode} but has no "
                    "membrane-potential channel to take V_m from."
                )
            c = vm_channels[0]
            data = self.sweep_data(sweep, c, start=i0, stop=i1)
            name = self.recording.channels[c].name
            return float(stat(data)), f"{statistic} of corrected trace '{name}' ({mode}, {wdesc}){rel}"
        # voltage clamp
        dac = hs.dac
        voltage_dac = (dac is not None and dac < len(self.command_corrections)
                       and self.command_corrections[dac].quantity == "potential")
        if voltage_dac and self.recording.has_command(dac):
            from .io import CommandUnavailableError

            try:
                cmd = self.command(sweep, dac)[i0:i1]
            except CommandUnavailableError:
                cmd = None
            if cmd is not None:
                dname = self.recording.holding[dac].name
                return (float(stat(cmd)),
                        f"{statistic} of corrected command DAC {dac} '{dname}' (voltage_clamp, {wdesc}){rel}")
        if vm_channels:
            c = vm_channels[0]
            data = self.sweep_data(sweep, c, start=i0, stop=i1)
            name = self.recording.channels[c].name
            return (float(stat(data)),
                    f"{statistic} of corrected voltage monitor '{name}' (voltage_clamp, no command "
                    f"waveform in the file, {wdesc}){rel}")
        if voltage_dac:
            h = self.holding_at(sweep)[dac]
            if np.isfinite(h.value):
                return (float(h.value),
                        f"corrected holding level of DAC {dac} (voltage_clamp, command waveform "
                        f"unavailable){rel}")
        raise ParameterError(
            f"{self.recording.path}: headstage {headstage} is in voltage clamp but the file holds "
            "no command, voltage monitor or holding level to take V_m from."
        )

    # ------------------------------------------------------------------ export
    def describe(self) -> dict[str, Any]:
        """JSON-ready summary: the provenance plus the per-signal corrections."""
        d = dict(self.provenance)
        d["channel_corrections"] = [c.as_dict() for c in self.channel_corrections]
        d["command_corrections"] = [c.as_dict() for c in self.command_corrections]
        return d

    def to_neo(self, *, sweeps: Sequence[int] | None = None, channels: Sequence[int | str] | None = None):
        """The corrected data as a ``neo.Block`` (one Segment per sweep).

        The provenance is in ``block.annotations["ephys_correct"]`` (JSON).
        """
        import neo
        import quantities as pq

        rec = self.recording
        sw = [self._sweep(s) for s in (range(rec.n_sweeps) if sweeps is None else sweeps)]
        ch = [rec.channel_index(c) for c in (range(rec.n_channels) if channels is None else channels)]
        block = neo.Block(name=os.path.basename(rec.path), file_origin=rec.path, rec_datetime=rec.start_time,
                          description="LJP-corrected by ephys_correct")
        block.annotate(ephys_correct=json.dumps(_jsonable(self.provenance)))
        for s in sw:
            seg = neo.Segment(name=f"sweep {s}", index=s)
            t0 = (rec.sweep_start_s[s] + rec.t_start_s) * pq.s
            for c in ch:
                chan = rec.channels[c]
                try:
                    u = pq.Quantity(1.0, chan.units or "dimensionless").units
                except (LookupError, ValueError):
                    u = pq.dimensionless
                sig = neo.AnalogSignal(self.sweep_data(s, c)[:, None], units=u,
                                       sampling_rate=rec.sample_rate_hz * pq.Hz, t_start=t0, name=chan.name)
                sig.annotate(correction=self.channel_corrections[c].formula)
                seg.analogsignals.append(sig)
            block.segments.append(seg)
        return block


def _piecewise(schedule, t: np.ndarray, path: str) -> np.ndarray:
    starts = np.array([s.start for s in schedule.steps], dtype=float)
    offs = np.array([s.change.delta_ref_mv for s in schedule.steps], dtype=float)
    k = np.searchsorted(starts, t, side="right") - 1
    if len(k) and k.min() < 0:
        raise ParameterError(
            f"{path}: samples at t={float(t[0]):g} s precede the first bath of the schedule "
            f"(starts at {starts[0]:g} s from the start of the recording)."
        )
    return offs[k]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# =============================================================================
# correct_recording
# =============================================================================


def _is_headstage_mapping(obj: Any) -> bool:
    return (isinstance(obj, Mapping) and len(obj) > 0
            and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in obj))


def _per_headstage(value: Any, name: str, headstages: list[int], conv) -> dict[int | None, Any]:
    """Expand a scalar or a headstage mapping to {headstage: value}."""
    keys: list[int | None] = list(headstages) if headstages else [None]
    if _is_headstage_mapping(value):
        extra = sorted(set(int(k) for k in value) - set(headstages))
        if extra:
            raise ParameterError(
                f"Invalid value for the {name!r} parameter: headstage(s) {extra} do not exist; "
                f"the recording has headstages {headstages}."
            )
        missing = [h for h in headstages if h not in {int(k) for k in value}]
        if missing:
            raise ParameterError(
                f"Invalid value for the {name!r} parameter: no value for headstage(s) {missing}; "
                f"give one per headstage {headstages} (or a single value for all)."
            )
        return {h: conv(value[h], f"{name}[{h}]") for h in headstages}
    v = conv(value, name)
    return {k: v for k in keys}


def _resting_potential(resting_potential_mv: Any, cfg: "Configuration") -> float | None:
    """Validated resting potential (mV), accepted only where the configuration needs it."""
    if resting_potential_mv is None:
        return None
    if not cfg.needs_resting_potential:
        raise ParameterError(
            f"Invalid value for the 'resting_potential_mv' parameter: {resting_potential_mv!r} "
            f"was given for configuration={cfg.name!r}; only cell-attached recordings need the "
            "resting potential."
        )
    return _finite(resting_potential_mv, "resting_potential_mv")


def _check_activity_model(model: Any) -> str:
    if not isinstance(model, str) or not model:
        raise ParameterError(
            f"Invalid value for the 'activity_model' parameter: expected a model name such as "
            f"'truesdell-jones', got {model!r}."
        )
    return model


def correct_recording(
    recording,
    *,
    pipette,
    bath,
    temperature_c: float,
    configuration: str = "whole-cell",
    ljp_method: str = "henderson",
    ljp_mv=None,
    ljp_applied_online_mv=0.0,
    bath_change=None,
    perforating_agent: str | None = None,
    polarity_inverted_at_acquisition: bool = False,
    zeroing_temperature_c: float | None = None,
    resting_potential_mv: float | None = None,
    activity_model: str = "truesdell-jones",
    free_ions: bool = False,
    inside_override_mm: Mapping[str, float] | None = None,
    ljp_activity_model: str | None = None,
    clamp_mode=None,
) -> CorrectedRecording:
    """LJP-correct every potential of a recording.

    Parameters
    ----------
    recording : Recording or path
        A :class:`~ephys_correct.io.Recording`, or a file path
        (read with :func:`~ephys_correct.io.read_recording`).
    pipette : solution or Mapping[int, solution]
        The pipette solution (anything :func:`~ephys_correct.solutions.as_solution`
        accepts), or a mapping headstage -> solution (paired recordings, one
        pipette per headstage; every headstage needs one).
    bath : solution
        The bath in which the pipette offset was zeroed.
    temperature_c : float
        Recording temperature, degC (reversal potentials).
    configuration : str
        A key of :data:`CONFIGURATIONS` (``"whole-cell"``, ``"perforated"``,
        ``"outside-out"``, ``"inside-out"``, ``"cell-attached"``).
    ljp_method : {"henderson", "nernst-planck"}
    ljp_mv : float or Mapping[int, float], optional
        User-supplied V_L (bath relative to pipette, mV) overriding the
        computation (per headstage with a mapping); recorded as source
        ``"user"``.  A *measured* junction reads -V_L: negate it first.
    ljp_applied_online_mv : float or Mapping[int, float]
        The part of V_L already applied online by the amplifier (HEKA LJ),
        same sign convention.  Must be 0 when *bath_change* is given.
    bath_change : BathSchedule or BathChange, optional
        Bath exchange(s) after zeroing (:mod:`ephys_correct.ljp`).  A
        :class:`~ephys_correct.ljp.BathChange` applies to the whole recording;
        a sweep-indexed :class:`~ephys_correct.ljp.BathSchedule` per sweep; a
        time-indexed schedule (seconds from the start of the recording)
        piecewise in time, sample by sample.  Its zeroing bath must be *bath*.
    perforating_agent : {None, "gramicidin", "amphotericin", "nystatin", "escin"}
        Perforated patch only: which ions equilibrate with the pipette
        (:data:`PERFORATING_AGENTS`).  None: reversal potentials are reported
        unknown.
    polarity_inverted_at_acquisition : bool
        The acquisition software inverted voltages and currents (HEKA on-cell /
        inside-out modes); undone before the configuration's signs.
    zeroing_temperature_c : float, optional
        Temperature at zeroing, for the LJP (default *temperature_c*).
    resting_potential_mv : float, optional
        Cell-attached only: the resting potential, for an absolute V_m.
    activity_model : str
        Activity model of the reversal potentials.
    free_ions : bool
        Reversal potentials from free concentrations (speciation) instead of
        totals.
    inside_override_mm : Mapping[str, float], optional
        Cytoplasmic concentrations (mM) for ions the solutions do not define:
        perforated (e.g. ``{"Cl-": 12}`` with gramicidin) or cell-attached.
    ljp_activity_model : str or None
        Activity model of the Henderson LJP; None (default) uses
        concentrations, as JPCalc and LJPcalc do.
    clamp_mode : optional
        Passed to :func:`~ephys_correct.io.read_recording` when *recording* is a path.

    Returns
    -------
    CorrectedRecording

    Raises
    ------
    ParameterError
        Unknown configuration or agent, an agent for a non-perforated
        configuration, an online LJP combined with a bath change, a resting
        potential for a configuration other than cell-attached, a pipette
        mapping that does not match the headstages, a bath change whose
        zeroing bath is not *bath*.
    """
    from .io import Recording, read_recording
    from .ljp import METHODS, BathChange, BathSchedule, liquid_junction_potential
    from .solutions import as_solution

    cfg = get_configuration(configuration)
    t_rec = check_temperature_c(temperature_c)
    t_zero = t_rec if zeroing_temperature_c is None else check_temperature_c(zeroing_temperature_c)
    agent = _get_agent(perforating_agent, cfg)
    check_option("ljp_method", ljp_method, METHODS)
    activity_model = _check_activity_model(activity_model)
    inverted = _flag(polarity_inverted_at_acquisition, "polarity_inverted_at_acquisition")
    free_ions = _flag(free_ions, "free_ions")
    rest = _resting_potential(resting_potential_mv, cfg)

    # --- the recording
    if isinstance(recording, Recording):
        rec = recording
        if clamp_mode is not None:
            raise ParameterError(
                "Invalid value for the 'clamp_mode' parameter: it only applies when 'recording' is a "
                "path; read the file with read_recording(path, clamp_mode=...) instead."
            )
    elif isinstance(recording, (str, os.PathLike)):
        rec = read_recording(recording, clamp_mode=clamp_mode)
    else:
        raise ParameterError(
            f"Invalid value for the 'recording' parameter: expected a Recording or a file path, "
            f"got {type(recording).__name__}."
        )
    hs_ids = [h.index for h in rec.headstages]

    # --- solutions
    bath_sol = bath if _is_solution(bath) else as_solution(bath, name="bath") if isinstance(bath, Mapping) \
        else as_solution(bath)
    if _is_headstage_mapping(pipette):
        pipettes = _per_headstage(pipette, "pipette", hs_ids, lambda v, n: _as_sol(v, n, as_solution))
        if not hs_ids:
            raise ParameterError(
                f"Invalid value for the 'pipette' parameter: a mapping headstage -> solution was given "
                f"but {rec.path} has no headstage; give a single solution."
            )
    else:
        sol = _as_sol(pipette, "pipette", as_solution)
        pipettes = {k: sol for k in (hs_ids or [None])}

    # --- LJP per headstage
    if ljp_mv is not None:
        user_ljp = _per_headstage(ljp_mv, "ljp_mv", hs_ids, _finite)
    else:
        user_ljp = None
    online = _per_headstage(ljp_applied_online_mv, "ljp_applied_online_mv", hs_ids, _finite)

    # --- bath change
    new_bath = None
    if bath_change is not None:
        if any(v != 0.0 for v in online.values()):
            raise ParameterError(
                f"ljp_applied_online_mv={ljp_applied_online_mv!r} cannot be combined with a bath change: "
                "an LJP correction applied online (HEKA LJ, 'a priori') was set for the bath in which the "
                "pipette was zeroed, and after a bath exchange the offset it leaves is no longer known "
                "(Barry, 'a priori corrections'). Set the amplifier's LJ to 0 and let correct_recording "
                "apply the whole V_L, or correct each bath separately."
            )
        if isinstance(bath_change, BathChange):
            if _identity_differs(bath_change.old_bath_identity, bath_sol):
                raise ParameterError(
                    f"Invalid value for the 'bath_change' parameter: its zeroing (old) bath "
                    f"{bath_change.old_bath_name!r} is not the 'bath' argument {bath_sol.name!r} "
                    "(identities differ); the LJP is computed against the bath in which the pipette was zeroed."
                )
            new_bath = _lookup_new_bath(bath_change, as_solution)
        elif isinstance(bath_change, BathSchedule):
            first = bath_change.steps[0]
            if _identity_differs(first.bath_identity, bath_sol):
                raise ParameterError(
                    f"Invalid value for the 'bath_change' parameter: the schedule's first entry "
                    f"{first.bath_name!r} must be the bath in which the pipette was zeroed, the 'bath' "
                    f"argument {bath_sol.name!r} (identities differ)."
                )
            if bath_change.axis == "sweep":
                last = max(s.start for s in bath_change.steps)
                if last >= rec.n_sweeps:
                    raise ParameterError(
                        f"Invalid value for the 'bath_change' parameter: a bath change at sweep {last:g} "
                        f"is beyond the last sweep of {rec.path} ({rec.n_sweeps - 1})."
                    )
        else:
            raise ParameterError(
                f"Invalid value for the 'bath_change' parameter: expected a BathSchedule or a BathChange "
                f"from ephys_correct.ljp, got {type(bath_change).__name__}."
            )

    # --- inside overrides
    overrides: dict[str, float] = {}
    if inside_override_mm is not None:
        if not isinstance(inside_override_mm, Mapping):
            raise ParameterError(
                f"Invalid value for the 'inside_override_mm' parameter: expected a mapping ion -> mM, "
                f"got {inside_override_mm!r}."
            )
        from .ions import canonical_ion_name

        for k, v in inside_override_mm.items():
            c = _finite(v, f"inside_override_mm[{k!r}]")
            if c < 0:
                raise ParameterError(f"Invalid value for inside_override_mm[{k!r}]: got {v!r}; must be >= 0 mM.")
            overrides[canonical_ion_name(k)] = c
        if cfg.inside_known == "all":
            raise ParameterError(
                f"Invalid value for the 'inside_override_mm' parameter: in configuration={cfg.name!r} "
                f"the cytoplasmic side faces the {cfg.inside} solution, whose composition is known; "
                "change that solution instead."
            )

    if free_ions:
        sols = [bath_sol, *pipettes.values()]
        if isinstance(bath_change, BathSchedule):
            sols += [b for _s, b in bath_change.entries]
        from .speciation import free_ion_solution

        for sol in sols:  # fail early: a buffered solution without a pH cannot be speciated
            free_ion_solution(sol, temperature_c=temperature_c,
                              activity_model="truesdell-jones" if activity_model == "ideal" else activity_model)

    ljp_model = ljp_activity_model if ljp_method == "henderson" else None
    cache: dict[tuple[str, str], Any] = {}
    hcs: dict[Any, HeadstageCorrection] = {}
    for h, sol in pipettes.items():
        on = online[h]
        if user_ljp is not None:
            hcs[h] = HeadstageCorrection(h, sol, user_ljp[h], on, "user", None)
            continue
        key = (sol.identity_key, bath_sol.identity_key)
        if key not in cache:
            cache[key] = liquid_junction_potential(sol, bath_sol, temperature_c=t_zero, method=ljp_method,
                                                   activity_model=ljp_model, free_ions=free_ions)
        res = cache[key]
        hcs[h] = HeadstageCorrection(h, sol, float(res.ljp_mv), on, "computed", res)

    # --- per-signal corrections
    schedule_kind = "none"
    if bath_change is not None:
        schedule_kind = ("constant" if isinstance(bath_change, BathChange)
                         else "per sweep" if bath_change.axis == "sweep" else "piecewise in time")
    single = len({(v.ljp_mv, v.ljp_applied_online_mv) for v in hcs.values()}) == 1

    def potential(sig, index, name, units, kind, headstage, note=""):
        hkey = headstage if headstage in hcs else (None if None in hcs else headstage)
        if hkey not in hcs:
            if not single:
                return SignalCorrection(
                    sig, index, name, units, kind, headstage, "none",
                    note="not corrected: the signal belongs to no headstage and the pipette "
                         "solutions (LJPs) differ per headstage")
            hkey = next(iter(hcs))
            note = (note + "; " if note else "") + "belongs to no headstage: the common LJP was applied"
        hc = hcs[hkey]
        sv = cfg.voltage_sign
        off = hc.applied_offline_mv
        vp = "(-V_rec)" if inverted else "V_rec"
        delta = "" if schedule_kind == "none" else " - delta_ref"
        core = f"{'+' if sv > 0 else '-'}({vp} - {off:.6g}{delta})"
        if cfg.needs_resting_potential:
            formula = (f"V_m = {rest:.6g} {core}" if rest is not None
                       else f"V_m - V_rest = {core} (relative to the resting potential)")
        else:
            formula = f"V_m = {core}" if sv < 0 else f"V_m = {vp} - {off:.6g}{delta}"
        return SignalCorrection(
            sig, index, name, units, kind, headstage, "potential", voltage_sign=sv, current_sign=None,
            ljp_mv=hc.ljp_mv, ljp_applied_online_mv=hc.ljp_applied_online_mv, offset_mv=off,
            bath_change=schedule_kind, resting_potential_mv=rest, polarity_inverted_at_acquisition=inverted,
            formula=formula, note=note)

    def current(sig, index, name, units, kind, headstage):
        s = cfg.current_sign * (-1 if inverted else 1)
        return SignalCorrection(
            sig, index, name, units, kind, headstage, "current", voltage_sign=None,
            current_sign=cfg.current_sign, polarity_inverted_at_acquisition=inverted,
            formula=f"I_m = {'+' if s > 0 else '-'}I_rec (outward positive)")

    chans = []
    for c in rec.channels:
        if c.units == "mV" and c.kind in ("membrane_potential", "command"):
            chans.append(potential("channel", c.index, c.name, c.units, c.kind, c.headstage))
        elif c.units == "pA" and c.kind in ("current", "command"):
            chans.append(current("channel", c.index, c.name, c.units, c.kind, c.headstage))
        else:
            chans.append(SignalCorrection("channel", c.index, c.name, c.units, c.kind, c.headstage, "none",
                                          note=f"not a membrane potential or current ({c.kind}, "
                                               f"units {c.units!r}): unchanged"))
    cmds = []
    hs_mode = {}
    for h in rec.headstages:
        hs_mode[h.index] = h.clamp_mode if h.clamp_mode_known else None
    for h in rec.holding:
        if h.headstage is None:
            cmds.append(SignalCorrection("dac", h.dac, h.name, h.units, "command", None, "none",
                                         note="DAC commands no headstage: unchanged"))
        elif h.units == "mV":
            mode = hs_mode.get(h.headstage)
            if mode in ("current_clamp", "i_zero"):
                cmds.append(SignalCorrection(
                    "dac", h.dac, h.name, h.units, "command", h.headstage, "none",
                    note=f"voltage DAC of a headstage in {mode}: not a membrane-potential command, unchanged"))
            else:
                cmds.append(potential("dac", h.dac, h.name, h.units, "command", h.headstage,
                                      note="" if mode else "clamp mode not established; corrected as a "
                                                           "voltage command (DAC units mV)"))
        elif h.units == "pA":
            cmds.append(current("dac", h.dac, h.name, h.units, "command", h.headstage))
        else:
            cmds.append(SignalCorrection("dac", h.dac, h.name, h.units, "command", h.headstage, "none",
                                         note=f"DAC units {h.units!r} unknown: unchanged"))

    # --- provenance
    caveats = list(cfg.caveats)
    if cfg.needs_resting_potential and rest is None:
        caveats.append("cell-attached without resting_potential_mv: corrected potentials are the patch "
                       "potential relative to rest (V_m - V_rest), not absolute membrane potentials")
    if cfg.name == "perforated" and agent is None:
        caveats.append("perforated patch without perforating_agent: which ions equilibrate with the "
                       "pipette is unknown, so reversal potentials are reported unknown")
    bc_dict = None
    if bath_change is not None:
        bc_dict = {"kind": type(bath_change).__name__, **bath_change.as_dict()}
        if schedule_kind == "piecewise in time":
            bc_dict["time_origin"] = "seconds from the start of the recording"
    prov = {
        "software": "ephys_correct",
        "package_version": __version__,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "sign_convention": "V_L = V(bath) - V(pipette) at zeroing; Vm = s_V*(Vp - (V_L - V_L,online) - "
                           "delta_ref) (+ V_rest, cell-attached); currents I_m = s_I*I_p (outward positive)",
        "configuration": cfg.as_dict(),
        "input_file": rec.path,
        "input_sha256": rec.sha256,
        "input_format": f"{rec.format} {rec.version}",
        "reader": rec.reader,
        "temperature_c": t_rec,
        "zeroing_temperature_c": t_zero,
        "activity_model": activity_model,
        "free_ions": free_ions,
        "ljp": {
            "method": ljp_method if user_ljp is None else None,
            "activity_model": ljp_model if user_ljp is None else None,
            "source": "user" if user_ljp is not None else "computed",
            "by_headstage": {str(k): v.as_dict() for k, v in hcs.items()},
        },
        "solutions": {
            "bath": _solution_summary(bath_sol),
            "pipette": {str(k): _solution_summary(v) for k, v in pipettes.items()},
        },
        "ljp_applied_online_mv": {str(k): v for k, v in online.items()},
        "bath_change": bc_dict,
        "polarity_inverted_at_acquisition": inverted,
        "perforating_agent": None if agent is None else agent.as_dict(),
        "resting_potential_mv": rest,
        "inside_override_mm": dict(overrides),
        "caveats": caveats,
    }
    if len({v.ljp_mv for v in hcs.values()}) == 1:
        prov["ljp"]["ljp_mv"] = next(iter(hcs.values())).ljp_mv
        prov["ljp"]["ljp_applied_online_mv"] = next(iter(hcs.values())).ljp_applied_online_mv
    return CorrectedRecording(
        recording=rec,
        configuration=cfg,
        temperature_c=t_rec,
        zeroing_temperature_c=t_zero,
        bath=bath_sol,
        headstage_corrections=MappingProxyType(hcs),
        channel_corrections=tuple(chans),
        command_corrections=tuple(cmds),
        bath_change=bath_change,
        perforating_agent=agent,
        polarity_inverted_at_acquisition=inverted,
        resting_potential_mv=rest,
        activity_model=activity_model,
        ljp_method=ljp_method,
        ljp_activity_model=ljp_model,
        free_ions=free_ions,
        inside_override_mm=MappingProxyType(overrides),
        _provenance_data=prov,
        _new_bath=new_bath,
    )


def _is_solution(obj: Any) -> bool:
    from .solutions import Solution

    return isinstance(obj, Solution)


def _as_sol(obj: Any, name: str, as_solution):
    if _is_solution(obj):
        return obj
    if isinstance(obj, Mapping):
        return as_solution(obj, name=name)
    return as_solution(obj)


def _lookup_new_bath(change, as_solution):
    """The new bath of a single BathChange (carried by it, or a solutions_db recipe; else None)."""
    from .errors import EphysCorrectError

    if getattr(change, "new_bath", None) is not None:
        return change.new_bath
    try:
        sol = as_solution(change.new_bath_name)
    except (EphysCorrectError, OSError):
        return None
    return None if _identity_differs(change.new_bath_identity, sol) else sol
