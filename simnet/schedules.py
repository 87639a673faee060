"""Scalar time schedules (learning rates, impact coefficients) as small objects.

A schedule maps an array of times to an array of values. Each one round-trips through
a plain dict (``to_config`` / :func:`as_schedule`), so it can live in a TOML file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_array, check_float
from .errors import ConfigError

__all__ = [
    "Constant",
    "Exponential",
    "FromCallable",
    "Piecewise",
    "PowerLaw",
    "Schedule",
    "as_schedule",
]


class Schedule:
    """Base class: ``schedule(t)`` evaluates at an array of times."""

    kind: str = ""

    def __call__(self, t: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def integral(self, t: np.ndarray) -> np.ndarray:
        """Integral from 0 to t, by the trapezoidal rule on a fine grid.

        Exact for :class:`Constant` and :class:`Piecewise`, overridden where closed
        forms exist.
        """
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        out = np.empty_like(t)
        for j, tj in enumerate(t):
            grid = np.linspace(0.0, tj, 2049)
            out[j] = np.trapezoid(self(grid), grid)
        return out


@dataclass(frozen=True)
class Constant(Schedule):
    """``value`` at every time."""

    value: float
    kind = "constant"

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return np.full(np.shape(t), self.value, dtype=np.float64)

    def integral(self, t: np.ndarray) -> np.ndarray:
        return self.value * np.asarray(t, dtype=np.float64)

    def to_config(self) -> dict[str, Any]:
        return {"kind": "constant", "value": self.value}


@dataclass(frozen=True)
class PowerLaw(Schedule):
    """``scale * (t + offset) ** (-exponent)``.

    The tail form alpha(t) ~ t^-r of LE-SDE.
    """

    scale: float
    exponent: float
    offset: float = 1.0
    kind = "power"

    def __post_init__(self) -> None:
        check_float(self.offset, "offset", "PowerLaw", low=0.0, closed="neither")

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return self.scale * (np.asarray(t, dtype=np.float64) + self.offset) ** (
            -self.exponent
        )

    def integral(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        r, c = self.exponent, self.offset
        if r == 1.0:
            return self.scale * (np.log(t + c) - np.log(c))
        return self.scale * ((t + c) ** (1 - r) - c ** (1 - r)) / (1 - r)

    def to_config(self) -> dict[str, Any]:
        return {
            "kind": "power",
            "scale": self.scale,
            "exponent": self.exponent,
            "offset": self.offset,
        }


@dataclass(frozen=True)
class Exponential(Schedule):
    """``scale * exp(-rate * t)``."""

    scale: float
    rate: float
    kind = "exponential"

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return self.scale * np.exp(-self.rate * np.asarray(t, dtype=np.float64))

    def integral(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        if self.rate == 0:
            return self.scale * t
        return self.scale * (1.0 - np.exp(-self.rate * t)) / self.rate

    def to_config(self) -> dict[str, Any]:
        return {"kind": "exponential", "scale": self.scale, "rate": self.rate}


@dataclass(frozen=True, eq=False)
class Piecewise(Schedule):
    """Linear interpolation through ``(times, values)``; constant outside the knots."""

    times: tuple[float, ...]
    values: tuple[float, ...]
    kind = "piecewise"

    def __post_init__(self) -> None:
        times = check_array(self.times, "times", "Piecewise", shape=(None,))
        values = check_array(
            self.values, "values", "Piecewise", shape=(times.shape[0],)
        )
        if times.shape[0] < 1 or np.any(np.diff(times) <= 0):
            raise ConfigError(
                "The 'times' parameter of Piecewise must be a non-empty, strictly "
                f"increasing list. Got {list(self.times)!r} instead."
            )
        object.__setattr__(self, "times", tuple(times.tolist()))
        object.__setattr__(self, "values", tuple(values.tolist()))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(t, dtype=np.float64), self.times, self.values)

    def to_config(self) -> dict[str, Any]:
        return {
            "kind": "piecewise",
            "times": list(self.times),
            "values": list(self.values),
        }


@dataclass(frozen=True, eq=False)
class FromCallable(Schedule):
    """Wrap a vectorised callable ``f(t: ndarray) -> ndarray`` (not saved to files)."""

    function: Callable[[np.ndarray], np.ndarray]
    kind = "callable"

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        out = np.asarray(self.function(t), dtype=np.float64)
        if out.shape != t.shape:
            out = np.broadcast_to(out, t.shape).copy()
        return out

    def to_config(self) -> dict[str, Any]:
        return {"kind": "callable", "repr": repr(self.function)}


_KINDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "constant": (Constant, ("value",)),
    "power": (PowerLaw, ("scale", "exponent", "offset")),
    "exponential": (Exponential, ("scale", "rate")),
    "piecewise": (Piecewise, ("times", "values")),
}


def as_schedule(value: Any, name: str = "schedule") -> Schedule:
    """Turn a float, Schedule, config mapping or vectorised callable into a Schedule.

    Raises
    ------
    ConfigError
        If the value has none of those forms, or a mapping has an unknown kind or key.
    """
    if isinstance(value, Schedule):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    ):
        return Constant(check_float(value, name))
    if isinstance(value, Mapping):
        kind = value.get("kind")
        if kind not in _KINDS:
            raise ConfigError(
                f"The '{name}.kind' key must be one of {', '.join(map(repr, _KINDS))}. "
                f"Got {kind!r} instead."
            )
        cls, keys = _KINDS[kind]
        extra = [k for k in value if k != "kind" and k not in keys]
        if extra:
            raise ConfigError(f"unknown key '{name}.{extra[0]}' for a {kind} schedule")
        kwargs = {k: value[k] for k in keys if k in value}
        for k, v in kwargs.items():
            if k in ("times", "values"):
                kwargs[k] = tuple(check_array(v, f"{name}.{k}", shape=(None,)).tolist())
            else:
                kwargs[k] = check_float(v, f"{name}.{k}")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"incomplete {kind} schedule '{name}': {exc}") from None
    if callable(value):
        return FromCallable(value)
    raise ConfigError(
        f"The '{name}' parameter must be a float, a Schedule, a mapping with a 'kind' "
        f"key or a vectorised callable. Got {value!r} instead."
    )
