"""The neurashed reproduction in quick mode: its three qualitative claims hold.

One quick run (about 10 s with a warm Numba cache) is shared by the tests. The
margins below were measured on quick runs with seeds 0-5 (8 replicas each) and are
set well inside the worst case seen:

* local elasticity, at the end: same / related >= 1.86 and related / unrelated
  >= 3.7 over both settings and the three measures (asserted: 1.5 and 2); the
  fractions related / same and unrelated / same end at <= 0.66 and <= 0.43 of
  their start values (asserted: < 0.8);
* N_eff of the over-parameterised (generic) graph ends at <= 0.34 of its start
  at every feature level (asserted: < 0.5);
* amount entropy: in every replica the peak is an interior record, the smallest
  rise before it is 0.32 and the smallest drop after it 3.6 (asserted: 0.15 and
  2.0); the mean curve rises by >= 0.57 (asserted: 0.3).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simnet import ConfigError
from simnet.reproduce import experiment
from simnet.reproduce import neurashed as mod

SETTINGS = ("compressive", "sgd_only")
MEASURES = ("impact", "s_rel", "s_ker")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("neurashed")
    headline = mod.run(out, quick=True, seed=0)
    return out, headline


def test_registered_under_its_name() -> None:
    assert experiment("neurashed") is mod
    assert mod.NAME == "neurashed"
    assert "2112.09741" in mod.PAPER


def test_writes_tables_summary_and_record(quick_run) -> None:
    out, headline = quick_run
    for name in (
        "elasticity.csv",
        "elasticity_contrast.csv",
        "elasticity_curve.csv",
        "feature_count.csv",
        "feature_count_headline.csv",
        "fit.csv",
        "amounts.csv",
        "entropy.csv",
        "entropy_peaks.csv",
    ):
        frame = pd.read_csv(out / name)
        assert frame.shape[0] > 0, name
    record = json.loads((out / "run.json").read_text())
    assert record["name"] == "neurashed" and record["mode"] == "quick"
    assert record["headline"]["checks"] == headline["checks"]
    summary = (out / "summary.md").read_text()
    assert "dossier gives no number" in summary
    assert "**holds**" in summary and "does not hold" not in summary
    pytest.importorskip("matplotlib")
    for name in ("elasticity.png", "feature_count.png", "compression.png"):
        assert (out / "figures" / name).stat().st_size > 10_000


@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize("setting", SETTINGS)
def test_local_elasticity_ordered_and_sharpening(quick_run, setting, measure) -> None:
    entry = quick_run[1]["elasticity"][setting][measure]
    start, end = entry["start"], entry["end"]
    same, related, unrelated = (
        end[k]["mean"] for k in ("same", "related", "unrelated")
    )
    assert same > 1.5 * related
    assert related > 2.0 * unrelated
    assert unrelated >= 0.0
    for fraction in ("related_over_same", "unrelated_over_same"):
        assert end[fraction]["mean"] < 0.8 * start[fraction]["mean"]


def test_effective_feature_count_falls_when_over_parameterised(quick_run) -> None:
    headline = quick_run[1]
    generic = headline["feature_count"]["generic"]
    assert set(generic) == {"level1", "level2", "level3"}
    for level in generic.values():
        # the dossier's near-uniform start: N_eff close to the number of features
        assert level["start"] > 0.95 * level["n_features"]
        assert level["end"] < 0.5 * level["start"]
        assert level["min"] <= level["end"] + 1e-9
    # SGD alone (no decay) concentrates the amounts much less
    no_decay = headline["feature_count"]["generic_no_decay"]
    for name, level in no_decay.items():
        assert level["end"] > generic[name]["end"]
    assert headline["checks"]["neff_falls_overparameterised"]


def test_amount_entropy_peaks_inside_the_run(quick_run) -> None:
    out, headline = quick_run
    peaks = pd.read_csv(out / "entropy_peaks.csv")
    assert peaks.shape[0] == mod.QUICK.replicas
    assert np.all(peaks["peak_index"] > 0)
    assert np.all(peaks["peak_index"] < peaks["n_records"] - 1)
    assert np.all(peaks["entropy_peak"] - peaks["entropy_start"] > 0.15)
    assert np.all(peaks["entropy_peak"] - peaks["entropy_end"] > 2.0)
    comp = headline["compression"]
    assert comp["mean_curve_peak_is_interior"]
    assert 0 < comp["mean_curve_peak_step"] < comp["end_step"]
    assert comp["mean_curve_peak"] - comp["mean_curve_start"] > 0.3
    assert comp["mean_curve_peak"] - comp["mean_curve_end"] > 2.0
    # the drop after the peak is a fall, not noise: H ends far below its start
    curve = pd.read_csv(out / "entropy.csv")
    after = curve[curve["step"] > comp["mean_curve_peak_step"]]["entropy_mean"]
    assert after.iloc[-1] < after.iloc[0]


def test_neurashed_hierarchy_levels_and_watersheds() -> None:
    h = mod.neurashed_hierarchy(n_generic=2, copies=2)
    assert h.classes == ("tiger", "cat", "car")
    a = h.ancestor_matrix
    for level in (1, 2, 3):
        for j in range(2):
            assert a[:, h.node_index[f"generic{level}.{j}"]].all()
    # copies share one watershed; the feline face feeds tiger and cat only
    for copy in ("feline_face_0", "feline_face_1"):
        assert a[:, h.node_index[copy]].tolist() == [True, True, False]
    assert int(h.depth[h.node_index["stripe_1"]]) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"n_generic": -1}, "n_generic"), ({"copies": 0}, "copies")]
)
def test_neurashed_hierarchy_rejects_bad_sizes(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        mod.neurashed_hierarchy(**kwargs)
