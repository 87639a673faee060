"""Multilayer perceptrons in numpy: definition, initialisation, backprop and SGD.

An :class:`MLP` is a frozen description of an architecture (it validates itself);
its weights live in a separate :class:`MLPParams`, so one architecture serves many
parameter sets (probes reset to the same weights, training copies, ...). Everything
is float64. Gradients are written out by hand (no autograd) and checked against
central finite differences in the tests.

Conventions
-----------
* Layer ``l`` (``l = 0..L-1``) maps its input ``a_l`` (``a_0 = x``) to the
  pre-activation ``h_l = W_l a_l + b_l`` with ``W_l`` of shape ``(out, in)`` as in
  PyTorch's ``nn.Linear``; ``a_{l+1} = phi(h_l)`` for hidden layers; the network
  output is ``z = h_{L-1}`` (no activation on the last layer).
* The *penultimate features* are ``a_{L-1}``, the input of the last layer (the data
  itself for a network without hidden layers).
* Outputs: logits for ``ce`` (K >= 2 outputs); the raw outputs for ``mse``; the
  logit of the positive class for ``bce`` (one output; the probability is
  ``sigmoid(z)``).
* Losses, per sample, averaged over a batch:

  - ``ce``: ``log sum_k exp(z_k) - z_y`` (softmax cross-entropy);
  - ``bce``: ``-y log p - (1 - y) log(1 - p)`` with ``p = sigmoid(z)``, labels 0/1;
  - ``mse``: ``sum_k (z_k - t_k)^2`` with ``t = y`` (labels 0/1) for one output
    and ``t = e_y`` (one-hot) for K >= 2 outputs. With one output this is
    PyTorch's ``MSELoss`` on a scalar, as in He & Su (2020), so ``dL/dz = 2(z - y)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from .._validation import check_enum, check_float, check_int
from ..errors import ConfigError, DataError
from ..seeding import SeedLike, as_seed_sequence

__all__ = ["MLP", "Activation", "MLPParams", "OutputLoss", "SGDStep"]


class Activation(StrEnum):
    """Hidden-layer activation: ``relu`` (``max(h, 0)``, derivative 0 at 0 as in
    PyTorch), ``tanh``, or ``linear`` (identity: a deep linear network)."""

    RELU = "relu"
    TANH = "tanh"
    LINEAR = "linear"


class OutputLoss(StrEnum):
    """Output head and loss.

    * ``mse``: raw outputs, squared error summed over outputs (one output: labels
      0/1 as targets; K >= 2 outputs: one-hot targets);
    * ``bce``: one output, the logit of ``p = sigmoid(z)``, binary cross-entropy
      against labels 0/1;
    * ``ce``: K >= 2 logits, softmax cross-entropy against labels in ``[0, K)``.
    """

    MSE = "mse"
    BCE = "bce"
    CE = "ce"


# --------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------


@dataclass
class MLPParams:
    """Weights and biases of an :class:`MLP`.

    Parameters
    ----------
    weights : list of ndarray
        ``weights[l]`` has shape ``(out_l, in_l)`` (PyTorch layout).
    biases : list of ndarray
        ``biases[l]`` has shape ``(out_l,)``; an empty list for a network without
        biases.

    Examples
    --------
    >>> mlp = MLP(input_dim=3, hidden=(4,), n_outputs=2)
    >>> params = mlp.init(seed=0)
    >>> [w.shape for w in params.weights], params.n_parameters
    ([(4, 3), (2, 4)], 26)
    >>> bool(np.array_equal(params.unflatten(params.flatten()).flatten(),
    ...                     params.flatten()))
    True
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    @property
    def n_layers(self) -> int:
        """Number of linear layers ``L``."""
        return len(self.weights)

    @property
    def has_bias(self) -> bool:
        return len(self.biases) > 0

    @property
    def n_parameters(self) -> int:
        """Total number of scalar parameters."""
        return int(sum(w.size for w in self.weights) + sum(b.size for b in self.biases))

    def copy(self) -> MLPParams:
        """A deep copy (new arrays)."""
        return MLPParams(
            [w.copy() for w in self.weights], [b.copy() for b in self.biases]
        )

    def arrays(self) -> list[np.ndarray]:
        """The parameter arrays in PyTorch's ``parameters()`` order: ``W_0, b_0, W_1,
        b_1, ...`` (no ``b_l`` without biases). The arrays themselves, not copies."""
        out = []
        for layer, w in enumerate(self.weights):
            out.append(w)
            if self.has_bias:
                out.append(self.biases[layer])
        return out

    def flatten(self) -> np.ndarray:
        """All parameters as one float64 vector, in the order of :meth:`arrays`
        (each weight matrix row-major)."""
        return np.concatenate([a.ravel() for a in self.arrays()])

    def unflatten(self, vector: ArrayLike) -> MLPParams:
        """New parameters with the shapes of these ones, read from ``vector`` (the
        layout of :meth:`flatten`).

        Raises
        ------
        DataError
            If ``vector`` does not have ``n_parameters`` entries.
        """
        v = np.asarray(vector, dtype=np.float64)
        if v.shape != (self.n_parameters,):
            raise DataError(
                "The 'vector' parameter of MLPParams.unflatten must have shape "
                f"({self.n_parameters},). Got shape {v.shape} instead."
            )
        pieces = []
        pos = 0
        for a in self.arrays():
            pieces.append(v[pos : pos + a.size].reshape(a.shape).copy())
            pos += a.size
        step = 2 if self.has_bias else 1
        return MLPParams(pieces[::step], pieces[1::step] if self.has_bias else [])

    def to_state(self) -> dict[str, np.ndarray]:
        """``{"weight_0": W_0, "bias_0": b_0, ...}`` (copies), e.g. for a RunResult."""
        out = {f"weight_{k}": w.copy() for k, w in enumerate(self.weights)}
        out.update({f"bias_{k}": b.copy() for k, b in enumerate(self.biases)})
        return out

    def all_finite(self) -> bool:
        return all(bool(np.isfinite(a).all()) for a in self.arrays())


class SGDStep(NamedTuple):
    """Result of :meth:`MLP.sgd_step`: new parameters, new momentum buffer and the
    mean loss of the batch *before* the step."""

    params: MLPParams
    velocity: MLPParams
    loss: float


# --------------------------------------------------------------------------------------
# the architecture
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MLP:
    r"""A fully connected network: ``input_dim -> hidden[0] -> ... -> n_outputs``.

    Parameters
    ----------
    input_dim : int
        Dimension ``d >= 1`` of the inputs.
    hidden : tuple of int
        Widths of the hidden layers (``()`` gives a linear/logistic model).
    n_outputs : int
        Number of outputs: ``K >= 2`` for ``ce``, 1 for ``bce``, any ``>= 1`` for
        ``mse``.
    activation : Activation or str, default "relu"
        Hidden-layer activation.
    loss : OutputLoss or str, default "ce"
        Output head and loss (see :class:`OutputLoss`).
    bias : bool, default True
        Whether every layer has a bias.

    Raises
    ------
    ConfigError
        If a field has the wrong type or value, or ``n_outputs`` does not fit the
        loss.

    Notes
    -----
    Forward pass, for ``l = 0, ..., L-1`` with ``a_0 = x``:

    .. math::

        h_l = W_l a_l + b_l, \qquad a_{l+1} = \phi(h_l), \qquad z = h_{L-1}.

    Backward pass for a per-sample output gradient :math:`r = \partial L /
    \partial z`: :math:`\delta_{L-1} = r`, :math:`\delta_{l-1} = (W_l^\top
    \delta_l) \odot \phi'(h_{l-1})`, and :math:`\partial L/\partial W_l =
    \delta_l a_l^\top`, :math:`\partial L/\partial b_l = \delta_l` (summed, then
    averaged, over the batch). The output gradients are
    :math:`r = \operatorname{softmax}(z) - e_y` (``ce``),
    :math:`r = \sigma(z) - y` (``bce``) and :math:`r = 2(z - t)` (``mse``).

    Examples
    --------
    >>> mlp = MLP(input_dim=2, hidden=(8, 8), n_outputs=3, activation="tanh")
    >>> params = mlp.init(seed=0)
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> mlp.forward(params, X).shape
    (2, 3)
    >>> loss, grads = mlp.loss_and_grad(params, X, [0, 2])
    >>> [g.shape for g in grads.weights]
    [(8, 2), (8, 8), (3, 8)]
    """

    input_dim: int
    hidden: tuple[int, ...]
    n_outputs: int
    activation: Activation = Activation.RELU
    loss: OutputLoss = OutputLoss.CE
    bias: bool = True

    def __post_init__(self) -> None:
        owner = "MLP"
        check_int(self.input_dim, "input_dim", owner, low=1)
        hidden = self.hidden
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not isinstance(hidden, (tuple, list)):
            raise ConfigError(
                "The 'hidden' parameter of MLP must be a tuple of ints in [1, inf). "
                f"Got {self.hidden!r} instead."
            )
        hidden = tuple(check_int(h, "hidden", owner, low=1) for h in hidden)
        object.__setattr__(self, "input_dim", int(self.input_dim))
        object.__setattr__(self, "hidden", hidden)
        object.__setattr__(
            self, "n_outputs", check_int(self.n_outputs, "n_outputs", owner, low=1)
        )
        object.__setattr__(
            self,
            "activation",
            check_enum(Activation, self.activation, "activation", "MLP"),
        )
        object.__setattr__(
            self, "loss", check_enum(OutputLoss, self.loss, "loss", "MLP")
        )
        if not isinstance(self.bias, (bool, np.bool_)):
            raise ConfigError(
                "The 'bias' parameter of MLP must be a bool. "
                f"Got {self.bias!r} instead."
            )
        object.__setattr__(self, "bias", bool(self.bias))
        if self.loss is OutputLoss.CE and self.n_outputs < 2:
            raise ConfigError(
                "The 'n_outputs' parameter of MLP must be an int in [2, inf) for the "
                f"'ce' loss. Got {self.n_outputs!r} instead."
            )
        if self.loss is OutputLoss.BCE and self.n_outputs != 1:
            raise ConfigError(
                "The 'n_outputs' parameter of MLP must be 1 for the 'bce' loss (one "
                f"logit, sigmoid probability). Got {self.n_outputs!r} instead."
            )

    # ------------------------------------------------------------------ structure
    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """``(input_dim, *hidden, n_outputs)``."""
        return (self.input_dim, *self.hidden, self.n_outputs)

    @property
    def n_layers(self) -> int:
        """Number of linear layers, ``len(hidden) + 1``."""
        return len(self.hidden) + 1

    @property
    def n_classes(self) -> int:
        """Number of classes the labels range over: ``n_outputs``, or 2 for a
        scalar (``bce`` or one-output ``mse``) head."""
        return 2 if self.binary else self.n_outputs

    @property
    def binary(self) -> bool:
        """True for a scalar head with labels 0/1 (``bce``, or ``mse`` with one
        output)."""
        return self.n_outputs == 1

    @property
    def n_parameters(self) -> int:
        sizes = self.layer_sizes
        return sum(
            sizes[k + 1] * sizes[k] + (sizes[k + 1] if self.bias else 0)
            for k in range(self.n_layers)
        )

    def to_config(self) -> dict[str, Any]:
        """JSON-friendly description of the architecture."""
        return {
            "input_dim": self.input_dim,
            "hidden": list(self.hidden),
            "n_outputs": self.n_outputs,
            "activation": self.activation.value,
            "loss": self.loss.value,
            "bias": self.bias,
        }

    # ------------------------------------------------------------------ init
    def init(self, seed: SeedLike = None) -> MLPParams:
        r"""PyTorch-like default initialisation.

        Parameters
        ----------
        seed : int, SeedSequence, Generator or None
            Source of randomness; the same seed gives the same parameters.

        Returns
        -------
        MLPParams

        Notes
        -----
        Like ``torch.nn.Linear.reset_parameters``: every weight and bias of a layer
        with fan-in :math:`m` is drawn independently from
        :math:`U(-1/\sqrt m, 1/\sqrt m)` (Kaiming-uniform with
        :math:`a = \sqrt 5`). Layers are drawn in order, weight before bias, from
        one stream.

        Examples
        --------
        >>> p = MLP(input_dim=4, hidden=(3,), n_outputs=2).init(seed=1)
        >>> bool(np.all(np.abs(p.weights[0]) <= 0.5))
        True
        """
        rng = np.random.default_rng(as_seed_sequence(seed))
        weights, biases = [], []
        sizes = self.layer_sizes
        for k in range(self.n_layers):
            fan_in, fan_out = sizes[k], sizes[k + 1]
            bound = 1.0 / np.sqrt(fan_in)
            weights.append(rng.uniform(-bound, bound, size=(fan_out, fan_in)))
            if self.bias:
                biases.append(rng.uniform(-bound, bound, size=fan_out))
        return MLPParams(weights, biases)

    # ------------------------------------------------------------------ public passes
    def forward(self, params: MLPParams, X: ArrayLike) -> np.ndarray:
        """Network outputs (logits for ``ce``, raw outputs for ``mse``, the logit for
        ``bce``), shape ``(n, n_outputs)``.

        Raises
        ------
        DataError
            If ``params`` does not fit the architecture or ``X`` is not a finite
            ``(n, input_dim)`` array.
        """
        self.check_params(params, "forward")
        X = self.check_inputs(X, "forward")
        _, pre = forward_pass(params, X, self.activation)
        return pre[-1]

    def penultimate(self, params: MLPParams, X: ArrayLike) -> np.ndarray:
        """Penultimate features: the input of the last layer, shape
        ``(n, hidden[-1])`` (``X`` itself without hidden layers).

        Raises
        ------
        DataError
            As :meth:`forward`.
        """
        self.check_params(params, "penultimate")
        X = self.check_inputs(X, "penultimate")
        inputs, _ = forward_pass(params, X, self.activation)
        return inputs[-1]

    def predict(self, params: MLPParams, X: ArrayLike) -> np.ndarray:
        """Predicted class labels (int64): the arg-max logit for ``ce`` and K-output
        ``mse``; ``sigmoid(z) > 1/2`` for ``bce``; ``z > 1/2`` for one-output ``mse``.

        Raises
        ------
        DataError
            As :meth:`forward`.
        """
        z = self.forward(params, X)
        return predicted_labels(z, self.loss)

    def loss_and_grad(
        self, params: MLPParams, X: ArrayLike, y: ArrayLike
    ) -> tuple[float, MLPParams]:
        """Mean loss over the batch and its gradient with respect to every parameter.

        Parameters
        ----------
        params : MLPParams
        X : array_like of float, shape (n, input_dim)
        y : array_like of int, shape (n,)
            Labels in ``[0, K)`` for ``ce`` / K-output ``mse``, 0/1 otherwise.

        Returns
        -------
        loss : float
        grads : MLPParams
            Gradients, same shapes as ``params``.

        Raises
        ------
        DataError
            If ``params``, ``X`` or ``y`` do not fit the architecture.
        """
        owner = "loss_and_grad"
        self.check_params(params, owner)
        X = self.check_inputs(X, owner)
        y = self.check_labels(y, X.shape[0], owner)
        return loss_and_grad(params, X, y, self.activation, self.loss)

    def sgd_step(
        self,
        params: MLPParams,
        X: ArrayLike,
        y: ArrayLike,
        lr: float,
        momentum: float = 0.0,
        velocity: MLPParams | None = None,
    ) -> SGDStep:
        r"""One SGD step on the batch ``(X, y)``; ``params`` is not modified.

        Parameters
        ----------
        params : MLPParams
        X, y : arrays
            The batch, as in :meth:`loss_and_grad`.
        lr : float
            Learning rate ``> 0``.
        momentum : float, default 0
            Heavy-ball momentum in ``[0, 1)``.
        velocity : MLPParams, optional
            Momentum buffer of the previous step (default zeros).

        Returns
        -------
        SGDStep
            ``(params, velocity, loss)``: new parameters, new buffer, and the batch
            loss before the step.

        Raises
        ------
        ConfigError
            If ``lr`` or ``momentum`` is out of range.
        DataError
            If ``params``, ``velocity``, ``X`` or ``y`` do not fit.

        Notes
        -----
        As ``torch.optim.SGD`` (no dampening, no Nesterov, no weight decay):

        .. math::

            v \leftarrow \mu v + \nabla_w L, \qquad w \leftarrow w - \eta v.

        Examples
        --------
        >>> mlp = MLP(input_dim=1, hidden=(), n_outputs=1, loss="mse")
        >>> p = mlp.init(seed=0)
        >>> step = mlp.sgd_step(p, [[1.0]], [1], lr=0.1)
        >>> bool(mlp.loss_and_grad(step.params, [[1.0]], [1])[0] < step.loss)
        True
        """
        owner = "sgd_step"
        lr = check_float(lr, "lr", owner, low=0.0, closed="neither")
        momentum = check_float(
            momentum, "momentum", owner, low=0.0, high=1.0, closed="left"
        )
        self.check_params(params, owner)
        if velocity is not None:
            self.check_params(velocity, owner, name="velocity")
        X = self.check_inputs(X, owner)
        y = self.check_labels(y, X.shape[0], owner)
        new = params.copy()
        vel = None if velocity is None else velocity.copy()
        loss, vel = sgd_update(new, X, y, lr, momentum, vel, self.activation, self.loss)
        return SGDStep(new, vel, loss)

    # ------------------------------------------------------------------ validation
    def check_params(
        self, params: object, owner: str, name: str = "params"
    ) -> MLPParams:
        """Raise DataError unless ``params`` is an MLPParams of this architecture with
        finite float64 arrays."""
        where = f"The '{name}' parameter of {owner}"
        if not isinstance(params, MLPParams):
            raise DataError(
                f"{where} must be an MLPParams. Got {type(params).__name__} instead."
            )
        sizes = self.layer_sizes
        want_w = [(sizes[k + 1], sizes[k]) for k in range(self.n_layers)]
        want_b = [(sizes[k + 1],) for k in range(self.n_layers)] if self.bias else []
        got_w = [np.shape(w) for w in params.weights]
        got_b = [np.shape(b) for b in params.biases]
        if got_w != want_w or got_b != want_b:
            raise DataError(
                f"{where} must have weight shapes {want_w} and bias shapes {want_b} to "
                f"match the MLP. Got {got_w} and {got_b} instead."
            )
        for a in params.arrays():
            if not isinstance(a, np.ndarray) or a.dtype != np.float64:
                raise DataError(f"{where} must hold float64 numpy arrays.")
            if not np.isfinite(a).all():
                raise DataError(f"{where} must be finite. Got a NaN or infinite entry.")
        return params

    def check_inputs(self, X: ArrayLike, owner: str, name: str = "X") -> np.ndarray:
        """``X`` as a finite float64 array of shape ``(n, input_dim)``."""
        where = f"The '{name}' parameter of {owner}"
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(
                f"{where} must be an array of floats of shape (n, {self.input_dim}). "
                f"Got a {type(X).__name__} that numpy cannot convert instead."
            ) from None
        if arr.ndim != 2 or arr.shape[1] != self.input_dim:
            raise DataError(
                f"{where} must have shape (n, {self.input_dim}) to match the MLP's "
                f"input_dim. Got shape {arr.shape} instead."
            )
        if not np.isfinite(arr).all():
            raise DataError(f"{where} must be finite. Got a NaN or infinite entry.")
        return arr

    def check_labels(
        self, y: ArrayLike, n: int, owner: str, name: str = "y"
    ) -> np.ndarray:
        """``y`` as int64 of shape ``(n,)`` with entries in ``[0, n_classes)``."""
        where = f"The '{name}' parameter of {owner}"
        raw = np.asarray(y)
        if raw.shape != (n,):
            raise DataError(
                f"{where} must have shape ({n},) to match 'X'. Got shape {raw.shape} "
                "instead."
            )
        if raw.dtype == np.bool_:
            raw = raw.astype(np.int64)
        if np.issubdtype(raw.dtype, np.floating):
            bad = ~np.isfinite(raw) | (raw != np.round(raw))
            if bad.any():
                raise DataError(
                    f"{where} must hold integer labels. "
                    f"Got {float(raw[bad][0])} instead."
                )
        elif not np.issubdtype(raw.dtype, np.integer) and raw.size:
            raise DataError(
                f"{where} must hold integer labels. Got dtype {raw.dtype} instead."
            )
        lab = raw.astype(np.int64)
        K = self.n_classes
        bad = (lab < 0) | (lab >= K)
        if bad.any():
            if self.binary:
                raise DataError(
                    f"{where} must hold binary labels 0/1 for the '{self.loss.value}' "
                    f"loss with one output. Got {lab[bad][0]} instead."
                )
            raise DataError(
                f"{where} must hold class indices in [0, {K - 1}]. Got {lab[bad][0]} "
                "instead."
            )
        return lab


# --------------------------------------------------------------------------------------
# unvalidated building blocks (shared with ntk, probes and training)
# --------------------------------------------------------------------------------------


def activate(h: np.ndarray, activation: Activation) -> np.ndarray:
    """``phi(h)``."""
    if activation is Activation.RELU:
        return np.maximum(h, 0.0)
    if activation is Activation.TANH:
        return np.tanh(h)
    return h


def activation_derivative(
    h: np.ndarray, a: np.ndarray, activation: Activation
) -> np.ndarray:
    """``phi'(h)`` given ``h`` and ``a = phi(h)``; ReLU's derivative at 0 is 0."""
    if activation is Activation.RELU:
        return (h > 0.0).astype(np.float64)
    if activation is Activation.TANH:
        return 1.0 - a * a
    return np.ones_like(h)


def difference_table(h: np.ndarray, activation: Activation) -> tuple[np.ndarray, ...]:
    """Arrays that :func:`activation_difference` needs from ``h``, computed once
    when many perturbations ``dh`` of the same ``h`` are evaluated."""
    if activation is Activation.RELU:
        return -h, np.minimum(h, 0.0)
    if activation is Activation.TANH:
        t = np.tanh(h)
        return t, 1.0 - t * t
    return ()


def activation_difference(
    h: np.ndarray,
    dh: np.ndarray,
    activation: Activation,
    table: tuple[np.ndarray, ...] | None = None,
    *,
    overwrite: bool = False,
) -> np.ndarray:
    r"""``phi(h + dh) - phi(h)`` without cancellation for small ``dh``.

    ReLU: :math:`\max(d, -h) + \min(h, 0)`, exactly ``dh`` where both sides are
    positive and exactly 0 where neither is. tanh:
    :math:`\tanh(h + d) - \tanh h = \tanh d \,(1 - \tanh^2 h) / (1 + \tanh h
    \tanh d)`. ``table`` is :func:`difference_table` of ``h`` (computed if not
    given); with ``overwrite`` the result may be written into ``dh``.
    """
    if table is None:
        table = difference_table(h, activation)
    if activation is Activation.RELU:
        neg_h, h_min = table
        if overwrite and dh.shape == np.broadcast_shapes(dh.shape, neg_h.shape):
            out = np.maximum(dh, neg_h, out=dh)
        else:
            out = np.maximum(dh, neg_h)
        out += h_min
        return out
    if activation is Activation.TANH:
        t, slope = table
        td = np.tanh(dh)
        return td * slope / (1.0 + t * td)
    return np.broadcast_to(dh, np.broadcast_shapes(h.shape, dh.shape)).copy()


def forward_pass(
    params: MLPParams, X: np.ndarray, activation: Activation
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(inputs, pre)``: ``inputs[l]`` is the input of layer ``l`` (``inputs[0] =
    X``), ``pre[l]`` its pre-activation; the output is ``pre[-1]``."""
    inputs = [X]
    pre = []
    L = params.n_layers
    for k in range(L):
        h = inputs[k] @ params.weights[k].T
        if params.has_bias:
            h += params.biases[k]
        pre.append(h)
        if k < L - 1:
            inputs.append(activate(h, activation))
    return inputs, pre


def backward_deltas(
    params: MLPParams,
    inputs: list[np.ndarray],
    pre: list[np.ndarray],
    dz: np.ndarray,
    activation: Activation,
) -> list[np.ndarray]:
    """Per-sample gradients ``delta[l]`` of the loss with respect to each layer's
    pre-activation, given ``dz`` = gradient with respect to the output."""
    L = params.n_layers
    deltas = [dz] * L
    for k in range(L - 1, 0, -1):
        back = deltas[k] @ params.weights[k]
        deltas[k - 1] = back * activation_derivative(pre[k - 1], inputs[k], activation)
    return deltas


def gradients_from_deltas(
    params: MLPParams, inputs: list[np.ndarray], deltas: list[np.ndarray]
) -> MLPParams:
    """Batch gradients: ``dW_l = delta_l^T a_l``, ``db_l = sum_n delta_l``."""
    gw = [deltas[k].T @ inputs[k] for k in range(params.n_layers)]
    gb = [d.sum(axis=0) for d in deltas] if params.has_bias else []
    return MLPParams(gw, gb)


def targets_for(y: np.ndarray, n_outputs: int) -> np.ndarray:
    """Regression targets of the ``mse`` head: ``y`` as a column (one output) or
    one-hot rows (K outputs)."""
    if n_outputs == 1:
        return y.astype(np.float64)[:, None]
    t = np.zeros((y.shape[0], n_outputs))
    t[np.arange(y.shape[0]), y] = 1.0
    return t


def output_loss(
    z: np.ndarray, y: np.ndarray, loss: OutputLoss
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample losses ``(n,)`` and per-sample output gradients ``r = dL/dz``
    ``(n, K)``, both computed stably (log-sum-exp, softplus)."""
    n = z.shape[0]
    rows = np.arange(n)
    if loss is OutputLoss.CE:
        top = np.argmax(z, axis=1)
        m = z[rows, top]
        e = np.exp(z - m[:, None])
        s = e.sum(axis=1)  # >= 1
        e_rest = e.copy()
        e_rest[rows, top] = 0.0
        losses = (m - z[rows, y]) + np.log1p(e_rest.sum(axis=1))
        r = e / s[:, None]
        r[rows, y] -= 1.0
        return losses, r
    if loss is OutputLoss.BCE:
        zz = z[:, 0]
        yy = y.astype(np.float64)
        losses = np.maximum(zz, 0.0) - zz * yy + np.log1p(np.exp(-np.abs(zz)))
        return losses, (expit(zz) - yy)[:, None]
    diff = z - targets_for(y, z.shape[1])
    return np.sum(diff * diff, axis=1), 2.0 * diff


def loss_and_grad(
    params: MLPParams,
    X: np.ndarray,
    y: np.ndarray,
    activation: Activation,
    loss: OutputLoss,
) -> tuple[float, MLPParams]:
    """Mean loss and its gradient (unvalidated)."""
    inputs, pre = forward_pass(params, X, activation)
    losses, r = output_loss(pre[-1], y, loss)
    n = X.shape[0]
    deltas = backward_deltas(params, inputs, pre, r / n, activation)
    return float(np.mean(losses)), gradients_from_deltas(params, inputs, deltas)


def sgd_update(
    params: MLPParams,
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    momentum: float,
    velocity: MLPParams | None,
    activation: Activation,
    loss: OutputLoss,
) -> tuple[float, MLPParams]:
    """One SGD step applied to ``params`` in place; returns the batch loss before
    the step and the (possibly new) momentum buffer, also updated in place."""
    value, grads = loss_and_grad(params, X, y, activation, loss)
    if velocity is None:
        velocity = grads  # v = mu * 0 + g
    else:
        for v, g in zip(velocity.arrays(), grads.arrays(), strict=True):
            v *= momentum
            v += g
    for p, v in zip(params.arrays(), velocity.arrays(), strict=True):
        p -= lr * v
    return value, velocity


def predicted_labels(z: np.ndarray, loss: OutputLoss) -> np.ndarray:
    """Class labels from outputs (see :meth:`MLP.predict`)."""
    if z.shape[1] == 1:
        threshold = 0.0 if loss is OutputLoss.BCE else 0.5
        return (z[:, 0] > threshold).astype(np.int64)
    return np.argmax(z, axis=1).astype(np.int64)


def class_scores(z: np.ndarray, loss: OutputLoss) -> np.ndarray:
    """Per-class scores whose arg-max is the prediction and whose margins are the
    classification margins: the outputs for K >= 2 outputs; ``(0, z)`` for ``bce``
    (so the margin is the signed logit); ``(1 - f, f)`` for one-output ``mse`` (so
    the margin is ``(2f - 1)`` for label 1 and ``(1 - 2f)`` for label 0)."""
    if z.shape[1] > 1:
        return z
    f = z[:, 0]
    if loss is OutputLoss.BCE:
        return np.column_stack([np.zeros_like(f), f])
    return np.column_stack([1.0 - f, f])
