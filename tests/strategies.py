"""Hypothesis strategies for the tests: random hierarchies, rates and seeds."""

from __future__ import annotations

import networkx as nx
from hypothesis import strategies as st

from simnet import Hierarchy


@st.composite
def hierarchies(draw, max_nodes: int = 14, dag: bool = True, min_classes: int = 2):
    """Random rooted trees (and, if ``dag``, DAGs with a few extra parent edges)."""
    n = draw(st.integers(min_value=3, max_value=max_nodes))
    g = nx.DiGraph()
    g.add_node("v0")
    for i in range(1, n):
        g.add_edge(f"v{draw(st.integers(0, i - 1))}", f"v{i}")
    if dag and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 2))):
            child = draw(st.integers(2, n - 1))
            parent = draw(st.integers(1, child - 1))
            g.add_edge(f"v{parent}", f"v{child}")
    sinks = [v for v in g if g.out_degree(v) == 0]
    if len(sinks) < min_classes:
        g.add_edge("v0", f"v{n}")
        g.add_edge("v0", f"v{n + 1}")
    return Hierarchy(g)


seeds = st.integers(min_value=0, max_value=2**32 - 1)
