"""The parts of a :class:`~ephys_correct.io.Recording`: channels, headstages, holdings, tags, unit fixes."""

from __future__ import annotations

from dataclasses import dataclass, field


from ephys_correct.errors import ClampModeError

__all__ = [
    "Channel",
    "Headstage",
    "Holding",
    "Tag",
    "UnitFix",
    "CLAMP_MODES",
    "SIGNAL_KINDS",
    "SIGNAL_ROLES",
    "HEADSTAGE_CONFIDENCE",
]

#: the clamp modes a headstage can be in ("i_zero": MultiClamp I=0, telegraph mode 2)
CLAMP_MODES = ("voltage_clamp", "current_clamp", "i_zero")
#: the signal kinds of a channel
SIGNAL_KINDS = ("membrane_potential", "current", "command", "other")
#: the part a channel plays for its headstage (:attr:`Channel.role`)
SIGNAL_ROLES = ("measured", "monitor", "command")
#: how well the file's evidence supports a headstage (:attr:`Headstage.confidence`)
HEADSTAGE_CONFIDENCE = ("strong", "inferred", "weak", "user")


def _clamp_mode_help(path: str, headstage: int | None, evidence: str) -> str:
    return (
        f"{path}: the clamp mode of headstage {headstage} cannot be established ({evidence}). "
        f"Pass it explicitly: read_recording(path, clamp_mode='voltage_clamp') for every headstage, "
        f"or clamp_mode={{{headstage}: 'current_clamp'}} per headstage "
        f"(allowed: {', '.join(CLAMP_MODES)}); on the command line: --clamp-mode."
    )


@dataclass(frozen=True)
class UnitFix:
    """A user-confirmed correction of a channel whose header units are wrong.

    The stored values (in the file's labelled units, after the ADC scale
    factors) are multiplied by *scale* and then read as *units*.  Example:
    ``UnitFix("mV", 1 / 20)`` for a current-clamp channel labelled pA whose
    values are Vm x 20 (pyABF's "bad units" case).

    Parameters
    ----------
    units : str
        The true units of ``stored value * scale`` (e.g. ``"mV"``); converted
        to mV or pA like any header unit.
    scale : float
        Multiplier applied to the stored values; must be finite and non-zero.
    """

    units: str
    scale: float


@dataclass(frozen=True)
class Channel:
    """One ADC channel (a recorded signal).

    Built by the readers; the fields are also the attributes.

    Parameters
    ----------
    index : int
        Position in :attr:`Recording.channels` (the ADC sampling order).
    name : str
        Channel name from the file (blank names become ``"ch<index>"``).
    units : str
        Units of :meth:`Recording.sweep_data`: ``"mV"`` for voltages, ``"pA"``
        for currents, otherwise the file's label (``""`` when dimensionless).
    kind : str
        ``"membrane_potential"``, ``"current"``, ``"command"`` (a command
        monitor such as ``AO #0`` / ``Cmd``) or ``"other"``.
    headstage : int or None
        Headstage (amplifier channel) the signal belongs to; None for signals
        of no headstage.  See ``docs/recordings.md`` for the rule.
    file_units : str
        Units as written in the file header.
    scale : float
        Factor from the stored values (file units) to *units* (including a
        :class:`UnitFix` when one was given).
    units_suspect : bool
        True when the header units contradict the clamp mode (e.g. pA on the
        only signal of a current-clamp headstage); see :attr:`Recording.warnings`.
    unit_fix : UnitFix or None
        The user's correction, when one was applied.
    adc : int or None
        Physical ADC number (ABF), None for other formats.
    telegraph_mode : str or None
        Clamp mode reported by this ADC's MultiClamp telegraph, if any.
    clamp_mode_source : str or None
        Where the headstage's clamp mode came from: ``"user"``, ``"telegraph"``,
        ``"units"``, ``"protocol"``, ``"adc_units"`` or ``"unresolved"``; None
        when the channel has no headstage.
    role : str or None
        The part the channel plays for its headstage: ``"measured"`` (what the
        clamp measures: the current in voltage clamp, the membrane potential
        in current clamp), ``"monitor"`` (the amplifier's other output: the
        membrane potential of a voltage-clamped cell, the injected current of
        a current-clamped one; not a second cell), ``"command"`` (a DAC read
        back); None without headstage (or when neither the clamp mode nor
        the file's evidence says).
    telegraph_instrument : str or None
        The amplifier named by this ADC's telegraph (ABF
        ``nTelegraphInstrument``, e.g. ``"Axopatch 200B"``), None without one.

    Other Parameters
    ----------------
    _clamp_mode : str or None
        The headstage's clamp mode, read through :attr:`clamp_mode` (internal).
    _clamp_mode_error : str or None
        Message of the :class:`ClampModeError` that :attr:`clamp_mode` raises
        when the mode is not established (internal).
    """

    index: int
    name: str
    units: str
    kind: str
    headstage: int | None
    file_units: str
    scale: float
    units_suspect: bool = False
    unit_fix: UnitFix | None = None
    adc: int | None = None
    telegraph_mode: str | None = None
    clamp_mode_source: str | None = None
    role: str | None = None
    telegraph_instrument: str | None = None
    _clamp_mode: str | None = field(default=None, repr=False)
    _clamp_mode_error: str | None = field(default=None, repr=False, compare=False)

    @property
    def clamp_mode(self) -> str | None:
        """Clamp mode of this channel's headstage.

        One of ``"voltage_clamp"``, ``"current_clamp"``, ``"i_zero"``; None for
        a channel of no headstage.

        Raises
        ------
        ClampModeError
            If the file does not establish the mode of the headstage; the
            message says how to pass ``clamp_mode=``.
        """
        if self._clamp_mode_error is not None:
            raise ClampModeError(self._clamp_mode_error)
        return self._clamp_mode


@dataclass(frozen=True)
class Headstage:
    """One amplifier channel: its command DAC, its signals and its clamp mode.

    Built by the readers; the fields are also the attributes.

    Parameters
    ----------
    index : int
        Headstage number (0-based).  For ABF files a headstage with a DAC has
        the DAC's number (headstage *k* is commanded by DAC *k*); a headstage
        without DAC is numbered after the DACs.
    dac : int or None
        DAC (analog output) that commands it; None for formats without command
        information and for an amplifier output with no DAC left for it.
    channels : tuple of int
        Indices of its channels in :attr:`Recording.channels`.
    clamp_mode_source : str
        ``"user"``, ``"telegraph"``, ``"units"``, ``"protocol"``,
        ``"adc_units"`` or ``"unresolved"``.
    clamp_mode_evidence : str
        Human-readable reason.
    confidence : str
        How well the file supports this grouping of channels: ``"strong"``
        (a DAC the protocol drives or holds, with the signal it measures),
        ``"inferred"`` (the only headstage, on a DAC the protocol leaves idle;
        or a format without DAC information), ``"weak"`` (a guess: see
        :attr:`Recording.interpretation_warnings`) or ``"user"`` (set with
        ``headstages=``).
    evidence : tuple of str
        Notes on how its DAC and channels were chosen.

    Other Parameters
    ----------------
    _clamp_mode : str or None
        The clamp mode, read through :attr:`clamp_mode`; None when unresolved
        (internal).
    _path : str
        The file, named in the :class:`ClampModeError` message (internal).
    """

    index: int
    dac: int | None
    channels: tuple[int, ...]
    clamp_mode_source: str
    clamp_mode_evidence: str
    confidence: str = "strong"
    evidence: tuple[str, ...] = ()
    _clamp_mode: str | None = field(default=None, repr=False)
    _path: str = field(default="", repr=False, compare=False)

    @property
    def clamp_mode(self) -> str:
        """``"voltage_clamp"``, ``"current_clamp"`` or ``"i_zero"``.

        Raises
        ------
        ClampModeError
            If the file does not establish it (see :func:`read_recording`).
        """
        if self._clamp_mode is None:
            raise ClampModeError(_clamp_mode_help(self._path, self.index, self.clamp_mode_evidence))
        return self._clamp_mode

    @property
    def clamp_mode_known(self) -> bool:
        """True when :attr:`clamp_mode` can be read without an error."""
        return self._clamp_mode is not None


@dataclass(frozen=True)
class Holding:
    """Holding level of one DAC (command channel).

    Parameters
    ----------
    dac : int
        DAC index.
    name : str
        DAC name from the header (``"Cmd 0"``, ``"AO #2"``, ...).
    value : float
        Holding level in *units* (NaN when the header value is garbage).
    units : str
        ``"mV"`` or ``"pA"``; ``""`` when the header gives no unit (then
        *value* is the raw header number).
    file_units : str
        DAC units as written in the header.
    headstage : int or None
        Headstage this DAC commands, if any.
    """

    dac: int
    name: str
    value: float
    units: str
    file_units: str
    headstage: int | None


@dataclass(frozen=True)
class Tag:
    """A tag / comment placed during acquisition.

    Parameters
    ----------
    time_s : float
        Seconds from the start of the recording.
    comment : str
        The tag text; for ABF decoded as pyabf does (ASCII, other bytes
        dropped), so that it matches pyabf's ``tagComments``.
    raw : bytes
        The comment bytes as stored (ABF: Windows code page, usually cp1252,
        e.g. ``b"r\xe9sultats"``); empty for formats that give text.
    """

    time_s: float
    comment: str
    raw: bytes = field(default=b"", repr=False, compare=False)
