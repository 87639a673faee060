"""Analysis of simulations and networks: clustering by local elasticity, dendrograms.

* :mod:`simnet.analysis.clustering`: k-means, spectral and kernel k-means clustering
  of similarity matrices, the permutation-invariant clustering accuracy, and He &
  Su's local-elasticity clustering of two subclasses end to end (train a binary
  MLP, probe, cluster, score; ``MODEL.md`` section 6).
* :mod:`simnet.analysis.dendrogram`: a dendrogram of the classes from a class-level
  elasticity matrix, scored against the true class hierarchy.
* :mod:`simnet.analysis.impacts`: the integrated-impact estimators A-hat(t), B-hat(t)
  of the LE-SDE paper (I and L models, any K), Savitzky-Golay rates and tail indices.
* :mod:`simnet.analysis.fitting`: the simulator fitted to a network run (LE-SDE from
  the estimated rates or the network's impact matrix; HFS by least squares on E(t)).
* :mod:`simnet.analysis.comparison`: agreement figures of two runs and the report.
* :mod:`simnet.analysis.agreement`: fit, simulate, compare and report in one call
  (``simnet compare``), with a held-out segment.
"""

from .agreement import DEFAULT_METHODS, Agreement, agreement
from .clustering import (
    ClusterMethod,
    ElasticityClustering,
    KernelInit,
    SimilarityKind,
    cluster_similarity,
    clustering_accuracy,
    kernel_kmeans,
    kmeans,
    local_elasticity_clustering,
    spectral_clustering,
)
from .comparison import (
    FIGURE_COLUMNS,
    AlignedRuns,
    AlignedSeries,
    Comparison,
    Quantity,
    compare_runs,
    read_comparison_figures,
    write_comparison_report,
)
from .dendrogram import (
    LinkageMethod,
    TreeReference,
    cophenetic_agreement,
    elasticity_dissimilarity,
    elasticity_linkage,
    hierarchy_from_linkage,
    recovers_tree,
)
from .fitting import (
    FitMethod,
    FittedModel,
    RateScale,
    fit_hfs,
    fit_lesde_impact,
    fit_lesde_rates,
    fit_simulator,
    hierarchy_weights,
    infer_hierarchy,
    root_impact_scale,
    simulate_fitted,
)
from .impacts import (
    ClassMeanTrajectory,
    EstimatorModel,
    ImpactEstimate,
    class_mean_trajectory,
    estimate_integrated_impacts,
    impact_estimates_table,
    impact_rates,
    tail_index,
)
from .network_run import NetworkRun, impact_series

__all__ = [
    "DEFAULT_METHODS",
    "FIGURE_COLUMNS",
    "Agreement",
    "AlignedRuns",
    "AlignedSeries",
    "ClassMeanTrajectory",
    "ClusterMethod",
    "Comparison",
    "ElasticityClustering",
    "EstimatorModel",
    "FitMethod",
    "FittedModel",
    "ImpactEstimate",
    "KernelInit",
    "LinkageMethod",
    "NetworkRun",
    "Quantity",
    "RateScale",
    "SimilarityKind",
    "TreeReference",
    "agreement",
    "class_mean_trajectory",
    "cluster_similarity",
    "clustering_accuracy",
    "compare_runs",
    "cophenetic_agreement",
    "elasticity_dissimilarity",
    "elasticity_linkage",
    "estimate_integrated_impacts",
    "fit_hfs",
    "fit_lesde_impact",
    "fit_lesde_rates",
    "fit_simulator",
    "hierarchy_from_linkage",
    "hierarchy_weights",
    "impact_estimates_table",
    "impact_rates",
    "impact_series",
    "infer_hierarchy",
    "kernel_kmeans",
    "kmeans",
    "local_elasticity_clustering",
    "read_comparison_figures",
    "recovers_tree",
    "root_impact_scale",
    "simulate_fitted",
    "spectral_clustering",
    "tail_index",
    "write_comparison_report",
]
