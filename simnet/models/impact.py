"""Impact matrices E(t) of the LE-SDE model as a sum of scheduled basis matrices.

``E(t) = sum_r f_r(t) M_r`` with fixed K x K matrices M_r and scalar schedules f_r.
This covers a constant E (one term), the two-parameter form
``E = alpha(t) I + beta(t) (1 1^T - I) = (alpha - beta) I + beta 1 1^T`` (two terms) and
hierarchy-derived forms ``E = sum_d f_d(t) E_{[depth = d]}`` (one term per depth),
while letting a kernel fetch the column ``E[:, c]`` in O(R K) per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .._validation import check_array, check_int
from ..errors import ConfigError
from ..hierarchy import Hierarchy, NodeWeights
from ..schedules import Schedule, as_schedule
from .impact_groups import ImpactGroups, impact_groups

__all__ = ["ImpactMatrix"]


@dataclass(frozen=True, eq=False)
class ImpactMatrix:
    """A K x K impact matrix, constant or scheduled in time.

    Parameters
    ----------
    basis : ndarray, shape (R, K, K)
        Fixed symmetric or non-symmetric matrices M_r.
    coefficients : tuple of Schedule, length R
        The schedules f_r(t).
    names : tuple of str, length R
        Names of the terms, used in configs and reports.
    kind : str
        How it was built (``constant``, ``two_parameter``, ``hierarchy``, ``basis``).

    Notes
    -----
    Zhang, Wang & Su (NeurIPS 2021) use ``E = (alpha - beta) I + beta 1 1^T``: alpha
    is the intra-class and beta the inter-class impact; the model is locally elastic
    iff alpha > beta.
    """

    basis: np.ndarray
    coefficients: tuple[Schedule, ...]
    names: tuple[str, ...]
    kind: str = "basis"
    spec: Any = None

    def __post_init__(self) -> None:
        basis = np.array(self.basis, dtype=np.float64)
        if basis.ndim != 3 or basis.shape[1] != basis.shape[2] or basis.shape[0] < 1:
            raise ConfigError(
                "The 'basis' parameter of ImpactMatrix must have shape (R, K, K). "
                f"Got shape {basis.shape} instead."
            )
        if not np.all(np.isfinite(basis)):
            raise ConfigError("The 'basis' parameter of ImpactMatrix must be finite.")
        if (
            len(self.coefficients) != basis.shape[0]
            or len(self.names) != basis.shape[0]
        ):
            raise ConfigError(
                "ImpactMatrix needs one coefficient schedule and one name per basis "
                f"matrix: got {basis.shape[0]} matrices, {len(self.coefficients)} "
                f"schedules and {len(self.names)} names."
            )
        basis.setflags(write=False)
        object.__setattr__(self, "basis", basis)
        object.__setattr__(
            self,
            "coefficients",
            tuple(
                as_schedule(c, n)
                for c, n in zip(self.coefficients, self.names, strict=True)
            ),
        )

    # ------------------------------------------------------------------ builders
    @classmethod
    def constant(cls, matrix: np.ndarray | Sequence[Sequence[float]]) -> ImpactMatrix:
        """A constant K x K matrix."""
        e = check_array(matrix, "matrix", "ImpactMatrix.constant", shape=(None, None))
        if e.shape[0] != e.shape[1] or e.shape[0] < 2:
            raise ConfigError(
                "The 'matrix' parameter of ImpactMatrix.constant must be square with "
                f"K >= 2. Got shape {e.shape} instead."
            )
        return cls(e[None], (as_schedule(1.0),), ("scale",), "constant", e.tolist())

    @classmethod
    def two_parameter(
        cls, n_classes: int, alpha: float | Schedule | Any, beta: float | Schedule | Any
    ) -> ImpactMatrix:
        """``E(t) = (alpha(t) - beta(t)) I + beta(t) 1 1^T``.

        Examples
        --------
        >>> ImpactMatrix.two_parameter(3, alpha=2.0, beta=0.5).at(0.0).tolist()
        [[2.0, 0.5, 0.5], [0.5, 2.0, 0.5], [0.5, 0.5, 2.0]]
        """
        k = check_int(n_classes, "n_classes", "ImpactMatrix.two_parameter", low=2)
        eye = np.eye(k)
        basis = np.stack([eye, np.ones((k, k)) - eye])
        return cls(
            basis,
            (as_schedule(alpha, "alpha"), as_schedule(beta, "beta")),
            ("alpha", "beta"),
            "two_parameter",
            k,
        )

    @classmethod
    def from_hierarchy(
        cls,
        hierarchy: Hierarchy,
        weights: NodeWeights = 1.0,
        *,
        scale: float | Schedule | Any = 1.0,
    ) -> ImpactMatrix:
        """``E(t) = scale(t) * E_w`` with E_w the shared-ancestor weight matrix."""
        e = hierarchy.shared_weight_matrix(weights)
        return cls(e[None], (as_schedule(scale, "scale"),), ("scale",), "hierarchy")

    @classmethod
    def per_depth(
        cls, hierarchy: Hierarchy, rates: Sequence[float | Schedule | Any]
    ) -> ImpactMatrix:
        """``E(t) = sum_d rates[d](t) * E_[depth = d]``: one schedule per depth.

        ``E_[depth = d][k, k']`` counts the shared ancestors of k and k' at depth d.
        """
        n_depth = hierarchy.max_depth + 1
        if len(rates) != n_depth:
            raise ConfigError(
                f"The 'rates' parameter of ImpactMatrix.per_depth must have {n_depth} "
                f"entries (depths 0..{n_depth - 1}). Got {len(rates)} instead."
            )
        basis = np.stack(
            [
                hierarchy.shared_weight_matrix(
                    [1.0 if j == d else 0.0 for j in range(n_depth)]
                )
                for d in range(n_depth)
            ]
        )
        names = tuple(f"depth_{d}" for d in range(n_depth))
        return cls(
            basis,
            tuple(as_schedule(r, n) for r, n in zip(rates, names, strict=True)),
            names,
            "per_depth",
        )

    # ------------------------------------------------------------------ evaluation
    @property
    def n_classes(self) -> int:
        return int(self.basis.shape[1])

    @cached_property
    def groups(self) -> ImpactGroups:
        """The basis matrices as sums of group indicators where they have that form
        (:func:`~simnet.models.impact_groups.impact_groups`), found once per impact
        matrix and shared by every run of it (the SGD kernel only reads it)."""
        return impact_groups(self.basis)

    @property
    def n_terms(self) -> int:
        return int(self.basis.shape[0])

    def coefficient_table(self, t: np.ndarray) -> np.ndarray:
        """Coefficients f_r(t) for an array of times: shape ``t.shape + (R,)``."""
        t = np.asarray(t, dtype=np.float64)
        return np.stack([f(t) for f in self.coefficients], axis=-1)

    def at(self, t: float) -> np.ndarray:
        """The K x K matrix at time ``t``."""
        c = self.coefficient_table(np.array([t]))[0]
        return np.tensordot(c, self.basis, axes=1)

    def to_config(self) -> dict[str, Any]:
        """A plain mapping describing this impact matrix."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "two_parameter":
            out["alpha"] = self.coefficients[0].to_config()
            out["beta"] = self.coefficients[1].to_config()
        elif self.kind == "constant":
            out["matrix"] = self.spec
        else:
            out["basis"] = self.basis.tolist()
            out["coefficients"] = {
                n: c.to_config()
                for n, c in zip(self.names, self.coefficients, strict=True)
            }
        return out
