"""The prefetch hints compile for the arrays the SGD kernels pass and change nothing."""

from __future__ import annotations

import numpy as np
from numba import njit

from simnet.kernels.prefetch import PREFETCH_STEPS, prefetch_row, prefetch_samples


@njit(cache=False)
def _touch_every_row(a):
    for i in range(a.shape[0]):
        prefetch_row(a, i)


def test_prefetch_row_leaves_arrays_unchanged():
    """Every row of 1-D and 2-D float and int arrays, first and last included (rows
    that end mid cache line too)."""
    rng = np.random.default_rng(0)
    for a in (
        rng.standard_normal((7, 3)),
        rng.standard_normal((5, 64)),
        rng.integers(0, 9, size=11),
        rng.standard_normal(1),
    ):
        before = a.copy()
        _touch_every_row(a)
        assert np.array_equal(a, before)


def test_prefetch_samples_stops_at_the_last_step():
    rows = np.arange(40.0).reshape(10, 4)
    labels = np.arange(10)
    stamps = np.zeros(10, dtype=np.int64)
    batches = np.arange(2 * (PREFETCH_STEPS + 2)).reshape(-1, 2) % 10
    for t in range(batches.shape[0]):  # the last steps have nothing ahead
        prefetch_samples(batches, t, rows, labels, stamps, t % 2 == 0)
    assert np.array_equal(rows, np.arange(40.0).reshape(10, 4))
    assert np.array_equal(stamps, np.zeros(10, dtype=np.int64))
