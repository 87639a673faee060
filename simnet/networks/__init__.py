"""Real-network baselines in numpy: MLPs, the exact empirical NTK, He & Su's
similarity probes, and SGD training that records the simulator's observables.

See ``MODEL.md`` section 5. Everything is float64 and PyTorch-free.

Examples
--------
>>> import numpy as np
>>> from simnet.networks import MLP, empirical_ntk
>>> mlp = MLP(input_dim=2, hidden=(8,), n_outputs=3)
>>> params = mlp.init(seed=0)
>>> X = np.eye(2)
>>> empirical_ntk(mlp, params, X, outputs="full").shape
(2, 2, 3, 3)
"""

from .mlp import MLP, Activation, MLPParams, OutputLoss, SGDStep
from .ntk import (
    NTKMethod,
    NTKOutputs,
    empirical_ntk,
    ntk_by_gradients,
    output_jacobian,
)
from .probes import ProbeSimilarities, kernel_similarities, probe_similarities
from .training import train_mlp

__all__ = [
    "MLP",
    "Activation",
    "MLPParams",
    "NTKMethod",
    "NTKOutputs",
    "OutputLoss",
    "ProbeSimilarities",
    "SGDStep",
    "empirical_ntk",
    "kernel_similarities",
    "ntk_by_gradients",
    "output_jacobian",
    "probe_similarities",
    "train_mlp",
]
