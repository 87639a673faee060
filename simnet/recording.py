"""When to record observables: a fixed stride, log-spaced points, or explicit steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_int
from .errors import ConfigError

__all__ = ["RecordSchedule", "as_record_schedule"]


@dataclass(frozen=True)
class RecordSchedule:
    """A record schedule. Step 0 (the initial state) and the last step are always kept.

    Use :meth:`stride`, :meth:`log` or :meth:`at`.

    Examples
    --------
    >>> RecordSchedule.stride(250).steps(1000).tolist()
    [0, 250, 500, 750, 1000]
    >>> RecordSchedule.log(5).steps(10000).tolist()
    [0, 1, 10, 100, 1000, 10000]
    """

    kind: str
    value: Any

    @classmethod
    def stride(cls, every: int) -> RecordSchedule:
        return cls("stride", check_int(every, "record", "simulate", low=1))

    @classmethod
    def log(cls, n_points: int) -> RecordSchedule:
        """About ``n_points`` log-spaced steps from 1 to the last step (plus step 0)."""
        return cls("log", check_int(n_points, "record", "simulate", low=1))

    @classmethod
    def at(cls, steps: Sequence[int]) -> RecordSchedule:
        values = [check_int(s, "record", "simulate", low=0) for s in steps]
        return cls("at", tuple(values))

    def steps(self, total: int) -> np.ndarray:
        """Sorted unique record steps in ``[0, total]``, including 0 and ``total``."""
        if self.kind == "stride":
            pts = np.arange(0, total + 1, self.value)
        elif self.kind == "log":
            pts = (
                np.unique(
                    np.round(np.logspace(0, np.log10(total), self.value)).astype(
                        np.int64
                    )
                )
                if total >= 1
                else np.zeros(0, dtype=np.int64)
            )
        else:
            pts = np.array([s for s in self.value if s <= total], dtype=np.int64)
            if len(pts) != len(self.value):
                bad = next(s for s in self.value if s > total)
                raise ConfigError(
                    f"The 'record' parameter of simulate lists step {bad}, beyond the "
                    f"last step {total}."
                )
        return np.unique(np.concatenate([[0], pts, [total]]).astype(np.int64))

    def to_config(self) -> dict[str, Any]:
        return {self.kind: list(self.value) if self.kind == "at" else self.value}


def as_record_schedule(record: Any, steps: int) -> RecordSchedule:
    """Normalise the ``record`` argument: None (about 100 evenly spaced records), an int
    stride, a RecordSchedule, a sequence of steps, or a mapping ``{"stride": k}`` /
    ``{"log": n}`` / ``{"at": [...]}``."""
    if record is None:
        return RecordSchedule.stride(max(1, steps // 100))
    if isinstance(record, RecordSchedule):
        return record
    if isinstance(record, (int, np.integer)) and not isinstance(record, bool):
        return RecordSchedule.stride(int(record))
    if isinstance(record, dict) and len(record) == 1:
        ((kind, value),) = record.items()
        if kind == "stride":
            return RecordSchedule.stride(value)
        if kind == "log":
            return RecordSchedule.log(value)
        if kind == "at":
            return RecordSchedule.at(value)
    if isinstance(record, (list, tuple, np.ndarray)):
        return RecordSchedule.at(list(record))
    raise ConfigError(
        "The 'record' parameter of simulate must be an int stride, a RecordSchedule, a "
        "list of steps, or one of {'stride': k}, {'log': n}, {'at': [...]}. "
        f"Got {record!r} instead."
    )
