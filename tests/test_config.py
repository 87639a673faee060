"""Tests of simnet.config: TOML run configurations, their schema and error messages."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simnet
from simnet import ConfigError, HFSModel, LESDEModel
from simnet.config import (
    _HFS_KEYS,
    _LESDE_KEYS,
    RunConfig,
    config_from_mapping,
    load_config,
)
from simnet.schedules import Exponential, Piecewise, PowerLaw

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# Simulate configurations; examples/mlp_*.toml are tested in test_mlp_config.py and
# examples/sweep_*.toml in test_sweeps.py.
EXAMPLE_FILES = sorted(
    p for p in EXAMPLES.glob("*.toml") if not p.name.startswith(("mlp_", "sweep_"))
)


def hfs(run: dict | None = None, **model: Any) -> dict[str, Any]:
    """A small valid HFS configuration with the given [model] keys."""
    return {
        "run": {"steps": 10} if run is None else run,
        "hierarchy": {"preset": "tiger_cat_car"},
        "model": {"kind": "hfs", "n_per_class": 4, **model},
    }


def lesde(impact: dict, hierarchy: dict | None = None, **model: Any) -> dict[str, Any]:
    """A small valid LE-SDE configuration with the given impact table."""
    data: dict[str, Any] = {
        "run": {"steps": 10},
        "model": {"kind": "lesde", "n_per_class": 4, "impact": impact, **model},
    }
    if hierarchy is not None:
        data["hierarchy"] = hierarchy
    return data


def two_parameter(**extra: Any) -> dict[str, Any]:
    return {"kind": "two_parameter", "n_classes": 3, "alpha": 1.0, "beta": 0.1, **extra}


def check_error(data: dict, pattern: str) -> str:
    """Assert config_from_mapping raises a one-line ConfigError matching pattern."""
    with pytest.raises(ConfigError, match=pattern) as info:
        config_from_mapping(data)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------- examples
def test_examples_exist() -> None:
    names = {p.name for p in EXAMPLE_FILES}
    assert {
        "hfs_cifar10.toml",
        "lesde_two_parameter.toml",
        "lesde_hierarchy_sde.toml",
    } <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_parses_and_simulates(path: Path) -> None:
    cfg = load_config(path)
    assert isinstance(cfg, RunConfig)
    assert isinstance(cfg.model, HFSModel | LESDEModel)
    short = dataclasses.replace(cfg, steps=20, record=simnet.RecordSchedule.stride(10))
    result = short.simulate(progress=False)
    assert sorted(result.table("metrics")["step"].unique()) == [0, 10, 20]
    if cfg.observe is not None:
        assert set(result.config["observe"]) == set(cfg.observe)


def test_reference_example_lists_every_hfs_key() -> None:
    data = tomllib.loads((EXAMPLES / "reference.toml").read_text(encoding="utf-8"))
    assert set(data["model"]) | {"p"} == set(_HFS_KEYS)
    assert set(data["run"]) == {"steps", "seed", "record", "observe", "n_probes"}


def test_schema_covers_every_model_parameter() -> None:
    hfs_fields = {f.name for f in dataclasses.fields(HFSModel)} - {"hierarchy"}
    lesde_fields = {f.name for f in dataclasses.fields(LESDEModel)} - {"hierarchy"}
    assert set(_HFS_KEYS) == hfs_fields | {"kind"}
    assert set(_LESDE_KEYS) == lesde_fields | {"kind"}


# ---------------------------------------------------------------------- valid input
def test_hfs_mapping_builds_model_and_run_kwargs() -> None:
    data = hfs(
        run={
            "steps": 40,
            "seed": 3,
            "record": {"log": 4},
            "observe": ["loss", "impact"],
            "n_probes": 5,
        },
        eta_phi=[0.1, 0.1, 0.2, 0.3],
        eta_lam={
            "root": 0.0,
            "animal": 0.1,
            "vehicle": 0.1,
            "feline": 0.2,
            "tiger": 0.3,
            "cat": 0.3,
            "car": 0.3,
        },
        decay=1e-4,
        lam0=1,
        head="random",
        p=5,
        sampling="epoch",
        batch_size=2,
    )
    before = copy.deepcopy(data)
    cfg = config_from_mapping(data)
    assert data == before  # the input is not modified
    model = cfg.model
    assert isinstance(model, HFSModel)
    assert model.dim == 5
    rates = model.node_rates()
    h = model.hierarchy
    assert rates["eta_phi"][h.node_index["tiger"]] == 0.3
    assert rates["eta_lam"][h.node_index["feline"]] == 0.2
    assert cfg.run_kwargs() == {
        "steps": 40,
        "record": simnet.RecordSchedule.log(4),
        "observe": ["loss", "impact"],
        "seed": 3,
        "n_probes": 5,
    }


def test_defaults() -> None:
    cfg = config_from_mapping(hfs())
    assert (cfg.seed, cfg.record, cfg.observe, cfg.n_probes) == (0, None, None, 20)


def test_simulate_matches_the_api() -> None:
    cfg = config_from_mapping(hfs(run={"steps": 30, "record": 10, "seed": 2}))
    via_config = cfg.simulate(progress=False)
    direct = simnet.simulate(cfg.model, progress=False, **cfg.run_kwargs())
    pd.testing.assert_frame_equal(via_config.table("metrics"), direct.table("metrics"))


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (5, simnet.RecordSchedule.stride(5)),
        ({"stride": 5}, simnet.RecordSchedule.stride(5)),
        ({"log": 3}, simnet.RecordSchedule.log(3)),
        ({"at": [0, 3, 7]}, simnet.RecordSchedule.at([0, 3, 7])),
    ],
)
def test_record_forms(record: Any, expected: simnet.RecordSchedule) -> None:
    assert (
        config_from_mapping(hfs(run={"steps": 10, "record": record})).record == expected
    )


@pytest.mark.parametrize(
    ("section", "n_classes"),
    [
        ({"branching": [2, 3]}, 6),
        ({"nested": {"root": {"a": ["x", "y"], "b": ["z"]}}}, 3),
        ({"preset": "cifar10"}, 10),
    ],
)
def test_hierarchy_sources(section: dict, n_classes: int) -> None:
    data = hfs()
    data["hierarchy"] = section
    assert config_from_mapping(data).model.n_classes == n_classes


def test_hierarchy_file_is_relative_to_the_config(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    tree = {"root": {"animal": ["cat", "dog"], "vehicle": ["car"]}}
    (folder / "tree.json").write_text(json.dumps(tree), encoding="utf-8")
    (folder / "run.toml").write_text(
        '[run]\nsteps = 5\n[hierarchy]\nfile = "tree.json"\n[model]\nkind = "hfs"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # not the config's folder
    cfg = load_config(folder / "run.toml")
    assert cfg.model.hierarchy.classes == ("cat", "dog", "car")


# ---------------------------------------------------------------------- unknown keys
@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (
            lambda d: d.update(modle={}),
            r"^unknown config key 'modle' \(did you mean 'model'\?\)$",
        ),
        (
            lambda d: d["run"].update(stpes=3),
            r"^unknown config key 'run\.stpes' \(did you mean 'run\.steps'\?\)$",
        ),
        (
            lambda d: d["run"].update(record={"strid": 3}),
            r"unknown config key 'run\.record\.strid' \(did you mean "
            r"'run\.record\.stride'\?\)",
        ),
        (
            lambda d: d["hierarchy"].update(prest="x"),
            r"unknown config key 'hierarchy\.prest' \(did you mean 'hierarchy\.preset'",
        ),
        (
            lambda d: d["model"].update(etaphi=0.1),
            r"^unknown config key 'model\.etaphi' \(did you mean 'model\.eta_phi'\?\)$",
        ),
        (
            lambda d: d["model"].update(zzz=1),
            r"unknown config key 'model\.zzz'; valid keys in \[model\]: kind, n_per",
        ),
        (
            lambda d: d["model"].update(integrator="sgd"),
            r"unknown config key 'model\.integrator' for kind = 'hfs' \(it applies "
            r"to kind = 'lesde' only\)",
        ),
        (
            lambda d: d["model"].update(impact={"kind": "constant"}),
            r"unknown config key 'model\.impact' for kind = 'hfs' \(\[model\.impact\] "
            r"applies to kind = 'lesde' only\)",
        ),
        (
            lambda d: d["model"].update(hierarchy="cifar10"),
            r"unknown config key 'model\.hierarchy' \(the hierarchy goes in the "
            r"\[hierarchy\] section\)",
        ),
    ],
)
def test_unknown_keys(mutate, pattern: str) -> None:
    data = hfs()
    mutate(data)
    check_error(data, pattern)


def test_unknown_key_in_impact_and_schedule() -> None:
    check_error(
        lesde(two_parameter(alpah=1.0)),
        r"unknown config key 'model\.impact\.alpah' for kind = 'two_parameter' "
        r"\(did you mean 'model\.impact\.alpha'\?\)",
    )
    schedule = {"kind": "power", "scale": 1.0, "exponnt": 0.5}
    check_error(
        lesde(two_parameter(alpha=schedule)),
        r"unknown config key 'model\.impact\.alpha\.exponnt' for a power schedule "
        r"\(did you mean 'model\.impact\.alpha\.exponent'\?\)",
    )
    check_error(
        lesde({"kind": "constant", "matrix": [[1.0, 0.0], [0.0, 1.0]], "scale": 2}),
        r"unknown config key 'model\.impact\.scale' for kind = 'constant'",
    )


# ---------------------------------------------------------------------- bad values
@pytest.mark.parametrize(
    ("run", "pattern"),
    [
        ({}, r"^config key 'run\.steps' is required"),
        (
            {"steps": -1},
            r"config key 'run\.steps' must be an int in \[0, inf\); got -1$",
        ),
        ({"steps": "10"}, r"config key 'run\.steps' must be an int .*; got '10'"),
        ({"steps": 1.5}, r"config key 'run\.steps' must be an int .*; got 1\.5"),
        ({"steps": True}, r"config key 'run\.steps' must be an int .*; got true"),
        (
            {"steps": 5, "seed": -3},
            r"config key 'run\.seed' must be an int in \[0, inf",
        ),
        (
            {"steps": 5, "n_probes": 1},
            r"config key 'run\.n_probes' must be an int in \[2",
        ),
        ({"steps": 5, "record": 0}, r"config key 'run\.record' must be an int in \[1"),
        (
            {"steps": 5, "record": {"stride": 0}},
            r"config key 'run\.record\.stride' must be an int in \[1",
        ),
        (
            {"steps": 5, "record": {"stride": 1, "log": 2}},
            r"config key 'run\.record' must have exactly one of 'stride', 'log', 'at'",
        ),
        (
            {"steps": 5, "record": {"at": [0, 9]}},
            r"config key 'run\.record\.at' lists step 9, beyond run\.steps = 5",
        ),
        (
            {"steps": 5, "record": {"at": [0, -1]}},
            r"config key 'run\.record\.at\[1\]' must be an int in \[0",
        ),
        ({"steps": 5, "record": "often"}, r"config key 'run\.record' must be an int"),
        (
            {"steps": 5, "observe": ["los"]},
            r"config key 'run\.observe\[0\]' must be one of 'loss', .*; got 'los' "
            r"\(did you mean 'loss'\?\)",
        ),
        ({"steps": 5, "observe": 3}, r"config key 'run\.observe' must be a list"),
    ],
)
def test_bad_run_values(run: dict, pattern: str) -> None:
    check_error(hfs(run=run), pattern)


@pytest.mark.parametrize(
    ("model", "pattern"),
    [
        (
            {"gamma": -1},
            r"^config key 'model\.gamma' must be a float in \[0, inf\); got -1$",
        ),
        ({"gamma": "big"}, r"config key 'model\.gamma' must be a float .*; got 'big'"),
        ({"gamma": float("nan")}, r"config key 'model\.gamma' must be a float"),
        ({"sigma": -0.5}, r"config key 'model\.sigma' must be a float in \[0, inf\)"),
        (
            {"decay": 2.0},
            r"config key 'model\.decay' must be a float in \[0, 1\]; got 2",
        ),
        (
            {"decay": [0.0, 2.0, 0.0, 0.0]},
            r"config key 'model\.decay\[1\]' must be a float in \[0, 1\]",
        ),
        ({"eta_phi": -0.1}, r"config key 'model\.eta_phi' must be a float in \[0, inf"),
        (
            {"eta_phi": [0.1, 0.2]},
            r"config key 'model\.eta_phi' given per depth must have 4 entries "
            r"\(depths 0\.\.3\); got 2",
        ),
        (
            {"eta_lam": {"roote": 1.0}},
            r"config key 'model\.eta_lam' names unknown node 'roote' \(did you mean "
            r"'root'\?\)",
        ),
        (
            {"lam0": {"root": 1.0}},
            r"config key 'model\.lam0' has no value for node 'animal'",
        ),
        ({"lam0": "one"}, r"config key 'model\.lam0' must be a float, a list"),
        ({"n_per_class": 0}, r"config key 'model\.n_per_class' must be an int in \[1"),
        (
            {"n_per_class": [3, 0, 3]},
            r"config key 'model\.n_per_class\[1\]' must be an int in \[1",
        ),
        ({"n_per_class": 2.5}, r"config key 'model\.n_per_class' must be an int >= 1"),
        ({"p": 0}, r"config key 'model\.p' must be an int in \[1"),
        (
            {"head": "rand"},
            r"config key 'model\.head' must be one of 'identity', 'random'; got "
            r"'rand' \(did you mean 'random'\?\)",
        ),
        ({"head": 3}, r"config key 'model\.head' must be 'identity', 'random' or an"),
        (
            {"head": [[1.0, "x"]]},
            r"config key 'model\.head\[0\]\[1\]' must be a float",
        ),
        ({"batch_size": 0}, r"config key 'model\.batch_size' must be an int in \[1"),
        (
            {"sampling": "epochs"},
            r"config key 'model\.sampling' must be one of 'uniform', 'epoch'; got "
            r"'epochs' \(did you mean 'epoch'\?\)",
        ),
        ({"kind": "hsf"}, r"config key 'model\.kind' must be one of 'hfs', 'lesde'"),
    ],
)
def test_bad_hfs_values(model: dict, pattern: str) -> None:
    check_error(hfs(**model), pattern)


@pytest.mark.parametrize(
    ("model", "pattern"),
    [
        # errors raised by HFSModel itself come back with the dotted key
        ({"p": 5}, r"^config key 'model\.p' must equal the number of classes \(3\)"),
        (
            {"n_per_class": [3, 3]},
            r"^config key 'model\.n_per_class' must be a positive int or a list of 3",
        ),
        ({"batch_size": 100}, r"^config key 'model\.batch_size' must be an int in"),
        (
            {"head": [[1.0, 0.0], [0.0, 1.0]]},
            r"^config key 'model\.head' must have shape \(3, any\)",
        ),
    ],
)
def test_model_constructor_errors_name_the_key(model: dict, pattern: str) -> None:
    check_error(hfs(**model), pattern)


def test_missing_sections() -> None:
    check_error({"model": {"kind": "hfs"}}, r"config section \[run\] is required")
    check_error({"run": {"steps": 1}}, r"config section \[model\] is required")
    data = hfs()
    del data["model"]["kind"]
    check_error(data, r"config key 'model\.kind' is required: one of 'hfs', 'lesde'")
    data = hfs()
    del data["hierarchy"]
    check_error(data, r"config section \[hierarchy\] is required for model\.kind")
    check_error({"run": 3, "model": {}}, r"config key 'run' must be a table; got 3")
    with pytest.raises(ConfigError, match=r"the config must be a table"):
        config_from_mapping([1, 2])  # type: ignore[arg-type]


# ---------------------------------------------------------------------- hierarchy
@pytest.mark.parametrize(
    ("section", "pattern"),
    [
        (
            {"preset": "cifar10", "branching": [2]},
            r"config section \[hierarchy\] needs exactly one of 'preset', 'file', "
            r"'branching', 'nested'; got 2 \(preset, branching\)",
        ),
        ({}, r"needs exactly one of .*; got 0$"),
        (
            {"preset": "cifar"},
            r"config key 'hierarchy\.preset' must be one of 'cifar10', .*; got "
            r"'cifar' \(did you mean 'cifar10'\?\)",
        ),
        (
            {"branching": [2, 0]},
            r"config key 'hierarchy\.branching\[1\]' must be an int",
        ),
        ({"branching": []}, r"config key 'hierarchy\.branching' must be a non-empty"),
        ({"nested": ["a", "b"]}, r"config key 'hierarchy\.nested' must be a table"),
        (
            {"nested": {"root": {"a": ["x"], "b": ["x"]}}},
            r"config key 'hierarchy\.nested': duplicate node name 'x'",
        ),
        ({"file": 3}, r"config key 'hierarchy\.file' must be a file name"),
    ],
)
def test_bad_hierarchy(section: dict, pattern: str) -> None:
    data = hfs()
    data["hierarchy"] = section
    check_error(data, pattern)


def test_missing_and_invalid_hierarchy_files(tmp_path) -> None:
    data = hfs()
    data["hierarchy"] = {"file": "nowhere.json"}
    with pytest.raises(ConfigError, match=r"config key 'hierarchy\.file': .*nowhere"):
        config_from_mapping(data, base_dir=tmp_path)
    cyclic = {
        "nodes": [{"id": "r"}, {"id": "a"}, {"id": "b"}],
        "edges": [
            {"source": "r", "target": "a"},
            {"source": "a", "target": "b"},
            {"source": "b", "target": "a"},
        ],
    }
    (tmp_path / "cyclic.json").write_text(json.dumps(cyclic), encoding="utf-8")
    data["hierarchy"] = {"file": "cyclic.json"}
    with pytest.raises(ConfigError, match=r"config key 'hierarchy\.file': .*cycle"):
        config_from_mapping(data, base_dir=tmp_path)


# ---------------------------------------------------------------------- files
def test_toml_syntax_error_names_file_and_line(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[run]\nsteps = \n[model]\nkind = "hfs"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml' is not valid TOML: .*line 2"):
        load_config(path)


def test_unreadable_files(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"config file '.*missing\.toml' does not"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match=r"is a directory"):
        load_config(tmp_path)
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n[run]\nsteps = 1\n")
    with pytest.raises(ConfigError, match=r"is not UTF-8 text"):
        load_config(path)


def test_file_errors_are_prefixed_with_the_file_name(tmp_path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text(
        '[run]\nsteps = 5\n[hierarchy]\npreset = "cifar10"\n'
        '[model]\nkind = "hfs"\netaphi = 0.1\n',
        encoding="utf-8",
    )
    expected = (
        f"{path}: unknown config key 'model.etaphi' (did you mean 'model.eta_phi'?)"
    )
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(path)


# ---------------------------------------------------------------------- LE-SDE
def test_lesde_two_parameter_without_hierarchy() -> None:
    cfg = config_from_mapping(lesde(two_parameter(), integrator="sgd", sigma=0.01))
    assert isinstance(cfg.model, LESDEModel)
    assert cfg.model.classes_hierarchy.classes == ("c0", "c1", "c2")
    np.testing.assert_allclose(
        cfg.model.impact.at(0.0), [[1.0, 0.1, 0.1], [0.1, 1.0, 0.1], [0.1, 0.1, 1.0]]
    )


def test_lesde_two_parameter_takes_k_from_the_hierarchy() -> None:
    impact = {"kind": "two_parameter", "alpha": 1.0, "beta": 0.5}
    cfg = config_from_mapping(lesde(impact, hierarchy={"preset": "cifar10"}))
    assert cfg.model.n_classes == 10
    assert cfg.model.classes_hierarchy.classes[0] == "cat"
    check_error(
        lesde(impact),
        r"config key 'model\.impact\.n_classes' is required without a \[hierarchy\]",
    )
    check_error(
        lesde({**impact, "n_classes": 4}, hierarchy={"preset": "cifar10"}),
        r"config key 'model\.impact\.n_classes' is 4, but \[hierarchy\] has 10",
    )
    check_error(
        lesde(two_parameter(beta=None)), r"model\.impact\.beta' must be a float"
    )
    del impact["beta"]
    check_error(lesde(impact), r"config key 'model\.impact\.beta' is required")


def test_lesde_constant_impact() -> None:
    matrix = [[1.0, 0.2], [0.2, 1.0]]
    cfg = config_from_mapping(lesde({"kind": "constant", "matrix": matrix}))
    np.testing.assert_allclose(cfg.model.impact.at(5.0), matrix)
    check_error(
        lesde({"kind": "constant", "matrix": [[1.0, 0.2, 0.0], [0.2, 1.0, 0.0]]}),
        r"^config key 'model\.impact\.matrix' must be square",
    )
    check_error(
        lesde({"kind": "constant", "matrix": [[1.0, 0.2], [0.2]]}),
        r"config key 'model\.impact\.matrix' must be a non-empty array of arrays of "
        r"equal length",
    )
    check_error(
        lesde({"kind": "constant", "matrix": matrix}, hierarchy={"preset": "cifar10"}),
        r"config key 'model\.impact\.matrix' has 2 rows, but \[hierarchy\] has 10",
    )
    check_error(lesde({"kind": "constant"}), r"'model\.impact\.matrix' is required")


def test_lesde_hierarchy_impact() -> None:
    impact = {
        "kind": "hierarchy",
        "weights": [0.0, 1.0, 1.0, 2.0],
        "scale": {"kind": "exponential", "scale": 2.0, "rate": 0.5},
    }
    cfg = config_from_mapping(
        lesde(impact, hierarchy={"preset": "tiger_cat_car"}, integrator="sde", dt=0.1)
    )
    h = cfg.model.classes_hierarchy
    np.testing.assert_allclose(
        cfg.model.impact.at(0.0), 2.0 * h.shared_weight_matrix([0.0, 1.0, 1.0, 2.0])
    )
    assert isinstance(cfg.model.impact.coefficients[0], Exponential)
    check_error(
        lesde({"kind": "hierarchy"}),
        r"config key 'model\.impact\.kind' = 'hierarchy' needs a \[hierarchy\] section",
    )
    check_error(
        lesde(
            {"kind": "hierarchy", "weights": {"rot": 1}}, {"preset": "tiger_cat_car"}
        ),
        r"config key 'model\.impact\.weights' names unknown node 'rot' \(did you mean",
    )


def test_lesde_per_depth_impact() -> None:
    rates = [0.1, 0.2, {"kind": "power", "scale": 1.0, "exponent": 0.5}, 1.0]
    cfg = config_from_mapping(
        lesde({"kind": "per_depth", "rates": rates}, hierarchy={"preset": "cifar10"})
    )
    assert cfg.model.impact.n_terms == 4
    assert isinstance(cfg.model.impact.coefficients[2], PowerLaw)
    check_error(
        lesde({"kind": "per_depth", "rates": [1.0]}, hierarchy={"preset": "cifar10"}),
        r"config key 'model\.impact\.rates' must have 4 entries \(depths 0\.\.3\); "
        r"got 1$",
    )
    check_error(
        lesde({"kind": "per_depth"}, hierarchy={"preset": "cifar10"}),
        r"config key 'model\.impact\.rates' is required",
    )
    check_error(
        lesde(
            {"kind": "per_depth", "rates": [1, 1, {"kind": "power"}, 1]},
            {"preset": "cifar10"},
        ),
        r"config key 'model\.impact\.rates\[2\]\.scale' is required for a power",
    )


@pytest.mark.parametrize(
    ("impact", "model", "pattern"),
    [
        ({"kind": "two_param"}, {}, r"'model\.impact\.kind' must be one of 'two_param"),
        ({"n_classes": 3}, {}, r"config key 'model\.impact\.kind' is required"),
        (two_parameter(), {"dt": 0.0}, r"'model\.dt' must be a float in \(0, inf\)"),
        (
            two_parameter(),
            {"dt": 0.5},
            r"^config key 'model\.dt' must be 1\.0 with integrator='sgd'",
        ),
        (
            two_parameter(),
            {"integrator": "ode", "sigma": 0.1},
            r"^config key 'model\.sigma' must be 0 with integrator='ode'",
        ),
        (
            two_parameter(),
            {"integrator": "sdee"},
            r"'model\.integrator' must be one of 'sgd', 'sde', 'ode'; got 'sdee' "
            r"\(did you mean 'sde'\?\)",
        ),
        (two_parameter(), {"noise": "white"}, r"'model\.noise' must be one of"),
        (two_parameter(), {"surrogate": "x"}, r"'model\.surrogate' must be one of"),
        (two_parameter(), {"ode_method": "rk2"}, r"'model\.ode_method' must be one of"),
        (two_parameter(), {"init_scale": -1}, r"'model\.init_scale' must be a float"),
        (two_parameter(), {"eta_phi": 0.1}, r"'model\.eta_phi' for kind = 'lesde'"),
    ],
)
def test_bad_lesde_values(impact: dict, model: dict, pattern: str) -> None:
    check_error(lesde(impact, **model), pattern)


def test_lesde_requires_an_impact_table() -> None:
    data = lesde({})
    del data["model"]["impact"]
    check_error(data, r"config table \[model\.impact\] is required for model\.kind")
    check_error(lesde(3), r"config key 'model\.impact' must be a table")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- schedules
def test_schedule_tables() -> None:
    impact = two_parameter(
        alpha={"kind": "power", "scale": 2.0, "exponent": 0.5, "offset": 4.0},
        beta={"kind": "piecewise", "times": [0, 10], "values": [0.5, 0.0]},
    )
    cfg = config_from_mapping(lesde(impact))
    alpha, beta = cfg.model.impact.coefficients
    assert alpha == PowerLaw(2.0, 0.5, 4.0)
    assert isinstance(beta, Piecewise)
    np.testing.assert_allclose(cfg.model.impact.at(5.0)[0], [2.0 / 3.0, 0.25, 0.25])


@pytest.mark.parametrize(
    ("alpha", "pattern"),
    [
        ({"scale": 1.0}, r"config key 'model\.impact\.alpha\.kind' is required"),
        (
            {"kind": "powr", "scale": 1.0},
            r"'model\.impact\.alpha\.kind' must be one of 'constant', 'power', "
            r"'exponential', 'piecewise'; got 'powr' \(did you mean 'power'\?\)",
        ),
        (
            {"kind": "power", "scale": 1.0},
            r"config key 'model\.impact\.alpha\.exponent' is required for a power",
        ),
        (
            {"kind": "power", "scale": 1.0, "exponent": 1.0, "offset": 0.0},
            r"config key 'model\.impact\.alpha\.offset' must be a float in \(0, inf\)",
        ),
        (
            {"kind": "exponential", "scale": "1", "rate": 1.0},
            r"config key 'model\.impact\.alpha\.scale' must be a float",
        ),
        (
            {"kind": "piecewise", "times": [1.0, 0.0], "values": [1.0, 2.0]},
            r"^config key 'model\.impact\.alpha\.times' must be a non-empty, strictly",
        ),
        (
            {"kind": "piecewise", "times": 1.0, "values": [1.0]},
            r"config key 'model\.impact\.alpha\.times' must be a list of floats",
        ),
        ({"kind": "constant"}, r"'model\.impact\.alpha\.value' is required"),
        ("fast", r"config key 'model\.impact\.alpha' must be a float or a schedule"),
    ],
)
def test_bad_schedules(alpha: Any, pattern: str) -> None:
    check_error(lesde(two_parameter(alpha=alpha)), pattern)


def test_toml_never_executes_code(tmp_path) -> None:
    path = tmp_path / "inject.toml"
    path.write_text(
        "[run]\nsteps = \"__import__('os').system('false')\"\n"
        '[hierarchy]\npreset = "cifar10"\n[model]\nkind = "hfs"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"'run\.steps' must be an int"):
        load_config(path)
