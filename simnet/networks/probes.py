r"""He & Su's similarity probes: one SGD step on one example, the change everywhere.

For each probe sample :math:`x_i` (always from the same weights :math:`w`), take one
plain SGD step of size :math:`\eta` on :math:`(x_i, y_i)` alone,
:math:`w^+ = w - \eta \nabla_w L(f(x_i, w), y_i)`, and measure the change
:math:`\Delta f(x_j) = f(x_j, w^+) - f(x_j, w)` at every target :math:`x_j`
(He & Su 2020; section 1.3 of the reference notes):

.. math::

    S_\mathrm{rel}(x_i, x_j) = \frac{\lvert \Delta f(x_j) \rvert}
        {\lvert \Delta f(x_i) \rvert},
    \qquad
    S_\mathrm{ker}(x_i, x_j) = \frac{\Delta f(x_j)}
        {-\eta\, \partial L / \partial f (x_i)}.

What :math:`f` is depends on the head:

* ``mse`` with one output: the raw output, :math:`\partial L/\partial f = 2(f - y)`;
* ``bce``: the sigmoid *probability* :math:`p`, as in He & Su's code,
  :math:`\partial L/\partial p = (p - y) / (p (1 - p))`;
* ``ce`` (and ``mse`` with K outputs): the logit vector :math:`z`, with the
  logit-space generalisation, :math:`r_i = \partial L / \partial z (x_i)`:

  .. math::

      S_\mathrm{rel}(x_i, x_j) = \frac{\lVert \Delta z_j \rVert}
          {\lVert \Delta z_i \rVert},
      \qquad
      S_\mathrm{ker}(x_i, x_j) = -\frac{\langle \Delta z_j, r_i \rangle}
          {\eta \lVert r_i \rVert^2},

  which reduces to the scalar definitions for one output. The particle simulator
  (``simnet.recorder``) records the same two ratios with its own rates in place of
  :math:`\eta` (its probe step has "unit" size, the rates being absorbed in the
  model), so its ``s_ker`` is the model's tangent kernel *times* its rates, whereas
  here ``s_ker`` is the network's kernel per unit learning rate; multiply by the
  training learning rate to compare with the impact matrix of
  :func:`~simnet.networks.train_mlp`.

As :math:`\eta \to 0`, :math:`\Delta z_j = -\eta\,\Theta(x_j, x_i)\, r_i +
O(\eta^2)` with :math:`\Theta` the empirical NTK (:func:`~simnet.networks.
empirical_ntk`), so :math:`S_\mathrm{ker} \to r_i^\top \Theta(x_i, x_j) r_i /
\lVert r_i\rVert^2` (for a scalar output, :math:`K(x_i, x_j)`; for ``bce``,
:math:`\sigma'(z_i)\sigma'(z_j) K(x_i, x_j)`) and :math:`S_\mathrm{rel} \to \lVert
\Theta(x_j, x_i) r_i\rVert / \lVert \Theta(x_i, x_i) r_i \rVert` (for a scalar
output, :math:`\lvert K(x_i, x_j)\rvert / K(x_i, x_i)`). :func:`kernel_similarities`
returns these limits directly; :func:`probe_similarities` takes the finite step.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from .._validation import check_float, check_int
from ..errors import ConfigError
from .mlp import (
    MLP,
    Activation,
    MLPParams,
    OutputLoss,
    activation_difference,
    backward_deltas,
    difference_table,
    forward_pass,
    output_loss,
)
from .ntk import output_jacobians

__all__ = [
    "HE_SU_ETA_GROWTH",
    "HE_SU_ETA_MAX",
    "HE_SU_ETA_START",
    "ProbeSimilarities",
    "kernel_similarities",
    "probe_similarities",
]

#: He & Su's adaptive probe step: start, growth factor and bound.
HE_SU_ETA_START = 1e-6
HE_SU_ETA_GROWTH = 3.0
HE_SU_ETA_MAX = 1e4

# Elements of one (probes x targets x width) block; bounds the memory of a chunk.
_BLOCK_ELEMENTS = 1 << 21


class ProbeSimilarities(NamedTuple):
    """Similarities of every probe (rows) to every target (columns).

    Attributes
    ----------
    s_rel : ndarray, shape (n_probes, n_targets)
        Relative similarity; NaN for a probe whose step changes nothing at itself.
    s_ker : ndarray, shape (n_probes, n_targets)
        Kernelized similarity; NaN for a probe with zero loss gradient.
    eta : ndarray, shape (n_probes,)
        Step size used for each probe (0 for the :func:`kernel_similarities`
        limits).
    """

    s_rel: np.ndarray
    s_ker: np.ndarray
    eta: np.ndarray


def probe_similarities(
    mlp: MLP,
    params: MLPParams,
    X_probe: ArrayLike,
    y_probe: ArrayLike,
    X_target: ArrayLike | None = None,
    *,
    eta: float | None = None,
    chunk_size: int | None = None,
) -> ProbeSimilarities:
    r"""S_rel and S_ker by the probe definition: one exact SGD step per probe.

    Parameters
    ----------
    mlp : MLP
    params : MLPParams
        The weights every probe starts from; not modified.
    X_probe : array_like of float, shape (n_probes, input_dim)
        The samples stepped on.
    y_probe : array_like of int, shape (n_probes,)
        Their labels.
    X_target : array_like of float, shape (n_targets, input_dim), optional
        Where the change is measured (default: the probes themselves, so the
        diagonal of ``s_rel`` is 1).
    eta : float, optional
        Probe step size. Default: He & Su's rule, per probe: the smallest
        :math:`10^{-6} \cdot 3^k` (stopping once it reaches :math:`10^4`) whose step
        changes :math:`f(x_i)`, i.e. ``1e-6`` unless the change is exactly zero.
    chunk_size : int, optional
        Probes processed together (default: as many as keep a
        ``chunk x n_targets x width`` block near 16 MB).

    Returns
    -------
    ProbeSimilarities
        ``s_rel``, ``s_ker`` of shape ``(n_probes, n_targets)`` and the steps.

    Raises
    ------
    ConfigError
        If ``eta`` or ``chunk_size`` is out of range.
    DataError
        If ``params``, the inputs or the labels do not fit ``mlp``.

    See Also
    --------
    kernel_similarities : the :math:`\eta \to 0` limits, from the NTK.

    Notes
    -----
    The definitions and the ``ce`` generalisation are in the module docstring. The
    step on :math:`x_i` changes layer :math:`l` by the rank-one
    :math:`\Delta W_l = -\eta\, \delta_l(x_i) a_l(x_i)^\top`,
    :math:`\Delta b_l = -\eta\, \delta_l(x_i)`, so the new pre-activations at all
    targets follow exactly from differences:

    .. math::

        \Delta h_l(x) = W_l\, \Delta a_l(x) - \eta \bigl(a_l^+(x)^\top a_l(x_i) +
            [\mathrm{bias}]\bigr)\, \delta_l(x_i),
        \qquad \Delta a_{l+1} = \phi(h_l + \Delta h_l) - \phi(h_l),

    with :math:`a_l^+ = a_l + \Delta a_l`, :math:`\Delta a_0 = 0` and the
    activation differences taken without cancellation (see
    ``mlp.activation_difference``); for ``bce``,
    :math:`\Delta p = \sigma(z + \Delta z)(1 - \sigma(z))(1 - e^{-\Delta z})`. This is
    the exact change (up to rounding), not a linearisation, at the cost of one
    forward pass over the targets per probe, vectorised over a chunk of probes;
    computing differences directly keeps their relative precision even for
    :math:`\eta = 10^{-6}` in float64.

    Examples
    --------
    >>> mlp = MLP(input_dim=2, hidden=(32,), n_outputs=1, loss="mse")
    >>> params = mlp.init(seed=0)
    >>> X = np.random.default_rng(1).normal(size=(4, 2))
    >>> sim = probe_similarities(mlp, params, X, [0, 1, 0, 1])
    >>> np.round(np.diag(sim.s_rel), 12).tolist(), sim.eta.tolist()[:1]
    ([1.0, 1.0, 1.0, 1.0], [1e-06])
    """
    owner = "probe_similarities"
    Xp, yp, Xt = _checked(mlp, params, X_probe, y_probe, X_target, owner)
    if eta is not None:
        eta = check_float(eta, "eta", owner, low=0.0, closed="neither")
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", owner, low=1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _probe(mlp, params, Xp, yp, Xt, eta, chunk_size)


def kernel_similarities(
    mlp: MLP,
    params: MLPParams,
    X_probe: ArrayLike,
    y_probe: ArrayLike,
    X_target: ArrayLike | None = None,
) -> ProbeSimilarities:
    r"""The :math:`\eta \to 0` limits of S_rel and S_ker, from the exact NTK.

    Same arguments, shapes and errors as :func:`probe_similarities` (without the
    step); ``eta`` in the result is zero.

    Notes
    -----
    With :math:`v_{ij} = \Theta(x_j, x_i)\, r_i` (computed layer-wise as
    :math:`\sum_l (a_l(x_j)^\top a_l(x_i) + [\mathrm{bias}])\, B_l(x_j)
    \delta_l(x_i)`, see :func:`~simnet.networks.empirical_ntk`) and
    :math:`c = \sigma'(z)` for ``bce`` (:math:`c = 1` otherwise):

    .. math::

        S_\mathrm{ker}(x_i, x_j) = c_i c_j \frac{\langle v_{ij}, r_i\rangle}
            {\lVert r_i \rVert^2},
        \qquad
        S_\mathrm{rel}(x_i, x_j) = \frac{c_j \lVert v_{ij} \rVert}
            {c_i \lVert v_{ii} \rVert}.

    For a scalar ``mse`` output these are :math:`K(x_i, x_j)` and
    :math:`\lvert K(x_i, x_j) \rvert / K(x_i, x_i)`; this is what He & Su's
    reference notes recommend computing directly (section 4, item 3).

    Examples
    --------
    >>> mlp = MLP(input_dim=2, hidden=(32,), n_outputs=1, loss="mse")
    >>> params = mlp.init(seed=0)
    >>> X = np.random.default_rng(1).normal(size=(4, 2))
    >>> from simnet.networks import empirical_ntk
    >>> lim = kernel_similarities(mlp, params, X, [0, 1, 0, 1])
    >>> bool(np.allclose(lim.s_ker, empirical_ntk(mlp, params, X), rtol=1e-12))
    True
    """
    owner = "kernel_similarities"
    Xp, yp, Xt = _checked(mlp, params, X_probe, y_probe, X_target, owner)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _limits(mlp, params, Xp, yp, Xt)


# --------------------------------------------------------------------------------------
# internals
# --------------------------------------------------------------------------------------


def _checked(
    mlp: MLP,
    params: MLPParams,
    X_probe: ArrayLike,
    y_probe: ArrayLike,
    X_target: ArrayLike | None,
    owner: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if not isinstance(mlp, MLP):
        raise ConfigError(
            f"The 'mlp' parameter of {owner} must be an MLP. "
            f"Got {type(mlp).__name__} instead."
        )
    mlp.check_params(params, owner)
    Xp = mlp.check_inputs(X_probe, owner, "X_probe")
    yp = mlp.check_labels(y_probe, Xp.shape[0], owner, "y_probe")
    Xt = None if X_target is None else mlp.check_inputs(X_target, owner, "X_target")
    return Xp, yp, Xt


class _Probes:
    """Forward and backward quantities of the probe samples."""

    def __init__(self, params: MLPParams, X: np.ndarray, y: np.ndarray, mlp: MLP):
        self.inputs, self.pre = forward_pass(params, X, mlp.activation)
        self.z = self.pre[-1]
        _, self.r = output_loss(self.z, y, mlp.loss)  # per-sample dL/dz
        self.deltas = backward_deltas(
            params, self.inputs, self.pre, self.r, mlp.activation
        )
        # f-space factor c = df/dz (bce: sigma'(z)); 1 otherwise.
        self.c = _f_factor(self.z, mlp.loss)

    def own_inner(self, has_bias: bool) -> list[np.ndarray]:
        """``a_l(x_i)^T a_l(x_i) (+1)`` for each layer, shape ``(n_p, 1)``."""
        return [
            np.einsum("pi,pi->p", a, a)[:, None] + (1.0 if has_bias else 0.0)
            for a in self.inputs
        ]


def _f_factor(z: np.ndarray, loss: OutputLoss) -> np.ndarray:
    if loss is OutputLoss.BCE:
        return expit(z[:, 0]) * expit(-z[:, 0])
    return np.ones(z.shape[0])


def _changes(
    params: MLPParams,
    activation: Activation,
    t_pre: list[np.ndarray],
    base: list[np.ndarray],
    p_inputs: list[np.ndarray],
    steps: list[np.ndarray],
    tables: list[tuple[np.ndarray, ...]] | None = None,
) -> np.ndarray:
    """Exact output changes ``Delta z`` of shape ``(P, n_t, K)``.

    ``t_pre[l]`` are target pre-activations of shape ``(T, n_t, out_l)`` with ``T``
    1 (shared targets) or ``P`` (each probe's own input); ``base[l]`` (shape
    ``(P, n_t)``) holds ``a_l(x_t)^T a_l(x_p) (+1)``; ``p_inputs[l]`` (``(P,
    in_l)``) the probes' layer inputs; ``steps[l] = -eta_p delta_l(x_p)``;
    ``tables[l]`` optionally the :func:`difference_table` of ``t_pre[l]``.
    """
    dh = base[0][:, :, None] * steps[0][:, None, :]
    for k in range(1, params.n_layers):
        table = None if tables is None else tables[k - 1]
        da = activation_difference(t_pre[k - 1], dh, activation, table, overwrite=True)
        P, _, width = da.shape
        w = params.weights[k]
        # One pass over da: [W_k^T | a_k(x_p)] per probe.
        rhs = np.empty((P, width, w.shape[0] + 1))
        rhs[:, :, :-1] = w.T
        rhs[:, :, -1] = p_inputs[k]
        prod = np.matmul(da, rhs)
        dh = prod[:, :, :-1]
        dh += (base[k] + prod[:, :, -1])[:, :, None] * steps[k][:, None, :]
    return dh


def _f_change(z: np.ndarray, dz: np.ndarray, loss: OutputLoss) -> np.ndarray:
    """Change of f: ``dz`` itself, or of the probability for ``bce``."""
    if loss is OutputLoss.BCE:
        return expit(z + dz) * expit(-z) * (-np.expm1(-dz))
    return dz


def _chunk(n_probes: int, n_targets: int, widths: list[int], given: int | None) -> int:
    if given is not None:
        return given
    return max(1, min(n_probes, _BLOCK_ELEMENTS // max(1, n_targets * max(widths))))


def _own_changes(
    mlp: MLP, params: MLPParams, probes: _Probes, idx: np.ndarray, eta: np.ndarray
) -> np.ndarray:
    """``Delta f(x_i)`` after the step on ``x_i`` itself, shape ``(len(idx), Kf)``."""
    own = probes.own_inner(params.has_bias)
    dz = _changes(
        params,
        mlp.activation,
        [h[idx][:, None, :] for h in probes.pre[:-1]],
        [o[idx] for o in own],
        [a[idx] for a in probes.inputs],
        [-eta[:, None] * d[idx] for d in probes.deltas],
    )[:, 0, :]
    return _f_change(probes.z[idx], dz, mlp.loss)


def _probe(
    mlp: MLP,
    params: MLPParams,
    Xp: np.ndarray,
    yp: np.ndarray,
    Xt: np.ndarray | None,
    eta: float | None,
    chunk_size: int | None,
) -> ProbeSimilarities:
    probes = _Probes(params, Xp, yp, mlp)
    n_p = Xp.shape[0]
    if Xt is None:
        t_inputs, t_pre = probes.inputs, probes.pre
    else:
        t_inputs, t_pre = forward_pass(params, Xt, mlp.activation)
    n_t = t_inputs[0].shape[0]
    bias = 1.0 if params.has_bias else 0.0
    all_probes = np.arange(n_p)

    # Step sizes: fixed, or He & Su's rule on the change at the probe itself.
    etas = np.full(n_p, HE_SU_ETA_START if eta is None else eta)
    own = _own_changes(mlp, params, probes, all_probes, etas)
    own_norm = np.linalg.norm(own, axis=1)
    if eta is None:
        todo = (own_norm == 0.0) & (etas < HE_SU_ETA_MAX)
        while todo.any():
            idx = np.flatnonzero(todo)
            etas[idx] *= HE_SU_ETA_GROWTH
            own[idx] = _own_changes(mlp, params, probes, idx, etas[idx])
            own_norm[idx] = np.linalg.norm(own[idx], axis=1)
            todo = (own_norm == 0.0) & (etas < HE_SU_ETA_MAX)

    # Inner products of layer inputs, targets x probes, for every layer.
    gram = [
        a_t @ a_p.T + bias for a_t, a_p in zip(t_inputs, probes.inputs, strict=True)
    ]
    z_t = t_pre[-1]
    s_rel = np.empty((n_p, n_t))
    s_ker = np.empty((n_p, n_t))
    rr = np.einsum("pk,pk->p", probes.r, probes.r)
    widths = [h.shape[1] for h in t_pre]
    size = _chunk(n_p, n_t, widths, chunk_size)
    shared_pre = [h[None] for h in t_pre[:-1]]
    tables = [difference_table(h, mlp.activation) for h in shared_pre]
    for start in range(0, n_p, size):
        idx = all_probes[start : start + size]
        dz = _changes(
            params,
            mlp.activation,
            shared_pre,
            [g[:, idx].T for g in gram],
            [a[idx] for a in probes.inputs],
            [-etas[idx, None] * d[idx] for d in probes.deltas],
            tables,
        )
        df = _f_change(z_t[None], dz, mlp.loss)
        s_rel[idx] = np.linalg.norm(df, axis=2) / own_norm[idx, None]
        proj = np.einsum("ptk,pk->pt", df, probes.r[idx])
        s_ker[idx] = -proj * (probes.c[idx] / (etas[idx] * rr[idx]))[:, None]
    s_rel[own_norm == 0.0] = np.nan
    s_ker[rr == 0.0] = np.nan
    return ProbeSimilarities(s_rel, s_ker, etas)


def _limits(
    mlp: MLP,
    params: MLPParams,
    Xp: np.ndarray,
    yp: np.ndarray,
    Xt: np.ndarray | None,
) -> ProbeSimilarities:
    probes = _Probes(params, Xp, yp, mlp)
    bias = 1.0 if params.has_bias else 0.0
    p_inputs, p_jac = output_jacobians(params, Xp, mlp.activation)
    if Xt is None:
        t_inputs, t_jac, z_t = p_inputs, p_jac, probes.z
    else:
        t_inputs, t_jac = output_jacobians(params, Xt, mlp.activation)
        z_t = forward_pass(params, Xt, mlp.activation)[1][-1]
    # v[i, j] = Theta(x_j, x_i) r_i and v_own[i] = Theta(x_i, x_i) r_i.
    v = 0.0
    v_own = 0.0
    for k in range(params.n_layers):
        g = p_inputs[k] @ t_inputs[k].T + bias  # (n_p, n_t)
        g_own = np.einsum("pi,pi->p", p_inputs[k], p_inputs[k]) + bias
        d = probes.deltas[k]
        if t_jac[k] is None:  # last layer: identity Jacobian
            v = v + g[:, :, None] * d[:, None, :]
            v_own = v_own + g_own[:, None] * d
        else:
            v = v + g[:, :, None] * np.einsum("tko,po->ptk", t_jac[k], d)
            v_own = v_own + g_own[:, None] * np.einsum("pko,po->pk", p_jac[k], d)
    c_t = _f_factor(z_t, mlp.loss)
    c_p = probes.c
    rr = np.einsum("pk,pk->p", probes.r, probes.r)
    s_ker = (c_p / rr)[:, None] * c_t[None, :] * np.einsum("ptk,pk->pt", v, probes.r)
    own_norm = c_p * np.linalg.norm(v_own, axis=1)
    s_rel = c_t[None, :] * np.linalg.norm(v, axis=2) / own_norm[:, None]
    s_rel[own_norm == 0.0] = np.nan
    s_ker[rr == 0.0] = np.nan
    return ProbeSimilarities(s_rel, s_ker, np.zeros(Xp.shape[0]))
