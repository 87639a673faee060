"""Tests of simnet.results: RunResult, its atomic save and its safe load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simnet import results
from simnet.errors import ConfigError, DataError
from simnet.results import RunResult, TableFormat, package_versions

BIG_ENTROPY = 2**100


def make_result() -> RunResult:
    """A result exercising every dtype the save format promises to keep."""
    rng = np.random.default_rng(20240527)
    n = 7
    metrics = pd.DataFrame(
        {
            "step": np.arange(n, dtype=np.int64),
            "loss": np.concatenate([rng.standard_normal(n - 2), [np.nan, np.inf]]),
            "tiny": rng.standard_normal(n) * 1e-300,  # needs all 17 digits in CSV
            "converged": np.arange(n) % 2 == 0,
            # Strings a CSV reader would take for missing values or numbers.
            "label": pd.Series(["a", "NA", "None", "01", "null", "x y", "é"]),
            "note": pd.Series(["u", "v", "w", "", "nan", "1", "z"], dtype=object),
        }
    )
    impact = pd.DataFrame(
        {
            "i32": np.arange(4, dtype=np.int32),
            "u64": np.array([0, 1, 2**64 - 1, 2**63], dtype=np.uint64),
            "f32": np.array([0.1, -2.5, 3e38, 1e-45], dtype=np.float32),
            "level": pd.Categorical(["coarse", "coarse", "fine", "fine"]),
            "maybe": pd.array([1, None, 3, 4], dtype="Int64"),
            "time": pd.date_range("2024-01-01", periods=4, freq="h"),
            "tag": pd.Series(["x", None, "NA", "y"]),
            "when": pd.to_datetime(["2024-01-01", None, "2024-03-01", "2024-04-01"]),
        }
    )
    empty = pd.DataFrame(
        {
            "step": pd.Series([], dtype="int64"),
            "value": pd.Series([], dtype="float64"),
            "name": pd.Series([], dtype="str"),
        }
    )
    state = {
        "particles": rng.standard_normal((5, 3)),
        "fortran": np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)),
        "counts": np.array([-1, 0, 127], dtype=np.int8),
        "mask": np.array([True, False]),
        "phase": np.array([1 + 2j, -0.5j]),
        "scalar": np.array(3.25),
        "big_endian": np.arange(3, dtype=">i4"),
    }
    config = {
        "model": {"name": "hfs", "alpha": np.float64(0.25), "n_classes": np.int64(4)},
        "steps": 100,
        "record": np.array([0, 10, 100]),
        "seed": BIG_ENTROPY,
        "flags": (True, np.bool_(False)),
    }
    metadata = {
        "seed_entropy": BIG_ENTROPY,
        "spawn_keys": [[2**64 + 1, 3], [-(2**80)]],
        "timings": {"simulate_s": 1.5},
    }
    return RunResult(
        config=config,
        tables={"metrics": metrics, "impact": impact, "empty": empty},
        state=state,
        metadata=metadata,
    )


EXPECTED_CONFIG = {
    "model": {"name": "hfs", "alpha": 0.25, "n_classes": 4},
    "steps": 100,
    "record": [0, 10, 100],
    "seed": BIG_ENTROPY,
    "flags": [True, False],
}


def files_in(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def assert_same_state(left: dict, right: dict) -> None:
    assert list(left) == list(right)
    for name in left:
        a, b = left[name], right[name]
        assert a.dtype == b.dtype, name
        assert a.shape == b.shape, name
        assert a.tobytes(order="A") == b.tobytes(order="A"), name


@pytest.mark.parametrize("table_format", ["parquet", "csv"])
def test_round_trip(tmp_path, table_format):
    result = make_result()
    returned = result.save(tmp_path / "run", format=table_format)
    assert returned == tmp_path / "run"
    loaded = RunResult.load(tmp_path / "run")

    assert list(loaded.tables) == list(result.tables)
    for name, frame in result.tables.items():
        pd.testing.assert_frame_equal(loaded.tables[name], frame)
    assert_same_state(loaded.state, result.state)
    assert loaded.state["fortran"].flags.f_contiguous
    assert loaded.config == EXPECTED_CONFIG
    assert loaded.metadata == {**result.metadata, "versions": package_versions()}
    assert type(loaded.metadata["seed_entropy"]) is int
    assert loaded.metadata["seed_entropy"] == BIG_ENTROPY
    assert loaded.metadata["spawn_keys"] == [[2**64 + 1, 3], [-(2**80)]]


def test_save_does_not_mutate_the_result(tmp_path):
    result = make_result()
    result.save(tmp_path, format="csv")
    assert "versions" not in result.metadata
    assert isinstance(result.config["record"], np.ndarray)


def test_big_ints_are_json_strings_on_disk(tmp_path):
    make_result().save(tmp_path, format="csv")
    header = json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))
    assert header["metadata"]["seed_entropy"] == str(BIG_ENTROPY)
    assert header["big_ints"]["metadata"] == [
        ["seed_entropy"],
        ["spawn_keys", 0, 0],
        ["spawn_keys", 1, 0],
    ]
    config = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert config["seed"] == str(BIG_ENTROPY)
    assert config["steps"] == 100


def test_run_versions_win_over_save_time_versions(tmp_path):
    result = RunResult(metadata={"versions": {"numpy": "1.0.0"}})
    result.save(tmp_path, format="csv")
    loaded = RunResult.load(tmp_path)
    assert loaded.metadata["versions"]["numpy"] == "1.0.0"
    assert loaded.metadata["versions"]["pandas"] == pd.__version__
    header = json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))
    assert header["saved_with"] == package_versions()


def test_metadata_json_records_format_and_tables(tmp_path):
    make_result().save(tmp_path, format="csv")
    header = json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))
    assert header["table_format"] == "csv"
    assert list(header["tables"]) == ["metrics", "impact", "empty"]
    assert header["tables"]["metrics"]["dtypes"]["step"] == "int64"
    assert header["tables"]["metrics"]["n_rows"] == 7


def test_auto_format_is_parquet_when_pyarrow_is_installed(tmp_path):
    pytest.importorskip("pyarrow")
    make_result().save(tmp_path)
    assert (tmp_path / "tables" / "metrics.parquet").is_file()
    assert not (tmp_path / "tables" / "metrics.csv").exists()


def test_auto_format_falls_back_to_csv(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "_parquet_available", lambda: False)
    result = make_result()
    result.save(tmp_path, format=TableFormat.AUTO)
    assert (tmp_path / "tables" / "metrics.csv").is_file()
    assert not (tmp_path / "tables" / "metrics.parquet").exists()
    loaded = RunResult.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.table("metrics"), result.table("metrics"))


def test_parquet_without_pyarrow_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "_parquet_available", lambda: False)
    with pytest.raises(ImportError, match=r"pyarrow.*format='csv'"):
        make_result().save(tmp_path, format="parquet")
    assert not tmp_path.joinpath("metadata.json").exists()


def test_bad_format_raises(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"The 'format' parameter of RunResult.save must be one of 'auto', "
        r"'parquet', 'csv'. Got 'xlsx' instead.",
    ):
        make_result().save(tmp_path, format="xlsx")


@pytest.mark.parametrize("table_format", ["parquet", "csv"])
def test_save_leaves_no_temporary_files(tmp_path, table_format):
    make_result().save(tmp_path, format=table_format)
    make_result().save(tmp_path, format=table_format)  # over an existing result
    assert sorted(files_in(tmp_path)) == sorted(
        [
            "metadata.json",
            "config.json",
            "state.npz",
            *(f"tables/{n}.{table_format}" for n in ("metrics", "impact", "empty")),
        ]
    )


def test_failed_write_leaves_previous_result_intact(tmp_path, monkeypatch):
    make_result().save(tmp_path, format="csv")
    before = files_in(tmp_path)

    real_write_table = results._write_table

    def failing_write_table(name, frame, path, table_format):
        if name == "impact":
            path.write_text("half a table", encoding="utf-8")
            raise OSError("disk full")
        real_write_table(name, frame, path, table_format=table_format)

    monkeypatch.setattr(results, "_write_table", failing_write_table)
    changed = make_result()
    changed.tables["metrics"] = changed.tables["metrics"].iloc[:2]
    changed.state["particles"] = np.zeros(2)
    changed.config["steps"] = 5
    with pytest.raises(OSError, match="disk full"):
        changed.save(tmp_path, format="csv")

    assert files_in(tmp_path) == before  # same names (no temp files), same bytes
    assert len(RunResult.load(tmp_path).table("metrics")) == 7


def test_unwritable_table_raises_data_error_and_keeps_previous(tmp_path):
    pytest.importorskip("pyarrow")
    make_result().save(tmp_path, format="parquet")
    before = files_in(tmp_path)
    bad = make_result()
    bad.tables["impact"] = pd.DataFrame({"z": np.array([1 + 1j, 2])})
    with pytest.raises(DataError, match="Cannot write table 'impact' as parquet"):
        bad.save(tmp_path, format="parquet")
    assert files_in(tmp_path) == before


def test_saving_over_a_result_replaces_it(tmp_path):
    make_result().save(tmp_path, format="parquet")
    smaller = RunResult(
        config={"steps": 1},
        tables={"metrics": pd.DataFrame({"step": [0]})},
        state={"x": np.ones(2)},
    )
    smaller.save(tmp_path, format="csv")
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == ["metrics.csv"]
    loaded = RunResult.load(tmp_path)
    assert list(loaded.tables) == ["metrics"]
    assert list(loaded.state) == ["x"]
    assert loaded.config == {"steps": 1}


def test_csv_text_column_with_missing_values_and_empty_strings(tmp_path):
    # The one documented loss of CSV: there both are written as an empty field.
    frame = pd.DataFrame({"s": ["a", "", None]})
    RunResult(tables={"t": frame}).save(tmp_path, format="csv")
    loaded = RunResult.load(tmp_path).table("t")
    assert loaded["s"].dtype == frame["s"].dtype
    assert loaded["s"].iloc[0] == "a"
    assert loaded["s"].iloc[1:].isna().all()


def test_table_without_columns_keeps_its_length(tmp_path):
    result = RunResult(tables={"blank": pd.DataFrame(index=range(3))})
    result.save(tmp_path, format="csv")
    pd.testing.assert_frame_equal(
        RunResult.load(tmp_path).table("blank"), result.table("blank")
    )


def test_load_non_result_directory_raises(tmp_path):
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"is not a simnet result directory \(no metadata.json\)"
    ):
        RunResult.load(tmp_path)
    with pytest.raises(DataError, match="not a simnet result directory"):
        RunResult.load(tmp_path / "missing")


def test_load_corrupt_metadata_raises(tmp_path):
    make_result().save(tmp_path, format="csv")
    (tmp_path / "metadata.json").write_text('{"simnet_result": 1,', encoding="utf-8")
    with pytest.raises(DataError, match=r"metadata.json is not valid JSON"):
        RunResult.load(tmp_path)
    (tmp_path / "metadata.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DataError, match=r"metadata.json is not a simnet result"):
        RunResult.load(tmp_path)


def test_load_newer_format_version_raises(tmp_path):
    make_result().save(tmp_path, format="csv")
    path = tmp_path / "metadata.json"
    header = json.loads(path.read_text(encoding="utf-8"))
    header["simnet_result"] = 99
    path.write_text(json.dumps(header), encoding="utf-8")
    with pytest.raises(DataError, match=r"result format version 99.*Upgrade simnet"):
        RunResult.load(tmp_path)


@pytest.mark.parametrize(
    ("relative", "content", "message"),
    [
        ("config.json", None, r"config.json is missing"),
        ("config.json", b"{oops", r"config.json is not valid JSON"),
        ("state.npz", None, r"state file .*state.npz is missing"),
        ("state.npz", b"not a zip file", r"state file .*state.npz is corrupt"),
        ("tables/impact.csv", None, r"table file .*impact.csv .*is missing"),
        ("tables/impact.csv", b"i32\n1\n", r"impact.csv does not match metadata"),
        ("tables/impact.csv", b"\xff\xfe\x00", r"Cannot read the table file"),
    ],
)
def test_load_missing_or_corrupt_file_raises(tmp_path, relative, content, message):
    make_result().save(tmp_path, format="csv")
    path = tmp_path / relative
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        RunResult.load(tmp_path)


def test_load_corrupt_parquet_raises(tmp_path):
    pytest.importorskip("pyarrow")
    make_result().save(tmp_path, format="parquet")
    (tmp_path / "tables" / "metrics.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(DataError, match=r"Cannot read the table file .*metrics"):
        RunResult.load(tmp_path)


def test_save_object_state_raises(tmp_path):
    result = RunResult(state={"bad": np.array([{"a": 1}, None], dtype=object)})
    with pytest.raises(
        DataError, match=r"State array 'bad' must have a numeric dtype.*object"
    ):
        result.save(tmp_path)
    with pytest.raises(DataError, match=r"must have a numeric dtype.*<U1"):
        RunResult(state={"text": np.array(["a"])}).save(tmp_path)
    assert not any(tmp_path.iterdir())


def test_load_object_state_raises_without_unpickling(tmp_path):
    RunResult(state={"bad": np.zeros(2)}).save(tmp_path, format="csv")
    with open(tmp_path / "state.npz", "wb") as file:
        np.savez(file, bad=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match=r"state\.npz holds an object array"):
        RunResult.load(tmp_path)


def test_load_state_not_matching_metadata_raises(tmp_path):
    RunResult(state={"x": np.zeros(2)}).save(tmp_path, format="csv")
    with open(tmp_path / "state.npz", "wb") as file:
        np.savez(file, x=np.zeros(3))
    with pytest.raises(DataError, match=r"'x' .*does not match metadata\.json"):
        RunResult.load(tmp_path)


def test_table_error_lists_available_tables():
    result = make_result()
    assert result.table("impact") is result.tables["impact"]
    with pytest.raises(
        DataError,
        match=r"no table 'metric'\. Available tables: 'metrics', 'impact', 'empty'",
    ):
        result.table("metric")
    with pytest.raises(DataError, match="Available tables: none"):
        RunResult().table("metrics")


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (RunResult(config={"model": {"fn": object()}}), r"config\['model'\]\['fn'\]"),
        (RunResult(metadata={1: "x"}), "keys of metadata must be strings"),
        (RunResult(tables={"../up": pd.DataFrame()}), "table name '../up'"),
        (RunResult(tables={"a": pd.DataFrame(), "A": pd.DataFrame()}), "letter case"),
        (RunResult(tables={"t": [1, 2]}), "must be a pandas DataFrame"),
        (RunResult(tables={"t": pd.DataFrame({0: [1]})}), "must be strings"),
        (
            RunResult(tables={"t": pd.DataFrame({"s": [1]}).set_index("s")}),
            r"named index.*reset_index",
        ),
        (RunResult(state={"file": np.zeros(1)}), "reserved by numpy.savez"),
        (RunResult(config=[1, 2]), "RunResult.config must be a dict"),
    ],
)
def test_unsavable_results_raise(tmp_path, result, message):
    with pytest.raises(DataError, match=message):
        result.save(tmp_path, format="csv")
    assert not any(tmp_path.iterdir())


def test_summary_and_repr():
    result = make_result()
    text = result.summary()
    assert "table metrics: 7 rows x 6 columns" in text
    assert "table empty: 0 rows x 3 columns" in text
    assert "state particles: float64 (5, 3)" in text
    assert "config keys: model, steps, record, seed, flags" in text
    assert f"seed entropy: {BIG_ENTROPY}" in text
    assert "seed entropy: not recorded" in RunResult().summary()
    assert repr(result).startswith("RunResult(tables=['metrics', 'impact', 'empty']")
    assert len(repr(result)) < 200


def test_package_versions():
    versions = package_versions()
    for name in ("python", "simnet", "numpy", "numba", "networkx", "scipy", "pandas"):
        assert isinstance(versions[name], str) and versions[name]
    assert versions["numpy"] == np.__version__
    assert versions["pandas"] == pd.__version__
