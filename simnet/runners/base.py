"""The runner interface and the factory that picks a runner for a model."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, DivergenceError
from ..hierarchy import Hierarchy


class Runner:
    """Base class. Subclasses implement :meth:`advance` and the probes."""

    hierarchy: Hierarchy
    step: int
    has_samples: bool = True
    has_amounts: bool = False

    def advance(self, n_steps: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def time(self) -> float:
        return float(self.step)

    def features(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def logits(self, features: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def labels(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def impact(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def probe(self, i: int, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Logit changes at ``targets`` after one plain SGD step on sample ``i``,
        and the logit-space loss gradient r_i = softmax(z_i) - e_{c_i}."""
        raise NotImplementedError  # pragma: no cover - abstract

    def amounts(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def final_state(self) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def likely_cause(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def diverged(self, step: int, what: str) -> DivergenceError:
        return DivergenceError(
            f"the simulation diverged at step {step}: {what} became NaN or infinite. "
            f"Likely cause: {self.likely_cause()}",
            step,
        )


def make_runner(model: Any, rngs: dict[str, np.random.Generator]) -> Runner:
    """The runner for ``model`` (an HFSModel or an LESDEModel)."""
    from ..models import HFSModel, LESDEModel

    if isinstance(model, HFSModel):
        from .hfs import HFSRunner

        return HFSRunner(model, rngs)
    if isinstance(model, LESDEModel):
        from .lesde import LESDERunner

        return LESDERunner(model, rngs)
    raise ConfigError(
        "The 'model' parameter of simulate must be an HFSModel or an LESDEModel. "
        f"Got {type(model).__name__} instead."
    )
