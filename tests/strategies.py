"""Hypothesis strategies for the tests: re-exported from :mod:`simnet.testing`.

The library strategies are documented in ``docs/testing.md``; this module keeps the
names the older tests import (``hierarchies`` with DAGs by default, and ``seeds`` as
a strategy object rather than a function).
"""

from __future__ import annotations

from simnet.testing import strategies as _lib
from simnet.testing.strategies import (  # noqa: F401 - re-exported for the tests
    balanced_hierarchies,
    hfs_models,
    impact_matrices,
    lesde_models,
    node_weights,
    rates,
)


def hierarchies(max_nodes: int = 14, dag: bool = True, min_classes: int = 2):
    """Random rooted trees (and, if ``dag``, DAGs with a few extra parent edges)."""
    return _lib.hierarchies(min_classes, max_nodes, dag=dag)


seeds = _lib.seeds()
