"""Validation helpers used at the public boundary.

Messages follow one shape, after scikit-learn: ``The 'dt' parameter of simulate must be
a float in (0, inf). Got -0.1 instead.``
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

from .errors import ConfigError


def _where(name: str, owner: str | None) -> str:
    return f"The '{name}' parameter of {owner}" if owner else f"The '{name}' parameter"


def _interval(low: float | None, high: float | None, closed: str) -> str:
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    return f"{left}{lo}, {hi}{right}"


def _in_range(x: float, low: float | None, high: float | None, closed: str) -> bool:
    if low is not None:
        if closed in ("both", "left"):
            if not x >= low:
                return False
        elif not x > low:
            return False
    if high is not None:
        if closed in ("both", "right"):
            if not x <= high:
                return False
        elif not x < high:
            return False
    return True


def check_float(
    value: object,
    name: str,
    owner: str | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> float:
    """Return ``value`` as a finite float inside the interval, or raise ConfigError."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        x = float(value)
        ok = np.isfinite(x) and _in_range(x, low, high, closed)
    if not ok:
        raise ConfigError(
            f"{_where(name, owner)} must be a float in {_interval(low, high, closed)}. "
            f"Got {value!r} instead."
        )
    return x


def check_int(
    value: object,
    name: str,
    owner: str | None = None,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """Return ``value`` as an int inside ``[low, high]``, or raise ConfigError."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok:
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        raise ConfigError(
            f"{_where(name, owner)} must be an int in {_interval(low, high, 'both')}. "
            f"Got {value!r} instead."
        )
    return int(value)


def check_choice(
    value: object, name: str, owner: str | None, choices: Sequence[str]
) -> str:
    """Return ``value`` if it is one of ``choices``, or raise ConfigError."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ConfigError(
            f"{_where(name, owner)} must be one of {listed}. Got {value!r} instead."
        )
    return value


def check_array(
    value: object,
    name: str,
    owner: str | None = None,
    *,
    shape: tuple[int | None, ...] | None = None,
    nonnegative: bool = False,
) -> np.ndarray:
    """Return ``value`` as a finite float64 array of the given shape.

    A ``None`` entry in ``shape`` matches any length.
    """
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{_where(name, owner)} must be an array of floats. Got {value!r} instead."
        ) from None
    if shape is not None:
        good = arr.ndim == len(shape) and all(
            s is None or s == a for s, a in zip(shape, arr.shape, strict=True)
        )
        if not good:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ConfigError(
                f"{_where(name, owner)} must have shape {want}. "
                f"Got shape {arr.shape} instead."
            )
    if not np.all(np.isfinite(arr)):
        raise ConfigError(
            f"{_where(name, owner)} must be finite. Got a NaN or inf entry."
        )
    if nonnegative and np.any(arr < 0):
        raise ConfigError(
            f"{_where(name, owner)} must be nonnegative. Got minimum {arr.min():g}."
        )
    return arr


def check_enum(cls: type[Enum], value: Any, name: str, owner: str | None) -> Any:
    """Return ``cls(value)``, or raise ConfigError listing the allowed values."""
    try:
        return cls(value)
    except ValueError:
        choices = ", ".join(repr(m.value) for m in cls)
        raise ConfigError(
            f"{_where(name, owner)} must be one of {choices}. Got {value!r} instead."
        ) from None
