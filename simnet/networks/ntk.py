"""The exact empirical neural tangent kernel of an :class:`~simnet.networks.MLP`.

Two implementations of the same Gram matrix, chosen with :class:`NTKMethod`:

* ``closed_form`` (default): layer by layer, from the layer inputs and the
  backpropagated output Jacobians; never forms a per-sample parameter gradient.
* ``gradients``: the slow reference, the Gram matrix of explicit per-sample
  parameter gradients (:func:`output_jacobian`), as autograd-based libraries do.

Which outputs are returned is chosen with :class:`NTKOutputs`.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_enum
from ..errors import ConfigError
from .mlp import (
    MLP,
    Activation,
    MLPParams,
    activation_derivative,
    backward_deltas,
    forward_pass,
)

__all__ = [
    "NTKMethod",
    "NTKOutputs",
    "empirical_ntk",
    "ntk_by_gradients",
    "output_jacobian",
]


class NTKOutputs(StrEnum):
    """Which output pairs of the kernel to return, for ``K`` outputs.

    * ``trace``: ``sum_k Theta_kk(x, x')``, shape ``(n1, n2)``;
    * ``diagonal``: ``Theta_kk(x, x')`` for every output ``k``, shape
      ``(n1, n2, K)``;
    * ``full``: ``Theta_kk'(x, x')`` for every output pair, shape
      ``(n1, n2, K, K)``.

    For a network with one output every choice gives the ``(n1, n2)`` kernel.
    """

    TRACE = "trace"
    DIAGONAL = "diagonal"
    FULL = "full"


class NTKMethod(StrEnum):
    """How the kernel is computed: ``closed_form`` (layer-wise, fast) or
    ``gradients`` (explicit per-sample gradients, the slow reference)."""

    CLOSED_FORM = "closed_form"
    GRADIENTS = "gradients"


def empirical_ntk(
    mlp: MLP,
    params: MLPParams,
    X1: ArrayLike,
    X2: ArrayLike | None = None,
    *,
    outputs: NTKOutputs | str = NTKOutputs.TRACE,
    method: NTKMethod | str = NTKMethod.CLOSED_FORM,
) -> np.ndarray:
    r"""Empirical NTK Gram matrix between ``X1`` and ``X2`` at the weights ``params``.

    Parameters
    ----------
    mlp : MLP
        The architecture.
    params : MLPParams
        The weights at which the kernel is taken.
    X1 : array_like of float, shape (n1, input_dim)
    X2 : array_like of float, shape (n2, input_dim), optional
        Default ``X1`` (the result is then exactly symmetric).
    outputs : NTKOutputs or str, default "trace"
        ``"trace"``, ``"diagonal"`` or ``"full"`` (see :class:`NTKOutputs`).
    method : NTKMethod or str, default "closed_form"

    Returns
    -------
    ndarray of float64
        ``(n1, n2)``, ``(n1, n2, K)`` or ``(n1, n2, K, K)``; always ``(n1, n2)`` for
        one output.

    Raises
    ------
    ConfigError
        If ``outputs`` or ``method`` is not an allowed value.
    DataError
        If ``params`` does not fit ``mlp`` or an input is not a finite
        ``(n, input_dim)`` array.

    See Also
    --------
    ntk_by_gradients : the slow reference.

    Notes
    -----
    The kernel of outputs :math:`k, k'` is
    :math:`\Theta_{kk'}(x, x') = \langle \nabla_w z_k(x), \nabla_w z_{k'}(x')
    \rangle`. With :math:`a_l(x)` the input of layer :math:`l` and
    :math:`B_l(x) = \partial z / \partial h_l \in \mathbb R^{K \times
    \mathrm{out}_l}` the output Jacobian with respect to its pre-activation,
    :math:`\partial z_k / \partial W_l = B_l(x)_{k,:}{}^\top a_l(x)^\top` and
    :math:`\partial z_k / \partial b_l = B_l(x)_{k,:}`, so

    .. math::

        \Theta_{kk'}(x, x') = \sum_{l=0}^{L-1} \bigl(a_l(x)^\top a_l(x') +
        [\mathrm{bias}]\bigr)\, B_l(x)_{k,:} B_l(x')_{k',:}{}^\top,

    computed for all pairs at once as Hadamard products of Gram matrices:
    :math:`(A_l A_l'^\top + 1) \odot (B_l B_l'^\top)`. The Jacobians follow the
    backward recursion :math:`B_{L-1} = I_K`, :math:`B_{l-1} = (B_l W_l) \odot
    \phi'(h_{l-1})`. The trace over outputs flattens :math:`B_l` to
    :math:`(n, K\,\mathrm{out}_l)` and needs one matrix product per layer. For one
    hidden layer and a scalar output :math:`z = v^\top \phi(W x + b) + c`:

    .. math::

        K = (X X^\top + 1) \odot \bigl(D \operatorname{diag}(v^2) D^\top\bigr)
            + H H^\top + 1,

    with :math:`D = \phi'(X W^\top + b)` and :math:`H = \phi(X W^\top + b)`
    (He & Su 2020, section 1.3 of the reference notes). The cost is
    :math:`O(n_1 n_2 \sum_l (\mathrm{in}_l + K \mathrm{out}_l))` instead of the
    :math:`O(n_1 n_2 K P)` of per-sample gradients (P parameters).

    Examples
    --------
    >>> mlp = MLP(input_dim=3, hidden=(16,), n_outputs=1, loss="mse")
    >>> params = mlp.init(seed=0)
    >>> X = np.random.default_rng(0).normal(size=(5, 3))
    >>> K = empirical_ntk(mlp, params, X)
    >>> K.shape, bool(np.all(K == K.T))
    ((5, 5), True)
    >>> bool(np.allclose(K, ntk_by_gradients(mlp, params, X), rtol=1e-12))
    True
    """
    owner = "empirical_ntk"
    outputs = check_enum(NTKOutputs, outputs, "outputs", owner)
    method = check_enum(NTKMethod, method, "method", owner)
    A, B = _checked(mlp, params, X1, X2, owner)
    if method is NTKMethod.GRADIENTS:
        return _gradient_ntk(mlp, params, A, B, outputs)
    return _closed_form_ntk(mlp, params, A, B, outputs)


def ntk_by_gradients(
    mlp: MLP,
    params: MLPParams,
    X1: ArrayLike,
    X2: ArrayLike | None = None,
    *,
    outputs: NTKOutputs | str = NTKOutputs.TRACE,
) -> np.ndarray:
    r"""The empirical NTK from explicit per-sample parameter gradients (slow reference).

    Same arguments, result and errors as :func:`empirical_ntk`.

    Notes
    -----
    .. math::

        \Theta_{kk'}(x_i, x'_j) = \sum_p J_{ikp} J'_{jk'p},\qquad
        J_{ikp} = \frac{\partial z_k(x_i)}{\partial w_p},

    with :math:`J` from :func:`output_jacobian` (one backpropagation per output,
    per-sample gradients kept apart). Memory and time grow with the number of
    parameters :math:`P`: :math:`O(n K P)` and :math:`O(n_1 n_2 K P)`.
    """
    owner = "ntk_by_gradients"
    outputs = check_enum(NTKOutputs, outputs, "outputs", owner)
    A, B = _checked(mlp, params, X1, X2, owner)
    return _gradient_ntk(mlp, params, A, B, outputs)


def output_jacobian(mlp: MLP, params: MLPParams, X: ArrayLike) -> np.ndarray:
    r"""Per-sample gradients of every output with respect to every parameter.

    Parameters
    ----------
    mlp : MLP
    params : MLPParams
    X : array_like of float, shape (n, input_dim)

    Returns
    -------
    ndarray of float64, shape (n, K, P)
        ``[i, k, :]`` is :math:`\nabla_w z_k(x_i)`, in the layout of
        :meth:`MLPParams.flatten`.

    Raises
    ------
    DataError
        If ``params`` or ``X`` do not fit ``mlp``.

    Notes
    -----
    Row ``k`` is the backward pass seeded with :math:`\partial L/\partial z = e_k`
    for every sample, keeping the per-sample outer products
    :math:`\delta_l a_l^\top` instead of summing them over the batch.
    """
    mlp.check_params(params, "output_jacobian")
    X = mlp.check_inputs(X, "output_jacobian")
    return _jacobian(params, X, mlp.activation)


# --------------------------------------------------------------------------------------
# internals
# --------------------------------------------------------------------------------------


def _checked(
    mlp: MLP,
    params: MLPParams,
    X1: ArrayLike,
    X2: ArrayLike | None,
    owner: str,
) -> tuple[np.ndarray, np.ndarray | None]:
    if not isinstance(mlp, MLP):
        raise ConfigError(
            f"The 'mlp' parameter of {owner} must be an MLP. "
            f"Got {type(mlp).__name__} instead."
        )
    mlp.check_params(params, owner)
    A = mlp.check_inputs(X1, owner, "X1")
    B = None if X2 is None else mlp.check_inputs(X2, owner, "X2")
    return A, B


def output_jacobians(
    params: MLPParams, X: np.ndarray, activation: Activation
) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Layer inputs ``a_l`` ``(n, in_l)`` and output Jacobians ``B_l = dz/dh_l``
    ``(n, K, out_l)`` of every layer; ``B_{L-1}`` (the identity) is ``None``."""
    inputs, pre = forward_pass(params, X, activation)
    L = params.n_layers
    jac: list[np.ndarray | None] = [None] * L
    if L >= 2:
        d = activation_derivative(pre[L - 2], inputs[L - 1], activation)
        jac[L - 2] = params.weights[L - 1][None, :, :] * d[:, None, :]
        for k in range(L - 2, 0, -1):
            d = activation_derivative(pre[k - 1], inputs[k], activation)
            jac[k - 1] = (jac[k] @ params.weights[k]) * d[:, None, :]
    return inputs, jac


def _gram(a1: np.ndarray, a2: np.ndarray | None) -> np.ndarray:
    """``a1 a2^T`` (``a1 a1^T`` through the symmetric BLAS path when ``a2`` is None)."""
    return a1 @ a1.T if a2 is None else a1 @ a2.T


def _pair_gram(
    b1: np.ndarray, b2: np.ndarray | None, outputs: NTKOutputs
) -> np.ndarray:
    """Output-Jacobian Gram ``B_l B_l'^T`` reduced as ``outputs`` asks."""
    n1, K, o = b1.shape
    if outputs is NTKOutputs.TRACE:
        f1 = b1.reshape(n1, K * o)
        return _gram(f1, None if b2 is None else b2.reshape(b2.shape[0], K * o))
    if outputs is NTKOutputs.DIAGONAL:
        return np.stack(
            [_gram(b1[:, k], None if b2 is None else b2[:, k]) for k in range(K)],
            axis=-1,
        )
    f1 = b1.reshape(n1 * K, o)
    other = b1 if b2 is None else b2
    n2 = other.shape[0]
    g = _gram(f1, None if b2 is None else b2.reshape(n2 * K, o))
    return g.reshape(n1, K, n2, K).transpose(0, 2, 1, 3)


def _identity_factor(K: int, outputs: NTKOutputs) -> np.ndarray | float:
    """``B_{L-1} B_{L-1}'^T`` for the identity Jacobian of the last layer."""
    if outputs is NTKOutputs.TRACE:
        return float(K)
    if outputs is NTKOutputs.DIAGONAL:
        return np.ones(K)
    return np.eye(K)


def _expand(g: np.ndarray, outputs: NTKOutputs) -> np.ndarray:
    if outputs is NTKOutputs.DIAGONAL:
        return g[:, :, None]
    if outputs is NTKOutputs.FULL:
        return g[:, :, None, None]
    return g


def _closed_form_ntk(
    mlp: MLP,
    params: MLPParams,
    X1: np.ndarray,
    X2: np.ndarray | None,
    outputs: NTKOutputs,
) -> np.ndarray:
    K = mlp.n_outputs
    if K == 1:
        outputs = NTKOutputs.TRACE
    in1, jac1 = output_jacobians(params, X1, mlp.activation)
    in2, jac2 = (
        (None, None) if X2 is None else output_jacobians(params, X2, mlp.activation)
    )
    out = None
    for k in range(params.n_layers):
        g = _gram(in1[k], None if in2 is None else in2[k])
        if params.has_bias:
            g += 1.0
        if jac1[k] is None:
            term = _expand(g, outputs) * _identity_factor(K, outputs)
        else:
            c = _pair_gram(jac1[k], None if jac2 is None else jac2[k], outputs)
            term = _expand(g, outputs) * c
        out = term if out is None else out + term
    return out


def _jacobian(params: MLPParams, X: np.ndarray, activation: Activation) -> np.ndarray:
    n = X.shape[0]
    K = params.weights[-1].shape[0]
    inputs, pre = forward_pass(params, X, activation)
    J = np.empty((n, K, params.n_parameters))
    for k in range(K):
        seed = np.zeros((n, K))
        seed[:, k] = 1.0
        deltas = backward_deltas(params, inputs, pre, seed, activation)
        pos = 0
        for layer in range(params.n_layers):
            d, a = deltas[layer], inputs[layer]
            size = d.shape[1] * a.shape[1]
            J[:, k, pos : pos + size] = (d[:, :, None] * a[:, None, :]).reshape(n, -1)
            pos += size
            if params.has_bias:
                J[:, k, pos : pos + d.shape[1]] = d
                pos += d.shape[1]
    return J


def _gradient_ntk(
    mlp: MLP,
    params: MLPParams,
    X1: np.ndarray,
    X2: np.ndarray | None,
    outputs: NTKOutputs,
) -> np.ndarray:
    J1 = _jacobian(params, X1, mlp.activation)
    J2 = None if X2 is None else _jacobian(params, X2, mlp.activation)
    if mlp.n_outputs == 1:
        return _gram(J1[:, 0], None if J2 is None else J2[:, 0])
    return _pair_gram(J1, J2, outputs)
