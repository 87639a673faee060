"""The paper reproductions' quick modes reproduce their qualitative results.

Each reproduction module of :mod:`simnet.reproduce` is run with ``quick=True`` and
``seed=0``; the assertions are the claims the reproduction is written to
demonstrate (signs of correlations, orderings, sides of a transition), not only
that files appear. The last tests check the module interface of every registered
reproduction (skipping those whose module does not exist yet).
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simnet.errors import SimnetError
from simnet.reproduce import (
    EXPERIMENTS,
    experiment,
    he_su_clustering,
    he_su_torus,
    hfs_elasticity_curves,
    hierarchy_recovery,
    names,
    phase_diagram,
    stability,
)
from simnet.reproduce._common import NO_FIGURES, NO_NUMBER, require_extra


def check_record(out: Path, module) -> dict:
    """``run.json`` names the reproduction and the quick mode; the summary puts
    the measured figures next to the paper's."""
    record = json.loads((out / "run.json").read_text())
    assert record["name"] == module.NAME
    assert record["mode"] == "quick"
    assert record["seed"] == 0
    assert record["seconds"] > 0
    assert record["headline"]
    summary = (out / "summary.md").read_text()
    assert "## Measured vs paper" in summary
    assert "| quantity | measured here | paper (reference dossier) |" in summary
    return record


def test_he_su_torus_relu_similarity_decays_with_geodesic_distance(tmp_path):
    results = he_su_torus.run(tmp_path, quick=True, seed=0)

    for manifold in ("torus", "folded_boxes"):
        relu, linear = results[manifold]["relu"], results[manifold]["linear"]
        assert relu["corr_s_rel"] < -0.5
        # linear nets: about 0 on the boxes, -0.2 to -0.7 on the torus by seed
        assert relu["corr_s_rel"] < linear["corr_s_rel"] - 0.1
        assert relu["corr_kernel_distance"] > 0.5  # distances agree in sign
    table = pd.read_csv(tmp_path / "correlations.csv")
    assert len(table) == 4
    pairs = pd.read_csv(tmp_path / "pairs.csv")
    assert len(pairs) == 4 * 50 * 49
    summary = (tmp_path / "summary.md").read_text().splitlines()
    for manifold in ("torus", "folded_boxes"):
        starts = f"- {manifold}: corr(S_rel"
        assert sum(line.startswith(starts) for line in summary) == 1
    assert (tmp_path / "figures" / "s_rel_vs_geodesic.png").stat().st_size > 0
    record = check_record(tmp_path, he_su_torus)
    assert record["headline"]["corr(S_rel, geodesic) torus relu"] == pytest.approx(
        results["torus"]["relu"]["corr_s_rel"]
    )


@pytest.fixture(scope="module")
def hierarchy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hierarchy_recovery")
    return out, hierarchy_recovery.run(out, quick=True, seed=0)


def test_hierarchy_recovery_relu_impact_follows_and_recovers_the_tree(hierarchy_run):
    out, results = hierarchy_run

    relu = results["relu"]
    assert relu["curve_increasing"]
    assert relu["recovers_tree"]
    assert relu["spearman"] > 0.5
    assert relu["cophenetic"] > 0.9
    # the recorded elasticity curve of the final step says the same
    curve = pd.read_csv(out / "elasticity_curve.csv")
    final = curve[(curve["net"] == "relu") & (curve["step"] == curve["step"].max())]
    distinct = final[~final["same_class"]].sort_values("lca_depth")
    assert distinct["lca_depth"].tolist() == [0, 1, 2]
    assert np.all(np.diff(distinct["mean_impact"].to_numpy()) > 0)
    assert (out / "figures" / "dendrograms.png").stat().st_size > 0
    assert "recovers tree True" in (out / "summary.md").read_text()
    check_record(out, hierarchy_recovery)


def test_hierarchy_recovery_fitted_hfs_curves_match_the_network(hierarchy_run):
    out, results = hierarchy_run
    sim = results["simulator"]

    # both elasticity curves increase with the LCA depth at the end of training
    assert sim["network_increasing"] and sim["hfs_increasing"]
    assert np.all(np.diff(sim["hfs_curve"]) > 0)
    # the fitted model's curve is close to the network's (relative error < 25 %)
    assert np.allclose(sim["hfs_curve"], sim["network_curve"], rtol=0.25)
    # and its impact matrix is ordered like the network's
    assert sim["impact_spearman_offdiag_late"] > 0.3
    assert sim["class_means_r2_pooled"] > 0.3

    side = pd.read_csv(out / "network_vs_hfs.csv")
    assert list(side.columns) == [
        "step", "time", "lca_depth", "same_class", "network", "hfs_mean", "hfs_std"
    ]  # fmt: skip
    # the curves grow during training on both sides (the impact rises as the
    # network fits), at every LCA depth
    for column in ("network", "hfs_mean"):
        wide = side[~side["same_class"]].pivot(
            index="step", columns="lca_depth", values=column
        )
        assert np.all(wide.iloc[-1] > wide.iloc[0])
    last = side[(side["step"] == side["step"].max()) & ~side["same_class"]]
    np.testing.assert_allclose(
        last.sort_values("lca_depth")["hfs_mean"], sim["hfs_curve"], rtol=1e-5
    )
    assert (out / "figures" / "network_vs_hfs.png").stat().st_size > 0
    assert (out / "agreement" / "agreement.md").is_file()
    summary = (out / "summary.md").read_text()
    assert "## Simulator vs network, side by side" in summary
    assert f"{sim['impact_spearman_offdiag_late']:.3f}" in summary


def test_he_su_clustering_table_has_every_method_and_relu_clusters(tmp_path):
    results = he_su_clustering.run(tmp_path, quick=True, seed=0)

    table = pd.read_csv(tmp_path / "table.csv").set_index("pair")
    assert list(table.columns) == list(he_su_clustering.METHODS)
    assert list(table.index) == results["pairs"]
    assert len(results["pairs"]) == 2
    for pair in results["pairs"]:
        acc = results["accuracy"][pair]
        assert set(acc) == set(he_su_clustering.METHODS)
        assert acc["ReLU S_rel k-means"] >= 0.75
        assert acc["ReLU S_ker kernel k-means"] >= 0.75
        assert all(0.5 <= value <= 1.0 for value in acc.values())
    assert table.loc[results["pairs"][0], "ReLU S_rel k-means"] == pytest.approx(
        results["accuracy"][results["pairs"][0]]["ReLU S_rel k-means"], abs=1e-5
    )
    record = check_record(tmp_path, he_su_clustering)
    assert NO_NUMBER in (tmp_path / "summary.md").read_text()
    assert len(record["headline"]) == 8


def test_stability_removal_moves_the_same_class_most(tmp_path):
    results = stability.run(tmp_path, quick=True, seed=0)

    models = results["models"]
    assert list(models) == [stability.SIMULATOR, stability.NETWORK, stability.KERNEL]
    for m in models.values():
        # Deng, He & Su's Fig. 1: same class >> distant class, plane >> cat
        assert m["same_class"] > 2.0 * m["distant"]
        assert m["ratio"] > 2.0
        assert m["plane_plane_over_plane_cat"] > 2.0
        # a removed sample moves the mammals (LCA depth 2) more than distant ones
        assert m["lca_depth_2"] > m["distant"]
    by_relation = pd.read_csv(tmp_path / "by_relation.csv")
    assert set(by_relation["model"]) == set(models)
    assert len(pd.read_csv(tmp_path / "class_matrix.csv")) == 3 * 10 * 10
    bounds = pd.read_csv(tmp_path / "bounds.csv")
    assert len(bounds) == 4
    assert (bounds["les_beta"] <= bounds["uniform_beta"] + 1e-12).all()
    assert "about 7" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "figures" / "sensitivity_by_relation.png").stat().st_size > 0
    check_record(tmp_path, stability)


def test_hfs_elasticity_grows_with_lca_depth_and_over_training(tmp_path):
    results = hfs_elasticity_curves.run(tmp_path, quick=True, seed=0)

    first, last = results["curve_first"], results["curve_last"]
    assert first.shape == last.shape == (3,)  # LCA depth 0, 1, 2 on the CIFAR tree
    assert np.all(np.diff(first) > 0) and np.all(np.diff(last) > 0)
    # the gap between related and unrelated classes widens during training
    assert last[-1] / last[0] > 2.0 * first[-1] / first[0]
    ratio0, ratio1 = results["intra_inter_ratio"]
    assert ratio1 > ratio0
    # a class is moved most by a step on itself
    assert results["same_last"].min() > last.max()
    assert results["loss"][1] < 0.1 * results["loss"][0]
    curve = pd.read_csv(tmp_path / "elasticity_curve.csv")
    assert set(curve["lca_depth"]) == {0, 1, 2, 3}
    assert (tmp_path / "result" / "metadata.json").is_file()
    assert (tmp_path / "figures" / "elasticity_curves.png").stat().st_size > 0
    check_record(tmp_path, hfs_elasticity_curves)


def test_phase_diagram_transition_sits_on_the_locally_elastic_side(tmp_path):
    results = phase_diagram.run(tmp_path, quick=True, seed=0)

    # off the diagonal, P(separable) > 1/2 exactly where alpha > beta
    assert results["grid"]["agreement"] >= 0.9
    assert results["hierarchy"]["agreement"] >= 0.8
    (sweep,) = results["sweep"].values()
    p = sweep["p_by_delta"]
    assert all(v == 0.0 for d, v in p.items() if d < 0)  # alpha < beta: never
    assert p[max(p)] == 1.0  # clearly locally elastic: always
    # finite runs: the transition is just on the alpha > beta side of 0
    assert 0.0 < sweep["center"] < 0.25
    grid = pd.read_csv(tmp_path / "grid.csv")
    assert len(grid) == 7 * 7 * 4
    assert (tmp_path / "figures" / "phase_diagram.png").stat().st_size > 0
    check_record(tmp_path, phase_diagram)


def test_without_matplotlib_the_tables_are_written_and_the_summary_says_so(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    results = stability.run(tmp_path, quick=True, seed=0)

    assert results["models"][stability.NETWORK]["ratio"] > 2.0
    assert not (tmp_path / "figures").exists()
    assert (tmp_path / "by_relation.csv").is_file()
    assert NO_FIGURES in (tmp_path / "summary.md").read_text()
    check_record(tmp_path, stability)


def test_require_extra_names_the_extra():
    require_extra("numpy", "all", needed_for="this test")  # present: no error
    with pytest.raises(SimnetError, match=r"pip install 'simnet\[digits\]'"):
        require_extra("no_such_module_simnet", "digits", needed_for="this test")


# ---------------------------------------------------------------------- interface
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_registered_reproduction_implements_the_interface(name):
    module_name = f"simnet.reproduce.{EXPERIMENTS[name]}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        pytest.skip(f"{module_name} is not written yet")
    assert experiment(name) is module
    assert module.NAME == name
    for attribute in ("TITLE", "PAPER"):
        text = getattr(module, attribute)
        assert isinstance(text, str) and text.strip() and "\n" not in text
    params = inspect.signature(module.run).parameters
    out, quick, seed = (params[k] for k in ("out", "quick", "seed"))
    assert next(iter(params)) == "out"
    assert out.kind in (out.POSITIONAL_ONLY, out.POSITIONAL_OR_KEYWORD)
    assert quick.kind is quick.KEYWORD_ONLY and quick.default is False
    assert seed.kind is seed.KEYWORD_ONLY and seed.default == 0
    required = [
        p
        for p in list(params.values())[1:]
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert not required


def test_names_follow_the_registry_order():
    assert names() == list(EXPERIMENTS)
