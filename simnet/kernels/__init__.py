"""Numba kernels: arrays and scalars in, arrays out.

No validation, pandas or networkx here; the public wrappers in :mod:`simnet.runners`
prepare the inputs. Every kernel has a plain numpy twin in ``tests/reference.py``
(the gradient pass of the Euler-Maruyama kernel, ``sde_gradient.py``, also has one
in ``tests/test_sde_gradient.py``).

Inner loops pass raw byte addresses, not arrays, to the helpers they call
(``ce_grad_at``, ``residual_rows``, the ``*_at`` loops of ``vector.py``): a call
that passes arrays costs an atomic reference-count increment and decrement per
array, which a step of the small SGD kernels cannot afford.

Kernels are compiled with ``cache=True``. Numba keys each cache entry on the source
file of the function it compiled, not on the files of the helpers it inlined
(``common.py``, ``vector.py``, ``prefetch.py``, ``normal.py``, ``sde_gradient.py``):
after editing a helper in a working copy, delete ``simnet/kernels/__pycache__`` so
that every kernel is recompiled. A fresh install always starts from an empty cache.
"""
