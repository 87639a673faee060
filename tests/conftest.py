"""Shared test configuration: hypothesis profiles.

* ``ci`` (default): few examples, no deadline (numba compiles on first use),
  derandomised so CI is reproducible.
* ``thorough``: many examples; run with ``SIMNET_HYPOTHESIS_PROFILE=thorough pytest``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("SIMNET_HYPOTHESIS_PROFILE", "ci"))
