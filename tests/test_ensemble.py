"""Replica ensembles equal separate single runs, bit for bit; summaries are numpy's.

Replica r of ``simulate_ensemble(model, seed=s, ...)`` must equal
``simulate(model, seed=SeedSequence(s).spawn(R)[r], ...)`` in every recorded table and
in the final state, for every covered model and integrator, whatever the chunking of
the steps and the number of numba threads.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

import simnet.ensemble as ens_module
from simnet import (
    ConfigError,
    DivergenceError,
    HFSModel,
    Hierarchy,
    ImpactMatrix,
    LESDEModel,
    PowerLaw,
    RunResult,
    simulate,
    simulate_ensemble,
)
from simnet.ensemble import summarise_replicas

SEED = 20261127
REPLICAS = 3
STEPS = 40
RECORD = [0, 7, 25, 40]


def _impact(k: int = 3) -> ImpactMatrix:
    return ImpactMatrix.two_parameter(
        k, alpha=PowerLaw(0.2, 0.5), beta=PowerLaw(0.05, 0.5)
    )


MODELS = {
    "sgd": lambda: LESDEModel(_impact(), n_per_class=6, batch_size=2),
    "sgd_noise_epoch": lambda: LESDEModel(
        _impact(4), n_per_class=5, sigma=0.05, head="random", p=3, sampling="epoch"
    ),
    "ode_ce_euler": lambda: LESDEModel(_impact(), integrator="ode", dt=0.5),
    "ode_identity_rk4": lambda: LESDEModel(
        _impact(), integrator="ode", surrogate="identity", ode_method="rk4", dt=0.5
    ),
    "ode_projected": lambda: LESDEModel(
        _impact(), integrator="ode", surrogate="projected"
    ),
    "ode_etf_rk4": lambda: LESDEModel(
        _impact(), integrator="ode", surrogate="etf", ode_method="rk4"
    ),
    "ode_ce_random_head": lambda: LESDEModel(
        _impact(), integrator="ode", head="random", p=5, dt=0.5
    ),
    "sde": lambda: LESDEModel(
        _impact(), integrator="sde", n_per_class=5, sigma=0.1, dt=0.1
    ),
    "hfs": lambda: HFSModel(
        Hierarchy.preset("tiger_cat_car"), n_per_class=4, head="random", p=4
    ),
    "hfs_noise_batch": lambda: HFSModel(
        Hierarchy.preset("tiger_cat_car"), n_per_class=4, sigma=0.02, batch_size=3
    ),
}


def _observe(model) -> list[str]:
    obs = ["loss", "neural_collapse", "impact", "class_means"]
    if isinstance(model, HFSModel):
        obs.append("feature_count")
    if isinstance(model, HFSModel) or model.integrator_kind.value != "ode":
        obs.append("similarity")
    return obs


def _replica(result: RunResult, name: str, r: int) -> pd.DataFrame:
    frame = result.table(name)
    return frame[frame["replica"] == r].drop(columns="replica").reset_index(drop=True)


def assert_matches_single_runs(
    ensemble: RunResult, model, seed, replicas: int, **kwargs
) -> None:
    children = np.random.SeedSequence(seed).spawn(replicas)
    for r, child in enumerate(children):
        single = simulate(model, seed=child, **kwargs)
        assert set(ensemble.tables) == {
            *single.tables,
            *(f"{name}_summary" for name in single.tables),
        }
        for name, table in single.tables.items():
            pd.testing.assert_frame_equal(
                _replica(ensemble, name, r), table, check_exact=True
            )
        for name, array in single.state.items():
            assert_array_equal(ensemble.state[name][r], array, strict=True)


@pytest.mark.parametrize("case", sorted(MODELS))
def test_ensemble_equals_single_runs(case):
    model = MODELS[case]()
    kwargs = {"steps": STEPS, "record": RECORD, "observe": _observe(model)}
    result = simulate_ensemble(model, replicas=REPLICAS, seed=SEED, **kwargs)
    assert_matches_single_runs(result, model, SEED, REPLICAS, **kwargs)


@pytest.mark.parametrize("case", ["sgd_noise_epoch", "ode_identity_rk4", "hfs"])
def test_chunking_inside_a_record_interval_changes_nothing(case, monkeypatch):
    model = MODELS[case]()
    kwargs = {"steps": 30, "record": 15, "observe": ["loss", "class_means"]}
    whole = simulate_ensemble(model, replicas=2, seed=3, **kwargs)
    monkeypatch.setattr(ens_module, "_MAX_CHUNK_INDICES", 7)  # chunks of 1-3 steps
    chunked = simulate_ensemble(model, replicas=2, seed=3, **kwargs)
    for name, table in whole.tables.items():
        pd.testing.assert_frame_equal(chunked.table(name), table, check_exact=True)


def test_one_replica_equals_simulate_with_child_seed():
    model = MODELS["sgd_noise_epoch"]()
    kwargs = {"steps": 25, "record": 5, "observe": ["loss", "class_means"]}
    one = simulate_ensemble(model, replicas=1, seed=SEED, **kwargs)
    child = np.random.SeedSequence(SEED).spawn(1)[0]
    single = simulate(model, seed=child, **kwargs)
    for name, table in single.tables.items():
        pd.testing.assert_frame_equal(_replica(one, name, 0), table, check_exact=True)
    # simulate accepts the child SeedSequence unchanged: its spawn key is recorded.
    assert single.metadata["seed_spawn_key"] == [0]
    assert single.metadata["seed_entropy"] == SEED


def test_same_seed_sequence_twice_gives_the_same_ensemble():
    model = MODELS["sgd"]()
    root = np.random.SeedSequence(7)
    kwargs = {"replicas": 2, "steps": 10, "record": 5, "observe": ["loss"]}
    first = simulate_ensemble(model, seed=root, **kwargs)
    second = simulate_ensemble(model, seed=root, **kwargs)
    pd.testing.assert_frame_equal(first.table("metrics"), second.table("metrics"))
    other = simulate_ensemble(model, seed=8, **kwargs)
    assert not first.table("metrics")["value"].equals(other.table("metrics")["value"])


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
@pytest.mark.parametrize("case", ["sgd_noise_epoch", "ode_ce_euler", "hfs_noise_batch"])
def test_results_do_not_depend_on_the_thread_count(case):
    model = MODELS[case]()
    kwargs = {"replicas": 5, "steps": 20, "record": 10, "seed": 1}
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = simulate_ensemble(model, **kwargs)
        numba.set_num_threads(2)
        parallel = simulate_ensemble(model, **kwargs)
    finally:
        numba.set_num_threads(before)
    assert serial.metadata["numba_threads"] == 1
    assert parallel.metadata["numba_threads"] == 2
    for name, table in serial.tables.items():
        pd.testing.assert_frame_equal(parallel.table(name), table, check_exact=True)
    for name, array in serial.state.items():
        assert_array_equal(parallel.state[name], array)


# ---------------------------------------------------------------------- summaries
def _numpy_summary(frame: pd.DataFrame, keys, values, quantiles) -> pd.DataFrame:
    """Group by ``keys`` and apply numpy to each group's values, in replica order."""
    rows = []
    for key, group in frame.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True))
        row["n"] = len(group)
        for col in values:
            v = group[col].to_numpy()
            row[f"{col}_mean"] = np.mean(v)
            row[f"{col}_std"] = np.std(v, ddof=1) if len(v) > 1 else np.nan
            for q in quantiles:
                row[f"{col}_q{100 * q:.10g}"] = np.quantile(v, q)
        rows.append(row)
    return pd.DataFrame(rows)


def test_summaries_are_numpy_statistics_of_the_replica_tables():
    model = MODELS["sgd_noise_epoch"]()
    quantiles = (0.1, 0.5, 0.9)
    result = simulate_ensemble(
        model,
        replicas=6,
        steps=30,
        record=10,
        seed=2,
        observe=["loss", "neural_collapse", "impact", "class_means", "similarity"],
        quantiles=quantiles,
    )
    specs = {
        "metrics": (["step", "time", "observable"], ["value"]),
        "class_means": (["step", "time", "class", "coordinate"], ["value"]),
        "elasticity_curve": (
            ["step", "time", "lca_depth", "same_class", "n_pairs"],
            ["mean_impact"],
        ),
        "similarity": (
            ["step", "time", "class_i", "class_j", "lca_depth"],
            ["s_rel", "s_ker"],
        ),
    }
    for name, (keys, values) in specs.items():
        got = result.table(f"{name}_summary")
        want = _numpy_summary(result.table(name), keys, values, quantiles)
        assert list(got.columns) == list(want.columns)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)
    counts = result.table("metrics_summary")["n"]
    assert (counts == 6).all()
    # similarity pools the probe pairs of every replica for each class pair
    assert (result.table("similarity_summary")["n"] > 6).all()


@given(
    n_replicas=st.integers(1, 7),
    n_keys=st.integers(1, 5),
    quantiles=st.lists(
        st.floats(0.0, 1.0), min_size=0, max_size=4, unique_by=lambda q: f"{q:.10g}"
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_summarise_replicas_matches_numpy_per_group(
    n_replicas, n_keys, quantiles, seed
):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "replica": np.repeat(np.arange(n_replicas), n_keys),
            "step": np.tile(np.arange(n_keys), n_replicas),
            "time": np.tile(np.arange(n_keys) * 0.5, n_replicas),
            "value": rng.standard_normal(n_replicas * n_keys)
            * 10.0 ** rng.integers(-3, 4),
        }
    )
    got = summarise_replicas(frame, quantiles)
    want = _numpy_summary(frame, ["step", "time"], ["value"], quantiles)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)


# ---------------------------------------------------------------------- result
def test_result_config_metadata_defaults_and_round_trip(tmp_path):
    model = MODELS["hfs"]()
    result = simulate_ensemble(model, replicas=2, steps=12, record=6, seed=SEED)
    assert result.config["replicas"] == 2
    assert result.config["observe"] == [
        "loss",
        "neural_collapse",
        "class_means",
        "feature_count",
    ]
    assert result.metadata["seed_entropy"] == SEED
    assert result.table("metrics")["replica"].dtype == np.int64
    assert result.state["lam"].shape[0] == 2
    loaded = RunResult.load(result.save(tmp_path / "ens"))
    assert loaded.config == result.config
    assert loaded.metadata["seed_entropy"] == SEED
    assert set(loaded.tables) == set(result.tables)
    for name, table in result.tables.items():
        pd.testing.assert_frame_equal(loaded.table(name), table, check_exact=True)
    for name, array in result.state.items():
        assert_array_equal(loaded.state[name], array)


def test_keep_replicas_false_keeps_only_the_summaries():
    model = MODELS["ode_projected"]()
    full = simulate_ensemble(model, replicas=3, steps=10, record=5, seed=1)
    lean = simulate_ensemble(
        model, replicas=3, steps=10, record=5, seed=1, keep_replicas=False
    )
    assert sorted(lean.tables) == ["class_means_summary", "metrics_summary"]
    assert lean.state == {}
    for name, table in lean.tables.items():
        pd.testing.assert_frame_equal(full.table(name), table, check_exact=True)


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"replicas": 0}, r"'replicas' parameter of simulate_ensemble .* Got 0"),
        ({"replicas": 2.0}, r"'replicas' parameter of simulate_ensemble"),
        ({"replicas": True}, r"'replicas' parameter of simulate_ensemble"),
        ({"steps": -1}, r"'steps' parameter of simulate_ensemble"),
        ({"n_probes": 1}, r"'n_probes' parameter of simulate_ensemble"),
        ({"keep_replicas": "yes"}, r"'keep_replicas' parameter .* bool"),
        ({"quantiles": (0.5, 1.5)}, r"'quantiles' parameter .* in \[0, 1\]"),
        ({"quantiles": (0.5, 0.5)}, r"'quantiles' parameter .* distinct"),
        ({"quantiles": "median"}, r"'quantiles' parameter"),
        ({"observe": ["bogus"]}, r"'observe' parameter"),
        ({"seed": -3}, r"'seed' parameter"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, match):
    args = {"replicas": 2, "steps": 5, **kwargs}
    with pytest.raises(ConfigError, match=match):
        simulate_ensemble(MODELS["sgd"](), **args)


def test_invalid_model_is_a_config_error():
    with pytest.raises(ConfigError, match="'model' parameter of simulate_ensemble"):
        simulate_ensemble("not a model", replicas=2, steps=5)


@pytest.mark.parametrize(
    ("integrator", "extra"),
    [
        ("sgd", {"n_per_class": 4}),
        ("ode", {"surrogate": "identity"}),
        ("sde", {"n_per_class": 4, "dt": 1.0}),
    ],
)
def test_divergence_names_the_replica_and_the_step(integrator, extra):
    model = LESDEModel(
        ImpactMatrix.two_parameter(3, alpha=1e308, beta=-1e308),
        integrator=integrator,
        **extra,
    )
    with pytest.raises(
        DivergenceError, match=r"replica \d+ \(of 3\).*step \d+"
    ) as info:
        simulate_ensemble(model, replicas=3, steps=20, record=20, seed=0)
    assert 0 <= info.value.replica < 3
    assert 0 <= info.value.step <= 20


def test_hfs_divergence_names_the_replica():
    model = HFSModel(Hierarchy.preset("tiger_cat_car"), n_per_class=3, eta_phi=1e200)
    with pytest.raises(DivergenceError, match=r"replica \d+ \(of 2\).*step \d+"):
        simulate_ensemble(model, replicas=2, steps=30, record=30, seed=0)
