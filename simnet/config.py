"""Run configurations: a TOML file naming a model and how long to simulate it.

A run configuration is data only. It is parsed with :mod:`tomllib`, checked key by
key, and turned into a model (:class:`~simnet.HFSModel` or :class:`~simnet.LESDEModel`)
plus the keyword arguments of :func:`simnet.simulate`. Nothing in the file is
executed, and a hierarchy file it names is parsed as data as well.

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
  ``phi_scale``, ``gamma``, ``eta_u``, ``sigma`` (floats >= 0), ``batch_size``
  (int >= 1) and ``sampling`` (``"uniform"`` or ``"epoch"``).
* ``lesde`` (:class:`~simnet.LESDEModel`): ``integrator`` (``"sgd"``, ``"sde"``,
  ``"ode"``), ``n_per_class``, ``p``, ``head``, ``dt`` (float > 0), ``sigma``
  (float >= 0), ``noise`` (``"constant"``, ``"gradient"``), ``surrogate``
  (``"ce"``, ``"identity"``, ``"projected"``, ``"etf"``), ``ode_method``
  (``"euler"``, ``"rk4"``), ``init_scale`` (float >= 0), ``batch_size``,
  ``sampling``, and the required table ``[model.impact]``.

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
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, SimnetError
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
from .recorder import Observable
from .recording import RecordSchedule
from .results import RunResult
from .schedules import Schedule, as_schedule
from .simulate import simulate

__all__ = ["RunConfig", "config_from_mapping", "load_config"]


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
_HINTS = {
    "model.hierarchy": "the hierarchy goes in the [hierarchy] section",
    "run.progress": "progress is a command-line choice, not part of the config",
    "hfs.impact": "[model.impact] applies to kind = 'lesde' only",
}


# ---------------------------------------------------------------------- loading
def load_config(path: str | os.PathLike) -> RunConfig:
    """Read and validate a TOML run configuration.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.toml`` file. A ``[hierarchy] file`` in it is relative to its folder.

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
    path = Path(path)
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
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{path}' is not valid TOML: {exc}") from None
    try:
        return config_from_mapping(data, base_dir=path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


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


# ---------------------------------------------------------------------- sections
def _parse_run(run: Mapping[str, Any]) -> dict[str, Any]:
    _check_keys(run, _RUN_KEYS, "run")
    if "steps" not in run:
        raise ConfigError("config key 'run.steps' is required (an int >= 0)")
    steps = _int(run["steps"], "run.steps", low=0)
    out: dict[str, Any] = {"steps": steps}
    out["seed"] = _int(run.get("seed", 0), "run.seed", low=0)
    out["n_probes"] = _int(run.get("n_probes", 20), "run.n_probes", low=2)
    if "record" in run:
        out["record"] = _parse_record(run["record"], steps)
    if "observe" in run:
        out["observe"] = _parse_observe(run["observe"])
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


def _parse_observe(value: Any) -> tuple[str, ...]:
    key = "run.observe"
    if isinstance(value, str):
        value = [value]
    items = _list(value, key, "a list of observable names")
    names = [o.value for o in Observable]
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
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(
                    f"config key '{key}' must be a file name (a string); "
                    f"got {_show(value)}"
                )
            path = Path(value).expanduser()
            return Hierarchy.load(path if path.is_absolute() else base_dir / path)
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


# ---------------------------------------------------------------------- values
def _construct(
    factory: Callable[..., Any], where: str, *args: Any, **kwargs: Any
) -> Any:
    """Call a model constructor, turning its errors into dotted-key ConfigErrors."""
    try:
        return factory(*args, **kwargs)
    except SimnetError as exc:
        raise ConfigError(_dotted_message(str(exc), where)) from exc


_PARAMETER_PHRASE = re.compile(r"The '([A-Za-z_][\w.]*)' parameter of [\w.]+")


def _dotted_message(message: str, where: str) -> str:
    """Rewrite ``The 'p' parameter of HFSModel ...`` as ``config key 'model.p' ...``."""
    match = _PARAMETER_PHRASE.search(message)
    if match is None:
        return f"invalid [{where}]: {message}"
    name = match.group(1)
    dotted = name if name.startswith(f"{where}.") else f"{where}.{name}"
    return message[: match.start()] + f"config key '{dotted}'" + message[match.end() :]


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
