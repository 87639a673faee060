"""Numba kernels: arrays and scalars in, arrays out.

No validation, pandas or networkx here; the public wrappers in :mod:`simnet.runners`
prepare the inputs. Every kernel has a plain numpy twin in ``tests/reference.py``.

Kernels are compiled with ``cache=True``. Numba keys each cache entry on the source
file of the function it compiled, not on the files of the helpers it inlined
(``common.py``, ``vector.py``, ``prefetch.py``, ``normal.py``): after editing a helper
in a working copy, delete ``simnet/kernels/__pycache__`` so that every kernel is
recompiled. A fresh install always starts from an empty cache.
"""
