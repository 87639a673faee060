"""Tests of parameter sweeps (simnet.sweeps): specs, seeds, backends, store, phase."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simnet.errors import ConfigError, SimnetError
from simnet.sweeps import (
    Choice,
    LogUniform,
    SweepResult,
    SweepSpec,
    Uniform,
    load_sweep,
    phase_table,
    plot_phase,
    run_sweep,
    sweep_from_mapping,
)
from simnet.sweeps.spec import POINTS_SPAWN_KEY, dumps_toml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BLAS_ENV = os.environ.get("OPENBLAS_NUM_THREADS", "unset")

# A small LE-SDE run: 3 classes, a few milliseconds per cell.
BASE = {
    "run": {
        "steps": 60,
        "record": {"at": [60]},
        "observe": ["loss", "neural_collapse"],
    },
    "model": {
        "kind": "lesde",
        "integrator": "sde",
        "dt": 0.5,
        "sigma": 0.05,
        "noise": "gradient",
        "n_per_class": 8,
        "impact": {"kind": "two_parameter", "n_classes": 3, "alpha": 1.0, "beta": 0.0},
    },
}


def small_spec(**kwargs) -> SweepSpec:
    args = {
        "base": BASE,
        "grid": {"model.impact.alpha": [0.5, 1.0], "model.impact.beta": [0.0, 0.75]},
        "seeds": 2,
        "seed": 11,
    }
    return SweepSpec(**{**args, **kwargs})


# Cell functions at module level, so worker processes can unpickle them.
def draw_uniform(params: dict, seed: np.random.SeedSequence) -> dict:
    """One draw from the cell's seed, the seed's identity, the worker's threads."""
    import numba

    return {
        "numba_threads": numba.get_num_threads(),
        "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "u": float(np.random.default_rng(seed).random()),
        "spawn_key": int(seed.spawn_key[0]),
        "entropy": int(seed.entropy),
    }


def fail_on_two(params: dict, seed: np.random.SeedSequence) -> dict:
    if params["x"] == 2:
        raise ValueError("x = 2 is not allowed here")
    return {"y": params["x"] * 10.0}


CALLS: list[int] = []


def counting(params: dict, seed: np.random.SeedSequence) -> dict:
    CALLS.append(params["x"])
    return {"y": float(params["x"])}


# ---------------------------------------------------------------------- spec
def test_grid_cells_are_point_major_seed_minor_with_spawned_seeds() -> None:
    spec = SweepSpec(points=None, grid={"a": [1, 2], "b": ["x", "y", "z"]}, seeds=2)
    assert spec.keys == ("a", "b")
    assert spec.n_points == 6 and spec.n_cells == 12
    points = spec.point_list()
    assert points[:4] == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 1, "b": "z"},
        {"a": 2, "b": "x"},
    ]
    cells = spec.cells()
    assert [(c.index, c.point_index, c.seed_index) for c in cells[:4]] == [
        (0, 0, 0),
        (1, 0, 1),
        (2, 1, 0),
        (3, 1, 1),
    ]
    assert all(c.params == points[c.point_index] for c in cells)
    for c in cells:
        expected = np.random.SeedSequence(entropy=0, spawn_key=(c.index,))
        assert c.seed_sequence.entropy == expected.entropy
        assert c.seed_sequence.spawn_key == expected.spawn_key
        assert np.array_equal(
            c.seed_sequence.generate_state(4), expected.generate_state(4)
        )


def test_random_points_are_deterministic_and_in_their_ranges() -> None:
    def make(seed: int) -> SweepSpec:
        return SweepSpec(
            random={
                "a": {"uniform": [-1.0, 2.0]},
                "b": LogUniform(1e-3, 1e1),
                "c": Choice(("sgd", "sde")),
            },
            n_samples=200,
            seed=seed,
        )

    points = make(5).point_list()
    assert points == make(5).point_list()
    assert points != make(6).point_list()
    a = np.array([p["a"] for p in points])
    b = np.array([p["b"] for p in points])
    assert a.min() >= -1.0 and a.max() < 2.0
    assert b.min() >= 1e-3 and b.max() < 1e1
    # log-uniform: about half of the draws below the geometric mid-point 0.1
    assert 0.35 < np.mean(b < 0.1) < 0.65
    assert {p["c"] for p in points} == {"sgd", "sde"}
    # drawn key by key from the documented stream
    rng = np.random.default_rng(
        np.random.SeedSequence(5, spawn_key=(POINTS_SPAWN_KEY,))
    )
    assert np.array_equal(a, rng.uniform(-1.0, 2.0, size=200))


def test_nested_and_dotted_grid_keys_are_the_same() -> None:
    nested = tomllib.loads("[grid]\nmodel.impact.alpha = [0.5, 1.0]\n")["grid"]
    assert small_spec(grid=nested).keys == ("model.impact.alpha",)
    assert small_spec(grid=nested) == small_spec(grid={"model.impact.alpha": [0.5, 1]})


def test_toml_round_trip(tmp_path: Path) -> None:
    for spec in (
        load_sweep(EXAMPLES / "sweep_phase.toml"),
        small_spec(
            grid=None,
            random={
                "model.impact.alpha": Uniform(0.0, 1.0),
                "model.sigma": {"choice": [0.0, 0.05]},
            },
            n_samples=3,
            metrics=["loss", "nc1"],
            tables=["metrics"],
        ),
    ):
        path = tmp_path / "sweep.toml"
        path.write_text(spec.to_toml(), encoding="utf-8")
        again = load_sweep(path)
        assert again == spec
        assert again.point_list() == spec.point_list()
        assert again.to_toml() == spec.to_toml()


def test_dumps_toml_reads_back() -> None:
    data = {
        "a": 1,
        "x y": 'quote " and \\ back',
        "f": [0.1, 1e-300, float("inf")],
        "t": {"inner": {"k": True}, "rates": [{"kind": "power", "scale": 1.0}, 0.5]},
    }
    assert tomllib.loads(dumps_toml(data)) == data


def test_base_file_is_relative_to_the_sweep_file(tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "tree.json").write_text(
        json.dumps({"root": {"animal": ["cat", "dog"], "vehicle": ["car"]}})
    )
    (folder / "run.toml").write_text(
        "[run]\nsteps = 5\n[hierarchy]\nfile = 'tree.json'\n"
        "[model]\nkind = 'hfs'\nn_per_class = 3\n"
    )
    sweep = folder / "sweep.toml"
    sweep.write_text("base = 'run.toml'\n[grid]\n'model.gamma' = [0.0, 0.1]\n")
    spec = load_sweep(sweep)
    assert Path(spec.base["hierarchy"]["file"]) == (folder / "tree.json").resolve()
    assert spec.cell_config(spec.point_list()[1]).model.gamma == 0.1
    # the resolved spec reads back from anywhere
    copy = tmp_path / "elsewhere.toml"
    copy.write_text(spec.to_toml())
    assert load_sweep(copy) == spec


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"points": [{"a": 1}], "sedds": 2}, r"unknown config key 'sedds' \(did you "),
        (
            {"base": BASE, "grid": {"model.etaphi": [0.1]}},
            r"sweep point 0 \(model.etaphi = 0.1\): unknown config key 'model.etaphi'",
        ),
        (
            {"base": BASE, "grid": {"model.eta_phi": [0.1]}},
            r"unknown config key 'model.eta_phi' for kind = 'lesde'",
        ),
        (
            {"base": BASE, "grid": {"model.dt": [0.5, -1.0]}},
            r"sweep point 1 \(model.dt = -1.0\): config key 'model.dt' must be a float"
            r" in \(0, inf\); got -1.0",
        ),
        (
            {"base": BASE, "grid": {"model.impact.alpha": 0.5}},
            r"config key 'grid.model.impact.alpha' must be a non-empty list of values;"
            r" got 0.5",
        ),
        ({"base": BASE, "grid": {"model.p": []}}, r"'grid.model.p' must not be empty"),
        (
            {"base": BASE, "grid": {"run.seed": [1, 2]}},
            r"config key 'grid.run.seed' cannot be swept",
        ),
        (
            {"base": BASE, "grid": {"model.p": [2]}, "seeds": 0},
            r"config key 'seeds' must be an int in \[1, inf\); got 0",
        ),
        (
            {"base": BASE, "grid": {"model.p": [2]}, "seed": "one"},
            r"config key 'seed' must be an int in \[0, inf\); got 'one'",
        ),
        (
            {"base": BASE, "grid": {"model.p": [2]}, "random": {"model.p": [2]}},
            r"exactly one of 'grid', 'random' and 'points'; got 2 \(grid, random\)",
        ),
        ({"base": BASE}, r"exactly one of 'grid', 'random' and 'points'; got 0"),
        (
            {"base": BASE, "random": {"model.sigma": {"uniform": [0.0, 1.0]}}},
            r"config key 'n_samples' is required with 'random'",
        ),
        (
            {
                "base": BASE,
                "random": {"model.sigma": {"loguniform": [0.0, 1.0]}},
                "n_samples": 2,
            },
            r"config key 'random.model.sigma.loguniform\[0\]' must be a float in "
            r"\(0, inf\)",
        ),
        (
            {
                "base": BASE,
                "random": {"model.sigma": {"uniform": [1.0]}},
                "n_samples": 2,
            },
            r"'random.model.sigma.uniform' must be a list \[low, high\]",
        ),
        (
            {"base": BASE, "grid": {"model.p": [2]}, "n_samples": 3},
            r"config key 'n_samples' applies to 'random' only",
        ),
        (
            {"base": BASE, "grid": {"model.impact": [{}], "model.impact.alpha": [1.0]}},
            r"config keys 'grid.model.impact' and 'grid.model.impact.alpha' overlap",
        ),
        (
            {"base": BASE, "grid": {"model.kind.x": [1]}},
            r"cannot set config key 'model.kind.x': 'model.kind' is not a table",
        ),
        ({"base": 3, "grid": {"a": [1]}}, r"config key 'base' must be a table"),
        (
            {"base": BASE, "grid": {"model.p": [2]}, "metrics": [1]},
            r"config key 'metrics\[0\]' must be a non-empty string; got 1",
        ),
        (
            {"points": [{"a": 1}, {"b": 2}]},
            r"config key 'points\[1\]' must set the keys of points\[0\], a; got b",
        ),
    ],
)
def test_spec_validation_messages(data: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        sweep_from_mapping(data)


def test_load_sweep_prefixes_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("base = 'missing.toml'\n[grid]\na = [1]\n")
    with pytest.raises(ConfigError, match=r"bad.toml: config key 'base': config file"):
        load_sweep(path)


# ---------------------------------------------------------------------- seeds, backends
def test_seeds_do_not_depend_on_backend_or_worker_count() -> None:
    points = [{"x": i} for i in range(3)]
    tables = [
        run_sweep(points, draw_uniform, seeds=2, seed=9).table,
        run_sweep(
            points, draw_uniform, seeds=2, seed=9, backend="processes", workers=1
        ).table,
        run_sweep(
            points, draw_uniform, seeds=2, seed=9, backend="processes", workers=2
        ).table,
    ]
    for table in tables[1:]:
        pd.testing.assert_frame_equal(
            table.drop(columns="blas_threads_env"),
            tables[0].drop(columns="blas_threads_env"),
        )
    table = tables[0]
    assert (table["numba_threads"] == 1).all()
    # workers start with BLAS pinned by their environment; this process is not
    assert tables[2]["blas_threads_env"].tolist() == ["1"] * 6
    assert os.environ.get("OPENBLAS_NUM_THREADS", "unset") == BLAS_ENV
    table = table.drop(columns="blas_threads_env")
    assert table["spawn_key"].tolist() == table["cell"].tolist() == list(range(6))
    assert (table["entropy"] == 9).all()
    expected = [
        np.random.default_rng(np.random.SeedSequence(9, spawn_key=(c,))).random()
        for c in range(6)
    ]
    assert table["u"].tolist() == expected
    assert table["seed_index"].tolist() == [0, 1] * 3
    assert table["x"].tolist() == [0, 0, 1, 1, 2, 2]


def test_backends_give_identical_results(tmp_path: Path) -> None:
    """serial == processes (2 workers) == a Dask LocalCluster with 2 workers."""
    pytest.importorskip("distributed")
    spec = small_spec(tables=["metrics"])
    serial = run_sweep(spec, out=tmp_path / "serial")
    processes = run_sweep(
        spec, out=tmp_path / "processes", backend="processes", workers=2
    )
    environ = dict(os.environ)
    dask = run_sweep(spec, out=tmp_path / "dask", backend="dask", workers=2)
    assert dict(os.environ) == environ  # Dask's nanny settings are undone
    assert serial.counts() == {"done": 8}
    assert {"loss", "accuracy", "nc1", "etf_distance"} <= set(serial.table.columns)
    assert serial.table["loss"].notna().all()
    for other in (processes, dask):
        pd.testing.assert_frame_equal(other.table, serial.table)
        pd.testing.assert_frame_equal(
            other.cell_table("metrics"), serial.cell_table("metrics")
        )
    # the in-memory run agrees on every value
    memory = run_sweep(spec)
    columns = ["cell", "loss", "nc1", "accuracy"]
    pd.testing.assert_frame_equal(memory.table[columns], serial.table[columns])
    # alpha > beta separates the classes, alpha < beta does not
    final = serial.table.groupby(["model.impact.alpha", "model.impact.beta"])
    accuracy = final["accuracy"].mean()
    assert accuracy[(1.0, 0.0)] == 1.0 and accuracy[(0.5, 0.75)] < 1.0


def test_the_default_cell_matches_simnet_simulate() -> None:
    spec = small_spec(metrics=["loss", "nc1"])
    result = run_sweep(spec)
    cell = spec.cells()[3]
    cfg = spec.cell_config(cell.params)
    from simnet import simulate

    direct = simulate(cfg.model, **{**cfg.run_kwargs(), "seed": cell.seed_sequence})
    metrics = direct.table("metrics").query("step == 60").set_index("observable")
    row = result.table.iloc[3]
    assert list(result.table.columns[-5:-3]) == ["loss", "nc1"]
    assert row["loss"] == metrics.loc["loss", "value"]
    assert row["nc1"] == metrics.loc["nc1", "value"]


# ---------------------------------------------------------------------- failures, store
def test_a_diverging_cell_is_recorded_and_the_others_finish(tmp_path: Path) -> None:
    # noise of scale 1e308 overflows to infinity within a few steps
    spec = small_spec(grid={"model.sigma": [0.05, 1e308]}, seeds=1)
    out = tmp_path / "sweep"
    result = run_sweep(spec, out=out)
    assert result.table["status"].tolist() == ["done", "failed"]
    failed = result.failed()
    assert failed["error_type"].tolist() == ["DivergenceError"]
    assert failed["error"].iloc[0].startswith("the simulation diverged at step")
    assert np.isnan(result.table["loss"].iloc[1])
    assert np.isfinite(result.table["loss"].iloc[0])
    manifest = json.loads((out / "manifest.json").read_text())
    assert [c["status"] for c in manifest["cells"]] == ["done", "failed"]
    assert manifest["cells"][1]["error_type"] == "DivergenceError"
    assert manifest["counts"] == {"done": 1, "failed": 1}
    assert {"numpy", "numba", "simnet"} <= set(manifest["versions"])
    assert SweepResult.load(out).table.equals(result.table)


def test_a_raising_callable_fails_its_cell_only(tmp_path: Path) -> None:
    result = run_sweep([{"x": x} for x in (1, 2, 3)], fail_on_two, out=tmp_path / "s")
    table = result.table
    assert table["status"].tolist() == ["done", "failed", "done"]
    assert table["y"].tolist()[::2] == [10.0, 30.0]
    assert table.loc[1, "error_type"] == "ValueError"
    assert table.loc[1, "error"] == "x = 2 is not allowed here"
    assert result.counts() == {"done": 2, "failed": 1}


def test_resume_skips_finished_cells_and_retries_failed_ones(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    points = [{"x": x} for x in range(4)]
    CALLS.clear()
    full = run_sweep(points, counting, out=out)
    assert sorted(CALLS) == [0, 1, 2, 3]
    # lose two cells (as if the sweep was killed before writing them)
    for index in (1, 3):
        next((out / "cells").glob(f"cell-{index:06d}.done.*")).unlink()
    partial = SweepResult.load(out)
    assert partial.table["status"].tolist() == ["done", "pending", "done", "pending"]
    assert partial.table["y"].isna().tolist() == [False, True, False, True]
    CALLS.clear()
    resumed = run_sweep(points, counting, out=out, resume=True)
    assert sorted(CALLS) == [1, 3]
    pd.testing.assert_frame_equal(resumed.table, full.table)
    CALLS.clear()
    run_sweep(points, counting, out=out, resume=True)
    assert CALLS == []


def test_resume_retries_failed_cells_unless_asked_not_to(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    points = [{"x": x} for x in (1, 2)]
    run_sweep(points, fail_on_two, out=out)
    assert len(list((out / "cells").glob("*.failed.*"))) == 1
    kept = run_sweep(points, fail_on_two, out=out, resume=True, retry_failed=False)
    assert kept.table["status"].tolist() == ["done", "failed"]
    # the cell function is named in the manifest: another one is refused
    with pytest.raises(ConfigError, match="holds a sweep of the cell function"):
        run_sweep(points, counting, out=out, resume=True)


def test_output_folder_guards(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    points = [{"x": 1}]
    run_sweep(points, counting, out=out)
    with pytest.raises(ConfigError, match="holds a sweep already; resume it"):
        run_sweep(points, counting, out=out)
    with pytest.raises(ConfigError, match="holds a different sweep"):
        run_sweep([{"x": 2}], counting, out=out, resume=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty and holds no sweep"):
        run_sweep(points, counting, out=other)


def test_run_sweep_argument_errors() -> None:
    points = [{"x": 1}]
    with pytest.raises(ConfigError, match="The 'backend' parameter of run_sweep"):
        run_sweep(points, counting, backend="threads")
    with pytest.raises(ConfigError, match="'scheduler' parameter of run_sweep needs"):
        run_sweep(points, counting, scheduler="tcp://localhost:1")
    with pytest.raises(ConfigError, match="'fn' parameter of run_sweep is required"):
        run_sweep(points)
    with pytest.raises(ConfigError, match="apply to a list of points"):
        run_sweep(small_spec(), seeds=3)
    with pytest.raises(ConfigError, match="'workers' parameter of run_sweep"):
        run_sweep(points, counting, workers=0)


def test_bad_cell_results_fail_the_cell() -> None:
    result = run_sweep(
        [{"x": 1}, {"x": 2}],
        lambda p, s: {"cell": 1} if p["x"] == 1 else object(),
    )
    assert result.table["status"].tolist() == ["failed", "failed"]
    assert "reserves" in result.table["error"].iloc[0]
    assert "must return a dict, a DataFrame" in result.table["error"].iloc[1]
    missing = run_sweep(small_spec(metrics=["loss", "separable"], seeds=1))
    assert set(missing.table["error_type"]) == {"DataError"}
    assert "metric 'separable' was not recorded" in missing.table["error"].iloc[0]


def test_a_cell_may_return_several_rows() -> None:
    def curve(params: dict, seed: np.random.SeedSequence) -> pd.DataFrame:
        return pd.DataFrame({"t": [0, 1], "v": [params["x"], 2 * params["x"]]})

    table = run_sweep([{"x": 1.0}, {"x": 3.0}], curve).table
    assert table["cell"].tolist() == [0, 0, 1, 1]
    assert table["v"].tolist() == [1.0, 2.0, 3.0, 6.0]


# ---------------------------------------------------------------------- phase
def test_phase_table_statistics(tmp_path: Path) -> None:
    points = [{"a": a, "b": b} for a in (0.0, 1.0) for b in (0.0, 0.5, 1.0)]

    def fn(params: dict, seed: np.random.SeedSequence) -> dict:
        if params["a"] == 1.0 and params["b"] == 1.0 and seed.spawn_key[0] % 3 == 0:
            raise RuntimeError("diverged")
        u = float(np.random.default_rng(seed).random())
        return {"separable": float(params["a"] > params["b"]), "u": u}

    result = run_sweep(points, fn, seeds=3)
    phase = phase_table(result, "a", "b", ["separable", "u"])
    assert list(phase.columns) == [
        "a",
        "b",
        "quantity",
        "mean",
        "std",
        "count",
        "n_failed",
    ]
    assert len(phase) == 12
    done = result.table[result.table["status"] == "done"]
    expected = done.groupby(["a", "b"])["u"].agg(["mean", "std", "count"])
    got = phase[phase["quantity"] == "u"].set_index(["a", "b"])
    np.testing.assert_allclose(got["mean"], expected["mean"], rtol=1e-12)
    np.testing.assert_allclose(got["std"], expected["std"], rtol=1e-12)
    assert got["count"].tolist() == expected["count"].tolist()
    sep = phase[phase["quantity"] == "separable"].set_index(["a", "b"])["mean"]
    assert sep[(1.0, 0.0)] == 1.0 and sep[(0.0, 0.5)] == 0.0
    # the cell at (1, 1) with spawn key 15 failed: count 2, n_failed 1
    corner = got.loc[(1.0, 1.0)]
    assert (corner["count"], corner["n_failed"]) == (2, 1)

    pytest.importorskip("matplotlib")
    png = plot_phase(phase, tmp_path / "phase.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_phase_table_errors_and_missing_matplotlib(monkeypatch, tmp_path) -> None:
    result = run_sweep([{"model.a": 1, "model.b": 2}], lambda p, s: {"v": 1.0})
    phase = phase_table(result, "a", "model.b")
    assert phase["model.a"].tolist() == [1]
    with pytest.raises(ConfigError, match="no swept key match 'c'"):
        phase_table(result, "a", "c")
    with pytest.raises(ConfigError, match="two different keys"):
        phase_table(result, "a", "model.a")
    with pytest.raises(ConfigError, match="'w' is not a numeric result column"):
        phase_table(result, "a", "b", ["w"])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(
        SimnetError, match=r"need matplotlib: pip install 'simnet\[plot"
    ):
        plot_phase(phase, tmp_path / "p.png")


def test_indexed_keys_sweep_leaf_and_shared_rates_of_a_hierarchy() -> None:
    """(leaf rate, shared rate) of HFS's per-depth eta_phi as two swept keys."""
    base = {
        "run": {"steps": 200, "record": {"at": [200]}, "observe": ["loss"]},
        "hierarchy": {"preset": "tiger_cat_car"},
        "model": {"kind": "hfs", "n_per_class": 4, "eta_phi": [0.05] * 4},
    }
    grid = {"model.eta_phi[3]": [0.0, 0.1], "model.eta_phi[0:3]": [0.0, 0.05]}
    spec = SweepSpec(base=base, grid=grid, seeds=2)
    assert spec.cell_config(spec.point_list()[1]).model.eta_phi == [
        0.05,
        0.05,
        0.05,
        0.0,
    ]
    assert base["model"]["eta_phi"] == [0.05] * 4  # not modified
    result = run_sweep(spec)
    assert result.counts() == {"done": 8}
    phase = phase_table(result, "eta_phi[3]", "eta_phi[0:3]", ["loss"])
    loss = phase.set_index(["model.eta_phi[3]", "model.eta_phi[0:3]"])["mean"]
    # no feature learning at all: the loss stays where it started, above the others
    assert loss[(0.0, 0.0)] > max(loss[(0.1, 0.0)], loss[(0.0, 0.05)])
    with pytest.raises(ConfigError, match=r"'model.eta_phi' has 4 entries"):
        SweepSpec(base=base, grid={"model.eta_phi[4]": [0.1]})
    with pytest.raises(
        ConfigError,
        match=r"cannot set config key 'model.gamma\[0\]': 'model.gamma' is not a "
        "list in the base configuration",
    ):
        SweepSpec(base=base, grid={"model.gamma[0]": [0.1]})
