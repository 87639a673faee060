"""Model definitions: plain dataclasses that validate themselves."""

from .hfs import HFSModel, HFSState
from .impact import ImpactMatrix
from .lesde import Integrator, LESDEModel, LESDEState, NoiseKind, OdeMethod, Surrogate

__all__ = [
    "HFSModel",
    "HFSState",
    "ImpactMatrix",
    "Integrator",
    "LESDEModel",
    "LESDEState",
    "NoiseKind",
    "OdeMethod",
    "Surrogate",
]
