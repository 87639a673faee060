"""Datasets for the real-network baselines (MODEL.md section 5).

* :func:`hierarchical_synthetic`: prototypes summed along the ancestors of each class
  in a known hierarchy, instance noise, then a fixed random nonlinear embedding;
* :func:`torus` and :func:`folded_boxes`: He & Su's synthetic manifolds, with
  :func:`geodesic_distance`;
* :func:`geometric_shapes`: LE-SDE's "GeoMNIST" images (triangle, rectangle,
  ellipse), drawn with numpy and scipy;
* :func:`digits`: scikit-learn's bundled 8x8 digits (optional extra ``digits``),
  optionally with a data-derived class hierarchy (:func:`linkage_hierarchy`);
* :func:`add_label_noise`: LE-SDE's label-corruption protocol;
* :func:`load_dataset` / :func:`save_dataset`: ``.npz`` and ``.csv`` files.

Every function returns a :class:`Dataset` (float64 features, int64 labels, class
names, optional hierarchy, metadata) and takes a ``seed`` where it draws randomness.

Examples
--------
>>> from simnet.datasets import torus, add_label_noise
>>> ds = add_label_noise(torus(20, seed=0), 0.2, seed=1)
>>> ds.n_samples, ds.n_classes, int(ds.per_sample["corrupted"].sum())
(20, 2, 4)
"""

from ._base import PER_SAMPLE, Dataset
from .digits import DigitsHierarchy, digits, linkage_hierarchy
from .files import load_dataset, save_dataset
from .hierarchical import Nonlinearity, hierarchical_synthetic
from .manifolds import GeodesicKind, folded_boxes, geodesic_distance, torus
from .noise import LabelNoiseMode, add_label_noise
from .shapes import SHAPE_NAMES, geometric_shapes

__all__ = [
    "PER_SAMPLE",
    "SHAPE_NAMES",
    "Dataset",
    "DigitsHierarchy",
    "GeodesicKind",
    "LabelNoiseMode",
    "Nonlinearity",
    "add_label_noise",
    "digits",
    "folded_boxes",
    "geodesic_distance",
    "geometric_shapes",
    "hierarchical_synthetic",
    "linkage_hierarchy",
    "load_dataset",
    "save_dataset",
    "torus",
]
