"""Fitting the simulator to a network run, and the agreement report.

The "network" in most tests is a simulator run with known parameters, so a fit can be
checked against the truth: the LE-SDE driven by a recorded impact matrix reproduces
the run it came from, the reference estimators' LE-ODE reproduces an L-model
trajectory, and the HFS least-squares fit recovers the impact matrix of an HFS run.
"""

from __future__ import annotations

import numpy as np
import pytest

from simnet import (
    HFSModel,
    Hierarchy,
    ImpactMatrix,
    LESDEModel,
    simulate,
)
from simnet.analysis import (
    FitMethod,
    NetworkRun,
    agreement,
    fit_hfs,
    fit_lesde_impact,
    fit_lesde_rates,
    hierarchy_weights,
    infer_hierarchy,
    recovers_tree,
    root_impact_scale,
    simulate_fitted,
)
from simnet.cli.main import main
from simnet.datasets import hierarchical_synthetic
from simnet.errors import ConfigError, DataError
from simnet.networks import MLP, train_mlp
from simnet.schedules import PowerLaw


def pooled_r2(reference: NetworkRun, simulated: NetworkRun) -> float:
    """1 - SS_res / SS_tot over every class, coordinate and common record."""
    idx = np.searchsorted(simulated.steps, reference.steps)
    assert np.array_equal(simulated.steps[idx], reference.steps)
    y, yh = reference.means, simulated.means[idx]
    return float(1.0 - np.sum((y - yh) ** 2) / np.sum((y - y.mean()) ** 2))


# --------------------------------------------------------------------------------------
# hierarchy weights and inferred hierarchies
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("per", ["node", "depth"])
def test_hierarchy_weights_recover_the_weights_of_a_shared_ancestor_matrix(per):
    h = Hierarchy.balanced([2, 3])
    rng = np.random.default_rng(0)
    n = h.n_nodes if per == "node" else h.max_depth + 1
    w = rng.uniform(0.1, 2.0, n)
    node_w = w if per == "node" else w[h.depth]
    a = np.asarray(h.ancestor_matrix, dtype=float)
    e = (a * node_w) @ a.T
    np.testing.assert_allclose(hierarchy_weights(e, h, per=per), w, rtol=1e-10)
    series = hierarchy_weights(np.stack([e, 2 * e]), h, per=per)
    np.testing.assert_allclose(series, np.stack([w, 2 * w]), rtol=1e-10)


def test_hierarchy_weights_rejects_an_unknown_grouping():
    h = Hierarchy.balanced([2, 2])
    with pytest.raises(ConfigError, match="'per' parameter of hierarchy_weights"):
        hierarchy_weights(np.eye(4), h, per="level")


def test_inferred_hierarchy_recovers_the_tree_of_an_ultrametric_impact():
    tree = Hierarchy.balanced([2, 2, 2])
    e = tree.shared_weight_matrix([0.5, 1.0, 1.5, 2.0])
    inferred = infer_hierarchy(e, tree.classes)
    assert set(inferred.classes) == set(tree.classes)
    lca_true = tree.lca_depth_matrix()
    # sibling classes are still siblings in the inferred binary tree
    idx = [inferred.class_index[c] for c in tree.classes]
    lca_inf = inferred.lca_depth_matrix()[np.ix_(idx, idx)]
    deepest = lca_true == lca_true.max() - 1
    np.fill_diagonal(deepest, False)
    assert np.all(lca_inf[deepest] == lca_inf[deepest].max())
    assert recovers_tree(e, tree)


def test_root_impact_scale_is_the_growth_of_the_unrelated_pairs():
    h = Hierarchy.balanced([2, 2])
    base = h.shared_weight_matrix([1.0, 2.0, 3.0])
    series = np.stack([base, 3.0 * base, 5.0 * base])
    np.testing.assert_allclose(
        root_impact_scale(np.arange(3.0), series, h), [1.0, 3.0, 5.0]
    )
    with pytest.raises(DataError, match="not positive"):
        root_impact_scale(np.arange(3.0), 0.0 * series, h)


# --------------------------------------------------------------------------------------
# LE-SDE fits
# --------------------------------------------------------------------------------------


def test_lesde_impact_fit_reproduces_the_run_its_impact_matrix_came_from():
    """An LE-ODE (CE gradient) run with a time-varying E: the fit reads E(t) off
    its impact table and, started from its initial class means, retraces it."""
    k = 3
    impact = ImpactMatrix.two_parameter(
        k, PowerLaw(0.4, -0.3, offset=1.0), PowerLaw(0.1, -0.3, offset=1.0)
    )
    truth = LESDEModel(impact, integrator="ode", init_scale=0.3)
    run = simulate(
        truth, steps=200, record=1, observe=["class_means", "impact"], seed=3
    )
    net = NetworkRun.from_result(run)
    fitted = fit_lesde_impact(net, integrator="ode")
    assert fitted.method is FitMethod.LESDE_IMPACT
    (sim,) = simulate_fitted(fitted, net, seed=0)
    assert pooled_r2(net, NetworkRun.from_result(sim)) > 1 - 1e-12
    np.testing.assert_allclose(NetworkRun.from_result(sim).means, net.means, atol=1e-9)


def test_lesde_impact_fit_holds_the_last_impact_after_fit_until():
    k = 3
    impact = ImpactMatrix.two_parameter(k, 0.3, 0.05)
    run = simulate(
        LESDEModel(impact, integrator="ode", init_scale=0.3),
        steps=100,
        record=10,
        observe=["class_means", "impact"],
        seed=1,
    )
    fitted = fit_lesde_impact(run, fit_until=40.0, integrator="ode")
    assert fitted.fit_until == 40.0
    assert fitted.parameters["key"].max() == 40.0
    np.testing.assert_allclose(fitted.model.impact.at(90.0), impact.at(0.0))


def test_lesde_rates_fit_retraces_an_l_model_trajectory():
    """The reference approach inverts the L model: on an exact L-model trajectory
    (started with a positive separating mode) the fitted LE-ODE retraces it."""
    k = 3
    impact = ImpactMatrix.two_parameter(
        k, PowerLaw(0.1, 0.5, offset=1.0), PowerLaw(0.02, 0.5, offset=1.0)
    )
    m0 = np.array([[0.3, -0.1, -0.05], [-0.1, 0.25, 0.0], [0.0, -0.12, 0.2]])
    truth = LESDEModel(
        impact,
        integrator="ode",
        surrogate="projected",
        init_means=m0,
        init_scale=0.0,
    )
    run = simulate(truth, steps=2000, record=10, observe=["class_means"], seed=0)
    fitted = fit_lesde_rates(run, estimator="L", window=21)
    (sim,) = simulate_fitted(fitted, run, seed=0, observe=["class_means"])
    r2 = pooled_r2(NetworkRun.from_result(run), NetworkRun.from_result(sim))
    # 0.998 measured: the Savitzky-Golay rates are biased near t = 0, where the
    # power-law rates change fastest
    assert r2 > 0.995
    a_true = float(impact.coefficients[0].integral(np.array([2000.0]))[0])
    assert fitted.info["A_final"] == pytest.approx(a_true, rel=0.02)


def test_fits_reject_runs_without_what_they_need():
    run = simulate(
        LESDEModel(ImpactMatrix.two_parameter(3, 0.3, 0.1), integrator="ode"),
        steps=20,
        record=5,
        observe=["class_means"],
        seed=0,
    )
    with pytest.raises(DataError, match="impact matrix at two or more checkpoints"):
        fit_lesde_impact(run)
    with pytest.raises(ConfigError, match="'fit_until' parameter of fit_lesde_rates"):
        fit_lesde_rates(run, fit_until=1.0)
    no_means = simulate(
        LESDEModel(ImpactMatrix.two_parameter(3, 0.3, 0.1), integrator="ode"),
        steps=20,
        record=5,
        observe=["impact"],
        seed=0,
    )
    with pytest.raises(DataError, match="no 'class_means' table"):
        NetworkRun.from_result(no_means)


# --------------------------------------------------------------------------------------
# HFS fit
# --------------------------------------------------------------------------------------


def test_hfs_fit_recovers_the_impact_matrix_of_an_hfs_run():
    tree = Hierarchy.balanced([2, 2])
    truth = HFSModel(
        tree,
        n_per_class=15,
        eta_phi=[0.02, 0.05, 0.1],
        eta_lam=[0.01, 0.02, 0.05],
        lam0=[1.0, 1.0, 1.0],
    )
    run = simulate(
        truth, steps=600, record=50, observe=["class_means", "impact"], seed=2
    )
    fitted = fit_hfs(run, hierarchy=tree, rate_scale="constant", seed=0, n_starts=1)
    assert fitted.method is FitMethod.HFS
    assert fitted.residual < 0.1
    (sim,) = simulate_fitted(fitted, run, seed=5)
    e_net = NetworkRun.from_result(run).impact
    e_sim = NetworkRun.from_result(sim).impact
    iu = np.triu_indices(4)
    late = slice(-4, None)
    corr = np.corrcoef(e_net[late][:, iu[0], iu[1]].ravel(),
                       e_sim[late][:, iu[0], iu[1]].ravel())[0, 1]  # fmt: skip
    assert corr > 0.9
    params = fitted.parameters.set_index(["parameter", "key"])["value"]
    assert set(params.index.get_level_values(0)) == {"eta_phi", "eta_lam", "lam0"} | {
        "rate_scale"
    }


def test_hfs_fit_validates_its_arguments():
    tree = Hierarchy.balanced([2, 2])
    run = simulate(
        HFSModel(tree, n_per_class=5),
        steps=40,
        record=10,
        observe=["class_means", "impact"],
        seed=0,
    )
    other = Hierarchy.balanced([2, 3])
    with pytest.raises(ConfigError, match="must have the network's classes"):
        fit_hfs(run, hierarchy=other)
    with pytest.raises(ConfigError, match="'hierarchy' parameter of fit_hfs"):
        fit_hfs(run, hierarchy="guess")
    with pytest.raises(ConfigError, match="'rate_scale' parameter of fit_hfs"):
        fit_hfs(run, rate_scale="sometimes")


# --------------------------------------------------------------------------------------
# agreement and the CLI on a small real network
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlp_run():
    tree = Hierarchy.balanced([2, 2])
    data = hierarchical_synthetic(
        tree, n_per_class=12, dim=16, latent_dim=32, noise=0.3, seed=0
    )
    mlp = MLP(data.n_features, (32,), tree.n_classes, activation="relu", loss="ce")
    return train_mlp(
        mlp,
        data.X,
        data.y,
        steps=300,
        lr=0.05,
        record=20,
        hierarchy=tree,
        observe=["loss", "impact", "class_means"],
        ntk_samples=24,
        seed=0,
        progress=False,
    )


def test_agreement_fits_every_method_and_compares_fit_and_held_out(mlp_run, tmp_path):
    result = agreement(
        mlp_run,
        methods=["lesde-impact", "hfs"],
        fit_fraction=0.5,
        replicas=2,
        seed=0,
    )
    assert result.fit_until == pytest.approx(150.0)
    fig = result.figures
    assert set(fig["model"]) == {"lesde-impact", "hfs"}
    assert set(fig["segment"]) == {"fit", "held_out"}
    pooled = fig[(fig["quantity"] == "class_means") & (fig["statistic"] == "r2_pooled")]
    assert len(pooled) == 4
    # the network's own impact matrix drives its logits well on both segments
    lesde = pooled[pooled["model"] == "lesde-impact"].set_index("segment")["value"]
    assert lesde["fit"] > 0.8 and lesde["held_out"] > 0.8
    written = result.write(tmp_path / "report")
    names = {p.name for p in written}
    assert {
        "agreement.csv",
        "agreement.md",
        "parameters.csv",
        "agreement.json",
    } <= names
    text = (tmp_path / "report" / "agreement.md").read_text()
    assert "held_out" in text and "lesde-impact" in text
    params = result.parameters()
    assert set(params["model"]) == {"lesde-impact", "hfs"}


def test_agreement_rejects_a_fit_fraction_leaving_nothing_to_fit(mlp_run):
    with pytest.raises(ConfigError, match="'fit_fraction' parameter of agreement"):
        agreement(mlp_run, methods=["lesde-impact"], fit_fraction=0.01)


def test_cli_compare_writes_the_report(mlp_run, tmp_path, capsys):
    run_dir = tmp_path / "net"
    mlp_run.save(run_dir)
    out = tmp_path / "cmp"
    code = main(
        ["compare", str(run_dir), "--out", str(out), "--model", "lesde-impact",
         "--replicas", "1", "--no-plots"]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "lesde-impact [held_out]" in printed
    table = (out / "agreement.csv").read_text()
    assert "r2_pooled" in table and "held_out" in table


def test_cli_compare_errors_are_one_line(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
    assert main(["compare", str(tmp_path), "--out", str(tmp_path),
                 "--fit-fraction", "1.5"]) == 2  # fmt: skip
    assert "must be in (0, 1]" in capsys.readouterr().err


def test_cli_compare_without_impact_allows_only_the_rates_fit(tmp_path, capsys):
    run = simulate(
        LESDEModel(ImpactMatrix.two_parameter(3, 0.3, 0.1), integrator="ode"),
        steps=40,
        record=5,
        observe=["class_means"],
        seed=0,
    )
    run.save(tmp_path / "run")
    code = main(
        ["compare", str(tmp_path / "run"), "--out", str(tmp_path / "o"),
         "--model", "hfs"]
    )  # fmt: skip
    assert code == 2
    assert "only '--model lesde-rates'" in capsys.readouterr().err
