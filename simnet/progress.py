"""Progress bars: tqdm on a terminal, silent otherwise or when asked."""

from __future__ import annotations

import sys
from typing import Any


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(
    total: int, *, enabled: bool | None, desc: str = "", unit: str = "step"
) -> Any:
    """A tqdm bar (with rate and ETA) when ``enabled`` (None: only when stderr is a
    terminal) and tqdm is installed; otherwise an object with no-op ``update`` and
    ``close``. ``unit`` names what is counted (steps, cells...)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - optional dependency
        return _Silent()
    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
