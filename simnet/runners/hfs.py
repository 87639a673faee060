"""Runner of the HFS model over :func:`simnet.kernels.hfs.hfs_sgd_steps`."""

from __future__ import annotations

import numpy as np

from ..kernels.hfs import hfs_sgd_steps
from ..models.hfs import HFSModel
from .base import Runner
from .sampling import BatchSampler


def _softmax_residual(z: np.ndarray, label: int) -> np.ndarray:
    e = np.exp(z - z.max())
    r = e / e.sum()
    r[label] -= 1.0
    return r


class HFSRunner(Runner):
    has_amounts = True

    def __init__(self, model: HFSModel, rngs: dict[str, np.random.Generator]):
        self.model = model
        self.hierarchy = model.hierarchy
        self.state = model.initial_state(rngs["init"])
        rates = model.node_rates()
        self.eta_phi = rates["eta_phi"]
        self.eta_lam = rates["eta_lam"]
        self.decay = rates["decay"]
        self.anc_ptr, self.anc_idx = self.hierarchy.ancestor_index_arrays()
        v, p = self.state.phi.shape
        self._acc = np.zeros((v, p))
        self._node_stamp = np.full(v, -1, dtype=np.int64)
        self._sample_stamp = np.full(self.state.u.shape[0], -1, dtype=np.int64)
        self.sampler = BatchSampler(
            model.n_samples, model.batch_size, model.sampling_mode, rngs["sampling"]
        )
        self.noise_rng = rngs["noise"]
        self.step = 0

    @property
    def labels(self) -> np.ndarray:
        return self.state.labels

    def rate_scales(self, n_steps: int) -> np.ndarray:
        """The learning-rate multipliers of the next ``n_steps`` steps."""
        steps = self.step + np.arange(n_steps, dtype=np.float64)
        return np.ascontiguousarray(
            np.broadcast_to(self.model.rate_scale(steps), (n_steps,)), dtype=np.float64
        )

    def advance(self, n_steps: int) -> None:
        s = self.state
        batches = self.sampler.draw(n_steps)
        bad = hfs_sgd_steps(
            s.lam,
            s.phi,
            s.u,
            s.labels,
            self.anc_ptr,
            self.anc_idx,
            self.eta_phi,
            self.eta_lam,
            self.decay,
            float(self.model.eta_u),
            float(self.model.gamma),
            float(self.model.sigma),
            s.head,
            batches,
            self.rate_scales(n_steps),
            self.model.n_classes,
            self.noise_rng,
            self.step,
            self._acc,
            self._node_stamp,
            self._sample_stamp,
        )
        if bad >= 0:
            raise self.diverged(self.step + int(bad), "a particle feature")
        self.step += n_steps

    def features(self) -> np.ndarray:
        return self.state.features()

    def logits(self, features: np.ndarray) -> np.ndarray:
        return self.state.logits(features)

    def impact(self) -> np.ndarray:
        return self.model.impact_matrix(self.state, time=float(self.step))

    def probe(self, i: int, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One plain SGD step on sample i (no decay, no noise), applied to a copy."""
        s = self.state
        c = int(s.labels[i])
        nodes = self.anc_idx[self.anc_ptr[c] : self.anc_ptr[c + 1]]
        x_i = s.class_features()[c] + s.gamma * s.u[i]
        z_i = s.logits(x_i[None])[0]
        r = _softmax_residual(z_i, c)
        g = r if s.head.shape[0] == 0 else s.head.T @ r
        lam, phi = s.lam[nodes], s.phi[nodes]
        scale = float(self.model.rate_scale(float(self.step)))
        new_phi = phi - (scale * self.eta_phi[nodes] * lam)[:, None] * g
        new_lam = lam - scale * self.eta_lam[nodes] * (phi @ g)
        delta_node = new_lam[:, None] * new_phi - lam[:, None] * phi
        shared = s.ancestor_matrix[s.labels[targets]][:, nodes].astype(np.float64)
        dx = shared @ delta_node
        self_rows = targets == i
        dx[self_rows] += s.gamma * (-scale * self.model.eta_u * s.gamma * g)
        dz = dx if s.head.shape[0] == 0 else dx @ s.head.T
        return dz, r

    def amounts(self) -> tuple[np.ndarray, np.ndarray]:
        return self.state.lam.copy(), self.hierarchy.depth

    def final_state(self) -> dict[str, np.ndarray]:
        s = self.state
        return {
            "lam": s.lam.copy(),
            "phi": s.phi.copy(),
            "u": s.u.copy(),
            "labels": s.labels.copy(),
            "head": s.head.copy(),
        }

    def likely_cause(self) -> str:
        names = self.hierarchy.nodes
        lam0 = self.model.node_rates()["lam0"]
        effective = self.eta_phi * lam0**2
        v = int(np.argmax(effective))
        parts = [
            f"a learning rate too large for the loss curvature; the largest initial "
            f"effective feature rate eta_phi*lam0^2 is {effective[v]:.3g} at node "
            f"{names[v]!r} (depth {int(self.hierarchy.depth[v])}, "
            f"eta_phi={self.eta_phi[v]:g})",
        ]
        w = int(np.argmax(self.eta_lam))
        if self.eta_lam[w] > 0:
            parts.append(f"eta_lam={self.eta_lam[w]:g} at node {names[w]!r}")
        if self.model.eta_u > 0:
            parts.append(f"eta_u={self.model.eta_u:g}")
        return "; ".join(parts) + ". Try reducing the rates (or sigma)."
