"""Behaviour of the two particle models: the identities and claims of MODEL.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from strategies import hierarchies, seeds

import simnet
from simnet import HFSModel, Hierarchy, ImpactMatrix, LESDEModel, PowerLaw
from simnet.kernels.hfs import hfs_sgd_steps
from simnet.runners.hfs import HFSRunner
from simnet.runners.lesde import LESDERunner
from simnet.seeding import spawn_generators
from simnet.theory.le_ode import identity_ode_solution, projected_ode_coordinates

STREAMS = ("init", "sampling", "noise", "probes")


def _one_hfs_step(model, state, i):
    """Apply one plain SGD step on sample i to a copy of ``state``; return it."""
    s = state.copy()
    rates = model.node_rates()
    ptr, idx = model.hierarchy.ancestor_index_arrays()
    bad = hfs_sgd_steps(
        s.lam,
        s.phi,
        s.u,
        s.labels,
        ptr,
        idx,
        rates["eta_phi"],
        rates["eta_lam"],
        rates["decay"],
        model.eta_u,
        model.gamma,
        0.0,
        s.head,
        np.array([[i]]),
        np.ones(1),
        model.n_classes,
        np.random.default_rng(0),
        0,
        np.zeros_like(s.phi),
        np.full(s.phi.shape[0], -1),
        np.full(s.u.shape[0], -1),
    )
    assert bad == -1
    return s


@given(h=hierarchies(), seed=seeds, head_random=st.booleans())
def test_first_order_step_is_the_tangent_kernel(h, seed, head_random):
    """MODEL.md section 2: to first order, an SGD step on sample i moves particle j by
    -K_ij g_i with K_ij = sum_{shared v} (eta_phi lam_v^2 I + eta_lam phi_v phi_v^T)
    + [i = j] eta_u gamma^2 I. Checked by finite differences: the error of the
    prediction is second order in the rates (it shrinks 4x when they are halved)."""
    rng = np.random.default_rng(seed)
    d = h.max_depth + 1
    base = {
        "eta_phi": rng.uniform(0.5, 1.0, d),
        "eta_lam": rng.uniform(0.5, 1.0, d),
        "eta_u": float(rng.uniform(0.5, 1.0)),
    }
    k = h.n_classes
    p = 3 if head_random else k
    lam0 = rng.uniform(0.5, 1.5, d).tolist()
    state = i = None
    errors = []
    for eps in (1e-3, 5e-4):
        model = HFSModel(
            h,
            n_per_class=2,
            p=p,
            head="random" if head_random else "identity",
            eta_phi=(eps * base["eta_phi"]).tolist(),
            eta_lam=(eps * base["eta_lam"]).tolist(),
            eta_u=eps * base["eta_u"],
            gamma=0.7,
            lam0=lam0,
            decay=0.0,
        )
        if state is None:
            state = model.initial_state(np.random.default_rng(seed))
            i = int(rng.integers(model.n_samples))
        x0 = state.features()
        g, _ = ref.ce_grad(x0[i], state.head, int(state.labels[i]))
        moved = _one_hfs_step(model, state, i).features() - x0
        predicted = np.array(
            [-model.tangent_kernel(state, i, j) @ g for j in range(model.n_samples)]
        )
        error = np.abs(moved - predicted).max()
        assert error <= 1e-2 * np.abs(predicted).max()
        errors.append(error)
    if errors[0] > 1e-15:
        assert 3.0 < errors[0] / errors[1] < 5.0


@given(
    h=hierarchies(),
    seed=seeds,
    batch_size=st.integers(1, 3),
    sampling=st.sampled_from(["uniform", "epoch"]),
)
def test_hfs_with_frozen_amounts_is_the_discrete_lesde(h, seed, batch_size, sampling):
    """MODEL.md section 3, consistency: HFS with eta_lam = 0, no instance features and
    no noise follows the same trajectory as the discrete LE-SDE with
    E = E_w, w_v = eta_phi(v) lam_v^2, for the same sample sequence."""
    rng = np.random.default_rng(seed)
    d = h.max_depth + 1
    hfs = HFSModel(
        h,
        n_per_class=3,
        eta_phi=rng.uniform(0.05, 0.4, d).tolist(),
        eta_lam=0.0,
        lam0=rng.uniform(0.3, 1.5, d).tolist(),
        gamma=0.0,
        decay=0.0,
        batch_size=batch_size,
        sampling=sampling,
    )
    rates = hfs.node_rates()
    e = h.shared_weight_matrix(
        dict(zip(h.nodes, rates["eta_phi"] * rates["lam0"] ** 2, strict=True))
    )
    lesde = LESDEModel(
        ImpactMatrix.constant(e),
        hierarchy=h,
        n_per_class=3,
        batch_size=batch_size,
        sampling=sampling,
    )
    r_hfs = HFSRunner(hfs, spawn_generators(seed, STREAMS)[1])
    r_le = LESDERunner(lesde, spawn_generators(seed, STREAMS)[1])
    r_le.state.base[:] = r_hfs.features()
    for chunk in (1, 7, 30):
        r_hfs.advance(chunk)
        r_le.advance(chunk)
        assert_allclose(r_le.features(), r_hfs.features(), rtol=1e-10, atol=1e-12)


def _sibling_classes(h):
    for v in h.nodes:
        kids = [c for c in h.children(v) if c in h.class_index]
        if len(kids) >= 2:
            return h.class_index[kids[0]], h.class_index[kids[1]]
    return None


@given(
    seed=seeds,
    integrator=st.sampled_from(["sgd", "sde"]),
    branching=st.sampled_from([[2, 2], [3, 2], [2, 3, 2]]),
)
def test_siblings_without_a_class_specific_impact_never_separate(
    seed, integrator, branching
):
    """If two sibling classes k, k' have E[k, k] = E[k, k'] (no weight on their own
    leaves), every SGD/SDE step moves all their particles by the same amount, so their
    relative configuration is frozen: if they start mixed they are never separated."""
    h = Hierarchy.balanced(branching)
    weights = {v: (0.0 if v in h.class_index else 0.3) for v in h.nodes}
    impact = ImpactMatrix.from_hierarchy(h, weights)
    model = LESDEModel(
        impact,
        hierarchy=h,
        integrator=integrator,
        n_per_class=15,
        dt=1.0 if integrator == "sgd" else 0.1,
    )
    runner = LESDERunner(model, spawn_generators(seed, STREAMS)[1])
    a, b = _sibling_classes(h)
    members = np.flatnonzero(np.isin(runner.labels, [a, b]))
    x0 = runner.features()[members].copy()
    runner.advance(300)
    moved = runner.features()[members] - x0
    assert_allclose(moved, np.broadcast_to(moved[0], moved.shape), rtol=0, atol=1e-10)
    sub_labels = runner.labels[members]
    assert simnet.observables.is_linearly_separable(x0, sub_labels, h.n_classes) == (
        simnet.observables.is_linearly_separable(
            runner.features()[members], sub_labels, h.n_classes
        )
    )


def _lesde_metrics(k, alpha, beta, seed):
    model = LESDEModel(
        ImpactMatrix.two_parameter(k, alpha, beta),
        integrator="sde",
        dt=0.05,
        sigma=0.1,
        n_per_class=30,
    )
    result = simnet.simulate(
        model, steps=2000, record=2000, seed=seed, observe=["loss", "neural_collapse"]
    )
    table = result.table("metrics").pivot(
        index="step", columns="observable", values="value"
    )
    return table.iloc[0], table.iloc[-1]


@settings(max_examples=6)
@given(k=st.integers(3, 5), seed=seeds)
def test_locally_elastic_impacts_separate_and_collapse(k, seed):
    """Phase transition (LE-SDE, Zhang, Wang & Su 2021): with alpha > beta the classes
    separate (training accuracy -> 1, loss -> 0) and the class means approach the
    simplex ETF (NC1 and the ETF distance fall). Thresholds are tolerant: after
    t = 100 with alpha = 1, beta = 0 we require accuracy >= 0.95, a 5x loss drop, and
    NC1 and ETF distance below half their initial values."""
    first, last = _lesde_metrics(k, 1.0, 0.0, seed)
    assert last["accuracy"] >= 0.95
    assert last["loss"] < first["loss"] / 5
    assert last["nc1"] < 0.5 * first["nc1"]
    assert last["etf_distance"] < 0.5 * first["etf_distance"]


@settings(max_examples=6)
@given(k=st.integers(3, 5), seed=seeds)
def test_non_elastic_impacts_do_not_separate(k, seed):
    """Phase transition, other side: with alpha < beta the relative drift pushes every
    class away from its own label, so training accuracy falls to (at most) chance and
    the loss grows. (The class means still form an ETF, anti-aligned with the labels,
    so NC metrics alone do not tell the two phases apart.)"""
    first, last = _lesde_metrics(k, 0.4, 1.0, seed)
    assert last["accuracy"] <= 1.0 / k
    assert last["loss"] > first["loss"]


@given(h=hierarchies(dag=False), seed=seeds)
def test_tree_impact_is_symmetric_and_ordered_by_lca_depth(h, seed):
    """E from a tree with positive node weights is symmetric and, in each row, larger
    for class pairs whose lowest common ancestor is deeper; this holds for the
    hierarchy-derived LE-SDE matrix and for the HFS impact matrix at any state."""
    rng = np.random.default_rng(seed)
    lca = h.lca_depth_matrix()
    weights = dict(zip(h.nodes, rng.uniform(0.1, 1.0, h.n_nodes), strict=True))
    e_w = ImpactMatrix.from_hierarchy(h, weights).at(0.0)
    model = HFSModel(h, n_per_class=1, eta_phi=0.1, eta_lam=0.1)
    e_hfs = model.impact_matrix(model.initial_state(rng))
    for e in (e_w, e_hfs):
        assert_allclose(e, e.T, rtol=1e-12)
        for k in range(h.n_classes):
            deeper = lca[k][:, None] > lca[k][None, :]
            assert np.all((e[k][:, None] > e[k][None, :])[deeper])


def test_hfs_impact_matrix_is_the_class_level_trace_of_the_kernel():
    h = Hierarchy.preset("seaplane_dag")
    model = HFSModel(h, n_per_class=2, eta_phi=[0.1, 0.2, 0.3, 0.4], eta_lam=0.05)
    state = model.initial_state(np.random.default_rng(3))
    e = model.impact_matrix(state)
    for i in range(model.n_samples):
        for j in range(model.n_samples):
            if i != j:
                kern = model.tangent_kernel(state, i, j)
                assert_allclose(
                    np.trace(kern) / model.dim, e[state.labels[i], state.labels[j]]
                )


@pytest.mark.parametrize("method,order", [("euler", 1), ("rk4", 4)])
def test_le_ode_converges_to_the_identity_closed_form(method, order):
    """I-model LE-ODE with time-varying alpha(t), beta(t): the numerical solution at
    t = 2 converges to exp((A-B)/K)[I + (e^B - 1)/K 11^T] m0 with the method's order."""
    alpha, beta = PowerLaw(1.0, 0.5), PowerLaw(0.4, 1.2)
    impact = ImpactMatrix.two_parameter(3, alpha, beta)
    errors = []
    for n_steps in (40, 80, 160):
        model = LESDEModel(
            impact,
            integrator="ode",
            surrogate="identity",
            dt=2.0 / n_steps,
            ode_method=method,
        )
        runner = LESDERunner(model, spawn_generators(0, STREAMS)[1])
        m0 = runner.features().copy()
        runner.advance(n_steps)
        exact = identity_ode_solution(
            m0, float(alpha.integral(2.0)), float(beta.integral(2.0))
        )
        errors.append(np.abs(runner.features() - exact).max())
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(rates - order) < 0.3), rates


def test_le_ode_projected_model_follows_its_closed_form():
    """L model: the coordinates s_k = <m_k, d_k>/|d_k|^2 follow the d-mode rate
    (A - B)/K and the f-mode rate (A + B/(K-1))/K."""
    alpha, beta = PowerLaw(1.0, 0.3), PowerLaw(0.5, 0.8)
    k = 4
    model = LESDEModel(
        ImpactMatrix.two_parameter(k, alpha, beta),
        integrator="ode",
        surrogate="projected",
        dt=0.005,
        ode_method="rk4",
    )
    runner = LESDERunner(model, spawn_generators(1, STREAMS)[1])
    d = np.eye(k) - 1.0 / k
    coords = lambda m: np.sum(m * d, axis=1) / np.sum(d * d, axis=1)  # noqa: E731
    s0 = coords(runner.features())
    runner.advance(400)
    exact = projected_ode_coordinates(
        s0, float(alpha.integral(2.0)), float(beta.integral(2.0))
    )
    assert_allclose(coords(runner.features()), exact, rtol=1e-8)


@pytest.mark.parametrize("make", ["hfs", "lesde_sgd_noisy", "lesde_sde"])
def test_same_seed_same_bits_and_record_schedule_independence(make):
    h = Hierarchy.preset("tiger_cat_car")
    if make == "hfs":
        model = HFSModel(h, n_per_class=10, sigma=0.01, batch_size=2, sampling="epoch")
    elif make == "lesde_sgd_noisy":
        model = LESDEModel(
            ImpactMatrix.from_hierarchy(h, 0.05),
            hierarchy=h,
            sigma=0.01,
            n_per_class=10,
        )
    else:
        model = LESDEModel(
            ImpactMatrix.two_parameter(3, 1.0, 0.2),
            integrator="sde",
            dt=0.05,
            sigma=0.1,
            n_per_class=10,
        )
    a = simnet.simulate(model, steps=300, record=100, seed=11)
    b = simnet.simulate(model, steps=300, record=100, seed=11)
    for name in a.tables:
        assert a.table(name).equals(b.table(name))
    for name in a.state:
        assert_array_equal(a.state[name], b.state[name])
    c = simnet.simulate(model, steps=300, record=7, seed=11, observe=["loss"])
    if make != "lesde_sgd_noisy":  # lazily realised noise depends on observation times
        assert_array_equal(c.state[next(iter(c.state))], a.state[next(iter(a.state))])
    d = simnet.simulate(model, steps=300, record=100, seed=12)
    assert not np.array_equal(
        d.state[next(iter(d.state))], a.state[next(iter(a.state))]
    )


def test_divergence_names_the_step_and_the_rate():
    h = Hierarchy.preset("tiger_cat_car")
    model = HFSModel(h, n_per_class=5, eta_phi=[50.0, 1.0, 1.0, 1.0], eta_lam=5.0)
    with pytest.raises(
        simnet.DivergenceError, match=r"diverged at step \d+.*eta_phi"
    ) as info:
        simnet.simulate(model, steps=5000, seed=0)
    assert info.value.step >= 0
    ode = LESDEModel(
        ImpactMatrix.two_parameter(3, 50.0, 0.0),
        integrator="ode",
        surrogate="identity",
        dt=1.0,
    )
    with pytest.raises(simnet.DivergenceError, match=r"step \d+.*impact matrix.*dt"):
        simnet.simulate(ode, steps=5000, seed=0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n_per_class": 0}, "'n_per_class' parameter of HFSModel must be an int in"),
        ({"n_per_class": [1, 2]}, "list of 3 positive ints"),
        ({"p": 5}, "'p' parameter of HFSModel must equal the number of classes"),
        ({"head": "random"}, "'p' parameter of HFSModel is required"),
        ({"head": "bias"}, "'head' parameter of HFSModel must be one of"),
        (
            {"head": np.ones((2, 4))},
            r"'head' parameter of HFSModel must have shape \(3, any\)",
        ),
        (
            {"eta_phi": -0.1},
            "'eta_phi' parameter of HFSModel must be nonnegative.*node 'root'",
        ),
        ({"eta_lam": [0.1, 0.2]}, "'eta_lam' parameter of HFSModel.*4 entries"),
        ({"decay": {"root": 0.1}}, "'decay' parameter of HFSModel.*no value for node"),
        ({"decay": 1.5}, "'decay' parameter of HFSModel must be in"),
        ({"gamma": -1.0}, "'gamma' parameter of HFSModel must be a float in"),
        ({"sigma": float("nan")}, "'sigma' parameter of HFSModel"),
        ({"batch_size": 100}, "'batch_size' parameter of HFSModel must be an int in"),
        ({"sampling": "random"}, "'sampling' parameter of HFSModel must be one of"),
        ({"init_means": [[1.0, 2.0]]}, "'init_means' parameter of HFSModel"),
        (
            {"init_means": np.zeros((3, 3)), "lam0": [1.0, 1.0, 0.0, 0.0]},
            "'lam0' parameter of HFSModel must be nonzero at every class node",
        ),
        ({"rate_scale": "fast"}, "rate_scale"),
    ],
)
def test_hfs_model_validation(kwargs, match):
    with pytest.raises(simnet.ConfigError, match=match):
        HFSModel(Hierarchy.preset("tiger_cat_car"), **{"n_per_class": 2, **kwargs})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"integrator": "leapfrog"},
            "'integrator' parameter of LESDEModel must be one of",
        ),
        ({"dt": 0.5}, "'dt' parameter of LESDEModel must be 1.0 with integrator='sgd'"),
        (
            {"integrator": "sde", "dt": -1.0},
            r"'dt' parameter of LESDEModel must be a float in \(0",
        ),
        (
            {"integrator": "ode", "sigma": 0.1},
            "'sigma' parameter of LESDEModel must be 0",
        ),
        (
            {"surrogate": "projected"},
            "'surrogate' parameter of LESDEModel must be 'ce'",
        ),
        (
            {"integrator": "ode", "surrogate": "etf", "head": "random", "p": 2},
            "only with the identity head",
        ),
        ({"noise": "pink"}, "'noise' parameter of LESDEModel must be one of"),
        ({"hierarchy": Hierarchy.preset("cifar10")}, "Hierarchy with 3 classes"),
        ({"init_means": np.zeros((2, 3))}, "'init_means' parameter of LESDEModel"),
    ],
)
def test_lesde_model_validation(kwargs, match):
    with pytest.raises(simnet.ConfigError, match=match):
        LESDEModel(ImpactMatrix.two_parameter(3, 1.0, 0.0), **kwargs)


def test_lesde_model_rejects_non_impact():
    with pytest.raises(
        simnet.ConfigError,
        match="'impact' parameter of LESDEModel must be an ImpactMatrix",
    ):
        LESDEModel(np.eye(3))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ImpactMatrix.constant(np.ones((2, 3))), "must be square"),
        (lambda: ImpactMatrix.constant([[np.nan, 0], [0, 1]]), "must be finite"),
        (lambda: ImpactMatrix.two_parameter(1, 1.0, 0.0), "'n_classes' parameter"),
        (
            lambda: ImpactMatrix.two_parameter(3, "fast", 0.0),
            "'alpha' parameter must be a float",
        ),
        (
            lambda: ImpactMatrix.two_parameter(3, {"kind": "cosine"}, 0.0),
            "'alpha.kind' key",
        ),
        (
            lambda: ImpactMatrix.two_parameter(
                3, {"kind": "power", "scale": 1, "exp": 1}, 0.0
            ),
            "unknown key 'alpha.exp'",
        ),
        (
            lambda: ImpactMatrix.per_depth(Hierarchy.preset("cifar10"), [1.0]),
            "must have 4 entries",
        ),
        (
            lambda: ImpactMatrix(np.ones((2, 3, 3)), (1.0,), ("a",)),
            "one coefficient schedule",
        ),
    ],
)
def test_impact_matrix_validation(call, match):
    with pytest.raises(simnet.ConfigError, match=match):
        call()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"steps": -1}, "'steps' parameter of simulate must be an int"),
        ({"steps": 10, "record": 0}, "'record' parameter of simulate must be an int"),
        ({"steps": 10, "record": [5, 20]}, "lists step 20, beyond the last step 10"),
        ({"steps": 10, "record": "often"}, "'record' parameter of simulate must be"),
        (
            {"steps": 10, "observe": ["energy"]},
            "'observe' parameter of simulate lists 'energy'",
        ),
        ({"steps": 10, "seed": -3}, "'seed' parameter must be a non-negative int"),
        ({"steps": 10, "n_probes": 1}, "'n_probes' parameter of simulate"),
    ],
)
def test_simulate_validation(kwargs, match):
    model = HFSModel(Hierarchy.preset("tiger_cat_car"), n_per_class=3)
    with pytest.raises(simnet.ConfigError, match=match):
        simnet.simulate(model, **kwargs)


def test_simulate_rejects_unknown_models_and_inapplicable_observables():
    with pytest.raises(
        simnet.ConfigError, match="must be an HFSModel or an LESDEModel"
    ):
        simnet.simulate("model", steps=1)
    ode = LESDEModel(ImpactMatrix.two_parameter(3, 1.0, 0.0), integrator="ode", dt=0.1)
    with pytest.raises(simnet.ConfigError, match="needs individual samples"):
        simnet.simulate(ode, steps=1, observe=["similarity"])
    with pytest.raises(simnet.ConfigError, match="HFS model only"):
        simnet.simulate(ode, steps=1, observe=["feature_count"])


def test_recorded_tables_are_tidy_and_consistent():
    h = Hierarchy.preset("cifar10")
    result = simnet.simulate(
        HFSModel(h, n_per_class=10), steps=400, record={"log": 4}, seed=2
    )
    steps = result.metadata["record_steps"]
    assert steps[0] == 0 and steps[-1] == 400
    impact = result.table("impact")
    assert len(impact) == len(steps) * h.n_classes**2
    assert set(impact["class_a"]) == set(h.classes)
    sim = result.table("similarity")
    assert (sim["sample_i"] != sim["sample_j"]).all()
    metrics = result.table("metrics")
    assert {"loss", "accuracy", "nc1", "separable", "intra_inter_ratio"} <= set(
        metrics["observable"]
    )
    assert list(result.table("feature_count")["depth"].unique()) == [0, 1, 2, 3]


def test_similarity_of_lesde_probe_is_the_impact_column():
    """For the impact-matrix model a probe step on i moves j by exactly
    -E[c_j, c_i] g_i, so with the identity head S_ker(i, j) = E[c_j, c_i] and
    S_rel(i, j) = |E[c_j, c_i]| / |E[c_i, c_i]|."""
    e = np.array([[0.3, 0.1, 0.0], [0.1, 0.4, 0.05], [0.0, 0.05, 0.2]])
    model = LESDEModel(ImpactMatrix.constant(e), n_per_class=4)
    sim = simnet.simulate(
        model, steps=0, seed=0, observe=["similarity"], n_probes=6
    ).table("similarity")
    ci = sim["class_i"].str[1:].astype(int).to_numpy()
    cj = sim["class_j"].str[1:].astype(int).to_numpy()
    assert_allclose(sim["s_ker"], e[cj, ci], atol=1e-12)
    assert_allclose(sim["s_rel"], np.abs(e[cj, ci]) / e[ci, ci], atol=1e-12)


def test_hfs_rate_scale_multiplies_every_rate_and_the_kernel():
    """A constant learning-rate schedule c is the same model with every rate times
    c, bit for bit; the tangent kernel and E(t) scale with the schedule."""
    h = Hierarchy.preset("tiger_cat_car")
    rates = {"eta_phi": [0.02, 0.05, 0.1, 0.1], "eta_lam": [0.01, 0.02, 0.04, 0.04]}
    scaled = HFSModel(h, n_per_class=6, rate_scale=2.5, eta_u=0.1, **rates)
    direct = HFSModel(
        h,
        n_per_class=6,
        eta_phi=[2.5 * r for r in rates["eta_phi"]],
        eta_lam=[2.5 * r for r in rates["eta_lam"]],
        eta_u=0.25,
    )
    a = simnet.simulate(scaled, steps=200, record=100, observe=["class_means"], seed=4)
    b = simnet.simulate(direct, steps=200, record=100, observe=["class_means"], seed=4)
    pd.testing.assert_frame_equal(a.table("class_means"), b.table("class_means"))
    schedule = PowerLaw(1.0, 0.5, offset=1.0)
    model = HFSModel(h, n_per_class=6, rate_scale=schedule, **rates)
    plain = HFSModel(h, n_per_class=6, **rates)
    state = model.initial_state(np.random.default_rng(0))
    np.testing.assert_allclose(
        model.impact_matrix(state, time=99.0), 0.1 * plain.impact_matrix(state)
    )
    np.testing.assert_allclose(
        model.tangent_kernel(state, 0, 1, time=3.0),
        0.5 * plain.tangent_kernel(state, 0, 1),
    )


def test_init_means_set_the_initial_class_means():
    h = Hierarchy.preset("cifar10")
    m0 = np.random.default_rng(1).normal(size=(10, 10))
    state = HFSModel(h, n_per_class=7, init_means=m0).initial_state(
        np.random.default_rng(0)
    )
    x = state.features()
    means = np.stack([x[state.labels == k].mean(axis=0) for k in range(10)])
    np.testing.assert_allclose(means, m0, atol=1e-12)
    lesde = LESDEModel(
        ImpactMatrix.two_parameter(3, 1.0, 0.5),
        init_means=np.eye(3),
        init_scale=0.0,
        n_per_class=2,
    )
    feats = lesde.initial_state(np.random.default_rng(0)).features()
    np.testing.assert_array_equal(feats, np.repeat(np.eye(3), 2, axis=0))
