"""Analysis of simulations and networks: clustering by local elasticity, dendrograms.

* :mod:`simnet.analysis.clustering`: k-means, spectral and kernel k-means clustering
  of similarity matrices, the permutation-invariant clustering accuracy, and He &
  Su's local-elasticity clustering of two subclasses end to end (train a binary
  MLP, probe, cluster, score; ``MODEL.md`` section 6).
* :mod:`simnet.analysis.dendrogram`: a dendrogram of the classes from a class-level
  elasticity matrix, scored against the true class hierarchy.
"""

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
from .dendrogram import (
    LinkageMethod,
    TreeReference,
    cophenetic_agreement,
    elasticity_dissimilarity,
    elasticity_linkage,
    hierarchy_from_linkage,
    recovers_tree,
)

__all__ = [
    "ClusterMethod",
    "ElasticityClustering",
    "KernelInit",
    "LinkageMethod",
    "SimilarityKind",
    "TreeReference",
    "cluster_similarity",
    "clustering_accuracy",
    "cophenetic_agreement",
    "elasticity_dissimilarity",
    "elasticity_linkage",
    "hierarchy_from_linkage",
    "kernel_kmeans",
    "kmeans",
    "local_elasticity_clustering",
    "recovers_tree",
    "spectral_clustering",
]
