"""Runner of the LE-SDE model over the SGD, SDE and ODE kernels."""

from __future__ import annotations

import numpy as np

from ..kernels import lesde as k
from ..models.lesde import Integrator, LESDEModel, NoiseKind, OdeMethod, Surrogate
from .base import Runner
from .sampling import BatchSampler

_SURROGATE_CODE = {
    Surrogate.CE: k.SURROGATE_CE,
    Surrogate.IDENTITY: k.SURROGATE_IDENTITY,
    Surrogate.PROJECTED: k.SURROGATE_PROJECTED,
    Surrogate.ETF: k.SURROGATE_ETF,
}


class LESDERunner(Runner):
    def __init__(self, model: LESDEModel, rngs: dict[str, np.random.Generator]):
        self.model = model
        self.hierarchy = model.classes_hierarchy
        self.state = model.initial_state(rngs["init"])
        self.kind = model.integrator_kind
        self.has_samples = self.kind is not Integrator.ODE
        self.noise_rng = rngs["noise"]
        self.sampler = BatchSampler(
            self.state.labels.shape[0],
            model.batch_size,
            model.sampling_mode,
            rngs["sampling"],
        )
        self.basis = np.ascontiguousarray(model.impact.basis)
        if self.kind is Integrator.SDE:
            self._gnorm = np.ones(self.state.base.shape[0])
        self.step = 0

    @property
    def labels(self) -> np.ndarray:
        return self.state.labels

    def time(self) -> float:
        return float(self.model.time_of(self.step))

    def _coefficients(
        self, n_steps: int, offsets: tuple[float, ...] = (0.0,)
    ) -> np.ndarray:
        steps = self.step + np.arange(n_steps, dtype=np.float64)
        dt = self.model.dt
        times = np.stack([(steps + o) * dt for o in offsets], axis=-1)
        return np.ascontiguousarray(self.model.impact.coefficient_table(times))

    def advance(self, n_steps: int) -> None:
        s, m = self.state, self.model
        if self.kind is Integrator.SGD:
            bad = k.lesde_sgd_steps(
                s.base,
                s.offsets,
                s.group_offsets,
                s.labels,
                s.groups,
                np.ascontiguousarray(self._coefficients(n_steps)[:, 0, :]),
                s.head,
                self.sampler.draw(n_steps),
                float(m.sigma),
                s.last_touch,
                self.noise_rng,
                self.step,
            )
        elif self.kind is Integrator.SDE:
            bad = k.lesde_sde_steps(
                s.base,
                s.labels,
                self.basis,
                np.ascontiguousarray(self._coefficients(n_steps)[:, 0, :]),
                s.head,
                float(m.dt),
                float(m.sigma),
                m.noise_kind is NoiseKind.GRADIENT,
                self.noise_rng,
                self._gnorm,
            )
        else:
            bad = k.lesde_ode_steps(
                s.base,
                self.basis,
                self._coefficients(n_steps, (0.0, 0.5, 1.0)),
                s.head,
                float(m.dt),
                _SURROGATE_CODE[m.surrogate_kind],
                k.METHOD_RK4 if m.ode_method_kind is OdeMethod.RK4 else k.METHOD_EULER,
            )
        if bad >= 0:
            what = "a class mean" if self.kind is Integrator.ODE else "a particle"
            raise self.diverged(self.step + int(bad), what)
        self.step += n_steps

    def features(self) -> np.ndarray:
        s = self.state
        if self.kind is Integrator.SGD and self.model.sigma > 0:
            k.flush_noise(
                s.base, float(self.model.sigma), s.last_touch, self.noise_rng, self.step
            )
        return s.features()

    def logits(self, features: np.ndarray) -> np.ndarray:
        return self.state.logits(features)

    def impact(self) -> np.ndarray:
        return self.model.impact_matrix(self.time())

    def probe(self, i: int, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One SGD step on sample i moves particle j by -E[c_j, c_i] g_i (exactly)."""
        s = self.state
        x = self.features()
        c = int(s.labels[i])
        z = s.logits(x[i : i + 1])[0]
        e = np.exp(z - z.max())
        r = e / e.sum()
        r[c] -= 1.0
        g = r if s.head.shape[0] == 0 else s.head.T @ r
        col = self.impact()[s.labels[targets], c]
        dx = -col[:, None] * g[None, :]
        dz = dx if s.head.shape[0] == 0 else dx @ s.head.T
        return dz, r

    def final_state(self) -> dict[str, np.ndarray]:
        s = self.state
        return {
            "features": self.features().copy(),
            "labels": s.labels.copy(),
            "head": s.head.copy(),
        }

    def likely_cause(self) -> str:
        e = np.abs(self.impact()).max()
        text = (
            f"the impact matrix is too large (max |E(t)| = {e:.3g} "
            f"at t = {self.time():g}"
        )
        if self.kind is not Integrator.SGD:
            text += f", dt = {self.model.dt:g}"
        return (
            text
            + "). Try reducing alpha/beta or the impact scale"
            + (", or dt." if self.kind is not Integrator.SGD else ".")
        )
