"""The counter-based Gaussian generator of ``simnet.kernels.normal``.

Kernel vs its numpy twin (``tests/reference.py``) on random streams and counters,
SplitMix64 known answers, block invariance, and the statistics of the draws: moments,
a Kolmogorov-Smirnov test against N(0, 1), and no correlation between neighbouring
counters or between streams. Thresholds are 5 standard errors (or p > 1e-4), so the
tests hold for any key with overwhelming probability.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import reference as ref
from hypothesis import given
from hypothesis import strategies as st
from numba import njit
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from simnet.kernels.bits import bits_of_float, float_from_bits
from simnet.kernels.normal import (
    GOLDEN,
    KEY_HIGH,
    draw_key,
    mix64,
    new_scratch,
    normal_block,
    stream_from_key,
)

N_DRAWS = 1_000_000
keys = st.integers(0, KEY_HIGH - 1)


def draws(key: int, n: int, c0: int = 0) -> np.ndarray:
    seed, gamma = stream_from_key(key)
    out = np.empty(n)
    normal_block(np.uint64(seed), np.uint64(gamma), c0, out, new_scratch())
    return out


def splitmix64(seed: int, gamma: int, n: int) -> list[int]:
    """The textbook sequential SplitMix64 in Python integers."""
    mask = 2**64 - 1
    out = []
    state = seed
    for _ in range(n):
        state = (state + gamma) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append(z ^ (z >> 31))
    return out


def test_splitmix64_known_answers():
    """mix64(0 + golden) is SplitMix64's first output from seed 0 (a published
    value), and the twin's words are the sequential generator's outputs."""
    assert int(mix64(np.uint64(0) + GOLDEN)) == 0xE220A8397B1DCDAF
    assert splitmix64(0, int(GOLDEN), 1) == [0xE220A8397B1DCDAF]
    for key in (0, 12345, KEY_HIGH - 1):
        seed, gamma = (int(v) for v in ref.stream_from_key(key))
        words = ref.stream_words(seed, gamma, np.arange(50)).tolist()
        assert words == splitmix64(seed, gamma, 50)


@given(key=keys)
def test_stream_matches_reference(key):
    seed, gamma = stream_from_key(key)
    seed_r, gamma_r = ref.stream_from_key(key)
    assert (int(seed), int(gamma)) == (int(seed_r), int(gamma_r))
    assert int(gamma) % 2 == 1
    assert bin(int(gamma) ^ (int(gamma) >> 1)).count("1") >= 24


@given(key=keys, c0=st.integers(0, 2**40), n=st.integers(0, 700))
def test_generator_matches_reference(key, c0, n):
    """Same numbers as the numpy twin, to rounding (|z| < 10, so 1e-13 absolute is a
    few ulp)."""
    seed, gamma = ref.stream_from_key(key)
    assert_allclose(draws(key, n, c0), ref.normal_block(seed, gamma, c0, n), atol=1e-13)


@given(key=keys, c0=st.integers(0, 2**40), cuts=st.lists(st.integers(0, 300)))
def test_blocks_give_the_same_bits(key, c0, cuts):
    """Any split of a counter range into blocks (odd or even starts) gives the same
    bits as one call: the value of a counter does not depend on its block."""
    n = 300
    whole = draws(key, n, c0)
    bounds = sorted({0, n, *cuts})
    parts = [draws(key, hi - lo, c0 + lo) for lo, hi in itertools.pairwise(bounds)]
    assert_array_equal(np.concatenate(parts), whole)


def test_block_refuses_a_strided_destination():
    """The draws are stored by address, sixteen at a time: a strided view would be
    written past its elements, so it is refused."""
    seed, gamma = stream_from_key(7)
    out = np.zeros(20)
    with pytest.raises(ValueError, match="contiguous"):
        normal_block(np.uint64(seed), np.uint64(gamma), 0, out[::2], new_scratch())
    assert not out.any()


@njit
def _round_trip(values, bits):
    out = np.empty_like(values)
    got = np.empty_like(bits)
    for i in range(values.shape[0]):
        got[i] = bits_of_float(values[i])
        out[i] = float_from_bits(bits[i])
    return got, out


def test_bit_casts_match_numpy_views():
    values = np.array([0.0, -0.0, 1.5, -(2.0**-1074), np.inf, np.pi, 1e308])
    bits = values.view(np.uint64)
    got, back = _round_trip(values, bits)
    assert_array_equal(got, bits)
    assert_array_equal(back.view(np.uint64), bits)


def test_draw_key_matches_numpy():
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    assert [draw_key(a) for _ in range(5)] == [
        int(b.integers(0, ref.KEY_HIGH)) for _ in range(5)
    ]


@pytest.mark.parametrize("key", [0, 1, 987654321987654321])
def test_moments_of_a_million_draws(key):
    z = draws(key, N_DRAWS)
    n = z.size
    assert np.all(np.isfinite(z))
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1.0) < 5 * np.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * np.sqrt(6 / n)
    assert abs(stats.kurtosis(z, fisher=False) - 3.0) < 5 * np.sqrt(24 / n)
    # Tails: P(|Z| > 3) = 2.7e-3, with its binomial standard error.
    p3 = 2 * stats.norm.sf(3.0)
    assert abs(np.mean(np.abs(z) > 3.0) - p3) < 5 * np.sqrt(p3 / n)


@pytest.mark.parametrize("key", [2, 3])
def test_kolmogorov_smirnov_against_the_normal(key):
    assert stats.kstest(draws(key, N_DRAWS), "norm").pvalue > 1e-4


def test_both_members_of_a_pair_are_standard_normal():
    """Even counters (R cos) and odd counters (R sin) are each N(0, 1)."""
    z = draws(4, 2 * N_DRAWS)
    for half in (z[0::2], z[1::2]):
        assert stats.kstest(half, "norm").pvalue > 1e-4


@pytest.mark.parametrize("lag", [1, 2, 3, 16])
def test_no_correlation_between_neighbouring_counters(lag):
    """Lag 1 pairs the cos and sin of one Box-Muller pair (and, at odd starts, two
    pairs); squares test dependence beyond linear correlation."""
    z = draws(5, N_DRAWS)
    bound = 5 / np.sqrt(N_DRAWS)
    for a, b in ((z[:-lag], z[lag:]), (z[0:-lag:2], z[lag::2])):
        assert abs(np.corrcoef(a, b)[0, 1]) < 2 * bound
        assert abs(np.corrcoef(a * a, b * b)[0, 1]) < 2 * bound


@pytest.mark.parametrize("other", [1, 2, int(GOLDEN) >> 1])
def test_no_correlation_between_keys(other):
    """Nearby and distant keys give uncorrelated draws, at the same counters and at
    shifted ones (streams are not shifted copies of each other), and share no
    values."""
    key = 777
    z1 = draws(key, N_DRAWS)
    z2 = draws(key + other, N_DRAWS + 2)
    bound = 2 * 5 / np.sqrt(N_DRAWS)
    for shift in (0, 1, 2):
        assert abs(np.corrcoef(z1, z2[shift : shift + N_DRAWS])[0, 1]) < bound
    assert not np.any(z1[:1000, None] == z2[None, :1000])
