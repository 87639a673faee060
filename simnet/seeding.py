"""Seed handling: one ``seed`` argument, normalised once, spawned into named streams.

Every stochastic entry point takes ``seed: int | SeedSequence | Generator | None``.
It is turned into a :class:`numpy.random.SeedSequence`, whose children (one per
purpose: initial state, sampling, noise, observation probes) feed independent
:class:`numpy.random.Generator` objects. Nothing touches numpy's global state.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

__all__ = ["SeedLike", "as_seed_sequence", "spawn_generators"]

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def as_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Normalise ``seed`` to a SeedSequence.

    A Generator is consumed (four 63-bit draws) to derive fresh entropy, so passing the
    same Generator twice gives two different, reproducible sequences.
    """
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(
            [int(x) for x in seed.integers(0, 2**63, size=4, dtype=np.uint64)]
        )
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise ConfigError(
        "The 'seed' parameter must be a non-negative int, a numpy SeedSequence, a "
        f"numpy Generator or None. Got {seed!r} instead."
    )


def spawn_generators(
    seed: SeedLike, names: tuple[str, ...]
) -> tuple[np.random.SeedSequence, dict[str, np.random.Generator]]:
    """Return the root SeedSequence and one independent Generator per name.

    The streams depend only on the root entropy and the position of each name, so
    adding a consumer at the end of ``names`` never changes the earlier streams.
    """
    root = as_seed_sequence(seed)
    children = np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key).spawn(
        len(names)
    )
    return root, {
        name: np.random.default_rng(child)
        for name, child in zip(names, children, strict=True)
    }
