"""Tests of the simulator-vs-network figures of simnet.plotting."""

from __future__ import annotations

import numpy as np
import pytest

from simnet.analysis.comparison import Comparison, compare_runs
from simnet.errors import ConfigError
from simnet.plotting import (
    plot_curve_comparison,
    plot_impact_comparison,
    plot_trajectory_comparison,
)
from simnet.recorder import TableRows
from simnet.results import RunResult

pytest.importorskip("matplotlib")

CLASSES = ("tiger", "cat", "car")
LCA = np.array([[3, 2, 0], [2, 3, 0], [0, 0, 2]])
STEPS = list(range(0, 45, 5))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def make_run(means: np.ndarray, impact: np.ndarray) -> RunResult:
    rows = TableRows(CLASSES, LCA)
    for t, step in enumerate(STEPS):
        rows.class_means(step, float(step), means[t])
        rows.impact(step, float(step), impact[t])
    return RunResult(tables=rows.tables())


@pytest.fixture(scope="module")
def runs() -> tuple[RunResult, list[RunResult]]:
    rng = np.random.default_rng(0)
    means = np.cumsum(rng.normal(size=(len(STEPS), 3, 3)), axis=0)
    e = np.abs(rng.normal(size=(len(STEPS), 3, 3))) + 0.1
    ref = make_run(means, e)
    sims = [
        make_run(
            means + rng.normal(scale=0.4, size=means.shape),
            e * rng.uniform(0.5, 1.5, size=e.shape),
        )
        for _ in range(3)
    ]
    return ref, sims


@pytest.fixture(scope="module")
def joined(runs) -> Comparison:
    ref, sims = runs
    fit = compare_runs(ref, sims, segment=(0, 20), segment_name="fit")
    held = compare_runs(ref, sims, segment=(25, 40), segment_name="held_out")
    return Comparison.concat([fit, held])


def _vertical_lines(ax) -> list[float]:
    out = []
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        if x.size == 2 and x[0] == x[1] and line.get_linestyle() == "--":
            out.append(float(x[0]))
    return out


def test_trajectory_panels_points_lines_bands_and_boundary(joined):
    from matplotlib.collections import PolyCollection

    fig = plot_trajectory_comparison(joined)
    axes = fig.axes
    assert len(axes) == 3
    series = joined.series("class_means")
    for ax, cls in zip(axes, CLASSES, strict=True):
        assert ax.get_title() == f"class {cls}"
        data = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
        points = [ln for ln in data if ln.get_linestyle() == "None"]
        lines = [ln for ln in data if ln.get_linestyle() == "-"]
        assert len(points) == 3 and len(lines) == 3
        # reference points are the reference values over both segments
        col = series.column((cls, 0))
        np.testing.assert_allclose(points[0].get_ydata(), series.reference[:, col])
        np.testing.assert_allclose(lines[0].get_ydata(), series.mean[:, col])
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == 3
        assert _vertical_lines(ax) == [25.0]


def test_trajectory_options(runs, joined):
    ref, sims = runs
    single = compare_runs(ref, sims[0])
    fig = plot_trajectory_comparison(single, classes=["car"], boundary=12.5)
    (ax,) = fig.axes
    assert ax.get_title() == "class car"
    assert not ax.collections  # one replica: no band
    assert _vertical_lines(ax) == [12.5]
    with pytest.raises(ConfigError, match="'classes' parameter"):
        plot_trajectory_comparison(single, classes=["lion"])
    with pytest.raises(ConfigError, match="'boundary' parameter"):
        plot_trajectory_comparison(single, boundary="late")
    with pytest.raises(ConfigError, match="'n_columns' parameter"):
        plot_trajectory_comparison(single, n_columns=0)
    with pytest.raises(ConfigError, match="'comparison' parameter"):
        plot_trajectory_comparison(ref)
    models = Comparison.concat({"a": single, "b": single})
    with pytest.raises(ConfigError, match="'model' parameter"):
        plot_trajectory_comparison(models)
    assert len(plot_trajectory_comparison(models, model="b").axes) == 3


def test_impact_heatmaps_share_one_colour_scale(joined):
    fig = plot_impact_comparison(joined, steps=[0, 40])
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 4
    limits = {(im.norm.vmin, im.norm.vmax) for im in images}
    assert len(limits) == 1
    series = joined.series("impact")
    _, ref = series.matrix()
    _, pred = series.matrix(series.mean)
    low = min(ref[[0, -1]].min(), pred[[0, -1]].min())
    high = max(ref[[0, -1]].max(), pred[[0, -1]].max())
    assert limits.pop() == pytest.approx((low, high))
    np.testing.assert_allclose(images[0].get_array(), ref[0])
    np.testing.assert_allclose(images[3].get_array(), pred[-1])
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == [
        "reference, step 0",
        "simulated, step 0",
        "reference, step 40",
        "simulated, step 40",
    ]
    assert len(fig.axes) == 5  # plus one colour bar
    with pytest.raises(ConfigError, match="'steps' parameter"):
        plot_impact_comparison(joined, steps=[3])


def test_curve_comparison(joined):
    fig = plot_curve_comparison(joined, max_steps=2)
    left, right = fig.axes
    series = joined.series("elasticity_curve")
    # right: one reference and one simulated line per group, plus the boundary
    data = [ln for ln in right.get_lines() if len(ln.get_xdata()) > 2]
    assert len(data) == 2 * len(series.keys)
    assert _vertical_lines(right) == [25.0]
    # left: two steps, each with reference and simulated, different and same class
    assert len(left.get_lines()) == 2 * 2 * 2
    with pytest.raises(ConfigError, match="'max_steps' parameter"):
        plot_curve_comparison(joined, max_steps=0)
    with pytest.raises(ConfigError, match="'steps' parameter"):
        plot_curve_comparison(joined, steps=[1000])
    fig = plot_curve_comparison(joined, steps=[40])
    assert len(fig.axes[0].get_lines()) == 2 * 2


def test_missing_table_is_a_config_error(runs):
    ref, sims = runs
    only_means = RunResult(tables={"class_means": ref.tables["class_means"]})
    c = compare_runs(only_means, sims)
    with pytest.raises(ConfigError, match="'impact' was not compared"):
        plot_impact_comparison(c)
