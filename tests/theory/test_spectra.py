"""Eigen-structure of impact matrices: closed forms against numpy.linalg.eigh."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from strategies import hierarchies

from simnet import Hierarchy, ImpactMatrix, LESDEModel
from simnet.errors import ConfigError
from simnet.runners.lesde import LESDERunner
from simnet.seeding import spawn_generators
from simnet.theory import spectra

STREAMS = ("init", "sampling", "noise", "probes")
rates = st.floats(-3.0, 3.0, allow_nan=False)


def check_eigenpairs(E, vals, vecs):
    k = E.shape[0]
    scale = max(1.0, np.abs(E).max())
    assert_allclose(vecs.T @ vecs, np.eye(k), atol=1e-12)
    assert_allclose(E @ vecs, vecs * vals, atol=1e-10 * scale)
    assert_allclose(np.sort(vals), np.linalg.eigvalsh(E), atol=1e-10 * scale)


@given(k=st.integers(2, 8), alpha=rates, beta=rates)
def test_two_parameter_spectrum_matches_eigh(k, alpha, beta):
    """E = (alpha - beta) I + beta 1 1^T has alpha + (K-1) beta on 1 and alpha - beta
    on 1^perp, with an orthonormal eigenbasis."""
    E = ImpactMatrix.two_parameter(k, alpha, beta).at(0.0)
    check_eigenpairs(E, *spectra.two_parameter_spectrum(k, alpha, beta))


@st.composite
def homogeneous_trees(draw):
    """A random tree and random contrast eigenvalues -> path-homogeneous weights."""
    h = draw(hierarchies(max_nodes=12, dag=False))
    internal = [v for v in h.nodes if h.children(v)]
    lam = {v: draw(rates) for v in internal}
    mu = draw(rates)
    return h, lam, mu


@given(homogeneous_trees())
def test_tree_spectrum_matches_eigh_on_random_trees(case):
    """For a random tree with path-homogeneous weights, the contrast vectors between
    child subtrees of each internal node are eigenvectors of E_w with the prescribed
    eigenvalues, the constant vector has the root eigenvalue, and the K pairs equal
    numpy.linalg.eigh."""
    h, lam, mu = case
    weights = spectra.homogeneous_tree_weights(h, lam, mu)
    spec = spectra.tree_spectrum(h, weights)
    E = h.shared_weight_matrix(weights)
    check_eigenpairs(E, spec.eigenvalues, spec.eigenvectors)
    assert spec.eigenvalues[0] == pytest.approx(mu)
    for val, node in zip(spec.eigenvalues[1:], spec.nodes[1:], strict=True):
        assert val == pytest.approx(lam[node])


@given(
    branching=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    w=st.lists(rates, min_size=4, max_size=4),
)
def test_balanced_tree_per_depth_weights_closed_form(branching, w):
    """Balanced trees with per-depth weights are path-homogeneous: the closed form
    holds without any condition on the weights."""
    h = Hierarchy.balanced(branching)
    weights = w[: h.max_depth + 1]
    spec = spectra.tree_spectrum(h, weights)
    check_eigenpairs(
        h.shared_weight_matrix(weights), spec.eigenvalues, spec.eigenvectors
    )


@given(h=hierarchies(max_nodes=14, dag=True), seed=st.integers(0, 2**16))
def test_shared_weight_matrix_is_psd_for_nonnegative_weights(h, seed):
    """E_w = sum_v w_v a_v a_v^T is PSD for nonnegative weights, trees and DAGs."""
    w = np.random.default_rng(seed).exponential(size=h.n_nodes)
    E = h.shared_weight_matrix(dict(zip(h.nodes, w, strict=True)))
    assert np.linalg.eigvalsh(E).min() >= -1e-10 * max(1.0, np.abs(E).max())


@given(k=st.integers(2, 7), alpha=rates, beta=rates)
def test_flat_tree_is_the_two_parameter_model(k, alpha, beta):
    """Flat tree, w_root = beta, w_leaf = alpha - beta: E_w is the two-parameter E and
    the tree spectrum gives lambda_root = alpha - beta, h(root) = alpha + (K-1) beta."""
    h = Hierarchy.balanced([k])
    spec = spectra.tree_spectrum(h, [beta, alpha - beta])
    assert_allclose(
        h.shared_weight_matrix([beta, alpha - beta]),
        ImpactMatrix.two_parameter(k, alpha, beta).at(0.0),
        atol=1e-12,
    )
    want, _ = spectra.two_parameter_spectrum(k, alpha, beta)
    assert_allclose(spec.eigenvalues, want, atol=1e-12)
    table = spec.splits(h)
    assert table["separates"].tolist() == [bool(alpha - beta > 0)]
    assert spectra.separates_two_parameter(alpha, beta) == bool(alpha > beta)


def test_contrast_modes_grow_at_eigenvalue_over_k():
    """Hierarchical phase boundary: under the I-model ODE with E = E_w the contrast
    between child subtrees of v scales by exp(lambda_v t / K): it grows iff
    lambda_v > 0 (here the finest splits shrink and the top split grows)."""
    h = Hierarchy.balanced([2, 2])
    weights = [0.1, 1.0, -0.4]
    spec = spectra.tree_spectrum(h, weights)
    assert spec.splits(h)["separates"].tolist() == [True, False, False]
    model = LESDEModel(
        ImpactMatrix.constant(h.shared_weight_matrix(weights)),
        integrator="ode",
        surrogate="identity",
        dt=0.01,
        ode_method="rk4",
        hierarchy=h,
    )
    runner = LESDERunner(model, spawn_generators(0, STREAMS)[1])
    m0 = runner.features().copy()
    runner.advance(300)
    proj0 = spec.eigenvectors.T @ m0
    proj = spec.eigenvectors.T @ runner.features()
    assert_allclose(
        proj, np.exp(spec.eigenvalues * 3.0 / 4)[:, None] * proj0, rtol=1e-9
    )


def test_errors():
    """Non-homogeneous weights and DAGs raise ConfigError naming the parameter."""
    h = Hierarchy.from_nested({"root": {"a": ["x", "y"], "z": None}})
    with pytest.raises(
        ConfigError,
        match="'weights' parameter of tree_spectrum is "
        "not path-homogeneous at node 'root'",
    ):
        spectra.tree_spectrum(h, 1.0)
    g = nx.DiGraph([("r", "a"), ("r", "b"), ("a", "c"), ("b", "c"), ("r", "d")])
    with pytest.raises(ConfigError, match="'hierarchy' parameter of tree_spectrum"):
        spectra.tree_spectrum(Hierarchy(g), 1.0)
    with pytest.raises(ConfigError, match="'split_eigenvalues' parameter"):
        spectra.homogeneous_tree_weights(h, {}, 1.0)
