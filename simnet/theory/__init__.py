"""Theory of local elasticity: closed forms, spectra and phase diagrams.

* :mod:`simnet.theory.le_ode`: closed-form class-mean LE-ODE solutions (I, L and
  constant-gradient surrogates), separation rate and onset, ETF-approach predictions;
* :mod:`simnet.theory.spectra`: eigen-structure of the two-parameter and the
  tree-derived impact matrices, predicted phase boundaries;
* :mod:`simnet.theory.phase`: measured phase diagrams over (alpha, beta) or
  (leaf rate, shared rate) and their transition width;
* :mod:`simnet.theory.stability`: locally elastic and uniform stability (Deng, He &
  Su 2021): exact leave-one-out for ridge and kernel ridge, retraining estimates for
  the simulator and MLPs, and both generalisation bounds.

Reference: J. Zhang, H. Wang and W. J. Su, "Imitating Deep Learning Dynamics via
Locally Elastic Stochastic Differential Equations", NeurIPS 2021.
"""

from .le_ode import (
    RatePath,
    etf_directions,
    etf_distance,
    etf_distance_prediction,
    etf_distance_scale,
    etf_ode_solution,
    identity_ode_solution,
    integrated_impacts,
    projected_coordinates,
    projected_ode_coordinates,
    projected_ode_solution,
    projected_ode_solution_from_rates,
    separation_onset,
    separation_rate,
)
from .phase import (
    PhaseSummary,
    SeparabilityCriterion,
    hierarchy_phase_diagram,
    hierarchy_rates,
    phase_diagram,
    phase_summary,
)
from .spectra import (
    TreeSpectrum,
    homogeneous_tree_weights,
    phase_boundary_two_parameter,
    separates_two_parameter,
    tree_spectrum,
    two_parameter_spectrum,
)
from .stability import (
    BoundComparison,
    Coupling,
    Kernel,
    RKHSStability,
    Sensitivities,
    compare_bounds,
    default_eta,
    kernel_matrix,
    kernel_ridge_loo_sensitivities,
    locally_elastic_bound,
    mlp_loo_sensitivities,
    ridge_loo_sensitivities,
    rkhs_stability_constants,
    simulator_loo_sensitivities,
    uniform_stability_bound,
)

__all__ = [
    "BoundComparison",
    "Coupling",
    "Kernel",
    "PhaseSummary",
    "RKHSStability",
    "RatePath",
    "Sensitivities",
    "SeparabilityCriterion",
    "TreeSpectrum",
    "compare_bounds",
    "default_eta",
    "etf_directions",
    "etf_distance",
    "etf_distance_prediction",
    "etf_distance_scale",
    "etf_ode_solution",
    "hierarchy_phase_diagram",
    "hierarchy_rates",
    "homogeneous_tree_weights",
    "identity_ode_solution",
    "integrated_impacts",
    "kernel_matrix",
    "kernel_ridge_loo_sensitivities",
    "locally_elastic_bound",
    "mlp_loo_sensitivities",
    "phase_boundary_two_parameter",
    "phase_diagram",
    "phase_summary",
    "projected_coordinates",
    "projected_ode_coordinates",
    "projected_ode_solution",
    "projected_ode_solution_from_rates",
    "ridge_loo_sensitivities",
    "rkhs_stability_constants",
    "separates_two_parameter",
    "separation_onset",
    "separation_rate",
    "simulator_loo_sensitivities",
    "tree_spectrum",
    "two_parameter_spectrum",
    "uniform_stability_bound",
]
