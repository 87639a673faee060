"""Tests of MLP configurations in simnet.config (load_mlp_config, ``simnet mlp``)."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simnet
from simnet import ConfigError, DivergenceError, Hierarchy
from simnet.config import (
    _DATA_COMMON_KEYS,
    _DATA_PARAMS,
    _MLP_RUN_KEYS,
    _NETWORK_KEYS,
    _TRAINING_KEYS,
    MLPRunConfig,
    _data_parsers,
    config_from_mapping,
    load_config,
    load_mlp_config,
    mlp_config_from_mapping,
)
from simnet.datasets import Dataset, save_dataset
from simnet.networks import MLP, train_mlp

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MLP_EXAMPLES = sorted(EXAMPLES.glob("mlp_*.toml"))
ALL_TABLES = ["class_means", "elasticity_curve", "impact", "metrics", "similarity"]


def small(**sections: dict[str, Any]) -> dict[str, Any]:
    """A small valid torus configuration; each keyword updates one section."""
    data: dict[str, Any] = {
        "run": {"steps": 10, "record": 5, "observe": ["loss"]},
        "data": {"kind": "torus", "n": 40},
        "network": {"hidden": [8]},
        "training": {"lr": 0.01},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


def other_data(section: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """:func:`small` with its [data] section replaced by ``section``."""
    data = small(**sections)
    data["data"] = dict(section)
    return data


def check_error(data: dict, pattern: str, **kwargs: Any) -> str:
    """Assert mlp_config_from_mapping raises a one-line ConfigError matching
    pattern (a plain string, not a regular expression)."""
    with pytest.raises(ConfigError, match=re.escape(pattern)) as info:
        mlp_config_from_mapping(data, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------- examples
def test_examples_exist() -> None:
    names = {p.name for p in MLP_EXAMPLES}
    assert {"mlp_hierarchical.toml", "mlp_torus.toml", "mlp_reference.toml"} <= names


@pytest.mark.parametrize("path", MLP_EXAMPLES, ids=lambda p: p.stem)
def test_example_parses_and_trains(path: Path) -> None:
    cfg = load_mlp_config(path)
    assert isinstance(cfg, MLPRunConfig)
    assert cfg.mlp.input_dim == cfg.dataset.n_features
    short = dataclasses.replace(cfg, steps=4, record=simnet.RecordSchedule.stride(4))
    result = short.train(progress=False)
    assert sorted(result.table("metrics")["step"].unique()) == [0, 4]
    assert result.config["data"]["kind"] == cfg.data["kind"]
    assert result.config["n_samples"] == cfg.dataset.n_samples
    if cfg.observe is not None:
        assert set(result.config["observe"]) == set(cfg.observe)


def test_examples_are_what_they_say() -> None:
    tree = load_mlp_config(EXAMPLES / "mlp_hierarchical.toml")
    assert tree.dataset.hierarchy is not None
    assert tree.dataset.hierarchy.max_depth == 3
    assert tree.mlp.activation.value == "relu" and tree.mlp.loss.value == "ce"
    torus = load_mlp_config(EXAMPLES / "mlp_torus.toml")
    assert torus.data["kind"] == "torus"
    assert torus.mlp.loss.value == "mse" and torus.mlp.n_outputs == 1


def test_reference_example_lists_every_key() -> None:
    text = (EXAMPLES / "mlp_reference.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert set(data) == {"run", "data", "hierarchy", "network", "training"}
    assert set(data["run"]) | {"probe_eta"} == set(_MLP_RUN_KEYS)
    assert data["data"]["kind"] == "hierarchical"
    assert set(data["data"]) | {"seed"} == {
        *_DATA_COMMON_KEYS,
        *_DATA_PARAMS["hierarchical"],
    }
    assert set(data["network"]) | {"n_outputs"} == set(_NETWORK_KEYS)
    assert set(data["training"]) == set(_TRAINING_KEYS)
    commented = set(re.findall(r"^#\s+(\w+) = ", text, flags=re.MULTILINE))
    for kind, params in _DATA_PARAMS.items():
        assert set(params) <= commented | set(data["data"]), kind
    assert {"probe_eta", "seed", "n_outputs"} <= commented


# ---------------------------------------------------------------------- schema
def test_schema_follows_the_python_signatures() -> None:
    exempt = {"mlp", "X", "y", "class_names", "hierarchy", "progress", "params",
              "validation"}  # fmt: skip
    train_params = set(inspect.signature(train_mlp).parameters) - exempt
    assert train_params == set(_MLP_RUN_KEYS) | set(_TRAINING_KEYS)
    assert set(_NETWORK_KEYS) == {f.name for f in dataclasses.fields(MLP)} - {
        "input_dim"
    }
    tree = Hierarchy.balanced([2])
    for kind, params in _DATA_PARAMS.items():
        assert set(_data_parsers(kind, tree, Path.cwd())) == set(params), kind
    assert _DATA_PARAMS["torus"] == ("n", "r", "k")
    assert _DATA_PARAMS["file"] == ("path", "label_column")


def test_feature_count_is_not_an_mlp_observable() -> None:
    check_error(
        small(run={"observe": ["loss", "feature_count"]}),
        "config key 'run.observe[1]' must be one of 'loss', 'separability'",
    )


# ---------------------------------------------------------------------- valid input
def test_mapping_builds_dataset_network_and_train_kwargs() -> None:
    cfg = mlp_config_from_mapping(
        small(
            run={"seed": 3, "n_probes": 4, "probe_eta": 0.1, "ntk_samples": 10},
            network={"hidden": [6, 5], "activation": "tanh", "bias": False},
            training={"batch_size": 4, "momentum": 0.5, "sampling": "epoch"},
        )
    )
    assert cfg.mlp == MLP(3, (6, 5), 2, activation="tanh", bias=False)
    assert cfg.dataset.n_samples == 40 and cfg.dataset.class_names == (
        "negative",
        "positive",
    )
    kwargs = cfg.train_kwargs()
    assert kwargs["seed"] == 3 and kwargs["lr"] == 0.01
    assert (kwargs["batch_size"], kwargs["momentum"]) == (4, 0.5)
    assert (kwargs["sampling"], kwargs["n_probes"]) == ("epoch", 4)
    assert (kwargs["probe_eta"], kwargs["ntk_samples"]) == (0.1, 10)
    assert kwargs["observe"] == ["loss"]
    assert cfg.record == simnet.RecordSchedule.stride(5)


def test_defaults() -> None:
    cfg = mlp_config_from_mapping(
        {"run": {"steps": 5}, "data": {"kind": "torus"}, "training": {"lr": 0.1}}
    )
    assert cfg.mlp.hidden == (256, 256)
    assert (cfg.mlp.activation.value, cfg.mlp.loss.value) == ("relu", "ce")
    assert cfg.mlp.bias and cfg.mlp.n_outputs == 2
    assert (cfg.batch_size, cfg.momentum, cfg.sampling) == (1, 0.0, "uniform")
    assert (cfg.record, cfg.observe, cfg.seed) == (None, None, 0)
    assert (cfg.n_probes, cfg.probe_eta, cfg.ntk_samples) == (20, None, 200)
    assert cfg.dataset.n_samples == 100  # the generator's default
    assert cfg.data["standardize"] is False and cfg.data["label_noise"] == 0.0


def test_hierarchical_data_with_node_scale_per_depth() -> None:
    data = other_data(
        {
            "kind": "hierarchical",
            "n_per_class": 3,
            "dim": 5,
            "latent_dim": 4,
            "node_scale": [0.0, 1.0, 2.0],
            "noise": 0.1,
            "nonlinearity": "relu",
        },
        hierarchy={"branching": [2, 2]},
    )
    cfg = mlp_config_from_mapping(data)
    ds = cfg.dataset
    assert ds.X.shape == (12, 5) and ds.hierarchy is not None
    assert ds.class_names == Hierarchy.balanced([2, 2]).classes
    assert cfg.mlp.n_outputs == 4
    assert cfg.data["node_scale"]["root"] == 0.0
    assert cfg.data["nonlinearity"] == "relu"


@pytest.mark.parametrize(
    ("section", "shape", "names"),
    [
        ({"kind": "torus", "n": 6, "r": 3.0, "k": 2}, (6, 3), ("negative", "positive")),
        (
            {"kind": "folded_boxes", "n": 8, "k": 1.0, "bias": 5.0, "delta": 0.5},
            (8, 3),
            ("negative", "positive"),
        ),
        (
            {"kind": "shapes", "n_per_class": 2, "size": 8},
            (6, 64),
            ("triangle", "rectangle", "ellipse"),
        ),
    ],
)
def test_generator_kinds(section: dict, shape: tuple, names: tuple) -> None:
    cfg = mlp_config_from_mapping(other_data(section))
    assert cfg.dataset.X.shape == shape
    assert cfg.dataset.class_names == names
    params = {k: v for k, v in section.items() if k != "kind"}
    assert {k: cfg.data[k] for k in params} == params


def test_digits_kind() -> None:
    pytest.importorskip("sklearn")
    data = other_data({"kind": "digits", "classes": [3, 5], "n_per_class": 10})
    cfg = mlp_config_from_mapping(data)
    assert cfg.dataset.class_names == ("3", "5") and cfg.dataset.n_samples == 20
    data["data"]["hierarchy"] = "data"
    assert mlp_config_from_mapping(data).dataset.hierarchy is not None
    data["data"]["classes"] = [3, 3]
    check_error(data, "config key 'data.classes'")


def test_file_kind_relative_to_the_config(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ds = Dataset(rng.normal(size=(12, 2)), [0, 1, 2] * 4, ("a", "b", "c"))
    (tmp_path / "data").mkdir()
    save_dataset(ds, tmp_path / "data" / "points.csv")
    config = tmp_path / "run.toml"
    config.write_text(
        "[run]\nsteps = 4\nrecord = 2\n"
        "[data]\nkind = 'file'\npath = 'data/points.csv'\n"
        "[hierarchy]\nnested = {root = {ab = ['a', 'b'], c = []}}\n"
        "[network]\nhidden = [4]\n[training]\nlr = 0.1\nbatch_size = 12\n",
        encoding="utf-8",
    )
    cfg = load_mlp_config(config)
    np.testing.assert_allclose(cfg.dataset.X, ds.X)
    assert cfg.dataset.hierarchy is not None and cfg.batch_size == 12
    assert cfg.data["path"] == str(tmp_path / "data" / "points.csv")
    result = cfg.train(progress=False)
    curve = result.table("elasticity_curve")
    assert sorted(curve["lca_depth"].unique()) == [0, 1, 2]


def test_hierarchy_names_the_classes_of_other_kinds() -> None:
    nested = {"root": {"negative": [], "positive": []}}
    cfg = mlp_config_from_mapping(
        small(hierarchy={"nested": nested}, run={"observe": ["impact"]})
    )
    assert cfg.dataset.hierarchy == Hierarchy.from_nested(nested)
    impact = cfg.train(progress=False).table("impact")
    same = impact["class_a"] == impact["class_b"]
    assert set(impact.loc[same, "lca_depth"]) == {1}
    assert set(impact.loc[~same, "lca_depth"]) == {0}


def test_label_noise_and_standardize() -> None:
    cfg = mlp_config_from_mapping(
        small(
            data={"label_noise": 0.25, "label_noise_mode": "uniform", "seed": 4},
            run={"observe": ["loss", "impact"]},
        )
    )
    assert cfg.data["label_noise"] == 0.25 and cfg.data["seed"] == 4
    assert cfg.dataset.per_sample["resampled"].sum() == 10
    result = cfg.train(progress=False)
    np.testing.assert_array_equal(
        result.state["clean_labels"], cfg.dataset.per_sample["clean_y"]
    )
    assert result.config["data"]["label_noise_mode"] == "uniform"
    scaled = mlp_config_from_mapping(small(data={"standardize": True}))
    np.testing.assert_allclose(scaled.dataset.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.dataset.X.std(axis=0), 1.0)


def test_data_seed_follows_run_seed_unless_given() -> None:
    def features(**data: Any) -> np.ndarray:
        run = {"seed": data.pop("run_seed")}
        return mlp_config_from_mapping(small(run=run, data=data)).dataset.X

    np.testing.assert_array_equal(features(run_seed=1), features(run_seed=1))
    assert not np.array_equal(features(run_seed=1), features(run_seed=2))
    np.testing.assert_array_equal(
        features(run_seed=1, seed=9), features(run_seed=2, seed=9)
    )
    # the derived data stream is not one of the training's streams
    cfg = mlp_config_from_mapping(small(run={"seed": 0}))
    assert cfg.data["seed_spawn_key"] not in ([0], [1], [2], [3])


def test_n_outputs() -> None:
    scalar = mlp_config_from_mapping(small(network={"loss": "mse", "n_outputs": 1}))
    assert scalar.mlp.n_outputs == 1
    assert mlp_config_from_mapping(small(network={"loss": "mse"})).mlp.n_outputs == 2
    assert mlp_config_from_mapping(small(network={"loss": "bce"})).mlp.n_outputs == 1
    assert mlp_config_from_mapping(small(network={"hidden": 3})).mlp.hidden == (3,)
    assert mlp_config_from_mapping(small(network={"hidden": []})).mlp.hidden == ()


def test_mapping_is_not_modified() -> None:
    data = small(data={"label_noise": 0.1}, network={"hidden": [4, 4]})
    before = copy.deepcopy(data)
    mlp_config_from_mapping(data)
    assert data == before


# ---------------------------------------------------------------------- errors
SHAPES = {"kind": "shapes", "n_per_class": 2, "size": 8}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (small(netwrok={}), "unknown config key 'netwrok' (did you mean 'network'?)"),
        (small(model={}), "unknown config key 'model' ([model] makes a simulate"),
        (small(run={"stpes": 3}), "unknown config key 'run.stpes' (did you mean"),
        (small(run={"steps": -1}), "config key 'run.steps' must be an int in [0, inf)"),
        (small(run={"ntk_samples": 1}), "config key 'run.ntk_samples' must be an int"),
        (small(run={"probe_eta": 0}), "config key 'run.probe_eta' must be a float in"),
        (small(run={"record": {"at": [0, 50]}}), "lists step 50, beyond run.steps"),
        (
            small(data={"kind": "tours"}),
            "config key 'data.kind' must be one of 'hierarchical', 'torus'",
        ),
        (
            small(data={"n_per_class": 3}),
            "unknown config key 'data.n_per_class' for kind = 'torus' (it applies to "
            "kind = 'hierarchical', 'shapes', 'digits')",
        ),
        (small(data={"rr": 3.0}), "unknown config key 'data.rr' for kind = 'torus'"),
        (
            small(data={"hierarchy": "data"}),
            "unknown config key 'data.hierarchy' for kind = 'torus' (the class "
            "hierarchy goes in the [hierarchy] section)",
        ),
        (small(data={"n": 7}), "config key 'data.n' must be an even int >= 2"),
        (small(data={"n": 1}), "config key 'data.n' must be an int in [2, inf); got 1"),
        (
            small(data={"r": 1}),
            "config key 'data.r' must be a float in (1, inf); got 1",
        ),
        (small(data={"k": 1.5}), "config key 'data.k' must be an int in [1, inf)"),
        (small(data={"seed": -2}), "config key 'data.seed' must be an int in [0, inf)"),
        (
            small(data={"label_noise": 1.5}),
            "'data.label_noise' must be a float in [0, 1]",
        ),
        (
            small(data={"label_noise_mode": "uniform_others"}),
            "(did you mean 'uniform_other'?)",
        ),
        (
            small(data={"standardize": "yes"}),
            "'data.standardize' must be true or false",
        ),
        (
            other_data({"kind": "folded_boxes", "n": 8, "bias": 4.0, "delta": 5.0}),
            "config key 'data.delta' must be a float in [0, 4)",
        ),
        (
            other_data({"kind": "folded_boxes", "n": 8, "bias": -1.0}),
            "config key 'data.bias' must be a float in (0, inf); got -1.0",
        ),
        (
            other_data({**SHAPES, "size": 4}),
            "config key 'data.size' must be an int in [8, inf); got 4",
        ),
        (
            other_data({"kind": "digits", "classes": [3, 12]}),
            "config key 'data.classes[1]' must be an int in [0, 9]; got 12",
        ),
        (
            other_data(
                {"kind": "digits", "hierarchy": "data"},
                hierarchy={"preset": "binary_3"},
            ),
            "'data.hierarchy' and the [hierarchy] section both",
        ),
        (
            other_data({"kind": "file"}),
            "config key 'data.path' is required for data.kind = 'file'",
        ),
        (other_data({"kind": "file", "path": 3}), "'data.path' must be a file name"),
        (
            other_data({"kind": "hierarchical"}),
            "config section [hierarchy] is required for data.kind = 'hierarchical'",
        ),
        (
            other_data(
                {"kind": "hierarchical", "node_scale": [1.0, 2.0]},
                hierarchy={"branching": [2, 2]},
            ),
            "config key 'data.node_scale' given per depth must have 3 entries",
        ),
        (
            small(hierarchy={"preset": "tiger_cat_car"}),
            "config section [hierarchy] must have the classes of the data in label "
            "order, the list ['negative', 'positive']",
        ),
        (small(network={"hidden": [8, 0]}), "config key 'network.hidden[1]' must be"),
        (
            small(network={"hidden": "wide"}),
            "config key 'network.hidden' must be a list",
        ),
        (small(network={"activation": "relux"}), "(did you mean 'relu'?)"),
        (small(network={"loss": "xent"}), "'network.loss' must be one of 'mse', 'bce'"),
        (small(network={"bias": 1}), "config key 'network.bias' must be true or false"),
        (
            small(network={"input_dim": 3}),
            "unknown config key 'network.input_dim' (the input dimension is",
        ),
        (
            small(network={"n_outputs": 3}),
            "config key 'network.n_outputs' must be 2 for loss = 'ce' with 2 classes",
        ),
        (
            small(network={"loss": "mse", "n_outputs": 3}),
            "config key 'network.n_outputs' must be 1 or 2 for loss = 'mse'",
        ),
        (
            other_data(SHAPES, network={"loss": "bce"}),
            "config key 'network.loss' = 'bce' needs 2 classes; the data has 3",
        ),
        (
            small(training={"lr": 0}),
            "config key 'training.lr' must be a float in (0, inf)",
        ),
        (small(training={"steps": 3}), "'training.steps' (steps go in [run])"),
        (small(training={"lr_": 3}), "(did you mean 'training.lr'?)"),
        (
            small(training={"batch_size": 41}),
            "config key 'training.batch_size' must be an int in [1, 40]; got 41",
        ),
        (
            small(training={"momentum": 1.0}),
            "config key 'training.momentum' must be a float in [0, 1); got 1.0",
        ),
        (small(training={"sampling": "epochs"}), "(did you mean 'epoch'?)"),
    ],
)
def test_validation_errors(data: dict, expected: str) -> None:
    check_error(data, expected)


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        ("run", "config section [run] is required"),
        ("data", "config section [data] is required"),
        ("training", "config section [training] is required"),
    ],
)
def test_required_sections(drop: str, expected: str) -> None:
    data = small()
    del data[drop]
    check_error(data, expected)


def test_required_keys() -> None:
    data = small()
    del data["data"]["kind"]
    check_error(data, "config key 'data.kind' is required: one of 'hierarchical'")
    data = small()
    del data["training"]["lr"]
    check_error(data, "config key 'training.lr' is required (a float > 0)")
    data = small()
    data["run"] = 3
    check_error(data, "config key 'run' must be a table; got 3")


def test_missing_data_file_names_the_key(tmp_path: Path) -> None:
    message = check_error(
        other_data({"kind": "file", "path": "absent.csv"}),
        "config key 'data.path': ",
        base_dir=tmp_path,
    )
    assert "does not exist" in message and str(tmp_path) in message


def test_errors_at_training_name_the_key() -> None:
    cfg = mlp_config_from_mapping(small())
    with pytest.raises(ConfigError, match=r"config key 'training\.lr' must be a float"):
        dataclasses.replace(cfg, lr=-1.0).train(progress=False)
    with pytest.raises(ConfigError, match=r"config key 'run\.n_probes'"):
        dataclasses.replace(cfg, n_probes=1).train(progress=False)
    tiny = other_data(
        {"kind": "hierarchical", "n_per_class": 1, "dim": 3},
        hierarchy={"branching": [2]},
        run={"observe": ["impact"]},
    )
    with pytest.raises(ConfigError, match=r"invalid \[data\]: .* at least 2 samples"):
        mlp_config_from_mapping(tiny).train(progress=False)
    hot = mlp_config_from_mapping(
        small(data={"n": 40}, training={"lr": 1e6}, run={"steps": 200, "record": 100})
    )
    with pytest.raises(DivergenceError, match=r"smaller 'training\.lr'"):
        hot.train(progress=False)


# ---------------------------------------------------------------------- files
def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


TORUS_TOML = (
    "[run]\nsteps = 10\nrecord = 5\nobserve = ['loss']\n"
    "[data]\nkind = 'torus'\nn = 20\n"
    "[network]\nhidden = [4]\n[training]\nlr = 0.01\n"
)


def test_load_prefixes_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", TORUS_TOML.replace("n = 20", "n = 21"))
    with pytest.raises(ConfigError, match=r"bad\.toml: config key 'data\.n'"):
        load_mlp_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_mlp_config(tmp_path / "missing.toml")
    broken = write(tmp_path / "broken.toml", "[run\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_mlp_config(broken)


def test_overrides_apply_before_validation(tmp_path: Path) -> None:
    path = write(tmp_path / "torus.toml", TORUS_TOML)
    base = load_mlp_config(path)
    cfg = load_mlp_config(path, overrides={"run.seed": 5, "run.steps": 20})
    assert (cfg.seed, cfg.steps) == (5, 20)
    assert not np.array_equal(cfg.dataset.X, base.dataset.X)  # the data follows
    assert load_mlp_config(path).steps == 10  # the file is not modified
    with pytest.raises(ConfigError, match=r"config key 'run\.steps' must be an int"):
        load_mlp_config(path, overrides={"run.steps": -1})
    with pytest.raises(ConfigError, match=r"'data\.kind' is not a table"):
        load_mlp_config(path, overrides={"data.kind.x": 1})


def test_the_two_kinds_of_configuration_point_to_each_other(tmp_path: Path) -> None:
    mlp_file = write(tmp_path / "mlp.toml", TORUS_TOML)
    with pytest.raises(ConfigError, match="run it with 'simnet mlp'"):
        load_config(mlp_file)
    simulate = {
        "run": {"steps": 5},
        "hierarchy": {"preset": "tiger_cat_car"},
        "model": {"kind": "hfs"},
    }
    config_from_mapping(simulate)
    with pytest.raises(ConfigError, match="run it with 'simnet simulate'"):
        mlp_config_from_mapping(simulate)
