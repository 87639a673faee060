"""simnet: simulate how neural networks train, at the level of phenomena.

A hierarchical feature-sharing particle model and the impact-matrix (LE-SDE) particle
model on Numba kernels, with local-elasticity observables returned as tidy tables.

Examples
--------
>>> import simnet
>>> h = simnet.Hierarchy.preset("cifar10")
>>> model = simnet.HFSModel(h, n_per_class=20)
>>> result = simnet.simulate(model, steps=500, record=250, seed=1, observe=["impact"])
>>> sorted(result.tables)
['elasticity_curve', 'impact', 'metrics']
"""

from . import analysis, datasets, networks, observables, plotting, sweeps, theory
from .config import (
    MLPRunConfig,
    RunConfig,
    config_from_mapping,
    load_config,
    load_mlp_config,
    mlp_config_from_mapping,
)
from .ensemble import simulate_ensemble
from .errors import ConfigError, DataError, DivergenceError, HierarchyError, SimnetError
from .hierarchy import PRESETS, Hierarchy
from .models import (
    HFSModel,
    ImpactMatrix,
    Integrator,
    LESDEModel,
    NoiseKind,
    OdeMethod,
    Surrogate,
)
from .recorder import Observable
from .recording import RecordSchedule
from .results import RunResult
from .schedules import Constant, Exponential, Piecewise, PowerLaw, Schedule
from .simulate import simulate

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "ConfigError",
    "Constant",
    "DataError",
    "DivergenceError",
    "Exponential",
    "HFSModel",
    "Hierarchy",
    "HierarchyError",
    "ImpactMatrix",
    "Integrator",
    "LESDEModel",
    "MLPRunConfig",
    "NoiseKind",
    "Observable",
    "OdeMethod",
    "Piecewise",
    "PowerLaw",
    "RecordSchedule",
    "RunConfig",
    "RunResult",
    "Schedule",
    "SimnetError",
    "Surrogate",
    "analysis",
    "config_from_mapping",
    "datasets",
    "load_config",
    "load_mlp_config",
    "mlp_config_from_mapping",
    "networks",
    "observables",
    "plotting",
    "simulate",
    "simulate_ensemble",
    "sweeps",
    "theory",
]
