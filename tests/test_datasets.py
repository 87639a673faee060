"""Tests of simnet.datasets: containers, generators, label noise and files."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from simnet import ConfigError, DataError, Hierarchy
from simnet.datasets import (
    SHAPE_NAMES,
    Dataset,
    LabelNoiseMode,
    add_label_noise,
    digits,
    folded_boxes,
    geodesic_distance,
    geometric_shapes,
    hierarchical_synthetic,
    linkage_hierarchy,
    load_dataset,
    save_dataset,
    torus,
)
from simnet.datasets.shapes import _ellipse_mask, _polygon_mask, _rectangle_mask

SEEDS = [0, 1, 2, 12345]


def small(seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), [4, 5, 6])
    meta = {"generator": "test", "per_sample": {"tag": np.arange(15) * 10}}
    return Dataset(rng.standard_normal((15, 4)), y, ("a", "b", "c"), None, meta)


# ---------------------------------------------------------------------- Dataset
def test_dataset_basic_properties_and_copies():
    x = np.arange(6.0).reshape(3, 2)
    y = np.array([0, 1, 1])
    ds = Dataset(x, y, ["a", "b"])
    x[0, 0] = 99.0
    y[0] = 1
    assert ds.X[0, 0] == 0.0 and ds.y[0] == 0
    assert ds.X.dtype == np.float64 and ds.y.dtype == np.int64
    assert not ds.X.flags.writeable and not ds.y.flags.writeable
    assert ds.class_names == ("a", "b")
    assert (ds.n_samples, ds.n_features, ds.n_classes, len(ds)) == (3, 2, 2, 3)
    assert ds.class_counts.tolist() == [1, 2]
    assert "n_samples=3" in repr(ds)
    assert Dataset(x, [0.0, 1.0, 1.0], ["a", "b"]).y.dtype == np.int64
    assert Dataset(x, [True, False, True], ["a", "b"]).y.tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"X": np.zeros(3)}, r"'X'.*shape \(n_samples, n_features\)"),
        ({"X": np.zeros((0, 2)), "y": np.zeros(0, int)}, r"'X'.*n_samples >= 1"),
        ({"X": [[0.0, np.nan]] * 3}, r"'X'.*finite.*row 0, column 1"),
        ({"X": [["a", "b"]] * 3}, r"'X'.*numeric"),
        ({"y": [0, 1]}, r"'y'.*shape \(3,\)"),
        ({"y": [0, 1, 2]}, r"'y'.*0\.\.1.*label 2"),
        ({"y": [0, -1, 1]}, r"label -1"),
        ({"y": [0.0, 0.5, 1.0]}, r"'y'.*integers"),
        ({"y": ["a", "b", "a"]}, r"'y'.*integers"),
        ({"class_names": ("a", "a")}, r"distinct"),
        ({"class_names": ("a", "")}, r"non-empty strings"),
        ({"class_names": "ab"}, r"sequence of strings"),
        ({"hierarchy": "tree"}, r"'hierarchy'.*Hierarchy or None"),
        ({"metadata": [1]}, r"'metadata'.*dict"),
        ({"metadata": {"per_sample": {"t": np.zeros(2)}}}, r"\['t'\].*3 rows"),
        ({"metadata": {"per_sample": [1]}}, r"dict of arrays"),
    ],
)
def test_dataset_rejects_bad_fields(kwargs, match):
    fields = {
        "X": np.zeros((3, 2)),
        "y": [0, 1, 1],
        "class_names": ("a", "b"),
        "hierarchy": None,
        "metadata": {},
    }
    fields.update(kwargs)
    with pytest.raises(DataError, match=match):
        Dataset(**fields)


def test_dataset_hierarchy_must_match_class_names():
    h = Hierarchy.preset("tiger_cat_car")
    x = np.zeros((3, 1))
    Dataset(x, [0, 1, 2], h.classes, h)
    with pytest.raises(DataError, match="classes of the Dataset's hierarchy"):
        Dataset(x, [0, 1, 2], ("cat", "tiger", "car"), h)


def test_subset_keeps_names_and_indexes_per_sample():
    ds = small()
    sub = ds.subset([14, 0, 0])
    assert_array_equal(sub.X, ds.X[[14, 0, 0]])
    assert sub.y.tolist() == [2, 0, 0]
    assert sub.per_sample["tag"].tolist() == [140, 0, 0]
    assert sub.class_names == ds.class_names and sub.n_classes == 3
    mask = ds.y == 1
    assert_array_equal(ds.subset(mask).X, ds.X[mask])
    assert ds.per_sample["tag"][0] == 0  # the original is untouched


@pytest.mark.parametrize(
    ("indices", "match"),
    [
        ([], "at least one sample"),
        ([0, 15], r"indices in \[0, 15\)"),
        ([-1], r"indices in \[0, 15\)"),
        ([0.5], "1-D array of ints"),
        (np.ones(3, dtype=bool), r"boolean mask must have shape \(15,\)"),
    ],
)
def test_subset_errors(indices, match):
    with pytest.raises(ConfigError, match=match):
        small().subset(indices)


@pytest.mark.parametrize("seed", SEEDS)
def test_split_is_stratified_disjoint_and_reproducible(seed):
    ds = small()
    first, second = ds.split(0.5, seed=seed)
    assert first.class_counts.tolist() == [2, 3, 3]  # floor(0.5 n_k + 1/2)
    assert second.class_counts.tolist() == [2, 2, 3]
    tags = np.concatenate([first.per_sample["tag"], second.per_sample["tag"]])
    assert sorted(tags.tolist()) == ds.per_sample["tag"].tolist()
    again, _ = ds.split(0.5, seed=seed)
    assert_array_equal(again.X, first.X)
    assert np.all(np.diff(first.per_sample["tag"]) > 0)  # original order kept


@pytest.mark.parametrize(
    ("fraction", "match"), [(0.0, r"\(0, 1\)"), (1.0, r"\(0, 1\)")]
)
def test_split_rejects_fractions_outside_open_interval(fraction, match):
    with pytest.raises(ConfigError, match=match):
        small().split(fraction)


def test_split_rejects_an_empty_part():
    with pytest.raises(ConfigError, match="leaves one part empty"):
        small().split(0.01, seed=0)


def test_standardize_and_reference_statistics():
    ds = small()
    x = np.column_stack([ds.X, np.full(ds.n_samples, 3.0)])
    ds = ds.replace(X=x)
    st = ds.standardize()
    assert_allclose(st.X.mean(axis=0), 0.0, atol=1e-12)
    assert_allclose(st.X[:, :4].std(axis=0), 1.0, rtol=1e-12)
    assert_array_equal(st.X[:, 4], 0.0)  # constant feature: centred only
    assert_array_equal(ds.X, x)  # not mutated
    train, test = ds.split(0.5, seed=0)
    t_std = test.standardize(train)
    mean, scale = train.X.mean(0), np.where(train.X.std(0) > 0, train.X.std(0), 1)
    assert_allclose(t_std.X, (test.X - mean) / scale)
    with pytest.raises(ConfigError, match=r"'reference'.*4 features"):
        small().standardize(ds)
    with pytest.raises(ConfigError, match="unknown field"):
        ds.replace(labels=1)


# ---------------------------------------------------------------------- hierarchical
def test_hierarchical_synthetic_shapes_and_metadata():
    h = Hierarchy.preset("cifar10")
    ds = hierarchical_synthetic(h, n_per_class=7, dim=20, latent_dim=5, seed=0)
    assert ds.X.shape == (70, 20) and ds.X.dtype == np.float64
    assert ds.y.tolist() == np.repeat(np.arange(10), 7).tolist()
    assert ds.class_names == h.classes and ds.hierarchy is h
    assert np.all(np.abs(ds.X) < 1.0)  # tanh
    md = ds.metadata
    assert md["class_prototypes"].shape == (10, 5)
    assert md["node_prototypes"].shape == (h.n_nodes, 5)
    assert_allclose(
        md["class_prototypes"], h.ancestor_matrix.astype(float) @ md["node_prototypes"]
    )
    z = ds.per_sample["latent"]
    assert_allclose(ds.X, np.tanh(z @ md["weight"].T + md["bias"]))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "linear"])
def test_hierarchy_is_visible_in_class_mean_distances(seed, nonlinearity):
    h = Hierarchy.balanced([2, 2, 2])
    # the ordering holds in expectation; a wide latent space makes one draw follow
    # it (no failure in 900 draws of seeds 0..299 for the three nonlinearities)
    ds = hierarchical_synthetic(
        h, 20, 128, latent_dim=256, nonlinearity=nonlinearity, seed=seed
    )
    means = np.stack([ds.X[ds.y == k].mean(axis=0) for k in range(ds.n_classes)])
    dist = np.linalg.norm(means[:, None] - means[None], axis=-1)
    lca = h.lca_depth_matrix()
    iu = np.triu_indices(ds.n_classes, 1)
    by_depth = [dist[iu][lca[iu] == d].mean() for d in range(h.max_depth)]
    assert by_depth[0] > by_depth[1] > by_depth[2]


def test_hierarchical_zero_leaf_scale_makes_siblings_share_prototypes():
    h = Hierarchy.balanced([2, 2])
    ds = hierarchical_synthetic(h, 3, 6, node_scale=[1.0, 1.0, 0.0], seed=0)
    protos = ds.metadata["class_prototypes"]
    assert_allclose(protos[0], protos[1])
    assert not np.allclose(protos[0], protos[2])


def test_hierarchical_without_scales_or_noise_is_constant():
    h = Hierarchy.preset("tiger_cat_car")
    ds = hierarchical_synthetic(h, 2, 4, node_scale=0.0, noise=0.0, seed=0)
    assert_allclose(ds.X, np.tanh(ds.metadata["bias"])[None, :].repeat(6, axis=0))


def test_hierarchical_streams_are_independent_of_sample_count():
    h = Hierarchy.preset("tiger_cat_car")
    a = hierarchical_synthetic(h, 5, 8, seed=3)
    b = hierarchical_synthetic(h, 9, 8, seed=3)
    c = hierarchical_synthetic(h, 5, 8, noise=0.0, seed=3)
    for key in ("class_prototypes", "weight", "bias"):
        assert_array_equal(a.metadata[key], b.metadata[key])
    assert_array_equal(a.X[:5], b.X[:5])  # class 0's samples come first in both
    # the noise level only rescales the embedding (to keep unit pre-activations)
    assert_array_equal(a.metadata["class_prototypes"], c.metadata["class_prototypes"])
    assert_array_equal(a.metadata["bias"], c.metadata["bias"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hierarchy": "cifar10"}, "'hierarchy'.*Hierarchy"),
        ({"n_per_class": 0}, "'n_per_class'"),
        ({"dim": 2.5}, "'dim'"),
        ({"latent_dim": True}, "'latent_dim'"),
        ({"noise": -0.1}, "'noise'"),
        ({"nonlinearity": "sigmoid"}, "'nonlinearity'.*'tanh'"),
        ({"node_scale": [1.0, 2.0]}, "'node_scale'.*per depth"),
        ({"node_scale": -1.0}, "'node_scale'.*nonnegative"),
        ({"seed": -3}, "'seed'"),
    ],
)
def test_hierarchical_synthetic_errors(kwargs, match):
    args = {"hierarchy": Hierarchy.preset("tiger_cat_car"), **kwargs}
    with pytest.raises(ConfigError, match=match):
        hierarchical_synthetic(**args)


# ---------------------------------------------------------------------- torus
@pytest.mark.parametrize("seed", SEEDS)
def test_torus_points_satisfy_the_defining_equations(seed):
    r, k = 8.0, 4
    ds = torus(60, r=r, k=k, seed=seed)
    assert ds.X.shape == (60, 3) and ds.y.tolist() == [1, 0] * 30
    assert ds.class_names == ("negative", "positive")
    theta = ds.per_sample["theta"]
    assert np.all((theta >= -np.pi) & (theta < np.pi))
    s = 2.0 * ds.y - 1.0
    x, y, z = ds.X.T
    rho = np.hypot(x, y)
    assert_allclose(rho, r + s * np.sin(k * theta), rtol=1e-14)
    assert_allclose(z, s * np.cos(k * theta), atol=1e-14)
    assert_allclose(np.arctan2(y, x), theta, atol=1e-13)
    assert_allclose((rho - r) ** 2 + z**2, 1.0, rtol=1e-12)  # on the torus tube


def _circle_arc_brute(t1: float, t2: float, m: int = 20001) -> float:
    """Shorter polyline length on the unit circle between angles t1 and t2."""
    lengths = []
    for direction in (1.0, -1.0):
        span = np.mod(direction * (t2 - t1), 2 * np.pi)
        t = t1 + direction * np.linspace(0.0, span, m)
        pts = np.column_stack([np.cos(t), np.sin(t)])
        lengths.append(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
    return min(lengths)


def _torus_arc_brute(t1, t2, s, r, k, m=200001) -> float:
    """Shorter polyline length along the 3-D torus curve between t1 and t2."""
    lengths = []
    for direction in (1.0, -1.0):
        span = np.mod(direction * (t2 - t1), 2 * np.pi)
        t = t1 + direction * np.linspace(0.0, span, m)
        rho = r + s * np.sin(k * t)
        pts = np.column_stack([rho * np.cos(t), rho * np.sin(t), s * np.cos(k * t)])
        lengths.append(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
    return min(lengths)


def test_torus_geodesics_match_brute_force_arc_lengths():
    r, k = 8.0, 4
    ds = torus(40, r=r, k=k, seed=7)
    theta = ds.per_sample["theta"]
    pairs = [(0, 2), (0, 38), (5, 11), (6, 30), (17, 3)]  # same curve (same parity)
    i, j = np.array(pairs).T
    param = geodesic_distance(ds, i, j)
    arc = geodesic_distance(ds, i, j, kind="arc_length")
    for n, (a, b) in enumerate(pairs):
        s = 2.0 * ds.y[a] - 1.0
        assert param[n] == pytest.approx(_circle_arc_brute(theta[a], theta[b]), 1e-7)
        assert arc[n] == pytest.approx(
            _torus_arc_brute(theta[a], theta[b], s, r, k), 1e-8
        )
    assert np.all(arc >= param * r - 1e-9)  # the curve never comes closer to the axis


def test_torus_geodesic_matrix_symmetry_and_cross_curve_nan():
    ds = torus(20, seed=1)
    idx = np.arange(20)
    g = geodesic_distance(ds, idx[:, None], idx[None, :])
    assert g.shape == (20, 20)
    same = ds.y[:, None] == ds.y[None, :]
    assert np.all(np.isnan(g[~same])) and not np.any(np.isnan(g[same]))
    assert_allclose(g, g.T, equal_nan=True)
    assert_array_equal(np.diag(g), 0.0)
    assert np.nanmax(g) <= np.pi
    assert geodesic_distance(ds, 0, 2).shape == ()


# ---------------------------------------------------------------------- folded boxes
@pytest.mark.parametrize("seed", SEEDS)
def test_folded_boxes_points_satisfy_the_defining_equations(seed):
    k, bias, delta = 1.2, 12.0, 1.0
    ds = folded_boxes(100, k=k, bias=bias, delta=delta, seed=seed)
    assert ds.X.shape == (100, 3) and ds.y.tolist() == [1, 0] * 50
    info, params = ds.per_sample, ds.metadata["params"]
    x, y, z = ds.X.T
    s = 2.0 * ds.y - 1.0
    assert_array_equal(x, info["x"])
    assert_array_equal(z, info["z"])
    assert info["fold"].tolist() == [1] * 50 + [-1] * 50
    upper = info["fold"] == 1
    assert_allclose(y[upper], -k * np.abs(x[upper]) + bias + s[upper] * delta)
    assert_allclose(y[~upper], k * np.abs(x[~upper]) - bias - s[~upper] * delta)
    x_max = np.where(ds.y == 1, 10 + delta / k, 10 - delta / k)
    assert params["x_max_positive"] == pytest.approx(10 + delta / k)
    assert np.all(np.abs(x) <= x_max) and np.all(np.abs(z) <= 1.0)
    # the two folds of a box meet at its corners, y = 0 at |x| = x_max
    assert_allclose(-k * x_max + bias + s * delta, 0.0, atol=1e-12)


def _box_loop(k, bias, delta, sign, m=400001):
    """Dense polyline around a box's diamond cross-section and its arc length."""
    apex = bias + sign * delta
    x_max = apex / k
    corners = np.array(
        [[x_max, 0.0], [0.0, apex], [-x_max, 0.0], [0.0, -apex], [x_max, 0.0]]
    )
    t = np.linspace(0.0, 4.0, m)
    seg = np.minimum(t.astype(int), 3)
    frac = (t - seg)[:, None]
    pts = corners[seg] * (1 - frac) + corners[seg + 1] * frac
    arc = np.concatenate(
        [[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
    )
    return pts, arc


def test_folded_box_geodesics_match_brute_force_unfolding():
    k, bias, delta = 1.2, 12.0, 1.0
    ds = folded_boxes(40, k=k, bias=bias, delta=delta, seed=11)
    pairs = [(0, 2), (0, 22), (1, 21), (3, 37), (20, 38), (5, 25), (4, 6)]
    i, j = np.array(pairs).T
    g = geodesic_distance(ds, i, j)
    for n, (a, b) in enumerate(pairs):
        sign = 2.0 * ds.y[a] - 1.0
        pts, arc = _box_loop(k, bias, delta, sign)
        pos = [
            arc[np.argmin(np.linalg.norm(pts - ds.X[p, :2], axis=1))] for p in (a, b)
        ]
        around = abs(pos[0] - pos[1])
        d = min(around, arc[-1] - around)
        expected = np.hypot(d, ds.X[a, 2] - ds.X[b, 2])
        assert g[n] == pytest.approx(expected, abs=1e-3)
    assert np.isnan(geodesic_distance(ds, 0, 1))  # different boxes
    assert_array_equal(g, geodesic_distance(ds, i, j, kind="arc_length"))


def test_folded_boxes_general_parameters_close_the_boxes():
    ds = folded_boxes(8, k=2.0, bias=5.0, delta=0.5, seed=0)
    p = ds.metadata["params"]
    assert p["x_max_positive"] == pytest.approx(2.75)
    assert p["x_max_negative"] == pytest.approx(2.25)


def test_geodesic_distance_reads_parameters_not_features_or_labels():
    ds = torus(30, seed=4)
    idx = np.arange(30)
    ref = geodesic_distance(ds, idx[:, None], idx[None, :])
    noisy = add_label_noise(ds.standardize(), 0.5, seed=0)
    assert_array_equal(geodesic_distance(noisy, idx[:, None], idx[None, :]), ref)
    sub = ds.subset([4, 8, 5])
    assert_array_equal(geodesic_distance(sub, [0, 0], [1, 2]), ref[4, [8, 5]])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: torus(7), "'n'.*even"),
        (lambda: torus(10, r=1.0), "'r'.*\\(1, inf\\)"),
        (lambda: torus(10, k=0), "'k'"),
        (lambda: folded_boxes(10), "'n'.*multiple of 4"),
        (lambda: folded_boxes(8, k=0.0), "'k'"),
        (lambda: folded_boxes(8, delta=12.0), "'delta'.*\\[0, 12\\)"),
        (lambda: folded_boxes(8, bias=-1.0), "'bias'"),
        (lambda: geodesic_distance(small(), 0, 1), "torus\\(\\) or folded_boxes"),
        (lambda: geodesic_distance(np.zeros(3), 0, 1), "'dataset'.*Dataset"),
        (lambda: geodesic_distance(torus(4, seed=0), 0, 4), "'j_idx'.*\\[0, 4\\)"),
        (lambda: geodesic_distance(torus(4, seed=0), 0.5, 1), "'i_idx'.*ints"),
        (lambda: geodesic_distance(torus(4, seed=0), [0, 1], [0, 1, 2]), "broadcast"),
        (lambda: geodesic_distance(torus(4, seed=0), 0, 1, kind="x"), "'kind'"),
    ],
)
def test_manifold_errors(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


# ---------------------------------------------------------------------- shapes
def test_geometric_shapes_classes_values_and_metadata():
    ds = geometric_shapes(30, seed=0)
    assert ds.X.shape == (90, 1024) and ds.X.dtype == np.float64
    assert ds.class_names == SHAPE_NAMES == ("triangle", "rectangle", "ellipse")
    assert ds.class_counts.tolist() == [30, 30, 30]
    assert ds.metadata["image_shape"] == (32, 32)
    assert -0.05 < ds.X.min() and ds.X.max() < 1.05
    assert ds.X.max() > 0.9  # the shapes are filled
    means = np.stack([ds.X[ds.y == k].mean(axis=0) for k in range(3)])
    for a in range(3):
        for b in range(a + 1, 3):
            assert np.linalg.norm(means[a] - means[b]) > 1.0
    info = ds.per_sample
    assert np.all((info["angle"] >= 0) & (info["angle"] < 176))
    assert np.all((info["sigma"] >= 0.9) & (info["sigma"] <= 1.1))
    assert np.all(np.isnan(info["radius"][ds.y < 2]))
    assert np.all(np.isnan(info["shift"][ds.y == 2]))
    # rotation follows the position in the ordered list: angle = 176 i / N
    assert_allclose(info["angle"], 176.0 * info["position"] / 30)


def test_geometric_shapes_other_size_and_errors():
    ds = geometric_shapes(2, size=16, seed=0)
    assert ds.X.shape == (6, 256) and ds.metadata["image_shape"] == (16, 16)
    with pytest.raises(ConfigError, match=r"'size'.*\[8, inf\)"):
        geometric_shapes(2, size=4)
    with pytest.raises(ConfigError, match="'n_per_class'"):
        geometric_shapes(0)


def test_rasterisers():
    # a square polygon with corners on pixel centres: the half-open crossing rule
    # keeps the rows/cols [1, 4) like scikit-image's draw.polygon
    square = _polygon_mask(
        np.array([1.0, 1.0, 4.0, 4.0]), np.array([1.0, 4.0, 4.0, 1.0]), (6, 6)
    )
    assert square.sum() == 9 and square[1:4, 1:4].all()
    # a large triangle covers about its area (shoelace), within its perimeter
    rows, cols = np.array([5.0, 90.0, 20.0]), np.array([10.0, 30.0, 95.0])
    tri = _polygon_mask(rows, cols, (100, 100))
    area = 0.5 * abs(
        rows[0] * (cols[1] - cols[2])
        + rows[1] * (cols[2] - cols[0])
        + rows[2] * (cols[0] - cols[1])
    )
    assert abs(tri.sum() - area) < 250
    rect = _rectangle_mask((12.0, 8.0), (20.0, 24.0), (32, 32))
    assert rect.sum() == 9 * 17 and rect[12:21, 8:25].all()
    shifted = _rectangle_mask((11.5, 7.5), (19.5, 23.5), (32, 32))
    assert shifted[11:20, 7:24].all() and shifted.sum() == 9 * 17  # truncated
    ell = _ellipse_mask(50.0, 50.0, 20.0, 40.0, (101, 101))
    assert abs(ell.sum() - np.pi * 20 * 40) < 100
    assert not ell[50, 10] and ell[50, 11] and ell[31, 50] and not ell[30, 50]


# ---------------------------------------------------------------------- digits
def test_digits_subset_relabelling_and_scaling():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    raw = sklearn_datasets.load_digits()
    ds = digits([5, 3])
    assert ds.class_names == ("5", "3") and ds.n_features == 64
    src = ds.per_sample["source_index"]
    assert_array_equal(raw.target[src], np.where(ds.y == 0, 5, 3))
    assert_allclose(ds.X, 2.0 * raw.data[src] / 16.0 - 1.0)
    assert ds.X.min() == -1.0 and ds.X.max() == 1.0
    assert ds.hierarchy is None and ds.metadata["image_shape"] == (8, 8)
    full = digits()
    assert full.n_samples == 1797 and full.class_names == tuple("0123456789")


def test_digits_data_hierarchy_and_subsample():
    pytest.importorskip("sklearn")
    ds = digits([1, 7, 0, 8], hierarchy="data", n_per_class=20, seed=0)
    h = ds.hierarchy
    assert h.classes == ("1", "7", "0", "8") == ds.class_names
    assert h.is_tree and h.n_nodes == 7 and h.root == "g2"
    assert all(len(h.children(v)) == 2 for v in ("g0", "g1", "g2"))
    assert ds.class_counts.tolist() == [20, 20, 20, 20]
    heights = ds.metadata["hierarchy_heights"]
    assert heights["g0"] <= heights["g1"] <= heights["g2"]
    again = digits([1, 7, 0, 8], hierarchy="data", n_per_class=20, seed=0)
    assert_array_equal(again.X, ds.X)
    given = digits([1, 7, 0, 8], hierarchy=h)
    assert given.hierarchy is h


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"classes": [3]}, "'classes'.*at least two distinct"),
        ({"classes": [3, 3]}, "'classes'"),
        ({"classes": [3, 10]}, "'classes'"),
        ({"classes": "35"}, "'classes'"),
        ({"hierarchy": "semantic"}, "'hierarchy'.*'data'"),
        ({"n_per_class": 0}, "'n_per_class'"),
        ({"classes": [0, 1], "n_per_class": 1000}, "'n_per_class'.*at most"),
        (
            {
                "classes": [0, 1],
                "hierarchy": Hierarchy.from_edges([("r", "1"), ("r", "0")]),
            },
            "classes \\('0', '1'\\)",
        ),
    ],
)
def test_digits_errors(kwargs, match):
    pytest.importorskip("sklearn")
    with pytest.raises(ConfigError, match=match):
        digits(**kwargs)


def test_digits_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ConfigError, match=r"pip install 'simnet\[digits\]'"):
        digits([0, 1])


def test_linkage_hierarchy_on_known_points():
    h, heights = linkage_hierarchy([[0.0], [10.0], [0.5], [10.2]], ["a", "b", "c", "d"])
    assert h.classes == ("a", "b", "c", "d")
    assert set(h.children("g0")) == {"b", "d"} and set(h.children("g1")) == {"a", "c"}
    assert set(h.children("g2")) == {"g0", "g1"}
    assert heights["g0"] == pytest.approx(0.2)
    with pytest.raises(ConfigError, match="internal node names"):
        linkage_hierarchy([[0.0], [1.0]], ["g0", "x"])
    with pytest.raises(ConfigError, match="shape \\(K, d\\)"):
        linkage_hierarchy([[0.0]], ["a"])


# ---------------------------------------------------------------------- label noise
def balanced(n_per_class: int = 300, n_classes: int = 3) -> Dataset:
    y = np.repeat(np.arange(n_classes), n_per_class)
    names = tuple(f"c{k}" for k in range(n_classes))
    return Dataset(np.arange(y.size, dtype=float)[:, None], y, names)


def test_label_noise_rate_zero_is_identity():
    ds = balanced(10)
    out = add_label_noise(ds, 0.0, seed=0)
    assert_array_equal(out.y, ds.y)
    assert not out.per_sample["corrupted"].any()
    assert_array_equal(out.per_sample["clean_y"], ds.y)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", [0.1, 0.35, 0.8])
def test_uniform_other_flips_exact_counts_spread_evenly(seed, rate):
    ds = balanced(300)
    y_before = ds.y.copy()
    out = add_label_noise(ds, rate, seed=seed)
    assert_array_equal(ds.y, y_before) and "clean_y" not in ds.per_sample
    assert_array_equal(out.X, ds.X)
    m = int(np.floor(rate * 300 + 1e-9))
    changed = out.y != ds.y
    assert_array_equal(changed, out.per_sample["corrupted"])
    assert_array_equal(changed, out.per_sample["resampled"])
    for k in range(3):
        moved = out.y[(ds.y == k) & changed]
        assert moved.size == m and not np.any(moved == k)
        counts = np.bincount(moved, minlength=3)[[c for c in range(3) if c != k]]
        assert counts.max() - counts.min() <= 1


def test_uniform_other_at_two_thirds_randomises_the_labels():
    ds = balanced(300)
    out = add_label_noise(ds, 2 / 3, seed=5)
    confusion = np.zeros((3, 3), dtype=int)
    np.add.at(confusion, (ds.y, out.y), 1)
    assert_array_equal(confusion, np.full((3, 3), 100))


@pytest.mark.parametrize("seed", SEEDS)
def test_uniform_mode_resamples_among_all_classes(seed):
    k_classes, n_per, rate = 4, 1000, 0.5
    ds = balanced(n_per, k_classes)
    out = add_label_noise(ds, rate, mode="uniform", seed=seed)
    resampled = out.per_sample["resampled"]
    assert resampled.sum() == rate * n_per * k_classes
    n_sel = int(resampled.sum())
    p_change = (k_classes - 1) / k_classes
    n_changed = int(out.per_sample["corrupted"].sum())
    sd = np.sqrt(n_sel * p_change * (1 - p_change))
    assert abs(n_changed - n_sel * p_change) < 5 * sd
    kept = np.sum(resampled & (out.y == ds.y))
    assert kept > 0  # some selected labels stay, unlike "uniform_other"
    assert not np.any(~resampled & (out.y != ds.y))
    record = out.metadata["label_noise"][-1]
    assert record["mode"] == "uniform" and record["n_changed"] == n_changed


def test_label_noise_twice_keeps_the_original_clean_labels():
    ds = balanced(50)
    once = add_label_noise(ds, 0.5, seed=0)
    twice = add_label_noise(once, 0.5, seed=1)
    assert_array_equal(twice.per_sample["clean_y"], ds.y)
    assert_array_equal(twice.per_sample["corrupted"], twice.y != ds.y)
    assert len(twice.metadata["label_noise"]) == 2
    assert "label_noise" not in ds.metadata


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((balanced(5), 1.5), {}, r"'rate'.*\[0, 1\]"),
        ((balanced(5), -0.1), {}, "'rate'"),
        ((balanced(5), 0.2), {"mode": "flip"}, "'mode'.*'uniform_other'"),
        ((balanced(5, 1), 0.2), {}, "one class"),
        ((np.zeros(3), 0.2), {}, "'dataset'.*Dataset"),
    ],
)
def test_label_noise_errors(args, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        add_label_noise(*args, **kwargs)


# ---------------------------------------------------------------------- files
def test_npz_round_trip_keeps_everything(tmp_path):
    h = Hierarchy.preset("tiger_cat_car")
    ds = add_label_noise(hierarchical_synthetic(h, 4, 5, seed=0), 0.5, seed=1)
    path = tmp_path / "sub" / "data.npz"
    save_dataset(ds, path)
    back = load_dataset(path)
    assert_array_equal(back.X, ds.X)
    assert_array_equal(back.y, ds.y)
    assert back.class_names == ds.class_names and back.hierarchy == h
    for key, value in ds.per_sample.items():
        assert_array_equal(back.per_sample[key], value)
    assert back.metadata["generator"] == "hierarchical_synthetic"
    assert_allclose(back.metadata["weight"], ds.metadata["weight"])
    assert back.metadata["source"] == str(path)
    odd = ds.replace(
        metadata={"mode": LabelNoiseMode.UNIFORM, "obj": object(), "nan": np.nan}
    )
    save_dataset(odd, path)  # overwrites atomically
    meta = load_dataset(path).metadata
    assert meta["mode"] == "uniform" and meta["obj"].startswith("<object")
    assert np.isnan(meta["nan"])
    assert [p.name for p in path.parent.iterdir()] == ["data.npz"]  # no temp left


def test_csv_round_trip_keeps_features_and_names(tmp_path):
    ds = geometric_shapes(3, size=8, seed=0)
    path = tmp_path / "shapes.csv"
    save_dataset(ds, path)
    back = load_dataset(path)
    assert_array_equal(back.X, ds.X)  # floats survive exactly
    assert back.class_names == ("ellipse", "rectangle", "triangle")  # sorted
    names_back = np.array(back.class_names)[back.y]
    assert_array_equal(names_back, np.array(ds.class_names)[ds.y])
    assert back.metadata["feature_names"][:2] == ["x0", "x1"]


def test_csv_with_string_and_integer_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,kind\n1,2,dog\n3,4.5,cat\n5,6,dog\n")
    ds = load_dataset(path, label_column="kind")
    assert ds.class_names == ("cat", "dog") and ds.y.tolist() == [1, 0, 1]
    assert ds.X.tolist() == [[1.0, 2.0], [3.0, 4.5], [5.0, 6.0]]
    path.write_text("label,f\n10,0.1\n2,0.2\n10,0.3\n")
    ds = load_dataset(path)
    assert ds.class_names == ("2", "10") and ds.y.tolist() == [1, 0, 1]


def test_npz_with_string_labels_and_no_class_names(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.eye(3), y=np.array(["b", "a", "b"]))
    ds = load_dataset(path)
    assert ds.class_names == ("a", "b") and ds.y.tolist() == [1, 0, 1]


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        np.savez(path, **content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("e.npz", b"", "is empty"),
        ("e.csv", b"", "is empty"),
        ("h.csv", "x,label\n", "header but no data rows"),
        ("nolabel.csv", "a,b\n1,2\n3,4\n", "no label column 'label'.*\\['a', 'b'\\]"),
        ("onlylabel.csv", "label\n1\n0\n", "no feature columns"),
        ("text.csv", "a,b,label\n1,x,0\n2,3,1\n", "column 'b'.*numeric.*'x' on line 2"),
        ("nan.csv", "a,b,label\n1,2,0\n2,,1\n", "column 'b'.*finite.*line 3"),
        ("inf.csv", "a,b,label\n1,inf,0\n2,3,1\n", "column 'b'.*finite.*line 2"),
        ("nolab.csv", "a,label\n1,0\n2,\n", "missing label on line 3"),
        ("onecls.csv", "a,label\n1,x\n2,x\n", "fewer than 2 classes"),
        ("fl.csv", "a,label\n1,0.5\n2,1\n", "integers or strings.*0.5"),
        ("noX.npz", {"y": np.arange(2)}, "no array 'X'"),
        ("noy.npz", {"X": np.eye(2)}, "no array 'y'"),
        ("x1d.npz", {"X": np.zeros(3), "y": np.arange(3)}, "'X'.*shape \\(n_samples"),
        ("xstr.npz", {"X": np.array([["a"]]), "y": np.arange(1)}, "'X'.*numeric"),
        ("xnan.npz", {"X": [[np.nan], [1.0]], "y": [0, 1]}, "'X'.*finite"),
        ("mismatch.npz", {"X": np.eye(3), "y": np.arange(2)}, "shape mismatch"),
        ("y2d.npz", {"X": np.eye(2), "y": np.eye(2)}, "'y'.*1-D"),
        ("one.npz", {"X": np.eye(2), "y": [1, 1]}, "fewer than 2 classes"),
        (
            "names.npz",
            {"X": np.eye(2), "y": [0, 2], "class_names": ["a", "b"]},
            "0\\.\\.1",
        ),
        (
            "obj.npz",
            {"X": np.array([[1.0]], dtype=object), "y": [0]},
            "never unpickles",
        ),
        ("junk.npz", b"not a zip file", "cannot be read as .npz"),
        (
            "badh.npz",
            {"X": np.eye(2), "y": [0, 1], "hierarchy_json": np.array("{")},
            "'hierarchy_json'.*not a valid hierarchy",
        ),
        (
            "badm.npz",
            {"X": np.eye(2), "y": [0, 1], "metadata_json": np.array("{")},
            "'metadata_json'.*not valid JSON",
        ),
        (
            "dup.npz",
            {"X": np.eye(2), "y": [0, 1], "class_names": ["a", "a"]},
            "does not form a dataset.*distinct",
        ),
        ("yfl.npz", {"X": np.eye(2), "y": [0.5, 1.0]}, "integers or strings.*0.5"),
        (
            "ystr.npz",
            {"X": np.eye(2), "y": ["a", "b"], "class_names": ["a", "b"]},
            "'y'.*must hold ints",
        ),
        ("ragged.csv", "a,label\n1,0\n2,1,5,6\n", "cannot be parsed as CSV"),
        ("bool.csv", "a,b,label\n1,True,0\n2,False,1\n", "'b'.*numeric.*line 2"),
        ("bad.txt", "a,label\n1,0\n", "unsupported suffix '.txt'"),
    ],
)
def test_load_dataset_errors(tmp_path, name, content, match):
    path = _write(tmp_path / name, content)
    with pytest.raises(DataError, match=match) as info:
        load_dataset(path)
    assert name in str(info.value)  # the message names the file


def test_load_missing_file_and_save_errors(tmp_path):
    with pytest.raises(DataError, match=r"nope\.npz' does not exist"):
        load_dataset(tmp_path / "nope.npz")
    with pytest.raises(ConfigError, match="'label_column'"):
        load_dataset(tmp_path / "nope.npz", label_column="")
    with pytest.raises(ConfigError, match=r"'path'.*\.npz or \.csv"):
        save_dataset(small(), tmp_path / "d.json")
    with pytest.raises(ConfigError, match=r"'dataset'.*Dataset"):
        save_dataset(np.zeros(2), tmp_path / "d.npz")
    bad = small().replace(metadata={"per_sample": {"o": np.array([object()] * 15)}})
    with pytest.raises(DataError, match=r"'o'.*without pickling"):
        save_dataset(bad, tmp_path / "d.npz")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- determinism
GENERATORS = {
    "hierarchical": lambda s: hierarchical_synthetic(
        Hierarchy.preset("cifar10"), 5, 12, seed=s
    ),
    "torus": lambda s: torus(20, seed=s),
    "folded_boxes": lambda s: folded_boxes(20, seed=s),
    "shapes": lambda s: geometric_shapes(3, seed=s),
    "noise": lambda s: add_label_noise(torus(40, seed=0), 0.3, seed=s),
    "split": lambda s: small().split(0.5, seed=s)[0],
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_bits_other_seed_other_data(name):
    make = GENERATORS[name]
    a, b, c = make(7), make(7), make(8)
    assert a.X.tobytes() == b.X.tobytes() and a.y.tobytes() == b.y.tobytes()
    assert a.X.tobytes() != c.X.tobytes() or a.y.tobytes() != c.y.tobytes()
    g1, g2 = make(np.random.default_rng(3)), make(np.random.default_rng(3))
    assert g1.X.tobytes() == g2.X.tobytes() and g1.y.tobytes() == g2.y.tobytes()
