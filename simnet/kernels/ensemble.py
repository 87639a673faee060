"""Numba kernels of replica ensembles: many independent replicas in one parallel call.

Each kernel runs a ``prange`` over the replicas (the leading axis of every stacked
state array) and advances replica ``r`` by calling the *single-run* kernel itself
(:func:`~simnet.kernels.lesde.lesde_sgd_steps`,
:func:`~simnet.kernels.lesde.lesde_ode_steps` or
:func:`~simnet.kernels.hfs.hfs_sgd_steps`) on the views ``array[r]``. Those kernels
are serial ``@njit`` functions, so they serve unchanged as the per-replica inner
loop: the arithmetic of a replica is, by construction, the arithmetic of a single
run, and replicas never share a reduction, so results do not depend on the number of
threads.

Random streams: ``rngs`` is a :class:`numba.typed.List` of ``numpy.random.Generator``
objects, one per replica (or a single one when the noise scale is zero and no draw is
ever made). A Generator unboxed by numba shares its bit-generator state with the
Python object, so the draws a replica makes here are the draws a single run makes
from the same Generator, and the Python object continues the stream afterwards.

Every kernel writes the first failing row of replica ``r`` (or -1) to ``bad[r]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .hfs import hfs_sgd_steps
from .lesde import lesde_ode_steps, lesde_sgd_steps


@njit(cache=True, parallel=True)
def ensemble_lesde_sgd_steps(
    base,
    offsets,
    group_offsets,
    labels,
    groups,
    coef,
    head,
    batches,
    sigma,
    last_touch,
    rngs,
    step0,
    bad,
):
    """SGD imitation of the LE-SDE for R replicas in parallel, in place.

    ``base`` (R, n, p), ``offsets`` (R, K, p), ``group_offsets`` (R, M, p), ``head``
    (R, K or 0, p), ``batches`` (R, T, B), ``last_touch`` (R, n) and ``bad`` (R,) are
    stacked per replica;
    ``labels``, ``groups`` (:class:`~simnet.models.impact_groups.ImpactGroups`) and
    ``coef`` are shared. Replica r runs
    ``lesde_sgd_steps`` on its own slices and Generator ``rngs[r % len(rngs)]``.
    """
    n_rep = base.shape[0]
    n_rngs = len(rngs)
    for r in prange(n_rep):
        bad[r] = lesde_sgd_steps(
            base[r],
            offsets[r],
            group_offsets[r],
            labels,
            groups,
            coef,
            head[r],
            batches[r],
            sigma,
            last_touch[r],
            rngs[np.int64(r) % n_rngs],
            step0,
        )


@njit(cache=True, parallel=True)
def ensemble_lesde_ode_steps(m, basis, coef, head, dt, surrogate, method, bad):
    """Class-mean LE-ODE for R replicas in parallel, in place.

    ``m`` (R, K, p), ``head`` (R, K or 0, p) and ``bad`` (R,) are stacked per
    replica; ``basis`` and ``coef`` (T, 3, R_terms) are shared. Replica r runs
    ``lesde_ode_steps`` on ``m[r]``.
    """
    for r in prange(m.shape[0]):
        bad[r] = lesde_ode_steps(m[r], basis, coef, head[r], dt, surrogate, method)


@njit(cache=True, parallel=True)
def ensemble_hfs_sgd_steps(
    lam,
    phi,
    u,
    labels,
    anc_ptr,
    anc_idx,
    eta_phi,
    eta_lam,
    decay,
    eta_u,
    gamma,
    sigma,
    head,
    batches,
    rate_scale,
    n_classes,
    rngs,
    step0,
    acc,
    node_stamp,
    sample_stamp,
    bad,
):
    """HFS minibatch SGD for R replicas in parallel, in place.

    ``lam`` (R, V), ``phi`` (R, V, p), ``u`` (R, n, p), ``head`` (R, K or 0, p),
    ``batches`` (R, T, B), the scratch arrays ``acc`` (R, V, p), ``node_stamp``
    (R, V), ``sample_stamp`` (R, n) and ``bad`` (R,) are stacked per replica; the
    hierarchy index arrays and the rates are shared. Replica r runs
    ``hfs_sgd_steps`` on its own slices and Generator ``rngs[r % len(rngs)]``.
    """
    n_rep = lam.shape[0]
    n_rngs = len(rngs)
    for r in prange(n_rep):
        bad[r] = hfs_sgd_steps(
            lam[r],
            phi[r],
            u[r],
            labels,
            anc_ptr,
            anc_idx,
            eta_phi,
            eta_lam,
            decay,
            eta_u,
            gamma,
            sigma,
            head[r],
            batches[r],
            rate_scale,
            n_classes,
            rngs[np.int64(r) % n_rngs],
            step0,
            acc[r],
            node_stamp[r],
            sample_stamp[r],
        )
