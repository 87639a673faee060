"""Hypothesis strategies and reusable property checks for simnet users.

``simnet.testing`` helps you write property-based tests of your own models and
analyses: :mod:`simnet.testing.strategies` draws small valid hierarchies, node
weights, rates, impact matrices, models and seeds, and :mod:`simnet.testing.checks`
holds assertions (PSD, LCA ordering, tree recovery, reproducibility, the HFS tangent
kernel, relabelling equivariance) that raise :class:`AssertionError` with an
informative message, so they can be called inside any test.

The strategies need `hypothesis <https://hypothesis.readthedocs.io>`_, an optional
dependency: ``pip install 'simnet[test]'``. The checks only need simnet itself.
This package is not imported by ``import simnet``.

See ``docs/testing.md`` for a walk-through.
"""

from __future__ import annotations

import importlib
from typing import Any

from .checks import (
    check_first_order_kernel,
    check_ordered_by_lca,
    check_recovers_tree,
    check_relabelling_equivariance,
    check_same_seed_same_bits,
    check_symmetric_psd,
    check_ultrametric,
    relabel_classes,
)

__all__ = [
    "check_first_order_kernel",
    "check_ordered_by_lca",
    "check_recovers_tree",
    "check_relabelling_equivariance",
    "check_same_seed_same_bits",
    "check_symmetric_psd",
    "check_ultrametric",
    "relabel_classes",
    "strategies",
]


def __getattr__(name: str) -> Any:
    # the strategies need hypothesis; import them (and fail clearly) only on use
    if name == "strategies":
        return importlib.import_module(f"{__name__}.strategies")
    raise AttributeError(f"module 'simnet.testing' has no attribute {name!r}")
