"""simnet.testing: the strategies draw valid objects, and every check passes on valid
inputs and raises AssertionError on a deliberately broken one."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import simnet
from simnet import ConfigError, HFSModel, Hierarchy, ImpactMatrix, LESDEModel
from simnet.testing import (
    check_first_order_kernel,
    check_ordered_by_lca,
    check_recovers_tree,
    check_relabelling_equivariance,
    check_same_seed_same_bits,
    check_symmetric_psd,
    check_ultrametric,
    relabel_classes,
)
from simnet.testing.strategies import (
    balanced_hierarchies,
    hfs_models,
    hierarchies,
    impact_matrices,
    lesde_models,
    node_weights,
    rates,
    seeds,
)

# fewer examples for the tests that run simulations: 8 in CI, 80 when thorough
FEW = settings(max_examples=max(8, settings.default.max_examples // 5))


# ---------------------------------------------------------------------- strategies
@given(
    h=hierarchies(min_classes=3, max_nodes=9, dag=True, max_depth=3),
)
def test_hierarchies_respect_their_bounds(h):
    """Every draw is a valid Hierarchy within the requested size and depth."""
    assert isinstance(h, Hierarchy)
    assert h.n_classes >= 3
    assert h.n_nodes <= 9
    assert h.max_depth <= 3
    assert all(not h.children(k) for k in h.classes)


@given(h=hierarchies(dag=False))
def test_hierarchies_without_dag_are_trees(h):
    assert h.is_tree


def test_hierarchies_with_dag_draw_some_dags():
    h = find(hierarchies(dag=True), lambda h: not h.is_tree)
    assert any(len(h.parents(v)) > 1 for v in h.nodes)


@given(h=balanced_hierarchies(max_depth=3, max_branching=3, max_classes=12))
def test_balanced_hierarchies_are_balanced(h):
    assert 2 <= h.n_classes <= 12
    assert {h.depth_of(k) for k in h.classes} == {h.max_depth}
    for d in range(h.max_depth):
        counts = {len(h.children(v)) for v in h.nodes if h.depth_of(v) == d}
        assert len(counts) == 1


@given(h=hierarchies(), data=st.data())
def test_node_weights_in_every_form(h, data):
    """mapping and per_depth are accepted by simnet; array is over hierarchy.nodes."""
    mapping = data.draw(node_weights(h, 0.5, 2.0))
    per_depth = data.draw(node_weights(h, 0.5, 2.0, form="per_depth"))
    array = data.draw(node_weights(h, 0.5, 2.0, form="array"))
    for w in (mapping, per_depth):
        resolved = h.node_weights(w)
        assert resolved.shape == (h.n_nodes,)
        assert np.all((resolved >= 0.5) & (resolved <= 2.0))
    assert array.shape == (h.n_nodes,) and np.all((array >= 0.5) & (array <= 2.0))
    e = h.shared_weight_matrix(dict(zip(h.nodes, array, strict=True)))
    a = h.ancestor_matrix.astype(float)
    np.testing.assert_allclose(e, (a * array) @ a.T)


@given(h=hierarchies(), data=st.data())
def test_rates_are_valid_model_rates(h, data):
    eta = data.draw(rates(max_value=0.1))
    assert 1e-3 <= eta <= 0.1
    per_depth = data.draw(rates(h, form="per_depth"))
    per_node = data.draw(rates(h, form="mapping"))
    model = HFSModel(h, n_per_class=1, eta_phi=per_depth, eta_lam=per_node)
    assert np.all(model.node_rates()["eta_phi"] > 0)


@given(impact=impact_matrices())
def test_impact_matrices_are_psd_by_default(impact):
    assert isinstance(impact, ImpactMatrix)
    assert 2 <= impact.n_classes <= 6
    check_symmetric_psd(impact.at(0.0), rtol=1e-9)


@given(
    k=st.integers(2, 5),
    kind=st.sampled_from(["two_parameter", "constant", "hierarchy"]),
    data=st.data(),
)
def test_impact_matrices_of_each_kind(k, kind, data):
    impact = data.draw(impact_matrices(n_classes=k, kind=kind, psd=False))
    e = impact.at(0.0)
    assert e.shape == (k, k)
    np.testing.assert_allclose(e, e.T)
    if kind == "two_parameter":
        assert impact.kind == "two_parameter"
        assert len(set(np.round(np.diag(e), 12))) == 1


@given(h=hierarchies(dag=True), data=st.data())
def test_impact_matrices_from_a_given_hierarchy(h, data):
    impact = data.draw(impact_matrices(hierarchy=h, kind="hierarchy"))
    assert impact.n_classes == h.n_classes
    check_symmetric_psd(impact.at(0.0))


@FEW
@given(model=hfs_models(noise=True), seed=seeds())
def test_hfs_models_are_valid_and_run(model, seed):
    assert isinstance(model, HFSModel)
    run = simnet.simulate(model, steps=10, record=10, seed=seed, observe=["loss"])
    assert np.isfinite(run.table("metrics")["value"]).all()


@FEW
@given(model=lesde_models(), seed=seeds())
def test_lesde_models_are_valid_and_run(model, seed):
    assert isinstance(model, LESDEModel)
    assert model.classes_hierarchy.n_classes == model.n_classes
    run = simnet.simulate(model, steps=10, record=10, seed=seed, observe=["loss"])
    assert np.isfinite(run.table("metrics")["value"]).all()


@given(model=lesde_models(integrator=["sgd", "ode"], noise=False))
def test_lesde_models_honour_the_integrator(model):
    assert model.integrator_kind in ("sgd", "ode")
    assert model.sigma == 0.0


@given(seed=seeds())
def test_seeds_are_valid_seeds(seed):
    assert 0 <= seed < 2**32
    simnet.seeding.as_seed_sequence(seed)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: hierarchies(min_classes=3, max_nodes=3), "'max_nodes'.*>= 4"),
        (lambda: hierarchies(max_depth=0), "'max_depth'"),
        (lambda: balanced_hierarchies(max_branching=1), "'max_branching'"),
        (
            lambda: node_weights(Hierarchy.preset("cifar10"), form="list"),
            "'form'.*'mapping'",
        ),
        (lambda: node_weights("tree"), "'hierarchy'.*Hierarchy"),
        (lambda: rates(min_value=1.0, max_value=0.5), "min_value <= max_value"),
        (lambda: rates(form="per_depth"), "'hierarchy'.*required"),
        (lambda: impact_matrices(kind="dense"), "'kind'"),
        (
            lambda: impact_matrices(n_classes=3, hierarchy=Hierarchy.balanced([2])),
            "'n_classes'.*2 classes",
        ),
        (lambda: hfs_models(heads=["linear"]), "'heads'"),
        (lambda: lesde_models(integrator="rk"), "'integrator'"),
    ],
)
def test_strategy_arguments_are_validated(build, match):
    with pytest.raises(ConfigError, match=match):
        build()


def test_missing_hypothesis_is_a_clear_config_error():
    """Without hypothesis, importing the strategies says how to install it; the
    checks still import, and ``import simnet`` never imports simnet.testing."""
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import simnet\n"
        "assert 'simnet.testing' not in sys.modules\n"
        "import simnet.testing\n"
        "from simnet.testing import check_symmetric_psd\n"
        "try:\n"
        "    import simnet.testing.strategies\n"
        "except simnet.ConfigError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "simnet.testing needs hypothesis: pip install 'simnet[test]'" in out.stdout


# ---------------------------------------------------------------------- matrix checks
@given(h=hierarchies(dag=True), data=st.data())
def test_psd_check_passes_on_shared_weights(h, data):
    check_symmetric_psd(h.shared_weight_matrix(data.draw(node_weights(h))))


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        ([[1.0, 0.5], [0.4, 1.0]], r"not symmetric: E\[0, 1\] = 0.5"),
        (
            [[1.0, 2.0], [2.0, 1.0]],
            "not positive semi-definite: smallest eigenvalue -1",
        ),
        ([[1.0, np.nan], [np.nan, 1.0]], "not finite"),
    ],
)
def test_psd_check_fails_on_broken_matrices(matrix, match):
    with pytest.raises(AssertionError, match=match):
        check_symmetric_psd(matrix)


def test_matrix_checks_reject_non_square_input():
    with pytest.raises(ConfigError, match="square"):
        check_symmetric_psd(np.ones((2, 3)))


@given(h=hierarchies(dag=False), data=st.data())
def test_tree_checks_pass_on_tree_shared_weights(h, data):
    e = h.shared_weight_matrix(data.draw(node_weights(h, 0.1, 2.0)))
    check_ultrametric(e)
    check_ordered_by_lca(e, h)


def _scrambled(h: Hierarchy, w=1.0) -> np.ndarray:
    """E_w with the rows and columns of the first and last class swapped."""
    perm = np.arange(h.n_classes)
    perm[[0, -1]] = perm[[-1, 0]]
    return h.shared_weight_matrix(w)[np.ix_(perm, perm)]


def test_lca_order_check_fails_on_a_scrambled_matrix():
    h = Hierarchy.preset("tiger_cat_car")
    with pytest.raises(AssertionError, match=r"row 0 \('tiger'\) is not ordered"):
        check_ordered_by_lca(_scrambled(h), h)


def test_lca_order_check_non_strict_allows_ties():
    h = Hierarchy.preset("tiger_cat_car")
    w = {v: (0.0 if v in h.class_index else 1.0) for v in h.nodes}  # zero leaves
    with pytest.raises(AssertionError, match="<="):
        check_ordered_by_lca(h.shared_weight_matrix(w), h)
    check_ordered_by_lca(h.shared_weight_matrix(w), h, strict=False)


def test_lca_order_check_needs_a_matching_tree():
    dag = Hierarchy.preset("seaplane_dag")
    with pytest.raises(ConfigError, match="must be a tree"):
        check_ordered_by_lca(dag.shared_weight_matrix(1.0), dag)
    with pytest.raises(ConfigError, match="as many classes"):
        check_ordered_by_lca(np.eye(2), Hierarchy.preset("cifar10"))


def test_ultrametric_check_fails_on_a_non_ultrametric_matrix():
    e = np.array([[3.0, 2.0, 0.0], [2.0, 3.0, 2.0], [0.0, 2.0, 3.0]])
    with pytest.raises(AssertionError, match=r"\(k, k', k''\) = \(0, 2, 1\)"):
        check_ultrametric(e)


@given(h=balanced_hierarchies(), data=st.data())
def test_recovery_check_passes_on_balanced_trees(h, data):
    w = data.draw(node_weights(h, 0.1, 2.0, form="per_depth"))
    check_recovers_tree(h.shared_weight_matrix(w), h)


def test_recovery_check_fails_on_a_scrambled_matrix():
    h = Hierarchy.balanced([2, 2])
    e = h.shared_weight_matrix(1.0)[np.ix_([0, 2, 1, 3], [0, 2, 1, 3])]
    with pytest.raises(AssertionError, match="does not recover 2 cluster"):
        check_recovers_tree(e, h)


# ---------------------------------------------------------------------- model checks
@FEW
@given(model=st.one_of(hfs_models(), lesde_models(max_per_class=2)), seed=seeds())
def test_same_seed_check_passes_on_models(model, seed):
    check_same_seed_same_bits(model, steps=15, seed=seed, observe=["loss", "impact"])


def test_same_seed_check_fails_when_the_seed_is_not_threaded():
    """A wrapper that runs the second call with another seed is caught."""
    calls = []

    def leaky_simulate(model, *, seed, **kwargs):
        calls.append(seed)
        return simnet.simulate(model, seed=seed + len(calls) - 1, **kwargs)

    model = HFSModel(Hierarchy.preset("tiger_cat_car"), n_per_class=3)
    with pytest.raises(AssertionError, match="two runs with seed=4 differ in table"):
        check_same_seed_same_bits(
            model, steps=10, seed=4, observe=["loss"], simulate_fn=leaky_simulate
        )


def test_same_seed_check_compares_final_states():
    """Equal tables but a different final state (a noise stream that is not seeded)
    are caught too."""
    model = LESDEModel(ImpactMatrix.two_parameter(3, 1.0, 0.2), n_per_class=2)
    calls = []

    def noisy_state(model, **kwargs):
        run = simnet.simulate(model, **kwargs)
        calls.append(1)
        run.state["features"] = run.state["features"] + 1e-3 * len(calls)
        return run

    with pytest.raises(AssertionError, match="final state 'features'"):
        check_same_seed_same_bits(
            model, steps=5, seed=0, observe=["loss"], simulate_fn=noisy_state
        )


@FEW
@given(model=hfs_models(max_per_class=2), seed=seeds())
def test_first_order_kernel_check_passes_on_hfs_models(model, seed):
    check_first_order_kernel(model, seed=seed)


@dataclasses.dataclass(frozen=True, eq=False)
class _WrongKernelHFS(HFSModel):
    """An HFS model whose tangent kernel forgets the instance-feature term."""

    def tangent_kernel(self, state, i, j):
        kern = super().tangent_kernel(state, i, j)
        if i == j:
            kern -= self.eta_u * self.gamma**2 * np.eye(kern.shape[0])
        return kern


def test_first_order_kernel_check_fails_on_a_wrong_kernel():
    model = _WrongKernelHFS(Hierarchy.preset("tiger_cat_car"), n_per_class=2, gamma=1)
    check_first_order_kernel(HFSModel(Hierarchy.preset("tiger_cat_car"), 2, gamma=1))
    with pytest.raises(AssertionError, match="is not -W K_ij g_i"):
        check_first_order_kernel(model)


def test_first_order_kernel_check_needs_an_hfs_model():
    model = LESDEModel(ImpactMatrix.two_parameter(3, 1.0, 0.2))
    with pytest.raises(ConfigError, match="must be an HFSModel"):
        check_first_order_kernel(model)


def _hfs_factory(head):
    def factory(h):
        return HFSModel(
            h,
            n_per_class=2,
            p=3 if head == "random" else None,
            head=head,
            eta_phi=lambda v, d: 0.1 + 0.05 * d,
            eta_lam=0.05,
            lam0=lambda v, d: 1.0 + 0.1 * d,
            gamma=0.3,
        )

    return factory


def _lesde_factory(integrator, head="identity"):
    def factory(h):
        weights = [0.2 * (d + 1) for d in range(h.max_depth + 1)]
        return LESDEModel(
            ImpactMatrix.from_hierarchy(h, weights),
            hierarchy=h,
            integrator=integrator,
            n_per_class=2,
            p=3 if head == "random" else None,
            head=head,
            dt=1.0 if integrator == "sgd" else 0.1,
        )

    return factory


@given(
    h=hierarchies(max_nodes=9, dag=True),
    which=st.sampled_from(["hfs", "hfs-random", "sgd", "sde", "ode", "sgd-random"]),
    seed=seeds(),
    data=st.data(),
)
def test_relabelling_check_passes_on_models(h, which, seed, data):
    perm = data.draw(st.permutations(range(h.n_classes)))
    factory = {
        "hfs": _hfs_factory("identity"),
        "hfs-random": _hfs_factory("random"),
        "sgd": _lesde_factory("sgd"),
        "sde": _lesde_factory("sde"),
        "ode": _lesde_factory("ode"),
        "sgd-random": _lesde_factory("sgd", head="random"),
    }[which]
    check_relabelling_equivariance(factory, perm, hierarchy=h, seed=seed, steps=10)


def test_relabelling_check_fails_on_a_label_dependent_model():
    """A factory that fixes E by class position, not by the hierarchy, breaks it."""
    h = Hierarchy.preset("tiger_cat_car")
    e = h.shared_weight_matrix(1.0)

    def factory(hh):
        return LESDEModel(ImpactMatrix.constant(e), hierarchy=hh, integrator="ode")

    with pytest.raises(AssertionError, match="does not permute the impact matrix"):
        check_relabelling_equivariance(factory, [2, 0, 1], hierarchy=h)


def test_relabelling_check_validates_its_arguments():
    h = Hierarchy.preset("tiger_cat_car")
    with pytest.raises(ConfigError, match=r"permutation of 0\.\.2"):
        check_relabelling_equivariance(_lesde_factory("ode"), [0, 0, 1], hierarchy=h)
    with pytest.raises(ConfigError, match="must return an HFSModel"):
        check_relabelling_equivariance(lambda hh: None, [0, 1, 2], hierarchy=h)
    with pytest.raises(ConfigError, match="over the hierarchy it is given"):
        check_relabelling_equivariance(
            lambda hh: _lesde_factory("ode")(h), [1, 0, 2], hierarchy=h
        )


def test_relabel_classes_keeps_names_and_ancestors():
    h = Hierarchy.preset("cifar10")
    perm = np.random.default_rng(0).permutation(h.n_classes)
    h2 = relabel_classes(h, perm)
    assert h2.classes == tuple(h.classes[j] for j in perm)
    assert all(h2.ancestors(c) == h.ancestors(c) for c in h.classes)
    assert set(h2.graph.edges) == set(h.graph.edges)
