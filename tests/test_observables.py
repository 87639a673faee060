"""Tests of simnet.observables: analytic cases, naive twins and properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linprog
from scipy.special import logsumexp

from simnet import observables
from simnet.errors import ConfigError, DataError, SimnetError
from simnet.observables import (
    accuracy,
    class_means,
    cross_entropy,
    effective_feature_count,
    elasticity_curve,
    intra_inter_ratio,
    is_linearly_separable,
    log_softmax,
    margins,
    neural_collapse,
)

NC_KEYS = {"nc1", "equinorm", "equiangularity", "angle_deviation", "etf_distance"}


# --------------------------------------------------------------------------------------
# naive twins
# --------------------------------------------------------------------------------------


def naive_log_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z)
    return np.log(e / e.sum(axis=1, keepdims=True))


def naive_separable(X: np.ndarray, y: np.ndarray) -> bool:
    """The full LP of the definition, dense, every class present given a (w, b)."""
    classes = np.unique(y)
    n, p = X.shape
    K, q = classes.size, p + 1
    if K < 2:
        return True
    cls = np.searchsorted(classes, y)
    Xa = np.hstack([X, np.ones((n, 1))])
    rows = []
    for i in range(n):
        for k in range(K):
            if k != cls[i]:
                row = np.zeros(K * q)
                row[cls[i] * q : (cls[i] + 1) * q] -= Xa[i]
                row[k * q : (k + 1) * q] += Xa[i]
                rows.append(row)
    res = linprog(
        np.zeros(K * q),
        A_ub=np.array(rows),
        b_ub=-np.ones(len(rows)),
        bounds=(None, None),
        method="highs",
    )
    assert res.status in (0, 2)
    return res.status == 0


def naive_neural_collapse(X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    classes = np.unique(y)
    K = classes.size
    mu = np.array([X[y == c].mean(axis=0) for c in classes])
    mu_g = mu.mean(axis=0)
    centred = mu - mu_g
    residuals = X - mu[np.searchsorted(classes, y)]
    sigma_w = sum(np.outer(r, r) for r in residuals) / len(y)
    sigma_b = sum(np.outer(m, m) for m in centred) / K
    nc1 = np.trace(sigma_w @ np.linalg.pinv(sigma_b, rcond=1e-10)) / K
    norms = np.linalg.norm(centred, axis=1)
    cos = [
        centred[a] @ centred[b] / (norms[a] * norms[b])
        for a in range(K)
        for b in range(a + 1, K)
    ]
    G = np.array(
        [
            [centred[a] @ centred[b] / (norms[a] * norms[b]) for b in range(K)]
            for a in range(K)
        ]
    )
    T = np.eye(K) - np.ones((K, K)) / K
    return {
        "nc1": nc1,
        "equinorm": np.std(norms) / np.mean(norms),
        "equiangularity": np.std(cos),
        "angle_deviation": np.mean(np.abs(np.array(cos) + 1 / (K - 1))),
        "etf_distance": np.linalg.norm(G / np.linalg.norm(G) - T / np.linalg.norm(T)),
    }


def simplex_etf(K: int) -> np.ndarray:
    """Integer simplex ETF in R^K: rows K e_k - 1, centred, cosines -1/(K-1)."""
    return K * np.eye(K) - np.ones((K, K))


# --------------------------------------------------------------------------------------
# log_softmax and cross_entropy
# --------------------------------------------------------------------------------------


def test_log_softmax_rows_are_normalised_and_match_naive():
    z = np.random.default_rng(0).normal(scale=5.0, size=(20, 7))
    out = log_softmax(z)
    assert out.dtype == np.float64
    assert_allclose(logsumexp(out, axis=1), 0.0, atol=1e-12)
    assert_allclose(out, naive_log_softmax(z), rtol=1e-12, atol=1e-12)


def test_log_softmax_single_class_is_zero():
    assert_array_equal(log_softmax([[3.0], [-1e300]]), [[0.0], [0.0]])


def test_cross_entropy_huge_logits_stay_finite():
    z = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0], [1e4, 1e4, 0.0]])
    y = np.array([0, 0, 0])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = -naive_log_softmax(z)[np.arange(3), y]
    assert not np.all(np.isfinite(naive))  # the naive formula overflows
    out = cross_entropy(z, y)
    assert np.all(np.isfinite(out))
    assert_allclose(out, [0.0, 1e4, math.log(2.0)], rtol=1e-15, atol=0)


def test_cross_entropy_keeps_relative_precision_of_tiny_losses():
    # -log(1 / (1 + e^-50)) = log1p(e^-50) ~ e^-50, far below the spacing of 1.0.
    out = cross_entropy([[0.0, -50.0], [10.0, -40.0]], [0, 0])
    assert_allclose(out, np.exp([-50.0, -50.0]), rtol=1e-14)


def test_cross_entropy_of_uniform_logits_is_log_k():
    out = cross_entropy(np.full((3, 5), 2.5), [0, 3, 4])
    assert_allclose(out, np.log(5.0), rtol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda K: st.tuples(
            st.lists(
                st.lists(st.floats(-30, 30), min_size=K, max_size=K),
                min_size=1,
                max_size=8,
            ),
            st.integers(0, 10**6),
        )
    )
)
def test_cross_entropy_is_nonnegative_and_matches_naive(data):
    rows, seed = data
    z = np.array(rows)
    y = np.random.default_rng(seed).integers(0, z.shape[1], size=z.shape[0])
    out = cross_entropy(z, y)
    assert np.all(out >= 0.0)
    assert_allclose(out, -naive_log_softmax(z)[np.arange(len(y)), y], atol=1e-12)
    assert_allclose(out, -log_softmax(z)[np.arange(len(y)), y], rtol=1e-15, atol=0)


# --------------------------------------------------------------------------------------
# accuracy and margins
# --------------------------------------------------------------------------------------


def test_accuracy_hand_case():
    z = [[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [5.0, 0.0, 6.0], [0.0, 0.0, -1.0]]
    assert accuracy(z, [0, 1, 0, 2]) == 0.5


def test_accuracy_ties_go_to_the_first_index():
    z = [[1.0, 1.0], [1.0, 1.0]]
    assert accuracy(z, [0, 0]) == 1.0
    assert accuracy(z, [1, 1]) == 0.0


def test_accuracy_of_no_sample_is_nan():
    assert math.isnan(accuracy(np.zeros((0, 3)), np.zeros(0, dtype=int)))


def test_margins_hand_case():
    z = [[3.0, 1.0, 2.0], [0.0, 5.0, 1.0], [2.0, 2.0, 0.0], [1e4, -1e4, 0.0]]
    assert_array_equal(margins(z, [0, 2, 1, 0]), [1.0, -4.0, 0.0, 1e4])


def test_margins_sign_agrees_with_accuracy():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(200, 4))
    y = rng.integers(0, 4, size=200)
    assert accuracy(z, y) == np.mean(margins(z, y) > 0)


# --------------------------------------------------------------------------------------
# linear separability
# --------------------------------------------------------------------------------------


def test_interleaved_classes_on_a_line_are_not_separable():
    x = np.arange(6.0)[:, None]
    assert not is_linearly_separable(x, [0, 1, 0, 1, 0, 1], 2)
    assert is_linearly_separable(x, [0, 0, 0, 1, 1, 1], 2)


def test_xor_is_not_separable():
    x = [[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]
    assert not is_linearly_separable(x, [0, 0, 1, 1], 2)
    assert is_linearly_separable(x, [0, 1, 2, 3], 4)  # every point its own class


def test_three_classes_on_a_line():
    x = [[0.0], [1.0], [2.0]]
    assert is_linearly_separable(x, [0, 1, 2], 3)  # argmax of 3 lines: 3 intervals
    assert not is_linearly_separable(x, [0, 1, 0], 3)  # class regions are convex


def test_separated_gaussian_blobs_are_separable():
    rng = np.random.default_rng(2)
    centres = 10.0 * rng.normal(size=(5, 3))
    y = rng.integers(0, 5, size=500)
    x = centres[y] + rng.normal(size=(500, 3))
    assert is_linearly_separable(x, y, 5)


def test_overlapping_blobs_are_not_separable():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=300)
    x = rng.normal(size=(300, 2)) + 0.1 * y[:, None]
    assert not is_linearly_separable(x, y, 3)


def test_duplicate_point_with_two_labels_is_not_separable():
    assert not is_linearly_separable([[1.0, 2.0], [1.0, 2.0], [5.0, 5.0]], [0, 1, 1], 2)


def test_absent_classes_are_ignored_and_one_class_is_separable():
    x = np.arange(4.0)[:, None]
    assert is_linearly_separable(x, [2, 2, 6, 6], 7)
    assert not is_linearly_separable(x, [2, 6, 2, 6], 7)
    assert is_linearly_separable(x, [3, 3, 3, 3], 7)
    assert is_linearly_separable(np.zeros((0, 2)), np.zeros(0, dtype=int), 3)


def test_separability_ignores_feature_scale_and_offset():
    x = np.array([[0.0, 0.0], [1.0, 0.2], [0.0, 1.0], [1.0, 1.2]])
    y = [0, 0, 1, 1]
    for scale, offset in [(1e-6, 1e3), (1e6, -3e7), (1.0, 0.0)]:
        assert is_linearly_separable(scale * x + offset, y, 2)
    assert not is_linearly_separable(1e-6 * x + 1e3, [0, 1, 1, 0], 2)


def test_separability_at_the_benchmark_size():
    rng = np.random.default_rng(4)
    n, K, p = 5000, 10, 16
    y = rng.integers(0, K, size=n)
    centres = 10.0 * rng.normal(size=(K, p))
    assert is_linearly_separable(centres[y] + rng.normal(size=(n, p)), y, K)
    assert not is_linearly_separable(rng.normal(size=(n, p)), y, K)


@pytest.mark.parametrize("seed", range(8))
def test_separability_matches_the_full_dense_lp(seed):
    # Planted linear labels with a few flips: separable or not depending on the flips.
    rng = np.random.default_rng(seed)
    n, K, p = 40, 3, 2
    x = rng.normal(size=(n, p))
    y = np.argmax(x @ rng.normal(size=(K, p)).T + rng.normal(size=K), axis=1)
    n_flips = seed % 3
    flip = rng.choice(n, n_flips, replace=False)
    y[flip] = (y[flip] + 1) % K
    assert is_linearly_separable(x, y, K) == naive_separable(x, y)


@pytest.mark.parametrize("seed", range(4))
def test_constraint_generation_agrees_with_the_full_lp_fallback(seed, monkeypatch):
    rng = np.random.default_rng(100 + seed)
    n, K, p = 300, 4, 3
    x = rng.normal(size=(n, p))
    y = np.argmax(x @ rng.normal(size=(K, p)).T, axis=1)
    y[:seed] = (y[:seed] + 1) % K
    fast = is_linearly_separable(x, y, K)
    monkeypatch.setattr(observables, "_MAX_LP_ROUNDS", 0)  # straight to the full LP
    assert is_linearly_separable(x, y, K) == fast
    assert fast == (seed == 0)


def test_undecided_lp_raises_simnet_error(monkeypatch):
    class Stuck:
        status = 4
        x = None

    monkeypatch.setattr(observables, "linprog", lambda *args, **kwargs: Stuck())
    with pytest.raises(SimnetError, match="status 4; separability could not"):
        is_linearly_separable([[0.0], [1.0], [2.0]], [0, 1, 0], 2)


_small_int = st.integers(-5, 5)


@settings(max_examples=40, deadline=None)
@given(
    points=st.lists(st.tuples(_small_int, _small_int), min_size=2, max_size=10),
    labels_seed=st.integers(0, 10**6),
    matrix=st.tuples(_small_int, _small_int, _small_int, _small_int).filter(
        lambda m: m[0] * m[3] - m[1] * m[2] != 0
    ),
    shift=st.tuples(_small_int, _small_int),
)
def test_separability_is_invariant_under_invertible_affine_maps(
    points, labels_seed, matrix, shift
):
    x = np.array(points, dtype=float)
    y = np.random.default_rng(labels_seed).integers(0, 3, size=len(points))
    A = np.array(matrix, dtype=float).reshape(2, 2)
    mapped = x @ A.T + np.array(shift, dtype=float)  # exact: small integers
    assert is_linearly_separable(x, y, 3) == is_linearly_separable(mapped, y, 3)


# --------------------------------------------------------------------------------------
# class means and neural collapse
# --------------------------------------------------------------------------------------


def test_class_means_hand_case_with_absent_class():
    x = [[0.0, 2.0], [2.0, 4.0], [5.0, 5.0], [1.0, -1.0]]
    out = class_means(x, [0, 0, 2, 2], 4)
    assert_array_equal(out, [[1.0, 3.0], [np.nan, np.nan], [3.0, 2.0], [np.nan] * 2])


def test_class_means_match_naive():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 3))
    y = rng.integers(0, 4, size=50)
    naive = np.array([x[y == k].mean(axis=0) for k in range(4)])
    assert_allclose(class_means(x, y, 4), naive, rtol=1e-13)


@pytest.mark.parametrize("K", [2, 3, 5])
def test_neural_collapse_vanishes_on_an_exact_simplex_etf(K):
    offset = np.arange(K, dtype=float) + 7.0
    x = np.repeat(3.0 * simplex_etf(K) + offset, 4, axis=0)
    y = np.repeat(np.arange(K), 4)
    nc = neural_collapse(x, y, K)
    assert set(nc) == NC_KEYS
    assert nc["nc1"] == 0.0
    for key in ("equinorm", "equiangularity", "angle_deviation", "etf_distance"):
        assert nc[key] == pytest.approx(0.0, abs=1e-12), key


def test_neural_collapse_of_a_rotated_etf_in_higher_dimension():
    K, p = 4, 9
    basis, _ = np.linalg.qr(np.random.default_rng(6).normal(size=(p, K)))
    x = np.repeat(simplex_etf(K) @ basis.T, 3, axis=0)
    y = np.repeat(np.arange(K), 3)
    for key, value in neural_collapse(x, y, K).items():
        assert value == pytest.approx(0.0, abs=1e-12), key


def test_nc1_two_classes_in_one_dimension_is_half_the_variance_ratio():
    s = 0.3
    # Class means -1 and +1, within-class spread s along the means, any spread in y.
    x = np.array([[-1 - s, 5.0], [-1 + s, -5.0], [1 - s, 2.0], [1 + s, -2.0]])
    nc = neural_collapse(x, [0, 0, 1, 1], 2)
    # Sigma_W = s^2 along e1, Sigma_B = e1 e1^T: tr(Sigma_W Sigma_B^+) / K = s^2 / 2.
    assert nc["nc1"] == pytest.approx(s**2 / 2, rel=1e-12)
    assert nc["equinorm"] == pytest.approx(0.0, abs=1e-15)
    assert nc["equiangularity"] == 0.0
    assert nc["angle_deviation"] == pytest.approx(0.0, abs=1e-15)
    assert nc["etf_distance"] == pytest.approx(0.0, abs=1e-15)


def test_neural_collapse_uses_the_mean_of_class_means():
    # One sample of class 0 at -1, three of class 1 at +1: the balanced global mean is
    # 0, so both centred means have norm 1 (the sample mean, 0.5, would not).
    x = np.array([[-1.0], [1.0], [1.0], [1.0]])
    assert neural_collapse(x, [0, 1, 1, 1], 2)["equinorm"] == 0.0


def test_neural_collapse_ignores_absent_classes():
    K = 3
    x = np.repeat(simplex_etf(K), 2, axis=0)
    y = np.repeat([0, 2, 4], 2)
    for key, value in neural_collapse(x, y, 6).items():
        assert value == pytest.approx(0.0, abs=1e-12), key


def test_neural_collapse_matches_naive_on_random_features():
    rng = np.random.default_rng(7)
    K, p, n = 4, 6, 80
    y = rng.integers(0, K, size=n)
    x = rng.normal(size=(K, p))[y] * 2.0 + rng.normal(size=(n, p))
    got = neural_collapse(x, y, K)
    want = naive_neural_collapse(x, y)
    for key in NC_KEYS:
        assert got[key] == pytest.approx(want[key], rel=1e-9), key


def test_neural_collapse_is_nan_below_two_classes_or_coincident_means():
    x = np.random.default_rng(8).normal(size=(6, 2))
    for nc in (
        neural_collapse(x, np.zeros(6, dtype=int), 3),
        neural_collapse(np.ones((4, 2)), [0, 0, 1, 1], 2),
        neural_collapse(np.zeros((0, 2)), np.zeros(0, dtype=int), 2),
        neural_collapse(np.zeros((4, 0)), [0, 0, 1, 1], 2),
    ):
        assert set(nc) == NC_KEYS
        assert all(math.isnan(v) for v in nc.values())


def test_neural_collapse_angles_are_nan_when_a_centred_mean_vanishes():
    nc = neural_collapse([[-1.0], [0.0], [1.0]], [0, 1, 2], 3)
    assert nc["nc1"] == 0.0
    assert nc["equinorm"] == pytest.approx(np.std([1, 0, 1]) / np.mean([1, 0, 1]))
    assert all(
        math.isnan(nc[k]) for k in ("equiangularity", "angle_deviation", "etf_distance")
    )


# --------------------------------------------------------------------------------------
# impact-matrix summaries
# --------------------------------------------------------------------------------------


def test_intra_inter_ratio_of_the_two_parameter_form_is_alpha_over_beta():
    K, alpha, beta = 5, 3.0, 0.75
    E = (alpha - beta) * np.eye(K) + beta * np.ones((K, K))
    assert intra_inter_ratio(E) == pytest.approx(alpha / beta, rel=1e-15)
    assert intra_inter_ratio([[4.0, 1.0], [3.0, 2.0]]) == 1.5


def test_intra_inter_ratio_with_zero_off_diagonal():
    assert intra_inter_ratio(np.eye(3)) == math.inf
    assert intra_inter_ratio(-np.eye(3)) == -math.inf
    assert math.isnan(intra_inter_ratio(np.zeros((3, 3))))


def test_elasticity_curve_on_a_known_matrix():
    # Tree root -> {a -> {0, 1}, b -> {2, 3}}: LCA depth 2 on the diagonal, 1 for
    # siblings, 0 across the root.
    lca = np.array([[2, 1, 0, 0], [1, 2, 0, 0], [0, 0, 2, 1], [0, 0, 1, 2]])
    E = np.array(
        [
            [5.0, 3.0, 1.0, 0.0],
            [3.0, 7.0, 2.0, 1.0],
            [1.0, 2.0, 4.0, 2.0],
            [0.0, 1.0, 4.0, 6.0],
        ]
    )
    expected = pd.DataFrame(
        {
            "lca_depth": np.array([0, 1, 2], dtype=np.int64),
            "same_class": np.array([False, False, True]),
            "mean_impact": [
                (1 + 0 + 2 + 1 + 1 + 2 + 0 + 1) / 8,
                (3 + 3 + 2 + 4) / 4,
                5.5,
            ],
            "n_pairs": np.array([8, 4, 4], dtype=np.int64),
        }
    )
    pd.testing.assert_frame_equal(elasticity_curve(E, lca), expected)


def test_elasticity_curve_sorts_by_same_class_then_depth():
    lca = np.array([[3, 0, 1], [0, 1, 0], [1, 0, 2]])
    out = elasticity_curve(np.arange(9.0).reshape(3, 3), lca)
    assert out["same_class"].tolist() == [False, False, True, True, True]
    assert out["lca_depth"].tolist() == [0, 1, 1, 2, 3]
    assert out["n_pairs"].sum() == 9
    assert out.index.equals(pd.RangeIndex(5))


# --------------------------------------------------------------------------------------
# effective feature count
# --------------------------------------------------------------------------------------


def test_effective_feature_count_of_uniform_amounts_is_the_count():
    depth = np.array([0, 1, 1, 2, 2, 2, 2, 2])
    out = effective_feature_count(np.full(8, 0.7), depth)
    assert_allclose(out, [1.0, 2.0, 5.0], rtol=1e-14)
    # Signs are ignored, and huge amounts do not overflow.
    assert_allclose(
        effective_feature_count(-1e300 * np.ones(8), depth), out, rtol=1e-14
    )


def test_effective_feature_count_hand_cases():
    amounts = [2.0, 1.0, 3.0, 0.0, 0.0, 5.0, 0.0]
    depth = [0, 1, 1, 2, 2, 4, 4]
    q = np.array([0.25, 0.75])
    want = [1.0, np.exp(-np.sum(q * np.log(q))), 0.0, 0.0, 1.0]
    assert_allclose(effective_feature_count(amounts, depth), want, rtol=1e-14)
    assert effective_feature_count([], []).shape == (0,)


# --------------------------------------------------------------------------------------
# error paths
# --------------------------------------------------------------------------------------

_Z = np.zeros((3, 2))
_Y = np.array([0, 1, 0])

BAD_INPUTS = [
    (log_softmax, ([1.0, 2.0],), r"'logits' parameter of log_softmax.*shape \(2,\)"),
    (log_softmax, (np.zeros((2, 0)),), r"'logits'.*at least 1.*shape \(2, 0\)"),
    (cross_entropy, (np.zeros(3), _Y), r"'logits' parameter of cross_entropy.*\(3,\)"),
    (cross_entropy, (_Z, [0, 1]), r"'labels'.*shape \(3,\).*Got shape \(2,\)"),
    (cross_entropy, (_Z, np.zeros((3, 1), int)), r"'labels'.*Got shape \(3, 1\)"),
    (cross_entropy, (_Z, [0, 2, 0]), r"'labels'.*in \[0, 1\]\. Got 2"),
    (cross_entropy, (_Z, [0, -1, 0]), r"'labels'.*Got -1"),
    (cross_entropy, (_Z, [0.0, 0.5, 1.0]), r"'labels'.*integers\. Got the value 0.5"),
    (cross_entropy, (_Z, np.array(["a", "b", "c"])), r"'labels'.*integers.*dtype"),
    (cross_entropy, ([[np.nan, 0.0]], [0]), r"'logits'.*finite"),
    (
        accuracy,
        (np.zeros((2, 2, 2)), _Y),
        r"'logits' parameter of accuracy.*\(2, 2, 2\)",
    ),
    (accuracy, (_Z, [0, 1, 0, 1]), r"'labels' parameter of accuracy.*\(4,\)"),
    (margins, (np.zeros((3, 1)), _Y), r"'logits' parameter of margins.*\(3, 1\)"),
    (margins, ([[1.0, 2.0], [1.0]], [0, 1]), r"'logits'.*cannot convert"),
    (
        is_linearly_separable,
        (np.zeros(3), _Y, 2),
        r"'features' parameter of is_linearly_separable.*\(3,\)",
    ),
    (is_linearly_separable, (_Z, [0, 1], 2), r"'labels'.*Got shape \(2,\)"),
    (is_linearly_separable, (_Z, _Y, 1), r"'labels'.*in \[0, 0\]\. Got 1"),
    (is_linearly_separable, ([[np.inf, 0.0]], [0], 1), r"'features'.*finite"),
    (neural_collapse, (np.zeros((3, 2, 1)), _Y, 2), r"'features'.*\(3, 2, 1\)"),
    (neural_collapse, (_Z, [0, 1], 2), r"'labels' parameter of neural_collapse"),
    (class_means, (np.zeros(3), _Y, 2), r"'features' parameter of class_means.*\(3,\)"),
    (class_means, (_Z, [0, 1, 5], 2), r"'labels'.*Got 5"),
    (intra_inter_ratio, (np.zeros((2, 3)),), r"'E' parameter.*Got shape \(2, 3\)"),
    (intra_inter_ratio, ([[1.0]],), r"'E'.*K >= 2.*Got shape \(1, 1\)"),
    (intra_inter_ratio, (np.zeros(4),), r"'E'.*2-D.*Got shape \(4,\)"),
    (elasticity_curve, (np.zeros((2, 3)), np.zeros((2, 3), int)), r"'E'.*\(2, 3\)"),
    (elasticity_curve, (np.eye(2), np.zeros((3, 3), int)), r"'lca_depth'.*\(3, 3\)"),
    (elasticity_curve, (np.eye(2), np.full((2, 2), 0.5)), r"'lca_depth'.*integers"),
    (elasticity_curve, (np.eye(2), np.zeros(4, int)), r"'lca_depth'.*\(4,\)"),
    (effective_feature_count, (np.ones((2, 2)), [0, 1]), r"'amounts'.*\(2, 2\)"),
    (effective_feature_count, ([1.0, 2.0], [0]), r"'depth'.*Got shape \(1,\)"),
    (effective_feature_count, ([1.0, 2.0], [0, -1]), r"'depth'.*non-negative"),
    (effective_feature_count, ([1.0, np.nan], [0, 1]), r"'amounts'.*finite"),
]


@pytest.mark.parametrize(
    ("func", "args", "match"),
    BAD_INPUTS,
    ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD_INPUTS)],
)
def test_bad_inputs_raise_data_error(func, args, match):
    with pytest.raises(DataError, match=match):
        func(*args)


@pytest.mark.parametrize("func", [is_linearly_separable, neural_collapse, class_means])
@pytest.mark.parametrize("n_classes", [0, 2.0, True])
def test_bad_n_classes_raises_config_error(func, n_classes):
    with pytest.raises(ConfigError, match="'n_classes' parameter"):
        func(_Z, _Y, n_classes)


def test_inputs_are_not_mutated():
    z = np.array([[1.0, 3.0], [2.0, 0.0]])
    x = z.copy()
    log_softmax(z)
    cross_entropy(z, [0, 1])
    margins(z, [0, 1])
    is_linearly_separable(z, [0, 1], 2)
    neural_collapse(z, [0, 1], 2)
    assert_array_equal(z, x)
