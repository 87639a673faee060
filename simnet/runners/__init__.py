"""Runners: glue between a validated model and its numba kernels.

A runner owns the mutable state of one simulation, turns the model and hierarchy into
index arrays once, advances the state by a number of steps through a kernel, and
exposes what the observables need (particles, logits, impact matrix, probe steps).
"""

from .base import Runner, make_runner

__all__ = ["Runner", "make_runner"]
