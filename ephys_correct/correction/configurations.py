"""Recording configurations (which side is inside, signs, caveats) and perforating agents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from ephys_correct._validate import check_choice, message
from ephys_correct.errors import ParameterError


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
    if isinstance(configuration, str):
        key = configuration.strip().lower().replace("_", "-").replace(" ", "-")
        if key in CONFIGURATIONS:
            return CONFIGURATIONS[key]
        alias = _CONFIG_ALIASES.get(key) or _CONFIG_ALIASES.get(key.replace("-", ""))
        if alias:
            return CONFIGURATIONS[alias]
    # not a name of a configuration: check_choice raises, naming the value and the names allowed
    return CONFIGURATIONS[check_choice(configuration, tuple(CONFIGURATIONS), what="configuration")]


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
        raise ParameterError(message(
            "perforating_agent", agent, f"given with configuration={configuration.name!r}",
            "a perforating agent only applies to configuration='perforated'"))
    key = agent.strip().lower() if isinstance(agent, str) else agent
    if not isinstance(key, str) or (key not in PERFORATING_AGENTS and key != "amphotericin b"):
        check_choice(agent, (None, *PERFORATING_AGENTS), what="perforating_agent")  # raises: agent is not None
    return PERFORATING_AGENTS["amphotericin" if key == "amphotericin b" else key]
