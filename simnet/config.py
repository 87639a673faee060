"""Run configurations: a TOML file naming a model and how long to simulate it.

A run configuration is data only. It is parsed with :mod:`tomllib`, checked key by
key, and turned into a model (:class:`~simnet.HFSModel` or :class:`~simnet.LESDEModel`)
plus the keyword arguments of :func:`simnet.simulate`. Nothing in the file is
executed, and a hierarchy file it names is parsed as data as well.

An *MLP configuration* (:func:`load_mlp_config`, ``simnet mlp``) describes the
real-network baseline instead: a dataset from :mod:`simnet.datasets`, a numpy
:class:`~simnet.networks.MLP` and the arguments of
:func:`~simnet.networks.train_mlp`; its schema is under `MLP schema`_ below.

Every unknown key, wrong type and out-of-range value raises :class:`ConfigError` with
a one-line message naming the full dotted key, e.g. ``unknown config key
'model.etaphi' (did you mean 'model.eta_phi'?)`` or ``config key 'model.gamma' must
be a float in [0, inf); got -1``.

Schema
------
Three tables (sections); keys not listed are errors.

``[run]`` (required)

=============  ==========================================================  ========
key            value                                                       default
=============  ==========================================================  ========
``steps``      int >= 0: SGD iterations or SDE/ODE time steps              required
``seed``       int >= 0                                                    0
``record``     ``{stride = k}``, ``{log = n}``, ``{at = [s1, s2, ...]}``   ~100
               or an int k (same as ``{stride = k}``); k, n >= 1           records
``observe``    list of observable names: ``loss``, ``separability``,       all that
               ``neural_collapse``, ``impact``, ``class_means``,           apply
               ``similarity``, ``feature_count``
``n_probes``   int >= 2: probe samples for the ``similarity`` observable   20
=============  ==========================================================  ========

``[hierarchy]`` (required for ``hfs``, optional for ``lesde``): exactly one of

* ``preset = "cifar10"`` -- a shipped hierarchy (:data:`simnet.PRESETS`);
* ``file = "tree.json"`` -- a ``.json`` (node-link or nested mapping) or ``.gml``
  file, relative to the folder of the config file;
* ``branching = [2, 3]`` -- a balanced tree (:meth:`Hierarchy.balanced`);
* ``nested = {root = {animal = ["cat", "dog"], vehicle = ["car"]}}`` -- a nested
  mapping (:meth:`Hierarchy.from_nested`; a list holds leaf classes).

``[model]`` (required): ``kind = "hfs"`` or ``kind = "lesde"``, then any parameter
of that model under its own name (defaults are the model's).

* ``hfs`` (:class:`~simnet.HFSModel`): ``n_per_class`` (int >= 1, or a list with one
  int per class), ``p`` (int >= 1), ``head`` (``"identity"``, ``"random"`` or an
  array of arrays K x p), node weights ``eta_phi``, ``eta_lam`` (>= 0), ``decay``
  (in [0, 1]) and ``lam0`` -- each a float, a list with one float per depth
  (``max_depth + 1`` entries) or a table ``node = value`` covering every node --,
  ``phi_scale``, ``gamma``, ``eta_u``, ``sigma`` (floats >= 0), ``rate_scale`` (a
  schedule, below: a learning-rate multiplier of every rate), ``batch_size``
  (int >= 1), ``sampling`` (``"uniform"`` or ``"epoch"``) and ``init_means`` (an
  array of arrays K x p: the initial class means).
* ``lesde`` (:class:`~simnet.LESDEModel`): ``integrator`` (``"sgd"``, ``"sde"``,
  ``"ode"``), ``n_per_class``, ``p``, ``head``, ``dt`` (float > 0), ``sigma``
  (float >= 0), ``noise`` (``"constant"``, ``"gradient"``), ``surrogate``
  (``"ce"``, ``"identity"``, ``"projected"``, ``"etf"``), ``ode_method``
  (``"euler"``, ``"rk4"``), ``init_scale`` (float >= 0), ``init_means`` (K x p),
  ``batch_size``, ``sampling``, and the required table ``[model.impact]``.

``[model.impact]`` (``lesde`` only): ``kind`` and the keys of that kind.

* ``kind = "two_parameter"``: ``alpha``, ``beta`` (required; schedules, below) and
  ``n_classes`` (int >= 2; required without ``[hierarchy]``, else it must match):
  ``E(t) = (alpha(t) - beta(t)) I + beta(t) 1 1^T``.
* ``kind = "constant"``: ``matrix``, an array of K arrays of K floats.
* ``kind = "hierarchy"``: ``weights`` (node weights as above, default 1.0) and
  ``scale`` (schedule, default 1.0): ``E(t) = scale(t) E_w`` with
  ``E_w[k, k']`` the summed weight of the shared ancestors of k and k'.
* ``kind = "per_depth"``: ``rates``, a list of ``max_depth + 1`` schedules:
  ``E(t) = sum_d rates[d](t) E_[depth = d]``.

The last two need ``[hierarchy]``; with any kind, ``[hierarchy]`` names the classes
and gives LCA depths to the observables.

A schedule is a float (constant) or a table with a ``kind``:
``{kind = "constant", value = v}``, ``{kind = "power", scale = s, exponent = r,
offset = c}`` (``s (t + c)^-r``; ``offset`` > 0, default 1), ``{kind =
"exponential", scale = s, rate = r}`` (``s exp(-r t)``) or ``{kind = "piecewise",
times = [...], values = [...]}`` (linear interpolation); see
:func:`simnet.schedules.as_schedule`.

MLP schema
----------
Five tables; keys not listed are errors, checked with the same messages.

``[run]`` (required): ``steps``, ``seed``, ``record`` and ``n_probes`` as above;
``observe`` lists any of ``loss``, ``separability``, ``neural_collapse``, ``impact``,
``class_means``, ``similarity`` (default: all but ``separability``);
``probe_eta`` (float > 0: the step size of the similarity probes; default He & Su's
adaptive rule) and ``ntk_samples`` (int >= 2, default 200: the class-stratified
samples whose NTK gives the impact matrix).

``[data]`` (required): ``kind``, the parameters of that generator under their
Python names (defaults are the generator's), and keys common to every kind.

* ``hierarchical`` (:func:`~simnet.datasets.hierarchical_synthetic`; needs
  ``[hierarchy]``): ``n_per_class``, ``dim``, ``latent_dim`` (ints >= 1),
  ``node_scale`` (node weights as above, >= 0), ``noise`` (float >= 0),
  ``nonlinearity`` (``"tanh"``, ``"relu"``, ``"linear"``);
* ``torus`` (:func:`~simnet.datasets.torus`): ``n`` (even int >= 2), ``r``
  (float > 1), ``k`` (int >= 1);
* ``folded_boxes`` (:func:`~simnet.datasets.folded_boxes`): ``n`` (multiple of 4),
  ``k``, ``bias`` (floats > 0), ``delta`` (float in [0, bias));
* ``shapes`` (:func:`~simnet.datasets.geometric_shapes`): ``n_per_class`` (int
  >= 1), ``size`` (int >= 8);
* ``digits`` (:func:`~simnet.datasets.digits`, needs scikit-learn): ``classes``
  (list of distinct ints in [0, 9]), ``hierarchy`` (``"none"`` or ``"data"``: the
  average-linkage tree of the class means), ``n_per_class`` (int >= 1);
* ``file`` (:func:`~simnet.datasets.load_dataset`): ``path`` (required; ``.npz``
  or ``.csv``, relative to the folder of the config file), ``label_column``.

Common keys: ``seed`` (int >= 0; default: a stream derived from ``run.seed``,
independent of the training's, so ``--seed`` changes the data too unless
``data.seed`` fixes it), ``label_noise`` (float in [0, 1], default 0: the share of
each class relabelled by :func:`~simnet.datasets.add_label_noise`),
``label_noise_mode`` (``"uniform_other"`` or ``"uniform"``) and ``standardize``
(bool, default false: features to mean 0 and standard deviation 1).

``[hierarchy]`` (as above): required for ``kind = "hierarchical"``; with any other
kind it names the classes and gives LCA depths to the observables, and its classes
must be those of the data in label order (it replaces a hierarchy read from a file).

``[network]`` (optional; :class:`~simnet.networks.MLP`): ``hidden`` (list of ints
>= 1, default ``[256, 256]``; ``[]`` is a linear model), ``activation``
(``"relu"``, ``"tanh"``, ``"linear"``), ``loss`` (``"ce"``, ``"mse"``, ``"bce"``),
``bias`` (bool, default true) and ``n_outputs`` (default the number of classes K,
1 for ``bce``; ``mse`` with 2 classes may take 1, a scalar output with targets 0/1
as in He & Su). The input dimension is that of the data.

``[training]`` (required; :func:`~simnet.networks.train_mlp`): ``lr`` (float > 0,
required), ``batch_size`` (int in [1, n], default 1), ``momentum`` (float in
[0, 1), default 0) and ``sampling`` (``"uniform"`` or ``"epoch"``).

Examples
--------
>>> cfg = config_from_mapping(
...     {
...         "run": {"steps": 100, "seed": 1, "record": {"stride": 50}},
...         "hierarchy": {"preset": "tiger_cat_car"},
...         "model": {"kind": "hfs", "n_per_class": 10, "decay": [0, 0, 0, 1e-4]},
...     }
... )
>>> cfg.steps, cfg.seed, cfg.record
(100, 1, RecordSchedule(kind='stride', value=50))
>>> sorted(cfg.simulate(progress=False).tables)[:2]
['class_means', 'elasticity_curve']
>>> config_from_mapping({"run": {"steps": 10}, "modle": {}})
Traceback (most recent call last):
...
simnet.errors.ConfigError: unknown config key 'modle' (did you mean 'model'?)

An MLP baseline on He & Su's torus:

>>> mlp_cfg = mlp_config_from_mapping(
...     {
...         "run": {"steps": 50, "record": 25, "observe": ["loss", "impact"]},
...         "data": {"kind": "torus", "n": 40, "standardize": True},
...         "network": {"hidden": [16], "loss": "mse", "n_outputs": 1},
...         "training": {"lr": 0.01},
...     }
... )
>>> mlp_cfg.mlp.layer_sizes, mlp_cfg.dataset.n_samples
((3, 16, 1), 40)
>>> result = mlp_cfg.train(progress=False)
>>> sorted(result.table("metrics")["step"].unique().tolist())
[0, 25, 50]
>>> mlp_config_from_mapping(
...     {"run": {"steps": 1}, "data": {"kind": "tours"}, "training": {"lr": 0.1}}
... )
Traceback (most recent call last):
...
simnet.errors.ConfigError: config key 'data.kind' must be one of 'hierarchical', \
'torus', 'folded_boxes', 'shapes', 'digits', 'file'; got 'tours' (did you mean \
'torus'?)
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import numbers
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import (
    Dataset,
    DigitsHierarchy,
    LabelNoiseMode,
    Nonlinearity,
    add_label_noise,
    digits,
    folded_boxes,
    geometric_shapes,
    hierarchical_synthetic,
    load_dataset,
    torus,
)
from .errors import ConfigError, DataError, DivergenceError, SimnetError
from .hierarchy import PRESETS, Hierarchy
from .models import (
    HFSModel,
    ImpactMatrix,
    Integrator,
    LESDEModel,
    NoiseKind,
    OdeMethod,
    Surrogate,
)
from .models._common import Sampling
from .networks import MLP, Activation, OutputLoss, train_mlp
from .recorder import Observable
from .recording import RecordSchedule
from .results import RunResult
from .schedules import Schedule, as_schedule
from .simulate import simulate

__all__ = [
    "MLPRunConfig",
    "RunConfig",
    "apply_overrides",
    "config_from_mapping",
    "load_config",
    "load_mlp_config",
    "mlp_config_from_mapping",
]


@dataclass(frozen=True)
class RunConfig:
    """A validated run: the model and the arguments of :func:`simnet.simulate`.

    Parameters
    ----------
    model : HFSModel or LESDEModel
        The model to simulate.
    steps : int
        Number of steps.
    record : RecordSchedule, optional
        When to record (None: the default of :func:`simnet.simulate`).
    observe : tuple of str, optional
        Observables to record (None: every one that applies).
    seed : int, default 0
        Seed of the run.
    n_probes : int, default 20
        Probe samples of the ``similarity`` observable.

    See Also
    --------
    load_config, config_from_mapping : build one from a TOML file or a mapping.
    """

    model: HFSModel | LESDEModel
    steps: int
    record: RecordSchedule | None = None
    observe: tuple[str, ...] | None = None
    seed: int = 0
    n_probes: int = 20

    def run_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``simnet.simulate(model, **run_kwargs)``.

        Returns
        -------
        dict
            Keys ``steps``, ``record``, ``observe``, ``seed`` and ``n_probes``.
        """
        return {
            "steps": self.steps,
            "record": self.record,
            "observe": None if self.observe is None else list(self.observe),
            "seed": self.seed,
            "n_probes": self.n_probes,
        }

    def simulate(self, progress: bool | None = None) -> RunResult:
        """Run :func:`simnet.simulate` on this configuration.

        Parameters
        ----------
        progress : bool, optional
            Show a progress bar (default: only on a terminal).

        Returns
        -------
        RunResult

        Raises
        ------
        ConfigError
            If an argument is invalid (e.g. after ``dataclasses.replace``).
        DivergenceError
            If the simulation produces NaN or infinity.
        """
        return simulate(self.model, progress=progress, **self.run_kwargs())


@dataclass(frozen=True)
class MLPRunConfig:
    """A validated MLP baseline: the data, the network and the arguments of
    :func:`~simnet.networks.train_mlp`.

    Parameters
    ----------
    mlp : MLP
        The architecture; its input dimension is the data's.
    dataset : Dataset
        The training data (label noise, hierarchy and standardisation applied).
    steps : int
        Number of SGD steps.
    lr : float
        Learning rate.
    batch_size, momentum, sampling
        As :func:`~simnet.networks.train_mlp`.
    record : RecordSchedule, optional
        When to record (None: the default of ``train_mlp``).
    observe : tuple of str, optional
        Observables to record (None: the default of ``train_mlp``).
    seed : int, default 0
        Seed of the training (initial weights, minibatches, probes, NTK subset).
    n_probes, probe_eta, ntk_samples
        As :func:`~simnet.networks.train_mlp`.
    data : mapping
        How the dataset was made (``kind``, the generator's parameters, seed,
        label noise, standardisation); saved as ``result.config["data"]``.

    See Also
    --------
    load_mlp_config, mlp_config_from_mapping : build one from a TOML file or a
        mapping.
    """

    mlp: MLP
    dataset: Dataset
    steps: int
    lr: float
    batch_size: int = 1
    momentum: float = 0.0
    sampling: str = Sampling.UNIFORM.value
    record: RecordSchedule | None = None
    observe: tuple[str, ...] | None = None
    seed: int = 0
    n_probes: int = 20
    probe_eta: float | None = None
    ntk_samples: int = 200
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def train_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``train_mlp(mlp, X, y, **train_kwargs)``.

        Returns
        -------
        dict
            Keys ``steps``, ``lr``, ``batch_size``, ``momentum``, ``sampling``,
            ``record``, ``observe``, ``seed``, ``n_probes``, ``probe_eta``,
            ``ntk_samples``, ``class_names`` and ``hierarchy``.
        """
        return {
            "steps": self.steps,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "momentum": self.momentum,
            "sampling": self.sampling,
            "record": self.record,
            "observe": None if self.observe is None else list(self.observe),
            "seed": self.seed,
            "n_probes": self.n_probes,
            "probe_eta": self.probe_eta,
            "ntk_samples": self.ntk_samples,
            "class_names": self.dataset.class_names,
            "hierarchy": self.dataset.hierarchy,
        }

    def train(self, progress: bool | None = None) -> RunResult:
        """Train the network with :func:`~simnet.networks.train_mlp`.

        Parameters
        ----------
        progress : bool, optional
            Show a progress bar (default: only on a terminal).

        Returns
        -------
        RunResult
            The tables of ``train_mlp``; ``config["data"]`` says how the data was
            made, and with label noise ``state["clean_labels"]`` holds the labels
            before it.

        Raises
        ------
        ConfigError
            If ``train_mlp`` rejects an argument (e.g. after
            ``dataclasses.replace``) or the data (e.g. a class with fewer than 2
            samples while ``impact`` or ``similarity`` is recorded); the message
            names the dotted key where there is one.
        DivergenceError
            If the training produces NaN or infinity.
        """
        ds = self.dataset
        try:
            result = train_mlp(
                self.mlp, ds.X, ds.y, progress=progress, **self.train_kwargs()
            )
        except DivergenceError as exc:
            message = str(exc).replace("'lr'", "'training.lr'")
            raise DivergenceError(message, exc.step) from exc
        except (ConfigError, DataError) as exc:
            message = _dotted_message(str(exc), "data", _TRAIN_MLP_KEYS)
            raise ConfigError(message) from exc
        result.config["data"] = dict(self.data)
        clean = ds.per_sample.get("clean_y")
        if clean is not None:
            result.state["clean_labels"] = np.asarray(clean, dtype=np.int64)
        return result


# ---------------------------------------------------------------------- schema
_SECTIONS = ("run", "hierarchy", "model")
_RUN_KEYS = ("steps", "seed", "record", "observe", "n_probes")
_RECORD_KEYS = ("stride", "log", "at")
_HIERARCHY_KEYS = ("preset", "file", "branching", "nested")
_MODEL_KINDS = ("hfs", "lesde")
_HFS_KEYS = (
    "kind",
    *(f.name for f in dataclasses.fields(HFSModel) if f.name != "hierarchy"),
)
_LESDE_KEYS = (
    "kind",
    *(f.name for f in dataclasses.fields(LESDEModel) if f.name != "hierarchy"),
)
_MODEL_KEYS = {"hfs": _HFS_KEYS, "lesde": _LESDE_KEYS}
_IMPACT_KEYS = {
    "two_parameter": ("kind", "n_classes", "alpha", "beta"),
    "constant": ("kind", "matrix"),
    "hierarchy": ("kind", "weights", "scale"),
    "per_depth": ("kind", "rates"),
}
# Schedule kinds: (required keys, optional keys), as simnet.schedules.as_schedule reads.
_SCHEDULE_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "constant": (("value",), ()),
    "power": (("scale", "exponent"), ("offset",)),
    "exponential": (("scale", "rate"), ()),
    "piecewise": (("times", "values"), ()),
}
# Keys people put in the wrong place, and where they belong.
_MLP_HINT = (
    "[data], [network] and [training] make an MLP configuration: run it with "
    "'simnet mlp' (simnet.config.load_mlp_config)"
)
_HINTS = {
    "model.hierarchy": "the hierarchy goes in the [hierarchy] section",
    "run.progress": "progress is a command-line choice, not part of the config",
    "hfs.impact": "[model.impact] applies to kind = 'lesde' only",
    "data": _MLP_HINT,
    "network": _MLP_HINT,
    "training": _MLP_HINT,
    "model": "[model] makes a simulate configuration: run it with 'simnet simulate' "
    "(simnet.config.load_config)",
    "run.probe_eta": "it applies to MLP configurations only",
    "run.ntk_samples": "it applies to MLP configurations only",
    "data.hierarchy": "the class hierarchy goes in the [hierarchy] section",
    "network.input_dim": "the input dimension is that of the data",
    "training.steps": "steps go in [run]",
    "training.seed": "the seed goes in [run] (or data.seed for the dataset)",
}

# MLP configurations (load_mlp_config).
_MLP_SECTIONS = ("run", "data", "hierarchy", "network", "training")
_MLP_RUN_KEYS = (*_RUN_KEYS, "probe_eta", "ntk_samples")
# The observables train_mlp records (feature_count is the HFS model's).
_MLP_OBSERVABLES = (
    "loss",
    "separability",
    "neural_collapse",
    "impact",
    "class_means",
    "similarity",
)
# data.kind -> generator; its keys are the generator's parameters but these.
_DATA_GENERATORS: dict[str, tuple[Callable[..., Dataset], tuple[str, ...]]] = {
    "hierarchical": (hierarchical_synthetic, ("hierarchy", "seed")),
    "torus": (torus, ("seed",)),
    "folded_boxes": (folded_boxes, ("seed",)),
    "shapes": (geometric_shapes, ("seed",)),
    "digits": (digits, ("seed",)),
    "file": (load_dataset, ()),
}
_DATA_COMMON_KEYS = ("kind", "seed", "label_noise", "label_noise_mode", "standardize")
_DATA_PARAMS = {
    kind: tuple(p for p in inspect.signature(fn).parameters if p not in skip)
    for kind, (fn, skip) in _DATA_GENERATORS.items()
}
_NETWORK_KEYS = tuple(f.name for f in dataclasses.fields(MLP) if f.name != "input_dim")
_NETWORK_DEFAULTS: dict[str, Any] = {
    "hidden": (256, 256),
    "activation": Activation.RELU.value,
    "loss": OutputLoss.CE.value,
    "bias": True,
}
_TRAINING_KEYS = ("lr", "batch_size", "momentum", "sampling")
# train_mlp parameter -> config key (None: the data, no key of its own).
_TRAIN_MLP_KEYS: dict[str, str | None] = {
    **{name: f"run.{name}" for name in _MLP_RUN_KEYS},
    **{name: f"training.{name}" for name in _TRAINING_KEYS},
    "mlp": "network",
    "hierarchy": "hierarchy",
    "class_names": "hierarchy",
    "X": None,
    "y": None,
}
# The data stream derived from run.seed when data.seed is not given: a spawn key no
# child of run.seed (as train_mlp spawns them) ever has.
_DATA_SPAWN_KEY = (0x64617461,)  # "data"


# ---------------------------------------------------------------------- loading
def load_config(
    path: str | os.PathLike, *, overrides: Mapping[str, Any] | None = None
) -> RunConfig:
    """Read and validate a TOML run configuration.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.toml`` file. A ``[hierarchy] file`` in it is relative to its folder.
    overrides : mapping of str to value, optional
        Values to set before validation, by dotted key, e.g. ``{"run.seed": 3}``
        (what ``simnet simulate --seed 3`` does). The file is not modified.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        If the file cannot be read, is not valid TOML (the message gives the line and
        column), or breaks the schema (see the module docstring). Messages are
        prefixed with the file name.
    """
    return _load(path, overrides, config_from_mapping)


def load_mlp_config(
    path: str | os.PathLike, *, overrides: Mapping[str, Any] | None = None
) -> MLPRunConfig:
    """Read and validate a TOML MLP configuration (``simnet mlp``).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.toml`` file. A ``[hierarchy] file`` or ``data.path`` in it is
        relative to its folder.
    overrides : mapping of str to value, optional
        Values to set before validation, by dotted key, e.g. ``{"run.seed": 3}``
        (what ``simnet mlp --seed 3`` does; a dataset seeded from ``run.seed``
        follows). The file is not modified.

    Returns
    -------
    MLPRunConfig
        With the dataset generated (or read) and the network built.

    Raises
    ------
    ConfigError
        If the file cannot be read, is not valid TOML, breaks the schema (see `MLP
        schema`_ in the module docstring), or a generator, the network or the data
        rejects a value. Messages name the dotted key and are prefixed with the
        file name.

    See Also
    --------
    mlp_config_from_mapping : the same from a parsed mapping.
    """
    return _load(path, overrides, mlp_config_from_mapping)


def _load(
    path: str | os.PathLike,
    overrides: Mapping[str, Any] | None,
    from_mapping: Callable[..., Any],
) -> Any:
    """Read a TOML file, apply dotted-key overrides, validate with ``from_mapping``."""
    path = Path(path)
    data = _read_toml(path)
    try:
        if overrides:
            data = _with_overrides(data, overrides)
        return from_mapping(data, base_dir=path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


_INDEXED = re.compile(r"(?P<name>[^\[\]]+)\[(?P<start>\d*)(?P<colon>:?)(?P<stop>\d*)\]")


def apply_overrides(
    base: Mapping[str, Any], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """A copy of ``base`` with ``overrides[dotted_key] = value`` set.

    Tables on the way down are copied (and created when missing); ``base`` is not
    modified. The last part of a key may index a list of the base configuration:
    ``model.eta_phi[3]`` sets one entry, ``model.eta_phi[0:3]`` sets entries 0, 1
    and 2 to the same value (a Python slice without step), e.g. to sweep the leaf
    and the shared rates of a per-depth parameter as two keys.

    Parameters
    ----------
    base : mapping
        A run configuration (parsed TOML).
    overrides : mapping of str to value
        Dotted key -> value.

    Returns
    -------
    dict

    Raises
    ------
    ConfigError
        If a key runs through a value that is not a table, or indexes a value that
        is not a list or beyond its end.

    Examples
    --------
    >>> apply_overrides({"model": {"kind": "hfs", "p": 2}}, {"model.p": 3})
    {'model': {'kind': 'hfs', 'p': 3}}
    >>> base = {"model": {"eta_phi": [0.1, 0.1, 0.1, 0.1]}}
    >>> apply_overrides(base, {"model.eta_phi[0:3]": 0.0, "model.eta_phi[3]": 0.5})
    {'model': {'eta_phi': [0.0, 0.0, 0.0, 0.5]}}
    """
    out = dict(base)
    for dotted, value in overrides.items():
        parts = str(dotted).split(".")
        table = out
        for depth, part in enumerate(parts[:-1]):
            inner = table.get(part, {})
            if not isinstance(inner, Mapping):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(
                    f"cannot set config key '{dotted}': '{where}' is not a table"
                )
            table[part] = dict(inner)
            table = table[part]
        match = _INDEXED.fullmatch(parts[-1])
        if match is None:
            table[parts[-1]] = value
            continue
        name = match.group("name")
        where = ".".join([*parts[:-1], name])
        items = table.get(name)
        if not isinstance(items, list):
            raise ConfigError(
                f"cannot set config key '{dotted}': '{where}' is not a list in the "
                "base configuration"
            )
        start, stop = match.group("start"), match.group("stop")
        if match.group("colon"):
            lo = int(start) if start else 0
            hi = int(stop) if stop else len(items)
        else:
            if not start:
                raise ConfigError(f"config key '{dotted}' has an empty index")
            lo, hi = int(start), int(start) + 1
        if not lo < hi <= len(items):
            raise ConfigError(
                f"cannot set config key '{dotted}': '{where}' has {len(items)} "
                f"entries (indices 0..{len(items) - 1})"
            )
        table[name] = [*items[:lo], *([value] * (hi - lo)), *items[hi:]]
    return out


_with_overrides = apply_overrides


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file '{path}' is a directory") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file '{path}' is not UTF-8 text (byte {exc.start})"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file '{path}': {exc.strerror or exc}"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{path}' is not valid TOML: {exc}") from None


def config_from_mapping(
    data: Mapping[str, Any], *, base_dir: str | os.PathLike | None = None
) -> RunConfig:
    """Validate a parsed configuration (the mapping ``tomllib`` returns).

    Parameters
    ----------
    data : mapping
        Sections ``run``, ``hierarchy`` and ``model``; see the module docstring.
        It is not modified.
    base_dir : str or os.PathLike, optional
        Folder against which a relative ``hierarchy.file`` is resolved (default:
        the current directory).

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        On an unknown key (with the closest valid key as a suggestion), a missing
        required key, a value of the wrong type or out of range, an invalid
        hierarchy, or a parameter combination the model rejects. The message names
        the dotted key.
    """
    table = _table(data, "")
    _check_keys(table, _SECTIONS, "")
    if "run" not in table:
        raise ConfigError("config section [run] is required (it holds 'steps')")
    run = _parse_run(_table(table["run"], "run"))
    if "model" not in table:
        raise ConfigError("config section [model] is required (it holds 'kind')")
    hierarchy = None
    if "hierarchy" in table:
        base = Path.cwd() if base_dir is None else Path(base_dir)
        hierarchy = _parse_hierarchy(_table(table["hierarchy"], "hierarchy"), base)
    model = _parse_model(_table(table["model"], "model"), hierarchy)
    return RunConfig(model=model, **run)


def mlp_config_from_mapping(
    data: Mapping[str, Any], *, base_dir: str | os.PathLike | None = None
) -> MLPRunConfig:
    """Validate a parsed MLP configuration (the mapping ``tomllib`` returns).

    Parameters
    ----------
    data : mapping
        Sections ``run``, ``data``, ``hierarchy``, ``network`` and ``training``;
        see `MLP schema`_ in the module docstring. It is not modified.
    base_dir : str or os.PathLike, optional
        Folder against which a relative ``hierarchy.file`` or ``data.path`` is
        resolved (default: the current directory).

    Returns
    -------
    MLPRunConfig
        With the dataset generated (or read) and the network built.

    Raises
    ------
    ConfigError
        On an unknown key (with the closest valid key as a suggestion), a missing
        required key, a value of the wrong type or out of range, an invalid
        hierarchy, or a value the dataset generator, the data file or the network
        rejects. The message names the dotted key.
    """
    table = _table(data, "")
    _check_keys(table, _MLP_SECTIONS, "")
    for name, holds in (("run", "steps"), ("data", "kind"), ("training", "lr")):
        if name not in table:
            raise ConfigError(
                f"config section [{name}] is required (it holds '{holds}')"
            )
    run_table = _table(table["run"], "run")
    run = _parse_run(run_table, _MLP_RUN_KEYS, _MLP_OBSERVABLES)
    if "probe_eta" in run_table:
        run["probe_eta"] = _float(
            run_table["probe_eta"], "run.probe_eta", low=0.0, closed="right"
        )
    run["ntk_samples"] = _int(
        run_table.get("ntk_samples", 200), "run.ntk_samples", low=2
    )
    base = Path.cwd() if base_dir is None else Path(base_dir)
    hierarchy = None
    if "hierarchy" in table:
        hierarchy = _parse_hierarchy(_table(table["hierarchy"], "hierarchy"), base)
    data_section = _table(table["data"], "data")
    network = _parse_network(_table(table.get("network", {}), "network"))
    training = _parse_training(_table(table["training"], "training"))
    dataset, info = _build_dataset(data_section, hierarchy, run["seed"], base)

    n_outputs = _n_outputs(network.pop("n_outputs", None), network["loss"], dataset)
    mlp = _construct(
        MLP,
        "network",
        input_dim=dataset.n_features,
        n_outputs=n_outputs,
        **network,
    )
    if "batch_size" in training:
        training["batch_size"] = _int(
            training["batch_size"],
            "training.batch_size",
            low=1,
            high=dataset.n_samples,
        )
    return MLPRunConfig(mlp=mlp, dataset=dataset, data=info, **training, **run)


# ---------------------------------------------------------------------- sections
def _parse_run(
    run: Mapping[str, Any],
    keys: Sequence[str] = _RUN_KEYS,
    observables: Sequence[str] = tuple(o.value for o in Observable),
) -> dict[str, Any]:
    """The keys common to every [run] table; ``keys`` are the allowed ones."""
    _check_keys(run, keys, "run")
    if "steps" not in run:
        raise ConfigError("config key 'run.steps' is required (an int >= 0)")
    steps = _int(run["steps"], "run.steps", low=0)
    out: dict[str, Any] = {"steps": steps}
    out["seed"] = _int(run.get("seed", 0), "run.seed", low=0)
    out["n_probes"] = _int(run.get("n_probes", 20), "run.n_probes", low=2)
    if "record" in run:
        out["record"] = _parse_record(run["record"], steps)
    if "observe" in run:
        out["observe"] = _parse_observe(run["observe"], observables)
    return out


def _parse_record(value: Any, steps: int) -> RecordSchedule:
    key = "run.record"
    if _is_int(value):
        return RecordSchedule.stride(_int(value, key, low=1))
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"config key '{key}' must be an int stride or a table {{stride = k}}, "
            f"{{log = n}} or {{at = [...]}}; got {_show(value)}"
        )
    _check_keys(value, _RECORD_KEYS, key)
    if len(value) != 1:
        raise ConfigError(
            f"config key '{key}' must have exactly one of 'stride', 'log', 'at'; "
            f"got {len(value)} ({', '.join(map(repr, value)) or 'none'})"
        )
    ((kind, item),) = value.items()
    if kind == "stride":
        return RecordSchedule.stride(_int(item, f"{key}.stride", low=1))
    if kind == "log":
        return RecordSchedule.log(_int(item, f"{key}.log", low=1))
    points = _list(item, f"{key}.at", "a list of ints")
    at = [_int(s, f"{key}.at[{i}]", low=0) for i, s in enumerate(points)]
    beyond = [s for s in at if s > steps]
    if beyond:
        raise ConfigError(
            f"config key '{key}.at' lists step {beyond[0]}, beyond run.steps = {steps}"
        )
    return RecordSchedule.at(at)


def _parse_observe(value: Any, names: Sequence[str]) -> tuple[str, ...]:
    key = "run.observe"
    if isinstance(value, str):
        value = [value]
    items = _list(value, key, "a list of observable names")
    for i, item in enumerate(items):
        _choice(item, f"{key}[{i}]", names)
    return tuple(items)


def _parse_hierarchy(section: Mapping[str, Any], base_dir: Path) -> Hierarchy:
    _check_keys(section, _HIERARCHY_KEYS, "hierarchy")
    given = [k for k in _HIERARCHY_KEYS if k in section]
    if len(given) != 1:
        listed = ", ".join(repr(k) for k in _HIERARCHY_KEYS)
        found = f"got {len(given)}" + (f" ({', '.join(given)})" if given else "")
        raise ConfigError(
            f"config section [hierarchy] needs exactly one of {listed}; {found}"
        )
    (kind,) = given
    value = section[kind]
    key = f"hierarchy.{kind}"
    try:
        if kind == "preset":
            return Hierarchy.preset(_choice(value, key, list(PRESETS)))
        if kind == "file":
            return Hierarchy.load(_path(value, key, base_dir))
        if kind == "branching":
            items = _list(value, key, "a non-empty list of ints >= 1")
            if not items:
                raise ConfigError(
                    f"config key '{key}' must be a non-empty list of ints"
                )
            return Hierarchy.balanced(
                [_int(b, f"{key}[{i}]", low=1) for i, b in enumerate(items)]
            )
        return Hierarchy.from_nested(_table(value, key))
    except ConfigError:
        raise
    except SimnetError as exc:
        raise ConfigError(f"config key '{key}': {exc}") from exc


def _parse_model(section: Mapping[str, Any], hierarchy: Hierarchy | None) -> Any:
    if "kind" not in section:
        raise ConfigError(
            "config key 'model.kind' is required: one of "
            + ", ".join(repr(k) for k in _MODEL_KINDS)
        )
    kind = _choice(section["kind"], "model.kind", _MODEL_KINDS)
    other = "lesde" if kind == "hfs" else "hfs"
    for key in section:
        if key not in _MODEL_KEYS[kind] and key in _MODEL_KEYS[other]:
            hint = _HINTS.get(f"{kind}.{key}", f"it applies to kind = '{other}' only")
            raise ConfigError(
                f"unknown config key 'model.{key}' for kind = '{kind}' ({hint})"
            )
    _check_keys(section, _MODEL_KEYS[kind], "model")
    params = {k: v for k, v in section.items() if k != "kind"}
    if kind == "hfs":
        if hierarchy is None:
            raise ConfigError(
                "config section [hierarchy] is required for model.kind = 'hfs'"
            )
        kwargs = _hfs_kwargs(params, hierarchy)
        return _construct(HFSModel, "model", hierarchy, **kwargs)
    if "impact" not in params:
        raise ConfigError(
            "config table [model.impact] is required for model.kind = 'lesde'"
        )
    kwargs = _lesde_kwargs(params, hierarchy)
    kwargs["impact"] = _parse_impact(
        _table(params["impact"], "model.impact"), hierarchy
    )
    return _construct(LESDEModel, "model", hierarchy=hierarchy, **kwargs)


def _hfs_kwargs(params: Mapping[str, Any], hierarchy: Hierarchy) -> dict[str, Any]:
    parsers: dict[str, Callable[[Any, str], Any]] = {
        "n_per_class": _n_per_class,
        "p": lambda v, k: _int(v, k, low=1),
        "head": _head,
        "eta_phi": lambda v, k: _node_weights(v, k, hierarchy, low=0.0),
        "eta_lam": lambda v, k: _node_weights(v, k, hierarchy, low=0.0),
        "decay": lambda v, k: _node_weights(v, k, hierarchy, low=0.0, high=1.0),
        "lam0": lambda v, k: _node_weights(v, k, hierarchy),
        "phi_scale": lambda v, k: _float(v, k, low=0.0),
        "gamma": lambda v, k: _float(v, k, low=0.0),
        "eta_u": lambda v, k: _float(v, k, low=0.0),
        "sigma": lambda v, k: _float(v, k, low=0.0),
        "rate_scale": _schedule,
        "init_means": lambda v, k: np.array(_matrix(v, k)),
        "batch_size": lambda v, k: _int(v, k, low=1),
        "sampling": lambda v, k: _choice(v, k, [s.value for s in Sampling]),
    }
    return {
        name: parsers[name](value, f"model.{name}") for name, value in params.items()
    }


def _lesde_kwargs(
    params: Mapping[str, Any], hierarchy: Hierarchy | None
) -> dict[str, Any]:
    parsers: dict[str, Callable[[Any, str], Any]] = {
        "integrator": lambda v, k: _choice(v, k, [m.value for m in Integrator]),
        "n_per_class": _n_per_class,
        "p": lambda v, k: _int(v, k, low=1),
        "head": _head,
        "dt": lambda v, k: _float(v, k, low=0.0, closed="right"),
        "sigma": lambda v, k: _float(v, k, low=0.0),
        "noise": lambda v, k: _choice(v, k, [m.value for m in NoiseKind]),
        "surrogate": lambda v, k: _choice(v, k, [m.value for m in Surrogate]),
        "ode_method": lambda v, k: _choice(v, k, [m.value for m in OdeMethod]),
        "init_scale": lambda v, k: _float(v, k, low=0.0),
        "init_means": lambda v, k: np.array(_matrix(v, k)),
        "batch_size": lambda v, k: _int(v, k, low=1),
        "sampling": lambda v, k: _choice(v, k, [s.value for s in Sampling]),
    }
    return {
        name: parsers[name](value, f"model.{name}")
        for name, value in params.items()
        if name != "impact"
    }


def _parse_impact(
    section: Mapping[str, Any], hierarchy: Hierarchy | None
) -> ImpactMatrix:
    where = "model.impact"
    if "kind" not in section:
        raise ConfigError(
            f"config key '{where}.kind' is required: one of "
            + ", ".join(repr(k) for k in _IMPACT_KEYS)
        )
    kind = _choice(section["kind"], f"{where}.kind", list(_IMPACT_KEYS))
    _check_keys(section, _IMPACT_KEYS[kind], where, context=f"kind = '{kind}'")
    k_classes = None if hierarchy is None else hierarchy.n_classes
    if kind in ("hierarchy", "per_depth") and hierarchy is None:
        raise ConfigError(
            f"config key '{where}.kind' = '{kind}' needs a [hierarchy] section"
        )
    if kind == "two_parameter":
        for name in ("alpha", "beta"):
            if name not in section:
                raise ConfigError(f"config key '{where}.{name}' is required")
        if "n_classes" in section:
            n = _int(section["n_classes"], f"{where}.n_classes", low=2)
            if k_classes is not None and n != k_classes:
                raise ConfigError(
                    f"config key '{where}.n_classes' is {n}, but [hierarchy] has "
                    f"{k_classes} classes"
                )
        elif k_classes is None:
            raise ConfigError(
                f"config key '{where}.n_classes' is required without a [hierarchy] "
                "section"
            )
        else:
            n = k_classes
        alpha = _schedule(section["alpha"], f"{where}.alpha")
        beta = _schedule(section["beta"], f"{where}.beta")
        return _construct(ImpactMatrix.two_parameter, where, n, alpha=alpha, beta=beta)
    if kind == "constant":
        if "matrix" not in section:
            raise ConfigError(f"config key '{where}.matrix' is required")
        matrix = _matrix(section["matrix"], f"{where}.matrix")
        if k_classes is not None and len(matrix) != k_classes:
            raise ConfigError(
                f"config key '{where}.matrix' has {len(matrix)} rows, but [hierarchy] "
                f"has {k_classes} classes"
            )
        return _construct(ImpactMatrix.constant, where, matrix=matrix)
    assert hierarchy is not None
    if kind == "hierarchy":
        weights = _node_weights(
            section.get("weights", 1.0), f"{where}.weights", hierarchy
        )
        scale = _schedule(section.get("scale", 1.0), f"{where}.scale")
        return _construct(
            ImpactMatrix.from_hierarchy, where, hierarchy, weights, scale=scale
        )
    if "rates" not in section:
        raise ConfigError(
            f"config key '{where}.rates' is required (a list of "
            f"{hierarchy.max_depth + 1} schedules, one per depth)"
        )
    items = _list(section["rates"], f"{where}.rates", "a list of schedules")
    if len(items) != hierarchy.max_depth + 1:
        raise ConfigError(
            f"config key '{where}.rates' must have {hierarchy.max_depth + 1} entries "
            f"(depths 0..{hierarchy.max_depth}); got {len(items)}"
        )
    rates = [_schedule(r, f"{where}.rates[{i}]") for i, r in enumerate(items)]
    return _construct(ImpactMatrix.per_depth, where, hierarchy, rates=rates)


# ---------------------------------------------------------------------- MLP sections
def _parse_network(section: Mapping[str, Any]) -> dict[str, Any]:
    """[network] keys checked by type; ``n_outputs`` is resolved with the data."""
    _check_keys(section, _NETWORK_KEYS, "network")
    out = dict(_NETWORK_DEFAULTS)
    for name, value in section.items():
        key = f"network.{name}"
        if name == "hidden":
            out[name] = _hidden(value, key)
        elif name == "activation":
            out[name] = _choice(value, key, [a.value for a in Activation])
        elif name == "loss":
            out[name] = _choice(value, key, [o.value for o in OutputLoss])
        elif name == "bias":
            out[name] = _bool(value, key)
        else:
            out[name] = _int(value, key, low=1)
    return out


def _hidden(value: Any, key: str) -> tuple[int, ...]:
    if _is_int(value):
        return (_int(value, key, low=1),)
    items = _list(value, key, "a list of hidden-layer widths (ints >= 1)")
    return tuple(_int(h, f"{key}[{i}]", low=1) for i, h in enumerate(items))


def _n_outputs(given: int | None, loss: str, dataset: Dataset) -> int:
    """The output count: K for ``ce``, 1 for ``bce``, K (or 1 with 2 classes) for
    ``mse``."""
    k = dataset.n_classes
    if loss == OutputLoss.BCE.value and k != 2:
        raise ConfigError(
            f"config key 'network.loss' = 'bce' needs 2 classes; the data has {k} "
            "(use 'ce', or 'mse')"
        )
    if loss == OutputLoss.BCE.value:
        allowed = (1,)
    elif loss == OutputLoss.MSE.value and k == 2:
        allowed = (2, 1)
    else:
        allowed = (k,)
    if given is None:
        return allowed[0]
    if given not in allowed:
        listed = " or ".join(str(a) for a in sorted(allowed))
        raise ConfigError(
            f"config key 'network.n_outputs' must be {listed} for loss = '{loss}' "
            f"with {k} classes; got {given}"
        )
    return given


def _parse_training(section: Mapping[str, Any]) -> dict[str, Any]:
    """[training] keys checked by type; ``batch_size <= n`` is checked with the
    data."""
    _check_keys(section, _TRAINING_KEYS, "training")
    if "lr" not in section:
        raise ConfigError("config key 'training.lr' is required (a float > 0)")
    out: dict[str, Any] = {
        "lr": _float(section["lr"], "training.lr", low=0.0, closed="right")
    }
    if "batch_size" in section:
        out["batch_size"] = _int(section["batch_size"], "training.batch_size", low=1)
    if "momentum" in section:
        out["momentum"] = _float(
            section["momentum"], "training.momentum", low=0.0, high=1.0, closed="left"
        )
    if "sampling" in section:
        out["sampling"] = _choice(
            section["sampling"], "training.sampling", [s.value for s in Sampling]
        )
    return out


def _data_parsers(
    kind: str, hierarchy: Hierarchy | None, base_dir: Path
) -> dict[str, Callable[[Any, str], Any]]:
    """Parsers of the generator parameters of one data kind, by Python name."""
    positive = partial(_int, low=1)
    if kind == "hierarchical":
        assert hierarchy is not None
        return {
            "n_per_class": positive,
            "dim": positive,
            "latent_dim": positive,
            "node_scale": partial(_node_weights, hierarchy=hierarchy, low=0.0),
            "noise": partial(_float, low=0.0),
            "nonlinearity": partial(_choice, choices=[m.value for m in Nonlinearity]),
        }
    if kind == "torus":
        return {
            "n": partial(_int, low=2),
            "r": partial(_float, low=1.0, closed="right"),
            "k": positive,
        }
    if kind == "folded_boxes":
        return {
            "n": partial(_int, low=4),
            "k": partial(_float, low=0.0, closed="right"),
            "bias": partial(_float, low=0.0, closed="right"),
            "delta": partial(_float, low=0.0),
        }
    if kind == "shapes":
        return {"n_per_class": positive, "size": partial(_int, low=8)}
    if kind == "digits":
        return {
            "classes": _digit_classes,
            "hierarchy": partial(_choice, choices=[m.value for m in DigitsHierarchy]),
            "n_per_class": positive,
        }
    return {"path": partial(_path, base_dir=base_dir), "label_column": _text}


def _digit_classes(value: Any, key: str) -> list[int]:
    items = _list(value, key, "a list of digits (ints in [0, 9])")
    return [_int(d, f"{key}[{i}]", low=0, high=9) for i, d in enumerate(items)]


def _build_dataset(
    section: Mapping[str, Any],
    hierarchy: Hierarchy | None,
    run_seed: int,
    base_dir: Path,
) -> tuple[Dataset, dict[str, Any]]:
    """Validate [data], make the dataset, and say how it was made."""
    kinds = list(_DATA_GENERATORS)
    if "kind" not in section:
        raise ConfigError(
            "config key 'data.kind' is required: one of "
            + ", ".join(repr(k) for k in kinds)
        )
    kind = _choice(section["kind"], "data.kind", kinds)
    allowed = (*_DATA_COMMON_KEYS, *_DATA_PARAMS[kind])
    for name in section:
        others = [k for k in kinds if k != kind and name in _DATA_PARAMS[k]]
        if name not in allowed and others and f"data.{name}" not in _HINTS:
            raise ConfigError(
                f"unknown config key 'data.{name}' for kind = '{kind}' (it applies to "
                f"kind = {', '.join(repr(k) for k in others)})"
            )
    _check_keys(section, allowed, "data", context=f"kind = '{kind}'")
    if kind == "hierarchical" and hierarchy is None:
        raise ConfigError(
            "config section [hierarchy] is required for data.kind = 'hierarchical'"
        )
    if kind == "file" and "path" not in section:
        raise ConfigError(
            "config key 'data.path' is required for data.kind = 'file' (a .npz or "
            ".csv file)"
        )
    if (
        kind == "digits"
        and hierarchy is not None
        and section.get("hierarchy", "none") != DigitsHierarchy.NONE.value
    ):
        raise ConfigError(
            "config key 'data.hierarchy' and the [hierarchy] section both give the "
            "digits a hierarchy; keep one"
        )
    parsers = _data_parsers(kind, hierarchy, base_dir)
    params = {
        name: parsers[name](value, f"data.{name}")
        for name, value in section.items()
        if name not in _DATA_COMMON_KEYS
    }
    rate = _float(
        section.get("label_noise", 0.0), "data.label_noise", low=0.0, high=1.0
    )
    mode = _choice(
        section.get("label_noise_mode", LabelNoiseMode.UNIFORM_OTHER.value),
        "data.label_noise_mode",
        [m.value for m in LabelNoiseMode],
    )
    standardize = _bool(section.get("standardize", False), "data.standardize")
    if "seed" in section:
        data_seed: int | None = _int(section["seed"], "data.seed", low=0)
        root = np.random.SeedSequence(data_seed)
    else:
        data_seed = None
        root = np.random.SeedSequence(run_seed, spawn_key=_DATA_SPAWN_KEY)
    generator_seed, noise_seed = root.spawn(2)

    generator, _ = _DATA_GENERATORS[kind]
    if kind == "file":
        dataset = _construct(
            generator, "data", params.pop("path"), fallback="data.path", **params
        )
        made = {"path": str(dataset.metadata.get("source", "")), **params}
    else:
        args = (hierarchy,) if kind == "hierarchical" else ()
        dataset = _construct(generator, "data", *args, seed=generator_seed, **params)
        made = dict(dataset.metadata.get("params", params))
    if rate > 0.0:
        dataset = _construct(
            add_label_noise,
            "data",
            dataset,
            rate,
            seed=noise_seed,
            mode=mode,
            keys={"rate": "data.label_noise", "mode": "data.label_noise_mode"},
        )
    if hierarchy is not None and kind != "hierarchical":
        if tuple(hierarchy.classes) != dataset.class_names:
            raise ConfigError(
                "config section [hierarchy] must have the classes of the data in "
                f"label order, {_show(list(dataset.class_names))}; got "
                f"{_show(list(hierarchy.classes))}"
            )
        dataset = dataset.replace(hierarchy=hierarchy)
    if standardize:
        dataset = dataset.standardize()
    info = {
        "kind": kind,
        **made,
        "seed": data_seed,
        "seed_entropy": root.entropy,
        "seed_spawn_key": list(root.spawn_key),
        "label_noise": rate,
        "label_noise_mode": mode,
        "standardize": standardize,
    }
    return dataset, info


# ---------------------------------------------------------------------- values
def _construct(
    factory: Callable[..., Any],
    where: str,
    *args: Any,
    keys: Mapping[str, str | None] | None = None,
    fallback: str | None = None,
    **kwargs: Any,
) -> Any:
    """Call a constructor or generator, turning its errors into dotted-key
    ConfigErrors (see :func:`_dotted_message`)."""
    try:
        return factory(*args, **kwargs)
    except SimnetError as exc:
        raise ConfigError(_dotted_message(str(exc), where, keys, fallback)) from exc


_PARAMETER_PHRASE = re.compile(r"The '([A-Za-z_][\w.]*)' parameter of [\w.]+")
# scikit-learn's ending "... must be X. Got 7 instead." becomes "... must be X; got 7".
_GOT_INSTEAD = re.compile(r"\. Got (.+) instead\.$")


def _dotted_message(
    message: str,
    where: str,
    keys: Mapping[str, str | None] | None = None,
    fallback: str | None = None,
) -> str:
    """Rewrite ``The 'p' parameter of HFSModel ...`` as ``config key 'model.p' ...``.

    A parameter is the key ``where.name`` unless ``keys`` maps its name to another
    dotted key, or to None for a parameter that is no key (then, as for a message
    naming no parameter, the message is prefixed with ``config key 'fallback':`` or
    ``invalid [where]:``).
    """
    match = _PARAMETER_PHRASE.search(message)
    name = None if match is None else match.group(1)
    keys = keys or {}
    if match is None or (name in keys and keys[name] is None):
        if fallback is not None:
            return f"config key '{fallback}': {message}"
        return f"invalid [{where}]: {message}"
    assert name is not None
    dotted = keys.get(name) or (
        name if name.startswith(f"{where}.") else f"{where}.{name}"
    )
    rest = _GOT_INSTEAD.sub(r"; got \1", message[match.end() :])
    return message[: match.start()] + f"config key '{dotted}'" + rest


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        what = "the config" if not key else f"config key '{key}'"
        raise ConfigError(f"{what} must be a table; got {_show(value)}")
    return value


def _check_keys(
    table: Mapping[str, Any],
    allowed: Sequence[str],
    where: str,
    *,
    context: str | None = None,
) -> None:
    for key in table:
        if key in allowed:
            continue
        dotted = f"{where}.{key}" if where else str(key)
        message = f"unknown config key '{dotted}'"
        if context:
            message += f" for {context}"
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        if close:
            suggestion = f"{where}.{close[0]}" if where else close[0]
            message += f" (did you mean '{suggestion}'?)"
        elif dotted in _HINTS:
            message += f" ({_HINTS[dotted]})"
        else:
            place = f"[{where}]" if where else "the top level"
            message += f"; valid keys in {place}: {', '.join(allowed)}"
        raise ConfigError(message)


def _show(value: Any) -> str:
    """A short TOML-flavoured rendering of a value for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    text = repr(value)
    if isinstance(value, list):
        text = "the list " + text
    return text if len(text) <= 60 else text[:57] + "..."


def _interval(low: float | None, high: float | None, closed: str) -> str:
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _float(
    value: Any,
    key: str,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> float:
    ok = _is_number(value) and np.isfinite(float(value))
    if ok:
        x = float(value)
        if low is not None:
            ok = x >= low if closed in ("both", "left") else x > low
        if ok and high is not None:
            ok = x <= high if closed in ("both", "right") else x < high
    if not ok:
        raise ConfigError(
            f"config key '{key}' must be a float in {_interval(low, high, closed)}; "
            f"got {_show(value)}"
        )
    return float(value)


def _int(
    value: Any, key: str, *, low: int | None = None, high: int | None = None
) -> int:
    ok = _is_int(value) and (low is None or value >= low)
    ok = ok and (high is None or value <= high)
    if not ok:
        raise ConfigError(
            f"config key '{key}' must be an int in {_interval(low, high, 'both')}; "
            f"got {_show(value)}"
        )
    return int(value)


def _choice(value: Any, key: str, choices: Sequence[str]) -> str:
    if isinstance(value, str) and value in choices:
        return value
    listed = ", ".join(repr(c) for c in choices)
    message = f"config key '{key}' must be one of {listed}; got {_show(value)}"
    if isinstance(value, str):
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
        if close:
            message += f" (did you mean '{close[0]}'?)"
    raise ConfigError(message)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(
            f"config key '{key}' must be true or false; got {_show(value)}"
        )
    return value


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"config key '{key}' must be a non-empty string; got {_show(value)}"
        )
    return value


def _path(value: Any, key: str, base_dir: Path) -> Path:
    """A file name, relative to ``base_dir`` unless absolute (``~`` expanded)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"config key '{key}' must be a file name (a string); got {_show(value)}"
        )
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def _list(value: Any, key: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"config key '{key}' must be {what}; got {_show(value)}")
    return value


def _n_per_class(value: Any, key: str) -> int | list[int]:
    if isinstance(value, list):
        return [_int(v, f"{key}[{i}]", low=1) for i, v in enumerate(value)]
    if not _is_int(value):
        raise ConfigError(
            f"config key '{key}' must be an int >= 1 or a list of them (one per "
            f"class); got {_show(value)}"
        )
    return _int(value, key, low=1)


def _matrix(value: Any, key: str) -> list[list[float]]:
    rows = _list(value, key, "an array of arrays of floats")
    out = []
    for i, row in enumerate(rows):
        cells = _list(row, f"{key}[{i}]", "an array of floats")
        out.append([_float(c, f"{key}[{i}][{j}]") for j, c in enumerate(cells)])
    if not out or any(len(r) != len(out[0]) for r in out):
        raise ConfigError(
            f"config key '{key}' must be a non-empty array of arrays of equal length"
        )
    return out


def _head(value: Any, key: str) -> str | np.ndarray:
    if isinstance(value, str):
        return _choice(value, key, ("identity", "random"))
    if isinstance(value, list):
        return np.array(_matrix(value, key))
    raise ConfigError(
        f"config key '{key}' must be 'identity', 'random' or an array of arrays "
        f"(K x p); got {_show(value)}"
    )


def _node_weights(
    value: Any,
    key: str,
    hierarchy: Hierarchy,
    *,
    low: float | None = None,
    high: float | None = None,
) -> float | list[float] | dict[str, float]:
    """A float, a list with one float per depth, or a table ``node -> float``."""
    if isinstance(value, Mapping):
        for node in value:
            if node not in hierarchy.node_index:
                message = f"config key '{key}' names unknown node {node!r}"
                close = difflib.get_close_matches(str(node), hierarchy.nodes, n=1)
                if close:
                    message += f" (did you mean {close[0]!r}?)"
                raise ConfigError(message)
        missing = [v for v in hierarchy.nodes if v not in value]
        if missing:
            raise ConfigError(
                f"config key '{key}' has no value for node {missing[0]!r} (a table "
                "must give every node; use a float or a list per depth otherwise)"
            )
        return {
            node: _float(value[node], f"{key}.{node}", low=low, high=high)
            for node in hierarchy.nodes
        }
    if isinstance(value, list):
        n_depth = hierarchy.max_depth + 1
        if len(value) != n_depth:
            raise ConfigError(
                f"config key '{key}' given per depth must have {n_depth} entries "
                f"(depths 0..{hierarchy.max_depth}); got {len(value)}"
            )
        return [
            _float(v, f"{key}[{i}]", low=low, high=high) for i, v in enumerate(value)
        ]
    if not _is_number(value):
        raise ConfigError(
            f"config key '{key}' must be a float, a list with one float per depth or a "
            f"table node -> float; got {_show(value)}"
        )
    return _float(value, key, low=low, high=high)


def _schedule(value: Any, key: str) -> Schedule:
    """A float or a schedule table ``{kind = ..., ...}``."""
    if _is_number(value):
        return as_schedule(_float(value, key), key)
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"config key '{key}' must be a float or a schedule table "
            f"{{kind = ..., ...}}; got {_show(value)}"
        )
    if "kind" not in value:
        raise ConfigError(
            f"config key '{key}.kind' is required: one of "
            + ", ".join(repr(k) for k in _SCHEDULE_KEYS)
        )
    kind = _choice(value["kind"], f"{key}.kind", list(_SCHEDULE_KEYS))
    required, optional = _SCHEDULE_KEYS[kind]
    _check_keys(
        value, ("kind", *required, *optional), key, context=f"a {kind} schedule"
    )
    for name in required:
        if name not in value:
            raise ConfigError(
                f"config key '{key}.{name}' is required for a {kind} schedule"
            )
    spec: dict[str, Any] = {"kind": kind}
    for name in (*required, *optional):
        if name not in value:
            continue
        if name in ("times", "values"):
            items = _list(value[name], f"{key}.{name}", "a list of floats")
            spec[name] = [_float(v, f"{key}.{name}[{i}]") for i, v in enumerate(items)]
        elif name == "offset":
            spec[name] = _float(value[name], f"{key}.{name}", low=0.0, closed="right")
        else:
            spec[name] = _float(value[name], f"{key}.{name}")
    return _construct(as_schedule, key, spec, key)
