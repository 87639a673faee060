"""Numba kernels: arrays and scalars in, arrays out.

No validation, pandas or networkx here; the public wrappers in :mod:`simnet.runners`
prepare the inputs. Every kernel has a plain numpy twin in ``tests/reference.py``.
"""
