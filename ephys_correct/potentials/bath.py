"""Bath exchange after zeroing: the Ag/AgCl or salt-bridge reference offset, and bath schedules."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any
import numpy as np
from ephys_correct._fileio import to_jsonable
from ephys_correct._version import __version__
from ephys_correct._constants import thermal_voltage_mv
from ephys_correct.errors import ParameterError
# =============================================================================
# validation helpers
# =============================================================================


from ephys_correct._validate import check_choice, check_number, message
from ephys_correct.potentials.ljp import LJPResult, METHODS, _as_solution, _check_temperature, _gammas, liquid_junction_potential


#: reference electrode kinds for :func:`bath_change_offset`
REFERENCES = ("ag_agcl", "salt_bridge")


# =============================================================================
# bath exchange after zeroing
# =============================================================================


@dataclass(frozen=True)
class BathChange:
    """Offset caused by changing the bath after the pipette offset was zeroed.

    Meaning
    -------
    ``delta_ref_mv`` is the change, between the zeroing bath (*old*) and the
    current bath (*new*), of the potential of the bath solution relative to
    the reference wire, ``Delta(V_bath - V_ref.wire)``.  It enters the
    membrane potential as::

        whole-cell / outside-out:  V_m = V_p - V_L - delta_ref_mv
        inside-out:                V_m = -(V_p - V_L - delta_ref_mv)

    with ``V_L`` the pipette junction at zeroing (pipette vs *old* bath).

    * bare Ag/AgCl: ``delta_ref_mv = (RT/F) ln(a_Cl,new / a_Cl,old)``
      (145 -> 75 mM Cl- at 20 degC with concentrations: -16.65 mV, so
      ``V_m = V_p - V_L + 16.65 mV``);
    * salt bridge: ``delta_ref_mv = V_L(bridge, new) - V_L(bridge, old)``, the
      change of the bridge/bath junction (bath relative to bridge filling).

    Attributes
    ----------
    delta_ref_mv : float
    reference : {"ag_agcl", "salt_bridge"}
    temperature_c : float
    activity_model : str or None
    old_bath_name, new_bath_name : str
    old_bath_identity, new_bath_identity : Mapping
        :meth:`Solution.identity` of each bath.
    new_bath : Solution
        The new bath itself, so reversal potentials can follow the change.
    cl_activity_old_mm, cl_activity_new_mm : float or None
        Ag/AgCl only: Cl- activities (gamma c, mM) used.
    bridge_ljp_old, bridge_ljp_new : LJPResult or None
        Salt bridge only: junction of the bridge filling with each bath.
    pipette_ljp : LJPResult or None
        When a pipette was given: V_L(pipette, old bath) at zeroing.
    total_offset_mv : float or None
        When a pipette was given: ``pipette_ljp + delta_ref_mv``, so that
        whole-cell ``V_m = V_p - total_offset_mv``.
    """

    delta_ref_mv: float
    reference: str
    temperature_c: float
    activity_model: str | None
    old_bath_name: str
    new_bath_name: str
    old_bath_identity: Mapping[str, Any]
    new_bath_identity: Mapping[str, Any]
    cl_activity_old_mm: float | None = None
    cl_activity_new_mm: float | None = None
    bridge_ljp_old: LJPResult | None = None
    bridge_ljp_new: LJPResult | None = None
    pipette_ljp: LJPResult | None = None
    package_version: str = __version__
    new_bath: Any = field(default=None, repr=False, compare=False)

    @property
    def total_offset_mv(self) -> float | None:
        """``V_L(pipette, old bath) + delta_ref_mv`` (None without a pipette)."""
        if self.pipette_ljp is None:
            return None
        return self.pipette_ljp.ljp_mv + self.delta_ref_mv

    @property
    def parts_mv(self) -> dict[str, float]:
        """The named mV terms that make up the offset."""
        parts: dict[str, float] = {}
        if self.pipette_ljp is not None:
            parts["pipette_ljp_mv"] = self.pipette_ljp.ljp_mv
        if self.bridge_ljp_old is not None and self.bridge_ljp_new is not None:
            parts["bridge_ljp_old_mv"] = self.bridge_ljp_old.ljp_mv
            parts["bridge_ljp_new_mv"] = self.bridge_ljp_new.ljp_mv
        parts["delta_ref_mv"] = self.delta_ref_mv
        return parts

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "delta_ref_mv": self.delta_ref_mv,
            "total_offset_mv": self.total_offset_mv,
            "meaning": "whole-cell Vm = Vp - V_L - delta_ref_mv "
            "(= Vp - total_offset_mv when a pipette was given); "
            "inside-out Vm = -(Vp - V_L - delta_ref_mv)",
            "reference": self.reference,
            "temperature_c": self.temperature_c,
            "activity_model": self.activity_model,
            "old_bath": {"name": self.old_bath_name, **to_jsonable(self.old_bath_identity)},
            "new_bath": {"name": self.new_bath_name, **to_jsonable(self.new_bath_identity)},
            "cl_activity_old_mm": self.cl_activity_old_mm,
            "cl_activity_new_mm": self.cl_activity_new_mm,
            "bridge_ljp_old": None if self.bridge_ljp_old is None else self.bridge_ljp_old.as_dict(),
            "bridge_ljp_new": None if self.bridge_ljp_new is None else self.bridge_ljp_new.as_dict(),
            "pipette_ljp": None if self.pipette_ljp is None else self.pipette_ljp.as_dict(),
            "parts_mv": self.parts_mv,
            "package_version": self.package_version,
        }


def _cl_activity(sol, side: str, temperature_c: float, model: str | None) -> float:
    c = float(sol.ions_mm.get("Cl-", 0.0))
    if not c > 0:
        raise ParameterError(
            f"Invalid value for the 'reference' parameter: 'ag_agcl' (a bare Ag/AgCl wire) "
            f"needs chloride in the bath, but the {side} bath {sol.name!r} has no Cl-. "
            "Its potential is then undefined; use a salt bridge (reference='salt_bridge')."
        )
    g, _ = _gammas(sol, ["Cl-"], temperature_c, model)
    return float(g[0]) * c


def bath_change_offset(
    old_bath: Any,
    new_bath: Any,
    *,
    temperature_c: float,
    reference: str,
    bridge: Any = None,
    activity_model: str | None = "truesdell-jones",
    pipette: Any = None,
    ljp_method: str = "henderson",
) -> BathChange:
    """Reference-electrode offset after a bath exchange (see :class:`BathChange`).

    Parameters
    ----------
    old_bath : Solution, str, path or Mapping
        The bath in which the pipette offset was zeroed.
    new_bath : Solution, str, path or Mapping
        The bath during the recording.
    temperature_c : float
        degC (RT/F).
    reference : {"ag_agcl", "salt_bridge"}
        A bare Ag/AgCl wire or pellet in the bath, or an agar/salt bridge.
    bridge : Solution, str, path or Mapping, optional
        Bridge filling (required for ``"salt_bridge"``), e.g.
        ``{"K+": 3000, "Cl-": 3000}`` for 3 M KCl.
    activity_model : str or None
        Model for the Cl- activity (Ag/AgCl) and for the Henderson junctions
        (bridge, pipette).  None or ``"ideal"``: concentrations.
    pipette : optional
        If given, the pipette junction at zeroing, V_L(pipette, old_bath), is
        computed too and ``total_offset_mv`` is available.
    ljp_method : {"henderson", "nernst-planck"}
        Method of the bridge and pipette junctions (Nernst-Planck is ideal:
        the activity model then only applies to the Cl- term).

    Returns
    -------
    BathChange
        ``delta_ref_mv``: whole-cell ``V_m = V_p - V_L - delta_ref_mv``.

    Raises
    ------
    ParameterError
        Unknown *reference*, a missing bridge, or a Cl--free bath with a bare
        Ag/AgCl wire.

    Examples
    --------
    >>> bc = bath_change_offset({"Na": 145, "Cl": 145}, {"Na": 145, "Cl": 75, "gluconate": 70},
    ...                         temperature_c=20, reference="ag_agcl", activity_model=None)
    >>> round(bc.delta_ref_mv, 2)
    -16.65
    """
    t = _check_temperature(temperature_c, "bath_change_offset")
    check_choice(reference, REFERENCES, what="reference", where="bath_change_offset")
    check_choice(ljp_method, METHODS, what="ljp_method", where="bath_change_offset")
    old = _as_solution(old_bath, "old_bath")
    new = _as_solution(new_bath, "new_bath")
    ljp_model = activity_model if ljp_method == "henderson" else None
    kw: dict[str, Any] = dict(
        reference=reference,
        temperature_c=t,
        activity_model=activity_model,
        old_bath_name=old.name,
        new_bath_name=new.name,
        old_bath_identity=old.identity(),
        new_bath_identity=new.identity(),
        new_bath=new,
    )
    if reference == "ag_agcl":
        if bridge is not None:
            raise ParameterError(
                "Invalid value for the 'bridge' parameter: a bridge filling was given but "
                "reference='ag_agcl' (a bare wire); pass reference='salt_bridge'."
            )
        a_old = _cl_activity(old, "old", t, activity_model)
        a_new = _cl_activity(new, "new", t, activity_model)
        delta = thermal_voltage_mv(t) * math.log(a_new / a_old)
        kw.update(cl_activity_old_mm=a_old, cl_activity_new_mm=a_new)
    else:
        if bridge is None:
            raise ParameterError(
                "Invalid value for the 'bridge' parameter: reference='salt_bridge' needs the "
                "bridge filling, e.g. bridge={'K+': 3000, 'Cl-': 3000} for 3 M KCl."
            )
        br = _as_solution(bridge, "bridge")
        l_old = liquid_junction_potential(br, old, temperature_c=t, method=ljp_method,
                                          activity_model=ljp_model)
        l_new = liquid_junction_potential(br, new, temperature_c=t, method=ljp_method,
                                          activity_model=ljp_model)
        delta = l_new.ljp_mv - l_old.ljp_mv
        kw.update(bridge_ljp_old=l_old, bridge_ljp_new=l_new)
    if pipette is not None:
        kw["pipette_ljp"] = liquid_junction_potential(
            pipette, old, temperature_c=t, method=ljp_method, activity_model=ljp_model
        )
    return BathChange(delta_ref_mv=float(delta) + 0.0, **kw)


@dataclass(frozen=True)
class BathStep:
    """One bath of a :class:`BathSchedule`, in effect from *start* on.

    Attributes
    ----------
    start : float
        First sweep index (0-based) or start time in s.
    bath_name : str
    bath_identity : Mapping
        :meth:`Solution.identity` of the bath.
    change : BathChange
        Relative to the zeroing bath (the first step); ``change.delta_ref_mv``
        is 0 for the first step.
    """

    start: float
    bath_name: str
    bath_identity: Mapping[str, Any]
    change: BathChange

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"start": self.start, "bath_name": self.bath_name,
                "bath_identity": to_jsonable(self.bath_identity), "change": self.change.as_dict()}


_AXES = ("sweep", "time_s")


@dataclass(frozen=True)
class BathSchedule:
    """Bath exchanges during one recording.

    Parameters
    ----------
    entries : sequence of (start, bath)
        ``start`` is a sweep index (``axis="sweep"``) or a time in s
        (``axis="time_s"``), strictly increasing; ``bath`` is anything
        :func:`~ephys_correct.solutions.as_solution` accepts.  The **first**
        entry is the bath in which the pipette offset was zeroed.
    temperature_c : float
    reference : {"ag_agcl", "salt_bridge"}
    axis : {"sweep", "time_s"}
    bridge, activity_model, pipette, ljp_method
        As in :func:`bath_change_offset`.

    Attributes
    ----------
    steps : tuple of BathStep
        Each step's offset is relative to the zeroing bath.

    Examples
    --------
    >>> s = BathSchedule([(0, {"Na": 145, "Cl": 145}),
    ...                   (10, {"Na": 145, "Cl": 75, "gluconate": 70})],
    ...                  temperature_c=20, reference="ag_agcl", activity_model=None)
    >>> s.offset_mv(sweep=3), round(s.offset_mv(sweep=12), 2)
    (0.0, -16.65)
    """

    entries: Sequence[tuple[float, Any]]
    _: KW_ONLY
    temperature_c: float
    reference: str
    axis: str = "sweep"
    bridge: Any = None
    activity_model: str | None = "truesdell-jones"
    pipette: Any = None
    ljp_method: str = "henderson"
    steps: tuple[BathStep, ...] = field(init=False, repr=False)

    def __post_init__(self):
        check_choice(self.axis, _AXES, what="axis", where="BathSchedule")
        try:
            entries = [(s, b) for s, b in self.entries]
        except (TypeError, ValueError):
            raise ParameterError(
                "Invalid value for the 'entries' parameter: expected a sequence of "
                "(start, bath) pairs."
            ) from None
        if not entries:
            raise ParameterError("Invalid value for the 'entries' parameter: it is empty.")
        starts = []
        for k, (s, _b) in enumerate(entries):
            what = f"entries[{k}] start"
            start = check_number(s, what=what, where="BathSchedule")
            if self.axis == "sweep" and start != int(start):
                raise ParameterError(message(what, s, "not an integer", "a sweep index is a whole number",
                                             where="BathSchedule"))
            if start < 0:
                raise ParameterError(message(what, s, "negative", "starts are >= 0", where="BathSchedule"))
            starts.append(start)
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ParameterError(
                f"Invalid value for the 'entries' parameter: starts must be strictly "
                f"increasing, got {starts}."
            )
        sols = [_as_solution(b, f"entries[{k}] bath") for k, (_s, b) in enumerate(entries)]
        steps = []
        for k, (start, sol) in enumerate(zip(starts, sols)):
            change = bath_change_offset(
                sols[0], sol, temperature_c=self.temperature_c, reference=self.reference,
                bridge=self.bridge, activity_model=self.activity_model,
                pipette=self.pipette, ljp_method=self.ljp_method,
            )
            steps.append(BathStep(start=start, bath_name=sol.name,
                                  bath_identity=sol.identity(), change=change))
        object.__setattr__(self, "entries", tuple((s, b) for s, b in zip(starts, sols)))
        object.__setattr__(self, "steps", tuple(steps))

    def step_for(self, sweep: int | None = None, time_s: float | None = None) -> BathStep:
        """The :class:`BathStep` in effect at *sweep* (or *time_s*)."""
        if self.axis == "sweep":
            if sweep is None or time_s is not None:
                raise ParameterError(
                    "This schedule is indexed by sweep: pass sweep=<index> (and not time_s)."
                )
            x = check_number(sweep, what="sweep", where="BathSchedule.step_for")
            if x != int(x):
                raise ParameterError(message("sweep", sweep, "not an integer", "a sweep index is a whole number",
                                             where="BathSchedule.step_for"))
            label = f"sweep {sweep}"
        else:
            if time_s is None or sweep is not None:
                raise ParameterError(
                    "This schedule is indexed by time: pass time_s=<seconds> (and not sweep)."
                )
            x = check_number(time_s, what="time_s", where="BathSchedule.step_for", unit="s")
            label = f"time {time_s} s"
        k = int(np.searchsorted([s.start for s in self.steps], x, side="right")) - 1
        if k < 0:
            raise ParameterError(
                f"{label} is before the first bath of the schedule "
                f"(starts at {self.steps[0].start:g})."
            )
        return self.steps[k]

    def offset_mv(self, sweep: int | None = None, time_s: float | None = None) -> float:
        """``delta_ref_mv`` of the bath in effect: whole-cell ``V_m = V_p - V_L - offset``."""
        return self.step_for(sweep=sweep, time_s=time_s).change.delta_ref_mv

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"axis": self.axis, "reference": self.reference,
                "temperature_c": self.temperature_c, "activity_model": self.activity_model,
                "steps": [s.as_dict() for s in self.steps]}
