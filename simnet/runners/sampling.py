"""Minibatch index streams: i.i.d. uniform, or epoch-wise random permutations."""

from __future__ import annotations

import numpy as np

from ..models._common import Sampling


class BatchSampler:
    """Produce ``(n_steps, batch_size)`` arrays of sample indices.

    The stream does not depend on how it is chunked: drawing 10 steps then 20 gives
    the same indices as drawing 30 at once.

    * uniform: every index i.i.d. uniform on ``0..n-1`` (with replacement);
    * epoch: consecutive slices of a concatenation of random permutations of
      ``0..n-1`` (a batch may straddle two epochs).
    """

    def __init__(
        self, n: int, batch_size: int, mode: Sampling, rng: np.random.Generator
    ):
        self.n = n
        self.batch_size = batch_size
        self.mode = Sampling(mode)
        self.rng = rng
        self._perm = np.empty(0, dtype=np.int64)
        self._pos = 0

    def draw(self, n_steps: int) -> np.ndarray:
        total = n_steps * self.batch_size
        if self.mode is Sampling.UNIFORM:
            flat = self.rng.integers(0, self.n, size=total, dtype=np.int64)
        else:
            flat = np.empty(total, dtype=np.int64)
            filled = 0
            while filled < total:
                if self._pos == self._perm.shape[0]:
                    self._perm = self.rng.permutation(self.n).astype(np.int64)
                    self._pos = 0
                take = min(total - filled, self._perm.shape[0] - self._pos)
                flat[filled : filled + take] = self._perm[self._pos : self._pos + take]
                filled += take
                self._pos += take
        return flat.reshape(n_steps, self.batch_size)
