"""Tests of simnet.plotting: figures, PNG files, absent tables, absent matplotlib."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import simnet
from simnet.errors import ConfigError, DataError
from simnet.plotting import (
    _pick_steps,
    plot_elasticity_curves,
    plot_impact_matrix,
    plot_metrics,
    plot_run,
    plot_similarity,
)
from simnet.results import RunResult

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# cifar10 different-class LCA depths 0, 1, 2, plus the same-class group.
N_SIMILARITY_GROUPS = 4


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="module")
def hfs_result() -> RunResult:
    model = simnet.HFSModel(simnet.Hierarchy.preset("cifar10"), n_per_class=5)
    # 20 probes = 2 per class, so the similarity table has same-class pairs
    return simnet.simulate(model, steps=200, record={"log": 8}, seed=3, n_probes=20)


@pytest.fixture(scope="module")
def ode_result() -> RunResult:
    """Class-mean LE-ODE on a flat hierarchy: no similarity table, no nc1."""
    impact = simnet.ImpactMatrix.two_parameter(4, alpha=1.0, beta=0.2)
    model = simnet.LESDEModel(impact, integrator="ode", dt=0.1)
    return simnet.simulate(model, steps=40, record=10, seed=0)


def _recorded_steps(result: RunResult) -> np.ndarray:
    return np.unique(result.table("elasticity_curve")["step"])


# --------------------------------------------------------------------------------------
# elasticity curves
# --------------------------------------------------------------------------------------


def test_elasticity_curves_one_line_and_one_star_set_per_drawn_step(hfs_result):
    assert _recorded_steps(hfs_result).shape[0] > 6  # so the default thins them
    fig = plot_elasticity_curves(hfs_result)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 2 * 6
    stars = [line for line in lines if line.get_marker() == "*"]
    assert len(stars) == 6
    assert all(line.get_linestyle() == "None" for line in stars)
    assert "lowest common ancestor" in ax.get_xlabel()
    assert ax.get_title() == "Impact of an SGD step on class k at class k'"


def test_elasticity_curves_explicit_steps_and_dataframe_input(hfs_result):
    steps = _recorded_steps(hfs_result)
    chosen = [int(steps[0]), int(steps[-1])]
    curve = hfs_result.table("elasticity_curve")
    for source in (hfs_result, curve):
        fig = plot_elasticity_curves(source, steps=chosen)
        lines = fig.axes[0].get_lines()
        assert len(lines) == 4
        line = lines[-2]  # the different-class line of the last step
        last = curve[(curve["step"] == chosen[-1]) & ~curve["same_class"]]
        np.testing.assert_allclose(line.get_ydata(), last["mean_impact"])


def test_elasticity_curves_flat_hierarchy(ode_result):
    fig = plot_elasticity_curves(ode_result, max_steps=2)
    assert len(fig.axes[0].get_lines()) == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": [7]}, "'steps' parameter of plot_elasticity_curves must list"),
        ({"steps": []}, "'steps' parameter of plot_elasticity_curves must list"),
        ({"max_steps": 0}, "'max_steps' parameter .* Got 0 instead"),
        ({"max_steps": 2.5}, "'max_steps' parameter .* Got 2.5 instead"),
    ],
)
def test_elasticity_curves_bad_arguments(hfs_result, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        plot_elasticity_curves(hfs_result, **kwargs)


def test_pick_steps_keeps_ends_and_spreads_by_index():
    steps = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128, 256])
    np.testing.assert_array_equal(_pick_steps(steps, 4), [0, 4, 32, 256])
    np.testing.assert_array_equal(_pick_steps(steps[:3], 6), [0, 1, 2])
    np.testing.assert_array_equal(_pick_steps(steps, 1), [0])


# --------------------------------------------------------------------------------------
# impact matrix
# --------------------------------------------------------------------------------------


def test_impact_matrix_shows_the_last_step_in_hierarchy_order(hfs_result):
    fig = plot_impact_matrix(hfs_result)
    ax, colorbar = fig.axes
    classes = list(simnet.Hierarchy.preset("cifar10").classes)
    assert [t.get_text() for t in ax.get_xticklabels()] == classes
    assert [t.get_text() for t in ax.get_yticklabels()] == classes
    impact = hfs_result.table("impact")
    last = impact[impact["step"] == impact["step"].max()]
    expected = last["value"].to_numpy().reshape(len(classes), len(classes))
    np.testing.assert_allclose(ax.get_images()[0].get_array(), expected)
    assert len(ax.texts) == len(classes) ** 2
    assert colorbar.get_ylabel() == "E[k', k]"


def test_impact_matrix_at_a_given_step_without_annotations(hfs_result):
    fig = plot_impact_matrix(hfs_result, step=0, annotate=False)
    assert fig.axes[0].get_title() == "Impact matrix at step 0"
    assert not fig.axes[0].texts


def test_impact_matrix_with_negative_entries_is_centred_on_zero():
    frame = pd.DataFrame(
        {
            "step": 5,
            "class_a": ["a", "a", "b", "b"],
            "class_b": ["a", "b", "a", "b"],
            "value": [1.0, -0.5, -0.5, 2.0],
        }
    )
    image = plot_impact_matrix(frame).axes[0].get_images()[0]
    assert image.get_cmap().name == "RdBu_r"
    assert image.norm(0.0) == pytest.approx(0.5)


def test_impact_matrix_unknown_step(hfs_result):
    with pytest.raises(ConfigError, match=r"must be a recorded step\. Got 3000"):
        plot_impact_matrix(hfs_result, step=3000)


# --------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------


def test_metrics_one_panel_per_present_observable(hfs_result):
    present = set(hfs_result.table("metrics")["observable"])
    fig = plot_metrics(hfs_result)
    # margin_mean and margin_min share a panel
    assert len(fig.axes) == len(present) - 1
    by_title = {ax.get_title(): ax for ax in fig.axes}
    assert by_title["training loss"].get_yscale() == "log"
    assert len(by_title["margin"].get_lines()) == 2
    assert by_title["accuracy"].get_yscale() == "linear"
    assert by_title["training loss"].get_xscale() == "symlog"  # log schedule


def test_metrics_without_nc1_and_with_an_unknown_observable(ode_result):
    metrics = ode_result.table("metrics")
    extra = pd.DataFrame(
        {"step": [0, 10], "time": [0.0, 1.0], "observable": "custom", "value": 1.0}
    )
    fig = plot_metrics(pd.concat([metrics, extra], ignore_index=True), n_columns=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[-1] == "custom"
    assert not any(t.startswith("NC1") for t in titles)
    assert len(fig.axes) == metrics["observable"].nunique() - 1 + 1
    assert fig.axes[0].get_xscale() == "linear"  # evenly spaced schedule


def test_metrics_log_panel_falls_back_to_linear_for_non_positive_values():
    frame = pd.DataFrame({"step": [0, 1], "observable": "loss", "value": [1.0, 0.0]})
    (ax,) = plot_metrics(frame).axes
    assert ax.get_yscale() == "linear"


def test_metrics_bad_n_columns(hfs_result):
    with pytest.raises(ConfigError, match="'n_columns' parameter of plot_metrics"):
        plot_metrics(hfs_result, n_columns=0)


# --------------------------------------------------------------------------------------
# similarity
# --------------------------------------------------------------------------------------


def test_similarity_two_boxes_per_group(hfs_result):
    fig = plot_similarity(hfs_result)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.patches) == 2 * N_SIMILARITY_GROUPS
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels == ["0\n(root)", "1", "2", "same\nclass"]


def test_similarity_single_step(hfs_result):
    similarity = hfs_result.table("similarity")
    last = similarity[similarity["step"] == similarity["step"].max()]
    fig = plot_similarity(last)
    assert [len(ax.patches) for ax in fig.axes] == [N_SIMILARITY_GROUPS] * 2


# --------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------


def test_missing_table_wrong_type_and_missing_column(ode_result):
    with pytest.raises(DataError, match="no table 'similarity'"):
        plot_similarity(ode_result)
    with pytest.raises(ConfigError, match="must be a RunResult or a pandas DataFrame"):
        plot_metrics({"metrics": None})
    bad = pd.DataFrame({"step": [0], "value": [1.0]})
    with pytest.raises(DataError, match=r"lacks the columns \['observable'\]"):
        plot_metrics(bad)
    with pytest.raises(DataError, match="has no rows"):
        plot_metrics(ode_result.table("metrics").iloc[:0])


# --------------------------------------------------------------------------------------
# plot_run
# --------------------------------------------------------------------------------------


def test_plot_run_writes_every_figure_as_png(hfs_result, tmp_path):
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    paths = plot_run(hfs_result, tmp_path / "figures", dpi=40)
    names = ["elasticity_curves", "impact_matrix", "metrics", "similarity"]
    assert [p.name for p in paths] == [f"{n}.png" for n in names]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(
        p.name for p in paths
    )  # no temporary files left behind
    assert plt.get_fignums() == open_before  # figures closed


def test_plot_run_skips_absent_tables(ode_result, tmp_path):
    paths = plot_run(ode_result, tmp_path, dpi=40)
    assert [p.name for p in paths] == [
        "elasticity_curves.png",
        "impact_matrix.png",
        "metrics.png",
    ]
    only_metrics = RunResult(tables={"metrics": ode_result.table("metrics")})
    paths = plot_run(only_metrics, tmp_path / "m", dpi=40)
    assert [p.name for p in paths] == ["metrics.png"]
    assert plot_run(RunResult(), tmp_path / "empty") == []


def test_plot_run_bad_arguments(hfs_result, tmp_path):
    with pytest.raises(ConfigError, match="'dpi' parameter of plot_run"):
        plot_run(hfs_result, tmp_path, dpi=0)
    with pytest.raises(ConfigError, match="'result' parameter of plot_run"):
        plot_run(hfs_result.table("metrics"), tmp_path)


# --------------------------------------------------------------------------------------
# without matplotlib
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        plot_elasticity_curves,
        plot_impact_matrix,
        plot_metrics,
        plot_similarity,
        lambda result: plot_run(result, "unused-directory"),
    ],
    ids=["elasticity", "impact", "metrics", "similarity", "run"],
)
def test_config_error_without_matplotlib(hfs_result, monkeypatch, call):
    # A None entry in sys.modules makes "import matplotlib" raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    message = r"plotting needs matplotlib: pip install 'simnet\[plot\]'"
    with pytest.raises(ConfigError, match=message):
        call(hfs_result)
