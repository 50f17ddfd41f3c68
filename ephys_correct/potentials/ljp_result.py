"""The result of a liquid junction potential computation: the value, per-ion parts, provenance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from ephys_correct._fileio import to_jsonable
from ephys_correct._version import __version__
from ephys_correct._frozen import FrozenMappings
from ephys_correct._html import table as html_table, tables as html_tables


CONTRIBUTION_DEFINITION = (
    "V_i = -(RT/F) z_i u_i * integral over the junction of c_i'(x)/kappa(x) dx, "
    "kappa = sum_j z_j^2 u_j c_j (the zero-current field split by ion); sum_i V_i = V_L. "
    "Henderson: along the linear mixing profile, "
    "V_i = -(RT/F) * 2 z_i u_i (a_i^bath - a_i^pipette) / K * atanh(y)/y. "
    "Nernst-Planck: along the solved profile."
)



@dataclass(frozen=True)
class IonContribution:
    """Parameters used for one ion and its share of the LJP.

    Attributes
    ----------
    name : str
        Canonical ion name.
    charge : int
    lambda_eq : float
        Limiting equivalent conductivity, S cm^2 mol^-1 (25 degC).
    relative_mobility : float
        u = lambda_eq / (|z| lambda_eq,K+), used at every temperature.
    source, locator : str
        Bibliography key (``ephys_correct.sources``) and table/page of lambda_eq.
    pipette_mm, bath_mm : float
        Concentrations, mM.
    gamma_pipette, gamma_bath : float or None
        Activity coefficients used (None when concentrations were used).
    contribution_mv : float
        Additive share of V_L (:data:`CONTRIBUTION_DEFINITION`).
    """

    name: str
    charge: int
    lambda_eq: float
    relative_mobility: float
    source: str
    locator: str
    pipette_mm: float
    bath_mm: float
    gamma_pipette: float | None
    gamma_bath: float | None
    contribution_mv: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class LJPResult(FrozenMappings):
    """A liquid junction potential with everything needed to reproduce it.

    ``float(result)`` is V_L in mV, the potential of the bath relative to the
    pipette; whole-cell ``V_m = V_p - V_L``.

    Attributes
    ----------
    ljp_mv : float
        V_L = V(bath) - V(pipette), mV.
    method : {"henderson", "nernst-planck"}
    temperature_c : float
    activity_model : str or None
        None: concentrations were used.
    ions : tuple of IonContribution
        Ions present on either side, pipette order first.
    pipette_name, bath_name : str
    pipette_identity, bath_identity : Mapping
        :meth:`Solution.identity` of each side (file bytes, rounded composition, derivation).
    thermal_voltage_mv : float
        RT/F used.
    solver : Mapping
        Nernst-Planck: n_segments, newton_iterations, error_estimate_mv,
        tolerance_mv, charge_adjustment; Henderson: empty.
    package_version : str
    contribution_definition : str
    """

    ljp_mv: float
    method: str
    temperature_c: float
    activity_model: str | None
    ions: tuple[IonContribution, ...]
    pipette_name: str
    pipette_identity: Mapping[str, Any]
    bath_name: str
    bath_identity: Mapping[str, Any]
    thermal_voltage_mv: float
    solver: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    package_version: str = __version__
    contribution_definition: str = CONTRIBUTION_DEFINITION
    free_ions: bool = True
    activity_convention: str | None = None

    def __float__(self) -> float:
        return float(self.ljp_mv)

    @property
    def contributions_mv(self) -> dict[str, float]:
        """Ion name -> additive share of V_L in mV."""
        return {ion.name: ion.contribution_mv for ion in self.ions}

    def _repr_html_(self) -> str:
        """Notebook view: V_L with its sign convention, method, temperature and each ion's share."""
        rows = [("V_L = V(bath) - V(pipette) (mV)", float(self.ljp_mv)),
                ("correction", "whole-cell Vm = Vp - V_L"),
                ("pipette", self.pipette_name), ("bath", self.bath_name),
                ("method", self.method), ("temperature (degC)", float(self.temperature_c)),
                ("activities", self.activity_model or "none (concentrations)"),
                ("free ions", self.free_ions)]
        ions = [(i.name, i.charge, i.pipette_mm, i.bath_mm, i.contribution_mv) for i in self.ions]
        return html_tables(
            html_table(f"Liquid junction potential {self.pipette_name} | {self.bath_name}", rows),
            html_table("ions", ions, columns=("ion", "z", "pipette (mM)", "bath (mM)", "share of V_L (mV)")))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (plain floats, strings and lists)."""

        plain = to_jsonable
        return {
            "ljp_mv": float(self.ljp_mv),
            "sign_convention": "V_L = V(bath) - V(pipette); whole-cell Vm = Vp - V_L",
            "method": self.method,
            "free_ions": self.free_ions,
            "concentration_basis": "free ions (speciated)" if self.free_ions else "totals (free_ions=False)",
            "activity_convention": self.activity_convention,
            "temperature_c": self.temperature_c,
            "activity_model": self.activity_model,
            "thermal_voltage_mv": self.thermal_voltage_mv,
            "pipette": {"name": self.pipette_name, **plain(self.pipette_identity)},
            "bath": {"name": self.bath_name, **plain(self.bath_identity)},
            "ions": [ion.as_dict() for ion in self.ions],
            "contribution_definition": self.contribution_definition,
            "solver": plain(self.solver),
            "package_version": self.package_version,
        }
