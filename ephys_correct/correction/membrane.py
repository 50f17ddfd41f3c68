"""Which signal is V_m, and over which window: the one rule of the corrected recording and the table.

The membrane potential of a headstage is read from one signal (:func:`vm_signal`):

* current clamp / I=0: the headstage's membrane-potential channel (``"trace"``);
* voltage clamp: the command waveform of its DAC (``"command"``), else a recorded
  voltage monitor (``"monitor"``), else the DAC's holding level (``"holding"``).

and over one window per row (:func:`windows_for`):

``"baseline"`` (the default)
    Where the cell is at rest: the samples before the first change of the
    headstage's command waveform (the pre-stimulus holding segment of the
    protocol's epoch table).  When the command never leaves the holding level
    the whole sweep is the baseline.  When the file stores no command waveform
    (formats without an epoch table, stimulus files), the first
    :data:`BASELINE_FALLBACK_FRACTION` of the sweep; the row's ``V_m_source``
    says so.
``"epochs"``
    One window per segment of the command waveform: ``epoch:holding`` (the
    baseline), then ``epoch:1``, ``epoch:2``, ... for each later segment of
    constant level (a ramp is one segment).  Levels, not the protocol's
    lettered epochs: two lettered epochs at the same level are one segment.
    Needs a command waveform.
``"sweep"``
    The whole sweep, current steps and spikes included (only when asked for by
    name).

Plausibility limits (:data:`VM_LIMIT_MV`, :data:`HOLDING_LIMIT_MV`,
:data:`DRIVING_FORCE_LIMIT_MV`) flag values no cell gives; see
:func:`implausible`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ephys_correct._validate import check_choice, check_number, message
from ephys_correct.errors import ParameterError
from ephys_correct.io import CommandUnavailableError

#: window names accepted by ``window=``
WINDOWS = ("baseline", "epochs", "sweep")
#: baseline of a sweep without a command waveform: this fraction of the sweep from its start
BASELINE_FALLBACK_FRACTION = 0.1
#: |V_m| above this (mV) is no membrane potential: a unit, gain or clamp-mode error
VM_LIMIT_MV = 250.0
#: |voltage command| above this (mV) is beyond what an amplifier gives a cell (MultiClamp 700B: +-1000 mV)
HOLDING_LIMIT_MV = 1000.0
#: |V_m - E_rev| above this (mV) is no driving force (|V_m| <= 250 mV plus |E_rev| of a 10^4 gradient)
DRIVING_FORCE_LIMIT_MV = 500.0


def check_epochs(epochs, where: str = "driving_force_table") -> list[tuple[str, float, float]]:
    """Explicit windows ``[(name, t_start_s, t_end_s), ...]``, checked.

    Parameters
    ----------
    epochs : iterable of (str, float, float)
    where : str, default "driving_force_table"
        The public function the epochs were given to (named in messages).

    Returns
    -------
    list of (str, float, float)

    Raises
    ------
    ParameterError
        Not a list of (non-empty name, finite t_start_s < t_end_s), or empty.
    """
    out = []
    if isinstance(epochs, (str, bytes)) or not isinstance(epochs, Iterable):
        raise ParameterError(message("epochs", epochs, "not a list of (name, t_start_s, t_end_s)",
                                     "e.g. [('baseline', 0.0, 0.1)]", where=where))
    for k, e in enumerate(epochs):
        try:
            name, t0, t1 = e
        except (TypeError, ValueError):
            raise ParameterError(message(f"epochs[{k}]", e, "not (name, t_start_s, t_end_s)",
                                         "e.g. ('baseline', 0.0, 0.1)", where=where)) from None
        if not isinstance(name, str) or not name:
            raise ParameterError(message(f"epochs[{k}] name", name, "not a non-empty string", "name the window",
                                         where=where))
        t0 = check_number(t0, what=f"epochs[{k}] t_start_s", where=where, unit="s")
        t1 = check_number(t1, what=f"epochs[{k}] t_end_s", where=where, unit="s")
        if t1 <= t0:
            raise ParameterError(message(f"epochs[{k}]", e, "not a window with t_start_s < t_end_s",
                                         "give t_start_s < t_end_s", where=where))
        out.append((name, t0, t1))
    if not out:
        raise ParameterError(message("epochs", epochs, "empty", "give None for the named window", where=where))
    return out


class Window(NamedTuple):
    """One window of one sweep: samples ``[i0, i1)``, its name and how it was chosen.

    Parameters
    ----------
    name : str
        ``"baseline"``, ``"epoch:holding"``, ``"epoch:<k>"`` or ``"sweep"``.
    i0, i1 : int
        First sample and one past the last, from the start of the sweep.
    description : str
        The window in seconds and why it was chosen (goes into ``V_m_source``).
    """

    name: str
    i0: int
    i1: int
    description: str


def _potential_channels(corrected, h) -> list[int]:
    rec = corrected.recording
    return [c for c in h.channels if rec.channels[c].kind == "membrane_potential"
            and corrected.channel_corrections[c].quantity == "potential"]


def _voltage_dac(corrected, h) -> int | None:
    dac = h.dac
    if dac is not None and dac < len(corrected.command_corrections) \
            and corrected.command_corrections[dac].quantity == "potential":
        return dac
    return None


def vm_signal(corrected, h) -> tuple[str, int] | None:
    """The signal V_m of headstage *h* is read from.

    Parameters
    ----------
    corrected : CorrectedRecording
    h : Headstage
        Its clamp mode must be known (else :class:`ClampModeError` is raised).

    Returns
    -------
    (kind, index) or None
        ``("trace" | "monitor", channel)`` or ``("command" | "holding", dac)``; None
        when the headstage has no signal to take V_m from.
    """
    mode = h.clamp_mode
    vm = _potential_channels(corrected, h)
    if mode in ("current_clamp", "i_zero"):
        return ("trace", vm[0]) if vm else None
    dac = _voltage_dac(corrected, h)
    rec = corrected.recording
    if dac is not None and rec.has_command(dac):
        return ("command", dac)
    if vm:
        return ("monitor", vm[0])
    if dac is not None and dac < len(rec.holding) and np.isfinite(rec.holding[dac].value):
        return ("holding", dac)
    return None


#: the command of a sweep is scanned for steps in pieces of this many samples (bounded memory)
SCAN_SAMPLES = 1 << 20


def _scan_command_changes(corrected, h, sweep: int, *, first_only: bool = False) -> np.ndarray | None:
    """Samples ``i`` where the raw command of the headstage's DAC differs from sample ``i - 1``.

    None when the file has no command.  The sweep's command is built and scanned in pieces
    of :data:`SCAN_SAMPLES` (a gap-free sweep can be as long as the file); *first_only*: stop
    at the first piece with a change.
    """
    rec = corrected.recording
    dac = h.dac
    if dac is None or not rec.has_command(dac):
        return None
    n = rec.sweep_lengths[sweep]
    found: list[np.ndarray] = []
    prev = None
    try:
        for lo in range(0, n, SCAN_SAMPLES):
            piece = rec.command(sweep, dac, start=lo, stop=min(n, lo + SCAN_SAMPLES))
            if prev is not None and piece[0] != prev:
                found.append(np.array([lo]))
            found.append(np.flatnonzero(piece[1:] != piece[:-1]) + (lo + 1))
            if first_only and any(len(f) for f in found):
                break
            prev = piece[-1]
    except CommandUnavailableError:
        return None
    return np.concatenate(found) if found else np.empty(0, dtype=np.intp)


def _command_changes(corrected, h, sweep: int, *, first_only: bool = False) -> list[int] | None:
    """Samples where the command differs from the sample before (``flatnonzero(diff) + 1``).

    From the protocol's steps (:meth:`Recording.command_steps`) when the command is made of
    steps, without building the waveform; else from the waveform.  None when the file has none.
    """
    rec = corrected.recording
    dac = h.dac
    if dac is None or not rec.has_command(dac):
        return None
    steps = rec.command_steps(sweep, dac)
    if steps is not None:
        return [a for (a, _, v), (_, _, prev) in zip(steps[1:], steps) if v != prev]
    changed = _scan_command_changes(corrected, h, sweep, first_only=first_only)
    return None if changed is None else changed.tolist()


def _t(rec, i: int) -> float:
    return rec.t_start_s + i / rec.sample_rate_hz


def _span(rec, i0: int, i1: int) -> str:
    return f"{_t(rec, i0):g}-{_t(rec, i1):g} s"


def windows_for(corrected, h, sweep: int, window: str) -> list[Window]:
    """The windows of *sweep* for headstage *h* under the rule named *window*.

    Parameters
    ----------
    corrected : CorrectedRecording
    h : Headstage
    sweep : int
        Validated sweep index.
    window : {"baseline", "epochs", "sweep"}

    Returns
    -------
    list of Window

    Raises
    ------
    ParameterError
        Unknown *window*, or ``"epochs"`` for a file without a command waveform.
    """
    check_choice(window, WINDOWS, what="window", where="windows_for")
    rec = corrected.recording
    n = rec.sweep_lengths[sweep]
    if window == "sweep":
        return [Window("sweep", 0, n, f"whole sweep {_span(rec, 0, n)}")]
    changed = _command_changes(corrected, h, sweep, first_only=window == "baseline")
    if changed is None:
        if window == "epochs":
            raise ParameterError(
                f"{rec.path}: window='epochs' needs the command waveform of headstage {h.index}, which the "
                f"file does not store; give the windows with epochs=[(name, t_start_s, t_end_s), ...]")
        k = max(1, int(math.floor(n * BASELINE_FALLBACK_FRACTION)))
        return [Window("baseline", 0, k, f"baseline {_span(rec, 0, k)}: first "
                       f"{BASELINE_FALLBACK_FRACTION:.0%} of the sweep (the file stores no command waveform)")]
    if window == "baseline":
        if not changed:
            return [Window("baseline", 0, n, f"baseline {_span(rec, 0, n)}: whole sweep (the command "
                           "stays at the holding level)")]
        k = int(changed[0])
        return [Window("baseline", 0, k, f"baseline {_span(rec, 0, k)}: holding before the first "
                       "command step")]
    # epochs: segments of constant level; a run of changing samples (a ramp) is one segment
    bounds = [0]
    prev, run = -2, 0
    for i in changed:
        if i == prev + 1:
            run += 1
        else:
            if run > 1:
                bounds.append(prev + 1)  # the end of a ramp
            bounds.append(i)
            run = 1
        prev = i
    if run > 1:
        bounds.append(prev + 1)
    bounds = sorted({*bounds, n} - {n + 1})
    out = []
    for k in range(len(bounds) - 1):
        a, b = bounds[k], bounds[k + 1]
        name = "epoch:holding" if k == 0 else f"epoch:{k}"
        what = "holding before the first command step" if k == 0 else "command segment"
        out.append(Window(name, a, b, f"{name} {_span(rec, a, b)}: {what}"))
    return out


def implausible(*, vm_mv: float | None = None, holding_mv: float | None = None,
                driving_force_mv: float | None = None) -> str:
    """Why a value is not physiological ("" when it is plausible or unknown).

    Parameters
    ----------
    vm_mv, holding_mv, driving_force_mv : float, optional
        Corrected membrane potential, voltage command / holding level and
        driving force, mV.

    Returns
    -------
    str
        One reason per value beyond its limit (:data:`VM_LIMIT_MV`,
        :data:`HOLDING_LIMIT_MV`, :data:`DRIVING_FORCE_LIMIT_MV`), joined by
        "; ".
    """
    out = []
    if vm_mv is not None and math.isfinite(vm_mv) and abs(vm_mv) > VM_LIMIT_MV:
        out.append(f"implausible V_m {vm_mv:.4g} mV (|V_m| > {VM_LIMIT_MV:g} mV): check units, gain and "
                   "clamp mode (unit_fix=, clamp_mode=, headstages=)")
    if holding_mv is not None and math.isfinite(holding_mv) and abs(holding_mv) > HOLDING_LIMIT_MV:
        out.append(f"implausible voltage command {holding_mv:.4g} mV (|command| > {HOLDING_LIMIT_MV:g} mV, "
                   "beyond what an amplifier gives a cell): check units and headstages (unit_fix=, headstages=)")
    if driving_force_mv is not None and math.isfinite(driving_force_mv) \
            and abs(driving_force_mv) > DRIVING_FORCE_LIMIT_MV:
        out.append(f"implausible driving force {driving_force_mv:.4g} mV (> {DRIVING_FORCE_LIMIT_MV:g} mV)")
    return "; ".join(out)


def recording_warnings(recording) -> list[str]:
    """The warnings of *recording* plus its weakly supported headstages, one line each.

    Parameters
    ----------
    recording : Recording

    Returns
    -------
    list of str
        :attr:`Recording.warnings` and :attr:`Recording.interpretation_warnings`
        (in order, each once), then one line per headstage whose ``confidence`` is
        ``"weak"`` when no warning already names it.  A headstage the user stated
        (``"user"``) is no warning; the table's ``attrs["headstages"]`` records it.
    """
    out = list(dict.fromkeys([*(getattr(recording, "warnings", ()) or ()),
                              *(getattr(recording, "interpretation_warnings", ()) or ())]))
    for h in recording.headstages:
        conf = getattr(h, "confidence", "strong")
        if conf == "weak" and not any(f"headstage {h.index}" in w for w in out):
            out.append(f"headstage {h.index}: weak evidence for its channels or clamp mode "
                       f"({h.clamp_mode_evidence or 'no evidence recorded'}); state them with headstages= "
                       "and clamp_mode=")
    return out
