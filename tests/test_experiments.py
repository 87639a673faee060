"""The experiment scripts' quick modes reproduce their qualitative results.

Each script is imported by file path (``experiments/`` is not a package) and its
``run(out, quick=True, seed=0)`` is called; the assertions are the claims the
script is written to demonstrate, not only that files appear.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def load(name: str) -> ModuleType:
    """Import ``experiments/<name>.py`` as a module."""
    module_name = f"simnet_experiments_{name}"
    spec = importlib.util.spec_from_file_location(
        module_name, EXPERIMENTS / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_he_su_torus_relu_similarity_decays_with_geodesic_distance(tmp_path):
    results = load("he_su_torus").run(tmp_path, quick=True, seed=0)

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
    assert (tmp_path / "summary.md").read_text().count("corr(S_rel, geodesic)") == 2
    assert (tmp_path / "figures" / "s_rel_vs_geodesic.png").stat().st_size > 0


def test_hierarchy_recovery_relu_impact_follows_and_recovers_the_tree(tmp_path):
    results = load("hierarchy_recovery").run(tmp_path, quick=True, seed=0)

    relu = results["relu"]
    assert relu["curve_increasing"]
    assert relu["recovers_tree"]
    assert relu["spearman"] > 0.5
    assert relu["cophenetic"] > 0.9
    # the recorded elasticity curve of the final step says the same
    curve = pd.read_csv(tmp_path / "elasticity_curve.csv")
    final = curve[(curve["net"] == "relu") & (curve["step"] == curve["step"].max())]
    distinct = final[~final["same_class"]].sort_values("lca_depth")
    assert distinct["lca_depth"].tolist() == [0, 1, 2]
    assert np.all(np.diff(distinct["mean_impact"].to_numpy()) > 0)
    assert (tmp_path / "figures" / "dendrograms.png").stat().st_size > 0
    assert "recovers tree True" in (tmp_path / "summary.md").read_text()


def test_he_su_clustering_table_has_every_method_and_relu_clusters(tmp_path):
    module = load("he_su_clustering")
    results = module.run(tmp_path, quick=True, seed=0)

    table = pd.read_csv(tmp_path / "table.csv").set_index("pair")
    assert list(table.columns) == list(module.METHODS)
    assert list(table.index) == results["pairs"]
    assert len(results["pairs"]) == 2
    for pair in results["pairs"]:
        acc = results["accuracy"][pair]
        assert set(acc) == set(module.METHODS)
        assert acc["ReLU S_rel k-means"] >= 0.75
        assert acc["ReLU S_ker kernel k-means"] >= 0.75
        assert all(0.5 <= value <= 1.0 for value in acc.values())
    assert table.loc[results["pairs"][0], "ReLU S_rel k-means"] == pytest.approx(
        results["accuracy"][results["pairs"][0]]["ReLU S_rel k-means"], abs=1e-5
    )
