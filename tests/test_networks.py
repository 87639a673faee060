"""Tests of simnet.networks: backprop, exact NTK, similarity probes and training.

Fast methods are checked against slow, obvious ones (central finite differences,
per-sample gradients, explicit loops) and random estimates against their analytic
limits (probe similarities -> NTK as eta -> 0, at the predicted rate).
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from simnet import Hierarchy, RunResult
from simnet.errors import ConfigError, DataError, DivergenceError
from simnet.networks import (
    MLP,
    MLPParams,
    NTKOutputs,
    empirical_ntk,
    kernel_similarities,
    ntk_by_gradients,
    output_jacobian,
    probe_similarities,
    train_mlp,
)
from simnet.networks.mlp import output_loss

ACTIVATIONS = ("relu", "tanh", "linear")
HEADS = (("ce", 3), ("bce", 1), ("mse", 1), ("mse", 3))  # (loss, n_outputs)
DEPTHS = ((), (6,), (5, 4))  # 1, 2 and 3 linear layers
CASES = list(itertools.product(ACTIVATIONS, HEADS, DEPTHS))
CASE_IDS = [f"{a}-{loss}{k}-L{len(h) + 1}" for a, (loss, k), h in CASES]


def make_case(activation, head, hidden, *, seed=0, n=5, bias=True):
    loss, k = head
    mlp = MLP(3, hidden, k, activation=activation, loss=loss, bias=bias)
    rng = np.random.default_rng(seed)
    params = mlp.init(rng)
    X = rng.normal(size=(n, 3))
    y = rng.integers(0, mlp.n_classes, size=n)
    return mlp, params, X, y, rng


def rel_err(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# --------------------------------------------------------------------------------------
# the MLP: init, forward, gradients, SGD
# --------------------------------------------------------------------------------------


def test_init_is_pytorch_default_uniform_and_reproducible():
    mlp = MLP(400, (300,), 2)
    p = mlp.init(seed=3)
    for w, b in zip(p.weights, p.biases, strict=True):
        bound = 1.0 / np.sqrt(w.shape[1])
        assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    w0 = p.weights[0]
    bound = 1 / 20.0
    assert abs(w0.mean()) < 0.01 * bound
    assert_allclose(w0.var(), bound**2 / 3, rtol=0.01)  # variance of U(-c, c)
    assert_array_equal(mlp.init(seed=3).flatten(), p.flatten())
    assert not np.array_equal(mlp.init(seed=4).flatten(), p.flatten())


def test_params_flatten_roundtrip_copy_and_counts():
    mlp = MLP(3, (4, 5), 2, bias=False)
    p = mlp.init(0)
    assert p.n_parameters == mlp.n_parameters == 3 * 4 + 4 * 5 + 5 * 2
    assert p.biases == []
    q = p.unflatten(p.flatten() * 2)
    assert_array_equal(q.weights[1], 2 * p.weights[1])
    c = p.copy()
    c.weights[0][0, 0] += 1.0
    assert c.weights[0][0, 0] != p.weights[0][0, 0]
    with pytest.raises(DataError, match=r"'vector' parameter of MLPParams\.unflatten"):
        p.unflatten(np.zeros(3))


@pytest.mark.parametrize(("activation", "head", "hidden"), CASES, ids=CASE_IDS)
def test_gradients_match_central_finite_differences(activation, head, hidden):
    mlp, params, X, y, _ = make_case(activation, head, hidden, bias=len(hidden) != 1)
    loss, grads = mlp.loss_and_grad(params, X, y)
    theta = params.flatten()
    eps = 1e-6
    fd = np.empty_like(theta)
    for p in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[p] += eps
        down[p] -= eps
        lu = mlp.loss_and_grad(params.unflatten(up), X, y)[0]
        ld = mlp.loss_and_grad(params.unflatten(down), X, y)[0]
        fd[p] = (lu - ld) / (2 * eps)
    g = grads.flatten()
    assert_allclose(g, fd, rtol=1e-6, atol=1e-8 * np.abs(g).max())
    assert loss == pytest.approx(
        np.mean(output_loss(mlp.forward(params, X), y, mlp.loss)[0])
    )


def test_losses_are_the_textbook_formulas_and_stable():
    z = np.array([[1.0, -2.0, 0.5], [1000.0, 0.0, -1000.0]])
    y = np.array([2, 0])
    losses, r = output_loss(z, y, MLP(1, (), 3).loss)
    assert losses[0] == pytest.approx(np.log(np.exp(z[0]).sum()) - z[0, 2])
    assert losses[1] == 0.0 and np.isfinite(r).all()
    zb = np.array([[0.3], [800.0], [-800.0]])
    yb = np.array([1, 0, 0])
    bce = MLP(1, (), 1, loss="bce").loss
    losses, r = output_loss(zb, yb, bce)
    p = 1 / (1 + np.exp(-0.3))
    assert losses[0] == pytest.approx(-np.log(p))
    assert_allclose(losses[1:], [800.0, 0.0])
    assert_allclose(r[:, 0], [p - 1, 1.0, 0.0])
    losses, r = output_loss(
        np.array([[0.25]]), np.array([1]), MLP(1, (), 1, "relu", "mse").loss
    )
    assert losses[0] == pytest.approx(0.5625) and r[0, 0] == pytest.approx(-1.5)


def test_forward_penultimate_and_predict():
    mlp = MLP(2, (3,), 1, activation="relu", loss="bce")
    p = MLPParams(
        [
            np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]),
            np.array([[1.0, -1.0, 0.5]]),
        ],
        [np.zeros(3), np.array([0.0])],
    )
    X = np.array([[2.0, 1.0], [-1.0, 0.0]])
    assert_array_equal(mlp.penultimate(p, X), [[2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert_array_equal(mlp.forward(p, X), [[1.0], [0.5]])
    assert_array_equal(mlp.predict(p, X), [1, 1])
    p.biases[1][0] = -0.75  # outputs 0.25 and -0.25
    assert_array_equal(mlp.predict(p, X), [1, 0])


def test_sgd_step_matches_manual_update_with_momentum_and_does_not_mutate():
    mlp, params, X, y, _ = make_case("tanh", ("ce", 3), (4,))
    before = params.flatten()
    s1 = mlp.sgd_step(params, X, y, lr=0.1, momentum=0.9)
    loss0, g0 = mlp.loss_and_grad(params, X, y)
    assert s1.loss == loss0
    assert_allclose(s1.params.flatten(), before - 0.1 * g0.flatten(), rtol=1e-15)
    s2 = mlp.sgd_step(s1.params, X, y, lr=0.1, momentum=0.9, velocity=s1.velocity)
    _, g1 = mlp.loss_and_grad(s1.params, X, y)
    v = 0.9 * g0.flatten() + g1.flatten()
    assert_allclose(s2.velocity.flatten(), v, rtol=1e-14)
    assert_allclose(s2.params.flatten(), s1.params.flatten() - 0.1 * v, rtol=1e-14)
    assert_array_equal(params.flatten(), before)
    assert_allclose(s1.velocity.flatten(), g0.flatten(), rtol=1e-15)  # not mutated


# --------------------------------------------------------------------------------------
# NTK
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("activation", "head", "hidden"), CASES, ids=CASE_IDS)
def test_closed_form_ntk_equals_per_sample_gradients(activation, head, hidden):
    mlp, params, X, _, rng = make_case(activation, head, hidden, bias=len(hidden) != 2)
    X2 = rng.normal(size=(4, 3))
    K = mlp.n_outputs
    for outputs, X_other in itertools.product(NTKOutputs, (None, X2)):
        fast = empirical_ntk(mlp, params, X, X_other, outputs=outputs)
        slow = ntk_by_gradients(mlp, params, X, X_other, outputs=outputs)
        n2 = 5 if X_other is None else 4
        shape = {"trace": (5, n2), "diagonal": (5, n2, K), "full": (5, n2, K, K)}
        assert fast.shape == (shape["trace"] if K == 1 else shape[outputs.value])
        assert rel_err(fast, slow) < 1e-10
        method = empirical_ntk(
            mlp, params, X, X_other, outputs=outputs, method="gradients"
        )
        assert_array_equal(method, slow)
    # the trace and diagonal agree with the full kernel
    full = empirical_ntk(mlp, params, X, X2, outputs="full")
    if K > 1:
        diag = np.einsum("ijkk->ijk", full)
        assert (
            rel_err(empirical_ntk(mlp, params, X, X2, outputs="diagonal"), diag) < 1e-12
        )
        assert rel_err(empirical_ntk(mlp, params, X, X2), diag.sum(-1)) < 1e-12


def test_ntk_is_gram_of_the_output_jacobian_and_symmetric():
    mlp, params, X, _, _ = make_case("tanh", ("ce", 3), (6, 5))
    J = output_jacobian(mlp, params, X)
    assert J.shape == (5, 3, mlp.n_parameters)
    # finite-difference check of one Jacobian row
    eps = 1e-6
    theta = params.flatten()
    up, down = theta.copy(), theta.copy()
    up[7] += eps
    down[7] -= eps
    fd = (
        mlp.forward(params.unflatten(up), X) - mlp.forward(params.unflatten(down), X)
    ) / (2 * eps)
    assert_allclose(J[:, :, 7], fd, rtol=1e-6, atol=1e-10)
    K = empirical_ntk(mlp, params, X)
    assert_array_equal(K, K.T)
    assert np.linalg.eigvalsh(K).min() > -1e-10 * np.abs(K).max()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_two_layer_scalar_ntk_closed_form_of_he_and_su(activation):
    mlp = MLP(4, (50,), 1, activation=activation, loss="mse")
    params = mlp.init(1)
    X = np.random.default_rng(2).normal(size=(7, 4))
    W, b = params.weights[0], params.biases[0]
    a = params.weights[1][0]
    pre = X @ W.T + b
    H = {"relu": np.maximum(pre, 0), "tanh": np.tanh(pre), "linear": pre}[activation]
    D = {"relu": (pre > 0) * 1.0, "tanh": 1 - np.tanh(pre) ** 2, "linear": 1 + 0 * pre}[
        activation
    ]
    expected = (X @ X.T + 1) * (D @ np.diag(a**2) @ D.T) + H @ H.T + 1
    assert rel_err(empirical_ntk(mlp, params, X), expected) < 1e-12


@pytest.mark.parametrize(("loss", "k"), [("mse", 1), ("ce", 3)])
def test_ntk_first_order_identity_of_an_sgd_step(loss, k):
    """f(x_j) moves by -eta * Theta(x_j, x_i) dL/dz(x_i) + O(eta^2)."""
    mlp = MLP(3, (16, 16), k, activation="tanh", loss=loss)
    rng = np.random.default_rng(5)
    params = mlp.init(rng)
    X = rng.normal(size=(6, 3))
    y = rng.integers(0, mlp.n_classes, size=6)
    i = 2
    theta = empirical_ntk(mlp, params, X, X[i : i + 1], outputs="full")
    theta = theta.reshape(6, 1, k, k)[:, 0] if k > 1 else theta[:, 0, None, None]
    _, r = output_loss(mlp.forward(params, X[i : i + 1]), y[i : i + 1], mlp.loss)
    errors = []
    for eta in (1e-2, 1e-3, 1e-4):
        new = mlp.sgd_step(params, X[i : i + 1], y[i : i + 1], lr=eta).params
        dz = mlp.forward(new, X) - mlp.forward(params, X)
        predicted = -eta * np.einsum("jab,b->ja", theta, r[0])
        errors.append(np.abs(dz - predicted).max())
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 50) & (ratios < 200)), ratios  # O(eta^2)


# --------------------------------------------------------------------------------------
# similarity probes
# --------------------------------------------------------------------------------------


def contracted_ntk_limits(mlp, params, Xp, yp, Xt):
    """The eta -> 0 limits written directly from the full NTK of ntk.py."""
    theta = empirical_ntk(mlp, params, Xt, Xp, outputs="full")  # (n_t, n_p, ...)
    k = mlp.n_outputs
    theta = theta[:, :, None, None] if k == 1 else theta
    own = empirical_ntk(mlp, params, Xp, Xp, outputs="full")
    own = own[:, :, None, None] if k == 1 else own
    own = np.einsum("iiab->iab", own)
    z_p, z_t = mlp.forward(params, Xp), mlp.forward(params, Xt)
    _, r = output_loss(z_p, yp, mlp.loss)
    if mlp.loss == "bce":
        sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        c_p, c_t = (sig(z_p) * sig(-z_p))[:, 0], (sig(z_t) * sig(-z_t))[:, 0]
    else:
        c_p, c_t = np.ones(len(Xp)), np.ones(len(Xt))
    v = np.einsum("jiab,ib->ija", theta, r)  # Theta(x_j, x_i) r_i
    v_own = np.einsum("iab,ib->ia", own, r)
    s_ker = np.einsum("ija,ia->ij", v, r) / np.sum(r * r, axis=1)[:, None]
    s_ker *= c_p[:, None] * c_t[None, :]
    s_rel = c_t[None, :] * np.linalg.norm(v, axis=2)
    s_rel /= (c_p * np.linalg.norm(v_own, axis=1))[:, None]
    return s_rel, s_ker


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("head", HEADS, ids=[f"{h}{k}" for h, k in HEADS])
def test_probe_similarities_converge_linearly_to_the_ntk_limits(activation, head):
    mlp, params, X, y, rng = make_case(activation, head, (8, 6), n=5)
    Xt = rng.normal(size=(4, 3))
    s_rel_lim, s_ker_lim = contracted_ntk_limits(mlp, params, X, y, Xt)
    lim = kernel_similarities(mlp, params, X, y, Xt)
    assert rel_err(lim.s_ker, s_ker_lim) < 1e-10
    assert rel_err(lim.s_rel, s_rel_lim) < 1e-10
    errs = []
    for eta in (1e-3, 1e-4, 1e-5):
        sim = probe_similarities(mlp, params, X, y, Xt, eta=eta)
        assert_array_equal(sim.eta, eta)
        errs.append([rel_err(sim.s_ker, s_ker_lim), rel_err(sim.s_rel, s_rel_lim)])
    errs = np.array(errs)
    ratios = errs[:-1] / errs[1:]
    assert np.all((ratios > 7) & (ratios < 13)), ratios  # error O(eta)
    assert errs[-1].max() < 1e-4


def test_scalar_probe_limits_are_the_ntk_and_its_normalised_modulus():
    mlp = MLP(3, (64,), 1, activation="relu", loss="mse")
    rng = np.random.default_rng(7)
    params = mlp.init(rng)
    X = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, size=6)
    K = empirical_ntk(mlp, params, X)
    sim = probe_similarities(mlp, params, X, y, eta=1e-7)
    assert_allclose(sim.s_ker, K, rtol=1e-5)
    assert_allclose(sim.s_rel, np.abs(K) / np.diag(K)[:, None], rtol=1e-5)
    assert_allclose(np.diag(sim.s_rel), 1.0, rtol=1e-12)


def test_probes_are_chunk_independent_and_default_to_he_su_step():
    mlp, params, X, y, rng = make_case("tanh", ("ce", 3), (8, 6), n=7)
    Xt = rng.normal(size=(5, 3))
    a = probe_similarities(mlp, params, X, y, Xt)
    b = probe_similarities(mlp, params, X, y, Xt, chunk_size=2)
    assert_array_equal(a.eta, 1e-6)
    assert_allclose(a.s_rel, b.s_rel, rtol=1e-13)
    assert_allclose(a.s_ker, b.s_ker, rtol=1e-13)


def test_he_su_rule_grows_the_step_while_nothing_changes():
    # No biases, and every hidden unit dead at x_0: its step changes nothing.
    mlp = MLP(2, (3,), 1, activation="relu", loss="mse", bias=False)
    params = MLPParams(
        [np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.ones((1, 3))], []
    )
    X = np.array([[-1.0, -1.0], [1.0, 0.5]])
    sim = probe_similarities(mlp, params, X, [1, 0])
    assert sim.eta[1] == 1e-6
    assert sim.eta[0] == pytest.approx(1e-6 * 3**21)  # first 1e-6 * 3^k >= 1e4
    assert np.isnan(sim.s_rel[0]).all()
    assert_array_equal(sim.s_ker[0], 0.0)  # nonzero loss gradient, no change
    assert np.isfinite(sim.s_rel[1]).all()


# --------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------


def toy(n_per_class=15, k=3, d=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.normal(size=(k, d))
    y = np.repeat(np.arange(k), n_per_class)
    return centres[y] + 0.3 * rng.normal(size=(y.size, d)), y


METRICS = {
    "loss",
    "accuracy",
    "margin_mean",
    "margin_min",
    "nc1",
    "equinorm",
    "equiangularity",
    "angle_deviation",
    "etf_distance",
    "intra_inter_ratio",
}
COLUMNS = {  # the columns simnet.recorder gives the simulator's tables
    "metrics": ["step", "time", "observable", "value"],
    "impact": ["step", "time", "class_a", "class_b", "lca_depth", "value"],
    "elasticity_curve": [
        "step",
        "time",
        "lca_depth",
        "same_class",
        "mean_impact",
        "n_pairs",
    ],
    "class_means": ["step", "time", "class", "coordinate", "value"],
    "similarity": [
        "step",
        "time",
        "sample_i",
        "sample_j",
        "class_i",
        "class_j",
        "lca_depth",
        "s_rel",
        "s_ker",
    ],
}


@pytest.mark.parametrize(("loss", "k"), [("ce", 3), ("bce", 1), ("mse", 1), ("mse", 3)])
def test_training_reduces_the_loss_on_a_separable_toy_set(loss, k):
    X, y = toy(k=max(k, 2))
    mlp = MLP(4, (32,), k, activation="relu", loss=loss)
    result = train_mlp(
        mlp, X, y, steps=600, lr=0.05, batch_size=4, record=[0, 600], seed=1,
        observe=["loss"],
    )  # fmt: skip
    m = result.table("metrics").pivot(
        index="step", columns="observable", values="value"
    )
    assert m.loc[600, "loss"] < 0.3 * m.loc[0, "loss"]
    assert m.loc[600, "accuracy"] == 1.0
    assert m.loc[600, "margin_min"] > 0


def test_train_mlp_tables_columns_and_shapes():
    X, y = toy()
    h = Hierarchy.preset("tiger_cat_car")
    names = ("car", "tiger", "cat")  # label order differs from the hierarchy's
    mlp = MLP(4, (16, 16), 3, activation="tanh")
    result = train_mlp(
        mlp, X, y, steps=60, lr=0.05, record=30, seed=0, hierarchy=h,
        class_names=names, n_probes=6, ntk_samples=12, momentum=0.5,
        sampling="epoch",
        observe=["loss", "separability", "neural_collapse", "impact", "class_means",
                 "similarity"],
    )  # fmt: skip
    assert set(result.tables) == set(COLUMNS)
    for name, cols in COLUMNS.items():
        assert list(result.table(name).columns) == cols
    metrics = result.table("metrics")
    assert set(metrics.observable) == METRICS | {"separable"}
    assert sorted(metrics.step.unique()) == [0, 30, 60]
    impact = result.table("impact")
    assert len(impact) == 3 * 9
    lca = {("tiger", "cat"): 2, ("car", "tiger"): 0, ("cat", "cat"): 3}
    for (a, b), depth in lca.items():
        rows = impact[(impact.class_a == a) & (impact.class_b == b)]
        assert (rows.lca_depth == depth).all()
    sim = result.table("similarity")
    n_p = len(result.state["probe_idx"])
    assert n_p == 6 and len(sim) == 3 * n_p * (n_p - 1)
    assert (sim.sample_i != sim.sample_j).all()
    assert_array_equal(sim.class_i, np.array(names)[y[sim.sample_i]])
    assert len(result.table("class_means")) == 3 * 3 * 3
    assert sorted(result.state) == sorted(
        [
            *(f"weight_{i}" for i in range(3)),
            *(f"bias_{i}" for i in range(3)),
            *("labels", "probe_idx", "ntk_idx"),
        ]
    )
    assert result.metadata["seed_entropy"] == 0
    assert result.config["model"] == "mlp" and result.config["class_names"] == list(
        names
    )
    assert {"numpy", "simnet"} <= set(result.metadata["versions"])


def test_train_mlp_binary_head_flat_hierarchy_and_save_load(tmp_path):
    X, y = toy(k=2)
    result = train_mlp(
        MLP(4, (8,), 1, loss="bce"), X, y, steps=20, lr=0.1, record=10, seed=2,
        n_probes=4, ntk_samples=6,
    )  # fmt: skip
    impact = result.table("impact")
    assert_array_equal(impact.lca_depth, np.tile([1, 0, 0, 1], 3))
    assert set(impact.class_a) == {"0", "1"}
    assert (result.table("class_means").coordinate == 0).all()
    loaded = RunResult.load(result.save(tmp_path / "run", format="csv"))
    for name, frame in result.tables.items():
        pd.testing.assert_frame_equal(loaded.tables[name], frame, check_dtype=False)
    assert loaded.config == result.config


def test_impact_is_the_class_mean_of_the_traced_ntk_times_lr():
    X, y = toy(n_per_class=5)
    mlp = MLP(4, (12,), 3, activation="relu")
    lr = 0.03
    result = train_mlp(
        mlp, X, y, steps=10, lr=lr, record=[10], seed=4, ntk_samples=9,
        observe=["impact"],
    )  # fmt: skip
    state = result.state
    params = MLPParams(
        [state[f"weight_{i}"] for i in range(2)], [state[f"bias_{i}"] for i in range(2)]
    )
    idx = state["ntk_idx"]
    K = empirical_ntk(mlp, params, X[idx])
    expected = np.zeros((3, 3))
    for a, b in itertools.product(range(3), range(3)):
        vals = [K[i, j] for i, j in itertools.product(range(len(idx)), repeat=2)
                if i != j and y[idx[i]] == a and y[idx[j]] == b]  # fmt: skip
        expected[a, b] = np.mean(vals) * lr / 3
    last = result.table("impact").query("step == 10")
    assert_allclose(last.value.to_numpy().reshape(3, 3), expected, rtol=1e-12)
    assert (np.bincount(y[idx]) == 3).all()


def test_train_mlp_is_reproducible_and_seed_dependent():
    X, y = toy(n_per_class=8)
    mlp = MLP(4, (8,), 3)
    kwargs = dict(steps=40, lr=0.05, record=20, n_probes=6, ntk_samples=9)
    a = train_mlp(mlp, X, y, seed=11, **kwargs)
    b = train_mlp(mlp, X, y, seed=11, **kwargs)
    c = train_mlp(mlp, X, y, seed=12, **kwargs)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], check_exact=True)
    for name in a.state:
        assert_array_equal(a.state[name], b.state[name])
    assert not np.array_equal(a.state["weight_0"], c.state["weight_0"])
    # given initial weights are copied, not modified
    p0 = mlp.init(0)
    w0 = p0.weights[0].copy()
    d = train_mlp(mlp, X, y, params=p0, seed=11, **kwargs)
    assert_array_equal(p0.weights[0], w0)
    assert d.config["initial_params"] == "given"


def test_validation_metrics_are_the_held_out_loss_and_accuracy_at_each_record():
    X_all, y_all = toy(n_per_class=11)
    train = np.arange(y_all.size) % 11 < 6  # 6 per class to train, 5 held out
    X, y, X_val, y_val = X_all[train], y_all[train], X_all[~train], y_all[~train]
    mlp = MLP(4, (8,), 3)
    kwargs = dict(steps=300, lr=0.05, record=150, seed=3)
    result = train_mlp(mlp, X, y, validation=(X_val, y_val), **kwargs)
    plain = train_mlp(mlp, X, y, **kwargs)
    m = result.table("metrics").pivot(
        index="step", columns="observable", values="value"
    )
    assert list(m.index) == [0, 150, 300]
    # the held-out set does not change training: same weights as without it
    for name in plain.state:
        assert_array_equal(result.state[name], plain.state[name])
    state = result.state
    params = MLPParams(
        [state[f"weight_{i}"] for i in range(2)], [state[f"bias_{i}"] for i in range(2)]
    )
    z = mlp.forward(params, X_val)
    losses, _ = output_loss(z, y_val, mlp.loss)
    assert_allclose(m.loc[300, "val_loss"], losses.mean(), rtol=1e-12)
    assert m.loc[300, "val_accuracy"] == np.mean(z.argmax(axis=1) == y_val)
    # the held-out set comes from the training distribution: its loss falls too
    assert m.loc[0, "val_loss"] > 2.0 * m.loc[300, "val_loss"]
    assert m.loc[300, "val_accuracy"] == 1.0
    assert result.config["validation_samples"] == 15
    assert plain.config["validation_samples"] is None
    assert "val_loss" not in set(plain.table("metrics").observable)
    # recorded whatever 'observe' lists
    only = train_mlp(
        mlp, X, y, validation=(X_val, y_val), observe=["class_means"], **kwargs
    )
    assert set(only.table("metrics").observable) == {"val_loss", "val_accuracy"}


@pytest.mark.parametrize(
    ("validation", "error", "message"),
    [
        ("data", ConfigError, "'validation' parameter of train_mlp must be a pair "
         "(X_val, y_val) or None. Got str instead."),
        ((np.zeros((3, 4)),), ConfigError, "must be a pair (X_val, y_val)"),
        ((np.zeros((3, 2)), [0, 1, 2]), DataError, "'validation[0]' parameter of "
         "train_mlp must have shape (n, 4)"),
        ((np.zeros((0, 4)), []), DataError, "'validation[0]' parameter of train_mlp "
         "must have at least 1 row."),
        ((np.zeros((3, 4)), [0, 1]), DataError, "'validation[1]' parameter of "
         "train_mlp must have shape (3,)"),
        ((np.zeros((3, 4)), [0, 1, 5]), DataError, "'validation[1]' parameter of "
         "train_mlp must hold class indices"),
        ((np.full((3, 4), np.nan), [0, 1, 2]), DataError, "'validation[0]' parameter "
         "of train_mlp must be finite"),
    ],
)  # fmt: skip
def test_train_mlp_validates_the_validation_set(validation, error, message):
    X, y = toy(n_per_class=4)
    with pytest.raises(error, match=re.escape(message)):
        train_mlp(MLP(4, (8,), 3), X, y, steps=2, lr=0.1, validation=validation)


def test_divergence_names_the_step_and_suggests_a_smaller_lr():
    X, y = toy()
    with pytest.raises(
        DivergenceError, match=r"diverged at step \d+.*smaller 'lr'"
    ) as info:
        train_mlp(MLP(4, (16,), 1, loss="mse"), X * 100, y % 2, steps=200, lr=10.0,
                  seed=0, observe=["loss"])  # fmt: skip
    assert 0 < info.value.step <= 200


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def test_mlp_validates_itself():
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "The 'hidden' parameter of MLP must be an int in [1, inf). Got 0 instead."
        ),
    ):
        MLP(2, (4, 0), 2)
    with pytest.raises(
        ConfigError,
        match="'activation' parameter of MLP must be one of 'relu', 'tanh', 'linear'",
    ):
        MLP(2, (4,), 2, activation="gelu")
    with pytest.raises(
        ConfigError,
        match=r"'n_outputs' parameter of MLP must be an int in \[2, inf\) for the 'ce'",
    ):
        MLP(2, (4,), 1)
    with pytest.raises(
        ConfigError, match="'n_outputs' parameter of MLP must be 1 for the 'bce'"
    ):
        MLP(2, (4,), 2, loss="bce")
    with pytest.raises(ConfigError, match="'input_dim' parameter of MLP"):
        MLP(0, (4,), 2)
    with pytest.raises(ConfigError, match="'bias' parameter of MLP must be a bool"):
        MLP(2, (4,), 2, bias="yes")
    assert MLP(2, [4, 5], 2).hidden == (4, 5)
    assert MLP(2, 4, 2).hidden == (4,)


def test_mlp_methods_validate_data():
    mlp = MLP(3, (4,), 1, loss="bce")
    p = mlp.init(0)
    with pytest.raises(
        DataError,
        match=re.escape("The 'X' parameter of forward must have shape (n, 3)"),
    ):
        mlp.forward(p, np.zeros((2, 2)))
    with pytest.raises(
        DataError,
        match=re.escape("binary labels 0/1 for the 'bce' loss with one output. Got 2 "),
    ):
        mlp.loss_and_grad(p, np.zeros((2, 3)), [0, 2])
    with pytest.raises(
        DataError, match="'y' parameter of loss_and_grad must have shape"
    ):
        mlp.loss_and_grad(p, np.zeros((2, 3)), [0])
    with pytest.raises(
        DataError, match="'params' parameter of forward must have weight shapes"
    ):
        mlp.forward(MLP(3, (5,), 1, loss="bce").init(0), np.zeros((2, 3)))
    with pytest.raises(DataError, match="must be finite"):
        mlp.forward(p, np.full((1, 3), np.nan))
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "The 'lr' parameter of sgd_step must be a float in (0, inf). Got 0 instead."
        ),
    ):
        mlp.sgd_step(p, np.zeros((1, 3)), [1], lr=0)
    with pytest.raises(
        ConfigError,
        match=re.escape("'momentum' parameter of sgd_step must be a float in [0, 1)"),
    ):
        mlp.sgd_step(p, np.zeros((1, 3)), [1], lr=0.1, momentum=1.0)
    ce = MLP(3, (4,), 3)
    with pytest.raises(
        DataError, match=re.escape("must hold class indices in [0, 2]. Got 3")
    ):
        ce.loss_and_grad(ce.init(0), np.zeros((1, 3)), [3])
    with pytest.raises(
        DataError, match=re.escape("must hold integer labels. Got 0.5 instead.")
    ):
        ce.loss_and_grad(ce.init(0), np.zeros((1, 3)), [0.5])


def test_ntk_and_probe_validation():
    mlp = MLP(3, (4,), 3)
    p = mlp.init(0)
    X = np.zeros((2, 3))
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "'outputs' parameter of empirical_ntk must be one of 'trace', 'diagonal', "
            "'full'. Got 'all' instead."
        ),
    ):
        empirical_ntk(mlp, p, X, outputs="all")
    with pytest.raises(ConfigError, match="'method' parameter of empirical_ntk"):
        empirical_ntk(mlp, p, X, method="autograd")
    with pytest.raises(DataError, match="'X2' parameter of empirical_ntk"):
        empirical_ntk(mlp, p, X, np.zeros((2, 4)))
    with pytest.raises(
        ConfigError, match="'mlp' parameter of ntk_by_gradients must be an MLP"
    ):
        ntk_by_gradients("mlp", p, X)
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "The 'eta' parameter of probe_similarities must be a float in (0, inf). "
            "Got -1.0 instead."
        ),
    ):
        probe_similarities(mlp, p, X, [0, 1], eta=-1.0)
    with pytest.raises(DataError, match="'y_probe' parameter of kernel_similarities"):
        kernel_similarities(mlp, p, X, [0, 5])


TRAIN_ERRORS = [
    ({"lr": -1}, ConfigError, "'lr' parameter of train_mlp must be a float in "
     "(0, inf). Got -1 instead."),
    ({"steps": -1}, ConfigError, "'steps' parameter of train_mlp must be an int in "
     "[0, inf). Got -1 "),
    ({"batch_size": 13}, ConfigError, "'batch_size' parameter of train_mlp must be an "
     "int in [1, 12]. "),
    ({"momentum": 1.0}, ConfigError, "'momentum' parameter of train_mlp must be a "
     "float in [0, 1). "),
    ({"sampling": "random"}, ConfigError, "'sampling' parameter of train_mlp must be "
     "one of 'uniform', "),
    ({"n_probes": 1}, ConfigError, "'n_probes' parameter of train_mlp must be an int "
     "in [2, inf). "),
    ({"ntk_samples": 1}, ConfigError, "'ntk_samples' parameter of train_mlp must be "),
    ({"probe_eta": 0.0}, ConfigError, "'probe_eta' parameter of train_mlp must be a "
     "float in (0, inf)."),
    ({"observe": ["feature_count"]}, ConfigError, "'observe' parameter of train_mlp "
     "lists 'feature_count'"),
    ({"record": "often"}, ConfigError, "'record' parameter of train_mlp must be an "),
    ({"record": [10]}, ConfigError, "'record' parameter of train_mlp lists step 10"),
    ({"class_names": ["a", "b"]}, ConfigError, "'class_names' parameter of train_mlp "
     "must hold 3 "),
    ({"hierarchy": "tree"}, ConfigError, "'hierarchy' parameter of train_mlp must be "
     "a Hierarchy"),
    ({"class_names": ["a", "b", "c"], "hierarchy": Hierarchy.preset("tiger_cat_car")},
     ConfigError, "class 'a' is not a class of the hierarchy"),
    ({"y": [0, 1, 2] * 3 + [0, 1, 7]}, DataError, "'y' parameter of train_mlp must "
     "hold class indices"),
    ({"y": [0] * 11 + [1]}, DataError, "at least 2 samples of every class"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "error", "message"), TRAIN_ERRORS)
def test_train_mlp_validation_messages(kwargs, error, message):
    X, y = toy(n_per_class=4)
    args = {"steps": 5, "lr": 0.1, "seed": 0, "y": y, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        train_mlp(MLP(4, (8,), 3), X, **args)


def test_train_mlp_validates_model_and_data():
    X, y = toy(n_per_class=4)
    mlp = MLP(4, (8,), 3)
    with pytest.raises(
        ConfigError, match="'mlp' parameter of train_mlp must be an MLP"
    ):
        train_mlp(object(), X, y, steps=1, lr=0.1)
    with pytest.raises(
        DataError, match=re.escape("'X' parameter of train_mlp must have")
    ):
        train_mlp(mlp, X[:, :2], y, steps=1, lr=0.1)
    with pytest.raises(
        DataError, match="binary labels 0/1 for the 'mse' loss with one"
    ):
        train_mlp(MLP(4, (8,), 1, loss="mse"), X, y, steps=1, lr=0.1)


@pytest.mark.parametrize("seed", range(8))
def test_ntk_agreement_on_random_architectures(seed):
    rng = np.random.default_rng(1000 + seed)
    hidden = tuple(int(w) for w in rng.integers(1, 9, size=rng.integers(0, 4)))
    loss, k = HEADS[seed % len(HEADS)]
    mlp = MLP(
        int(rng.integers(1, 5)),
        hidden,
        k,
        activation=ACTIVATIONS[seed % len(ACTIVATIONS)],
        loss=loss,
        bias=bool(seed % 2),
    )
    params = mlp.init(rng)
    X1 = rng.normal(size=(int(rng.integers(1, 6)), mlp.input_dim))
    X2 = rng.normal(size=(int(rng.integers(1, 6)), mlp.input_dim))
    for outputs in NTKOutputs:
        fast = empirical_ntk(mlp, params, X1, X2, outputs=outputs)
        slow = ntk_by_gradients(mlp, params, X1, X2, outputs=outputs)
        assert_allclose(fast, slow, rtol=1e-10, atol=1e-10 * np.abs(slow).max())
