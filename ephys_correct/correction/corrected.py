"""The corrected view of a recording: per-headstage and per-signal corrections, provenance."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
import numpy as np
from ephys_correct._fileio import to_jsonable
from ephys_correct._html import table as html_table, tables as html_tables
from ephys_correct._validate import check_choice
from ephys_correct.errors import ParameterError
from ephys_correct.correction.configurations import Configuration, PerforatingAgent
from ephys_correct.correction.membrane import vm_signal, windows_for
from ephys_correct.correction.sign import apply_current_sign, apply_ljp
from ephys_correct.potentials.bath import BathChange
from ephys_correct.io import CommandUnavailableError


#: statistics accepted by :meth:`CorrectedRecording.membrane_potential`
STATISTICS = ("mean", "median")


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
    ljp_method : str
    ljp_activity_model : str or None
    free_ions : bool
        LJP and reversal potentials from free (speciated) concentrations (the
        default); False: totals, as asked.
    ph_at_recording : Mapping[str, float] or None
        Measured pH at the recording temperature ("pipette", "bath"), if given.
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
    ljp_method: str
    ljp_activity_model: str | None
    free_ions: bool
    _provenance_data: Any = field(repr=False)
    _new_bath: Any = field(default=None, repr=False)
    ph_at_recording: Mapping[str, float] | None = None

    @property
    def provenance(self) -> dict[str, Any]:
        """The provenance record (a new dict on each access).

        Built when the correction is made; turned into JSON-ready data only on
        first access (batch runs that never read it do not pay for it).
        """
        cached = self.__dict__.get("_provenance_json")
        if cached is None:
            cached = json.dumps(to_jsonable(self._provenance_data), sort_keys=False)
            object.__setattr__(self, "_provenance_json", cached)
        return json.loads(cached)

    def __repr__(self) -> str:
        return (f"CorrectedRecording({os.path.basename(self.recording.path)!r}, "
                f"configuration={self.configuration.name!r}, ljp_mv={self._ljp_summary()})")

    def _repr_html_(self) -> str:
        """Notebook view: configuration, temperatures, bath, V_L per headstage and what each channel got."""
        rows = [("file", os.path.basename(self.recording.path)), ("configuration", self.configuration.name),
                ("bath", getattr(self.bath, "name", str(self.bath))),
                ("zeroing temperature (degC)", float(self.zeroing_temperature_c)),
                ("recording temperature (degC)", float(self.temperature_c)),
                ("LJP method", self.ljp_method), ("free ions", getattr(self, "free_ions", None))]
        heads = [("" if k is None else k, getattr(h.pipette, "name", str(h.pipette)), h.ljp_mv,
                  h.ljp_applied_online_mv, h.applied_offline_mv, h.ljp_source)
                 for k, h in self.headstage_corrections.items()]
        chans = [(c.index, c.name, c.units, c.quantity, c.offset_mv, c.formula) for c in self.channel_corrections]
        return html_tables(
            html_table("Corrected recording", rows,
                       notes=[f"warning: {w}" for w in self.recording.warnings]),
            html_table("LJP per headstage", heads, columns=(
                "headstage", "pipette", "V_L (mV)", "online (mV)", "subtracted here (mV)", "source")),
            html_table("channels", chans, columns=("#", "name", "units", "treated as", "offset (mV)", "formula")))

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

    def command(self, sweep: int, dac: int, *, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Corrected command waveform (holding + steps) of one DAC, in its units.

        A voltage command is corrected like any potential (a protocol whose
        steps were deliberately pre-shifted by the experimenter is an ordinary
        command and gets the ordinary correction); a current command gets the
        configuration's current sign.  See :attr:`command_corrections`.
        *start*, *stop*: a sample range inside the sweep (as in
        :meth:`sweep_data`), built without the rest of the sweep.

        Raises
        ------
        CommandUnavailableError
            The file stores no command for this DAC.
        """
        raw = self.recording.command(sweep, dac, start=start, stop=stop)
        d = int(dac)
        return self._apply(self.command_corrections[d], raw, sweep, start, stop)

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
                           window_s=None, window: str = "baseline") -> tuple[float, str]:
        """Corrected membrane potential of one headstage over a window of a sweep.

        The signal is chosen by :func:`ephys_correct.correction.membrane.vm_signal`.
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
            Start and end, s from the start of the sweep; overrides *window*.
        window : {"baseline", "sweep"}
            Without *window_s*: ``"baseline"`` (default), the segment before the
            first command step (where the cell is at rest; see
            :mod:`ephys_correct.correction.membrane`), or ``"sweep"``, the whole
            sweep.

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
            Unknown statistic or window, empty window, or no signal to take V_m from.
        """
        check_choice(statistic, STATISTICS, what="statistic", where="CorrectedRecording.membrane_potential")
        check_choice(window, ("baseline", "sweep"), what="window", where="CorrectedRecording.membrane_potential",
                     hint="per-epoch values: driving_force_table(..., window='epochs')")
        hs = self._headstage(headstage)
        mode = hs.clamp_mode
        if window_s is None:
            w = windows_for(self, hs, self._sweep(sweep), window)[0]
            i0, i1, wdesc = w.i0, w.i1, w.description
        else:
            i0, i1, wdesc = self._window(sweep, window_s)
        stat = np.mean if statistic == "mean" else np.median
        rel = ""
        if self.configuration.needs_resting_potential and self.resting_potential_mv is None:
            rel = "; relative to the resting potential (cell-attached, no resting_potential_mv)"
        plan = vm_signal(self, hs)
        vm_channels = [c for c in hs.channels
                       if self.recording.channels[c].kind == "membrane_potential"
                       and self.channel_corrections[c].quantity == "potential"]
        if mode in ("current_clamp", "i_zero"):
            if plan is None:
                raise ParameterError(
                    f"{self.recording.path}: headstage {headstage} is in {mode} but has no "
                    "membrane-potential channel to take V_m from."
                )
            c = plan[1]
            data = self.sweep_data(sweep, c, start=i0, stop=i1)
            name = self.recording.channels[c].name
            return float(stat(data)), f"{statistic} of corrected trace '{name}' ({mode}, {wdesc}){rel}"
        # voltage clamp
        dac = hs.dac
        if plan is not None and plan[0] == "command":
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
        if plan is not None and plan[0] in ("command", "holding"):
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
        block.annotate(ephys_correct=json.dumps(to_jsonable(self.provenance)))
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


