"""The runner interface and the factory that picks a runner for a model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..errors import ConfigError, DivergenceError
from ..hierarchy import Hierarchy


class Runner(ABC):
    """Base class: owns one simulation's state and advances it through a kernel."""

    hierarchy: Hierarchy
    step: int
    has_samples: bool = True
    has_amounts: bool = False

    @abstractmethod
    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` steps in place; raise DivergenceError on NaN/inf."""

    def time(self) -> float:
        return float(self.step)

    @abstractmethod
    def features(self) -> np.ndarray:
        """All particles, shape (n, p)."""

    @abstractmethod
    def logits(self, features: np.ndarray) -> np.ndarray:
        """Logits of the given features, shape (n, K)."""

    @property
    @abstractmethod
    def labels(self) -> np.ndarray:
        """Class index of each particle."""

    @abstractmethod
    def impact(self) -> np.ndarray:
        """The K x K impact matrix at the current state."""

    @abstractmethod
    def probe(self, i: int, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Logit changes at ``targets`` after one plain SGD step on sample ``i``,
        and the logit-space loss gradient r_i = softmax(z_i) - e_{c_i}."""

    def amounts(self) -> tuple[np.ndarray, np.ndarray]:
        """Node amounts and depths (models with amounts only: ``has_amounts``)."""
        raise ConfigError(f"{type(self).__name__} has no node amounts")

    @abstractmethod
    def final_state(self) -> dict[str, np.ndarray]:
        """Arrays saved with the result."""

    @abstractmethod
    def likely_cause(self) -> str:
        """A sentence naming the rate that most likely made the run diverge."""

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
