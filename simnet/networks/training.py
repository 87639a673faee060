"""Train an MLP with SGD and record the simulator's observables on it.

:func:`train_mlp` is the real-network twin of :func:`simnet.simulate`: it returns a
:class:`~simnet.RunResult` with the same tables and columns (``metrics``,
``impact``, ``elasticity_curve``, ``class_means``, ``similarity``), so that a
trained network and a particle model can be compared row by row.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .. import observables as obs
from .._validation import check_enum, check_float, check_int
from ..errors import ConfigError, DataError, DivergenceError
from ..hierarchy import Hierarchy
from ..models._common import Sampling
from ..progress import progress_bar
from ..recorder import Observable, TableRows
from ..recording import RecordSchedule, as_record_schedule
from ..results import SEED_ENTROPY_KEY, RunResult, package_versions
from ..runners.sampling import BatchSampler
from ..seeding import SeedLike, spawn_generators
from .mlp import (
    MLP,
    MLPParams,
    class_scores,
    forward_pass,
    output_loss,
    sgd_update,
)
from .ntk import NTKOutputs, _closed_form_ntk
from .probes import _probe

__all__ = ["train_mlp"]

_OWNER = "train_mlp"
_STREAMS = ("init", "sampling", "probes", "ntk")
_CHUNK = 1 << 12  # steps drawn from the sampler at once
_ALLOWED = (
    Observable.LOSS,
    Observable.SEPARABILITY,
    Observable.NEURAL_COLLAPSE,
    Observable.IMPACT,
    Observable.CLASS_MEANS,
    Observable.SIMILARITY,
)
_DEFAULT = (
    Observable.LOSS,
    Observable.NEURAL_COLLAPSE,
    Observable.IMPACT,
    Observable.CLASS_MEANS,
    Observable.SIMILARITY,
)


def train_mlp(
    mlp: MLP,
    X: ArrayLike,
    y: ArrayLike,
    *,
    steps: int,
    lr: float,
    batch_size: int = 1,
    momentum: float = 0.0,
    sampling: Sampling | str = Sampling.UNIFORM,
    record: int | RecordSchedule | Sequence[int] | dict | None = None,
    seed: SeedLike = None,
    class_names: Sequence[str] | None = None,
    hierarchy: Hierarchy | None = None,
    n_probes: int = 20,
    probe_eta: float | None = None,
    ntk_samples: int = 200,
    observe: Sequence[Observable | str] | None = None,
    progress: bool | None = None,
    params: MLPParams | None = None,
    validation: tuple[ArrayLike, ArrayLike] | None = None,
) -> RunResult:
    r"""Train ``mlp`` on ``(X, y)`` by SGD, recording observables at checkpoints.

    Parameters
    ----------
    mlp : MLP
        The architecture (its ``loss`` is the training loss).
    X : array_like of float, shape (n, input_dim)
        Training inputs.
    y : array_like of int, shape (n,)
        Labels: classes in ``[0, K)`` for ``ce`` and K-output ``mse``, 0/1 for
        ``bce`` and one-output ``mse``.
    steps : int
        Number of SGD steps.
    lr : float
        Learning rate ``> 0``.
    batch_size : int, default 1
        Minibatch size, in ``[1, n]``.
    momentum : float, default 0
        Heavy-ball momentum in ``[0, 1)`` (as ``torch.optim.SGD``).
    sampling : {"uniform", "epoch"}, default "uniform"
        Minibatches of i.i.d. uniform indices, or consecutive slices of a fresh
        random permutation each epoch (as :func:`simnet.simulate`).
    record : int, RecordSchedule, list of int or mapping, optional
        When to record (as :func:`simnet.simulate`; default about 100 evenly spaced
        records; step 0 and the last step always).
    seed : int, SeedSequence, Generator or None
        One seed for the initial weights, the minibatches, the probe set and the
        NTK subset. The same seed gives bit-identical results.
    class_names : sequence of str, optional
        Name of each class (label ``k`` is ``class_names[k]``). Default: the
        hierarchy's classes if one is given, else ``"0", "1", ...``.
    hierarchy : Hierarchy, optional
        Class hierarchy giving the ``lca_depth`` columns; its classes must be the
        class names. Default: a flat one (every class a child of the root), so
        ``lca_depth`` is 1 for a class with itself and 0 otherwise.
    n_probes : int, default 20
        Size of the fixed probe set of the ``similarity`` table (spread evenly over
        classes; all ordered pairs of distinct probes are recorded).
    probe_eta : float, optional
        Probe step size; default He & Su's adaptive rule (see
        :func:`~simnet.networks.probe_similarities`).
    ntk_samples : int, default 200
        Size of the fixed, class-stratified subset on which the NTK is computed for
        the ``impact`` table (at least 2 per class).
    observe : list of Observable or str, optional
        Any of ``loss``, ``separability``, ``neural_collapse``, ``impact``,
        ``class_means``, ``similarity``. Default: all but ``separability`` (an LP on
        the penultimate features at every record, opt-in).
    progress : bool, optional
        Show a progress bar (default: only on a terminal).
    params : MLPParams, optional
        Initial weights (copied, not modified). Default ``mlp.init`` from the
        seed's ``init`` stream.
    validation : tuple (X_val, y_val), optional
        A held-out set evaluated at every record: its mean loss (``mlp.loss``) and
        accuracy enter the ``metrics`` table as ``val_loss`` and ``val_accuracy``,
        whatever ``observe`` lists. ``X_val`` has shape ``(n_val, input_dim)``
        with ``n_val >= 1`` and ``y_val`` the labels, as ``X`` and ``y``. It is
        not used for training.

    Returns
    -------
    RunResult
        Tables (those requested) with the columns of :func:`simnet.simulate`:

        * ``metrics`` (``step, time, observable, value``): ``loss`` (the training
          loss of ``mlp.loss`` on all samples), ``accuracy``, ``margin_mean``,
          ``margin_min``, ``separable``, ``nc1``, ``equinorm``, ``equiangularity``,
          ``angle_deviation``, ``etf_distance`` (of the penultimate features) and
          ``intra_inter_ratio`` (of the impact matrix); with ``validation``,
          also ``val_loss`` and ``val_accuracy`` (on the held-out set);
        * ``impact`` (``step, time, class_a, class_b, lca_depth, value``);
        * ``elasticity_curve`` (``step, time, lca_depth, same_class, mean_impact,
          n_pairs``);
        * ``class_means`` (``step, time, class, coordinate, value``): class-mean
          network outputs (logits; the single logit or output for scalar heads);
        * ``similarity`` (``step, time, sample_i, sample_j, class_i, class_j,
          lca_depth, s_rel, s_ker``), sample indices into ``X``.

        ``time`` is the step count (as for the simulator's SGD). The state holds
        the final weights (``weight_l``, ``bias_l``), ``labels``, ``probe_idx`` and
        ``ntk_idx``; the metadata the seed entropy (``"seed_entropy"``), package
        versions and timings.

    Raises
    ------
    ConfigError
        On an invalid argument; the message names it.
    DataError
        If ``X`` or ``y`` (or the validation set) does not fit ``mlp``, or a class
        has fewer than 2 samples while ``impact`` or ``similarity`` is recorded.
    DivergenceError
        If the loss or the weights become NaN or infinite; the message names the
        step and suggests a smaller ``lr``.

    Notes
    -----
    Impact matrix (the network's class-level local elasticity). With the traced
    empirical NTK :math:`\mathrm{tr}\,\Theta(x_i, x_j)` over the fixed subset
    :math:`S` and :math:`K_\mathrm{out}` outputs,

    .. math::

        E_{kk'} = \frac{\eta}{K_\mathrm{out}}
            \operatorname*{mean}_{i \in S_k,\ j \in S_{k'},\ i \ne j}
            \operatorname{tr} \Theta(x_i, x_j),

    the mean change of the logits of class :math:`k'` samples per unit of
    logit gradient after one SGD step (learning rate :math:`\eta`) on a class
    :math:`k` sample, to first order. It is the analogue of the particle models'
    impact matrix :math:`E = \operatorname{tr} K / p`, whose rates include the step
    size.

    Similarities follow :func:`~simnet.networks.probe_similarities` at the current
    weights (``s_ker`` per unit step size, without the factor :math:`\eta`).

    Examples
    --------
    >>> import numpy as np
    >>> from simnet.networks import MLP, train_mlp
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(-1, 0.5, (20, 2)), rng.normal(1, 0.5, (20, 2))])
    >>> y = np.repeat([0, 1], 20)
    >>> mlp = MLP(input_dim=2, hidden=(16,), n_outputs=2)
    >>> result = train_mlp(mlp, X, y, steps=200, lr=0.1, record=100, seed=0)
    >>> sorted(result.tables)
    ['class_means', 'elasticity_curve', 'impact', 'metrics', 'similarity']
    >>> m = result.table("metrics")
    >>> loss = m[m.observable == "loss"].set_index("step")["value"]
    >>> bool(loss[200] < loss[0])
    True
    """
    started = _time.perf_counter()
    if not isinstance(mlp, MLP):
        raise ConfigError(
            f"The 'mlp' parameter of {_OWNER} must be an MLP. "
            f"Got {type(mlp).__name__} instead."
        )
    X = mlp.check_inputs(X, _OWNER)
    n = X.shape[0]
    if n == 0:
        raise DataError(f"The 'X' parameter of {_OWNER} must have at least 1 row.")
    y = mlp.check_labels(y, n, _OWNER)
    held_out = _validation_set(mlp, validation)
    steps = check_int(steps, "steps", _OWNER, low=0)
    lr = check_float(lr, "lr", _OWNER, low=0.0, closed="neither")
    batch_size = check_int(batch_size, "batch_size", _OWNER, low=1, high=n)
    momentum = check_float(
        momentum, "momentum", _OWNER, low=0.0, high=1.0, closed="left"
    )
    sampling = check_enum(Sampling, sampling, "sampling", _OWNER)
    n_probes = check_int(n_probes, "n_probes", _OWNER, low=2)
    if probe_eta is not None:
        probe_eta = check_float(
            probe_eta, "probe_eta", _OWNER, low=0.0, closed="neither"
        )
    ntk_samples = check_int(ntk_samples, "ntk_samples", _OWNER, low=2)
    try:
        schedule = as_record_schedule(record, steps)
        record_steps = schedule.steps(steps)
    except ConfigError as exc:  # the shared helper names simulate
        raise ConfigError(str(exc).replace("of simulate", f"of {_OWNER}")) from None
    observables = _resolve_observables(observe)
    names, lca = _classes(mlp.n_classes, class_names, hierarchy)
    if Observable.IMPACT in observables or Observable.SIMILARITY in observables:
        _require_two_per_class(y, names)

    root, rngs = spawn_generators(seed, _STREAMS)
    given_params = params is not None
    if params is None:
        params = mlp.init(rngs["init"])
    else:
        params = mlp.check_params(params, _OWNER).copy()
    probe_idx = _stratified(y, len(names), n_probes, 1, rngs["probes"])
    ntk_idx = _stratified(y, len(names), ntk_samples, 2, rngs["ntk"])
    sampler = BatchSampler(n, batch_size, sampling, rngs["sampling"])
    recorder = _Recorder(
        mlp, X, y, lr, names, lca, observables, probe_idx, ntk_idx, probe_eta,
        held_out,
    )  # fmt: skip

    train_seconds = 0.0
    velocity: MLPParams | None = None
    step = 0
    bar = progress_bar(steps, enabled=progress, desc=_OWNER)
    try:
        with np.errstate(all="ignore"):
            for target in record_steps:
                while step < target:
                    chunk = min(_CHUNK, int(target) - step)
                    batches = sampler.draw(chunk)
                    t0 = _time.perf_counter()
                    for b in batches:
                        loss, velocity = sgd_update(
                            params, X[b], y[b], lr, momentum,
                            velocity if momentum > 0.0 else None,
                            mlp.activation, mlp.loss,
                        )  # fmt: skip
                        if not math.isfinite(loss):
                            raise _diverged(step, lr, "the training loss")
                        step += 1
                    train_seconds += _time.perf_counter() - t0
                    bar.update(chunk)
                if not params.all_finite():
                    raise _diverged(step, lr, "a weight")
                recorder.record(params, step)
    finally:
        bar.close()

    config: dict[str, Any] = {
        "model": "mlp",
        **mlp.to_config(),
        "n_samples": n,
        "class_names": list(names),
        "hierarchy": None if hierarchy is None else hierarchy.to_node_link(),
        "steps": steps,
        "lr": lr,
        "batch_size": batch_size,
        "momentum": momentum,
        "sampling": sampling.value,
        "record": schedule.to_config(),
        "observe": [o.value for o in observables],
        "n_probes": n_probes,
        "probe_eta": probe_eta,
        "ntk_samples": ntk_samples,
        "initial_params": "given" if given_params else "init",
        "validation_samples": None if held_out is None else int(held_out[1].size),
    }
    metadata = {
        SEED_ENTROPY_KEY: root.entropy,
        "seed_spawn_key": list(root.spawn_key),
        "record_steps": record_steps.tolist(),
        "seconds_total": _time.perf_counter() - started,
        "seconds_training": train_seconds,
        "versions": package_versions(),
    }
    state = {
        **params.to_state(),
        "labels": y.copy(),
        "probe_idx": probe_idx,
        "ntk_idx": ntk_idx,
    }
    return RunResult(
        config=config, tables=recorder.tables(), state=state, metadata=metadata
    )


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------


def _resolve_observables(observe: Any) -> tuple[Observable, ...]:
    if observe is None:
        return _DEFAULT
    if isinstance(observe, (str, Observable)):
        observe = [observe]
    out: list[Observable] = []
    choices = ", ".join(repr(o.value) for o in _ALLOWED)
    for item in observe:
        try:
            o = Observable(item)
        except ValueError:
            o = None
        if o not in _ALLOWED:
            raise ConfigError(
                f"The 'observe' parameter of {_OWNER} lists {item!r}; choose from "
                f"{choices}."
            )
        if o not in out:
            out.append(o)
    return tuple(out)


def _validation_set(mlp: MLP, validation: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The held-out pair ``(X_val, y_val)`` checked against ``mlp``, or None."""
    if validation is None:
        return None
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise ConfigError(
            f"The 'validation' parameter of {_OWNER} must be a pair (X_val, y_val) "
            f"or None. Got {type(validation).__name__} instead."
        )
    X_val = mlp.check_inputs(validation[0], _OWNER, "validation[0]")
    if X_val.shape[0] == 0:
        raise DataError(
            f"The 'validation[0]' parameter of {_OWNER} must have at least 1 row."
        )
    y_val = mlp.check_labels(validation[1], X_val.shape[0], _OWNER, "validation[1]")
    return X_val, y_val


def _classes(
    n_classes: int, class_names: Sequence[str] | None, hierarchy: Hierarchy | None
) -> tuple[tuple[str, ...], np.ndarray]:
    """Class names and the (K, K) LCA-depth matrix in label order."""
    if hierarchy is not None and not isinstance(hierarchy, Hierarchy):
        raise ConfigError(
            f"The 'hierarchy' parameter of {_OWNER} must be a Hierarchy or None. "
            f"Got {type(hierarchy).__name__} instead."
        )
    if class_names is None:
        if hierarchy is not None:
            names = tuple(hierarchy.classes)
        else:
            names = tuple(str(k) for k in range(n_classes))
    else:
        if isinstance(class_names, str) or not all(
            isinstance(c, str) and c for c in class_names
        ):
            raise ConfigError(
                f"The 'class_names' parameter of {_OWNER} must be a sequence of "
                f"non-empty strings. Got {class_names!r} instead."
            )
        names = tuple(class_names)
    if len(names) != n_classes or len(set(names)) != len(names):
        raise ConfigError(
            f"The 'class_names' parameter of {_OWNER} must hold {n_classes} distinct "
            f"names, one per class of the MLP. Got {list(names)!r} instead."
        )
    if hierarchy is None:
        return names, np.eye(n_classes, dtype=np.int64)
    missing = [c for c in names if c not in hierarchy.class_index]
    extra = [c for c in hierarchy.classes if c not in names]
    if missing or extra:
        what = (
            f"class {missing[0]!r} is not a class of the hierarchy"
            if missing
            else f"the hierarchy's class {extra[0]!r} is missing"
        )
        raise ConfigError(
            f"The 'hierarchy' parameter of {_OWNER} must have the class names as its "
            f"classes: {what}."
        )
    perm = np.array([hierarchy.class_index[c] for c in names])
    return names, hierarchy.lca_depth_matrix()[np.ix_(perm, perm)]


def _require_two_per_class(y: np.ndarray, names: tuple[str, ...]) -> None:
    counts = np.bincount(y, minlength=len(names))
    if counts.min() < 2:
        k = int(np.argmin(counts))
        raise DataError(
            f"The 'y' parameter of {_OWNER} must have at least 2 samples of every "
            f"class to record the 'impact' and 'similarity' observables. Class "
            f"{names[k]!r} has {int(counts[k])}."
        )


def _stratified(
    y: np.ndarray,
    n_classes: int,
    n_wanted: int,
    min_per_class: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """A fixed subset of about ``n_wanted`` samples spread evenly over the classes
    (as the simulator's probe set), sorted within each class."""
    per_class = max(min_per_class, n_wanted // n_classes)
    chosen = []
    for c in range(n_classes):
        members = np.flatnonzero(y == c)
        take = min(per_class, members.shape[0])
        chosen.append(np.sort(rng.choice(members, size=take, replace=False)))
    return np.concatenate(chosen).astype(np.int64)


def _diverged(step: int, lr: float, what: str) -> DivergenceError:
    return DivergenceError(
        f"train_mlp diverged at step {step}: {what} became NaN or infinite. "
        f"Try a smaller 'lr' (got {lr:g}), or a smaller momentum.",
        step,
    )


# --------------------------------------------------------------------------------------
# recording
# --------------------------------------------------------------------------------------


class _Recorder:
    """Accumulate the rows of each table at the record steps."""

    def __init__(
        self,
        mlp: MLP,
        X: np.ndarray,
        y: np.ndarray,
        lr: float,
        names: tuple[str, ...],
        lca: np.ndarray,
        observables: tuple[Observable, ...],
        probe_idx: np.ndarray,
        ntk_idx: np.ndarray,
        probe_eta: float | None,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.mlp, self.X, self.y, self.lr = mlp, X, y, lr
        self.validation = validation
        self.k = len(names)
        self.out = TableRows(names, lca)
        self.observables = observables
        self.probe_idx = probe_idx
        self.ntk_idx = ntk_idx
        self.probe_eta = probe_eta

    def record(self, params: MLPParams, step: int) -> None:
        with np.errstate(all="ignore"):
            self._record(params, step)

    def _record(self, params: MLPParams, step: int) -> None:
        mlp, y, K = self.mlp, self.y, self.k
        time = float(step)
        inputs, pre = forward_pass(params, self.X, mlp.activation)
        z, features = pre[-1], inputs[-1]
        if not (np.isfinite(z).all() and np.isfinite(features).all()):
            raise _diverged(step, self.lr, "a network output")
        metrics: dict[str, float] = {}
        if Observable.LOSS in self.observables:
            losses, _ = output_loss(z, y, mlp.loss)
            scores = class_scores(z, mlp.loss)
            m = obs.margins(scores, y)
            metrics["loss"] = float(np.mean(losses))
            metrics["accuracy"] = obs.accuracy(scores, y)
            metrics["margin_mean"] = float(np.mean(m))
            metrics["margin_min"] = float(np.min(m))
        if self.validation is not None:
            X_val, y_val = self.validation
            z_val = forward_pass(params, X_val, mlp.activation)[1][-1]
            val_losses, _ = output_loss(z_val, y_val, mlp.loss)
            metrics["val_loss"] = float(np.mean(val_losses))
            metrics["val_accuracy"] = obs.accuracy(class_scores(z_val, mlp.loss), y_val)
        if Observable.SEPARABILITY in self.observables:
            metrics["separable"] = float(obs.is_linearly_separable(features, y, K))
        if Observable.NEURAL_COLLAPSE in self.observables:
            metrics.update(obs.neural_collapse(features, y, K))
        if Observable.IMPACT in self.observables:
            e = self._impact(params)
            metrics["intra_inter_ratio"] = obs.intra_inter_ratio(e)
            self.out.impact(step, time, e)
        if Observable.CLASS_MEANS in self.observables:
            self.out.class_means(step, time, obs.class_means(z, y, K))
        if Observable.SIMILARITY in self.observables:
            self._similarity(params, step, time)
        self.out.metrics(step, time, metrics)

    def _impact(self, params: MLPParams) -> np.ndarray:
        """Class-level traced NTK over distinct pairs, / outputs, times lr."""
        idx = self.ntk_idx
        gram = _closed_form_ntk(self.mlp, params, self.X[idx], None, NTKOutputs.TRACE)
        onehot = np.zeros((idx.shape[0], self.k))
        onehot[np.arange(idx.shape[0]), self.y[idx]] = 1.0
        sums = onehot.T @ gram @ onehot
        sums -= np.diag(onehot.T @ np.diag(gram))
        counts = onehot.sum(axis=0)
        pairs = np.outer(counts, counts) - np.diag(counts)
        e = sums / pairs * (self.lr / self.mlp.n_outputs)
        return np.triu(e) + np.triu(e, 1).T

    def _similarity(self, params: MLPParams, step: int, time: float) -> None:
        probes = self.probe_idx
        sim = _probe(
            self.mlp,
            params,
            self.X[probes],
            self.y[probes],
            None,
            self.probe_eta,
            None,
        )
        n_p = probes.shape[0]
        ii, jj = np.nonzero(~np.eye(n_p, dtype=bool))
        self.out.similarity(
            step,
            time,
            probes[ii],
            probes[jj],
            self.y[probes[ii]],
            self.y[probes[jj]],
            sim.s_rel[ii, jj],
            sim.s_ker[ii, jj],
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return self.out.tables()
